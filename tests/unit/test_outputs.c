/*
 * test_outputs.c - outputs of a push: the --metadata-file JSON with its
 * buildx keys, the GITHUB_OUTPUT syntax (read back with a parser that
 * follows the runner's rules), the step summary, and GitLab dotenv rules.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"
#include "tagseal/fsutil.h"
#include "tagseal/outputs.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"

static const char *aliases2[] = { "latest", "1.4" };
static const char *platforms2[] = { "linux/amd64", "linux/arm64" };
static const ts_pinned_file pinned1[] = {
	{ "deploy/app|x.yaml", 12, "127.0.0.1:5000/team/app:old", "127.0.0.1:5000/team/app:v1@" D1 },
};

static ts_push_facts facts(void)
{
	ts_push_facts f = TS_PUSH_FACTS_INIT;
	f.repository = "127.0.0.1:5000/team/app";
	f.tag = "v1";
	f.digest = D1;
	f.media_type = "application/vnd.oci.image.index.v1+json";
	f.size = 321;
	f.aliases = aliases2;
	f.n_aliases = 2;
	f.platforms = platforms2;
	f.n_platforms = 2;
	f.pinned = pinned1;
	f.n_pinned = 1;
	f.ci_url = "https://user:s3cret@ci.example.com/run/7?x=a@b";
	return f;
}

/* GITHUB_OUTPUT as the Actions runner reads it: `name=value`, or
 * `name<<DELIM` then lines up to a line equal to DELIM. Returns the value
 * of `want` (caller frees) or NULL. */
static char *gh_read(const char *text, const char *want)
{
	char *copy = ts_strdup(text), *save = NULL, *result = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '='), *hd = strstr(line, "<<");
		char *name, *value;
		if (eq && (!hd || eq < hd)) {
			*eq = '\0';
			name = line;
			value = ts_strdup(eq + 1);
		} else {
			ts_buf v = TS_BUF_INIT;
			char *delim;
			ck_assert_ptr_nonnull(hd);
			*hd = '\0';
			name = line;
			delim = hd + 2;
			/* strtok_r skips empty lines; values here have none */
			for (char *l = strtok_r(NULL, "\n", &save); ; l = strtok_r(NULL, "\n", &save)) {
				ck_assert_msg(l != NULL, "heredoc for %s not closed", name);
				if (strcmp(l, delim) == 0)
					break;
				if (v.len)
					ts_buf_putc(&v, '\n');
				ts_buf_puts(&v, l);
			}
			ts_buf_put(&v, "", 0);
			value = ts_buf_detach(&v);
		}
		if (strcmp(name, want) == 0) {
			free(result);
			result = value;
		} else {
			free(value);
		}
	}
	free(copy);
	return result;
}

START_TEST(reference_and_userinfo)
{
	ts_push_facts f = facts();
	char *r = ts_push_reference(&f), *u;
	ck_assert_str_eq(r, "127.0.0.1:5000/team/app:v1@" D1);
	free(r);
	u = ts_url_strip_userinfo(f.ci_url);
	ck_assert_str_eq(u, "https://ci.example.com/run/7?x=a@b");
	free(u);
	u = ts_url_strip_userinfo("https://ci.example.com/a@b");
	ck_assert_str_eq(u, "https://ci.example.com/a@b");
	free(u);
	ck_assert_ptr_null(ts_url_strip_userinfo(NULL));
}
END_TEST

