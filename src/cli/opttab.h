/*
 * opttab.h - the one declarative description of every command's options:
 * the parser (command line, then the environment), --help, the man page
 * (docs/tagseal.1) and the CLI reference (docs/cli.md) are all made from it.
 *
 * Environment: every option --long-name may also be given as the variable
 * TAGSEAL_OPT_LONG_NAME (upper case, '-' as '_'); a flag on the command
 * line wins. A switch takes 1/true/yes/on or 0/false/no/off; a repeatable
 * option takes a list, its items separated by commas or new lines (blanks
 * around an item are dropped). An empty variable is unset. The variables
 * tagseal itself exports to later CI jobs (TAGSEAL_TAG, TAGSEAL_DIGEST,
 * TAGSEAL_REFERENCE) are outside this scheme and never read as options.
 */
#ifndef TAGSEAL_OPTTAB_H
#define TAGSEAL_OPTTAB_H

#include <stdbool.h>
#include <stdio.h>

typedef enum ts_optkind {
	TS_OPT_SWITCH, /* no value */
	TS_OPT_VALUE,  /* one value; given twice, the last wins */
	TS_OPT_LIST    /* a value, repeatable */
} ts_optkind;

#define TS_OF_NO_ENV 1u /* not read from the environment (credentials: see help) */
#define TS_OF_HIDDEN 2u /* accepted, not listed */

typedef struct ts_optdef {
	const char *name; /* long name; NULL ends a group */
	int id;           /* what the parser returns: > 0 */
	char shortname;   /* or 0 */
	ts_optkind kind;
	const char *metavar;
	const char *help; /* lines separated by '\n' */
	unsigned flags;
	int excl;         /* > 0: options sharing it exclude each other; none of them
			   * comes from the environment when one is on the command line */
} ts_optdef;

typedef struct ts_optgroup {
	const char *title; /* "registry access" */
	const ts_optdef *defs;
} ts_optgroup;

/* Everything --help and the man page say about a command. */
typedef struct ts_cmdspec {
	const char *synopsis;    /* after "tagseal ": "push IMAGE --repo REPO [OPTIONS]" */
	const char *description; /* paragraphs, '\n'-wrapped at 79 columns */
	const ts_optgroup *groups; /* ends with { NULL, NULL } */
	const char *notes;       /* after the options, or NULL */
	const char *exits;       /* the command's exit codes, "0 ...\n2 ...\n" */
} ts_cmdspec;

/* Options every command takes. */
enum { TS_OPT_VERBOSE = 'v', TS_OPT_QUIET = 'q', TS_OPT_HELP = 'h' };
extern const ts_optdef ts_common_opts[];

/* ---- parsing ---- */

typedef struct ts_optiter ts_optiter;

/* Start parsing argv[1..] (argv[0] is the command's name) of a command. */
ts_optiter *ts_opt_begin(const char *cmd, const ts_cmdspec *spec, int argc, char **argv);
/*
 * The next option: its id (> 0) with *arg its value (NULL for a switch);
 * 0 when every option of the command line and then of the environment was
 * given; -1 after a usage error was printed (unknown option, with the
 * nearest valid name; a missing value; a bad switch value in the
 * environment): exit 2.
 */
int ts_opt_next(ts_optiter *it, const char **arg);
/* Where the option just returned came from, for messages: "--jobs" or
 * "TAGSEAL_OPT_JOBS". */
const char *ts_opt_src(const ts_optiter *it);
/* The index of the first operand in argv (after ts_opt_next returned 0). */
int ts_opt_operands(const ts_optiter *it);
void ts_opt_free(ts_optiter *it);

/* The environment variable of an option ("TAGSEAL_OPT_CA_FILE"). */
void ts_opt_env_name(const char *option, char *out, size_t cap);

/* ---- documents made from the table ---- */

void ts_opt_help(FILE *out, const char *cmd, const ts_cmdspec *spec);
/* The whole man page / CLI reference, for every command given. */
void ts_opt_man(FILE *out, const char *const *names, const char *const *summaries,
		const ts_cmdspec *const *specs, size_t n);
void ts_opt_markdown(FILE *out, const char *const *names, const char *const *summaries,
		     const ts_cmdspec *const *specs, size_t n);
/* A bash completion script: commands, then each command's options. */
void ts_opt_bash(FILE *out, const char *const *names, const ts_cmdspec *const *specs, size_t n);

#endif
