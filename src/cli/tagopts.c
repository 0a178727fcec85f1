/*
 * tagopts.c - the tag-source options (see tagopts.h).
 */
#include <stdlib.h>
#include <string.h>

#include "tagopts.h"

/* --tag and --scheme exclude each other: excl group 1 */
const ts_optdef ts_tagopts_defs[] = {
	{ "tag", TS_TO_TAG, 0, TS_OPT_VALUE, "TAG",
	  "this tag (checked against [A-Za-z0-9_][A-Za-z0-9._-]{0,127})", 0, 1 },
	{ "scheme", TS_TO_SCHEME, 0, TS_OPT_VALUE, "TEMPLATE",
	  "a preset (sha semver semver-sha describe date-build date-sha\n"
	  "branch-sha build-sha default) or a template of placeholders\n"
	  "such as '{version}-{build}.g{sha}'",
	  0, 1 },
	{ "version", TS_TO_VERSION, 0, TS_OPT_VALUE, "X.Y.Z",
	  "the version for {version} (default: the highest semver git\n"
	  "tag reachable from HEAD)",
	  0, 0 },
	{ "build", TS_TO_BUILD, 0, TS_OPT_VALUE, "N", "the build number for {build} (default: the CI's)",
	  0, 0 },
	{ "git-dir", TS_TO_GITDIR, 0, TS_OPT_VALUE, "DIR",
	  "the git repository (default: discovered from the cwd)", 0, 0 },
	{ "alias", TS_TO_ALIAS, 0, TS_OPT_LIST, "TEMPLATE",
	  "a mutable alias, moved after the tag; a tag or a template\n"
	  "('latest', '{major}', '{major}.{minor}'); repeatable",
	  0, 0 },
	{ "on-collision", TS_TO_COLLISION, 0, TS_OPT_VALUE, "POLICY",
	  "fail (default: exit 3 when the tag is taken) or bump (TAG.2,\n"
	  "TAG.3, ...: the next free one)",
	  0, 0 },
	{ NULL, 0, 0, 0, NULL, NULL, 0, 0 }
};

int ts_tagopts_opt(ts_tagopts *t, const char *cmd, int opt, const char *arg, const char *src)
{
	switch (opt) {
	case TS_TO_TAG: t->tn.tag = arg; return -1;
	case TS_TO_SCHEME: t->tn.scheme = arg; return -1;
	case TS_TO_VERSION: t->tn.version = arg; return -1;
	case TS_TO_BUILD: t->tn.build = arg; return -1;
	case TS_TO_GITDIR: t->tn.git_dir = arg; return -1;
	case TS_TO_ALIAS:
		t->aliases = ts_realloc(t->aliases, (t->n_aliases + 1) * sizeof(char *));
		t->aliases[t->n_aliases++] = arg;
		return -1;
	case TS_TO_COLLISION:
		if (strcmp(arg, "fail") == 0)
			t->policy = TS_COLLISION_FAIL;
		else if (strcmp(arg, "bump") == 0)
			t->policy = TS_COLLISION_BUMP;
		else
			return ts_msg_usage(cmd, "%s '%s': expected fail or bump", src, arg);
		return -1;
	default:
		return -2;
	}
}

int ts_tagopts_check(ts_tagopts *t, const char *cmd)
{
	if (t->tn.tag && t->tn.scheme)
		return ts_msg_usage(cmd, "--tag and --scheme exclude each other");
	t->tn.aliases = t->aliases;
	t->tn.n_aliases = t->n_aliases;
	return -1;
}

void ts_tagopts_free(ts_tagopts *t)
{
	free(t->aliases);
	t->aliases = NULL;
	t->n_aliases = 0;
	t->tn.aliases = NULL;
	t->tn.n_aliases = 0;
}