START_TEST(metadata_keys)
{
	ts_push_facts f = facts();
	json_t *o = ts_outputs_metadata(&f), *d;
	char *s;

	ck_assert_str_eq(json_string_value(json_object_get(o, "repository")), f.repository);
	ck_assert_str_eq(json_string_value(json_object_get(o, "tag")), "v1");
	ck_assert_str_eq(json_string_value(json_object_get(o, "digest")), D1);
	ck_assert_str_eq(json_string_value(json_object_get(o, "reference")),
			 "127.0.0.1:5000/team/app:v1@" D1);
	ck_assert_str_eq(json_string_value(json_object_get(o, "mediaType")), f.media_type);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "size")), 321);
	ck_assert_int_eq(json_array_size(json_object_get(o, "aliases")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(o, "containerimage.digest")), D1);
	d = json_object_get(o, "containerimage.descriptor");
	ck_assert_str_eq(json_string_value(json_object_get(d, "mediaType")), f.media_type);
	ck_assert_str_eq(json_string_value(json_object_get(d, "digest")), D1);
	ck_assert_int_eq(json_integer_value(json_object_get(d, "size")), 321);
	ck_assert_str_eq(json_string_value(json_object_get(o, "image.name")),
			 "127.0.0.1:5000/team/app:v1,127.0.0.1:5000/team/app:latest,"
			 "127.0.0.1:5000/team/app:1.4");
	ck_assert_int_eq(json_array_size(json_object_get(o, "pinned")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(o, "ci"), "url")),
			 "https://ci.example.com/run/7?x=a@b");
	s = json_dumps(o, JSON_COMPACT);
	ck_assert_ptr_null(strstr(s, "s3cret"));
	free(s);
	json_decref(o);
}
END_TEST

START_TEST(json_str_invalid_utf8)
{
	json_t *j = ts_json_str("a\xff" "b\xc3\xa9");
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(j), "a\xef\xbf\xbd" "b\xc3\xa9");
	json_decref(j);
	j = ts_json_str(NULL);
	ck_assert(json_is_null(j));
}
END_TEST

START_TEST(github_single_and_multi_line)
{
	ts_buf b = TS_BUF_INIT;
	char *v;

	ts_github_output_put(&b, "tag", "v1");
	ck_assert_str_eq(b.ptr, "tag=v1\n");
	ts_buf_reset(&b);
	ts_github_output_put(&b, "aliases", "latest\n1.4");
	ck_assert_int_eq(strncmp(b.ptr, "aliases<<ghadelimiter_", 22), 0);
	v = gh_read(b.ptr, "aliases");
	ck_assert_str_eq(v, "latest\n1.4");
	free(v);
	ts_buf_free(&b);
}
END_TEST

START_TEST(github_delimiter_never_in_value)
{
	for (int i = 0; i < 50; i++) {
		ts_buf b = TS_BUF_INIT;
		char delim[64], *nl;
		ts_github_output_put(&b, "x", "a\nghadelimiter_\nb");
		nl = strchr(b.ptr, '\n');
		snprintf(delim, sizeof(delim), "%.*s", (int)(nl - (b.ptr + 3)), b.ptr + 3);
		ck_assert_int_eq(strlen(delim), 13 + 32);
		ck_assert_ptr_null(strstr("a\nghadelimiter_\nb", delim));
		ts_buf_free(&b);
	}
}
END_TEST

START_TEST(github_push_outputs)
{
	ts_push_facts f = facts();
	ts_buf b = TS_BUF_INIT;
	char *v;

	ts_outputs_github_text(&f, &b);
	v = gh_read(b.ptr, "tag");
	ck_assert_str_eq(v, "v1");
	free(v);
	v = gh_read(b.ptr, "digest");
	ck_assert_str_eq(v, D1);
	free(v);
	v = gh_read(b.ptr, "reference");
	ck_assert_str_eq(v, "127.0.0.1:5000/team/app:v1@" D1);
	free(v);
	v = gh_read(b.ptr, "aliases");
	ck_assert_str_eq(v, "latest\n1.4");
	free(v);
	ts_buf_free(&b);
}
END_TEST

START_TEST(github_summary_table)
{
	ts_push_facts f = facts();
	ts_buf b = TS_BUF_INIT;
	ts_outputs_github_summary(&f, &b);
	ck_assert_ptr_nonnull(strstr(b.ptr, "| Tag (immutable) | `v1` |\n"));
	ck_assert_ptr_nonnull(strstr(b.ptr, "| Aliases (mutable) | `latest`, `1.4` |\n"));
	ck_assert_ptr_nonnull(strstr(b.ptr, "| Digest | `" D1 "` |\n"));
	ck_assert_ptr_nonnull(strstr(b.ptr, "| `deploy/app\\|x.yaml` | 12 |"));
	ts_buf_free(&b);
}
END_TEST

