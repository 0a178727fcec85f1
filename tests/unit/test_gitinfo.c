/*
 * test_gitinfo.c - git facts from real repositories built here with
 * libgit2: linear history, merges, annotated and lightweight tags,
 * prerelease ordering, tags off HEAD's history, dirty state, detached
 * HEAD, the CI's PR head, and lengthening an ambiguous short SHA.
 */
#include <check.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"
#include "tagseal/gitinfo.h"

static char dir[64];
static git_repository *repo;
static int64_t clock_s = 1700000000;

static void rm_rf(const char *path)
{
	char *cmd = ts_asprintf("rm -rf '%s'", path);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

static void setup(void)
{
	strcpy(dir, "/tmp/ts-gitinfo-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	git_libgit2_init();
	ck_assert_int_eq(git_repository_init(&repo, dir, 0), 0);
}

static void teardown(void)
{
	git_repository_free(repo);
	git_libgit2_shutdown();
	rm_rf(dir);
}

static void write_file(const char *name, const char *content)
{
	char *path = ts_asprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(content, f);
	fclose(f);
	free(path);
}

/* Commit file `name` with `content` on top of the given parents; moves
 * `ref` ("HEAD", "refs/heads/side") to the new commit. */
static git_oid commit(const char *ref, const char *name, const char *content,
		      const git_oid *p1, const git_oid *p2)
{
	git_index *idx;
	git_oid tree_id, id;
	git_tree *tree;
	git_signature *sig;
	git_commit *parents[2] = { NULL, NULL };
	size_t np = 0;

	write_file(name, content);
	ck_assert_int_eq(git_repository_index(&idx, repo), 0);
	ck_assert_int_eq(git_index_add_bypath(idx, name), 0);
	ck_assert_int_eq(git_index_write(idx), 0);
	ck_assert_int_eq(git_index_write_tree(&tree_id, idx), 0);
	git_index_free(idx);
	ck_assert_int_eq(git_tree_lookup(&tree, repo, &tree_id), 0);
	ck_assert_int_eq(git_signature_new(&sig, "T", "t@example.com", clock_s += 60, 0), 0);
	if (p1)
		ck_assert_int_eq(git_commit_lookup(&parents[np++], repo, p1), 0);
	if (p2)
		ck_assert_int_eq(git_commit_lookup(&parents[np++], repo, p2), 0);
	ck_assert_int_eq(git_commit_create(&id, repo, ref, sig, sig, NULL, name, tree, np,
					   (const git_commit **)parents), 0);
	for (size_t i = 0; i < np; i++)
		git_commit_free(parents[i]);
	git_tree_free(tree);
	git_signature_free(sig);
	return id;
}

static void tag(const char *name, const git_oid *target, bool annotated)
{
	git_object *obj;
	git_signature *sig;
	git_oid id;
	ck_assert_int_eq(git_object_lookup(&obj, repo, target, GIT_OBJECT_COMMIT), 0);
	ck_assert_int_eq(git_signature_new(&sig, "T", "t@example.com", clock_s, 0), 0);
	if (annotated)
		ck_assert_int_eq(git_tag_create(&id, repo, name, obj, sig, "release", 0), 0);
	else
		ck_assert_int_eq(git_tag_create_lightweight(&id, repo, name, obj, 0), 0);
	git_signature_free(sig);
	git_object_free(obj);
}

static void load(ts_gitinfo *gi, const ts_ciinfo *ci)
{
	ts_gitinfo_opts o = { dir, ci };
	ts_error err = TS_ERROR_INIT;
	ck_assert_msg(ts_gitinfo_load(&o, gi, &err) == TS_OK, "%s", err.msg);
}

static void hex(const git_oid *id, char out[41])
{
	git_oid_tostr(out, 41, id);
}

START_TEST(linear_history)
{
	ts_gitinfo gi;
	char want[41];
	git_oid c1 = commit("HEAD", "a", "1", NULL, NULL);
	git_oid c2 = commit("HEAD", "a", "2", &c1, NULL);
	git_oid c3 = commit("HEAD", "a", "3", &c2, NULL);

	tag("v1.0.0", &c1, true);
	tag("not-a-version", &c3, false);
	tag("v1.1", &c3, false); /* not semver: ignored */
	load(&gi, NULL);
	hex(&c3, want);
	ck_assert_str_eq(gi.commit, want);
	ck_assert_str_eq(gi.head, want);
	ck_assert_int_eq(gi.commit_time, clock_s);
	ck_assert_ptr_nonnull(gi.branch);
	ck_assert(!gi.dirty);
	ck_assert(!gi.shallow);
	ck_assert_int_eq(gi.version_status, TS_GITVER_FOUND);
	ck_assert_str_eq(gi.version_tag, "v1.0.0");
	ck_assert(gi.distance_known);
	ck_assert_uint_eq(gi.distance, 2);
	ts_gitinfo_free(&gi);

	tag("1.0.1", &c3, false); /* lightweight, no 'v', at HEAD */
	load(&gi, NULL);
	ck_assert_str_eq(gi.version_tag, "1.0.1");
	ck_assert_uint_eq(gi.distance, 0);
	ts_gitinfo_free(&gi);
}
END_TEST

START_TEST(no_version_tag)
{
	ts_gitinfo gi;
	git_oid c1 = commit("HEAD", "a", "1", NULL, NULL);
	(void)c1;
	load(&gi, NULL);
	ck_assert_int_eq(gi.version_status, TS_GITVER_NONE);
	ck_assert_ptr_null(gi.version_tag);
	ts_gitinfo_free(&gi);
}
END_TEST

START_TEST(prerelease_precedence_at_one_commit)
{
	ts_gitinfo gi;
	git_oid c1 = commit("HEAD", "a", "1", NULL, NULL);
	tag("v2.0.0-rc.2", &c1, true);
	tag("v2.0.0-rc.10", &c1, false);
	tag("v2.0.0-beta", &c1, true);
	load(&gi, NULL);
	ck_assert_str_eq(gi.version_tag, "v2.0.0-rc.10"); /* not "rc.2" by string order */
	ck_assert_str_eq(gi.version.prerelease, "rc.10");
	ts_gitinfo_free(&gi);
}
END_TEST

START_TEST(tags_off_history_and_merges)
{
	ts_gitinfo gi;
	git_oid base = commit("HEAD", "a", "base", NULL, NULL);
	git_oid m1, side, m2, merge;

	tag("v1.0.0", &base, true);
	m1 = commit("HEAD", "a", "main1", &base, NULL);
	tag("v1.1.0", &m1, true);
	side = commit("refs/heads/side", "b", "fix", &base, NULL);
	tag("v1.0.1", &side, true);          /* maintenance release */
	tag("v9.9.9", &side, false);         /* never merged: below */
	m2 = commit("HEAD", "a", "main2", &m1, NULL);
	load(&gi, NULL);
	ck_assert_str_eq(gi.version_tag, "v1.1.0"); /* v9.9.9 is not reachable */
	ck_assert_uint_eq(gi.distance, 1);
	ts_gitinfo_free(&gi);

	/* merging the maintenance branch back (its v1.0.1 is now reachable and
	 * nearer) does not lower the version: the highest reachable wins */
	git_tag_delete(repo, "v9.9.9");
	merge = commit("HEAD", "a", "merge", &m2, &side);
	(void)merge;
	load(&gi, NULL);
	ck_assert_str_eq(gi.version_tag, "v1.1.0");
	ck_assert_uint_eq(gi.distance, 3); /* main2, side, merge */
	ts_gitinfo_free(&gi);
}
END_TEST

START_TEST(dirty_ignores_untracked)
{
	ts_gitinfo gi;
	git_oid c1 = commit("HEAD", "a", "1", NULL, NULL);
	(void)c1;
	write_file("untracked", "x");
	load(&gi, NULL);
	ck_assert(!gi.dirty);
	ts_gitinfo_free(&gi);
	write_file("a", "changed");
	load(&gi, NULL);
	ck_assert(gi.dirty);
	ts_gitinfo_free(&gi);
}
END_TEST

START_TEST(detached_head)
{
	ts_gitinfo gi;
	git_oid c1 = commit("HEAD", "a", "1", NULL, NULL);
	git_oid c2 = commit("HEAD", "a", "2", &c1, NULL);
	(void)c2;
	ck_assert_int_eq(git_repository_set_head_detached(repo, &c1), 0);
	load(&gi, NULL);
	ck_assert_ptr_null(gi.branch);
	ts_gitinfo_free(&gi);
}
END_TEST

START_TEST(ci_pr_head_replaces_merge_commit)
{
	ts_gitinfo gi;
	ts_ciinfo ci = TS_CIINFO_INIT;
	char head[41], pr[41], other[41];
	git_oid base = commit("HEAD", "a", "base", NULL, NULL);
	git_oid prc = commit("refs/heads/pr", "b", "pr", &base, NULL);
	git_oid merge = commit("HEAD", "a", "merge", &base, &prc);

	tag("v3.0.0", &base, false);
	hex(&merge, head);
	hex(&prc, pr);
	ci.commit = head;
	ci.head_commit = pr;
	load(&gi, &ci);
	ck_assert_str_eq(gi.commit, pr);
	ck_assert_str_eq(gi.head, head);
	ck_assert(gi.commit_from_ci);
	ck_assert_uint_eq(gi.distance, 1); /* from the PR head, not the merge */
	ts_gitinfo_free(&gi);

	/* the CI's commit is not HEAD (someone checked out something else) */
	hex(&base, other);
	ci.commit = other;
	load(&gi, &ci);
	ck_assert_str_eq(gi.commit, head);
	ck_assert(!gi.commit_from_ci);
	ts_gitinfo_free(&gi);
}
END_TEST

START_TEST(short_sha_lengthened_when_ambiguous)
{
	ts_gitinfo gi;
	git_odb *odb;
	git_oid c1 = commit("HEAD", "a", "1", NULL, NULL), blob;
	char buf[32], *s;
	unsigned i;

	/* find content whose blob id shares the commit's first 4 hex digits */
	ck_assert_int_eq(git_repository_odb(&odb, repo), 0);
	for (i = 0;; i++) {
		snprintf(buf, sizeof(buf), "collide %u", i);
		ck_assert_int_eq(git_odb_hash(&blob, buf, strlen(buf), GIT_OBJECT_BLOB), 0);
		if (memcmp(blob.id, c1.id, 2) == 0)
			break;
	}
	ck_assert_int_eq(git_odb_write(&blob, odb, buf, strlen(buf), GIT_OBJECT_BLOB), 0);
	git_odb_free(odb);
	load(&gi, NULL);
	ck_assert_int_eq(ts_gitinfo_short_sha(&gi, 4, &s, NULL), TS_OK);
	ck_assert_uint_gt(strlen(s), 4);
	ck_assert(strncmp(s, gi.commit, strlen(s)) == 0);
	{
		char bh[41];
		hex(&blob, bh);
		ck_assert(strncmp(s, bh, strlen(s)) != 0);
	}
	free(s);
	ck_assert_int_eq(ts_gitinfo_short_sha(&gi, 12, &s, NULL), TS_OK);
	ck_assert_uint_eq(strlen(s), 12);
	free(s);
	ts_gitinfo_free(&gi);
}
END_TEST

START_TEST(errors)
{
	ts_gitinfo gi;
	ts_gitinfo_opts o = { dir, NULL };
	ts_gitinfo_opts nowhere = { "/nonexistent/repo", NULL };
	ts_error err = TS_ERROR_INIT;
	ck_assert_int_eq(ts_gitinfo_load(&o, &gi, &err), TS_EUSAGE); /* no commits yet */
	ck_assert_ptr_nonnull(strstr(err.msg, "no commits"));
	ck_assert_int_eq(ts_gitinfo_load(&nowhere, &gi, &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "--git-dir"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gitinfo");
	TCase *tc = tcase_create("gitinfo");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, linear_history);
	tcase_add_test(tc, no_version_tag);
	tcase_add_test(tc, prerelease_precedence_at_one_commit);
	tcase_add_test(tc, tags_off_history_and_merges);
	tcase_add_test(tc, dirty_ignores_untracked);
	tcase_add_test(tc, detached_head);
	tcase_add_test(tc, ci_pr_head_replaces_merge_commit);
	tcase_add_test(tc, short_sha_lengthened_when_ambiguous);
	tcase_add_test(tc, errors);
	suite_add_tcase(s, tc);
	return ts_check_run(s);
}
