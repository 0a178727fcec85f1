/*
 * sign.c - signing, attesting and verifying one image digest: makes the
 * formats (sigfmt.c), stores and finds them (attach.c), and judges each
 * attachment found (sign.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tagseal/attach.h"
#include "tagseal/b64.h"
#include "tagseal/sigfmt.h"
#include "tagseal/sign.h"

bool ts_sigformat_parse(const char *s, ts_sigformat *out)
{
	if (strcmp(s, "bundle") == 0)
		*out = TS_SIGFMT_BUNDLE;
	else if (strcmp(s, "classic") == 0)
		*out = TS_SIGFMT_CLASSIC;
	else if (strcmp(s, "both") == 0)
		*out = TS_SIGFMT_BOTH;
	else
		return false;
	return true;
}

static ts_code subject_info(ts_registry *r, const char *digest, ts_manifest_info *info,
			    ts_error *err)
{
	ts_code rc = ts_registry_manifest_head(r, digest, info, err);
	if (rc == TS_OK && !info->exists)
		rc = ts_error_setc(err, TS_C_NOT_FOUND, "image %s is not in the repository", digest);
	return rc;
}

/* A DSSE bundle of an in-toto statement, pushed as a referrer. */
static ts_code put_bundle(ts_registry *r, const char *name, const char *digest,
			  const ts_manifest_info *info, const ts_key *key, const char *ptype,
			  json_t *predicate, ts_sign_result *res, ts_error *err)
{
	char *st = ts_intoto_statement(name, digest, ptype, json_incref(predicate));
	json_t *env = NULL;
	char *bundle = NULL;
	ts_code rc = st ? ts_dsse_sign(key, TS_MT_INTOTO, st, strlen(st), &env, err)
			: ts_error_setc(err, TS_C_INPUT, "the attestation's statement cannot be "
							 "written as JSON (predicate type '%s')", ptype);

	if (rc == TS_OK)
		rc = ts_bundle_make(key, env, &bundle, err);
	if (rc == TS_OK)
		rc = ts_attach_bundle(r, digest, info, bundle, ptype, res->bundle, &res->referrers_api,
				      err);
	free(bundle);
	json_decref(env);
	free(st);
	return rc;
}

ts_code ts_sign_digest(ts_registry *r, const ts_ref *repo, const char *digest, const ts_key *key,
		       ts_sigformat fmt, ts_sign_result *res, ts_error *err)
{
	ts_manifest_info info;
	char *name = ts_ref_repo_string(repo);
	json_t *empty = json_object();
	ts_code rc;

	memset(res, 0, sizeof(*res));
	rc = subject_info(r, digest, &info, err);
	if (rc == TS_OK && (fmt & TS_SIGFMT_BUNDLE))
		rc = put_bundle(r, name, digest, &info, key, TS_PRED_SIGN, empty, res, err);
	if (rc == TS_OK && (fmt & TS_SIGFMT_CLASSIC)) {
		char *payload = ts_simplesign_payload(name, digest), *s64;
		unsigned char *sig = NULL;
		size_t sl = 0;
		rc = ts_key_sign(key, payload, strlen(payload), &sig, &sl, err);
		if (rc == TS_OK) {
			json_t *ann;
			s64 = ts_b64_encode(sig, sl);
			ann = json_pack("{s:s}", TS_ANN_SIGNATURE, s64);
			rc = ts_attach_cosign_layer(r, digest, "sig", TS_MT_SIMPLESIGN, payload,
						    strlen(payload), ann, res->classic, err);
			json_decref(ann);
			free(s64);
		}
		free(sig);
		free(payload);
	}
	json_decref(empty);
	free(name);
	return rc;
}