START_TEST(dotenv_text)
{
	ts_push_facts f = facts();
	ts_buf b = TS_BUF_INIT;
	ts_error err = TS_ERROR_INIT;

	ck_assert_int_eq(ts_outputs_dotenv_text(&f, &b, &err), TS_OK);
	ck_assert_str_eq(b.ptr, "TAGSEAL_TAG=v1\n"
				"TAGSEAL_DIGEST=" D1 "\n"
				"TAGSEAL_REFERENCE=127.0.0.1:5000/team/app:v1@" D1 "\n"
				"TAGSEAL_REPOSITORY=127.0.0.1:5000/team/app\n"
				"TAGSEAL_ALIASES=latest,1.4\n");
	ts_buf_free(&b);
}
END_TEST

START_TEST(no_aliases)
{
	ts_push_facts f = facts();
	ts_buf b = TS_BUF_INIT;
	ts_error err = TS_ERROR_INIT;
	char *v;

	f.n_aliases = 0;
	ts_outputs_github_text(&f, &b);
	ck_assert_ptr_nonnull(strstr(b.ptr, "\naliases=\n"));
	v = gh_read(b.ptr, "aliases");
	ck_assert_str_eq(v, "");
	free(v);
	ts_buf_reset(&b);
	ck_assert_int_eq(ts_outputs_dotenv_text(&f, &b, &err), TS_OK);
	ck_assert_ptr_null(strstr(b.ptr, "TAGSEAL_ALIASES"));
	ts_buf_free(&b);
}
END_TEST

