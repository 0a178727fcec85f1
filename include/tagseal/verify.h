/*
 * verify.h - checking a change record: its chain (record.h) and that every
 * recorded immutable tag still resolves, in its registry, to the digest
 * recorded for it (drift). Aliases are mutable by design and not checked.
 * With a public key: every line's signature, and every recorded digest's
 * signatures in its registry (sign.h).
 *
 * ts_verify_record() runs everything it can and collects findings; the CLI
 * prints them. Nothing here prints.
 */
#ifndef TAGSEAL_VERIFY_H
#define TAGSEAL_VERIFY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "tagseal/error.h"
#include "tagseal/progress.h"
#include "tagseal/keys.h"
#include "tagseal/netopts.h"

typedef enum ts_finding_kind {
	TS_FINDING_CHAIN,    /* "prev" does not match (edited/removed/re-ordered history) */
	TS_FINDING_BAD_LINE, /* a line is not a JSON object, or lacks repository/tag/digest */
	TS_FINDING_TORN,     /* the last line has no final newline */
	TS_FINDING_CONFLICT, /* one tag recorded with two different digests */
	TS_FINDING_MOVED,    /* the tag now resolves to another digest */
	TS_FINDING_GONE,     /* the tag no longer exists */
	TS_FINDING_ERROR,    /* the tag could not be checked (registry error) */
	TS_FINDING_ANCHOR,   /* no line hashes to the --anchor digest */
	TS_FINDING_LINE_SIG, /* with a key: a line without a valid "sig" by it */
	TS_FINDING_UNSIGNED  /* with a key: a recorded digest without a valid signature */
} ts_finding_kind;

typedef struct ts_finding {
	ts_finding_kind kind;
	size_t line;      /* record line at fault (for drift: the tag's latest line) */
	char *repository; /* as recorded; NULL for chain findings and for a
			   * repository carrying user:password@ */
	char *tag;
	char *recorded;   /* recorded digest */
	char *current;    /* digest the registry has now (MOVED), else NULL */
	char *message;    /* one line, without the "FILE:LINE: " prefix; no
			   * control characters (record values and registry
			   * answers are sanitised) */
} ts_finding;

typedef struct ts_verify_report {
	char *path;
	size_t lines;           /* lines read */
	char head[72];          /* digest of the last whole line, "" if none */
	bool chain_ok;          /* no CHAIN/BAD_LINE/TORN/ANCHOR/LINE_SIG finding */
	size_t tags;            /* distinct (repository, tag) pairs recorded */
	size_t tags_checked;    /* of those, resolved in a registry */
	ts_finding *findings;   /* in record order; chain first */
	size_t n_findings;
	/* Detail lines for -v: which registry the flag/environment credentials
	 * went to, and each repository checked without them. */
	char **notes;
	size_t n_notes;
} ts_verify_report;

#define TS_VERIFY_REPORT_INIT { NULL, 0, { 0 }, true, 0, 0, NULL, 0, NULL, 0 }

typedef struct ts_verify_opts {
	/* Credentials, CA, plain HTTP. When --username/--password-stdin or
	 * TAGSEAL_USERNAME/TAGSEAL_PASSWORD are given, they go only to
	 * registry->cred_host; NULL there means the registry of the record's
	 * line 1 (none when line 1 names no valid repository). Repositories on
	 * other hosts are checked with their own Docker config entry or CI
	 * default (a note says so). */
	const ts_registry_opts *registry;
	int jobs;                         /* concurrent registry checks (default 4) */
	bool offline;                     /* check the chain only */
	/* "sha256:<hex>" of a line that must still be in the record (a head
	 * digest saved earlier); catches lines cut from the end and an edited
	 * last line, which the chain alone cannot. NULL: none. */
	const char *anchor;
	/* Progress (progress.h), or NULL: TS_PROGRESS_VERIFY events - BEGIN
	 * with the number of tags to check, DONE after each tag (index: how
	 * many are checked), END. Serialised. */
	ts_progress_event_fn progress;
	void *progress_ctx;
	/* --key PUB: every line must carry a valid "sig" by it (record.h),
	 * and each recorded tag's digest (its latest line, unless the tag is
	 * gone) a signature meeting every `require` (sign.h's
	 * ts_sig_report_meets; none given: "signature"). NULL: neither. */
	const ts_key *key;
	const char *const *require;
	size_t n_require;
} ts_verify_opts;

/* Check the record at `path`. TS_OK means the check ran (the report says
 * what it found); an error means it could not (unreadable file: TS_EUSAGE;
 * a line over TS_RECORD_MAX_LINE: TS_EUSAGE naming path:line). */
ts_code ts_verify_record(const char *path, const ts_verify_opts *opts, ts_verify_report *rep,
			 ts_error *err);

/* The exit code a report calls for: 5 if any finding other than ERROR,
 * else 4 if a tag could not be checked, else 0. */
ts_code ts_verify_report_code(const ts_verify_report *rep);

/* "chain", "bad-line", "torn", "conflict", "moved", "gone", "error",
 * "anchor", "line-signature", "unsigned". */
const char *ts_finding_kind_name(ts_finding_kind k);

/* The report as one JSON object (new reference). */
json_t *ts_verify_report_json(const ts_verify_report *rep);

void ts_verify_report_free(ts_verify_report *rep);

#endif
