/*
 * sigcli.h - what sign, attest and verify IMAGE share on the command line:
 * the --key and --signature-format options, loading the key before the
 * registry is touched, and opening the image's repository with its digest.
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

#define TS_SIGOPTS_FORMAT_USAGE \
	"  --signature-format F bundle (Sigstore bundle as an OCI referrer, what cosign 3\n" \
	"                       writes), classic (cosign's sha256-<hex>.sig/.att tags) or\n" \
	"                       both (default: every cosign, Kyverno, policy-controller\n" \
	"                       and Ratify version finds one)\n"

/* The image's repository opened, its digest resolved. */
typedef struct ts_sigtarget {
	ts_ref ref;
	ts_registry *reg;
	char digest[TS_DIGEST_STRLEN];
	char *repo; /* host/path */
} ts_sigtarget;

/* Parse IMAGE, open its registry with ro (after ts_regopts_finish), and
 * resolve the digest. Prints nothing. */
ts_code ts_sigtarget_open(const char *image, ts_regopts *ro, ts_sigtarget *t, ts_error *err);
void ts_sigtarget_close(ts_sigtarget *t);

#endif
