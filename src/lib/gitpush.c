/*
 * gitpush.c - pushing the pin commit (gitland.h): REMOTE[:BRANCH], the
 * credentials libgit2 asks for (the CI token only for the CI's own server,
 * else `git credential fill` for exactly that URL, SSH through the agent),
 * and, after a non-fast-forward, one fetch, rebase of the pin commit onto
 * the remote head (an in-memory cherry-pick, then a safe checkout) and one
 * more push.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gitland_int.h"
#include "tagseal/buf.h"
#include "tagseal/creds.h"
#include "tagseal/http.h"
#include "tagseal/ref.h"

extern char **environ;

#define TMP_REF "refs/tagseal/pin"
#define FETCH_REF "refs/tagseal/remote-head"
#define HELPER_TIMEOUT_MS 60000
#define HELPER_MAX_OUT (64u << 10)

typedef struct push_state {
	const ts_gitland_opts *opts;
	const char *workdir;
	int tries;
	char status[256]; /* a remote's refusal of the update, or "" */
	char *user, *pass;
	ts_origin cred_origin; /* the origin user/pass were filled for */
} push_state;

/* ---- credentials ---- */

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* The CI token for `url`, only when it has exactly the CI server's origin
 * (and that origin is HTTPS, or plain HTTP on a loopback host). */
static bool ci_token(const ts_origin *o, const char **user, const char **token)
{
	ts_origin server;
	const char *url = NULL;

	if (env("GITHUB_ACTIONS") && strcmp(env("GITHUB_ACTIONS"), "true") == 0 &&
	    env("GITHUB_TOKEN")) {
		url = env("GITHUB_SERVER_URL") ? env("GITHUB_SERVER_URL") : "https://github.com";
		*user = "x-access-token";
		*token = env("GITHUB_TOKEN");
	} else if (env("GITLAB_CI") && strcmp(env("GITLAB_CI"), "true") == 0 &&
		   env("CI_JOB_TOKEN") && env("CI_SERVER_URL")) {
		url = env("CI_SERVER_URL");
		*user = "gitlab-ci-token";
		*token = env("CI_JOB_TOKEN");
	}
	if (!url || !ts_origin_of(url, &server) || !ts_origin_same(&server, o))
		return false;
	return strcmp(o->scheme, "https") == 0 || ts_host_is_loopback(o->host);
}

/* Read all of fd into b within the deadline. */
static bool read_all(int fd, ts_buf *b, long deadline_ms)
{
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		char chunk[4096];
		ssize_t n;
		long spent;
		clock_gettime(CLOCK_MONOTONIC, &now);
		spent = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (spent >= deadline_ms || poll(&p, 1, (int)(deadline_ms - spent)) <= 0)
			return false;
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0;
		if (b->len + (size_t)n > HELPER_MAX_OUT)
			return false;
		ts_buf_put(b, chunk, (size_t)n);
	}
}

/* `git credential fill` for protocol/host/path: git's own configuration
 * (helpers, store, cache), never a prompt. */
