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

START_TEST(docker_normalisation)
{
	static const char *const in[][2] = {
		{ "nginx", "docker.io/library/nginx:latest" },
		{ "nginx:1.25", "docker.io/library/nginx:1.25" },
		{ "bitnami/redis:7", "docker.io/bitnami/redis:7" },
		{ "docker.io/nginx", "docker.io/library/nginx:latest" },
		{ "index.docker.io/library/nginx:1", "docker.io/library/nginx:1" },
		{ "registry-1.docker.io/nginx:2", "docker.io/library/nginx:2" },
		{ "ghcr.io/org/app:v1", "ghcr.io/org/app:v1" },
		{ "localhost/app", "localhost/app:latest" },
	};
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		ts_ref r = TS_REF_INIT;
		ts_error err = TS_ERROR_INIT;
		char *c;
		ck_assert_int_eq(ts_ref_parse(in[i][0], &r, "ref", &err), TS_OK);
		c = ts_ref_canonical(&r);
		ck_assert_str_eq(c, in[i][1]);
		ck_assert(ts_host_is_hub(r.host) == (strncmp(in[i][1], "docker.io/", 10) == 0));
		if (ts_host_is_hub(r.host))
			ck_assert_str_eq(ts_ref_api_host(&r), "registry-1.docker.io");
		free(c);
		ts_ref_free(&r);
	}
	ck_assert(ts_host_is_hub("index.docker.io"));
	ck_assert(!ts_host_is_hub("docker.io.evil.example"));
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

/* A reference with user:password@ is refused, and no message repeats the
 * password (whatever else is wrong with the reference). */
START_TEST(refuses_userinfo_without_echo)
{
	static const char *refs[] = {
		"alice:S3cret@127.0.0.1:5000/app",
		"alice:S3cret@127.0.0.1:5000/app:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"https://alice:S3cret@ghcr.io/org/app",
		"alice:S3cret@ghcr.io/Org/App:-bad",
		"alice:pa/S3cret@ghcr.io/app",
		"alice:p@S3cret@ghcr.io/app",
		"alice:S3cret@app",
		"alice:S3cret@127.0.0.1:5000",
		"alice@ghcr.io/app",
	};
	ts_ref r = TS_REF_INIT;
	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		ts_error err = TS_ERROR_INIT;
		ck_assert_int_eq(ts_ref_parse(refs[i], &r, "--image", &err), TS_EUSAGE);
		ck_assert_msg(!strstr(err.msg, "S3cret") && !strstr(err.msg, "alice"),
			      "%s: %s", refs[i], err.msg);
		ck_assert_ptr_nonnull(strstr(err.msg, "--image"));
		ck_assert_int_eq(ts_repo_parse(refs[i], &r, "--repo", &err), TS_EUSAGE);
		ck_assert_msg(!strstr(err.msg, "S3cret"), "%s: %s", refs[i], err.msg);
	}
	{
		ts_error err = TS_ERROR_INIT;
		ck_assert_int_eq(ts_repo_parse(refs[0], &r, "--repo", &err), TS_EUSAGE);
		ck_assert_ptr_nonnull(strstr(err.msg, "must not carry credentials"));
		ck_assert_ptr_nonnull(strstr(err.msg, "--username/--password-stdin"));
	}
	ck_assert(ts_ref_has_userinfo(refs[0]));
	ck_assert(!ts_ref_has_userinfo("ghcr.io/org/app:1@sha256:0123"));
	ck_assert(!ts_ref_has_userinfo("app@sha256:0123"));
	ck_assert(!ts_ref_has_userinfo("ghcr.io/org/app"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ref");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, hub_short_name);
	tcase_add_test(tc, host_port_tag_digest);
	tcase_add_test(tc, docker_normalisation);
	tcase_add_test(tc, ipv6_host);
	tcase_add_test(tc, rejects_bad_names);
	tcase_add_test(tc, loopback_hosts);
	tcase_add_test(tc, tag_grammar);
	tcase_add_test(tc, refuses_userinfo_without_echo);
	suite_add_tcase(s, tc);
	return ts_check_run(s);
}
