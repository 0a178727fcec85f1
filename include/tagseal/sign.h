/*
 * sign.h - signing an image digest, attesting to it, and verifying what is
 * attached to it, in the formats of sigfmt.h stored as attach.h describes.
 * This is the one entry point for every command that signs or verifies
 * (sign, attest, verify IMAGE; push --sign-key, verify --record --key and
 * lint --key: release.c, verify.c, lint.c).
 */
#ifndef TAGSEAL_SIGN_H
#define TAGSEAL_SIGN_H

#include <jansson.h>
#include <stdbool.h>

#include "tagseal/keys.h"
#include "tagseal/ref.h"
#include "tagseal/registry.h"

typedef enum ts_sigformat {
	TS_SIGFMT_BUNDLE = 1,  /* Sigstore bundle as an OCI referrer (cosign 3) */
	TS_SIGFMT_CLASSIC = 2, /* cosign's sha256-<hex>.sig / .att tags */
	TS_SIGFMT_BOTH = 3     /* the default: every verifier finds one */
} ts_sigformat;

#define TS_SIGFMT_DEFAULT TS_SIGFMT_BOTH

/* "bundle", "classic" or "both"; false for anything else. */
bool ts_sigformat_parse(const char *s, ts_sigformat *out);

typedef struct ts_sign_result {
	char bundle[TS_DIGEST_STRLEN];  /* the referrer manifest's digest, or "" */
	char classic[TS_DIGEST_STRLEN]; /* the .sig/.att manifest's digest after the write, or "" */
	bool referrers_api;             /* the registry listed the referrer itself */
} ts_sign_result;

/*
 * Sign `digest` (an image manifest or index in `repo`'s repository, opened
 * as `r`) with `key`: a bundle whose DSSE in-toto statement (predicate type
 * https://sigstore.dev/cosign/sign/v1) names the digest, and/or a classic
 * simple-signing layer. The digest must exist in the registry.
 */
ts_code ts_sign_digest(ts_registry *r, const ts_ref *repo, const char *digest, const ts_key *key,
		       ts_sigformat fmt, ts_sign_result *res, ts_error *err);

/* Attest: an in-toto statement about `digest` with `predicate` (borrowed)
 * of `predicate_type`, in a DSSE envelope, as a bundle referrer and/or a
 * layer of sha256-<hex>.att. */
ts_code ts_attest_digest(ts_registry *r, const ts_ref *repo, const char *digest,
			 const ts_key *key, const char *predicate_type, json_t *predicate,
			 ts_sigformat fmt, ts_sign_result *res, ts_error *err);

/* The manifests an index lists (for --sign-recursive: sign each too);
 * *n = 0 for an image manifest. Free with ts_registry_tags_free. */
ts_code ts_index_children(ts_registry *r, const char *digest, char ***children, size_t *n,
			  ts_error *err);

/* What verification found: one entry per attachment. */
typedef struct ts_sig_finding {
	char *where;     /* "sha256-<hex>.sig layer 1", "referrer sha256:..." */
	char *kind;      /* "signature", or the attestation's predicate type */
	bool ok;
	char *reason;    /* why it failed; NULL when ok */
} ts_sig_finding;

typedef struct ts_sig_report {
	ts_sig_finding *v;
	size_t n;
	bool referrers_api;
} ts_sig_report;

/* Find every attachment of `digest` and check each with `key`. Registry
 * failures are errors; bad signatures are findings. */
ts_code ts_verify_digest(ts_registry *r, const char *digest, const ts_key *key,
			 ts_sig_report *rep, ts_error *err);

/* Whether a valid finding meets a requirement: "signature" (an image
 * signature, classic or bundle), "provenance" (a SLSA provenance
 * attestation) or a predicate type URI. */
bool ts_sig_report_meets(const ts_sig_report *rep, const char *requirement);

void ts_sig_report_free(ts_sig_report *rep);

/* The digest `ref` names: its digest when it has one, else its tag's, from
 * the registry (exit 2 when the reference has neither, 4 when the tag does
 * not exist). */
ts_code ts_image_digest(ts_registry *r, const ts_ref *ref, char digest[TS_DIGEST_STRLEN],
			ts_error *err);

/* One line for a failed verification: what was found, why each failed. */
char *ts_sig_report_summary(const ts_sig_report *rep, const char *image, const char *key_path,
			    const char *const *require, size_t n_require);

/*
 * The one call for lint --key and verify --record --key: open `image`'s
 * repository (REPO@DIGEST, or REPO:TAG resolved to its digest) with
 * `opts`, verify, and check every requirement (none given: "signature").
 * TS_OK when all are met; TS_EVERIFY with one line naming what was found
 * and why each failed otherwise; registry failures as usual.
 * *digest_out (may be NULL; caller frees) gets the verified digest.
 */
ts_code ts_image_verify(const char *image, const ts_key *key, const ts_registry_opts *opts,
			const char *const *require, size_t n_require, char **digest_out,
			ts_error *err);

#endif
