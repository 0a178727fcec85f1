/*
 * referrers.h - the registry endpoints signatures need beyond registry.h:
 * reading a (small) blob and the OCI 1.1 referrers API. They go through
 * the same connection, transport and credentials as registry.h.
 */
#ifndef TAGSEAL_REFERRERS_H
#define TAGSEAL_REFERRERS_H

#include <stdbool.h>
#include <stddef.h>

#include "tagseal/buf.h"
#include "tagseal/registry.h"

/* GET /v2/<name>/blobs/<digest> into `body` (at most `max` bytes); the
 * bytes must hash to `digest`. A 404 is TS_EREGISTRY with TS_C_NOT_FOUND. */
ts_code ts_registry_blob_get(ts_registry *r, const char *digest, size_t max, ts_buf *body,
			     ts_error *err);

/* GET /v2/<name>/referrers/<digest>. *supported is false (TS_OK, body
 * empty) when the registry has no referrers API (404, or an answer that is
 * not an OCI index); otherwise body holds the index (all pages merged
 * into one "manifests" array). */
ts_code ts_registry_referrers(ts_registry *r, const char *digest, bool *supported, ts_buf *body,
			      ts_error *err);

#endif
