/*
 * gitland.h - landing a pin change in git (libgit2): commit exactly the
 * files that changed, on top of HEAD, with a message listing each reference
 * change and Image-Digest: trailers; optionally push that commit, retrying
 * once after a non-fast-forward by fetching and rebasing the pin commit onto
 * the new remote head.
 *
 * Author (and committer): opts->author ("Name <email>"), else GIT_AUTHOR_NAME
 * and GIT_AUTHOR_EMAIL, else the CI's identity (GitHub Actions:
 * github-actions[bot]; GitLab CI: GITLAB_USER_NAME / GITLAB_USER_EMAIL), else
 * git's user.name / user.email.
 *
 * Push credentials, per remote URL: over HTTPS to the CI's own server,
 * GitHub Actions' GITHUB_TOKEN (x-access-token) or GitLab CI's CI_JOB_TOKEN
 * (gitlab-ci-token); otherwise git's credential configuration, asked through
 * `git credential fill` for that URL only (helpers, store, cache); SSH
 * through the agent. A token never goes to another host, nor over plain HTTP
 * to a non-loopback host.
 */
#ifndef TAGSEAL_GITLAND_H
#define TAGSEAL_GITLAND_H

#include <stdbool.h>
#include <stddef.h>

#include "tagseal/error.h"

typedef struct ts_gitland_change {
	const char *file;
	size_t line;
	const char *reference;  /* as the file spells it */
	const char *canonical;  /* docker.io/library/nginx:1.25 */
	const char *old_digest; /* NULL or "": newly pinned */
	const char *new_digest;
} ts_gitland_change;

/* "pin: N image reference(s) to digests", a line per change, then one
 * "Image-Digest: CANONICAL@DIGEST" trailer per distinct new digest.
 * Caller frees. */
char *ts_gitland_message(const ts_gitland_change *changes, size_t n);

typedef struct ts_gitland_opts {
	const char *git_dir;  /* repository (or a directory inside it); NULL: the working directory */
	const char *author;   /* "Name <email>" or NULL */
	const char *push;     /* "REMOTE[:BRANCH]" or NULL; BRANCH defaults to HEAD's branch */
	void (*log)(void *ud, const char *line);
	void *log_ud;
} ts_gitland_opts;

typedef struct ts_gitland_result {
	char commit[41];  /* the pin commit as it landed (after a rebase: the new one) */
	char branch[256]; /* the local branch moved, or "HEAD" when detached */
	bool pushed;
	bool rebased;     /* a non-fast-forward was met and the commit rebased once */
} ts_gitland_result;

/*
 * Commit `files` (paths as given to pin: absolute or relative to the
 * working directory; all inside the repository's work tree) with `message`,
 * then push when opts->push. Only these paths are staged: other staged or
 * unstaged changes are left as they are and not committed. Errors: TS_EUSAGE
 * (no repository, a file outside it, nothing differs from HEAD, a bad
 * --author or --push), TS_EVERIFY (the remote branch moved and the rebase
 * conflicts, or it moved again: a lost race; the commit stays local),
 * TS_EREGISTRY (the push failed: network, auth, refused by the remote).
 */
ts_code ts_gitland_commit(const ts_gitland_opts *opts, const char *const *files, size_t nfiles,
			  const char *message, ts_gitland_result *res, ts_error *err);

#endif
