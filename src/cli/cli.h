/*
 * cli.h - the command-line front end: one file per command (cmd_*.c),
 * messages in msgs.c. Only this layer prints to the user or picks exit codes.
 */
#ifndef TAGSEAL_CLI_H
#define TAGSEAL_CLI_H

#include <getopt.h>
#include <stdbool.h>

#include "opttab.h"
#include "tagseal/error.h"

typedef struct ts_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
	const ts_cmdspec *spec; /* options, --help, the man page */
} ts_command;

extern const ts_command ts_cmd_push, ts_cmd_tag, ts_cmd_pin, ts_cmd_verify,
	ts_cmd_lint, ts_cmd_inspect, ts_cmd_keygen, ts_cmd_sign, ts_cmd_attest;

/* Verbosity: -q = -1, default 0, -v = 1, -vv = 2. */
void ts_msg_set_verbosity(int level);
int ts_msg_verbosity(void);

/* "tagseal: error: <msg>" on stderr; returns the exit code for err. */
int ts_msg_fail(const ts_error *err);
/* A usage error: message plus a hint to run --help; returns 2. */
int ts_msg_usage(const char *cmd, const char *fmt, ...) TS_PRINTF(2, 3);
/* Informational line on stderr (suppressed by -q). */
void ts_msg_info(const char *fmt, ...) TS_PRINTF(1, 2);
/* Detail on stderr with -v. */
void ts_msg_verbose(const char *fmt, ...) TS_PRINTF(1, 2);
/* Warning on stderr (shown even with -q). */
void ts_msg_warn(const char *fmt, ...) TS_PRINTF(1, 2);
/* Parse a whole number in [lo, hi] given to `flag`: returns -1 and sets
 * *out, or prints a usage error and returns 2. */
int ts_cli_parse_int(const char *cmd, const char *flag, const char *s, long lo, long hi,
		     long *out);
/* Print a command's --help text to stdout; returns 0. */
int ts_msg_help(const ts_command *cmd);

/* One option for a command: -1 to go on, -2 when it is none of the
 * callback's (ts_cli_parse then tries the common options), or an exit code
 * to return now. `src` names where it came from ("--jobs" or
 * "TAGSEAL_OPT_JOBS") for messages. */
typedef int (*ts_cli_take_fn)(void *ctx, int opt, const char *arg, const char *src);

/* Parse `spec`'s options (command line, then environment) for `cmd`,
 * handing each to `take`: -1 with optind at the first operand, or an exit
 * code (a usage error was printed; 0 after --help). */
int ts_cli_parse(const ts_command *cmd, const ts_cmdspec *spec, int argc, char **argv,
		 ts_cli_take_fn take, void *ctx);

/* The common options' group, for a command's table. */
#define TS_COMMON_GROUP { "common options", ts_common_opts }

/* Handles -v/-q/-h in an option loop (ts_opt_next). Returns -1 to continue
 * parsing, or an exit code to return now (0 after --help). */
int ts_cli_common_opt(const ts_command *cmd, int opt);

/* The commands, for help and the documents made from the tables. */
extern const ts_command *const ts_commands[];
extern const size_t ts_n_commands;

#endif
