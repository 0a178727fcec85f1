/*
 * test_record.c - the change record: line format, the chain, locked
 * appends (8 processes at once), torn and edited records, lines written by
 * older tagseal versions, signed lines, and the offline part of verify.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_run.h"
#include "tagseal/fsutil.h"
#include "tagseal/record.h"
#include "tagseal/verify.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static char dir[64];
static char path[128];

static void setup(void)
{
	strcpy(dir, "/tmp/ts_record_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/record.jsonl", dir);
}

static void teardown(void)
{
	char *cmd = ts_asprintf("rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

static ts_push_facts facts(const char *tag, const char *digest)
{
	static const char *aliases[] = { "latest" };
	ts_push_facts f = TS_PUSH_FACTS_INIT;
	f.repository = "127.0.0.1:5000/team/app";
	f.tag = tag;
	f.digest = digest;
	f.media_type = "application/vnd.oci.image.manifest.v1+json";
	f.size = 1234;
	f.aliases = aliases;
	f.n_aliases = 1;
	f.git_commit = "0123456789abcdef0123456789abcdef01234567";
	f.tagseal_version = "9.9.9";
	return f;
}

static void append(const char *tag, const char *digest, time_t t)
{
	ts_error err = TS_ERROR_INIT;
	ts_push_facts f = facts(tag, digest);
	ck_assert_msg(ts_record_append_at(path, &f, t, &err) == TS_OK, "%s", err.msg);
}

static char *slurp(void)
{
	ts_buf b = TS_BUF_INIT;
	ts_error err = TS_ERROR_INIT;
	ck_assert_int_eq(ts_read_file(path, 1 << 26, &b, "record", &err), TS_OK);
	return ts_buf_detach(&b);
}

static void spit(const char *s)
{
	ts_error err = TS_ERROR_INIT;
	ck_assert_int_eq(ts_write_file_atomic(path, s, strlen(s), 0644, "record", &err), TS_OK);
}

static void verify_offline(ts_verify_report *rep)
{
	ts_verify_opts o = { 0 };
	ts_error err = TS_ERROR_INIT;
	o.offline = true;
	ck_assert_msg(ts_verify_record(path, &o, rep, &err) == TS_OK, "%s", err.msg);
}

START_TEST(rfc3339)
{
	char s[TS_RFC3339_STRLEN];
	ts_rfc3339_utc(1795435200, s);
	ck_assert_str_eq(s, "2026-11-23T12:00:00Z");
}
END_TEST

START_TEST(line_format_and_key_order)
{
	ts_push_facts f = facts("v1", D1);
	char *line = ts_record_line_new(&f, 1795435200, NULL);
	ck_assert_ptr_null(strchr(line, '\n'));
	ck_assert_str_eq(line,
			 "{\"time\":\"2026-11-23T12:00:00Z\",\"repository\":\"127.0.0.1:5000/team/app\","
			 "\"tag\":\"v1\",\"digest\":\"" D1 "\",\"aliases\":[\"latest\"],"
			 "\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":1234,"
			 "\"platforms\":[],\"source\":{\"path\":null,\"sha256\":null},"
			 "\"git\":{\"commit\":\"0123456789abcdef0123456789abcdef01234567\","
			 "\"ref\":null,\"version\":null,\"dirty\":null},"
			 "\"ci\":{\"provider\":null,\"build\":null,\"url\":null,\"actor\":null},"
			 "\"pinned\":[],\"tagseal\":\"9.9.9\",\"prev\":null}");
	free(line);
}
END_TEST

START_TEST(first_line_and_chain)
{
	char d[TS_DIGEST_STRLEN], *s, *nl, *want;
	ts_verify_report rep = TS_VERIFY_REPORT_INIT;
	ts_error err = TS_ERROR_INIT;

	ck_assert_int_eq(ts_record_check_appendable(path, &err), TS_OK); /* absent */
	ck_assert_int_eq(access(path, F_OK), -1);                        /* not created */

	append("v1", D1, 1795435200);
	append("v2", D2, 1795435201);
	ck_assert_int_eq(ts_record_check_appendable(path, &err), TS_OK);
	s = slurp();
	ck_assert_ptr_nonnull(strstr(s, "\"prev\":null}\n"));
	nl = strchr(s, '\n');
	ts_sha256_digest(s, (size_t)(nl - s), d);
	want = ts_asprintf("\"prev\":\"%s\"}\n", d);
	ck_assert_ptr_nonnull(strstr(nl + 1, want));
	ck_assert_int_eq(s[strlen(s) - 1], '\n');
	free(want);
	free(s);
	verify_offline(&rep);
	ck_assert_int_eq(rep.lines, 2);
	ck_assert_int_eq(rep.n_findings, 0);
	ck_assert(rep.chain_ok);
	ck_assert_int_eq(rep.tags, 2);
	ck_assert_int_eq(ts_verify_report_code(&rep), TS_OK);
	ts_verify_report_free(&rep);
}
END_TEST

