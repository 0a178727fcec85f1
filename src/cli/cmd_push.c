/*
 * cmd_push.c - 'pushseal push' (not yet implemented).
 */
#include "cli.h"

static int run(int argc, char **argv);

const ts_command ts_cmd_push = {
	"push", run, "(not yet implemented)",
	"usage: pushseal push ...\n" TS_COMMON_USAGE,
};

static int run(int argc, char **argv)
{
	ts_error err = TS_ERROR_INIT;
	(void)argc;
	(void)argv;
	ts_error_set(&err, TS_EINTERNAL, "'pushseal push' is not implemented yet");
	return ts_msg_fail(&err);
}
