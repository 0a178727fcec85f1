/*
 * sigfmt.c - making and checking the signature formats: cosign's
 * simple-signing payload, DSSE envelopes, in-toto statements v1 and
 * Sigstore bundles v0.3 (jansson for JSON, keys.c for the cryptography).
 */
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tagseal/b64.h"
#include "tagseal/buf.h"
#include "tagseal/ref.h"
#include "tagseal/sigfmt.h"

/* A TS_C_SIGNATURE error; the whole message is sanitized, as parts of it
 * come from registries. */
static ts_code bad(ts_error *err, const char *fmt, ...) TS_PRINTF(2, 3);
static ts_code bad(ts_error *err, const char *fmt, ...)
{
	char raw[512], safe[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	ts_sanitize(safe, sizeof(safe), raw);
	return ts_error_setc(err, TS_C_SIGNATURE, "%s", safe);
}

char *ts_simplesign_payload(const char *docker_ref, const char *digest)
{
	/* the field order and spacing of Go's encoding/json over cosign's
	 * payload struct; a reference and a digest need no escaping */
	return ts_asprintf("{\"critical\":{\"identity\":{\"docker-reference\":\"%s\"},"
			   "\"image\":{\"docker-manifest-digest\":\"%s\"},"
			   "\"type\":\"" TS_SIMPLESIGN_TYPE "\"},\"optional\":null}",
			   docker_ref, digest);
}

ts_code ts_simplesign_verify(const ts_key *key, const void *payload, size_t len,
			     const char *sig_b64, const char *digest, ts_error *err)
{
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	json_t *doc;
	const char *type = NULL, *signed_digest = NULL;
	ts_code rc = TS_OK;

	if (!sig_b64 || !*sig_b64)
		return bad(err, "no signature annotation");
	if (!ts_b64_decode(sig_b64, &sig, &sig_len))
		return bad(err, "the signature annotation is not base64");
	if (!ts_key_verify(key, payload, len, sig, sig_len)) {
		free(sig);
		return bad(err, "the signature does not verify with this key");
	}
	free(sig);
	doc = json_loadb(payload, len, JSON_REJECT_DUPLICATES, NULL);
	if (!doc || json_unpack(doc, "{s:{s:{s:s},s:s}}", "critical", "image",
				"docker-manifest-digest", &signed_digest, "type", &type) != 0)
		rc = bad(err, "the signed payload is not a cosign simple-signing payload");
	else if (strcmp(type, TS_SIMPLESIGN_TYPE) != 0)
		rc = bad(err, "the signed payload has type '%s', not a container image signature", type);
	else if (strcmp(signed_digest, digest) != 0)
		rc = bad(err, "the signature is valid but names another digest (%s)", signed_digest);
	json_decref(doc);
	return rc;
}

void ts_dsse_pae(ts_buf *out, const char *payload_type, const void *payload, size_t len)
{
	ts_buf_printf(out, "DSSEv1 %zu %s %zu ", strlen(payload_type), payload_type, len);
	ts_buf_put(out, payload, len);
}

ts_code ts_dsse_sign(const ts_key *key, const char *payload_type, const void *payload,
		     size_t len, json_t **envelope, ts_error *err)
{
	ts_buf pae = TS_BUF_INIT;
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	char *p64, *s64;
	ts_code rc;

	*envelope = NULL;
	ts_dsse_pae(&pae, payload_type, payload, len);
	rc = ts_key_sign(key, pae.ptr, pae.len, &sig, &sig_len, err);
	ts_buf_free(&pae);
	if (rc != TS_OK)
		return rc;
	p64 = ts_b64_encode(payload, len);
	s64 = ts_b64_encode(sig, sig_len);
	*envelope = json_pack("{s:s,s:s,s:[{s:s,s:s}]}", "payloadType", payload_type, "payload", p64,
			      "signatures", "keyid", "", "sig", s64);
	free(p64);
	free(s64);
	free(sig);
	return TS_OK;
}

ts_code ts_dsse_verify(const ts_key *key, const json_t *envelope, unsigned char **payload,
		       size_t *len, ts_error *err)
{
	const char *type = NULL, *p64 = NULL;
	json_t *sigs = NULL, *s;
	unsigned char *body = NULL;
	size_t body_len = 0, i;
	ts_buf pae = TS_BUF_INIT;
	bool ok = false;

	*payload = NULL;
	*len = 0;
	if (json_unpack((json_t *)envelope, "{s:s,s:s,s:o}", "payloadType", &type, "payload", &p64,
			"signatures", &sigs) != 0 || !json_is_array(sigs))
		return bad(err, "not a DSSE envelope");
	if (strcmp(type, TS_MT_INTOTO) != 0)
		return bad(err, "DSSE payloadType '%s' is not in-toto", type);
	if (!ts_b64_decode(p64, &body, &body_len))
		return bad(err, "DSSE payload is not base64");
	ts_dsse_pae(&pae, type, body, body_len);
	json_array_foreach(sigs, i, s) {
		const char *s64 = json_string_value(json_object_get(s, "sig"));
		unsigned char *sig = NULL;
		size_t sig_len = 0;
		if (s64 && ts_b64_decode(s64, &sig, &sig_len))
			ok = ts_key_verify(key, pae.ptr, pae.len, sig, sig_len);
		free(sig);
		if (ok)
			break;
	}
	ts_buf_free(&pae);
	if (!ok) {
		free(body);
		return bad(err, "no DSSE signature verifies with this key");
	}
	*payload = body;
	*len = body_len;
	return TS_OK;
}

bool ts_predicate_type_valid(const char *uri)
{
	/* a URI: printable ASCII with a scheme (and so valid UTF-8 for JSON) */
	if (!uri || !strchr(uri, ':') || uri[0] == ':')
		return false;
	for (const char *p = uri; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return false;
	return true;
}

char *ts_intoto_statement(const char *name, const char *digest, const char *predicate_type,
			  json_t *predicate)
{
	json_t *st = json_pack("{s:s,s:[{s:s,s:{s:s}}],s:s,s:o}", "_type", TS_INTOTO_STATEMENT_V1,
			       "subject", "name", name, "digest", "sha256", digest + 7,
			       "predicateType", predicate_type, "predicate",
			       predicate ? predicate : json_object());
	char *s = json_dumps(st, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(st);
	return s;
}

ts_code ts_intoto_check(const void *payload, size_t len, const char *digest,
			char **predicate_type, ts_error *err)
{
	json_t *st = json_loadb(payload, len, JSON_REJECT_DUPLICATES, NULL), *subj = NULL, *s;
	const char *type = NULL, *pt = NULL;
	bool named = false;
	size_t i;
	ts_code rc = TS_OK;

	*predicate_type = NULL;
	if (!st || json_unpack(st, "{s:s,s:o,s:s}", "_type", &type, "subject", &subj,
			       "predicateType", &pt) != 0 || !json_is_array(subj)) {
		json_decref(st);
		return bad(err, "the signed payload is not an in-toto statement");
	}
	if (strcmp(type, TS_INTOTO_STATEMENT_V1) != 0 &&
	    strcmp(type, "https://in-toto.io/Statement/v0.1") != 0) {
		rc = bad(err, "unknown in-toto statement type '%s'", type);
		goto out;
	}
	json_array_foreach(subj, i, s) {
		const char *hex = json_string_value(json_object_get(json_object_get(s, "digest"), "sha256"));
		if (hex && strlen(digest) > 7 && strcmp(hex, digest + 7) == 0)
			named = true;
	}
	if (!named) {
		const char *other = json_string_value(
			json_object_get(json_object_get(json_array_get(subj, 0), "digest"), "sha256"));
		rc = bad(err, "the statement is valid but its subject is another digest (sha256:%s)",
			 other ? other : "none");
		goto out;
	}
	*predicate_type = ts_strdup(pt);
out:
	json_decref(st);
	return rc;
}

ts_code ts_bundle_make(const ts_key *key, const json_t *envelope, char **out, ts_error *err)
{
	char *hint = NULL;
	json_t *b;
	ts_code rc = ts_key_hint(key, &hint, err);

	*out = NULL;
	if (rc != TS_OK)
		return rc;
	b = json_pack("{s:s,s:{s:{s:s},s:[]},s:O}", "mediaType", TS_MT_BUNDLE, "verificationMaterial",
		      "publicKey", "hint", hint, "tlogEntries", "dsseEnvelope", envelope);
	*out = json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(b);
	free(hint);
	return TS_OK;
}

static ts_code verify_message(const ts_key *key, json_t *ms, const char *digest,
			      ts_bundle_result *res, ts_error *err)
{
	const char *alg = NULL, *d64 = NULL, *s64 = NULL;
	unsigned char *d = NULL, *sig = NULL;
	size_t dl = 0, sl = 0;
	ts_code rc = TS_OK;

	if (json_unpack(ms, "{s:{s:s,s:s},s:s}", "messageDigest", "algorithm", &alg, "digest", &d64,
			"signature", &s64) != 0)
		return bad(err, "bundle: damaged messageSignature");
	if (strcmp(alg, "SHA2_256") != 0)
		return bad(err, "bundle: message digest algorithm '%s' is not supported", alg);
	if (!ts_b64_decode(d64, &d, &dl) || dl != 32 || !ts_b64_decode(s64, &sig, &sl)) {
		rc = bad(err, "bundle: damaged messageSignature");
		goto out;
	}
	strcpy(res->digest, "sha256:");
	for (size_t i = 0; i < 32; i++)
		snprintf(res->digest + 7 + 2 * i, 3, "%02x", d[i]);
	if (!ts_key_verify_prehashed(key, d, sig, sl))
		rc = bad(err, "bundle: the message signature does not verify with this key");
	else if (digest && strcmp(digest, res->digest) != 0)
		rc = bad(err, "bundle: the signature is valid but signs another digest (%s)", res->digest);
out:
	free(d);
	free(sig);
	return rc;
}

ts_code ts_bundle_verify(const ts_key *key, const void *json, size_t len, const char *digest,
			 ts_bundle_result *res, ts_error *err)
{
	json_t *b = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL), *env, *ms;
	const char *mt = json_string_value(json_object_get(b, "mediaType"));
	unsigned char *payload = NULL;
	size_t plen = 0;
	ts_code rc;

	memset(res, 0, sizeof(*res));
	if (!b || !mt) {
		json_decref(b);
		return bad(err, "not a Sigstore bundle");
	}
	if (strcmp(mt, TS_MT_BUNDLE) != 0 &&
	    strcmp(mt, "application/vnd.dev.sigstore.bundle+json;version=0.3") != 0) {
		rc = bad(err, "bundle media type '%s' is not v0.3", mt);
		goto out;
	}
	env = json_object_get(b, "dsseEnvelope");
	ms = json_object_get(b, "messageSignature");
	if (env) {
		rc = ts_dsse_verify(key, env, &payload, &plen, err);
		if (rc == TS_OK)
			rc = ts_intoto_check(payload, plen, digest ? digest : "", &res->predicate_type, err);
		if (rc == TS_OK && digest)
			snprintf(res->digest, sizeof(res->digest), "%s", digest);
		if (rc != TS_OK)
			ts_error_prefix(err, "bundle");
	} else if (ms) {
		rc = verify_message(key, ms, digest, res, err);
	} else {
		rc = bad(err, "bundle has neither dsseEnvelope nor messageSignature");
	}
out:
	free(payload);
	json_decref(b);
	return rc;
}

void ts_bundle_result_free(ts_bundle_result *res)
{
	free(res->predicate_type);
	res->predicate_type = NULL;
}
