/*
 * test_yamlrefs.c - the image-reference finder: rules, exact byte ranges
 * (UTF-8, BOM, CRLF, anchors, tags), styles, markers, errors, path walking,
 * and nodes shared through aliases and merge keys examined once.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_run.h"
#include "tagseal/buf.h"
#include "tagseal/yamlpaths.h"
#include "tagseal/yamlrefs.h"

static ts_yrefs find_ok(const char *name, const char *yaml)
{
	ts_yrefs refs = TS_YREFS_INIT;
	ts_error err = TS_ERROR_INIT;
	ck_assert_msg(ts_yrefs_find(name, yaml, strlen(yaml), &refs, &err) == TS_OK, "%s", err.msg);
	return refs;
}

/* The bytes a field covers. */
static char *bytes_of(const char *yaml, const ts_yscalar *f)
{
	return ts_strndup(yaml + f->start, f->end - f->start);
}

static void assert_bytes(const char *yaml, const ts_yscalar *f, const char *want)
{
	char *got = bytes_of(yaml, f);
	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(pod_containers_any_depth)
{
	const char *y = "kind: CronJob\n"
			"spec:\n"
			"  jobTemplate:\n"
			"    spec:\n"
			"      template:\n"
			"        spec:\n"
			"          initContainers:\n"
			"          - {name: i, image: \"busybox:1.36\"}\n"
			"          containers:\n"
			"          - name: c\n"
			"            image: 'ghcr.io/acme/shop:1.0'   # note\n"
			"          ephemeralContainers:\n"
			"          - name: e\n"
			"            image: nginx\n"
			"  notContainers:\n"
			"  - image: ghcr.io/acme/ignored:1\n";
	ts_yrefs r = find_ok("x.yaml", y);
	ck_assert_uint_eq(r.n, 3);
	ck_assert_int_eq(r.v[0].kind, TS_YREF_POD);
	assert_bytes(y, &r.v[0].field[TS_YF_IMAGE], "\"busybox:1.36\"");
	ck_assert_int_eq(r.v[0].field[TS_YF_IMAGE].style, TS_YSTYLE_DOUBLE);
	ck_assert_uint_eq(r.v[0].line, 8);
	assert_bytes(y, &r.v[1].field[TS_YF_IMAGE], "'ghcr.io/acme/shop:1.0'");
	ck_assert_int_eq(r.v[1].field[TS_YF_IMAGE].style, TS_YSTYLE_SINGLE);
	ck_assert_str_eq(r.v[1].reference, "ghcr.io/acme/shop:1.0");
	ck_assert_str_eq(r.v[1].repo, "ghcr.io/acme/shop");
	ck_assert_uint_eq(r.v[1].line, 11);
	ck_assert_uint_eq(r.v[1].column, 20);
	ck_assert(r.v[2].valid);
	ck_assert_str_eq(r.v[2].match.path, "library/nginx");
	ck_assert_ptr_null(r.v[2].match.tag);
	ts_yrefs_free(&r);
}
END_TEST

START_TEST(utf8_bom_crlf_offsets)
{
	/* libyaml counts characters; the finder must report bytes */
	const char *y = "\xef\xbb\xbf# caf\xc3\xa9 \xe2\x82\xac\r\n"
			"containers:\r\n"
			"- name: \"h\xc3\xa9\"\r\n"
			"  image: ghcr.io/acme/shop:1.0\r\n";
	ts_yrefs r = find_ok("x.yaml", y);
	ck_assert_uint_eq(r.n, 1);
	assert_bytes(y, &r.v[0].field[TS_YF_IMAGE], "ghcr.io/acme/shop:1.0");
	ck_assert_uint_eq(r.v[0].line, 4);
	ck_assert_uint_eq(r.v[0].column, 10);
	ts_yrefs_free(&r);
}
END_TEST

START_TEST(anchors_tags_aliases_blocks)
{
	const char *y = "x: &a ghcr.io/acme/shop:1\n"
			"containers:\n"
			"- image: &b !!str ghcr.io/acme/shop:2\n"
			"- image: *a\n"
			"- image: |\n"
			"    ghcr.io/acme/shop:3\n"
			"- image: >-\n"
			"    ghcr.io/acme/shop:4\n";
	ts_yrefs r = find_ok("x.yaml", y);
	ck_assert_uint_eq(r.n, 4);
	assert_bytes(y, &r.v[0].field[TS_YF_IMAGE], "ghcr.io/acme/shop:2");
	ck_assert_int_eq(r.v[0].field[TS_YF_IMAGE].style, TS_YSTYLE_PLAIN);
	assert_bytes(y, &r.v[1].field[TS_YF_IMAGE], "*a");
	ck_assert_int_eq(r.v[1].field[TS_YF_IMAGE].style, TS_YSTYLE_ALIAS);
	ck_assert_str_eq(r.v[1].reference, "ghcr.io/acme/shop:1");
	ck_assert_int_eq(r.v[2].field[TS_YF_IMAGE].style, TS_YSTYLE_LITERAL);
	ck_assert_str_eq(r.v[2].reference, "ghcr.io/acme/shop:3"); /* matched without the line break */
	ck_assert_int_eq(r.v[3].field[TS_YF_IMAGE].style, TS_YSTYLE_FOLDED);
	ts_yrefs_free(&r);
}
END_TEST

START_TEST(kustomize_entries_and_insert_point)
{
	const char *y = "images:\n"
			"  - name: ghcr.io/acme/shop\n"
			"    newTag: \"1.0\"   # c\n"
			"  - {name: nginx, newName: docker.io/library/nginx}\n"
			"  - name: redis";
	ts_yrefs r = find_ok("dir/kustomization.yaml", y);
	ck_assert_uint_eq(r.n, 3);
	ck_assert_int_eq(r.v[0].kind, TS_YREF_KUSTOMIZE);
	ck_assert_str_eq(r.v[0].reference, "ghcr.io/acme/shop:1.0");
	ck_assert_uint_eq(r.v[0].insert_at, (size_t)(strstr(y, "# c") + 3 - y));
	ck_assert_str_eq(r.v[0].insert_prefix, "\n    ");
	ck_assert_str_eq(r.v[1].repo, "docker.io/library/nginx");
	ck_assert_str_eq(r.v[1].insert_prefix, ", ");
	ck_assert_uint_eq(r.v[1].insert_at, (size_t)(strstr(y, "nginx}") + 5 - y));
	ck_assert_uint_eq(r.v[2].insert_at, strlen(y));
	ck_assert_str_eq(r.v[2].insert_prefix, "\n    ");
	ts_yrefs_free(&r);

	/* the same text under another name is not a kustomization ... */
	r = find_ok("values.yaml", y);
	ck_assert_uint_eq(r.n, 0);
	ts_yrefs_free(&r);
	/* ... unless its kind says so */
	r = find_ok("k.yaml", "kind: Kustomization\r\nimages:\r\n- name: a\r\n  newTag: b\r\n");
	ck_assert_uint_eq(r.n, 1);
	ck_assert_str_eq(r.v[0].insert_prefix, "\r\n  ");
	ts_yrefs_free(&r);
}
END_TEST

START_TEST(helm_values)
{
	const char *y = "image:\n"
			"  registry: ghcr.io\n"
			"  repository: acme/shop\n"
			"  tag: 1.0\n"
			"  digest: \"\"\n"
			"sidecar:\n"
			"  image: {repository: nginx, tag: ''}\n"
			"dependencies:\n"
			"- repository: https://charts.example.com\n"
			"  tag: x\n"
			"noTag:\n"
			"  repository: ghcr.io/acme/other\n";
	ts_yrefs r = find_ok("values.yaml", y);
	ck_assert_uint_eq(r.n, 2);
	ck_assert_int_eq(r.v[0].kind, TS_YREF_HELM);
	ck_assert_str_eq(r.v[0].reference, "ghcr.io/acme/shop:1.0");
	ck_assert_str_eq(r.v[0].repo, "ghcr.io/acme/shop");
	ck_assert(r.v[0].field[TS_YF_DIGEST].present);
	assert_bytes(y, &r.v[0].field[TS_YF_DIGEST], "\"\"");
	ck_assert_uint_eq(r.v[0].line, 2);
	ck_assert_str_eq(r.v[1].reference, "nginx");
	ck_assert(!r.v[1].field[TS_YF_DIGEST].present);
	ts_yrefs_free(&r);
}
END_TEST

START_TEST(compose_with_merge_keys)
{
	const char *y = "x-base: &base\n"
			"  image: ghcr.io/acme/shop:1\n"
			"services:\n"
			"  a:\n"
			"    <<: *base\n"
			"  b:\n"
			"    <<: [*base]\n"
			"  c:\n"
			"    image: postgres:16\n";
	ts_yrefs r = find_ok("compose.yaml", y);
	ck_assert_uint_eq(r.n, 2); /* the anchored scalar once, not twice */
	ck_assert_int_eq(r.v[0].kind, TS_YREF_COMPOSE);
	assert_bytes(y, &r.v[0].field[TS_YF_IMAGE], "ghcr.io/acme/shop:1");
	ck_assert_str_eq(r.v[1].reference, "postgres:16");
	ts_yrefs_free(&r);
}
END_TEST

START_TEST(markers)
{
	const char *y = "a: ghcr.io/acme/shop:1   # tagseal: ghcr.io/acme/shop\n"
			"b: \"1\" # tagseal: ghcr.io/acme/shop:tag\n"
			"c:    # tagseal: ghcr.io/acme/shop:digest\n"
			"d: x#tagseal:nope\n"
			"containers:\n"
			"- image: nginx:1 # tagseal: docker.io/library/nginx\n";
	ts_yrefs r = find_ok("m.yaml", y);
	ck_assert_uint_eq(r.n, 4);
	ck_assert_int_eq(r.v[0].kind, TS_YREF_MARKER);
	ck_assert_str_eq(r.v[0].match.tag, "1");
	ck_assert_int_eq(r.v[1].kind, TS_YREF_MARKER_TAG);
	ck_assert_str_eq(r.v[1].reference, "ghcr.io/acme/shop:1");
	assert_bytes(y, &r.v[1].field[TS_YF_IMAGE], "\"1\"");
	ck_assert_int_eq(r.v[2].kind, TS_YREF_MARKER_DIGEST);
	ck_assert_str_eq(r.v[2].field[TS_YF_IMAGE].value, "");
	/* a marker claims a pod image too: one finding, the marker */
	ck_assert_int_eq(r.v[3].kind, TS_YREF_MARKER);
	ck_assert_str_eq(r.v[3].repo, "nginx");
	ts_yrefs_free(&r);
}
END_TEST

START_TEST(errors_name_file_and_line)
{
	ts_yrefs r = TS_YREFS_INIT;
	ts_error err = TS_ERROR_INIT;
	const char bin[] = "a: 1\n\0\0";

	ck_assert_int_eq(ts_yrefs_find("b.yaml", bin, sizeof(bin) - 1, &r, &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "b.yaml: binary file"));
	ck_assert_int_eq(ts_yrefs_find("p.yaml", "a: [1\nb: 2\n", 11, &r, &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "p.yaml:2:2: not valid YAML"));
	ck_assert_int_eq(ts_yrefs_find("m.yaml", "a: b # tagseal: Not/Valid\n", 26, &r, &err),
			 TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "m.yaml:1: marker"));
	ck_assert_int_eq(ts_yrefs_find("e.yaml", "", 0, &r, &err), TS_OK);
	ck_assert_uint_eq(r.n, 0);
}
END_TEST