START_TEST(edit_is_detected_on_next_line)
{
	ts_verify_report rep = TS_VERIFY_REPORT_INIT;
	char *s, *p;

	append("v1", D1, 1795435200);
	append("v2", D2, 1795435201);
	append("v3", D2, 1795435202);
	s = slurp();
	p = strstr(s, "\"size\":1234"); /* on line 1 */
	p[8] = '5';
	spit(s);
	free(s);
	verify_offline(&rep);
	ck_assert_int_eq(rep.n_findings, 1);
	ck_assert_int_eq(rep.findings[0].kind, TS_FINDING_CHAIN);
	ck_assert_int_eq(rep.findings[0].line, 2);
	ck_assert_ptr_nonnull(strstr(rep.findings[0].message, "prev does not match line 1"));
	ck_assert_int_eq(ts_verify_report_code(&rep), TS_EVERIFY);
	ts_verify_report_free(&rep);
}
END_TEST

START_TEST(removed_and_reordered_lines)
{
	ts_verify_report rep = TS_VERIFY_REPORT_INIT;
	char *s, *l2, *l3, *out;

	append("v1", D1, 1);
	append("v2", D1, 2);
	append("v3", D1, 3);
	s = slurp();
	l2 = strchr(s, '\n') + 1;
	l3 = strchr(l2, '\n') + 1;
	/* line 2 removed */
	out = ts_asprintf("%.*s%s", (int)(l2 - s), s, l3);
	spit(out);
	free(out);
	verify_offline(&rep);
	ck_assert_int_eq(rep.n_findings, 1);
	ck_assert_int_eq(rep.findings[0].line, 2);
	ts_verify_report_free(&rep);
	/* lines 2 and 3 swapped */
	out = ts_asprintf("%.*s%s%.*s", (int)(l2 - s), s, l3, (int)(l3 - l2), l2);
	spit(out);
	free(out);
	verify_offline(&rep);
	ck_assert_int_eq(rep.n_findings, 1);
	ck_assert_int_eq(rep.findings[0].kind, TS_FINDING_CHAIN);
	ck_assert_int_eq(rep.findings[0].line, 2);
	ts_verify_report_free(&rep);
	/* line 1 removed: the new first line has a prev */
	spit(l2);
	verify_offline(&rep);
	ck_assert_int_eq(rep.n_findings, 1);
	ck_assert_int_eq(rep.findings[0].line, 1);
	ck_assert_ptr_nonnull(strstr(rep.findings[0].message, "first line"));
	ts_verify_report_free(&rep);
	free(s);
}
END_TEST

