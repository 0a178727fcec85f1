/*
 * test_creds.c - where credentials come from: Docker config (auths,
 * identitytoken, credHelpers, credsStore with a real docker-credential-*
 * executable on PATH), the TAGSEAL_* variables, CI defaults, precedence,
 * and --password-stdin reading. Also: helper names that could name a path
 * are refused before anything runs; a helper that never answers, or
 * answers without end, is stopped at its deadline and reaped; flag and
 * environment credentials go only to the registry named by cred_host.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
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
	ck_assert_int_eq(ts_creds_from_docker_config("reg.example.com", 0, &c, &err), TS_OK);
	ck_assert_str_eq(c.username, "alice");
	ck_assert_str_eq(c.password, "pa:ss");
	ck_assert_ptr_null(c.identity_token);
	ck_assert_ptr_nonnull(strstr(c.source, "(auths)"));
	ck_assert_int_eq(ts_creds_from_docker_config("127.0.0.1:5000", 0, &c, &err), TS_OK);
	ck_assert_str_eq(c.username, "alice");
	ck_assert_int_eq(ts_creds_from_docker_config("old.example.com", 0, &c, &err), TS_OK);
	ck_assert_str_eq(c.username, "bob");
	ck_assert_str_eq(c.password, "pw");
	ck_assert_int_eq(ts_creds_from_docker_config("other.example.com", 0, &c, &err), TS_OK);
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
	ck_assert_int_eq(ts_creds_from_docker_config("docker.io", 0, &c, &err), TS_OK);
	ck_assert_str_eq(c.username, "alice");
	ck_assert_int_eq(ts_creds_from_docker_config("acr.example.com", 0, &c, &err), TS_OK);
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
	ck_assert_int_eq(ts_creds_from_docker_config("ghcr.io", 0, &c, &err), TS_OK);
	ck_assert_str_eq(c.username, "helperuser");
	ck_assert_str_eq(c.password, "helpersecret");
	ck_assert_ptr_nonnull(strstr(c.source, "docker-credential-fake"));
	/* credsStore answers for Docker Hub with an identity token */
	ck_assert_int_eq(ts_creds_from_docker_config("docker.io", 0, &c, &err), TS_OK);
	ck_assert_ptr_null(c.username);
	ck_assert_str_eq(c.identity_token, "hubrefresh");
	/* the store has nothing: auths is used */
	ck_assert_int_eq(ts_creds_from_docker_config("reg.example.com", 0, &c, &err), TS_OK);
	ck_assert_str_eq(c.username, "alice");
	/* not found anywhere: anonymous */
	ck_assert_int_eq(ts_creds_from_docker_config("nothing.example.com", 0, &c, &err), TS_OK);
	ck_assert(!ts_creds_found(&c));
	/* a failing helper is an error that leaks nothing it printed */
	ck_assert_int_eq(ts_creds_from_docker_config("broken.example.com", 0, &c, &err), TS_EREGISTRY);
	ck_assert_ptr_nonnull(strstr(err.msg, "docker-credential-fake"));
	ck_assert_ptr_null(strstr(err.msg, "helpersecret"));
	ck_assert_int_eq(ts_creds_from_docker_config("missing.example.com", 0, &c, &err),
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
	ck_assert_int_eq(ts_creds_from_docker_config("x", 0, &c, &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "config.json"));
	ck_assert_ptr_null(strstr(err.msg, "c2VjcmV0"));
	write_file("config.json", "{\"auths\":{\"x\":{\"auth\":\"!!!notbase64\"}}}", 0600);
	ck_assert_int_eq(ts_creds_from_docker_config("x", 0, &c, &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "base64"));
	write_file("config.json", "{\"auths\":{\"x\":{\"auth\":\"bm9jb2xvbg==\"}}}", 0600);
	ck_assert_int_eq(ts_creds_from_docker_config("x", 0, &c, &err), TS_EUSAGE);
	ck_assert_ptr_null(strstr(err.msg, "nocolon"));
	/* no config at all is fine */
	setenv("DOCKER_CONFIG", "/nonexistent-tagseal", 1);
	ck_assert_int_eq(ts_creds_from_docker_config("x", 0, &c, &err), TS_OK);
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

/* "credsStore": "x/../evil.sh" with a directory docker-credential-x in the
 * working directory would run ./evil.sh: refused, naming file and field. */
START_TEST(helper_name_refused)
{
	static const char *bad[] = { "x/../evil.sh", "..", ".", "Evil", "a b", "/bin/sh" };
	ts_creds c = TS_CREDS_INIT;
	ts_error err = TS_ERROR_INIT;
	char *marker = ts_asprintf("%s/evil-ran", tmpdir);
	char *script = ts_asprintf("#!/bin/sh\ntouch '%s'\n", marker);
	char *dir = ts_asprintf("%s/docker-credential-x", tmpdir);

	ck_assert_int_eq(mkdir(dir, 0755), 0);
	write_file("evil.sh", script, 0755);
	ck_assert_int_eq(chdir(tmpdir), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *cfg = ts_asprintf("{\"credsStore\":\"%s\"}", bad[i]);
		write_file("config.json", cfg, 0600);
		ck_assert_int_eq(ts_creds_from_docker_config("reg.example.com", 0, &c, &err),
				 TS_EUSAGE);
		ck_assert_ptr_nonnull(strstr(err.msg, "config.json"));
		ck_assert_ptr_nonnull(strstr(err.msg, "credsStore"));
		ck_assert_ptr_null(strchr(err.msg, '\n'));
		free(cfg);
		cfg = ts_asprintf("{\"credHelpers\":{\"reg.example.com\":\"%s\"}}", bad[i]);
		write_file("config.json", cfg, 0600);
		ck_assert_int_eq(ts_creds_from_docker_config("reg.example.com", 0, &c, &err),
				 TS_EUSAGE);
		ck_assert_ptr_nonnull(strstr(err.msg, "credHelpers[\"reg.example.com\"]"));
		free(cfg);
	}
	ck_assert_int_ne(access(marker, F_OK), 0);
	/* the direct call refuses too */
	ck_assert_int_eq(ts_creds_from_helper("x/../evil.sh", "h", 0, &c, &err), TS_EUSAGE);
	ck_assert_int_ne(access(marker, F_OK), 0);
	/* names Docker's own helpers use are fine */
	ck_assert(ts_creds_helper_name_valid("desktop.exe"));
	ck_assert(ts_creds_helper_name_valid("ecr-login"));
	ck_assert(ts_creds_helper_name_valid("gcloud_2"));
	ck_assert(!ts_creds_helper_name_valid(""));
	free(marker);
	free(script);
	free(dir);
}
END_TEST

static double elapsed_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* A helper that never answers, one that closes its output and lingers,
 * and one that answers without end: each stopped within its deadline,
 * reaped (no child left), one line naming the helper and the timeout. */
START_TEST(helper_deadline_and_size)
{
	static const char *names[] = { "sleeper", "linger", "chatter" };
	ts_creds c = TS_CREDS_INIT;
	ts_error err = TS_ERROR_INIT;
	struct timespec t0;
	int status;

	write_file("docker-credential-sleeper", "#!/bin/sh\nexec sleep 60\n", 0755);
	write_file("docker-credential-linger", "#!/bin/sh\nexec >&- 0<&-\nexec sleep 60\n", 0755);
	write_file("docker-credential-chatter", "#!/bin/sh\nexec yes '{\"Username\":\"x\"}'\n", 0755);
	for (size_t i = 0; i < 3; i++) {
		char *cfg = ts_asprintf("{\"credsStore\":\"%s\"}", names[i]);
		char *prog = ts_asprintf("docker-credential-%s", names[i]);
		write_file("config.json", cfg, 0600);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		ck_assert_int_eq(ts_creds_from_docker_config("reg.example.com", 1, &c, &err),
				 TS_EREGISTRY);
		ck_assert_int_eq(err.cause, TS_C_LIMIT);
		ck_assert_msg(elapsed_since(&t0) < 5.0, "%s took %.1f s", names[i],
			      elapsed_since(&t0));
		ck_assert_ptr_nonnull(strstr(err.msg, prog));
		if (i < 2)
			ck_assert_ptr_nonnull(strstr(err.msg, "within 1 s"));
		else
			ck_assert_ptr_nonnull(strstr(err.msg, "more than"));
		ck_assert(!ts_creds_found(&c));
		/* no zombie: every child was reaped */
		errno = 0;
		ck_assert_int_eq(waitpid(-1, &status, WNOHANG), -1);
		ck_assert_int_eq(errno, ECHILD);
		free(cfg);
		free(prog);
	}
	/* through ts_creds_lookup, the deadline is the registry options' timeout */
	{
		ts_registry_opts o = TS_REGISTRY_OPTS_INIT;
		o.timeout_s = 1;
		write_file("config.json", "{\"credsStore\":\"sleeper\"}", 0600);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		ck_assert_int_eq(ts_creds_lookup("reg.example.com", &o, &c, &err), TS_EREGISTRY);
		ck_assert(elapsed_since(&t0) < 5.0);
		ck_assert_ptr_nonnull(strstr(err.msg, "within 1 s"));
	}
	ts_creds_free(&c);
}
END_TEST

/* Flag and environment credentials belong to cred_host alone; other hosts
 * get their own Docker config entry. */
START_TEST(cred_host_binds_explicit_credentials)
{
	ts_registry_opts o = TS_REGISTRY_OPTS_INIT;
	ts_creds c = TS_CREDS_INIT;
	ts_error err = TS_ERROR_INIT;

	write_file("config.json", "{\"auths\":{\"other.example.com\":{\"auth\":\"" ALICE_AUTH "\"}}}",
		   0600);
	setenv("TAGSEAL_USERNAME", "envuser", 1);
	setenv("TAGSEAL_PASSWORD", "envpass", 1);
	ck_assert(ts_creds_explicit(&o));
	o.cred_host = "reg.example.com";
	ck_assert_int_eq(ts_creds_lookup("reg.example.com", &o, &c, &err), TS_OK);
	ck_assert_str_eq(c.username, "envuser");
	ck_assert_int_eq(ts_creds_lookup("REG.example.com", &o, &c, &err), TS_OK);
	ck_assert_str_eq(c.username, "envuser");
	/* another host: its own Docker config entry, or nothing */
	ck_assert_int_eq(ts_creds_lookup("other.example.com", &o, &c, &err), TS_OK);
	ck_assert_str_eq(c.username, "alice");
	ck_assert_int_eq(ts_creds_lookup("evil.example.com", &o, &c, &err), TS_OK);
	ck_assert(!ts_creds_found(&c));
	ck_assert_int_eq(ts_creds_lookup("reg.example.com:5000", &o, &c, &err), TS_OK);
	ck_assert(!ts_creds_found(&c));
	/* the command line the same */
	o.username = "cliuser";
	o.password = "clipass";
	ck_assert_int_eq(ts_creds_lookup("reg.example.com", &o, &c, &err), TS_OK);
	ck_assert_str_eq(c.username, "cliuser");
	ck_assert_int_eq(ts_creds_lookup("evil.example.com", &o, &c, &err), TS_OK);
	ck_assert(!ts_creds_found(&c));
	/* Docker Hub's three names are one registry */
	o.cred_host = "docker.io";
	ck_assert_int_eq(ts_creds_lookup("index.docker.io", &o, &c, &err), TS_OK);
	ck_assert_str_eq(c.username, "cliuser");
	ck_assert_int_eq(ts_creds_lookup("registry-1.docker.io", &o, &c, &err), TS_OK);
	ck_assert_str_eq(c.username, "cliuser");
	ck_assert(ts_creds_same_registry("index.docker.io", "docker.io"));
	ck_assert(!ts_creds_same_registry("docker.io", "docker.io.evil.example.com"));
	/* without cred_host (push, tag: one registry) they go to the host opened */
	o.cred_host = NULL;
	ck_assert_int_eq(ts_creds_lookup("evil.example.com", &o, &c, &err), TS_OK);
	ck_assert_str_eq(c.username, "cliuser");
	/* a half-set pair is an error whatever the host */
	o.password = NULL;
	o.cred_host = "reg.example.com";
	ck_assert_int_eq(ts_creds_lookup("evil.example.com", &o, &c, &err), TS_EUSAGE);
	ts_creds_free(&c);
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
	tcase_add_test(tc, helper_name_refused);
	tcase_add_test(tc, helper_deadline_and_size);
	tcase_add_test(tc, cred_host_binds_explicit_credentials);
	suite_add_tcase(s, tc);
	return ts_check_run(s);
}
