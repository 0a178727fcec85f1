/*
 * registry.h - a client for one repository of an OCI distribution registry
 * (libcurl). One ts_registry per repository; it keeps its connections alive
 * and its auth state (Basic or Bearer token) between requests.
 *
 * Every function returns TS_OK or an error: TS_EREGISTRY for network, TLS,
 * auth and unexpected HTTP answers (after retries), TS_EREFUSED where the
 * registry refuses a tag as immutable. Messages name the HTTP status and the
 * registry's error code, never a credential.
 */
#ifndef TAGSEAL_REGISTRY_H
#define TAGSEAL_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tagseal/buf.h"
#include "tagseal/digest.h"
#include "tagseal/error.h"
#include "tagseal/blobio.h"
#include "tagseal/netopts.h"
#include "tagseal/ref.h"

typedef struct ts_registry ts_registry;

ts_code ts_registry_open(const ts_ref *repo, const ts_registry_opts *opts,
			 ts_registry **out, ts_error *err);
void ts_registry_free(ts_registry *r);

/* Another connection to the same repository, for uploads in parallel: it
 * shares r's credentials and tokens (under a lock) and adds its counts to
 * r when freed, which must happen before r is freed. */
ts_code ts_registry_clone(ts_registry *r, ts_registry **out, ts_error *err);

typedef struct ts_manifest_info {
	bool exists;
	char digest[TS_DIGEST_STRLEN]; /* from Docker-Content-Digest, "" if absent */
	char media_type[128];
	int64_t size;
} ts_manifest_info;

/* HEAD /v2/<name>/manifests/<reference>. A 404 is exists=false, TS_OK.
 * Any other non-2xx (403 included: never read as "absent") is an error. */
ts_code ts_registry_manifest_head(ts_registry *r, const char *reference,
				  ts_manifest_info *out, ts_error *err);

/* GET a manifest; body and info filled. 404 is exists=false, TS_OK. */
ts_code ts_registry_manifest_get(ts_registry *r, const char *reference,
				 ts_buf *body, ts_manifest_info *out, ts_error *err);

/* PUT a manifest under a digest or tag. `digest_out` (may be NULL) gets the
 * digest the registry reports; it is checked against our own digest. */
ts_code ts_registry_manifest_put(ts_registry *r, const char *reference,
				 const char *media_type, const void *data, size_t len,
				 char digest_out[TS_DIGEST_STRLEN], ts_error *err);

/* PUT a manifest under a tag that must not exist yet: sends
 * If-None-Match: * (honoured by some registries; others ignore it, which is
 * why push also HEADs the tag before and reads it back after). A 412 or an
 * immutability refusal is TS_EREFUSED. */
ts_code ts_registry_tag_create(ts_registry *r, const char *tag, const char *media_type,
			       const void *data, size_t len, ts_error *err);

/* Every tag of the repository (GET /v2/<name>/tags/list, following Link).
 * *tags is a NULL-terminated array; free with ts_registry_tags_free. */
ts_code ts_registry_tags_list(ts_registry *r, char ***tags, size_t *count, ts_error *err);
void ts_registry_tags_free(char **tags);

/* HEAD /v2/<name>/blobs/<digest>. */
ts_code ts_registry_blob_exists(ts_registry *r, const char *digest, bool *exists,
				ts_error *err);

/* Cross-repository mount: POST ?mount=DIGEST&from=FROM_PATH (same
 * registry). *mounted is true on 201; a 202 (the registry wants the bytes)
 * or an unknown source leaves it false, and the caller uploads instead. */
ts_code ts_registry_blob_mount(ts_registry *r, const char *digest, const char *from_path,
			       bool *mounted, ts_error *err);

/* Upload a blob held in memory (skipped when the registry has it). */
ts_code ts_registry_blob_put(ts_registry *r, const char *digest, const void *data,
			     size_t len, ts_error *err);

/*
 * Upload a blob whose bytes come from a reader. `read` fills buf with up to
 * `cap` bytes and returns how many (0 at the end), or -1 on error (the reader
 * sets *rerr). A thread reads ahead (a few hundred KiB) while libcurl sends,
 * so reading, compressing and sending overlap; memory stays constant.
 *
 * By default the bytes go up in one streamed PATCH (as `docker push` does:
 * Content-Length when `size` is known, else chunked transfer encoding), then
 * PUT ?digest=. With opts.chunk_size, or after a 413 answer, they go up in
 * PATCHes of that size with Content-Range, each held until acknowledged so
 * a failed one resumes in place; a 413 halves the piece, and a registry's
 * OCI-Chunk-Min-Length raises it.
 *
 * A failed streamed PATCH cannot be replayed from memory: the error is
 * retryable and `resume` (when not NULL) says where the session stands;
 * calling again with a fresh reader over the same bytes skips (but hashes)
 * the bytes the registry already holds and continues the same session.
 *
 * When `digest` is known it is checked; otherwise the digest of the bytes
 * read goes into digest_out. A mismatch, a size other than `size` (when
 * >= 0) or a failing `check` cancels the upload (DELETE) and returns
 * TS_EUSAGE (or check's code).
 */
/* Cancel the session (DELETE) and clear the state: an upload given up. */
void ts_registry_upload_abandon(ts_registry *r, ts_upload_state *s);

ts_code ts_registry_blob_upload(ts_registry *r, const char *digest, int64_t size,
				ts_blob_reader read, void *ctx, ts_blob_check check,
				ts_upload_state *resume, char digest_out[TS_DIGEST_STRLEN],
				int64_t *size_out, ts_error *err);

/* How many times a blob may be attempted (retries + 1). */
int ts_registry_attempts(const ts_registry *r);

/* Bytes of request bodies sent so far (for reports and benchmarks). */
int64_t ts_registry_bytes_sent(const ts_registry *r);

#endif