ts_code ts_attest_digest(ts_registry *r, const ts_ref *repo, const char *digest,
			 const ts_key *key, const char *predicate_type, json_t *predicate,
			 ts_sigformat fmt, ts_sign_result *res, ts_error *err)
{
	ts_manifest_info info;
	char *name = ts_ref_repo_string(repo);
	ts_code rc;

	memset(res, 0, sizeof(*res));
	rc = subject_info(r, digest, &info, err);
	if (rc == TS_OK && (fmt & TS_SIGFMT_BUNDLE))
		rc = put_bundle(r, name, digest, &info, key, predicate_type, predicate, res, err);
	if (rc == TS_OK && (fmt & TS_SIGFMT_CLASSIC)) {
		char *st = ts_intoto_statement(name, digest, predicate_type, json_incref(predicate));
		json_t *env = NULL, *ann;
		char *blob;
		rc = st ? ts_dsse_sign(key, TS_MT_INTOTO, st, strlen(st), &env, err)
			: ts_error_setc(err, TS_C_INPUT, "the attestation's statement cannot be "
							 "written as JSON");
		if (rc == TS_OK) {
			blob = json_dumps(env, JSON_COMPACT | JSON_PRESERVE_ORDER);
			/* cosign needs the signature annotation even though
			 * the signature is inside the envelope */
			ann = json_pack("{s:s,s:s}", TS_ANN_SIGNATURE, "", TS_ANN_PREDICATE,
					predicate_type);
			rc = ts_attach_cosign_layer(r, digest, "att", TS_MT_DSSE, blob, strlen(blob), ann,
						    res->classic, err);
			json_decref(ann);
			free(blob);
		}
		json_decref(env);
		free(st);
	}
	free(name);
	return rc;
}

ts_code ts_index_children(ts_registry *r, const char *digest, char ***children, size_t *n,
			  ts_error *err)
{
	ts_buf body = TS_BUF_INIT;
	ts_manifest_info info;
	json_t *doc = NULL, *m;
	size_t i;
	ts_code rc = ts_registry_manifest_get(r, digest, &body, &info, err);

	*children = ts_calloc(1, sizeof(char *));
	*n = 0;
	if (rc == TS_OK && !info.exists)
		rc = ts_error_setc(err, TS_C_NOT_FOUND, "image %s is not in the repository", digest);
	if (rc == TS_OK)
		doc = json_loadb(ts_buf_cstr(&body), body.len, 0, NULL);
	json_array_foreach(json_object_get(doc, "manifests"), i, m) {
		const char *d = json_string_value(json_object_get(m, "digest"));
		if (!d || !ts_digest_valid(d))
			continue;
		*children = ts_realloc(*children, (*n + 2) * sizeof(char *));
		(*children)[(*n)++] = ts_strdup(d);
		(*children)[*n] = NULL;
	}
	json_decref(doc);
	ts_buf_free(&body);
	return rc;
}

/* ---- verification ---- */

static void judge_sig(const ts_attachment *x, const ts_key *key, const char *digest,
		      ts_sig_finding *f, ts_error *e)
{
	f->kind = ts_strdup("signature");
	if (strcmp(x->media_type, TS_MT_SIMPLESIGN) != 0)
		ts_error_setc(e, TS_C_SIGNATURE, "layer media type is not %s", TS_MT_SIMPLESIGN);
	else if (!x->signature)
		ts_error_setc(e, TS_C_SIGNATURE, "layer has no %s annotation", TS_ANN_SIGNATURE);
	else
		ts_simplesign_verify(key, x->data, x->len, x->signature, digest, e);
}

static void judge_att(const ts_attachment *x, const ts_key *key, const char *digest,
		      ts_sig_finding *f, ts_error *e)
{
	json_t *env;
	unsigned char *payload = NULL;
	size_t plen = 0;
	char *pt = NULL;

	if (strcmp(x->media_type, TS_MT_DSSE) != 0) {
		ts_error_setc(e, TS_C_SIGNATURE, "layer media type is not %s", TS_MT_DSSE);
		return;
	}
	if (!x->signature) {
		ts_error_setc(e, TS_C_SIGNATURE, "layer has no %s annotation (cosign rejects it)",
			      TS_ANN_SIGNATURE);
		return;
	}
	env = json_loadb((const char *)x->data, x->len, 0, NULL);
	if (!env) {
		ts_error_setc(e, TS_C_SIGNATURE, "layer is not a DSSE envelope");
		return;
	}
	if (ts_dsse_verify(key, env, &payload, &plen, e) == TS_OK &&
	    ts_intoto_check(payload, plen, digest, &pt, e) == TS_OK) {
		if (x->predicate && strcmp(x->predicate, pt) != 0)
			ts_error_setc(e, TS_C_SIGNATURE,
				      "the layer's predicateType annotation differs from the statement's");
		f->kind = pt;
		pt = NULL;
	}
	free(pt);
	free(payload);
	json_decref(env);
}

