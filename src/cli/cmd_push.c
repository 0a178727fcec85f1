/*
 * cmd_push.c - 'tagseal push IMAGE --repo REPO [--tag TAG | --scheme T]': the
 * options into the push workflow (release.h), its reference onto stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "progress.h"
#include "pushopts.h"
#include "tagseal/release.h"

static int run(int argc, char **argv);

const ts_command ts_cmd_push = {
	"push", run, "push an image under one new immutable tag", &ts_push_spec,
};

static int run(int argc, char **argv)
{
	ts_push_cli c;
	ts_release *rel = NULL;
	ts_release_result res;
	ts_error err = TS_ERROR_INIT;
	int ret;

	ret = ts_push_cli_parse(&ts_cmd_push, argc, argv, &c);
	if (ret >= 0)
		return ret;
	c.rel.progress = ts_progress_cli(); /* live progress on stderr (progress.c) */
	if (ts_push_cli_finish(&c, &err) != TS_OK ||
	    ts_release_prepare(&c.rel, &rel, &err) != TS_OK ||
	    ts_release_run(rel, &res, &err) != TS_OK) {
		ts_release_free(rel);
		ts_push_cli_free(&c);
		return ts_msg_fail(&err);
	}
	printf("%s:%s@%s\n", c.rel.repo, res.tag, res.digest);
	ts_release_free(rel);
	ts_push_cli_free(&c);
	return 0;
}
