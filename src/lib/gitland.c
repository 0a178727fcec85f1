/*
 * gitland.c - the pin commit (gitland.h): HEAD's tree with exactly the
 * changed files replaced, a message listing each reference change with
 * Image-Digest: trailers, the author from --author, git's environment, the
 * CI or git's configuration. The push is in gitpush.c.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gitland_int.h"
#include "tagseal/buf.h"
#include "tagseal/ciinfo.h"

ts_code ts_git_fail(ts_error *err, ts_code code, const char *what)
{
	const git_error *e = git_error_last();
	char shown[512];
	ts_sanitize(shown, sizeof(shown), e && e->message ? e->message : "libgit2 error");
	return ts_error_set(err, code, "%s: %s", what, shown);
}

void ts_gitland_log(const ts_gitland_opts *opts, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	if (!opts->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	opts->log(opts->log_ud, line);
}

/* ---- the message ---- */

static int change_cmp(const void *a, const void *b)
{
	const ts_gitland_change *x = *(const ts_gitland_change *const *)a;
	const ts_gitland_change *y = *(const ts_gitland_change *const *)b;
	int c = strcmp(x->canonical, y->canonical);
	return c ? c : strcmp(x->new_digest, y->new_digest);
}

char *ts_gitland_message(const ts_gitland_change *ch, size_t n)
{
	ts_buf b = TS_BUF_INIT;
	const ts_gitland_change **sorted = ts_calloc(n + 1, sizeof(*sorted));
	size_t updated = 0;

	for (size_t i = 0; i < n; i++)
		updated += ch[i].old_digest && ch[i].old_digest[0];
	if (updated == n)
		ts_buf_printf(&b, "pin: update %zu image reference%s to new digests\n\n", n,
			      n == 1 ? "" : "s");
	else if (updated == 0)
		ts_buf_printf(&b, "pin: %zu image reference%s to digests\n\n", n, n == 1 ? "" : "s");
	else
		ts_buf_printf(&b, "pin: %zu image reference%s to digests (%zu updated)\n\n", n,
			      n == 1 ? "" : "s", updated);
	for (size_t i = 0; i < n; i++) {
		char file[512], ref[512];
		ts_sanitize(file, sizeof(file), ch[i].file);
		ts_sanitize(ref, sizeof(ref), ch[i].reference);
		ref[strcspn(ref, "@")] = '\0'; /* the digests are listed apart */
		if (ch[i].old_digest && ch[i].old_digest[0])
			ts_buf_printf(&b, "%s:%zu: %s: %s -> %s\n", file, ch[i].line, ref,
				      ch[i].old_digest, ch[i].new_digest);
		else
			ts_buf_printf(&b, "%s:%zu: %s -> @%s\n", file, ch[i].line, ref,
				      ch[i].new_digest);
		sorted[i] = &ch[i];
	}
	qsort(sorted, n, sizeof(*sorted), change_cmp);
	ts_buf_puts(&b, "\n");
	for (size_t i = 0; i < n; i++)
		if (i == 0 || change_cmp(&sorted[i], &sorted[i - 1]) != 0)
			ts_buf_printf(&b, "Image-Digest: %s@%s\n", sorted[i]->canonical,
				      sorted[i]->new_digest);
	free(sorted);
	return ts_buf_detach(&b);
}

/* ---- the author ---- */

