/*
 * pushopts.h - the options `push` takes (tag source, outputs, registry
 * access), turned into the push workflow's options (release.h). What the
 * workflow does with them is the engine's.
 */
#ifndef TAGSEAL_PUSHOPTS_H
#define TAGSEAL_PUSHOPTS_H

#include "cli.h"
#include "regopts.h"
#include "tagopts.h"
#include "tagseal/release.h"

#define TS_PUSH_TAG_USAGE \
	"tag source (exactly one of --tag and --scheme, or neither for the default):\n" \
	"  --tag TAG            this tag\n" \
	"  --scheme TEMPLATE    a preset name or a template such as '{version}-{build}.g{sha}'\n" \
	"  --version X.Y.Z      the version for {version} (default: the highest semver\n" \
	"                       git tag reachable from HEAD)\n" \
	"  --build N            the build number for {build} (default: the CI's)\n" \
	"  --git-dir DIR        the git repository (default: discovered from the cwd)\n" \
	"  --alias TAG          a mutable alias (template allowed), moved after the tag;\n" \
	"                       repeatable ('latest', '{major}', '{major}.{minor}')\n" \
	"  --on-collision P     fail (default: exit 3 when the tag is taken) or bump\n"
#define TS_PUSH_OUTPUT_USAGE \
	"outputs:\n" \
	"  --digest-file FILE   write sha256:<hex> after the push is verified\n" \
	"  --metadata-file FILE write a JSON object describing the push\n" \
	"  --record FILE        append one line to a tamper-evident change record\n" \
	"  --dotenv FILE        GitLab dotenv: TAGSEAL_TAG, TAGSEAL_DIGEST, TAGSEAL_REFERENCE\n" \
	"  --pin PATH           pin REPO:TAG@DIGEST into manifests (repeatable)\n" \
	"  --pin-form FORM      tag-digest (default) or digest\n"
#define TS_REGISTRY_USAGE \
	"registry access:\n" TS_REGOPTS_USAGE \
	"  --mount-from REPO    mount layers the registry has in REPO (same registry)\n" \
	"                       instead of uploading them\n" \
	"  --chunk-size MIB     send blobs in PATCHes of at most MIB MiB (a registry's\n" \
	"                       body limit; default: one streamed request per blob)\n"

typedef struct ts_push_cli {
	ts_release_opts rel; /* complete after ts_push_cli_finish */
	ts_tagopts to;
	ts_regopts ro;       /* registry access; copied into rel.reg once complete */
	const char **pins;
	const char *compression, *format, *pin_form;
} ts_push_cli;

/* Returns -1 to go on, or an exit code (help printed, usage error). */
int ts_push_cli_parse(const ts_command *cmd, int argc, char **argv, ts_push_cli *c);
/* Read credentials and the CI's output paths: c->rel is then complete. */
ts_code ts_push_cli_finish(ts_push_cli *c, ts_error *err);
/* Print one line the push workflow reports (ud: unused). */
void ts_push_cli_report(void *ud, ts_report_level level, const char *line);
void ts_push_cli_free(ts_push_cli *c);

#endif