static void judge_bundle(const ts_attachment *x, const ts_key *key, const char *digest,
			 ts_sig_finding *f, ts_error *e)
{
	ts_bundle_result res;

	if (strncmp(x->media_type, "application/vnd.dev.sigstore.bundle", 35) != 0) {
		ts_error_setc(e, TS_C_SIGNATURE, "layer is not a Sigstore bundle");
		return;
	}
	if (ts_bundle_verify(key, x->data, x->len, digest, &res, e) == TS_OK) {
		/* a bundle of a message signature over the manifest, or a
		 * cosign sign statement, is an image signature */
		f->kind = ts_strdup(!res.predicate_type || strcmp(res.predicate_type, TS_PRED_SIGN) == 0
					    ? "signature" : res.predicate_type);
	}
	ts_bundle_result_free(&res);
}

ts_code ts_verify_digest(ts_registry *r, const char *digest, const ts_key *key,
			 ts_sig_report *rep, ts_error *err)
{
	ts_attachments a;
	ts_code rc = ts_attach_list(r, digest, &a, err);

	memset(rep, 0, sizeof(*rep));
	if (rc != TS_OK)
		return rc;
	rep->referrers_api = a.referrers_api;
	rep->v = ts_calloc(a.n ? a.n : 1, sizeof(*rep->v));
	for (size_t i = 0; i < a.n; i++) {
		const ts_attachment *x = &a.v[i];
		ts_sig_finding *f = &rep->v[rep->n++];
		ts_error e = TS_ERROR_INIT;

		f->where = ts_strdup(x->where);
		if (x->problem)
			ts_error_setc(&e, TS_C_SIGNATURE, "%s", x->problem);
		else if (x->kind == TS_ATT_SIG)
			judge_sig(x, key, digest, f, &e);
		else if (x->kind == TS_ATT_ATT)
			judge_att(x, key, digest, f, &e);
		else
			judge_bundle(x, key, digest, f, &e);
		if (!f->kind && x->predicate)
			f->kind = ts_strdup(strcmp(x->predicate, TS_PRED_SIGN) == 0 ? "signature"
					    : x->predicate);
		if (!f->kind)
			f->kind = ts_strdup(x->kind == TS_ATT_SIG ? "signature"
					    : x->kind == TS_ATT_ATT ? "attestation" : "bundle");
		{ /* kinds come from registries (annotations, statements): shown only sanitized */
			char safe[256];
			ts_sanitize(safe, sizeof(safe), f->kind);
			free(f->kind);
			f->kind = ts_strdup(safe);
		}
		f->ok = e.code == TS_OK;
		if (!f->ok)
			f->reason = ts_strdup(e.msg);
	}
	ts_attachments_free(&a);
	return TS_OK;
}

bool ts_sig_report_meets(const ts_sig_report *rep, const char *req)
{
	for (size_t i = 0; i < rep->n; i++) {
		const char *k = rep->v[i].kind;
		if (!rep->v[i].ok)
			continue;
		if (strcmp(req, "provenance") == 0
			    ? strcmp(k, TS_PRED_SLSA1) == 0 ||
				      strcmp(k, "https://slsa.dev/provenance/v0.2") == 0
			    : strcmp(k, req) == 0)
			return true;
	}
	return false;
}

void ts_sig_report_free(ts_sig_report *rep)
{
	for (size_t i = 0; i < rep->n; i++) {
		free(rep->v[i].where);
		free(rep->v[i].kind);
		free(rep->v[i].reason);
	}
	free(rep->v);
	memset(rep, 0, sizeof(*rep));
}
