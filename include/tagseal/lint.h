/*
 * lint.h - 'tagseal lint': report image references (found by yamlrefs.h)
 * that are not pinned by digest or that use the 'latest' tag.
 */
#ifndef TAGSEAL_LINT_H
#define TAGSEAL_LINT_H

#include <jansson.h>
#include <stddef.h>

#include "tagseal/error.h"
#include "tagseal/yamlrefs.h"

typedef struct ts_lint_opts {
	const char *const *allow; /* POSIX extended regexes; a reference matching one is exempt */
	size_t nallow;
} ts_lint_opts;

typedef struct ts_lint_finding {
	char *path;
	size_t line, column;
	ts_yref_kind kind;
	char *reference;    /* as the file spells it */
	const char *reason; /* static text */
} ts_lint_finding;

typedef struct ts_lint_report {
	ts_lint_finding *findings;
	size_t nfindings, capfindings;
	size_t nfiles;   /* YAML files examined */
	size_t nrefs;    /* references seen */
	size_t nallowed; /* references exempted by --allow */
} ts_lint_report;

#define TS_LINT_REPORT_INIT { NULL, 0, 0, 0, 0, 0 }

/*
 * Lint the files and directories in `paths` (expanded by ts_yaml_paths).
 * Returns TS_OK whether or not there are findings (the caller maps findings
 * to exit 5); TS_EUSAGE for a bad --allow regex or a file that cannot be
 * read or parsed.
 */
ts_code ts_lint_run(const ts_lint_opts *opts, const char *const *paths, size_t npaths,
		    ts_lint_report *report, ts_error *err);

/* The reason a reference fails lint, or NULL when it passes. */
const char *ts_lint_check(const ts_yref *ref);

/* {"files":N,"references":N,"allowed":N,"findings":[{file,line,column,kind,reference,reason}]} */
json_t *ts_lint_report_json(const ts_lint_report *report);

void ts_lint_report_free(ts_lint_report *report);

#endif
