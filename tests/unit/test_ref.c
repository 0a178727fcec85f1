/*
 * test_ref.c - image reference parsing and normalisation.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "tagseal/ref.h"

START_TEST(hub_short_name)
{
	ts_ref r = TS_REF_INIT;
	ts_error err = TS_ERROR_INIT;
	ck_assert_int_eq(ts_ref_parse("app", &r, "--repo", &err), TS_OK);
	ck_assert_str_eq(r.host, "docker.io");
	ck_assert_str_eq(r.path, "library/app");
	ck_assert_ptr_null(r.tag);
	ts_ref_free(&r);
}
END_TEST

START_TEST(host_port_tag_digest)
{
	ts_ref r = TS_REF_INIT;
	ts_error err = TS_ERROR_INIT;
	const char *d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char *s;
	s = ts_asprintf("127.0.0.1:5000/team/app:v1.2@%s", d);
	ck_assert_int_eq(ts_ref_parse(s, &r, "--image", &err), TS_OK);
	ck_assert_str_eq(r.host, "127.0.0.1:5000");
	ck_assert_str_eq(r.path, "team/app");
	ck_assert_str_eq(r.tag, "v1.2");
	ck_assert_str_eq(r.digest, d);
	free(s);
	ts_ref_free(&r);
}
END_TEST

START_TEST(ipv6_host)
{
	ts_ref r = TS_REF_INIT;
	ts_error err = TS_ERROR_INIT;
	ck_assert_int_eq(ts_repo_parse("[::1]:5000/x/y", &r, "--repo", &err), TS_OK);
	ck_assert_str_eq(r.host, "[::1]:5000");
	ck_assert(ts_host_is_loopback(r.host));
	ts_ref_free(&r);
}
END_TEST

START_TEST(rejects_bad_names)
{
	ts_ref r = TS_REF_INIT;
	ts_error err = TS_ERROR_INIT;
	ck_assert_int_eq(ts_repo_parse("ghcr.io/Org/App", &r, "--repo", &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "--repo"));
	ck_assert_int_eq(ts_repo_parse("ghcr.io/org/app:tag", &r, "--repo", &err), TS_EUSAGE);
	ck_assert_int_eq(ts_ref_parse("ghcr.io/org/app:-bad", &r, "--image", &err), TS_EUSAGE);
	ck_assert_int_eq(ts_ref_parse("a//b", &r, "--image", &err), TS_EUSAGE);
	ck_assert_int_eq(ts_ref_parse("", &r, "--image", &err), TS_EUSAGE);
	ck_assert_int_eq(ts_ref_parse("a@sha256:12", &r, "--image", &err), TS_EUSAGE);
}
END_TEST

START_TEST(loopback_hosts)
{
	ck_assert(ts_host_is_loopback("localhost:5000"));
	ck_assert(ts_host_is_loopback("127.0.0.1"));
	ck_assert(ts_host_is_loopback("127.1.2.3:80"));
	ck_assert(!ts_host_is_loopback("127.example.com"));
	ck_assert(!ts_host_is_loopback("ghcr.io"));
	ck_assert(!ts_host_is_loopback("[::2]:5000"));
}
END_TEST

START_TEST(tag_grammar)
{
	char long_tag[130];
	ck_assert(ts_tag_valid("v1.2.3"));
	ck_assert(ts_tag_valid("_x"));
	ck_assert(!ts_tag_valid(".x"));
	ck_assert(!ts_tag_valid("-x"));
	ck_assert(!ts_tag_valid("a+b"));
	memset(long_tag, 'a', 128);
	long_tag[128] = 0;
	ck_assert(ts_tag_valid(long_tag));
	long_tag[128] = 'a';
	long_tag[129] = 0;
	ck_assert(!ts_tag_valid(long_tag));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ref");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, hub_short_name);
	tcase_add_test(tc, host_port_tag_digest);
	tcase_add_test(tc, ipv6_host);
	tcase_add_test(tc, rejects_bad_names);
	tcase_add_test(tc, loopback_hosts);
	tcase_add_test(tc, tag_grammar);
	suite_add_tcase(s, tc);
	return ts_check_run(s);
}