START_TEST(torn_last_line_is_refused_and_reported)
{
	ts_verify_report rep = TS_VERIFY_REPORT_INIT;
	ts_error err = TS_ERROR_INIT;
	ts_push_facts f = facts("v3", D1);
	char *s, *after;

	append("v1", D1, 1);
	append("v2", D2, 2);
	s = slurp();
	s[strlen(s) - 10] = '\0';
	spit(s);
	ck_assert_int_eq(ts_record_check_appendable(path, &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, ":2: the last line is torn"));
	ck_assert_int_eq(ts_record_append_at(path, &f, 3, &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, path));
	ck_assert_ptr_nonnull(strstr(err.msg, ":2: the last line is torn"));
	after = slurp();
	ck_assert_str_eq(after, s); /* untouched */
	free(after);
	free(s);
	verify_offline(&rep);
	ck_assert_int_eq(rep.n_findings, 1);
	ck_assert_int_eq(rep.findings[0].kind, TS_FINDING_TORN);
	ck_assert_int_eq(rep.findings[0].line, 2);
	ck_assert_int_eq(ts_verify_report_code(&rep), TS_EVERIFY);
	ts_verify_report_free(&rep);
}
END_TEST

START_TEST(last_line_not_json_is_refused)
{
	ts_error err = TS_ERROR_INIT;
	ts_push_facts f = facts("v2", D1);
	append("v1", D1, 1);
	{
		int fd = open(path, O_WRONLY | O_APPEND);
		ck_assert_int_eq(write(fd, "garbage\n", 8), 8);
		close(fd);
	}
	ck_assert_int_eq(ts_record_append_at(path, &f, 3, &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, ":2: the last line is not valid JSON"));
}
END_TEST

START_TEST(older_format_lines_keep_the_chain)
{
	/* An older tagseal: other keys, some missing, another order. */
	const char *old = "{\"prev\":null,\"time\":\"2025-01-01T00:00:00Z\",\"repository\":"
			  "\"127.0.0.1:5000/team/app\",\"tag\":\"old1\",\"digest\":\"" D1 "\","
			  "\"aliases\":[],\"git\":{\"commit\":\"abc\"},\"legacy\":{\"x\":1}}\n";
	ts_verify_report rep = TS_VERIFY_REPORT_INIT;
	char d[TS_DIGEST_STRLEN], *s, *want;

	spit(old);
	append("v1", D2, 5);
	s = slurp();
	ts_sha256_digest(old, strlen(old) - 1, d);
	want = ts_asprintf("\"prev\":\"%s\"}\n", d);
	ck_assert_ptr_nonnull(strstr(s, want));
	free(want);
	free(s);
	verify_offline(&rep);
	ck_assert_int_eq(rep.n_findings, 0);
	ck_assert_int_eq(rep.tags, 2);
	ts_verify_report_free(&rep);
}
END_TEST

START_TEST(conflicting_digests_for_one_tag)
{
	ts_verify_report rep = TS_VERIFY_REPORT_INIT;
	append("v1", D1, 1);
	append("v1", D1, 2); /* same content again: fine */
	append("v1", D2, 3);
	verify_offline(&rep);
	ck_assert_int_eq(rep.tags, 1);
	ck_assert_int_eq(rep.n_findings, 1);
	ck_assert_int_eq(rep.findings[0].kind, TS_FINDING_CONFLICT);
	ck_assert_int_eq(rep.findings[0].line, 3);
	ck_assert_ptr_nonnull(strstr(rep.findings[0].message, "two digests"));
	ts_verify_report_free(&rep);
}
END_TEST

START_TEST(bad_lines_are_findings)
{
	ts_verify_report rep = TS_VERIFY_REPORT_INIT;
	spit("{\"prev\":null,\"repository\":\"x\"}\n[1]\n");
	verify_offline(&rep);
	ck_assert_int_eq(rep.n_findings, 2);
	ck_assert_int_eq(rep.findings[0].kind, TS_FINDING_BAD_LINE); /* no tag/digest */
	ck_assert_int_eq(rep.findings[0].line, 1);
	ck_assert_int_eq(rep.findings[1].kind, TS_FINDING_BAD_LINE); /* not an object */
	ck_assert_int_eq(rep.findings[1].line, 2);
	ts_verify_report_free(&rep);
	spit("");
	verify_offline(&rep);
	ck_assert_int_eq(rep.n_findings, 0);
	ck_assert_int_eq(rep.lines, 0);
	ts_verify_report_free(&rep);
}
END_TEST

