/*
 * sigcheck.c - verifying an image named by reference: resolve the tag to
 * its digest, verify what is attached (sign.c), check the requirements, and
 * say in one line what was found and why each failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tagseal/buf.h"
#include "tagseal/sign.h"

ts_code ts_image_digest(ts_registry *r, const ts_ref *ref, char digest[TS_DIGEST_STRLEN],
			ts_error *err)
{
	ts_manifest_info info;
	ts_buf body = TS_BUF_INIT;
	ts_code rc;

	if (ref->digest) {
		snprintf(digest, TS_DIGEST_STRLEN, "%s", ref->digest);
		return TS_OK;
	}
	if (!ref->tag)
		return ts_error_setc(err, TS_C_USAGE, "image '%s' names neither a tag nor a digest",
				     ref->path);
	rc = ts_registry_manifest_get(r, ref->tag, &body, &info, err);
	if (rc == TS_OK && !info.exists)
		rc = ts_error_setc(err, TS_C_NOT_FOUND, "tag '%s' of %s/%s does not exist", ref->tag,
				   ref->host, ref->path);
	if (rc == TS_OK) /* the digest of the bytes served, whatever the header said */
		ts_sha256_digest(ts_buf_cstr(&body), body.len, digest);
	ts_buf_free(&body);
	return rc;
}

char *ts_sig_report_summary(const ts_sig_report *rep, const char *image, const char *key_path,
			    const char *const *require, size_t n_require)
{
	ts_buf b = TS_BUF_INIT;
	size_t bad = 0;

	ts_buf_printf(&b, "%s: ", image);
	for (size_t i = 0; i < n_require; i++)
		if (!ts_sig_report_meets(rep, require[i]))
			ts_buf_printf(&b, "%sno valid %s", bad++ ? ", " : "", require[i]);
	if (!n_require && !ts_sig_report_meets(rep, "signature"))
		ts_buf_printf(&b, "no valid signature");
	ts_buf_printf(&b, " with key '%s'; found %zu attachment(s)", key_path, rep->n);
	for (size_t i = 0; i < rep->n; i++)
		ts_buf_printf(&b, "%s %s (%s): %s", i ? ";" : ":", rep->v[i].where, rep->v[i].kind,
			      rep->v[i].ok ? "valid" : rep->v[i].reason);
	return ts_buf_detach(&b);
}

ts_code ts_image_verify(const char *image, const ts_key *key, const ts_registry_opts *opts,
			const char *const *require, size_t n_require, char **digest_out,
			ts_error *err)
{
	ts_ref ref = TS_REF_INIT;
	ts_registry *r = NULL;
	ts_sig_report rep = { 0 };
	char digest[TS_DIGEST_STRLEN];
	static const char *const sig_only[] = { "signature" };
	bool ok = true;
	ts_code rc;

	if (digest_out)
		*digest_out = NULL;
	if (!n_require) {
		require = sig_only;
		n_require = 1;
	}
	rc = ts_ref_parse(image, &ref, "image", err);
	if (rc == TS_OK)
		rc = ts_registry_open(&ref, opts, &r, err);
	if (rc == TS_OK)
		rc = ts_image_digest(r, &ref, digest, err);
	if (rc == TS_OK)
		rc = ts_verify_digest(r, digest, key, &rep, err);
	if (rc == TS_OK) {
		for (size_t i = 0; i < n_require; i++)
			ok = ok && ts_sig_report_meets(&rep, require[i]);
		if (!ok) {
			char *repo = ts_ref_repo_string(&ref), *img = ts_asprintf("%s@%s", repo, digest);
			char *why = ts_sig_report_summary(&rep, img, ts_key_path(key), require, n_require);
			rc = ts_error_setc(err, TS_C_SIGNATURE, "%s", why);
			free(why);
			free(img);
			free(repo);
		} else if (digest_out) {
			*digest_out = ts_strdup(digest);
		}
	}
	ts_sig_report_free(&rep);
	ts_registry_free(r);
	ts_ref_free(&ref);
	return rc;
}
