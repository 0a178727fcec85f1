/*
 * tagopts.c - the tag-source options (see tagopts.h).
 */
#include <stdlib.h>
#include <string.h>

#include "tagopts.h"

int ts_tagopts_opt(ts_tagopts *t, const char *cmd, int opt, const char *arg)
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
			return ts_msg_usage(cmd, "--on-collision '%s': expected fail or bump", arg);
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