static bool credential_fill(push_state *ps, const ts_origin *o, const char *url)
{
	int in[2], out[2];
	pid_t pid;
	posix_spawn_file_actions_t fa;
	char *argv[] = { "git", "-C", (char *)ps->workdir, "credential", "fill", NULL };
	char *envp[512];
	size_t ne = 0;
	ts_buf req = TS_BUF_INIT, ans = TS_BUF_SECRET_INIT;
	const char *path = strstr(url, "://");
	bool ok = false;
	int st;

	path = path ? strchr(path + 3, '/') : NULL;
	for (char **e = environ; *e && ne < 500; e++)
		if (strncmp(*e, "GIT_TERMINAL_PROMPT=", 20) != 0 && strncmp(*e, "GIT_ASKPASS=", 12) != 0 &&
		    strncmp(*e, "SSH_ASKPASS=", 12) != 0)
			envp[ne++] = *e;
	envp[ne++] = "GIT_TERMINAL_PROMPT=0";
	envp[ne] = NULL;
	if (pipe2(in, O_CLOEXEC) != 0)
		return false;
	if (pipe2(out, O_CLOEXEC) != 0) {
		close(in[0]);
		close(in[1]);
		return false;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, "git", &fa, NULL, argv, envp) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	if (pid > 0) {
		char hostport[300];
		long def = strcmp(o->scheme, "https") == 0 ? 443 : 80;
		if (o->port != def)
			snprintf(hostport, sizeof(hostport), "%s:%ld", o->host, o->port);
		else
			snprintf(hostport, sizeof(hostport), "%s", o->host);
		ts_buf_printf(&req, "protocol=%s\nhost=%s\n", o->scheme, hostport);
		if (path && path[1])
			ts_buf_printf(&req, "path=%.*s\n", (int)strcspn(path + 1, "?#\n"), path + 1);
		ts_buf_puts(&req, "\n");
		void (*was)(int) = signal(SIGPIPE, SIG_IGN); /* git may exit unread */
		if (write(in[1], req.ptr, req.len) == (ssize_t)req.len) {
			close(in[1]);
			in[1] = -1;
			ok = read_all(out[0], &ans, HELPER_TIMEOUT_MS);
		}
		signal(SIGPIPE, was);
		if (!ok)
			kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		ok = ok && WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	if (in[1] >= 0)
		close(in[1]);
	close(out[0]);
	for (char *line = ok ? strtok(ans.ptr, "\n") : NULL; line; line = strtok(NULL, "\n")) {
		if (strncmp(line, "username=", 9) == 0 && !ps->user)
			ps->user = ts_strdup(line + 9);
		else if (strncmp(line, "password=", 9) == 0 && !ps->pass)
			ps->pass = ts_strdup(line + 9);
	}
	if (ans.ptr)
		memset(ans.ptr, 0, ans.len);
	ts_buf_free(&ans);
	ts_buf_free(&req);
	return ps->user && ps->pass;
}

static int cred_cb(git_credential **out, const char *url, const char *user_from_url,
		   unsigned int allowed, void *payload)
{
	push_state *ps = payload;
	const char *user = NULL, *token = NULL;
	char shown[300];
	ts_origin o;

	if (ps->tries++ >= 2) /* the same answer again would fail again */
		return GIT_EUSER;
	if (allowed & GIT_CREDENTIAL_SSH_KEY)
		return git_credential_ssh_key_from_agent(out, user_from_url ? user_from_url : "git");
	if (!(allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) || !ts_origin_of(url, &o))
		return GIT_PASSTHROUGH;
	ts_origin_str(&o, shown, sizeof(shown));
	if (ci_token(&o, &user, &token)) {
		ts_gitland_log(ps->opts, "push: the CI token for %s", shown);
		return git_credential_userpass_plaintext_new(out, user, token);
	}
	/* git's credentials belong to the URL they were asked for: another
	 * origin (a redirect) gets none of them */
	if (ps->user && !ts_origin_same(&o, &ps->cred_origin))
		return GIT_PASSTHROUGH;
	if (!ps->user && !credential_fill(ps, &o, url))
		return GIT_PASSTHROUGH;
	ps->cred_origin = o;
	ts_gitland_log(ps->opts, "push: git credentials for %s", shown);
	return git_credential_userpass_plaintext_new(out, ps->user, ps->pass);
}

static int update_cb(const char *refname, const char *status, void *payload)
{
	push_state *ps = payload;
	(void)refname;
	if (status)
		ts_sanitize(ps->status, sizeof(ps->status), status);
	return 0;
}

/* ---- the remote and the branch ---- */

/* The URL of a configured remote (pushurl, else url), or NULL. Read from
 * the configuration and opened as an anonymous remote: git_remote_lookup
 * of libgit2 1.5 with PCRE2 leaks its regex match data on every call. */
static char *remote_url(git_repository *repo, const char *name)
{
	git_config *cfg = NULL;
	git_buf b = { 0 };
	char *key, *url = NULL;
	int valid = 0;

	if (git_remote_name_is_valid(&valid, name) < 0 || !valid ||
	    git_repository_config_snapshot(&cfg, repo) < 0)
		return NULL;
	key = ts_asprintf("remote.%s.pushurl", name);
	if (git_config_get_string_buf(&b, cfg, key) == 0)
		url = ts_strdup(b.ptr);
	free(key);
	git_buf_dispose(&b);
	key = ts_asprintf("remote.%s.url", name);
	if (!url && git_config_get_string_buf(&b, cfg, key) == 0)
		url = ts_strdup(b.ptr);
	free(key);
	git_buf_dispose(&b);
	git_config_free(cfg);
	return url;
}

/* REMOTE[:BRANCH]: split at the first ':' when what precedes is a
 * configured remote; for a URL or path, at a last ':' followed by no '/'
 * (so a URL's port stays; a branch given after a URL has no '/'). */
static ts_code open_remote(git_repository *repo, const char *spec, const char *head_branch,
			   git_remote **remote, char **branch, ts_error *err)
{
	const char *colon = strchr(spec, ':'), *split = NULL;
	char *name = colon ? ts_strndup(spec, (size_t)(colon - spec)) : ts_strdup(spec);
	char *url = remote_url(repo, name);
	ts_code rc = TS_OK;

	if (colon && url) {
		split = colon;
	} else {
		const char *last = strrchr(spec, ':');
		if (!url && last && !strchr(last, '/') && last[1] && strncmp(last, "://", 3) != 0)
			split = last;
		free(name);
		name = split ? ts_strndup(spec, (size_t)(split - spec)) : ts_strdup(spec);
		if (!url)
			url = remote_url(repo, name);
	}
	*remote = NULL;
	if (git_remote_create_anonymous(remote, repo, url ? url : name) != 0)
		rc = ts_git_fail(err, TS_EUSAGE, "--push: remote");
	free(url);
	*branch = ts_strdup(split ? split + 1 : head_branch);
	if (rc == TS_OK) {
		char *full = ts_asprintf("refs/heads/%s", *branch);
		int valid = 0;
		if (strcmp(*branch, "HEAD") == 0)
			rc = ts_error_setc(err, TS_C_USAGE,
					   "--push: HEAD is detached: name the branch (REMOTE:BRANCH)");
		else if (git_reference_name_is_valid(&valid, full) < 0 || !valid)
			rc = ts_error_setc(err, TS_C_USAGE, "--push: '%s' is not a branch name",
					   (ts_sanitize(full, strlen(full) + 1, *branch), full));
		free(full);
	}
	free(name);
	return rc;
}

static void push_opts(git_push_options *po, push_state *ps)
{
	git_push_options_init(po, GIT_PUSH_OPTIONS_VERSION);
	po->callbacks.credentials = cred_cb;
	po->callbacks.push_update_reference = update_cb;
	po->callbacks.payload = ps;
}

typedef enum { PUSHED, NON_FF, FAILED } push_outcome;

static push_outcome push_once(git_remote *remote, push_state *ps, const char *branch,
			      ts_error *err)
{
	git_push_options po;
	char *spec = ts_asprintf("%s:refs/heads/%s", TMP_REF, branch);
	git_strarray refs = { &spec, 1 };
	int rc;

	push_opts(&po, ps);
	ps->status[0] = '\0';
	ps->tries = 0;
	rc = git_remote_push(remote, &refs, &po);
	free(spec);
	if (rc == GIT_ENONFASTFORWARD)
		return NON_FF;
	if (rc < 0) {
		ts_git_fail(err, TS_EREGISTRY, "--push");
		err->cause = TS_C_NETWORK;
		return FAILED;
	}
	if (ps->status[0]) {
		/* the remote's words for it vary: git says "fetch first" or
		 * "non-fast-forward"; anything else is a refusal */
		if (strstr(ps->status, "fast-forward") || strstr(ps->status, "fetch first"))
			return NON_FF;
		ts_error_setc(err, TS_C_DENIED, "--push: the remote refused refs/heads/%s: %s",
			      branch, ps->status);
		return FAILED;
	}
	return PUSHED;
}

/* ---- one rebase after a non-fast-forward ---- */

static ts_code fetch_head(git_remote *remote, push_state *ps, const char *branch,
			  git_repository *repo, git_commit **upstream, ts_error *err)
{
	git_fetch_options fo;
	char *spec = ts_asprintf("+refs/heads/%s:%s", branch, FETCH_REF);
	git_strarray refs = { &spec, 1 };
	git_oid id;
	int rc;

	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	fo.callbacks.credentials = cred_cb;
	fo.callbacks.payload = ps;
	ps->tries = 0;
	rc = git_remote_fetch(remote, &refs, &fo, NULL);
	free(spec);
	if (rc < 0) {
		ts_git_fail(err, TS_EREGISTRY, "--push: fetching the remote branch");
		err->cause = TS_C_NETWORK;
		return TS_EREGISTRY;
	}
	if (git_reference_name_to_id(&id, repo, FETCH_REF) < 0 ||
	    git_commit_lookup(upstream, repo, &id) < 0)
		return ts_git_fail(err, TS_EREGISTRY, "--push: the fetched remote head");
	return TS_OK;
}

/* Cherry-pick `mine` onto `onto` in memory, check the result out safely,
 * and move HEAD (its branch, or the detached HEAD) to it. */
static ts_code rebase_onto(git_repository *repo, git_commit *mine, git_commit *onto, git_oid *out,
			   ts_error *err)
{
	git_index *idx = NULL;
	git_tree *tree = NULL;
	git_reference *head = NULL, *moved = NULL;
	git_checkout_options co;
	git_oid tree_id;
	ts_code rc = TS_OK;

	if (git_cherrypick_commit(&idx, repo, mine, onto, 0, NULL) < 0)
		return ts_git_fail(err, TS_EUSAGE, "--push: rebasing the pin commit");
	if (git_index_has_conflicts(idx))
		rc = ts_error_setc(err, TS_C_VERIFY,
				   "--push: the remote branch moved and changed the same lines; the "
				   "pin commit does not rebase cleanly (run pin again on the new head)");
	if (rc == TS_OK && (git_index_write_tree_to(&tree_id, idx, repo) < 0 ||
			    git_tree_lookup(&tree, repo, &tree_id) < 0))
		rc = ts_git_fail(err, TS_EUSAGE, "--push: the rebased tree");
	if (rc == TS_OK) {
		const git_commit *parents[1] = { onto };
		if (git_commit_create(out, repo, NULL, git_commit_author(mine),
				      git_commit_committer(mine), NULL, git_commit_message(mine), tree,
				      1, parents) < 0)
			rc = ts_git_fail(err, TS_EUSAGE, "--push: the rebased commit");
	}
	if (rc == TS_OK) {
		git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
		co.checkout_strategy = GIT_CHECKOUT_SAFE;
		if (git_checkout_tree(repo, (const git_object *)tree, &co) < 0)
			rc = ts_git_fail(err, TS_EUSAGE, "--push: checking out the rebased commit");
	}
	if (rc == TS_OK && git_repository_head(&head, repo) < 0)
		rc = ts_git_fail(err, TS_EUSAGE, "--push: HEAD");
	if (rc == TS_OK) {
		int e = git_reference_is_branch(head)
				? git_reference_set_target(&moved, head, out, "tagseal: rebase pin commit")
				: git_repository_set_head_detached(repo, out);
		if (e < 0)
			rc = ts_git_fail(err, TS_EUSAGE, "--push: moving HEAD");
	}
	git_reference_free(moved);
	git_reference_free(head);
	git_tree_free(tree);
	git_index_free(idx);
	return rc;
}

static ts_code set_tmp_ref(git_repository *repo, const git_oid *id, ts_error *err)
{
	git_reference *r = NULL;
	if (git_reference_create(&r, repo, TMP_REF, id, 1, "tagseal: pin commit to push") < 0)
		return ts_git_fail(err, TS_EUSAGE, "--push");
	git_reference_free(r);
	return TS_OK;
}

static void drop_ref(git_repository *repo, const char *name)
{
	git_reference *r = NULL;
	if (git_reference_lookup(&r, repo, name) == 0)
		git_reference_delete(r);
	git_reference_free(r);
}

ts_code ts_gitland_push(git_repository *repo, const ts_gitland_opts *opts, git_oid *commit,
			ts_gitland_result *res, ts_error *err)
{
	push_state ps;
	git_remote *remote = NULL;
	git_commit *mine = NULL, *upstream = NULL;
	char *branch = NULL;
	push_outcome out = FAILED;
	ts_code rc;

	memset(&ps, 0, sizeof(ps));
	ps.opts = opts;
	ps.workdir = git_repository_workdir(repo);
	rc = open_remote(repo, opts->push, res->branch, &remote, &branch, err);
	if (rc == TS_OK)
		rc = set_tmp_ref(repo, commit, err);
	if (rc == TS_OK)
		out = push_once(remote, &ps, branch, err);
	if (rc == TS_OK && out == NON_FF) {
		ts_gitland_log(opts, "push: refs/heads/%s moved on the remote: fetching and rebasing "
			       "the pin commit once", branch);
		rc = fetch_head(remote, &ps, branch, repo, &upstream, err);
		if (rc == TS_OK && git_commit_lookup(&mine, repo, commit) < 0)
			rc = ts_git_fail(err, TS_EUSAGE, "--push: the pin commit");
		if (rc == TS_OK)
			rc = rebase_onto(repo, mine, upstream, commit, err);
		if (rc == TS_OK)
			rc = set_tmp_ref(repo, commit, err);
		if (rc == TS_OK) {
			res->rebased = true;
			git_oid_tostr(res->commit, sizeof(res->commit), commit);
			out = push_once(remote, &ps, branch, err);
			if (out == NON_FF)
				ts_error_setc(err, TS_C_VERIFY,
					      "--push: refs/heads/%s moved again on the remote while "
					      "rebasing; the pin commit %s is local only",
					      branch, res->commit);
		}
	}
	if (rc == TS_OK && out != PUSHED)
		rc = err->code ? err->code : TS_EREGISTRY;
	res->pushed = rc == TS_OK;
	drop_ref(repo, TMP_REF);
	drop_ref(repo, FETCH_REF);
	git_commit_free(mine);
	git_commit_free(upstream);
	git_remote_free(remote);
	free(branch);
	ts_secret_free(ps.user);
	ts_secret_free(ps.pass);
	return rc;
}
