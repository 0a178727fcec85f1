/*
 * digest.h - SHA-256 through OpenSSL's EVP interface, as OCI digests.
 */
#ifndef TAGSEAL_DIGEST_H
#define TAGSEAL_DIGEST_H

#include <stddef.h>
#include <stdint.h>

/* "sha256:" + 64 hex + NUL */
#define TS_DIGEST_STRLEN 72

typedef struct ts_sha256 ts_sha256;

ts_sha256 *ts_sha256_new(void);
void ts_sha256_update(ts_sha256 *h, const void *data, size_t len);
/* Writes "sha256:<hex>" into out (TS_DIGEST_STRLEN bytes) and resets h. */
void ts_sha256_final(ts_sha256 *h, char out[TS_DIGEST_STRLEN]);
void ts_sha256_free(ts_sha256 *h);

/* One-shot digest of a buffer. */
void ts_sha256_digest(const void *data, size_t len, char out[TS_DIGEST_STRLEN]);

#endif
