/*
 * wwwauth.h - parsing WWW-Authenticate headers (RFC 7235): the challenges
 * a registry or token service answers 401 with.
 */
#ifndef TAGSEAL_WWWAUTH_H
#define TAGSEAL_WWWAUTH_H

#include <stddef.h>

#include "tagseal/error.h"

typedef struct ts_auth_param {
	char *name;  /* lower-cased */
	char *value; /* unquoted, escapes removed */
} ts_auth_param;

typedef struct ts_challenge {
	char *scheme;  /* lower-cased: "basic", "bearer" */
	char *token68; /* NULL unless the challenge carries a token68 */
	ts_auth_param *params;
	size_t n_params;
} ts_challenge;

/* Parse a WWW-Authenticate value: one or more challenges, comma-separated,
 * with quoted-strings (escapes, commas inside), token68 and
 * case-insensitive names. Lenient where real servers are sloppy (unquoted
 * URLs). *out is an array of *n challenges; free with ts_challenges_free. */
ts_code ts_challenges_parse(const char *header, ts_challenge **out, size_t *n, ts_error *err);
void ts_challenges_free(ts_challenge *c, size_t n);
/* The value of a parameter (name case-insensitive), or NULL. */
const char *ts_challenge_param(const ts_challenge *c, const char *name);

#endif
