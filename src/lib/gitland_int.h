/*
 * gitland_int.h - what gitland.c (the commit) and gitpush.c (the push, its
 * credentials and the one rebase) share. Not for use elsewhere.
 */
#ifndef TAGSEAL_GITLAND_INT_H
#define TAGSEAL_GITLAND_INT_H

#include <git2.h>

#include "tagseal/gitland.h"

/* "what: libgit2's last message", with code. */
ts_code ts_git_fail(ts_error *err, ts_code code, const char *what);

/* Push `commit` (now HEAD) per opts->push; on a non-fast-forward, fetch,
 * rebase the commit onto the remote head once (moving HEAD and the work
 * tree), and push again. res->commit/rebased/pushed are updated. */
ts_code ts_gitland_push(git_repository *repo, const ts_gitland_opts *opts, git_oid *commit,
			ts_gitland_result *res, ts_error *err);

void ts_gitland_log(const ts_gitland_opts *opts, const char *fmt, ...) TS_PRINTF(2, 3);

#endif
