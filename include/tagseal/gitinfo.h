/*
 * gitinfo.h - the facts a tag is built from, read from a git repository
 * through libgit2 (tagseal never runs git): the commit, its time, branch,
 * dirty state, and the version from the highest semver tag reachable from
 * the commit with the number of commits since it.
 *
 * Shallow clones: history beyond the shallow boundary is absent, so a
 * version tag may be invisible. version_status then says SHALLOW (rather
 * than NONE) and the caller refuses to invent a version; a distance that
 * would have to cross the boundary is reported as unknown.
 */
#ifndef TAGSEAL_GITINFO_H
#define TAGSEAL_GITINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tagseal/ciinfo.h"
#include "tagseal/error.h"
#include "tagseal/semver.h"

struct git_repository;

typedef enum ts_gitver_status {
	TS_GITVER_FOUND,   /* a semver tag is reachable: version, version_tag set */
	TS_GITVER_NONE,    /* the full history holds no reachable semver tag */
	TS_GITVER_SHALLOW  /* none reachable in this shallow clone: unknown */
} ts_gitver_status;

typedef struct ts_gitinfo {
	struct git_repository *repo; /* owned */
	char *path;                  /* repository path, for messages */
	char commit[41];             /* the commit tags name (40 hex) */
	char head[41];               /* HEAD (differs from commit for a CI merge commit) */
	bool commit_from_ci;         /* commit is the CI's PR/MR head, not HEAD */
	int64_t commit_time;         /* committer time, seconds since the epoch (UTC) */
	char *branch;                /* local branch of HEAD; NULL when detached */
	bool dirty;                  /* tracked files differ from HEAD (untracked ignored) */
	bool shallow;
	ts_gitver_status version_status;
	ts_semver version;           /* when FOUND */
	char *version_tag;           /* the git tag's name, "v1.4.2", when FOUND */
	bool distance_known;         /* false when a shallow boundary cuts the count */
	uint64_t distance;           /* commits in HEAD's history not in the tag's */
} ts_gitinfo;

typedef struct ts_gitinfo_opts {
	const char *git_dir;     /* --git-dir; NULL: discover from the working directory */
	const ts_ciinfo *ci;     /* may be NULL: used for a PR's head commit */
} ts_gitinfo_opts;

/* Open the repository and read every fact. A path that is not a
 * repository, or a repository without commits, is TS_EUSAGE. */
ts_code ts_gitinfo_load(const ts_gitinfo_opts *opts, ts_gitinfo *out, ts_error *err);

/* The shortest prefix of `commit` with at least `min_len` hex digits that
 * no other object in the repository shares (at most 40). Caller frees. */
ts_code ts_gitinfo_short_sha(const ts_gitinfo *gi, size_t min_len, char **out, ts_error *err);

void ts_gitinfo_free(ts_gitinfo *gi);

#endif
