/*
 * cmd_inspect.c - 'tagseal inspect' (not yet implemented).
 */
#include "cli.h"

static int run(int argc, char **argv);

const ts_command ts_cmd_inspect = {
	"inspect", run, "(not yet implemented)",
	"usage: tagseal inspect ...\n" TS_COMMON_USAGE,
};

static int run(int argc, char **argv)
{
	ts_error err = TS_ERROR_INIT;
	(void)argc;
	(void)argv;
	ts_error_set(&err, TS_EINTERNAL, "'tagseal inspect' is not implemented yet");
	return ts_msg_fail(&err);
}
