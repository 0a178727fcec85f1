/*
 * sigcli.c - opening the image that sign, attest and verify IMAGE work on.
 */
#include <stdlib.h>
#include <string.h>

#include "sigcli.h"

int ts_sigcli_require(const char *cmd, const char *src, const char *arg, ts_sigrequire *r)
{
	if (r->n == TS_SO_MAX_REQUIRE)
		return ts_msg_usage(cmd, "at most %d %s", TS_SO_MAX_REQUIRE, src);
	if (strcmp(arg, "signature") && strcmp(arg, "provenance") && !strchr(arg, ':'))
		return ts_msg_usage(cmd, "%s '%s': expected signature, provenance or a predicate "
					 "type URI", src, arg);
	r->v[r->n++] = arg;
	return -1;
}

int ts_sigcli_format(const char *cmd, const char *src, const char *arg, ts_sigformat *fmt)
{
	if (ts_sigformat_parse(arg, fmt))
		return -1;
	return ts_msg_usage(cmd, "%s '%s': expected bundle, classic or both", src, arg);
}

ts_code ts_sigtarget_open(const char *image, ts_regopts *ro, ts_sigtarget *t, ts_error *err)
{
	ts_code rc;

	memset(t, 0, sizeof(*t));
	rc = ts_ref_parse(image, &t->ref, "IMAGE", err);
	if (rc == TS_OK && !t->ref.tag && !t->ref.digest)
		rc = ts_error_setc(err, TS_C_USAGE, "IMAGE '%s' needs a :TAG or an @DIGEST", image);
	if (rc == TS_OK)
		rc = ts_registry_open(&t->ref, &ro->reg, &t->reg, err);
	if (rc == TS_OK)
		rc = ts_image_digest(t->reg, &t->ref, t->digest, err);
	if (rc == TS_OK)
		t->repo = ts_ref_repo_string(&t->ref);
	return rc;
}

void ts_sigtarget_close(ts_sigtarget *t)
{
	ts_registry_free(t->reg);
	ts_ref_free(&t->ref);
	free(t->repo);
	memset(t, 0, sizeof(*t));
}
