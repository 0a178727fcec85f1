/*
 * b64.h - standard base64 (RFC 4648, padded) through OpenSSL's EVP
 * encoder, for the signature formats (DSSE, bundles, cosign keys).
 */
#ifndef TAGSEAL_B64_H
#define TAGSEAL_B64_H

#include <stdbool.h>
#include <stddef.h>

/* A new NUL-terminated string. */
char *ts_b64_encode(const void *data, size_t len);

/* Decode padded base64 (whitespace not allowed). false when `s` is not
 * base64; *out (NUL-terminated, caller frees) and *len otherwise. */
bool ts_b64_decode(const char *s, unsigned char **out, size_t *len);

#endif
