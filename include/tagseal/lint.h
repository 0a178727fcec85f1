/*
 * lint.h - 'tagseal lint': report image references (found by yamlrefs.h)
 * that are not pinned by digest or that use the 'latest' tag; with a
 * public key, also every pinned reference whose digest carries no valid
 * signature by it in its registry (sign.h).
 */
#ifndef TAGSEAL_LINT_H
#define TAGSEAL_LINT_H

#include <jansson.h>
#include <stddef.h>

#include "tagseal/error.h"
#include "tagseal/keys.h"
#include "tagseal/netopts.h"
#include "tagseal/yamlrefs.h"

typedef struct ts_lint_opts {
	const char *const *allow; /* POSIX extended regexes; a reference matching one is exempt */
	size_t nallow;
	/* --key PUB: every reference pinned by digest (REPO@DIGEST, each
	 * distinct one verified once) must carry signatures meeting every
	 * `require` (none: "signature"), checked in its registry with
	 * `registry` (flag/environment credentials only for its cred_host).
	 * NULL: no signature check. */
	const ts_key *key;
	const ts_registry_opts *registry;
	const char *const *require;
	size_t n_require;
} ts_lint_opts;

typedef struct ts_lint_finding {
	char *path;
	size_t line, column;
	ts_yref_kind kind;
	char *reference;    /* as the file spells it */
	char *reason;       /* one line */
	bool unchecked;     /* the signature could not be checked (registry failure) */
} ts_lint_finding;

typedef struct ts_lint_report {
	ts_lint_finding *findings;
	size_t nfindings, capfindings;
	size_t nfiles;   /* YAML files examined */
	size_t nrefs;    /* references seen */
	size_t nallowed; /* references exempted by --allow */
	size_t nsigned;  /* with a key: distinct pinned digests verified */
} ts_lint_report;

#define TS_LINT_REPORT_INIT { NULL, 0, 0, 0, 0, 0, 0 }

/*
 * Lint the files and directories in `paths` (expanded by ts_yaml_paths).
 * Returns TS_OK whether or not there are findings (the caller maps them to
 * an exit code with ts_lint_report_code); TS_EUSAGE for a bad --allow
 * regex or a file that cannot be read or parsed.
 */
ts_code ts_lint_run(const ts_lint_opts *opts, const char *const *paths, size_t npaths,
		    ts_lint_report *report, ts_error *err);

/* 5 (TS_EVERIFY) for any finding that is not `unchecked`, else 4 when a
 * signature could not be checked, else 0. */
ts_code ts_lint_report_code(const ts_lint_report *report);

/* The reason a reference fails lint, or NULL when it passes. */
const char *ts_lint_check(const ts_yref *ref);

/* {"files":N,"references":N,"allowed":N,"findings":[{file,line,column,kind,reference,reason}]};
 * with a key also "signaturesChecked":N and "unchecked": true on findings
 * that could not be checked. */
json_t *ts_lint_report_json(const ts_lint_report *report);

void ts_lint_report_free(ts_lint_report *report);

#endif
