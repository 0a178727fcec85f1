/*
 * pinresolve_cli.h - the options of 'tagseal pin --resolve / --update' and
 * its run (cmd_pin_resolve.c). cmd_pin.c owns the one option table of
 * 'pin': it lists these groups and hands each of their options here.
 */
#ifndef TAGSEAL_PINRESOLVE_CLI_H
#define TAGSEAL_PINRESOLVE_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "opttab.h"
#include "regopts.h"
#include "tagseal/pinresolve.h"
#include "tagseal/regconf.h"

/* The option groups (opttab.h): third-party references, and git. */
extern const ts_optdef ts_pinres_defs[];
extern const ts_optdef ts_pinres_git_defs[];

typedef struct ts_pinres_cli {
	ts_pinres_opts o;
	ts_regopts ro;
	ts_regconf conf;
	const char *regconf_path;
	bool no_regconf;
	bool no_compare;
	const char *report;
	const char *cred_host;
	bool commit;
	const char *author;
	const char *push;
	const char *git_dir;
	const char *key_path;
	const char **only, **exclude, **mirrors;
	size_t nonly, nexclude, nmirrors;
} ts_pinres_cli;

void ts_pinres_cli_init(ts_pinres_cli *a);

/* In the option loop: -2 when `opt` is none of these groups' (nor a
 * registry option), -1 when taken, else the exit code of a usage error.
 * `src` names where it came from ("--jobs", "TAGSEAL_OPT_JOBS"). */
int ts_pinres_cli_opt(ts_pinres_cli *a, int opt, const char *arg, const char *src);

/* Any option that only --resolve/--update uses was given: its name, or NULL. */
const char *ts_pinres_cli_stray(const ts_pinres_cli *a);

/* Run with the operands argv[first..argc-1]; the exit code. */
int ts_pinres_cli_run(ts_pinres_cli *a, int argc, char **argv, int first);

void ts_pinres_cli_free(ts_pinres_cli *a);

#endif
