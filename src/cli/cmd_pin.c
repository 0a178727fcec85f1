/*
 * cmd_pin.c - 'tagseal pin' (not yet implemented).
 */
#include "cli.h"

static int run(int argc, char **argv);

const ts_command ts_cmd_pin = {
	"pin", run, "(not yet implemented)",
	"usage: tagseal pin ...\n" TS_COMMON_USAGE,
};

static int run(int argc, char **argv)
{
	ts_error err = TS_ERROR_INIT;
	(void)argc;
	(void)argv;
	ts_error_set(&err, TS_EINTERNAL, "'tagseal pin' is not implemented yet");
	return ts_msg_fail(&err);
}