static bool clean_field(const char *s)
{
	if (!s || !*s || strlen(s) > 200)
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '<' || *p == '>')
			return false;
	return true;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static ts_code author_sig(git_repository *repo, const char *author, git_signature **out,
			  ts_error *err)
{
	ts_ciinfo ci = TS_CIINFO_INIT;
	ts_error cerr = TS_ERROR_INIT;
	char *name = NULL, *email = NULL;
	int rc;

	if (author) {
		const char *lt = strchr(author, '<'), *gt = lt ? strchr(lt, '>') : NULL;
		if (lt && gt && !gt[1] && lt > author && lt[-1] == ' ') {
			name = ts_strndup(author, (size_t)(lt - author - 1));
			email = ts_strndup(lt + 1, (size_t)(gt - lt - 1));
		}
		if (!clean_field(name) || !clean_field(email) || !strchr(email, '@')) {
			free(name);
			free(email);
			return ts_error_setc(err, TS_C_USAGE,
					     "--author: expected \"Name <email>\" without control "
					     "characters");
		}
	} else if (env("GIT_AUTHOR_NAME") && env("GIT_AUTHOR_EMAIL")) {
		name = ts_strdup(env("GIT_AUTHOR_NAME"));
		email = ts_strdup(env("GIT_AUTHOR_EMAIL"));
	} else if (ts_ciinfo_from_env(&ci, &cerr) == TS_OK && ci.provider &&
		   strcmp(ci.provider, "github") == 0) {
		name = ts_strdup("github-actions[bot]");
		email = ts_strdup("41898282+github-actions[bot]@users.noreply.github.com");
	} else if (ci.provider && strcmp(ci.provider, "gitlab") == 0 && env("GITLAB_USER_NAME") &&
		   env("GITLAB_USER_EMAIL")) {
		name = ts_strdup(env("GITLAB_USER_NAME"));
		email = ts_strdup(env("GITLAB_USER_EMAIL"));
	}
	ts_ciinfo_free(&ci);
	if (name) {
		rc = git_signature_now(out, name, email);
		free(name);
		free(email);
		return rc < 0 ? ts_git_fail(err, TS_EUSAGE, "author") : TS_OK;
	}
	if (git_signature_default(out, repo) == 0)
		return TS_OK;
	return ts_error_setc(err, TS_C_USAGE,
			     "no author for the pin commit: give --author \"Name <email>\", or set "
			     "git's user.name and user.email");
}

/* ---- the commit ---- */

/* The path of `file` inside the work tree `root` (realpath, ends in '/'). */
static ts_code rel_path(const char *root, const char *file, char **out, ts_error *err)
{
	char real[PATH_MAX];
	size_t n = strlen(root);
	char shown[512];

	if (!realpath(file, real) || strncmp(real, root, n) != 0 || !real[n]) {
		ts_sanitize(shown, sizeof(shown), file);
		return ts_error_setc(err, TS_C_USAGE, "--commit: %s is not inside the repository's "
				     "work tree", shown);
	}
	*out = ts_strdup(real + n);
	return TS_OK;
}

static ts_code open_repo(const ts_gitland_opts *opts, git_repository **repo, char **root,
			 ts_error *err)
{
	const char *wd;
	char real[PATH_MAX];

	if (git_repository_open_ext(repo, opts->git_dir ? opts->git_dir : ".", 0, NULL) != 0)
		return ts_git_fail(err, TS_EUSAGE, "--commit: no git repository");
	wd = git_repository_workdir(*repo);
	if (!wd || !realpath(wd, real))
		return ts_error_setc(err, TS_C_USAGE, "--commit: the repository has no work tree");
	*root = ts_asprintf("%s/", real);
	return TS_OK;
}

/* HEAD's tree with the files' current bytes; *same when nothing differs. */
static ts_code build_tree(git_repository *repo, git_commit *head, char **rel, size_t n,
			  git_oid *tree_id, bool *same, ts_error *err)
{
	git_index *idx = NULL;
	git_tree *tree = NULL;
	ts_code rc = TS_OK;

	if (git_index_new(&idx) < 0 || git_commit_tree(&tree, head) < 0 ||
	    git_index_read_tree(idx, tree) < 0)
		rc = ts_git_fail(err, TS_EUSAGE, "--commit: reading HEAD");
	for (size_t i = 0; rc == TS_OK && i < n; i++) {
		git_index_entry e;
		const git_index_entry *old = git_index_get_bypath(idx, rel[i], 0);
		memset(&e, 0, sizeof(e));
		e.mode = old ? old->mode : GIT_FILEMODE_BLOB;
		e.path = rel[i];
		if (git_blob_create_from_workdir(&e.id, repo, rel[i]) < 0 || git_index_add(idx, &e) < 0)
			rc = ts_git_fail(err, TS_EUSAGE, "--commit: staging a file");
	}
	if (rc == TS_OK && git_index_write_tree_to(tree_id, idx, repo) < 0)
		rc = ts_git_fail(err, TS_EUSAGE, "--commit: writing the tree");
	if (rc == TS_OK)
		*same = git_oid_equal(tree_id, git_tree_id(tree));
	git_tree_free(tree);
	git_index_free(idx);
	return rc;
}