START_TEST(anchor_catches_lines_cut_from_the_end)
{
	ts_verify_opts o = { 0 };
	ts_verify_report rep = TS_VERIFY_REPORT_INIT;
	ts_error err = TS_ERROR_INIT;
	char head[TS_DIGEST_STRLEN], *s;

	append("v1", D1, 1);
	append("v2", D2, 2);
	verify_offline(&rep);
	memcpy(head, rep.head, sizeof(head));
	ts_verify_report_free(&rep);
	append("v3", D2, 3); /* the record grows: the anchor still holds */
	o.offline = true;
	o.anchor = head;
	ck_assert_int_eq(ts_verify_record(path, &o, &rep, &err), TS_OK);
	ck_assert_int_eq(rep.n_findings, 0);
	ts_verify_report_free(&rep);
	s = slurp(); /* cut lines 2 and 3: the chain alone cannot tell */
	*(strchr(s, '\n') + 1) = '\0';
	spit(s);
	free(s);
	verify_offline(&rep);
	ck_assert_int_eq(rep.n_findings, 0);
	ts_verify_report_free(&rep);
	ck_assert_int_eq(ts_verify_record(path, &o, &rep, &err), TS_OK);
	ck_assert_int_eq(rep.n_findings, 1);
	ck_assert_int_eq(rep.findings[0].kind, TS_FINDING_ANCHOR);
	ck_assert_int_eq(ts_verify_report_code(&rep), TS_EVERIFY);
	ts_verify_report_free(&rep);
}
END_TEST

START_TEST(over_long_line_names_the_line)
{
	ts_verify_opts o = { 0 };
	ts_verify_report rep = TS_VERIFY_REPORT_INIT;
	ts_error err = TS_ERROR_INIT;
	size_t n = TS_RECORD_MAX_LINE + 100;
	char *big = ts_malloc(n + 1);
	char *want;
	FILE *fp;

	append("v1", D1, 1);
	memset(big, 'x', n);
	big[n] = '\0';
	fp = fopen(path, "a");
	fprintf(fp, "%s\n", big);
	fclose(fp);
	free(big);
	o.offline = true;
	ck_assert_int_eq(ts_verify_record(path, &o, &rep, &err), TS_EUSAGE);
	want = ts_asprintf("%s:2: line is longer than", path);
	ck_assert_msg(strstr(err.msg, want) != NULL, "%s", err.msg);
	free(want);
	ts_verify_report_free(&rep);
}
END_TEST

/* Signed lines: "sig" is the last member, over the line without it; the
 * offline verify with a key finds edited, re-signed-by-another-key and
 * unsigned lines. */
