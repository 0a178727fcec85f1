/*
 * test_creds.c - where credentials come from: Docker config (auths,
 * identitytoken, credHelpers, credsStore with a real docker-credential-*
 * executable on PATH), the TAGSEAL_* variables, CI defaults, precedence,
 * and --password-stdin reading.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_run.h"
#include "tagseal/creds.h"

static char tmpdir[64];

static void write_file(const char *name, const char *text, mode_t mode)
{
	char *p = ts_asprintf("%s/%s", tmpdir, name);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	chmod(p, mode);
	free(p);
}

/* A real credential helper speaking the docker-credential protocol. */
static const char *helper_script =
	"#!/bin/sh\n"
	"[ \"$1\" = get ] || exit 3\n"
	"server=$(cat)\n"
	"case \"$server\" in\n"
	"ghcr.io) echo '{\"ServerURL\":\"ghcr.io\",\"Username\":\"helperuser\",\"Secret\":\"helpersecret\"}';;\n"
	"https://index.docker.io/v1/) echo '{\"Username\":\"<token>\",\"Secret\":\"hubrefresh\"}';;\n"
	"broken.example.com) echo 'boom helpersecret' >&2; exit 2;;\n"
	"*) echo 'credentials not found in native keychain'; exit 1;;\n"
	"esac\n";

