/*
 * test_tagname.c - templates (placeholders, errors with columns), presets,
 * the default scheme, sanitising, the alias rule and collision bumping.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>

#include "check_run.h"
#include "tagseal/ref.h"
#include "tagseal/tagname.h"

#define SHA "0123456789abcdef0123456789abcdef01234567"

static ts_semver ver;
static ts_tagname_ctx ctx;

/* 2026-03-04T05:06:07Z */
#define COMMIT_TIME 1772600767

static void setup(void)
{
	ck_assert(ts_semver_try_parse("1.4.2-rc.1+meta.7", &ver));
	memset(&ctx, 0, sizeof(ctx));
	ctx.commit = SHA;
	ctx.sha_unique_len = 7;
	ctx.have_time = true;
	ctx.commit_time = COMMIT_TIME;
	ctx.version = &ver;
	ctx.build = "42";
	ctx.branch = "feature/Login+SSO";
	ctx.have_distance = true;
	ctx.distance = 5;
}

static void teardown(void)
{
	ts_semver_free(&ver);
}

static char *expand_ok(const char *tmpl)
{
	ts_error err = TS_ERROR_INIT;
	char *out = NULL;
	ck_assert_msg(ts_tagname_expand(tmpl, &ctx, "--scheme", &out, &err) == TS_OK, "%s: %s",
		      tmpl, err.msg);
	ck_assert_msg(ts_tag_valid(out), "'%s' is not a valid tag", out);
	return out;
}

static void expect(const char *tmpl, const char *want)
{
	char *out = expand_ok(tmpl);
	ck_assert_str_eq(out, want);
	free(out);
}

/* Expansion fails with TS_EUSAGE and a message holding `needle`. */
static void expect_error(const char *tmpl, const char *needle)
{
	ts_error err = TS_ERROR_INIT;
	char *out = NULL;
	ck_assert_int_eq(ts_tagname_expand(tmpl, &ctx, "--scheme", &out, &err), TS_EUSAGE);
	ck_assert_ptr_null(out);
	ck_assert_msg(strstr(err.msg, needle), "'%s': message '%s' lacks '%s'", tmpl, err.msg, needle);
}

START_TEST(placeholders)
{
	expect("{sha}", "0123456789ab");
	expect("{sha:7}", "0123456");
	expect("{sha:40}", SHA);
	expect("{fullsha}", SHA);
	expect("{version}", "1.4.2-rc.1_meta.7");
	expect("v{major}.{minor}.{patch}", "v1.4.2");
	expect("{prerelease}", "rc.1");
	expect("{build}", "42");
	expect("b{attempt}", "b1");
	expect("{date}", "20260304");
	expect("{date:%Y-%m-%d}", "2026-03-04");
	expect("{date:%Y%m%dT%H%M%SZ}", "20260304T050607Z");
	expect("{time}", "20260304050607");
	expect("{epoch}", "1772600767");
	expect("{branch}", "feature-login-sso");
	expect("r{distance}", "r5");
	expect("x{dirty}", "x");
	ctx.dirty = true;
	expect("x{dirty}", "x-dirty");
	expect("{version}-{build}.g{sha}", "1.4.2-rc.1_meta.7-42.g0123456789ab");
	expect("{major}+{build}", "1_42");
}
END_TEST

START_TEST(sha_lengthened_when_ambiguous)
{
	ctx.sha_unique_len = 14;
	expect("{sha}", "0123456789abcd");
	expect("{sha:4}", "0123456789abcd");
	expect("{sha:20}", "0123456789abcdef0123");
}
END_TEST

START_TEST(template_errors_name_column)
{
	expect_error("{nope}", "unknown placeholder {nope} at column 1");
	expect_error("app-{sha}-{vers}", "unknown placeholder {vers} at column 11");
	expect_error("{sha", "not closed by '}'");
	expect_error("x{sha{build}}", "column 2");
	expect_error("abc}", "'}' at column 4");
	expect_error("a/b", "character '/' at column 2");
	expect_error("{sha}:{build}", "character ':' at column 6");
	expect_error("{sha:3}", "N must be a number from 4 to 40");
	expect_error("{sha:x}", "N must be a number");
	expect_error("{build:1}", "{build} at column 1 takes no argument");
	expect_error("{date:%H:%M}", "':' is not allowed");
	expect_error("{date:}", "strftime FORMAT");
	expect_error("", "empty");
	expect_error("{}", "unknown placeholder {} at column 1");
}
END_TEST