START_TEST(signed_lines)
{
	ts_error err = TS_ERROR_INIT;
	ts_key *priv = NULL, *pub = NULL, *other = NULL, *other_pub = NULL;
	ts_verify_report rep = TS_VERIFY_REPORT_INIT;
	ts_verify_opts o = { 0 };
	char *prefix = ts_asprintf("%s/k", dir), *prefix2 = ts_asprintf("%s/o", dir);
	char *pubpath = NULL, *pub2 = NULL, *line, *s, *p;
	ts_push_facts f = facts("v1", D1);

	ck_assert_int_eq(ts_keygen(prefix, &pubpath, &err), TS_OK);
	ck_assert_int_eq(ts_keygen(prefix2, &pub2, &err), TS_OK);
	{
		char *kp = ts_asprintf("%s.key", prefix), *kp2 = ts_asprintf("%s.key", prefix2);
		ck_assert_msg(ts_key_load_private(kp, &priv, &err) == TS_OK, "%s", err.msg);
		ck_assert_msg(ts_key_load_private(kp2, &other, &err) == TS_OK, "%s", err.msg);
		free(kp);
		free(kp2);
	}
	ck_assert_int_eq(ts_key_load_public(pubpath, &pub, &err), TS_OK);
	ck_assert_int_eq(ts_key_load_public(pub2, &other_pub, &err), TS_OK);

	/* the signature is over the unsigned line's exact bytes */
	line = ts_record_line_new(&f, 1795435200, NULL);
	{
		char *unsigned_line = ts_strdup(line);
		size_t ul = strlen(unsigned_line);
		ck_assert_int_eq(ts_record_line_sign(&line, priv, &err), TS_OK);
		ck_assert_int_eq(strncmp(line, unsigned_line, ul - 1), 0);
		ck_assert_ptr_nonnull(strstr(line + ul - 1, ",\"sig\":\""));
		ck_assert_int_eq(line[strlen(line) - 1], '}');
		ck_assert_int_eq(ts_record_line_check_sig(line, strlen(line), pub), TS_LINE_SIG_OK);
		ck_assert_int_eq(ts_record_line_check_sig(line, strlen(line), other_pub), TS_LINE_SIG_BAD);
		ck_assert_int_eq(ts_record_line_check_sig(unsigned_line, ul, pub), TS_LINE_SIG_MISSING);
		p = strstr(line, "\"size\":1234");
		p[8] = '5';
		ck_assert_int_eq(ts_record_line_check_sig(line, strlen(line), pub), TS_LINE_SIG_BAD);
		free(unsigned_line);
	}
	free(line);

	/* a record: two signed lines, then one by another key, then unsigned */
	ck_assert_int_eq(ts_record_append_signed(path, &f, 1, priv, &err), TS_OK);
	f = facts("v2", D2);
	ck_assert_int_eq(ts_record_append_signed(path, &f, 2, priv, &err), TS_OK);
	o.offline = true;
	o.key = pub;
	ck_assert_int_eq(ts_verify_record(path, &o, &rep, &err), TS_OK);
	ck_assert_int_eq(rep.n_findings, 0);
	ts_verify_report_free(&rep);
	f = facts("v3", D2);
	ck_assert_int_eq(ts_record_append_signed(path, &f, 3, other, &err), TS_OK);
	ck_assert_int_eq(ts_record_append_signed(path, &f, 4, NULL, &err), TS_OK);
	ck_assert_int_eq(ts_verify_record(path, &o, &rep, &err), TS_OK);
	ck_assert_int_eq(rep.n_findings, 2);
	ck_assert_int_eq(rep.findings[0].kind, TS_FINDING_LINE_SIG);
	ck_assert_int_eq(rep.findings[0].line, 3);
	ck_assert_int_eq(rep.findings[1].line, 4);
	ck_assert_ptr_nonnull(strstr(rep.findings[1].message, "has no \"sig\""));
	ck_assert(!rep.chain_ok);
	ck_assert_int_eq(ts_verify_report_code(&rep), TS_EVERIFY);
	ts_verify_report_free(&rep);
	/* without a key, the same record is a good chain */
	o.key = NULL;
	ck_assert_int_eq(ts_verify_record(path, &o, &rep, &err), TS_OK);
	ck_assert_int_eq(rep.n_findings, 0);
	ts_verify_report_free(&rep);
	/* an edit of line 1 breaks its own signature */
	s = slurp();
	p = strstr(s, "\"size\":1234");
	p[8] = '5';
	spit(s);
	free(s);
	o.key = pub;
	ck_assert_int_eq(ts_verify_record(path, &o, &rep, &err), TS_OK);
	ck_assert_int_eq(rep.findings[0].line, 1);
	ck_assert_int_eq(rep.findings[0].kind, TS_FINDING_LINE_SIG);
	ts_verify_report_free(&rep);

	ts_key_free(priv);
	ts_key_free(pub);
	ts_key_free(other);
	ts_key_free(other_pub);
	free(pubpath);
	free(pub2);
	free(prefix);
	free(prefix2);
}
END_TEST