static void touch(const char *dir, const char *name)
{
	char *p = ts_asprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs("a: 1\n", f);
	fclose(f);
	free(p);
}

START_TEST(paths_walk)
{
	char tmpl[] = "/tmp/test_yamlrefs.XXXXXX";
	char *dir = mkdtemp(tmpl), *sub, *args[2];
	ts_strv files = TS_STRV_INIT;
	ts_error err = TS_ERROR_INIT;
	char *cmd;

	ck_assert_ptr_nonnull(dir);
	sub = ts_asprintf("%s/b", dir);
	mkdir(sub, 0755);
	touch(dir, "z.yml");
	touch(dir, "a.yaml");
	touch(dir, "notes.txt");
	touch(dir, ".hidden.yaml");
	touch(sub, "c.yaml");
	touch(sub, "Chart.yaml");
	free(sub);
	sub = ts_asprintf("%s/b/templates", dir);
	mkdir(sub, 0755);
	touch(sub, "deployment.yaml");
	free(sub);
	sub = ts_asprintf("%s/link.yaml", dir);
	ck_assert_int_eq(symlink("/etc/hostname", sub), 0);
	free(sub);

	args[0] = dir;
	args[1] = ts_asprintf("%s/a.yaml", dir); /* named twice: listed once */
	ck_assert_int_eq(ts_yaml_paths((const char *const *)args, 2, &files, &err), TS_OK);
	ck_assert_uint_eq(files.n, 4);
	ck_assert_ptr_nonnull(strstr(files.v[0], "/a.yaml"));
	ck_assert_ptr_nonnull(strstr(files.v[1], "/b/Chart.yaml"));
	ck_assert_ptr_nonnull(strstr(files.v[2], "/b/c.yaml"));
	ck_assert_ptr_nonnull(strstr(files.v[3], "/z.yml"));
	ts_strv_free(&files);
	free(args[1]);

	args[0] = "/nonexistent/x.yaml";
	ck_assert_int_eq(ts_yaml_paths((const char *const *)args, 1, &files, &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/x.yaml: No such file"));

	cmd = ts_asprintf("rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}
END_TEST

/* Through aliases and '<<' merge keys a node is reached any number of
 * times; the work must not grow with the number of paths (20^7 here). */
START_TEST(shared_nodes_examined_once)
{
	ts_buf y = TS_BUF_INIT;
	ts_yrefs r;

	ts_buf_puts(&y, "l0: &a0 {repository: ghcr.io/acme/app, tag: v1}\n");
	for (int level = 1; level < 8; level++) {
		ts_buf_printf(&y, "l%d: &a%d {<<: [", level, level);
		for (int i = 0; i < 20; i++)
			ts_buf_printf(&y, "%s*a%d", i ? ", " : "", level - 1);
		ts_buf_puts(&y, "]}\n");
	}
	ts_buf_puts(&y, "pods: &pods [{image: 'nginx:1'}, {<<: *a7, image: redis}]\n"
			"items:\n");
	for (int i = 0; i < 50; i++)
		ts_buf_puts(&y, "- {<<: *a7}\n"
				"- {containers: *pods, initContainers: [*a7, *a7]}\n");
	r = find_ok("values.yaml", ts_buf_cstr(&y));
	/* the Helm pair once (line 1), each image scalar of `pods` once */
	ck_assert_uint_eq(r.n, 3);
	ck_assert_int_eq(r.v[0].kind, TS_YREF_HELM);
	ck_assert_uint_eq(r.v[0].line, 1);
	ck_assert_str_eq(r.v[0].reference, "ghcr.io/acme/app:v1");
	ck_assert_int_eq(r.v[1].kind, TS_YREF_POD);
	ck_assert_str_eq(r.v[1].reference, "nginx:1");
	ck_assert_int_eq(r.v[2].kind, TS_YREF_POD);
	ck_assert_str_eq(r.v[2].reference, "redis");
	ck_assert_uint_eq(r.v[2].line, 9);
	ts_yrefs_free(&r);
	ts_buf_free(&y);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("yamlrefs");
	TCase *tc = tcase_create("find");

	tcase_add_test(tc, pod_containers_any_depth);
	tcase_add_test(tc, utf8_bom_crlf_offsets);
	tcase_add_test(tc, anchors_tags_aliases_blocks);
	tcase_add_test(tc, kustomize_entries_and_insert_point);
	tcase_add_test(tc, helm_values);
	tcase_add_test(tc, compose_with_merge_keys);
	tcase_add_test(tc, markers);
	tcase_add_test(tc, errors_name_file_and_line);
	tcase_add_test(tc, paths_walk);
	suite_add_tcase(s, tc);
	tc = tcase_create("scale");
	tcase_set_timeout(tc, 20); /* milliseconds now; the unshared walk took hours */
	tcase_add_test(tc, shared_nodes_examined_once);
	suite_add_tcase(s, tc);
	return ts_check_run(s);
}