START_TEST(missing_facts)
{
	ctx.build = NULL;
	expect_error("{sha}-{build}", "{build} at column 7 cannot be expanded");
	ctx.version = NULL;
	ctx.version_missing = "shallow clone: no version";
	expect_error("{major}", "shallow clone: no version");
	ctx.commit = NULL;
	ctx.git_missing = "not in a git repository";
	expect_error("{sha}", "not in a git repository");
	ctx.branch = NULL;
	expect_error("{branch}", "detached");
	ctx.have_distance = false;
	expect_error("{distance}", "{distance} at column 1");
}
END_TEST

START_TEST(leading_dot_dash_refused)
{
	expect_error("-{sha}", "cannot start with '-'");
	expect_error(".{sha}", "cannot start with '.'");
	ts_semver_free(&ver);
	ck_assert(ts_semver_try_parse("1.0.0", &ver));
	expect_error("{prerelease}-{sha}", "cannot start with '-'");
	expect_error("{prerelease}", "empty tag");
	expect("_{sha:4}", "_0123456");
}
END_TEST

START_TEST(branch_sanitising)
{
	static const char *const cases[][2] = {
		{ "feature/Login+SSO", "feature-login-sso" },
		{ "main", "main" },
		{ "release/1.4.x", "release-1.4.x" },
		{ "--weird//name--", "weird-name" },
		{ ".hidden/.x.", "hidden-.x" },
		{ "user@host:fix #12", "user-host-fix-12" },
		{ "Ünïcode", "n-code" },
		{ "snake_case", "snake_case" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = ts_tagname_sanitize_branch(cases[i][0]);
		ck_assert_msg(s && strcmp(s, cases[i][1]) == 0, "%s -> %s", cases[i][0], s);
		free(s);
	}
	ck_assert_ptr_null(ts_tagname_sanitize_branch("///"));
	ck_assert_ptr_null(ts_tagname_sanitize_branch("..."));
}
END_TEST

START_TEST(long_tags_hashed_apart)
{
	char a[200], b[200];
	char *sa, *sb, *same;
	memset(a, 'x', 150);
	a[150] = '\0';
	memcpy(b, a, 151);
	b[149] = 'y'; /* differs only beyond 128 */
	sa = ts_tagname_shorten(a);
	sb = ts_tagname_shorten(b);
	ck_assert_uint_eq(strlen(sa), 128);
	ck_assert_uint_eq(strlen(sb), 128);
	ck_assert(ts_tag_valid(sa));
	ck_assert_str_ne(sa, sb);
	ck_assert(strncmp(sa, a, 117) == 0);
	ck_assert_int_eq(sa[117], '-');
	a[128] = '\0';
	same = ts_tagname_shorten(a); /* exactly 128: kept */
	ck_assert_str_eq(same, a);
	free(sa);
	free(sb);
	free(same);

	/* through a template: a long branch */
	ctx.branch = "feature/"
		     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	sa = expand_ok("{branch}-{sha}");
	ck_assert_uint_eq(strlen(sa), 128);
	free(sa);
}
END_TEST

START_TEST(presets_and_default)
{
	ck_assert_str_eq(ts_tagname_preset("sha"), "{sha}{dirty}");
	ck_assert_str_eq(ts_tagname_preset("semver"), "{version}");
	ck_assert_str_eq(ts_tagname_preset("semver-sha"), "{version}-g{sha}{dirty}");
	ck_assert_str_eq(ts_tagname_preset("date-build"), "{date:%Y%m%d}-{build}");
	ck_assert_ptr_null(ts_tagname_preset("semvr"));
	ck_assert_str_eq(ts_tagname_default_scheme(true, true), "{version}-{build}.g{sha}{dirty}");
	ck_assert_str_eq(ts_tagname_default_scheme(true, false), "{version}-g{sha}{dirty}");
	ck_assert_str_eq(ts_tagname_default_scheme(false, true),
			 "{date:%Y%m%d}-{build}.g{sha}{dirty}");
	ck_assert_str_eq(ts_tagname_default_scheme(false, false), "{date:%Y%m%d}-g{sha}{dirty}");
	/* every preset expands to a valid tag with full facts */
	{
		const char *names = ts_tagname_preset_names();
		char name[32];
		int off = 0, n;
		while (sscanf(names + off, "%31s%n", name, &n) == 1) {
			off += n;
			if (strcmp(name, "default") != 0)
				free(expand_ok(ts_tagname_preset(name)));
		}
	}
}
END_TEST

static bool may_move(const char *alias_tmpl, const char *alias_tag, const char *version,
		     const char **existing, size_t n)
{
	ts_tag_alias a = { (char *)alias_tag, ts_alias_scope_of(alias_tmpl) };
	ts_semver v;
	bool have = version && ts_semver_try_parse(version, &v), move;
	char *why = NULL;
	move = ts_alias_may_move(&a, have ? &v : NULL, (char *const *)existing, n, &why);
	ck_assert_ptr_nonnull(why);
	ck_assert_ptr_nonnull(strstr(why, alias_tag));
	free(why);
	if (have)
		ts_semver_free(&v);
	return move;
}

START_TEST(alias_scopes)
{
	ck_assert_int_eq(ts_alias_scope_of("latest"), TS_ALIAS_LATEST);
	ck_assert_int_eq(ts_alias_scope_of("{major}"), TS_ALIAS_MAJOR);
	ck_assert_int_eq(ts_alias_scope_of("v{major}"), TS_ALIAS_MAJOR);
	ck_assert_int_eq(ts_alias_scope_of("{major}.{minor}"), TS_ALIAS_MINOR);
	ck_assert_int_eq(ts_alias_scope_of("{version}"), TS_ALIAS_FREE);
	ck_assert_int_eq(ts_alias_scope_of("{branch}"), TS_ALIAS_FREE);
	ck_assert_int_eq(ts_alias_scope_of("{major}-{branch}"), TS_ALIAS_FREE);
}
END_TEST

START_TEST(alias_rule)
{
	const char *reg[] = { "latest", "1", "1.4", "v1.4.2", "1.3.9", "2.0.0-rc.1", "1.5.0_build.3",
			      "abcdef123456", "1.4.2-42.g0123456789ab" };
	size_t n = sizeof(reg) / sizeof(reg[0]);
	const char *only_old[] = { "0.9.0", "latest" };

	/* a backport never moves latest, but moves its own major/minor line */
	ck_assert(!may_move("latest", "latest", "1.4.3", reg, n));
	ck_assert(may_move("{major}.{minor}", "1.4", "1.4.3", reg, n));
	ck_assert(!may_move("{major}", "1", "1.4.3", reg, n)); /* 1.5.0 exists */
	ck_assert(may_move("latest", "latest", "2.0.0", reg, n));
	ck_assert(may_move("latest", "latest", "2.0.0-rc.1+x", NULL, 0) == false); /* prerelease */
	ck_assert(!may_move("{major}.{minor}", "2.0", "2.0.0-rc.2", reg, n));
	ck_assert(may_move("latest", "latest", "1.5.0", reg, n) == false); /* < 2.0.0-rc.1 */
	ck_assert(may_move("{major}", "1", "1.5.0", reg, n));    /* equal: a re-run */
	ck_assert(may_move("{major}", "1", "1.5.1", reg, n));
	ck_assert(may_move("{major}.{minor}", "1.3", "1.3.10", reg, n));
	ck_assert(!may_move("{major}.{minor}", "1.3", "1.3.8", reg, n));
	/* no version: moves only into a registry without version tags */
	ck_assert(!may_move("latest", "latest", NULL, reg, n));
	ck_assert(may_move("latest", "latest", NULL, NULL, 0));
	ck_assert(may_move("latest", "latest", "0.1.0", NULL, 0));
	ck_assert(may_move("latest", "latest", "1.0.0", only_old, 2));
	/* free aliases always move, prerelease or not */
	ck_assert(may_move("{branch}", "main", "0.0.1-alpha", reg, n));
}
END_TEST

START_TEST(collisions)
{
	const char *reg[] = { "1.0.0", "1.0.0.2", "1.0.0.3", "other" };
	ts_error err = TS_ERROR_INIT;
	char *out = NULL;
	char longtag[129];

	ck_assert_int_eq(ts_tagname_pick_free("1.0.1", (char *const *)reg, 4, TS_COLLISION_FAIL, &out,
					      &err), TS_OK);
	ck_assert_str_eq(out, "1.0.1");
	free(out);
	ck_assert_int_eq(ts_tagname_pick_free("1.0.0", (char *const *)reg, 4, TS_COLLISION_FAIL, &out,
					      &err), TS_EREFUSED);
	ck_assert_ptr_nonnull(strstr(err.msg, "'1.0.0'"));
	ck_assert_int_eq(ts_tagname_pick_free("1.0.0", (char *const *)reg, 4, TS_COLLISION_BUMP, &out,
					      &err), TS_OK);
	ck_assert_str_eq(out, "1.0.0.4");
	free(out);
	ck_assert_int_eq(ts_tagname_pick_free("other", (char *const *)reg, 4, TS_COLLISION_BUMP, &out,
					      &err), TS_OK);
	ck_assert_str_eq(out, "other.2");
	free(out);
	ck_assert_int_eq(ts_tagname_pick_free("x", NULL, 0, TS_COLLISION_FAIL, &out, &err), TS_OK);
	free(out);
	/* a 128-character tag bumped stays within the grammar */
	memset(longtag, 'a', 128);
	longtag[128] = '\0';
	{
		const char *r2[] = { longtag };
		ck_assert_int_eq(ts_tagname_pick_free(longtag, (char *const *)r2, 1, TS_COLLISION_BUMP,
						      &out, &err), TS_OK);
		ck_assert(ts_tag_valid(out));
		ck_assert_str_ne(out, longtag);
		free(out);
	}
}
END_TEST

/* The entry point without a repository: --tag, --version, aliases. */
START_TEST(resolve_without_git)
{
	const char *aliases[] = { "latest", "{major}.{minor}", "latest" };
	ts_tagname_opts o = { "v1.2.3", NULL, "1.2.3", "42", NULL, aliases, 3 };
	ts_tagname_result r;
	ts_error err = TS_ERROR_INIT;

	git_libgit2_init();
	ck_assert_int_eq(chdir("/"), 0);
	setenv("GIT_CEILING_DIRECTORIES", "/", 1);
	unsetenv("GIT_DIR");
	ck_assert_msg(ts_tagname_resolve(&o, &r, &err) == TS_OK, "%s", err.msg);
	ck_assert_str_eq(r.tag, "v1.2.3");
	ck_assert(!r.have_git);
	ck_assert_str_eq(r.version_source, "--version");
	ck_assert_str_eq(r.build, "42");
	ck_assert_uint_eq(r.n_aliases, 2); /* duplicates dropped */
	ck_assert_str_eq(r.aliases[0].tag, "latest");
	ck_assert_int_eq(r.aliases[0].scope, TS_ALIAS_LATEST);
	ck_assert_str_eq(r.aliases[1].tag, "1.2");
	ck_assert_int_eq(r.aliases[1].scope, TS_ALIAS_MINOR);
	ts_tagname_result_free(&r);

	o.tag = NULL; /* the default needs git */
	ck_assert_int_eq(ts_tagname_resolve(&o, &r, &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "git repository"));
	o.tag = "bad tag";
	ck_assert_int_eq(ts_tagname_resolve(&o, &r, &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "'bad tag'"));
	o.tag = "x";
	o.scheme = "sha";
	ck_assert_int_eq(ts_tagname_resolve(&o, &r, &err), TS_EUSAGE);
	o.scheme = NULL;
	o.version = "1.2";
	ck_assert_int_eq(ts_tagname_resolve(&o, &r, &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "--version"));
	git_libgit2_shutdown();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tagname");
	TCase *tc = tcase_create("tagname");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, placeholders);
	tcase_add_test(tc, sha_lengthened_when_ambiguous);
	tcase_add_test(tc, template_errors_name_column);
	tcase_add_test(tc, missing_facts);
	tcase_add_test(tc, leading_dot_dash_refused);
	tcase_add_test(tc, branch_sanitising);
	tcase_add_test(tc, long_tags_hashed_apart);
	tcase_add_test(tc, presets_and_default);
	tcase_add_test(tc, alias_scopes);
	tcase_add_test(tc, alias_rule);
	tcase_add_test(tc, collisions);
	tcase_add_test(tc, resolve_without_git);
	suite_add_tcase(s, tc);
	return ts_check_run(s);
}
