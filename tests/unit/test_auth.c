/*
 * test_auth.c - the WWW-Authenticate parser and the auth state machine
 * (Basic answers, refusals, plain-HTTP rules) without a network.
 *
 * Also `test_auth token ...` (see token_probe), used by
 * tests/integration/test_auth.sh: one token request through ts_auth alone,
 * with scopes no tagseal command asks for together.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "tagseal/auth.h"
#include "tagseal/creds.h"
#include "tagseal/netopts.h"

static ts_challenge *parse_ok(const char *h, size_t *n)
{
	ts_challenge *c = NULL;
	ts_error err = TS_ERROR_INIT;
	ck_assert_msg(ts_challenges_parse(h, &c, n, &err) == TS_OK, "%s: %s", h, err.msg);
	return c;
}

START_TEST(bearer_docker_hub)
{
	size_t n;
	ts_challenge *c = parse_ok("Bearer realm=\"https://auth.docker.io/token\",service=\"registry."
				   "docker.io\",scope=\"repository:samalba/my-app:pull,push\"",
				   &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(c[0].scheme, "bearer");
	ck_assert_uint_eq(c[0].n_params, 3);
	ck_assert_str_eq(ts_challenge_param(&c[0], "realm"), "https://auth.docker.io/token");
	ck_assert_str_eq(ts_challenge_param(&c[0], "service"), "registry.docker.io");
	ck_assert_str_eq(ts_challenge_param(&c[0], "scope"), "repository:samalba/my-app:pull,push");
	ts_challenges_free(c, n);
}
END_TEST

START_TEST(several_challenges)
{
	size_t n;
	ts_challenge *c = parse_ok("Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\", "
				   "Basic realm=\"simple\", BEARER Realm=r,Service = \"s, t\"",
				   &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(c[0].scheme, "newauth");
	ck_assert_uint_eq(c[0].n_params, 3);
	ck_assert_str_eq(ts_challenge_param(&c[0], "type"), "1");
	ck_assert_str_eq(ts_challenge_param(&c[0], "title"), "Login to \"apps\"");
	ck_assert_str_eq(c[1].scheme, "basic");
	ck_assert_str_eq(ts_challenge_param(&c[1], "REALM"), "simple");
	ck_assert_str_eq(c[2].scheme, "bearer");
	ck_assert_str_eq(ts_challenge_param(&c[2], "realm"), "r");
	ck_assert_str_eq(ts_challenge_param(&c[2], "service"), "s, t");
	ts_challenges_free(c, n);
}
END_TEST

START_TEST(token68_and_bare_schemes)
{
	size_t n;
	ts_challenge *c = parse_ok(", Negotiate abc+/12==, Basic, ,Bearer realm=\"x\",", &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(c[0].scheme, "negotiate");
	ck_assert_str_eq(c[0].token68, "abc+/12==");
	ck_assert_uint_eq(c[0].n_params, 0);
	ck_assert_str_eq(c[1].scheme, "basic");
	ck_assert_uint_eq(c[1].n_params, 0);
	ck_assert_ptr_null(c[1].token68);
	ck_assert_str_eq(ts_challenge_param(&c[2], "realm"), "x");
	ts_challenges_free(c, n);
}
END_TEST

START_TEST(escapes_and_empty_quoted)
{
	size_t n;
	ts_challenge *c = parse_ok("Bearer realm=\"a\\\\b\\\"c,d\", error=\"\", "
				   "scope=\"repository:x:pull\"",
				   &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(ts_challenge_param(&c[0], "realm"), "a\\b\"c,d");
	ck_assert_str_eq(ts_challenge_param(&c[0], "error"), "");
	ck_assert_str_eq(ts_challenge_param(&c[0], "scope"), "repository:x:pull");
	ts_challenges_free(c, n);
}
END_TEST

START_TEST(unquoted_url_leniency)
{
	size_t n;
	ts_challenge *c = parse_ok("Bearer realm=https://h:5001/token?x=1,service=reg", &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(ts_challenge_param(&c[0], "realm"), "https://h:5001/token?x=1");
	ck_assert_str_eq(ts_challenge_param(&c[0], "service"), "reg");
	ts_challenges_free(c, n);
}
END_TEST

START_TEST(malformed)
{
	ts_challenge *c = NULL;
	size_t n = 0;
	ts_error err = TS_ERROR_INIT;
	ck_assert_int_eq(ts_challenges_parse("Bearer realm=\"open", &c, &n, &err), TS_EREGISTRY);
	ck_assert_ptr_nonnull(strstr(err.msg, "unterminated"));
	ck_assert_int_eq(ts_challenges_parse("", &c, &n, &err), TS_EREGISTRY);
	ck_assert_int_eq(ts_challenges_parse("\"x\"", &c, &n, &err), TS_EREGISTRY);
	ck_assert_int_eq(ts_challenges_parse("Basic realm=a b=c", &c, &n, &err), TS_EREGISTRY);
	ck_assert_ptr_null(c);
}
END_TEST

/* ---- the state machine, no network ---- */