START_TEST(dotenv_limits)
{
	ts_push_facts f = facts();
	ts_buf b = TS_BUF_INIT;
	ts_error err = TS_ERROR_INIT;
	static const char *many[400];
	char tag[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

	f.tag = "v1\nEVIL=1";
	ck_assert_int_eq(ts_outputs_dotenv_text(&f, &b, &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "TAGSEAL_TAG"));
	f = facts();
	for (size_t i = 0; i < 400; i++)
		many[i] = tag;
	f.aliases = many;
	f.n_aliases = 40; /* 40 * 49 bytes: fine per value */
	ts_buf_reset(&b);
	ck_assert_int_eq(ts_outputs_dotenv_text(&f, &b, &err), TS_OK);
	f.n_aliases = 400; /* over the per-value limit */
	ts_buf_reset(&b);
	ck_assert_int_eq(ts_outputs_dotenv_text(&f, &b, &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "TAGSEAL_ALIASES"));
	ts_buf_free(&b);
}
END_TEST

START_TEST(write_all_outputs)
{
	char dir[] = "/tmp/ts_outputs_XXXXXX";
	ts_push_facts f = facts();
	ts_output_paths p = { 0 };
	ts_error err = TS_ERROR_INIT;
	ts_buf b = TS_BUF_INIT;
	char *meta, *env, *gho, *ghs, *cmd, *v;
	json_t *o;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	meta = ts_asprintf("%s/meta.json", dir);
	env = ts_asprintf("%s/build.env", dir);
	gho = ts_asprintf("%s/gh_output", dir);
	ghs = ts_asprintf("%s/gh_summary", dir);
	p.metadata_file = meta;
	p.dotenv_file = env;
	p.github_output = gho;
	p.github_step_summary = ghs;
	ck_assert_msg(ts_outputs_write(&f, &p, &err) == TS_OK, "%s", err.msg);
	f.tag = "v2";
	ck_assert_msg(ts_outputs_write(&f, &p, &err) == TS_OK, "%s", err.msg);
	ck_assert_int_eq(ts_read_file(gho, 1 << 20, &b, "out", &err), TS_OK);
	v = gh_read(b.ptr, "tag"); /* appended: the last value wins */
	ck_assert_str_eq(v, "v2");
	free(v);
	ts_buf_reset(&b);
	ck_assert_int_eq(ts_read_file(meta, 1 << 20, &b, "meta", &err), TS_OK);
	o = json_loads(b.ptr, 0, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(o, "tag")), "v2");
	json_decref(o);
	ts_buf_reset(&b);
	ck_assert_int_eq(ts_read_file(ghs, 1 << 20, &b, "sum", &err), TS_OK);
	ck_assert_ptr_nonnull(strstr(b.ptr, "`v1`"));
	ck_assert_ptr_nonnull(strstr(b.ptr, "`v2`"));
	ts_buf_free(&b);
	cmd = ts_asprintf("rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(meta);
	free(env);
	free(gho);
	free(ghs);
}
END_TEST

/* Every output path is checked before the push: named in the error. */
START_TEST(preflight_paths)
{
	char dir[] = "/tmp/ts_preflight_XXXXXX";
	ts_error err = TS_ERROR_INIT;
	ts_output_paths p = { 0 };
	char *file, *missing, *link, *cmd;
	FILE *fp;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	file = ts_asprintf("%s/present", dir);
	missing = ts_asprintf("%s/no/such/dir/out.json", dir);
	link = ts_asprintf("%s/link", dir);
	fp = fopen(file, "w");
	ck_assert_ptr_nonnull(fp);
	fclose(fp);
	ck_assert_int_eq(symlink(file, link), 0);

	ck_assert_int_eq(ts_output_check_writable(file, "--record", false, &err), TS_OK);
	ck_assert_int_eq(ts_output_check_writable(file, "--digest-file", true, &err), TS_OK);
	ck_assert_int_eq(ts_output_check_writable(dir, "--record", false, &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "not a regular file"));
	ck_assert_int_eq(ts_output_check_writable(link, "--digest-file", true, &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "symbolic link"));
	ck_assert_int_eq(ts_output_check_writable(missing, "--metadata-file", true, &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "--metadata-file '"));
	ck_assert_ptr_nonnull(strstr(err.msg, "does not exist"));

	p.metadata_file = file;
	p.github_output = missing;
	ck_assert_int_eq(ts_outputs_preflight(&p, &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "GITHUB_OUTPUT '"));
	p.github_output = "";
	ck_assert_int_eq(ts_outputs_preflight(&p, &err), TS_OK);

	cmd = ts_asprintf("rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(file);
	free(missing);
	free(link);
}
END_TEST

/* The record line and the metadata object share one builder of the facts. */
START_TEST(shared_facts)
{
	ts_push_facts f = facts();
	json_t *m = ts_outputs_metadata(&f), *shared = json_object();
	const char *k;
	json_t *v;

	ts_outputs_put_facts(shared, &f, true);
	ck_assert_int_ge(json_object_size(shared), 13);
	json_object_foreach(shared, k, v)
		ck_assert_msg(json_equal(v, json_object_get(m, k)), "key %s differs", k);
	json_decref(shared);
	json_decref(m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("outputs");
	TCase *tc = tcase_create("outputs");

	tcase_add_test(tc, reference_and_userinfo);
	tcase_add_test(tc, metadata_keys);
	tcase_add_test(tc, json_str_invalid_utf8);
	tcase_add_test(tc, github_single_and_multi_line);
	tcase_add_test(tc, github_delimiter_never_in_value);
	tcase_add_test(tc, github_push_outputs);
	tcase_add_test(tc, github_summary_table);
	tcase_add_test(tc, dotenv_text);
	tcase_add_test(tc, no_aliases);
	tcase_add_test(tc, dotenv_limits);
	tcase_add_test(tc, write_all_outputs);
	tcase_add_test(tc, preflight_paths);
	tcase_add_test(tc, shared_facts);
	suite_add_tcase(s, tc);
	return ts_check_run(s);
}
