/*
 * release.h - the push workflow: tag and alias policy, preflight of every
 * output, the push, the aliases, pin, outputs, record.
 *
 * The CLI turns arguments into a ts_release_opts, and prints what the
 * workflow reports through `report`; everything it decides is here.
 *
 * ts_release_prepare(), before anything is written to the registry:
 *   - REPO (and --mount-from, which must be on the same registry) parsed;
 *   - every output checked writable: --record, --digest-file,
 *     --metadata-file, --dotenv, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY (the
 *     directory exists and can be written; a file already there is a
 *     regular file, not a symbolic link, and writable) and the record's
 *     last line whole; exit 2 naming the option and the path;
 *   - the tag resolved (tagname.h): with --on-collision bump, or aliases,
 *     the registry's tags are read to pick a free tag and to apply the
 *     alias rule (ts_alias_may_move);
 *   - every --pin file parsed (all or none are written later).
 *
 * ts_release_run(): the push (push.h); then, once the tag is in the
 * registry (pushed, or already holding exactly this content), the steps
 * after it, in order: the aliases (moved one by one - also on a same-content
 * re-run, so that a re-run completes a push that died before them; the
 * registry refusing one stops the rest), with sign_key the signature of the
 * digest (and of each manifest of an index with sign_recursive), the SLSA
 * provenance (attest) and the --predicate attestation - also on a
 * same-content re-run, which therefore adds one more signature - then the
 * pins, the digest file, the metadata / dotenv / GitHub outputs, the record
 * line (signed with sign_key). Outputs and the record name the signature
 * and attestation manifests. Outputs name only
 * the aliases really moved.
 *
 * A pushed tag is always recorded: when a step after the tag fails, the
 * steps after it still run - the digest file and the record line are
 * written - and the error returned is the failing step's (its exit code),
 * prefixed with the reference and digest that are in the registry.
 *
 * The registry connection: the release opens it (in prepare when the tag
 * list is needed, else in run), lends it to ts_push (push.h), and frees it
 * in ts_release_free. Nothing else owns or frees it.
 *
 * Nothing here prints or exits: lines for a person go through `report`.
 */
#ifndef TAGSEAL_RELEASE_H
#define TAGSEAL_RELEASE_H

#include <stdbool.h>
#include <stddef.h>

#include "tagseal/error.h"
#include "tagseal/netopts.h"
#include "tagseal/pin.h"
#include "tagseal/progress.h"
#include "tagseal/push.h"
#include "tagseal/sign.h"
#include "tagseal/tagname.h"

typedef enum ts_report_level {
	TS_REPORT_DETAIL, /* step-by-step progress (the CLI shows it with -v) */
	TS_REPORT_INFO,   /* what was done: aliases moved, files pinned, notes */
	TS_REPORT_WARN    /* something the user should look at */
} ts_report_level;

typedef void (*ts_report_fn)(void *ud, ts_report_level level, const char *line);

typedef struct ts_release_opts {
	/* image_path, image_name, compression, format, jobs, dry_run,
	 * no_cache: as given. repo, tag, mount_from, registry, progress and
	 * on_event are the release's to set. */
	ts_push_opts push;
	const char *repo;           /* --repo, as written (it appears in the outputs) */
	const char *mount_from;     /* --mount-from REPO, or NULL */
	ts_registry_opts reg;       /* registry access, complete (credentials read) */
	ts_tagname_opts tag_source; /* --tag / --scheme / ... and the alias templates */
	ts_collision on_collision;
	const char *digest_file, *metadata_file, *record_file, *dotenv_file;
	const char *github_output;       /* GITHUB_OUTPUT, or NULL */
	const char *github_step_summary; /* GITHUB_STEP_SUMMARY, or NULL */
	const char *const *pins;    /* --pin paths */
	size_t n_pins;
	ts_pin_form pin_form;
	bool pin_optional;          /* --pin-optional: pins may find no reference */
	/* --commit: land the pinned files (and the record, when it is inside
	 * the repository) in git as one commit (gitland.h); git_push:
	 * --git-push REMOTE[:BRANCH] then pushes it; author: --author. */
	bool commit;
	const char *git_push;
	const char *author;
	/* Signing (push --sign-key): the key, loaded by the caller before
	 * ts_release_prepare so that an unusable key stops the run before
	 * anything is pushed; NULL: nothing is signed. */
	const ts_key *sign_key;
	ts_sigformat sig_format;    /* 0: TS_SIGFMT_DEFAULT */
	bool sign_recursive;        /* also sign each manifest an index lists */
	bool attest;                /* SLSA provenance v1 from the facts below */
	const char *predicate_type; /* --predicate-type, with predicate */
	json_t *predicate;          /* --predicate's JSON (borrowed), or NULL */
	ts_report_fn report;        /* or NULL */
	void *report_ud;
	ts_progress_event_fn progress; /* the push's progress events (progress.h), or NULL */
	void *progress_ud;
} ts_release_opts;

typedef struct ts_release ts_release;

typedef struct ts_release_result {
	const char *tag;                /* the immutable tag (owned by the release) */
	char digest[TS_DIGEST_STRLEN];  /* "" until the push computed it */
	bool tagged;                    /* the tag is in the registry as digest */
	bool unchanged;                 /* it already was before this run */
	size_t n_aliases_moved;
} ts_release_result;

/* Parse, resolve and check everything (above). `o` and the strings it
 * points to must outlive the release. On failure *out is NULL. */
ts_code ts_release_prepare(const ts_release_opts *o, ts_release **out, ts_error *err);

/* The tag ts_release_prepare resolved. */
const char *ts_release_tag(const ts_release *r);

/* Push and everything after (above). `res` is filled as far as the run
 * got, on failure too. */
ts_code ts_release_run(ts_release *r, ts_release_result *res, ts_error *err);

void ts_release_free(ts_release *r);

#endif