static void clear_env(void)
{
	const char *vars[] = { "TAGSEAL_USERNAME", "TAGSEAL_PASSWORD", "GITHUB_TOKEN",
			       "GITHUB_ACTOR", "CI_REGISTRY", "CI_REGISTRY_USER",
			       "CI_REGISTRY_PASSWORD", "CI_JOB_TOKEN" };
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	setenv("DOCKER_CONFIG", "/nonexistent-tagseal-test", 1);
}

START_TEST(basic_answer)
{
	ts_registry_opts o = TS_REGISTRY_OPTS_INIT;
	ts_error err = TS_ERROR_INIT;
	ts_auth *a;
	const char *v;

	clear_env();
	o.username = "alice";
	o.password = "open sesame";
	ck_assert_int_eq(ts_auth_new("reg.example.com", "team/app", &o, 1, &a, &err), TS_OK);
	ck_assert_int_eq(ts_auth_header(a, &v, &err), TS_OK);
	ck_assert_ptr_null(v);
	ck_assert_ptr_null(ts_auth_source(a));
	ck_assert_int_eq(ts_auth_challenge(a, "Basic realm=\"Registry Realm\"", &err), TS_OK);
	ck_assert_int_eq(ts_auth_header(a, &v, &err), TS_OK);
	ck_assert_str_eq(v, "Basic YWxpY2U6b3BlbiBzZXNhbWU=");
	ck_assert_str_eq(ts_auth_source(a), "--username/--password-stdin");
	/* a second 401 means the password was refused */
	ck_assert_int_eq(ts_auth_challenge(a, "Basic realm=\"Registry Realm\"", &err), TS_EREGISTRY);
	ck_assert_ptr_nonnull(strstr(err.msg, "authentication to reg.example.com failed: HTTP 401"));
	ck_assert_ptr_nonnull(strstr(err.msg, "--password-stdin"));
	ck_assert_ptr_null(strstr(err.msg, "open sesame"));
	ck_assert_ptr_null(strstr(err.msg, "YWxpY2U6"));
	ts_auth_free(a);
}
END_TEST

