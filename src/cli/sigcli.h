/*
 * sigcli.h - what sign, attest and verify IMAGE share on the command line:
 * the --key and --signature-format options (opttab.h entries), and opening
 * the image's repository with its digest resolved.
 */
#ifndef TAGSEAL_SIGCLI_H
#define TAGSEAL_SIGCLI_H

#include "cli.h"
#include "regopts.h"
#include "tagseal/keys.h"
#include "tagseal/ref.h"
#include "tagseal/registry.h"
#include "tagseal/sign.h"

enum { TS_SO_KEY = 0x4100, TS_SO_FORMAT, TS_SO_REQUIRE, TS_SO_PREDICATE, TS_SO_PREDICATE_TYPE,
       TS_SO_GIT_DIR, TS_SO_RECURSIVE };

#define TS_SO_KEY_PRIVATE_DEF \
	{ "key", TS_SO_KEY, 0, TS_OPT_VALUE, "FILE", \
	  "the private key: PEM (ECDSA P-256, RSA 2048+, Ed25519;\n" \
	  "encrypted PKCS#8 with TAGSEAL_KEY_PASSWORD) or cosign's\n" \
	  "cosign.key (COSIGN_PASSWORD or TAGSEAL_KEY_PASSWORD)", 0, 0 }
#define TS_SO_FORMAT_DEF \
	{ "signature-format", TS_SO_FORMAT, 0, TS_OPT_VALUE, "F", \
	  "bundle (a Sigstore bundle as an OCI referrer, what\n" \
	  "cosign 3 writes), classic (cosign's sha256-<hex>.sig/.att\n" \
	  "tags) or both (the default: every cosign, Kyverno,\n" \
	  "policy-controller and Ratify version finds one)", 0, 0 }

/* The image's repository opened, its digest resolved. */
typedef struct ts_sigtarget {
	ts_ref ref;
	ts_registry *reg;
	char digest[TS_DIGEST_STRLEN];
	char *repo; /* host/path */
} ts_sigtarget;

/* What --require collects (verify IMAGE, verify --record --key, lint --key). */
#define TS_SO_MAX_REQUIRE 16
typedef struct ts_sigrequire {
	const char *v[TS_SO_MAX_REQUIRE];
	size_t n;
} ts_sigrequire;

/* One --require WHAT (signature, provenance or a predicate type URI): -1
 * when taken, or a usage error (returns 2). */
int ts_sigcli_require(const char *cmd, const char *src, const char *arg, ts_sigrequire *r);

/* --signature-format's value, or a usage error (returns 2; -1 when taken). */
int ts_sigcli_format(const char *cmd, const char *src, const char *arg, ts_sigformat *fmt);

/* Parse IMAGE, open its registry with ro (after ts_regopts_finish), and
 * resolve the digest. Prints nothing. */
ts_code ts_sigtarget_open(const char *image, ts_regopts *ro, ts_sigtarget *t, ts_error *err);
void ts_sigtarget_close(ts_sigtarget *t);

#endif
