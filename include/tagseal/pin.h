/*
 * pin.h - digest write-back: rewrite every reference to one repository in
 * YAML manifests (found by yamlrefs.h) to the pinned REPO:TAG@DIGEST.
 *
 * Only the bytes of the changed scalars change (quoting style kept), plus
 * the `newTag:`/`digest:` lines added to a kustomize entry that lacks them.
 * All or nothing: every file is read, parsed and rewritten in memory, each
 * rewrite is re-parsed to prove it changed nothing but the references, the
 * target directories are proven writable, and only then is each changed
 * file replaced atomically (ts_write_file_atomic). Files that need no
 * change are not written.
 */
#ifndef TAGSEAL_PIN_H
#define TAGSEAL_PIN_H

#include <stdbool.h>
#include <stddef.h>

#include "tagseal/buf.h"
#include "tagseal/error.h"
#include "tagseal/yamlpaths.h"
#include "tagseal/yamlrefs.h"

typedef enum ts_pin_form {
	TS_PIN_FORM_TAG_DIGEST, /* REPO:TAG@DIGEST (default) */
	TS_PIN_FORM_DIGEST      /* REPO@DIGEST */
} ts_pin_form;

typedef struct ts_pin_opts {
	const char *image; /* "REPO:TAG@DIGEST"; "REPO@DIGEST" implies the digest form */
	ts_pin_form form;
	bool dry_run;      /* fill the report and its diff, write nothing */
} ts_pin_opts;

/* One rewritten reference: at path:line, old_ref became new_ref. */
typedef struct ts_pin_change {
	char *path;
	size_t line, column;
	ts_yref_kind kind;
	char *old_ref;
	char *new_ref;
} ts_pin_change;

typedef struct ts_pin_report {
	ts_pin_change *changes; /* in file order */
	size_t nchanges, capchanges;
	ts_strv files;          /* files rewritten (with dry_run: that would be) */
	size_t nscanned;        /* YAML files examined */
	size_t nrefs;           /* references to REPO found, changed or already pinned */
	char *diff;             /* with dry_run: a unified diff of every change */
} ts_pin_report;

#define TS_PIN_REPORT_INIT { NULL, 0, 0, TS_STRV_INIT, 0, 0, NULL }

/*
 * Pin `opts->image` into the files and directories in `paths` (expanded by
 * ts_yaml_paths). On success the report lists what changed (or would). On
 * failure (TS_EUSAGE: a file that does not parse, is binary or unreadable,
 * a reference in a block scalar or behind an alias, a directory that cannot
 * be written) no file has changed and err names the file (and line).
 * The report is filled in either case; free it with ts_pin_report_free.
 */
ts_code ts_pin_apply(const ts_pin_opts *opts, const char *const *paths, size_t npaths,
		     ts_pin_report *report, ts_error *err);

/* Check opts->image (REPO:TAG@DIGEST, or REPO@DIGEST): TS_EUSAGE naming
 * --image when it is not a digest reference. ts_pin_apply does this first. */
ts_code ts_pin_opts_check(const ts_pin_opts *opts, ts_error *err);

/*
 * The in-memory step for one file: append to `out` the rewritten bytes of
 * `data` (`name` names it) and add its changes to `report`. `out` equals
 * `data` when nothing changes.
 */
ts_code ts_pin_rewrite(const ts_pin_opts *opts, const char *name, const char *data, size_t len,
		       ts_buf *out, ts_pin_report *report, ts_error *err);

/*
 * Many references at once (pin --resolve/--update, pinresolve.h): instead
 * of opts->image, `choose` is asked for every finding; it fills `target`
 * (host, path, tag, digest: what the finding is to read as; freed by the
 * caller) and returns true, or returns false to leave the finding alone.
 * The name stays as the file spells it. opts->form and dry_run apply.
 */
typedef struct ts_pin_choice {
	bool (*choose)(void *ud, const char *path, const ts_yref *r, ts_ref *target);
	void *ud;
} ts_pin_choice;

ts_code ts_pin_apply_chosen(const ts_pin_opts *opts, const ts_pin_choice *choice,
			    const char *const *paths, size_t npaths, ts_pin_report *report,
			    ts_error *err);
ts_code ts_pin_rewrite_chosen(const ts_pin_opts *opts, const ts_pin_choice *choice,
			      const char *name, const char *data, size_t len, ts_buf *out,
			      ts_pin_report *report, ts_error *err);

void ts_pin_report_free(ts_pin_report *report);

#endif
