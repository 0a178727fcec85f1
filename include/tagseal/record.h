/*
 * record.h - the change record: an append-only file of JSON lines, one per
 * push, each chained to the one before it.
 *
 * Chain rule: every line carries "prev", which is null on line 1 and
 * otherwise "sha256:<hex>" of the exact bytes of the previous line, from
 * its first byte up to but not including its terminating "\n". Lines are
 * compact JSON objects (no raw new lines inside); every line, the last one
 * included, ends with "\n". Any edit, removal, insertion or re-ordering of
 * a line therefore changes some "prev" that follows it. Keys other than
 * "prev" are never interpreted by the chain, so lines written by an older
 * (or newer) tagseal chain just the same.
 *
 * Appends take an exclusive flock() on the file, read its last line, write
 * the new line with one write(2) on an O_APPEND descriptor, fsync, and
 * unlock: concurrent tagseal processes never interleave or fork the chain.
 */
#ifndef TAGSEAL_RECORD_H
#define TAGSEAL_RECORD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "tagseal/digest.h"
#include "tagseal/error.h"
#include "tagseal/keys.h"
#include "tagseal/outputs.h"

/* The longest line tagseal reads or writes (bytes, without the "\n"). */
#define TS_RECORD_MAX_LINE (1024 * 1024)

/* A time as the record writes it (and `tagseal tag` prints it), RFC 3339
 * UTC to the second: "2026-11-23T12:00:00Z" + NUL. The one formatter. */
#define TS_RFC3339_STRLEN 21
void ts_rfc3339_utc(time_t t, char out[TS_RFC3339_STRLEN]);

/* The record line for a push made at time `t` whose previous line hashes
 * to `prev` (NULL on the first line), without the final "\n". Keys in this
 * order: time, repository, tag, digest, aliases, mediaType, size,
 * platforms, source, git, ci, pinned, tagseal, [unchanged,] [signatures,
 * attestations,] prev (and "sig" after it when signed, below). Caller frees. */
char *ts_record_line_new(const ts_push_facts *f, time_t t, const char *prev);

/* "sha256:<hex>" of a line's bytes (without its "\n"): the next "prev". */
void ts_record_line_digest(const char *line, size_t len, char out[TS_DIGEST_STRLEN]);

/* Append one line for this push to `path` (created when absent), stamped
 * with the current time. Refused with TS_EUSAGE, file untouched, when the
 * last line is torn (no final "\n") or is not a JSON object: the message
 * names path and line. */
ts_code ts_record_append(const char *path, const ts_push_facts *f, ts_error *err);
/* The same with an explicit time (tests). */
ts_code ts_record_append_at(const char *path, const ts_push_facts *f, time_t t,
			    ts_error *err);

/* The same, the line signed with `key` (push --sign-key; NULL: unsigned). */
ts_code ts_record_append_signed(const char *path, const ts_push_facts *f, time_t t,
				const ts_key *key, ts_error *err);

/*
 * Signed lines. A line written with a key ends with the member
 * ,"sig":"<base64>"} where the signature (keys.h, ts_key_sign_b64) is over
 * the line's bytes without that member: exactly the line tagseal would
 * have written without a key, "prev" included. The next line's "prev"
 * hashes the whole line, "sig" included.
 */
/* Append the member to the line `*line` (a compact JSON object, replaced). */
ts_code ts_record_line_sign(char **line, const ts_key *key, ts_error *err);

typedef enum ts_line_sig {
	TS_LINE_SIG_OK,      /* a valid signature by the key */
	TS_LINE_SIG_MISSING, /* no "sig" as the last member */
	TS_LINE_SIG_BAD      /* a "sig" that this key did not make over this line */
} ts_line_sig;

ts_line_sig ts_record_line_check_sig(const char *data, size_t len, const ts_key *key);

/* Check, before pushing, that ts_record_append() will accept `path`: it is
 * absent (it will be created), or a regular file (not a symlink) whose
 * last line is whole JSON. Same errors as ts_record_append(). */
ts_code ts_record_check_appendable(const char *path, ts_error *err);

/* ---- reading ---- */

typedef struct ts_record_reader ts_record_reader;

typedef struct ts_record_rline {
	size_t number;    /* 1-based line number */
	const char *data; /* the line without "\n"; valid until the next call */
	size_t len;
	bool terminated;  /* false: the file ends without "\n" (torn line) */
} ts_record_rline;

ts_code ts_record_reader_open(const char *path, ts_record_reader **out, ts_error *err);
/* Next line: TS_OK and *more = true with `line` filled, or TS_OK and
 * *more = false at the end. A line longer than TS_RECORD_MAX_LINE is
 * TS_EUSAGE naming path:line. */
ts_code ts_record_reader_next(ts_record_reader *rd, ts_record_rline *line, bool *more,
			      ts_error *err);
void ts_record_reader_free(ts_record_reader *rd);

/* Parse one line as a JSON object; NULL (with a reason in `why`) when it is
 * not one. */
json_t *ts_record_line_parse(const char *data, size_t len, char *why, size_t why_cap);

#endif
