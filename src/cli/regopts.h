/*
 * regopts.h - the registry-access options that push, tag and verify share:
 * --username, --password-stdin, --ca-file, --plain-http, --retries,
 * --timeout. One table, one parser, one place that reads the password.
 */
#ifndef TAGSEAL_REGOPTS_H
#define TAGSEAL_REGOPTS_H

#include "cli.h"
#include "tagseal/registry.h"

enum {
	TS_RO_USERNAME = 0x4000,
	TS_RO_PASSWORD_STDIN,
	TS_RO_CA_FILE,
	TS_RO_PLAIN_HTTP,
	TS_RO_RETRIES,
	TS_RO_TIMEOUT
};

/* The group's table (opttab.h). */
extern const ts_optdef ts_regopts_defs[];

typedef struct ts_regopts {
	ts_registry_opts reg; /* what ts_registry_open takes */
	bool password_stdin;
	char *password;       /* read by ts_regopts_finish; wiped by ts_regopts_free */
} ts_regopts;

/* Defaults; registry detail lines go to the verbose printer, warnings to
 * the warning printer. */
void ts_regopts_init(ts_regopts *ro);

/* In a getopt_long loop: -2 when opt is not a registry option, -1 when it
 * was taken, else the exit code of a usage error. */
int ts_regopts_opt(ts_regopts *ro, const char *cmd, int opt, const char *arg, const char *src);

/* After the loop: -1, or the exit code of a usage error. */
int ts_regopts_check(const ts_regopts *ro, const char *cmd);

/* Before the registry is used: check --ca-file can be read, read the
 * password when asked, and log the requests from this verbosity on (1: -v,
 * 2: -vv). */
ts_code ts_regopts_finish(ts_regopts *ro, int log_from, ts_error *err);

void ts_regopts_free(ts_regopts *ro);

#endif
