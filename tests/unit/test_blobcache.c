/*
 * test_blobcache.c - the cache's record of which repositories of a registry
 * hold each blob (ts_holders_*): most recent first, kept across runs, bounded,
 * and a damaged or tampered record never used.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"
#include "tagseal/blobcache.h"

static char dir[] = "/tmp/tagseal-test-blobcache.XXXXXX";

static const char D1[] = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
static const char D2[] = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

static ts_holders *open_host(const char *host)
{
	ts_blobcache *c = ts_blobcache_open("gzip");
	ts_holders *h;
	ck_assert_ptr_nonnull(c);
	h = ts_holders_open(c, host);
	ts_blobcache_free(c);
	return h;
}

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	setenv("TAGSEAL_CACHE_DIR", dir, 1);
}

static void teardown(void)
{
	char *cmd = malloc(strlen(dir) + 16);
	sprintf(cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	strcpy(dir + strlen(dir) - 6, "XXXXXX");
}

static char *record_path(const char *host)
{
	/* the one file under holders/ */
	char *cmd = malloc(strlen(dir) + 64), line[4096];
	FILE *f;
	(void)host;
	sprintf(cmd, "ls -d '%s'/holders/*", dir);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	pclose(f);
	free(cmd);
	line[strcspn(line, "\n")] = '\0';
	return strdup(line);
}

START_TEST(remembers_most_recent_first)
{
	ts_holders *h = open_host("registry.example:5000");
	char *r[4];
	size_t n;
	ts_holders_note(h, D1, "team/a");
	ts_holders_note(h, D1, "team/b");
	ts_holders_note(h, D2, "team/c");
	ts_holders_note(h, D1, "bad name!"); /* never a name a URL query would read */
	ts_holders_save(h);
	ts_holders_free(h);

	h = open_host("registry.example:5000");
	n = ts_holders_find(h, D1, NULL, r, 4);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(r[0], "team/b");
	ck_assert_str_eq(r[1], "team/a");
	free(r[0]);
	free(r[1]);
	n = ts_holders_find(h, D1, "team/b", r, 4);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(r[0], "team/a");
	free(r[0]);
	ts_holders_forget(h, D1, "team/a");
	ts_holders_save(h);
	ts_holders_free(h);

	h = open_host("registry.example:5000");
	ck_assert_uint_eq(ts_holders_find(h, D1, "team/b", r, 4), 0);
	ts_holders_free(h);
	/* another registry knows nothing of these */
	h = open_host("other.example");
	ck_assert_uint_eq(ts_holders_find(h, D1, NULL, r, 4), 0);
	ts_holders_free(h);
}
END_TEST

START_TEST(bounded)
{
	ts_holders *h = open_host("r.example");
	char repo[64], *r[2];
	for (int i = 0; i < TS_HOLDERS_MAX + 10; i++) {
		snprintf(repo, sizeof(repo), "team/r%d", i);
		ts_holders_note(h, i < 5 ? D2 : D1, repo);
	}
	ts_holders_save(h);
	ts_holders_free(h);
	h = open_host("r.example");
	/* the oldest pairs went first */
	ck_assert_uint_eq(ts_holders_find(h, D2, NULL, r, 2), 0);
	ck_assert_uint_eq(ts_holders_find(h, D1, NULL, r, 1), 1);
	snprintf(repo, sizeof(repo), "team/r%d", TS_HOLDERS_MAX + 9);
	ck_assert_str_eq(r[0], repo);
	free(r[0]);
	ts_holders_free(h);
}
END_TEST

START_TEST(damaged_record_ignored)
{
	ts_holders *h = open_host("r.example");
	char *path, *r[2], buf[8192];
	FILE *f;
	size_t n;
	ts_holders_note(h, D1, "team/a");
	ts_holders_save(h);
	ts_holders_free(h);
	path = record_path("r.example");
	f = fopen(path, "r+");
	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf), f);
	ck_assert_ptr_nonnull(strstr(buf, "team/a"));
	*strstr(buf, "team/a") = 'T'; /* one byte changed: the check no longer matches */
	rewind(f);
	ck_assert_uint_eq(fwrite(buf, 1, n, f), n);
	fclose(f);
	free(path);
	h = open_host("r.example");
	ck_assert_uint_eq(ts_holders_find(h, D1, NULL, r, 2), 0);
	ts_holders_free(h);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("blobcache");
	TCase *tc = tcase_create("holders");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, remembers_most_recent_first);
	tcase_add_test(tc, bounded);
	tcase_add_test(tc, damaged_record_ignored);
	suite_add_tcase(s, tc);
	return ts_check_run(s);
}
