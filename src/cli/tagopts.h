/*
 * tagopts.h - the tag-source options that push and tag share (the
 * contract's "Tag source"): --tag, --scheme, --version, --build, --git-dir,
 * --alias, --on-collision. One table, one parser, one set of checks, so
 * that the two commands cannot drift apart.
 */
#ifndef TAGSEAL_TAGOPTS_H
#define TAGSEAL_TAGOPTS_H

#include "cli.h"
#include "tagseal/tagname.h"

enum {
	TS_TO_TAG = 0x4100,
	TS_TO_SCHEME,
	TS_TO_VERSION,
	TS_TO_BUILD,
	TS_TO_GITDIR,
	TS_TO_ALIAS,
	TS_TO_COLLISION
};

/* The group's table (opttab.h); `tag` adds --repo and --json to it. */
extern const ts_optdef ts_tagopts_defs[];

typedef struct ts_tagopts {
	ts_tagname_opts tn;   /* for ts_tagname_resolve (aliases set by the check) */
	const char **aliases; /* --alias templates, as given */
	size_t n_aliases;
	ts_collision policy;  /* --on-collision (default fail) */
} ts_tagopts;

/* In a getopt_long loop: -2 when opt is not a tag-source option, -1 when it
 * was taken, else the exit code of a usage error. */
int ts_tagopts_opt(ts_tagopts *t, const char *cmd, int opt, const char *arg, const char *src);

/* After the loop: -1, or the exit code of a usage error. */
int ts_tagopts_check(ts_tagopts *t, const char *cmd);

void ts_tagopts_free(ts_tagopts *t);

#endif
