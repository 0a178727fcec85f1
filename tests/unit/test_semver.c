/*
 * test_semver.c - semantic version parsing and precedence (semver.org 2.0).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "tagseal/semver.h"

static int cmp(const char *a, const char *b)
{
	ts_semver x, y;
	int c;
	ck_assert_msg(ts_semver_try_parse(a, &x), "parse %s", a);
	ck_assert_msg(ts_semver_try_parse(b, &y), "parse %s", b);
	c = ts_semver_cmp(&x, &y);
	ts_semver_free(&x);
	ts_semver_free(&y);
	return c;
}

START_TEST(parses_parts)
{
	ts_semver v;
	ts_error err = TS_ERROR_INIT;
	char *s;
	ck_assert_int_eq(ts_semver_parse("v1.22.333-rc.1+build.5", &v, "--version", &err), TS_OK);
	ck_assert_uint_eq(v.major, 1);
	ck_assert_uint_eq(v.minor, 22);
	ck_assert_uint_eq(v.patch, 333);
	ck_assert_str_eq(v.prerelease, "rc.1");
	ck_assert_str_eq(v.build, "build.5");
	s = ts_semver_format(&v);
	ck_assert_str_eq(s, "1.22.333-rc.1+build.5");
	free(s);
	ts_semver_free(&v);
	ck_assert(ts_semver_try_parse("0.0.0", NULL));
	ck_assert(ts_semver_try_parse("1.0.0-0A.is.legal", NULL));
	ck_assert(ts_semver_try_parse("1.0.0+001", NULL)); /* build ids may have leading 0 */
	ck_assert(ts_semver_try_parse("1.0.0-x-y-z.--", NULL));
}
END_TEST

START_TEST(rejects_invalid)
{
	static const char *const bad[] = {
		"", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03", "1.2.3-", "1.2.3+",
		"1.2.3-01", "1.2.3-a..b", "1.2.3-a+", "1.2.3 ", " 1.2.3", "V1.2.3", "vv1.2.3",
		"1.2.3-a_b", "1.2.3+a/b", "18446744073709551616.0.0", "-1.2.3", "1.2.3-rc.1+b+c",
	};
	ts_error err = TS_ERROR_INIT;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!ts_semver_try_parse(bad[i], NULL), "accepted '%s'", bad[i]);
	ck_assert_int_eq(ts_semver_parse("1.2", NULL, "--version", &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "--version"));
	ck_assert_ptr_nonnull(strstr(err.msg, "'1.2'"));
}
END_TEST

START_TEST(precedence_spec_example)
{
	/* semver.org 11.4: 1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-alpha.beta <
	 * 1.0.0-beta < 1.0.0-beta.2 < 1.0.0-beta.11 < 1.0.0-rc.1 < 1.0.0 */
	static const char *const order[] = {
		"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
		"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0", "10.0.0",
	};
	size_t n = sizeof(order) / sizeof(order[0]);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			int c = cmp(order[i], order[j]);
			ck_assert_msg(i < j ? c < 0 : i > j ? c > 0 : c == 0, "%s vs %s gave %d",
				      order[i], order[j], c);
		}
}
END_TEST

START_TEST(build_metadata_ignored)
{
	ck_assert_int_eq(cmp("1.2.3+a", "1.2.3+b"), 0);
	ck_assert_int_eq(cmp("v1.2.3", "1.2.3"), 0);
	ck_assert_int_lt(cmp("1.2.3-rc.9+zzz", "1.2.3-rc.10"), 0);
	ck_assert_int_lt(cmp("1.2.3-2", "1.2.3-10"), 0);    /* numeric, not string */
	ck_assert_int_lt(cmp("1.2.3-10", "1.2.3-1a"), 0);   /* numeric before alphanumeric */
	ck_assert_int_lt(cmp("1.2.3-rc", "1.2.3-rc.0"), 0); /* more fields win */
	ck_assert_int_lt(cmp("9.9.9", "10.0.0-rc.1"), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("semver");
	TCase *tc = tcase_create("semver");

	tcase_add_test(tc, parses_parts);
	tcase_add_test(tc, rejects_invalid);
	tcase_add_test(tc, precedence_spec_example);
	tcase_add_test(tc, build_metadata_ignored);
	suite_add_tcase(s, tc);
	return ts_check_run(s);
}
