/*
 * sigfmt.h - the signature formats other tools read and write, byte for
 * byte: cosign's simple-signing payload, DSSE envelopes over in-toto
 * statements (v1), and Sigstore bundles v0.3 signed with a plain key. Each
 * format is made here and checked here; storage in a registry is attach.h.
 *
 * Every check returns TS_OK or TS_EVERIFY with cause TS_C_SIGNATURE and one
 * line saying why (bad signature, another digest, wrong type, damaged).
 */
#ifndef TAGSEAL_SIGFMT_H
#define TAGSEAL_SIGFMT_H

#include <jansson.h>
#include <stddef.h>

#include "tagseal/buf.h"
#include "tagseal/digest.h"
#include "tagseal/error.h"
#include "tagseal/keys.h"

#define TS_MT_SIMPLESIGN "application/vnd.dev.cosign.simplesigning.v1+json"
#define TS_MT_DSSE "application/vnd.dsse.envelope.v1+json"
#define TS_MT_BUNDLE "application/vnd.dev.sigstore.bundle.v0.3+json"
#define TS_MT_INTOTO "application/vnd.in-toto+json"
#define TS_ANN_SIGNATURE "dev.cosignproject.cosign/signature"
#define TS_ANN_PREDICATE "predicateType"
#define TS_SIMPLESIGN_TYPE "cosign container image signature"
#define TS_PRED_SIGN "https://sigstore.dev/cosign/sign/v1"
#define TS_PRED_SLSA1 "https://slsa.dev/provenance/v1"
#define TS_INTOTO_STATEMENT_V1 "https://in-toto.io/Statement/v1"

/* The payload cosign signs for an image, exactly as it writes it:
 * {"critical":{"identity":{"docker-reference":REF},"image":
 * {"docker-manifest-digest":DIGEST},"type":"cosign container image
 * signature"},"optional":null}. */
char *ts_simplesign_payload(const char *docker_ref, const char *digest);

/* A classic signature: `sig_b64` must verify over the payload bytes with
 * `key`, and the payload must be a simple-signing payload naming `digest`. */
ts_code ts_simplesign_verify(const ts_key *key, const void *payload, size_t len,
			     const char *sig_b64, const char *digest, ts_error *err);

/* DSSE pre-authentication encoding: "DSSEv1 <len> <type> <len> <payload>". */
void ts_dsse_pae(ts_buf *out, const char *payload_type, const void *payload, size_t len);

/* A DSSE envelope signed with `key` (keyid empty, as cosign needs). */
ts_code ts_dsse_sign(const ts_key *key, const char *payload_type, const void *payload,
		     size_t len, json_t **envelope, ts_error *err);

/* Verify an envelope: some signature verifies with `key` and payloadType is
 * in-toto. *payload (caller frees) gets the decoded payload. */
ts_code ts_dsse_verify(const ts_key *key, const json_t *envelope, unsigned char **payload,
		       size_t *len, ts_error *err);

/* A predicate type as an attestation may name it: a URI in printable ASCII
 * (https://slsa.dev/provenance/v1, urn:...). */
bool ts_predicate_type_valid(const char *uri);

/* An in-toto statement v1 about the image `name`@`digest`; `predicate` is
 * taken (json_decref'd by the call). A new string. */
char *ts_intoto_statement(const char *name, const char *digest, const char *predicate_type,
			  json_t *predicate);

/* A statement (the payload of a verified envelope) names `digest` among its
 * subjects; *predicate_type (caller frees) gets its predicate type. */
ts_code ts_intoto_check(const void *payload, size_t len, const char *digest,
			char **predicate_type, ts_error *err);

/* A Sigstore bundle v0.3 around `envelope` (borrowed), with the key's hint. */
ts_code ts_bundle_make(const ts_key *key, const json_t *envelope, char **json, ts_error *err);

typedef struct ts_bundle_result {
	char *predicate_type;              /* DSSE bundles; NULL for messageSignature */
	char digest[TS_DIGEST_STRLEN];     /* for messageSignature: the digest signed */
} ts_bundle_result;

/* Verify a bundle (dsseEnvelope or messageSignature) with `key`. With
 * `digest`, what it signs must name that digest (the statement's subject,
 * or the message digest). */
ts_code ts_bundle_verify(const ts_key *key, const void *json, size_t len, const char *digest,
			 ts_bundle_result *res, ts_error *err);
void ts_bundle_result_free(ts_bundle_result *res);

#endif
