/*
 * test_provenance.c - the SLSA provenance v1 predicate: its shape, CI facts
 * as builder and invocation, and remote URLs stripped of credentials.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "tagseal/provenance.h"

START_TEST(strips_credentials)
{
	char *u = ts_url_strip_secrets("https://x-access-token:ghs_SECRET@github.com/o/r.git?t=1#f");
	ck_assert_str_eq(u, "https://github.com/o/r.git");
	free(u);
	u = ts_url_strip_secrets("https://gitlab-ci-token:glcbt-SECRET@gitlab.example/g/p.git");
	ck_assert_ptr_null(strstr(u, "SECRET"));
	free(u);
	u = ts_url_strip_secrets("git@github.com:o/r.git");
	ck_assert_str_eq(u, "git@github.com:o/r.git");
	free(u);
	u = ts_url_strip_secrets("user:pw@host:o/r.git");
	ck_assert_ptr_null(strstr(u, "pw"));
	free(u);
}
END_TEST

START_TEST(predicate_shape)
{
	ts_ciinfo ci = TS_CIINFO_INIT;
	ts_provenance_in in = { 0 };
	json_t *p;

	ci.provider = "github";
	ci.run_url = "https://ci.example/o/r/actions/runs/7";
	ci.attempt = "2";
	in.image = "ghcr.io/o/r";
	in.digest = "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00";
	in.ci = &ci;
	in.started = 1700000000;
	in.finished = 1700000060;
	p = ts_provenance_slsa1(&in);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(p, "buildDefinition"), "buildType")),
			 TS_PROVENANCE_BUILD_TYPE);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_object_get(p, "runDetails"),
		"builder"), "id")), "urn:tagseal:ci:github");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_object_get(p, "runDetails"),
		"metadata"), "invocationId")), "https://ci.example/o/r/actions/runs/7/attempts/2");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_object_get(p, "runDetails"),
		"metadata"), "startedOn")), "2023-11-14T22:13:20Z");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_object_get(p,
		"buildDefinition"), "externalParameters"), "image")), "ghcr.io/o/r");
	json_decref(p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("provenance");
	TCase *tc = tcase_create("provenance");

	tcase_add_test(tc, strips_credentials);
	tcase_add_test(tc, predicate_shape);
	suite_add_tcase(s, tc);
	return ts_check_run(s);
}