/* The repository's index gets the same entries, so `git status` is clean
 * for these files (other staged changes stay staged). */
static ts_code stage_in_index(git_repository *repo, char **rel, size_t n, ts_error *err)
{
	git_index *idx = NULL;
	ts_code rc = TS_OK;
	if (git_repository_index(&idx, repo) < 0)
		return ts_git_fail(err, TS_EUSAGE, "--commit: the index");
	for (size_t i = 0; rc == TS_OK && i < n; i++)
		if (git_index_add_bypath(idx, rel[i]) < 0)
			rc = ts_git_fail(err, TS_EUSAGE, "--commit: the index");
	if (rc == TS_OK && git_index_write(idx) < 0)
		rc = ts_git_fail(err, TS_EUSAGE, "--commit: writing the index");
	git_index_free(idx);
	return rc;
}

static ts_code commit_in(git_repository *repo, const ts_gitland_opts *opts, char **rel, size_t n,
			 const char *message, ts_gitland_result *res, ts_error *err)
{
	git_commit *head = NULL;
	git_tree *tree = NULL;
	git_signature *sig = NULL;
	git_reference *href = NULL;
	git_oid tree_id, id;
	bool same = false;
	ts_code rc = TS_OK;

	if (git_repository_head(&href, repo) < 0 ||
	    git_commit_lookup(&head, repo, git_reference_target(href)) < 0)
		rc = ts_git_fail(err, TS_EUSAGE, "--commit: HEAD has no commit");
	if (rc == TS_OK)
		snprintf(res->branch, sizeof(res->branch), "%s",
			 git_reference_is_branch(href) ? git_reference_shorthand(href) : "HEAD");
	if (rc == TS_OK)
		rc = build_tree(repo, head, rel, n, &tree_id, &same, err);
	if (rc == TS_OK && same)
		rc = ts_error_setc(err, TS_C_USAGE, "--commit: the files do not differ from HEAD");
	if (rc == TS_OK)
		rc = author_sig(repo, opts->author, &sig, err);
	if (rc == TS_OK && git_tree_lookup(&tree, repo, &tree_id) < 0)
		rc = ts_git_fail(err, TS_EUSAGE, "--commit: the new tree");
	if (rc == TS_OK) {
		const git_commit *parents[1] = { head };
		if (git_commit_create(&id, repo, "HEAD", sig, sig, NULL, message, tree, 1, parents) < 0)
			rc = ts_git_fail(err, TS_EUSAGE, "--commit");
	}
	if (rc == TS_OK)
		rc = stage_in_index(repo, rel, n, err);
	if (rc == TS_OK) {
		git_oid_tostr(res->commit, sizeof(res->commit), &id);
		ts_gitland_log(opts, "committed %s on %s", res->commit, res->branch);
		if (opts->push)
			rc = ts_gitland_push(repo, opts, &id, res, err);
	}
	git_signature_free(sig);
	git_tree_free(tree);
	git_commit_free(head);
	git_reference_free(href);
	return rc;
}

ts_code ts_gitland_commit(const ts_gitland_opts *opts, const char *const *files, size_t nfiles,
			  const char *message, ts_gitland_result *res, ts_error *err)
{
	git_repository *repo = NULL;
	char *root = NULL, **rel = ts_calloc(nfiles + 1, sizeof(char *));
	ts_code rc;

	memset(res, 0, sizeof(*res));
	git_libgit2_init();
	rc = open_repo(opts, &repo, &root, err);
	for (size_t i = 0; rc == TS_OK && i < nfiles; i++)
		rc = rel_path(root, files[i], &rel[i], err);
	if (rc == TS_OK)
		rc = commit_in(repo, opts, rel, nfiles, message, res, err);
	for (size_t i = 0; i < nfiles; i++)
		free(rel[i]);
	free(rel);
	free(root);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}
