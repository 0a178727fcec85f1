/*
 * creds.c - where registry credentials come from: the command line, the
 * TAGSEAL_* variables, CI defaults (GitHub Actions, GitLab CI) and the Docker
 * config with its credential helpers (run with a deadline and an answer
 * bound, names checked first). Precedence, and the one registry flag and
 * environment credentials belong to (cred_host), are in creds.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tagseal/buf.h"
#include "tagseal/creds.h"
#include "tagseal/fsutil.h"

extern char **environ;

#define HUB_KEY "https://index.docker.io/v1/"
#define MAX_CONFIG (4u << 20)
#define MAX_HELPER_OUT (256u << 10) /* a 64 KiB secret, JSON-escaped, fits */
#define DEFAULT_TIMEOUT_S 60
#define MAX_PASSWORD (64u << 10)

void ts_secret_free(char *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

void ts_creds_free(ts_creds *c)
{
	if (!c)
		return;
	free(c->username);
	ts_secret_free(c->password);
	ts_secret_free(c->identity_token);
	free(c->source);
	*c = (ts_creds)TS_CREDS_INIT;
}

static void creds_set(ts_creds *c, const char *user, const char *pass, const char *idtok,
		      char *source)
{
	ts_creds_free(c);
	c->username = user && *user ? ts_strdup(user) : NULL;
	c->password = pass ? ts_strdup(pass) : NULL;
	c->identity_token = idtok && *idtok ? ts_strdup(idtok) : NULL;
	c->source = source;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static int is_hub(const char *host)
{
	return strcmp(host, "docker.io") == 0 || strcmp(host, "index.docker.io") == 0 ||
	       strcmp(host, "registry-1.docker.io") == 0;
}

/* "https://host/v1/" -> "host" (Docker's ConvertToHostname); caller frees. */
static char *key_host(const char *key)
{
	const char *p = key;
	if (strncmp(p, "https://", 8) == 0)
		p += 8;
	else if (strncmp(p, "http://", 7) == 0)
		p += 7;
	return ts_strndup(p, strcspn(p, "/"));
}

static int key_matches(const char *key, const char *host)
{
	char *kh = key_host(key);
	int m = strcmp(kh, host) == 0 || (is_hub(host) && is_hub(kh));
	free(kh);
	return m;
}

/* ---- reading a password from a file descriptor ---- */

ts_code ts_creds_read_password_fd(int fd, char **password, ts_error *err)
{
	ts_buf b = TS_BUF_SECRET_INIT;
	char chunk[4096];

	*password = NULL;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ts_error_set(err, TS_EUSAGE, "--password-stdin: cannot read standard input: %s",
				     strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > MAX_PASSWORD) {
			ts_error_set(err, TS_EUSAGE,
				     "--password-stdin: standard input is larger than %u bytes",
				     MAX_PASSWORD);
			goto fail;
		}
		ts_buf_put(&b, chunk, (size_t)n);
	}
	OPENSSL_cleanse(chunk, sizeof(chunk));
	if (b.len && b.ptr[b.len - 1] == '\n')
		b.ptr[--b.len] = '\0';
	if (b.len && b.ptr[b.len - 1] == '\r')
		b.ptr[--b.len] = '\0';
	if (b.len == 0 || memchr(b.ptr, '\0', b.len)) {
		ts_error_set(err, TS_EUSAGE, b.len ? "--password-stdin: the password contains a NUL byte"
						   : "--password-stdin: no password on standard input");
		goto fail;
	}
	*password = ts_buf_detach(&b);
	return TS_OK;
fail:
	OPENSSL_cleanse(chunk, sizeof(chunk));
	if (b.ptr)
		OPENSSL_cleanse(b.ptr, b.cap);
	ts_buf_free(&b);
	return err ? err->code : TS_EUSAGE;
}

ts_code ts_creds_read_password_stdin(char **password, ts_error *err)
{
	return ts_creds_read_password_fd(STDIN_FILENO, password, err);
}

/* ---- the credential-helper protocol ---- */

typedef struct helper_run {
	int in[2], out[2];
	pid_t pid;
} helper_run;

bool ts_creds_helper_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > 128 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

static int helper_spawn(const char *prog, helper_run *h)
{
	posix_spawn_file_actions_t fa;
	char *argv[3];
	int rc;

	h->in[0] = h->in[1] = h->out[0] = h->out[1] = -1;
	if (pipe2(h->in, O_CLOEXEC) != 0)
		return errno;
	if (pipe2(h->out, O_CLOEXEC) != 0) {
		rc = errno;
		close(h->in[0]);
		close(h->in[1]);
		h->in[0] = h->in[1] = -1;
		return rc;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, h->in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, h->out[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	argv[0] = (char *)prog;
	argv[1] = (char *)"get";
	argv[2] = NULL;
	rc = posix_spawnp(&h->pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(h->in[0]);
	close(h->out[1]);
	h->in[0] = h->out[1] = -1;
	return rc;
}

/* Write the server URL with SIGPIPE blocked, so a helper that exits
 * without reading cannot kill us. The URL is far below a pipe's buffer,
 * so the write does not wait for the helper. */
static void helper_write(int fd, const char *s)
{
	sigset_t pipe_set, old;
	struct timespec zero = { 0, 0 };
	size_t len = strlen(s);

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	while (len) {
		ssize_t n = write(fd, s, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno == EPIPE)
				sigtimedwait(&pipe_set, NULL, &zero);
			break;
		}
		s += n;
		len -= (size_t)n;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum { RUN_DONE, RUN_TIMEOUT, RUN_TOO_BIG };

/* Read the helper's answer until it closes its output, the deadline
 * passes (RUN_TIMEOUT) or it says more than MAX_HELPER_OUT (RUN_TOO_BIG). */
static int helper_read(int fd, int64_t deadline, ts_buf *out)
{
	char chunk[4096];
	int res = RUN_DONE;

	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		int64_t left = deadline - now_ms();
		ssize_t n;
		int pr;

		if (left <= 0) {
			res = RUN_TIMEOUT;
			break;
		}
		pr = poll(&pfd, 1, left > 1000 ? 1000 : (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			break;
		if (pr == 0)
			continue;
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		if (out->len + (size_t)n > MAX_HELPER_OUT) {
			res = RUN_TOO_BIG;
			break;
		}
		ts_buf_put(out, chunk, (size_t)n);
	}
	OPENSSL_cleanse(chunk, sizeof(chunk));
	return res;
}

/* Wait for the helper to exit until the deadline; past it (or when
 * `kill_now`), kill it. Always reaps it: no zombie is left. Returns the
 * exit status (128 + signal when killed by a signal), or -1 with *timed_out
 * set when it had to be killed for the deadline. */
static int helper_wait(pid_t pid, int64_t deadline, bool kill_now, bool *timed_out)
{
	int status;
	pid_t w;

	*timed_out = false;
	while (!kill_now) {
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (w < 0 && errno != EINTR)
			return -1;
		if (now_ms() >= deadline) {
			*timed_out = true;
			break;
		}
		struct timespec pause = { 0, 20 * 1000000 };
		nanosleep(&pause, NULL);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			break;
	return -1;
}

static ts_code helper_parse(const char *prog, const char *server, const ts_buf *out,
			    ts_creds *c, ts_error *err)
{
	json_error_t jerr;
	json_t *root = json_loadb(ts_buf_cstr(out), out->len, 0, &jerr);
	const char *user, *secret;

	if (!json_is_object(root)) {
		json_decref(root);
		return ts_error_set(err, TS_EREGISTRY,
				    "credential helper %s answered something that is not JSON for %s",
				    prog, server);
	}
	user = json_string_value(json_object_get(root, "Username"));
	secret = json_string_value(json_object_get(root, "Secret"));
	if (user && strcmp(user, "<token>") == 0)
		creds_set(c, NULL, NULL, secret, ts_asprintf("credential helper %s", prog));
	else if (user && *user)
		creds_set(c, user, secret ? secret : "", NULL,
			  ts_asprintf("credential helper %s", prog));
	json_decref(root);
	return TS_OK;
}

ts_code ts_creds_from_helper(const char *name, const char *server, long timeout_s, ts_creds *c,
			     ts_error *err)
{
	char *prog;
	ts_buf out = TS_BUF_SECRET_INIT;
	helper_run h;
	ts_code rc = TS_OK;
	int64_t deadline;
	bool timed_out;
	int st, res;

	ts_creds_free(c);
	if (!ts_creds_helper_name_valid(name))
		return ts_error_setc(err, TS_C_USAGE,
				     "credential helper name '%s' refused: only [a-z0-9._-] are allowed",
				     name ? name : "");
	if (timeout_s <= 0)
		timeout_s = DEFAULT_TIMEOUT_S;
	prog = ts_asprintf("docker-credential-%s", name);
	deadline = now_ms() + (int64_t)timeout_s * 1000;
	st = helper_spawn(prog, &h);
	if (st != 0) {
		rc = ts_error_set(err, TS_EREGISTRY,
				  "credential helper %s (named in the Docker config) cannot be run: %s",
				  prog, strerror(st));
		if (h.in[1] >= 0)
			close(h.in[1]);
		if (h.out[0] >= 0)
			close(h.out[0]);
		goto done;
	}
	helper_write(h.in[1], server);
	close(h.in[1]);
	res = helper_read(h.out[0], deadline, &out);
	close(h.out[0]);
	st = helper_wait(h.pid, deadline, res != RUN_DONE, &timed_out);
	if (res == RUN_TIMEOUT || timed_out)
		rc = ts_error_setc(err, TS_C_LIMIT,
				   "credential helper %s gave no answer for %s within %ld s "
				   "(--timeout); it was stopped",
				   prog, server, timeout_s);
	else if (res == RUN_TOO_BIG)
		rc = ts_error_setc(err, TS_C_LIMIT,
				   "credential helper %s answered more than %u bytes for %s; "
				   "it was stopped",
				   prog, MAX_HELPER_OUT, server);
	else if (st == 0)
		rc = helper_parse(prog, server, &out, c, err);
	else if (!strstr(ts_buf_cstr(&out), "credentials not found"))
		rc = ts_error_set(err, TS_EREGISTRY,
				  "credential helper %s failed for %s (exit status %d); "
				  "try 'docker login %s' again",
				  prog, server, st, server);
done:
	if (out.ptr)
		OPENSSL_cleanse(out.ptr, out.cap);
	ts_buf_free(&out);
	free(prog);
	return rc;
}

/* ---- the Docker config ---- */

static char *docker_config_path(void)
{
	const char *dir = env("DOCKER_CONFIG");
	const char *home = env("HOME");
	if (dir)
		return ts_asprintf("%s/config.json", dir);
	if (!home) {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : NULL;
	}
	return home ? ts_asprintf("%s/.docker/config.json", home) : NULL;
}

/* The value in object `obj` whose key matches host: the exact key first. */
static json_t *lookup_host(json_t *obj, const char *host)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return NULL;
	if ((v = json_object_get(obj, host)))
		return v;
	if (is_hub(host) && (v = json_object_get(obj, HUB_KEY)))
		return v;
	json_object_foreach(obj, key, v)
		if (key_matches(key, host))
			return v;
	return NULL;
}

/* Decode "auth" (base64 of user:pass). */
static ts_code decode_auth(const char *b64, const char *path, const char *host, char **user,
			   char **pass, ts_error *err)
{
	size_t len = strlen(b64), pad = 0;
	unsigned char *raw = ts_malloc(len / 4 * 3 + 4);
	int n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)len);
	char *colon;

	while (len && b64[len - 1] == '=' && pad < 2) {
		pad++;
		len--;
	}
	if (n < 0 || (size_t)n < pad) {
		free(raw);
		return ts_error_set(err, TS_EUSAGE,
				    "Docker config '%s': auths[\"%s\"].auth is not valid base64", path,
				    host);
	}
	raw[n - (int)pad] = '\0';
	colon = strchr((char *)raw, ':');
	if (!colon) {
		OPENSSL_cleanse(raw, (size_t)n);
		free(raw);
		return ts_error_set(err, TS_EUSAGE,
				    "Docker config '%s': auths[\"%s\"].auth is not base64 of user:password",
				    path, host);
	}
	*user = ts_strndup((char *)raw, (size_t)(colon - (char *)raw));
	*pass = ts_strdup(colon + 1);
	OPENSSL_cleanse(raw, (size_t)n);
	free(raw);
	return TS_OK;
}

static ts_code from_auths(json_t *entry, const char *path, const char *host, ts_creds *c,
			  ts_error *err)
{
	const char *auth = json_string_value(json_object_get(entry, "auth"));
	const char *idtok = json_string_value(json_object_get(entry, "identitytoken"));
	const char *u = json_string_value(json_object_get(entry, "username"));
	const char *p = json_string_value(json_object_get(entry, "password"));
	char *user = NULL, *pass = NULL;
	ts_code rc;

	if (auth && *auth) {
		rc = decode_auth(auth, path, host, &user, &pass, err);
		if (rc != TS_OK)
			return rc;
		u = user;
		p = pass;
	}
	if ((u && *u) || (idtok && *idtok))
		creds_set(c, u, idtok && *idtok ? NULL : (p ? p : ""), idtok,
			  ts_asprintf("Docker config %s (auths)", path));
	free(user);
	ts_secret_free(pass);
	return TS_OK;
}

/* A helper name from the config is a file-name suffix: "x/../evil" would
 * run a path relative to the working directory. Refused before anything
 * runs, naming the file and the field. */
static ts_code check_helper_name(const char *name, const char *path, const char *field,
				 const char *host, ts_error *err)
{
	if (ts_creds_helper_name_valid(name))
		return TS_OK;
	return ts_error_setc(err, TS_C_INPUT,
			     "Docker config '%s': %s%s%s%s is '%s', not a credential-helper name "
			     "([a-z0-9._-]+, not . or ..): refused, nothing was run",
			     path, field, host ? "[\"" : "", host ? host : "", host ? "\"]" : "",
			     name);
}

static ts_code from_config(json_t *root, const char *path, const char *host, long timeout_s,
			   ts_creds *c, ts_error *err)
{
	json_t *helper_v = lookup_host(json_object_get(root, "credHelpers"), host);
	const char *helper = json_string_value(helper_v);
	const char *store = json_string_value(json_object_get(root, "credsStore"));
	const char *server = is_hub(host) ? HUB_KEY : host;
	json_t *entry;
	ts_code rc;

	if (helper && *helper &&
	    (rc = check_helper_name(helper, path, "credHelpers", host, err)) != TS_OK)
		return rc;
	if (store && *store &&
	    (rc = check_helper_name(store, path, "credsStore", NULL, err)) != TS_OK)
		return rc;
	if (helper && *helper) {
		rc = ts_creds_from_helper(helper, server, timeout_s, c, err);
		if (rc != TS_OK || ts_creds_found(c))
			return rc;
	}
	if (store && *store) {
		rc = ts_creds_from_helper(store, server, timeout_s, c, err);
		if (rc != TS_OK || ts_creds_found(c))
			return rc;
	}
	entry = lookup_host(json_object_get(root, "auths"), host);
	if (json_is_object(entry))
		return from_auths(entry, path, host, c, err);
	return TS_OK;
}

ts_code ts_creds_from_docker_config(const char *host, long timeout_s, ts_creds *c,
				    ts_error *err)
{
	char *path = docker_config_path();
	ts_buf data = TS_BUF_INIT;
	json_error_t jerr;
	json_t *root;
	ts_code rc;

	ts_creds_free(c);
	if (!path || access(path, F_OK) != 0) {
		free(path);
		return TS_OK;
	}
	rc = ts_read_file(path, MAX_CONFIG, &data, "Docker config", err);
	if (rc == TS_OK) {
		root = json_loadb(ts_buf_cstr(&data), data.len, 0, &jerr);
		if (!json_is_object(root))
			rc = ts_error_set(err, TS_EUSAGE,
					  "Docker config '%s' is not a JSON object (line %d, column %d)",
					  path, jerr.line, jerr.column);
		else
			rc = from_config(root, path, host, timeout_s, c, err);
		json_decref(root);
	}
	if (data.ptr)
		OPENSSL_cleanse(data.ptr, data.cap);
	ts_buf_free(&data);
	free(path);
	return rc;
}

/* ---- the environment and CI defaults ---- */

static ts_code from_env(ts_creds *c, ts_error *err)
{
	const char *u = env("TAGSEAL_USERNAME"), *p = env("TAGSEAL_PASSWORD");
	if (!u && !p)
		return TS_OK;
	if (!u || !p)
		return ts_error_set(err, TS_EUSAGE, "%s is set but %s is not; set both or neither",
				    u ? "TAGSEAL_USERNAME" : "TAGSEAL_PASSWORD",
				    u ? "TAGSEAL_PASSWORD" : "TAGSEAL_USERNAME");
	creds_set(c, u, p, NULL, ts_strdup("TAGSEAL_USERNAME/TAGSEAL_PASSWORD"));
	return TS_OK;
}

static void from_github(const char *host, ts_creds *c)
{
	const char *tok = env("GITHUB_TOKEN"), *actor = env("GITHUB_ACTOR");
	if (strcmp(host, "ghcr.io") != 0 || !tok)
		return;
	creds_set(c, actor ? actor : "github-actions", tok, NULL,
		  ts_strdup("GitHub Actions (GITHUB_ACTOR/GITHUB_TOKEN)"));
}

static void from_gitlab(const char *host, ts_creds *c)
{
	const char *reg = env("CI_REGISTRY");
	const char *u = env("CI_REGISTRY_USER"), *p = env("CI_REGISTRY_PASSWORD");
	const char *job = env("CI_JOB_TOKEN");
	if (!reg || strcmp(reg, host) != 0)
		return;
	if (u && p)
		creds_set(c, u, p, NULL, ts_strdup("GitLab CI (CI_REGISTRY_USER/CI_REGISTRY_PASSWORD)"));
	else if (job)
		creds_set(c, "gitlab-ci-token", job, NULL, ts_strdup("GitLab CI (CI_JOB_TOKEN)"));
}

bool ts_creds_same_registry(const char *a, const char *b)
{
	if (!a || !b)
		return false;
	return strcasecmp(a, b) == 0 || (is_hub(a) && is_hub(b));
}

bool ts_creds_explicit(const ts_registry_opts *opts)
{
	return (opts && (opts->username || opts->password)) || env("TAGSEAL_USERNAME") ||
	       env("TAGSEAL_PASSWORD");
}

ts_code ts_creds_lookup(const char *host, const ts_registry_opts *opts, ts_creds *c,
			ts_error *err)
{
	/* flag and environment credentials belong to one registry */
	bool mine = !opts || !opts->cred_host || ts_creds_same_registry(opts->cred_host, host);
	ts_code rc;

	ts_creds_free(c);
	if (opts && (opts->username || opts->password)) {
		if (!opts->username || !opts->password)
			return ts_error_set(err, TS_EUSAGE,
					    "--username and --password-stdin must be given together");
		if (mine) {
			creds_set(c, opts->username, opts->password, NULL,
				  ts_strdup("--username/--password-stdin"));
			return TS_OK;
		}
	}
	rc = from_env(c, err);
	if (rc != TS_OK)
		return rc;
	if (ts_creds_found(c)) {
		if (mine)
			return TS_OK;
		ts_creds_free(c);
	}
	from_github(host, c);
	if (ts_creds_found(c))
		return TS_OK;
	from_gitlab(host, c);
	if (ts_creds_found(c))
		return TS_OK;
	return ts_creds_from_docker_config(host, opts ? opts->timeout_s : 0, c, err);
}