static void setup(void)
{
	const char *vars[] = { "TAGSEAL_USERNAME", "TAGSEAL_PASSWORD", "GITHUB_TOKEN",
			       "GITHUB_ACTOR", "CI_REGISTRY", "CI_REGISTRY_USER",
			       "CI_REGISTRY_PASSWORD", "CI_JOB_TOKEN" };
	char *path;
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tagseal-creds-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	setenv("DOCKER_CONFIG", tmpdir, 1);
	write_file("docker-credential-fake", helper_script, 0755);
	path = ts_asprintf("%s:%s", tmpdir, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	setenv("PATH", path, 1);
	free(path);
}

static void teardown(void)
{
	char *cmd = ts_asprintf("rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

/* base64("alice:pa:ss") */
#define ALICE_AUTH "YWxpY2U6cGE6c3M="

START_TEST(auths_with_and_without_scheme)
{
	ts_creds c = TS_CREDS_INIT;
	ts_error err = TS_ERROR_INIT;
	write_file("config.json",
		   "{\"auths\":{\"https://reg.example.com\":{\"auth\":\"" ALICE_AUTH "\"},"
		   "\"127.0.0.1:5000\":{\"auth\":\"" ALICE_AUTH "\"},"
		   "\"http://old.example.com/v1/\":{\"username\":\"bob\",\"password\":\"pw\"}}}",
		   0600);
	ck_assert_int_eq(ts_creds_from_docker_config("reg.example.com", &c, &err), TS_OK);
	ck_assert_str_eq(c.username, "alice");
	ck_assert_str_eq(c.password, "pa:ss");
	ck_assert_ptr_null(c.identity_token);
	ck_assert_ptr_nonnull(strstr(c.source, "(auths)"));
	ck_assert_int_eq(ts_creds_from_docker_config("127.0.0.1:5000", &c, &err), TS_OK);
	ck_assert_str_eq(c.username, "alice");
	ck_assert_int_eq(ts_creds_from_docker_config("old.example.com", &c, &err), TS_OK);
	ck_assert_str_eq(c.username, "bob");
	ck_assert_str_eq(c.password, "pw");
	ck_assert_int_eq(ts_creds_from_docker_config("other.example.com", &c, &err), TS_OK);
	ck_assert(!ts_creds_found(&c));
	ts_creds_free(&c);
}
END_TEST

START_TEST(docker_hub_key_and_identity_token)
{
	ts_creds c = TS_CREDS_INIT;
	ts_error err = TS_ERROR_INIT;
	write_file("config.json",
		   "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"" ALICE_AUTH "\"},"
		   "\"acr.example.com\":{\"auth\":\"MDAwMDowMDAw\",\"identitytoken\":\"refresh-xyz\"}}}",
		   0600);
	ck_assert_int_eq(ts_creds_from_docker_config("docker.io", &c, &err), TS_OK);
	ck_assert_str_eq(c.username, "alice");
	ck_assert_int_eq(ts_creds_from_docker_config("acr.example.com", &c, &err), TS_OK);
	ck_assert_str_eq(c.username, "0000");
	ck_assert_ptr_null(c.password);
	ck_assert_str_eq(c.identity_token, "refresh-xyz");
	ts_creds_free(&c);
}
END_TEST

START_TEST(cred_helpers_and_store)
{
	ts_creds c = TS_CREDS_INIT;
	ts_error err = TS_ERROR_INIT;
	write_file("config.json",
		   "{\"auths\":{\"ghcr.io\":{\"auth\":\"" ALICE_AUTH "\"},"
		   "\"reg.example.com\":{\"auth\":\"" ALICE_AUTH "\"}},"
		   "\"credHelpers\":{\"ghcr.io\":\"fake\",\"broken.example.com\":\"fake\","
		   "\"missing.example.com\":\"nosuchhelper\"},"
		   "\"credsStore\":\"fake\"}",
		   0600);
	/* credHelpers wins over auths */
	ck_assert_int_eq(ts_creds_from_docker_config("ghcr.io", &c, &err), TS_OK);
	ck_assert_str_eq(c.username, "helperuser");
	ck_assert_str_eq(c.password, "helpersecret");
	ck_assert_ptr_nonnull(strstr(c.source, "docker-credential-fake"));
	/* credsStore answers for Docker Hub with an identity token */
	ck_assert_int_eq(ts_creds_from_docker_config("docker.io", &c, &err), TS_OK);
	ck_assert_ptr_null(c.username);
	ck_assert_str_eq(c.identity_token, "hubrefresh");
	/* the store has nothing: auths is used */
	ck_assert_int_eq(ts_creds_from_docker_config("reg.example.com", &c, &err), TS_OK);
	ck_assert_str_eq(c.username, "alice");
	/* not found anywhere: anonymous */
	ck_assert_int_eq(ts_creds_from_docker_config("nothing.example.com", &c, &err), TS_OK);
	ck_assert(!ts_creds_found(&c));
	/* a failing helper is an error that leaks nothing it printed */
	ck_assert_int_eq(ts_creds_from_docker_config("broken.example.com", &c, &err), TS_EREGISTRY);
	ck_assert_ptr_nonnull(strstr(err.msg, "docker-credential-fake"));
	ck_assert_ptr_null(strstr(err.msg, "helpersecret"));
	ck_assert_int_eq(ts_creds_from_docker_config("missing.example.com", &c, &err),
			 TS_EREGISTRY);
	ck_assert_ptr_nonnull(strstr(err.msg, "docker-credential-nosuchhelper"));
	ts_creds_free(&c);
}
END_TEST

START_TEST(bad_config)
{
	ts_creds c = TS_CREDS_INIT;
	ts_error err = TS_ERROR_INIT;
	write_file("config.json", "{\"auths\":{\"x\":{\"auth\":\"c2VjcmV0OnB3\"}, oops}", 0600);
	ck_assert_int_eq(ts_creds_from_docker_config("x", &c, &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "config.json"));
	ck_assert_ptr_null(strstr(err.msg, "c2VjcmV0"));
	write_file("config.json", "{\"auths\":{\"x\":{\"auth\":\"!!!notbase64\"}}}", 0600);
	ck_assert_int_eq(ts_creds_from_docker_config("x", &c, &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "base64"));
	write_file("config.json", "{\"auths\":{\"x\":{\"auth\":\"bm9jb2xvbg==\"}}}", 0600);
	ck_assert_int_eq(ts_creds_from_docker_config("x", &c, &err), TS_EUSAGE);
	ck_assert_ptr_null(strstr(err.msg, "nocolon"));
	/* no config at all is fine */
	setenv("DOCKER_CONFIG", "/nonexistent-tagseal", 1);
	ck_assert_int_eq(ts_creds_from_docker_config("x", &c, &err), TS_OK);
	ck_assert(!ts_creds_found(&c));
}
END_TEST

START_TEST(precedence)
{
	ts_registry_opts o = TS_REGISTRY_OPTS_INIT;
	ts_creds c = TS_CREDS_INIT;
	ts_error err = TS_ERROR_INIT;

	write_file("config.json", "{\"auths\":{\"ghcr.io\":{\"auth\":\"" ALICE_AUTH "\"},"
				  "\"gitlab.example.com:5050\":{\"auth\":\"" ALICE_AUTH "\"}}}",
		   0600);
	ck_assert_int_eq(ts_creds_lookup("ghcr.io", &o, &c, &err), TS_OK);
	ck_assert_str_eq(c.username, "alice");
	/* GitHub Actions default for ghcr.io only */
	setenv("GITHUB_TOKEN", "ghs_token", 1);
	setenv("GITHUB_ACTOR", "octocat", 1);
	ck_assert_int_eq(ts_creds_lookup("ghcr.io", &o, &c, &err), TS_OK);
	ck_assert_str_eq(c.username, "octocat");
	ck_assert_str_eq(c.password, "ghs_token");
	ck_assert_int_eq(ts_creds_lookup("quay.io", &o, &c, &err), TS_OK);
	ck_assert(!ts_creds_found(&c));
	/* GitLab CI default for CI_REGISTRY only */
	setenv("CI_REGISTRY", "gitlab.example.com:5050", 1);
	setenv("CI_JOB_TOKEN", "jobtok", 1);
	ck_assert_int_eq(ts_creds_lookup("gitlab.example.com:5050", &o, &c, &err), TS_OK);
	ck_assert_str_eq(c.username, "gitlab-ci-token");
	ck_assert_str_eq(c.password, "jobtok");
	setenv("CI_REGISTRY_USER", "gl-user", 1);
	setenv("CI_REGISTRY_PASSWORD", "gl-pass", 1);
	ck_assert_int_eq(ts_creds_lookup("gitlab.example.com:5050", &o, &c, &err), TS_OK);
	ck_assert_str_eq(c.username, "gl-user");
	ck_assert_str_eq(c.password, "gl-pass");
	/* TAGSEAL_* beat CI defaults, for every host */
	setenv("TAGSEAL_USERNAME", "envuser", 1);
	setenv("TAGSEAL_PASSWORD", "envpass", 1);
	ck_assert_int_eq(ts_creds_lookup("ghcr.io", &o, &c, &err), TS_OK);
	ck_assert_str_eq(c.username, "envuser");
	ck_assert_str_eq(c.source, "TAGSEAL_USERNAME/TAGSEAL_PASSWORD");
	/* the command line beats everything */
	o.username = "cliuser";
	o.password = "clipass";
	ck_assert_int_eq(ts_creds_lookup("ghcr.io", &o, &c, &err), TS_OK);
	ck_assert_str_eq(c.username, "cliuser");
	ck_assert_str_eq(c.password, "clipass");
	/* half-set pairs are usage errors */
	o.password = NULL;
	ck_assert_int_eq(ts_creds_lookup("ghcr.io", &o, &c, &err), TS_EUSAGE);
	o.username = NULL;
	unsetenv("TAGSEAL_PASSWORD");
	ck_assert_int_eq(ts_creds_lookup("ghcr.io", &o, &c, &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "TAGSEAL_PASSWORD"));
	ts_creds_free(&c);
}
END_TEST

static char *read_pw(const char *input, ts_code want)
{
	int fds[2];
	char *pw = NULL;
	ts_error err = TS_ERROR_INIT;
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(write(fds[1], input, strlen(input)), (ssize_t)strlen(input));
	close(fds[1]);
	ck_assert_int_eq(ts_creds_read_password_fd(fds[0], &pw, &err), want);
	close(fds[0]);
	return pw;
}

START_TEST(password_stdin)
{
	char *pw;
	pw = read_pw("s3cret\n", TS_OK);
	ck_assert_str_eq(pw, "s3cret");
	ts_secret_free(pw);
	pw = read_pw("s3cret\r\n", TS_OK);
	ck_assert_str_eq(pw, "s3cret");
	ts_secret_free(pw);
	pw = read_pw(" with spaces \n\n", TS_OK);
	ck_assert_str_eq(pw, " with spaces \n");
	ts_secret_free(pw);
	ck_assert_ptr_null(read_pw("", TS_EUSAGE));
	ck_assert_ptr_null(read_pw("\n", TS_EUSAGE));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("creds");
	TCase *tc = tcase_create("creds");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, auths_with_and_without_scheme);
	tcase_add_test(tc, docker_hub_key_and_identity_token);
	tcase_add_test(tc, cred_helpers_and_store);
	tcase_add_test(tc, bad_config);
	tcase_add_test(tc, precedence);
	tcase_add_test(tc, password_stdin);
	suite_add_tcase(s, tc);
	return ts_check_run(s);
}