START_TEST(basic_refused_in_plain_http)
{
	ts_registry_opts o = TS_REGISTRY_OPTS_INIT;
	ts_error err = TS_ERROR_INIT;
	ts_auth *a;
	const char *v;

	clear_env();
	o.username = "alice";
	o.password = "pw";
	ck_assert_int_eq(ts_auth_new("reg.example.com", "app", &o, 0, &a, &err), TS_OK);
	ck_assert_int_eq(ts_auth_challenge(a, "Basic realm=x", &err), TS_EREGISTRY);
	ck_assert_ptr_nonnull(strstr(err.msg, "plain HTTP"));
	ck_assert_int_eq(ts_auth_header(a, &v, &err), TS_OK);
	ck_assert_ptr_null(v);
	ts_auth_free(a);
	/* loopback, or --plain-http, may */
	ck_assert_int_eq(ts_auth_new("127.0.0.1:5000", "app", &o, 0, &a, &err), TS_OK);
	ck_assert_int_eq(ts_auth_challenge(a, "Basic realm=x", &err), TS_OK);
	ts_auth_free(a);
	o.plain_http = true;
	ck_assert_int_eq(ts_auth_new("reg.example.com", "app", &o, 0, &a, &err), TS_OK);
	ck_assert_int_eq(ts_auth_challenge(a, "Basic realm=x", &err), TS_OK);
	ts_auth_free(a);
}
END_TEST

START_TEST(no_credentials)
{
	ts_error err = TS_ERROR_INIT;
	ts_auth *a;

	clear_env();
	ck_assert_int_eq(ts_auth_new("reg.example.com", "app", NULL, 1, &a, &err), TS_OK);
	ck_assert_int_eq(ts_auth_challenge(a, "Basic realm=x", &err), TS_EREGISTRY);
	ck_assert_ptr_nonnull(strstr(err.msg, "none were found"));
	ck_assert_ptr_nonnull(strstr(err.msg, "docker login reg.example.com"));
	ck_assert_int_eq(ts_auth_challenge(a, NULL, &err), TS_EREGISTRY);
	ck_assert_ptr_nonnull(strstr(err.msg, "without a WWW-Authenticate"));
	ck_assert_int_eq(ts_auth_challenge(a, "Negotiate", &err), TS_EREGISTRY);
	ck_assert_ptr_nonnull(strstr(err.msg, "'negotiate'"));
	ck_assert_int_eq(ts_auth_challenge(a, "Bearer service=x", &err), TS_EREGISTRY);
	ck_assert_ptr_nonnull(strstr(err.msg, "without a realm"));
	ck_assert_int_eq(ts_auth_challenge(a, "Bearer realm=\"x", &err), TS_EREGISTRY);
	ck_assert_ptr_nonnull(strstr(err.msg, "unreadable WWW-Authenticate"));
	ts_auth_free(a);
}
END_TEST

START_TEST(plain_http_realm_refused)
{
	ts_registry_opts o = TS_REGISTRY_OPTS_INIT;
	ts_error err = TS_ERROR_INIT;
	ts_auth *a;

	clear_env();
	o.username = "alice";
	o.password = "pw";
	ck_assert_int_eq(ts_auth_new("reg.example.com", "app", &o, 1, &a, &err), TS_OK);
	ck_assert_int_eq(ts_auth_challenge(a, "Bearer realm=\"http://auth.example.com/token\"", &err),
			 TS_EREGISTRY);
	ck_assert_ptr_nonnull(strstr(err.msg, "plain-HTTP auth.example.com"));
	ck_assert_int_eq(ts_auth_challenge(a, "Bearer realm=\"ftp://auth.example.com/token\"", &err),
			 TS_EREGISTRY);
	ts_auth_free(a);
}
END_TEST

