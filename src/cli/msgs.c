/*
 * msgs.c - every message tagseal prints to the user goes through here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "progress.h"

static int verbosity;

void ts_msg_set_verbosity(int level)
{
	verbosity = level;
}

int ts_msg_verbosity(void)
{
	return verbosity;
}

int ts_msg_fail(const ts_error *err)
{
	int code = err->code ? (int)err->code : 1;
	ts_progress_cli_clear(); /* the live progress lines, on a terminal */
	fprintf(stderr, "tagseal: error: %s\n", err->msg[0] ? err->msg : "unknown error");
	return code;
}

int ts_msg_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	ts_progress_cli_clear();
	fputs("tagseal: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, " (see 'tagseal %s --help')\n", cmd);
	else
		fputs(" (see 'tagseal help')\n", stderr);
	return 2;
}

/* One line on stderr after `prefix`, when verbosity is at least `level`. */
static void vline(int level, const char *prefix, const char *fmt, va_list ap) TS_PRINTF(3, 0);
static void vline(int level, const char *prefix, const char *fmt, va_list ap)
{
	if (verbosity < level)
		return;
	flockfile(stderr); /* lines from upload threads stay whole */
	ts_progress_cli_clear(); /* redrawn by the next progress event */
	fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void ts_msg_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline(0, "tagseal: ", fmt, ap);
	va_end(ap);
}

void ts_msg_verbose(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline(1, "tagseal: ", fmt, ap);
	va_end(ap);
}

void ts_msg_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline(-1, "tagseal: warning: ", fmt, ap);
	va_end(ap);
}

int ts_cli_parse_int(const char *cmd, const char *flag, const char *s, long lo, long hi,
		     long *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < lo || v > hi)
		return ts_msg_usage(cmd, "%s '%s': expected a whole number from %ld to %ld", flag, s,
				    lo, hi);
	*out = v;
	return -1;
}

int ts_msg_help(const ts_command *cmd)
{
	ts_opt_help(stdout, cmd->name, cmd->spec);
	return 0;
}

int ts_cli_common_opt(const ts_command *cmd, int opt)
{
	switch (opt) {
	case 'v':
		ts_msg_set_verbosity(ts_msg_verbosity() < 0 ? 1 : ts_msg_verbosity() + 1);
		return -1;
	case 'q':
		ts_msg_set_verbosity(-1);
		return -1;
	case 'h':
		return ts_msg_help(cmd);
	default:
		fprintf(stderr, "tagseal: error: %s: option %d is in the table but not handled (a bug)\n",
			cmd->name, opt);
		return 1;
	}
}

int ts_cli_parse(const ts_command *cmd, const ts_cmdspec *spec, int argc, char **argv,
		 ts_cli_take_fn take, void *ctx)
{
	ts_optiter *it = ts_opt_begin(cmd->name, spec, argc, argv);
	const char *arg;
	int opt, rc = -1;

	while (rc < 0 && (opt = ts_opt_next(it, &arg)) != 0) {
		if (opt < 0)
			rc = 2;
		else if ((rc = take(ctx, opt, arg, ts_opt_src(it))) == -2)
			rc = ts_cli_common_opt(cmd, opt);
	}
	optind = ts_opt_operands(it);
	ts_opt_free(it);
	return rc;
}
