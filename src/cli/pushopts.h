/*
 * pushopts.h - the options `push` takes (tag source, outputs, signing, registry
 * access), turned into the push workflow's options (release.h). What the
 * workflow does with them is the engine's.
 */
#ifndef TAGSEAL_PUSHOPTS_H
#define TAGSEAL_PUSHOPTS_H

#include "cli.h"
#include "regopts.h"
#include "tagopts.h"
#include "tagseal/keys.h"
#include "tagseal/release.h"

/* push's options, help and man page (opttab.h) */
extern const ts_cmdspec ts_push_spec;

typedef struct ts_push_cli {
	const ts_command *cmd;
	ts_release_opts rel; /* complete after ts_push_cli_finish */
	ts_tagopts to;
	ts_regopts ro;       /* registry access; copied into rel.reg once complete */
	const char **pins;
	const char *compression, *format, *pin_form;
	const char *sign_key, *predicate; /* --sign-key, --predicate paths */
	ts_key *key;                      /* loaded by ts_push_cli_finish */
	json_t *pred;
} ts_push_cli;

/* Returns -1 to go on, or an exit code (help printed, usage error). */
int ts_push_cli_parse(const ts_command *cmd, int argc, char **argv, ts_push_cli *c);
/* Load the signing key and predicate (exit 2 for an unusable one), read
 * credentials and the CI's output paths: c->rel is then complete. */
ts_code ts_push_cli_finish(ts_push_cli *c, ts_error *err);
/* Print one line the push workflow reports (ud: unused). */
void ts_push_cli_report(void *ud, ts_report_level level, const char *line);
void ts_push_cli_free(ts_push_cli *c);

#endif
