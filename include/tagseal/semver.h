/*
 * semver.h - semantic versions (semver.org 2.0.0): parsing, precedence and
 * formatting. Used for the version a tag is built from (git tags and
 * --version) and for judging which versions a registry already holds.
 */
#ifndef TAGSEAL_SEMVER_H
#define TAGSEAL_SEMVER_H

#include <stdbool.h>
#include <stdint.h>

#include "tagseal/error.h"

typedef struct ts_semver {
	uint64_t major, minor, patch;
	char *prerelease; /* "rc.1" (no leading '-'), NULL when none */
	char *build;      /* "exp.sha.5114f85" (no leading '+'), NULL when none */
} ts_semver;

#define TS_SEMVER_INIT { 0, 0, 0, NULL, NULL }

/* Parse "X.Y.Z[-PRE][+BUILD]"; a leading 'v' is accepted (git tags and
 * --version alike). Numeric parts and numeric prerelease identifiers may
 * not have leading zeros. `what` names the input in the message
 * ("--version", "git tag 'v1.2'"). Invalid input is TS_EUSAGE. */
ts_code ts_semver_parse(const char *s, ts_semver *out, const char *what, ts_error *err);

/* Like ts_semver_parse without a message: true when s is a version. */
bool ts_semver_try_parse(const char *s, ts_semver *out);

/* Precedence: <0, 0, >0 like strcmp. Build metadata is ignored. */
int ts_semver_cmp(const ts_semver *a, const ts_semver *b);

/* "X.Y.Z[-PRE][+BUILD]" (no 'v'). Caller frees. */
char *ts_semver_format(const ts_semver *v);

void ts_semver_copy(ts_semver *dst, const ts_semver *src);
void ts_semver_free(ts_semver *v);

#endif