START_TEST(reader_lines)
{
	ts_record_reader *rd;
	ts_record_rline l;
	ts_error err = TS_ERROR_INIT;
	bool more;

	spit("a\n\nbc");
	ck_assert_int_eq(ts_record_reader_open(path, &rd, &err), TS_OK);
	ck_assert_int_eq(ts_record_reader_next(rd, &l, &more, &err), TS_OK);
	ck_assert(more && l.len == 1 && l.data[0] == 'a' && l.terminated && l.number == 1);
	ck_assert_int_eq(ts_record_reader_next(rd, &l, &more, &err), TS_OK);
	ck_assert(more && l.len == 0 && l.terminated && l.number == 2);
	ck_assert_int_eq(ts_record_reader_next(rd, &l, &more, &err), TS_OK);
	ck_assert(more && l.len == 2 && !l.terminated && l.number == 3);
	ck_assert_int_eq(ts_record_reader_next(rd, &l, &more, &err), TS_OK);
	ck_assert(!more);
	ts_record_reader_free(rd);
}
END_TEST

START_TEST(symlink_record_is_refused)
{
	ts_error err = TS_ERROR_INIT;
	ts_push_facts f = facts("v1", D1);
	char *link = ts_asprintf("%s/link.jsonl", dir);
	ck_assert_int_eq(symlink(path, link), 0);
	ck_assert_int_eq(ts_record_append_at(link, &f, 1, &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "symbolic link"));
	free(link);
}
END_TEST

#define WRITERS 8
#define PER_WRITER 40

START_TEST(eight_processes_append_concurrently)
{
	ts_verify_report rep = TS_VERIFY_REPORT_INIT;
	pid_t pids[WRITERS];

	for (int w = 0; w < WRITERS; w++) {
		pids[w] = fork();
		ck_assert_int_ge(pids[w], 0);
		if (pids[w] == 0) {
			for (int i = 0; i < PER_WRITER; i++) {
				char tag[32];
				ts_error err = TS_ERROR_INIT;
				ts_push_facts f;
				snprintf(tag, sizeof(tag), "w%d-%d", w, i);
				f = facts(tag, D1);
				if (ts_record_append_at(path, &f, 100 + i, &err) != TS_OK) {
					fprintf(stderr, "%s\n", err.msg);
					_exit(1);
				}
			}
			_exit(0);
		}
	}
	for (int w = 0; w < WRITERS; w++) {
		int st;
		ck_assert_int_eq(waitpid(pids[w], &st, 0), pids[w]);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	verify_offline(&rep);
	ck_assert_int_eq(rep.lines, WRITERS * PER_WRITER);
	ck_assert_int_eq(rep.tags, WRITERS * PER_WRITER);
	ck_assert_int_eq(rep.n_findings, 0);
	ts_verify_report_free(&rep);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("record");
	TCase *tc = tcase_create("record");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, rfc3339);
	tcase_add_test(tc, line_format_and_key_order);
	tcase_add_test(tc, first_line_and_chain);
	tcase_add_test(tc, edit_is_detected_on_next_line);
	tcase_add_test(tc, removed_and_reordered_lines);
	tcase_add_test(tc, torn_last_line_is_refused_and_reported);
	tcase_add_test(tc, last_line_not_json_is_refused);
	tcase_add_test(tc, older_format_lines_keep_the_chain);
	tcase_add_test(tc, conflicting_digests_for_one_tag);
	tcase_add_test(tc, bad_lines_are_findings);
	tcase_add_test(tc, anchor_catches_lines_cut_from_the_end);
	tcase_add_test(tc, over_long_line_names_the_line);
	tcase_add_test(tc, signed_lines);
	tcase_add_test(tc, reader_lines);
	tcase_add_test(tc, symlink_record_is_refused);
	tcase_add_test(tc, eight_processes_append_concurrently);
	suite_add_tcase(s, tc);
	return ts_check_run(s);
}