START_TEST(identity_token_only_cannot_answer_basic)
{
	char dir[] = "/tmp/tagseal-auth-XXXXXX";
	char *cfg, *cmd;
	FILE *f;
	ts_error err = TS_ERROR_INIT;
	ts_auth *a;

	clear_env();
	ck_assert_ptr_nonnull(mkdtemp(dir));
	cfg = ts_asprintf("%s/config.json", dir);
	f = fopen(cfg, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\"auths\":{\"reg.example.com\":{\"identitytoken\":\"refresh-secret\"}}}", f);
	fclose(f);
	setenv("DOCKER_CONFIG", dir, 1);
	ck_assert_int_eq(ts_auth_new("reg.example.com", "app", NULL, 1, &a, &err), TS_OK);
	ck_assert_int_eq(ts_auth_challenge(a, "Basic realm=x", &err), TS_EREGISTRY);
	ck_assert_ptr_nonnull(strstr(err.msg, "only an identity token"));
	ck_assert_ptr_nonnull(strstr(err.msg, cfg));
	ck_assert_ptr_null(strstr(err.msg, "refresh-secret"));
	ts_auth_free(a);
	cmd = ts_asprintf("rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(cfg);
}
END_TEST

/* ---- the token mode (for tests/integration/test_auth.sh) ---- */

/* test_auth token HOST PATH CHALLENGE [--actions A] [--scope PATH:ACTIONS]...
 * [--username U --password-stdin] [--ca-file F]: answer one challenge with
 * ts_auth alone and say whether a header came out (never printing it). */
static int token_probe(int argc, char **argv)
{
	ts_registry_opts o = TS_REGISTRY_OPTS_INIT;
	ts_error err = TS_ERROR_INIT;
	ts_auth *a = NULL;
	char *password = NULL;
	const char *v = NULL;
	ts_code rc = TS_OK;

	for (int i = 5; i < argc && rc == TS_OK; i++) {
		if (!strcmp(argv[i], "--username") && i + 1 < argc)
			o.username = argv[++i];
		else if (!strcmp(argv[i], "--ca-file") && i + 1 < argc)
			o.ca_file = argv[++i];
		else if (!strcmp(argv[i], "--password-stdin") &&
			 (rc = ts_creds_read_password_stdin(&password, &err)) == TS_OK)
			o.password = password;
	}
	if (rc == TS_OK)
		rc = ts_auth_new(argv[2], argv[3], &o, 1, &a, &err);
	for (int i = 5; i < argc && rc == TS_OK; i++) {
		if (!strcmp(argv[i], "--actions") && i + 1 < argc)
			ts_auth_set_actions(a, argv[++i]);
		else if (!strcmp(argv[i], "--scope") && i + 1 < argc) {
			char *sp = ts_strdup(argv[++i]), *colon = strrchr(sp, ':');
			if (colon) {
				*colon = '\0';
				ts_auth_add_scope(a, sp, colon + 1);
			}
			free(sp);
		}
	}
	if (rc == TS_OK)
		rc = ts_auth_challenge(a, argv[4], &err);
	if (rc == TS_OK)
		rc = ts_auth_header(a, &v, &err);
	if (rc == TS_OK) {
		/* a scope added after the token: the next header fetches anew */
		ts_auth_add_scope(a, "late/added", "pull");
		rc = ts_auth_header(a, &v, &err);
	}
	if (rc != TS_OK)
		fprintf(stderr, "tagseal: error: %s\n", err.msg);
	else
		printf("token probe ok: %s header\n", v && !strncmp(v, "Bearer ", 7) ? "Bearer" : "no");
	ts_auth_free(a);
	ts_secret_free(password);
	return (int)rc;
}

int main(int argc, char **argv)
{
	Suite *s;
	TCase *tc, *tm;

	if (argc >= 5 && strcmp(argv[1], "token") == 0)
		return token_probe(argc, argv);
	s = suite_create("auth");
	tc = tcase_create("wwwauth");
	tm = tcase_create("machine");
	tcase_add_test(tc, bearer_docker_hub);
	tcase_add_test(tc, several_challenges);
	tcase_add_test(tc, token68_and_bare_schemes);
	tcase_add_test(tc, escapes_and_empty_quoted);
	tcase_add_test(tc, unquoted_url_leniency);
	tcase_add_test(tc, malformed);
	tcase_add_test(tm, basic_answer);
	tcase_add_test(tm, basic_refused_in_plain_http);
	tcase_add_test(tm, no_credentials);
	tcase_add_test(tm, plain_http_realm_refused);
	tcase_add_test(tm, identity_token_only_cannot_answer_basic);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tm);
	return ts_check_run(s);
}
