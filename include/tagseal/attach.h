/*
 * attach.h - where signatures and attestations live in a registry, next to
 * the image they are about (the image's digest D = sha256:<hex>):
 *
 *   - cosign's classic tags: `sha256-<hex>.sig` (one layer per signature,
 *     the simple-signing payload with the dev.cosignproject.cosign/signature
 *     annotation) and `sha256-<hex>.att` (one DSSE envelope per layer, with
 *     the predicateType annotation and an empty signature annotation);
 *   - OCI 1.1 referrers: an artifact manifest (artifactType the Sigstore
 *     bundle type, `subject` = the image) pushed by digest, listed by the
 *     registry's referrers API, or where it has none in the fallback tag
 *     `sha256-<hex>`, an OCI index.
 *
 * Tags shared by several writers are updated read-modify-write: the current
 * manifest is read, our entry added (every other entry kept), the result
 * put, and read again after a pause; an entry lost to a concurrent writer is
 * added again (bounded attempts, then TS_EVERIFY).
 */
#ifndef TAGSEAL_ATTACH_H
#define TAGSEAL_ATTACH_H

#include <jansson.h>
#include <stdbool.h>

#include "tagseal/registry.h"

#define TS_ATTACH_MAX 256 /* attachments read per image */

typedef enum ts_attach_kind { TS_ATT_SIG, TS_ATT_ATT, TS_ATT_BUNDLE } ts_attach_kind;

typedef struct ts_attachment {
	ts_attach_kind kind;
	char *where;         /* "sha256-<hex>.sig layer 2", "referrer sha256:..." */
	char *media_type;    /* the layer's */
	unsigned char *data; /* the layer's bytes (verified against its digest) */
	size_t len;
	char *signature;     /* the signature annotation; NULL when absent */
	char *predicate;     /* the predicateType annotation (a referrer: its manifest's
			      * dev.sigstore.bundle.predicateType); NULL when absent */
	char *problem;       /* why it could not be read (then data is NULL) */
} ts_attachment;

typedef struct ts_attachments {
	ts_attachment *v;
	size_t n;
	bool referrers_api; /* the registry answered the referrers API */
	size_t bytes;       /* read so far (bounded) */
} ts_attachments;

/* Every attachment of `digest` in the four places. Registry failures are
 * errors; an entry that cannot be read is an attachment with `problem`. */
ts_code ts_attach_list(ts_registry *r, const char *digest, ts_attachments *out, ts_error *err);
void ts_attachments_free(ts_attachments *a);

/* Add one layer to `sha256-<hex>.<suffix>` ("sig" or "att"), keeping the
 * layers there. `annotations` is borrowed. *manifest (may be NULL) gets the
 * tag's manifest digest after the write. */
ts_code ts_attach_cosign_layer(ts_registry *r, const char *digest, const char *suffix,
			       const char *media_type, const void *blob, size_t len,
			       json_t *annotations, char manifest[TS_DIGEST_STRLEN], ts_error *err);

/* Push `bundle` as a referrer of the image (`subject`: its digest, media
 * type and size), and list it in the fallback tag unless the registry has
 * the referrers API. *manifest gets the referrer's digest. */
ts_code ts_attach_bundle(ts_registry *r, const char *digest, const ts_manifest_info *subject,
			 const char *bundle, const char *predicate_type,
			 char manifest[TS_DIGEST_STRLEN], bool *used_api, ts_error *err);

#endif
