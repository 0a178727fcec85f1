/*
 * pinresolve.h - 'tagseal pin --resolve / --update' below the command line:
 * find every image reference in the manifests (yamlrefs.h), resolve the
 * distinct ones at their registries or mirrors (resolve.h), and rewrite
 * them through the pin engine (pin.h), all files or none.
 *
 * --resolve: a reference without a digest becomes NAME:TAG@DIGEST (or
 * NAME@DIGEST with the digest form), the name kept as written; a reference
 * without a tag gets the tag it stands for (latest) written, so that
 * --update can follow it. --update: a reference pinned as NAME:TAG@DIGEST is
 * resolved again and its digest replaced when the tag moved. With check,
 * nothing is written and the outcome says whether anything would change
 * or is unpinned.
 */
#ifndef TAGSEAL_PINRESOLVE_H
#define TAGSEAL_PINRESOLVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "tagseal/digest.h"
#include "tagseal/error.h"
#include "tagseal/pin.h"
#include "tagseal/resolve.h"
#include "tagseal/yamlrefs.h"

enum { TS_PINRES_RESOLVE = 1, TS_PINRES_UPDATE = 2 };

typedef struct ts_pinres_opts {
	unsigned mode;             /* TS_PINRES_RESOLVE and/or TS_PINRES_UPDATE */
	bool check;                /* write nothing; report what would change */
	bool dry_run;              /* write nothing; the pin report carries a diff */
	bool strict_mirrors;       /* a mirror mismatch fails (TS_EVERIFY), nothing written */
	ts_pin_form form;
	const char *const *only;   /* fnmatch(3) patterns: a reference must match one */
	size_t nonly;
	const char *const *exclude; /* a reference matching one is left alone */
	size_t nexclude;
	ts_resolve_opts resolve;   /* registry options, registries.conf, jobs */
	/* When set, a digest is written only if it carries a valid signature by
	 * this key (verified at the source that answered): otherwise TS_EVERIFY
	 * naming the reference, and nothing is written. */
	const struct ts_key *key;
} ts_pinres_opts;

typedef enum ts_pinres_status {
	TS_PRS_PINNED,    /* was unpinned, now pinned (or would be) */
	TS_PRS_UPDATED,   /* pinned, the tag moved: digest replaced (or would be) */
	TS_PRS_CURRENT,   /* pinned and current */
	TS_PRS_KEPT,      /* pinned, not looked at (--resolve without --update) */
	TS_PRS_UNPINNED,  /* not pinned, left so (--update without --resolve) */
	TS_PRS_SKIPPED,   /* cannot be resolved from the file alone (note says why) */
	TS_PRS_EXCLUDED,  /* --only / --exclude */
	TS_PRS_FAILED     /* resolution failed (note holds the error) */
} ts_pinres_status;

/* "pinned", "updated", "current", "kept", "unpinned", "skipped", "excluded", "failed" */
const char *ts_pinres_status_name(ts_pinres_status s);

typedef struct ts_pinres_entry {
	char *path;
	size_t line;
	ts_yref_kind kind;
	char *reference;     /* as the file spells it */
	char *canonical;     /* docker.io/library/nginx:1.25, or NULL when malformed */
	char old_digest[TS_DIGEST_STRLEN]; /* "" when unpinned */
	char new_digest[TS_DIGEST_STRLEN]; /* "" when not resolved */
	char *answered;      /* host/path that answered, or NULL */
	bool via_mirror;
	ts_pinres_status status;
	char *note;          /* why skipped or failed, or NULL */
} ts_pinres_entry;

typedef struct ts_pinres_report {
	ts_pinres_entry *entries; /* in file order */
	size_t n;
	char **warnings;          /* mirror mismatches, one line each */
	size_t nwarnings;
	size_t nresolved;         /* distinct references asked */
	size_t nfiles;            /* YAML files examined */
	bool changes;             /* something was (or would be) rewritten */
	bool check_found;         /* the TS_EVERIFY is --check's finding (not a failure) */
	ts_pin_report pin;        /* files written, changes, diff (dry run) */
} ts_pinres_report;

#define TS_PINRES_REPORT_INIT { NULL, 0, NULL, 0, 0, 0, false, false, TS_PIN_REPORT_INIT }

/*
 * Run. TS_OK: done (with check: nothing would change and nothing is
 * unpinned). TS_EVERIFY: with check, something would change or is unpinned;
 * or a mirror mismatch with strict_mirrors. TS_EUSAGE: a file that does not
 * parse, a malformed reference ("FILE:LINE: ..."), a blocked prefix.
 * TS_EREGISTRY: a reference that could not be resolved ("FILE:LINE:
 * REFERENCE: ..."). TS_EVERIFY also when, with a key, a digest to be written
 * carries no valid signature. On any error no file has changed; the report is filled
 * as far as it got.
 */
ts_code ts_pinres_run(const ts_pinres_opts *opts, const char *const *paths, size_t npaths,
		      ts_pinres_report *report, ts_error *err);

/* {"files":N,"resolved":N,"changed":bool,"references":[{file,line,kind,reference,
 *  canonical,status,oldDigest,newDigest,host,mirror,note,source}],"warnings":[...]}
 * host: the registry host that answered; source: host/path asked there. */
json_t *ts_pinres_report_json(const ts_pinres_report *report);

void ts_pinres_report_free(ts_pinres_report *report);

#endif
