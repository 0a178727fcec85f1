/*
 * attach.c - writing and reading signature attachments in a registry:
 * cosign's .sig/.att tags and OCI referrers (API or fallback tag), with the
 * read-modify-write that keeps other writers' entries (attach.h).
 */
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tagseal/attach.h"
#include "tagseal/referrers.h"
#include "tagseal/sigfmt.h"

#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_EMPTY "application/vnd.oci.empty.v1+json"
#define EMPTY_DIGEST "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
#define MAX_ATTACH_BLOB (16 * 1024 * 1024) /* an SBOM attestation can be large */
#define MAX_ATTACH_TOTAL (64 * 1024 * 1024) /* of all attachments read for one image */
#define RMW_ATTEMPTS 10

/* ---- read-modify-write of a shared tag ---- */

/* Build the tag's new content from what it holds now (NULL: absent); NULL
 * when it already holds our entry. */
typedef json_t *(*rmw_build)(ts_registry *r, json_t *cur, void *ctx, ts_error *err);
/* Whether the document holds our entry. */
typedef bool (*rmw_has)(json_t *doc, void *ctx);

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static long jitter(long lo, long hi)
{
	unsigned int x = 0;
	if (RAND_bytes((unsigned char *)&x, sizeof(x)) != 1)
		x = (unsigned int)time(NULL);
	return lo + (long)(x % (unsigned int)(hi - lo + 1));
}

static ts_code get_json(ts_registry *r, const char *ref, json_t **doc, ts_manifest_info *info,
			ts_error *err)
{
	ts_buf body = TS_BUF_INIT;
	ts_code rc = ts_registry_manifest_get(r, ref, &body, info, err);

	*doc = NULL;
	if (rc == TS_OK && info->exists) {
		*doc = json_loadb(ts_buf_cstr(&body), body.len, 0, NULL);
		if (!json_is_object(*doc)) {
			json_decref(*doc);
			*doc = NULL;
			rc = ts_error_setc(err, TS_C_PROTOCOL, "%s in registry: not a JSON manifest", ref);
		}
	}
	ts_buf_free(&body);
	return rc;
}

static ts_code rmw_tag(ts_registry *r, const char *tag, const char *media_type, rmw_build build,
		       rmw_has has, void *ctx, char out_digest[TS_DIGEST_STRLEN], ts_error *err)
{
	for (int attempt = 0; attempt < RMW_ATTEMPTS; attempt++) {
		ts_manifest_info info;
		json_t *cur = NULL, *next;
		char *text;
		ts_code rc = get_json(r, tag, &cur, &info, err);

		if (rc != TS_OK)
			return rc;
		ts_error_clear(err);
		next = build(r, cur, ctx, err);
		if (!next && err->code) {
			json_decref(cur);
			return err->code;
		}
		if (next) {
			text = json_dumps(next, JSON_COMPACT | JSON_PRESERVE_ORDER);
			rc = ts_registry_manifest_put(r, tag, media_type, text, strlen(text), NULL, err);
			free(text);
			json_decref(next);
		}
		json_decref(cur);
		if (rc != TS_OK)
			return rc;
		/* read back after a pause: a writer that read before our put and
		 * puts after it drops our entry; then ours goes in again */
		pause_ms(jitter(150, 450));
		rc = get_json(r, tag, &cur, &info, err);
		if (rc != TS_OK)
			return rc;
		if (cur && has(cur, ctx)) {
			if (out_digest)
				snprintf(out_digest, TS_DIGEST_STRLEN, "%s", info.digest);
			json_decref(cur);
			return TS_OK;
		}
		json_decref(cur);
		pause_ms(jitter(50, 200L * (attempt + 1)));
	}
	return ts_error_setc(err, TS_C_VERIFY,
			     "tag '%s': our entry was replaced by concurrent writers %d times; giving up",
			     tag, RMW_ATTEMPTS);
}

/* ---- cosign's .sig / .att ---- */

typedef struct layer_ctx {
	json_t *layer; /* our descriptor */
} layer_ctx;

static bool same_layer(json_t *a, json_t *b)
{
	const char *da = json_string_value(json_object_get(a, "digest"));
	const char *db = json_string_value(json_object_get(b, "digest"));
	const char *sa = json_string_value(json_object_get(json_object_get(a, "annotations"), TS_ANN_SIGNATURE));
	const char *sb = json_string_value(json_object_get(json_object_get(b, "annotations"), TS_ANN_SIGNATURE));
	return da && db && strcmp(da, db) == 0 && (sa == sb || (sa && sb && strcmp(sa, sb) == 0));
}

static bool layer_has(json_t *doc, void *vctx)
{
	layer_ctx *c = vctx;
	json_t *l;
	size_t i;
	json_array_foreach(json_object_get(doc, "layers"), i, l)
		if (same_layer(l, c->layer))
			return true;
	return false;
}

static json_t *layer_build(ts_registry *r, json_t *cur, void *vctx, ts_error *err)
{
	layer_ctx *c = vctx;
	json_t *layers = json_array(), *diff = json_array(), *hist = json_array(), *l, *m, *cfg;
	char cd[TS_DIGEST_STRLEN], *ctext;
	size_t i;

	if (cur && layer_has(cur, c))
		return NULL;
	json_array_foreach(json_object_get(cur, "layers"), i, l)
		json_array_append(layers, l);
	json_array_append(layers, c->layer);
	json_array_foreach(layers, i, l) {
		json_array_append(diff, json_object_get(l, "digest"));
		json_array_append_new(hist, json_pack("{s:s}", "created", "0001-01-01T00:00:00Z"));
	}
	/* the image config cosign writes: a layer per signature */
	cfg = json_pack("{s:s,s:s,s:o,s:s,s:{s:s,s:o},s:{}}", "architecture", "", "created",
			"0001-01-01T00:00:00Z", "history", hist, "os", "", "rootfs", "type", "layers",
			"diff_ids", diff, "config");
	ctext = json_dumps(cfg, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(cfg);
	ts_sha256_digest(ctext, strlen(ctext), cd);
	if (ts_registry_blob_put(r, cd, ctext, strlen(ctext), err) != TS_OK) {
		free(ctext);
		json_decref(layers);
		return NULL;
	}
	m = json_pack("{s:i,s:s,s:{s:s,s:I,s:s},s:o}", "schemaVersion", 2, "mediaType", MT_MANIFEST,
		      "config", "mediaType", MT_CONFIG, "size", (json_int_t)strlen(ctext), "digest", cd,
		      "layers", layers);
	free(ctext);
	return m;
}

static void hex_tag(const char *digest, const char *suffix, char *out, size_t cap)
{
	snprintf(out, cap, "sha256-%s%s%s", digest + 7, suffix ? "." : "", suffix ? suffix : "");
}

ts_code ts_attach_cosign_layer(ts_registry *r, const char *digest, const char *suffix,
			       const char *media_type, const void *blob, size_t len,
			       json_t *annotations, char manifest[TS_DIGEST_STRLEN], ts_error *err)
{
	char bd[TS_DIGEST_STRLEN], tag[128];
	layer_ctx c;
	ts_code rc;

	ts_sha256_digest(blob, len, bd);
	rc = ts_registry_blob_put(r, bd, blob, len, err);
	if (rc != TS_OK)
		return rc;
	hex_tag(digest, suffix, tag, sizeof(tag));
	c.layer = json_pack("{s:s,s:I,s:s,s:O}", "mediaType", media_type, "size", (json_int_t)len,
			    "digest", bd, "annotations", annotations);
	rc = rmw_tag(r, tag, MT_MANIFEST, layer_build, layer_has, &c, manifest, err);
	json_decref(c.layer);
	return rc;
}

/* ---- referrers ---- */

typedef struct index_ctx {
	json_t *desc;
} index_ctx;

static bool index_has(json_t *doc, void *vctx)
{
	index_ctx *c = vctx;
	const char *want = json_string_value(json_object_get(c->desc, "digest"));
	json_t *m;
	size_t i;
	json_array_foreach(json_object_get(doc, "manifests"), i, m) {
		const char *d = json_string_value(json_object_get(m, "digest"));
		if (d && strcmp(d, want) == 0)
			return true;
	}
	return false;
}

static json_t *index_build(ts_registry *r, json_t *cur, void *vctx, ts_error *err)
{
	index_ctx *c = vctx;
	json_t *ms = json_array(), *m;
	size_t i;

	(void)r;
	(void)err;
	if (cur && index_has(cur, c))
		return NULL;
	json_array_foreach(json_object_get(cur, "manifests"), i, m)
		json_array_append(ms, m);
	json_array_append(ms, c->desc);
	return json_pack("{s:i,s:s,s:o}", "schemaVersion", 2, "mediaType", MT_INDEX, "manifests", ms);
}

ts_code ts_attach_bundle(ts_registry *r, const char *digest, const ts_manifest_info *subject,
			 const char *bundle, const char *predicate_type,
			 char manifest[TS_DIGEST_STRLEN], bool *used_api, ts_error *err)
{
	size_t blen = strlen(bundle);
	char bd[TS_DIGEST_STRLEN], md[TS_DIGEST_STRLEN], when[32], tag[128];
	json_t *ann, *m;
	char *text;
	ts_buf idx = TS_BUF_INIT;
	time_t now = time(NULL);
	struct tm tm;
	index_ctx c;
	ts_code rc;

	*used_api = false;
	manifest[0] = '\0';
	ts_sha256_digest(bundle, blen, bd);
	rc = ts_registry_blob_put(r, EMPTY_DIGEST, "{}", 2, err);
	if (rc == TS_OK)
		rc = ts_registry_blob_put(r, bd, bundle, blen, err);
	if (rc != TS_OK)
		return rc;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	ann = json_pack("{s:s,s:s,s:s}", "dev.sigstore.bundle.content", "dsse-envelope",
			"dev.sigstore.bundle.predicateType", predicate_type,
			"org.opencontainers.image.created", when);
	m = json_pack("{s:i,s:s,s:s,s:{s:s,s:s,s:i},s:[{s:s,s:s,s:I}],s:{s:s,s:s,s:I},s:O}",
		      "schemaVersion", 2, "mediaType", MT_MANIFEST, "artifactType", TS_MT_BUNDLE,
		      "config", "mediaType", MT_EMPTY, "digest", EMPTY_DIGEST, "size", 2,
		      "layers", "mediaType", TS_MT_BUNDLE, "digest", bd, "size", (json_int_t)blen,
		      "subject", "mediaType", subject->media_type[0] ? subject->media_type : MT_MANIFEST,
		      "digest", digest, "size", (json_int_t)subject->size, "annotations", ann);
	text = json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(m);
	ts_sha256_digest(text, strlen(text), md);
	rc = ts_registry_manifest_put(r, md, MT_MANIFEST, text, strlen(text), NULL, err);
	if (rc == TS_OK)
		rc = ts_registry_referrers(r, digest, used_api, &idx, err);
	if (rc == TS_OK && !*used_api) {
		c.desc = json_pack("{s:s,s:s,s:I,s:s,s:O}", "mediaType", MT_MANIFEST, "digest", md,
				   "size", (json_int_t)strlen(text), "artifactType", TS_MT_BUNDLE,
				   "annotations", ann);
		hex_tag(digest, NULL, tag, sizeof(tag));
		rc = rmw_tag(r, tag, MT_INDEX, index_build, index_has, &c, NULL, err);
		json_decref(c.desc);
	}
	if (rc == TS_OK)
		snprintf(manifest, TS_DIGEST_STRLEN, "%s", md);
	ts_buf_free(&idx);
	json_decref(ann);
	free(text);
	return rc;
}

/* ---- reading ---- */

static ts_attachment *add(ts_attachments *a, ts_attach_kind kind, char *where)
{
	ts_attachment *x;
	a->v = ts_realloc(a->v, (a->n + 1) * sizeof(*a->v));
	x = &a->v[a->n++];
	memset(x, 0, sizeof(*x));
	x->kind = kind;
	x->where = where;
	return x;
}

static void set_problem(ts_attachment *x, const char *fmt, const char *detail)
{
	char safe[512], *msg;
	ts_sanitize(safe, sizeof(safe), detail ? detail : "");
	msg = ts_asprintf("%s%s", fmt, safe);
	free(x->problem);
	x->problem = msg;
}

/* Read one layer's blob into x, or note why it cannot be read. */
static ts_code read_layer(ts_registry *r, json_t *l, ts_attachments *a, ts_attachment *x,
			  ts_error *err)
{
	const char *d = json_string_value(json_object_get(l, "digest"));
	const char *mt = json_string_value(json_object_get(l, "mediaType"));
	json_t *ann = json_object_get(l, "annotations");
	const char *sig = json_string_value(json_object_get(ann, TS_ANN_SIGNATURE));
	const char *pt = json_string_value(json_object_get(ann, TS_ANN_PREDICATE));
	ts_buf body = TS_BUF_INIT;
	ts_error e = TS_ERROR_INIT;
	ts_code rc;

	x->media_type = ts_strdup(mt ? mt : "");
	x->signature = sig ? ts_strdup(sig) : NULL;
	x->predicate = pt ? ts_strdup(pt) : NULL;
	if (!d || !ts_digest_valid(d)) {
		set_problem(x, "layer has no valid digest", NULL);
		return TS_OK;
	}
	if (a->bytes >= MAX_ATTACH_TOTAL) {
		set_problem(x, "not read: the attachments already read exceed 64 MiB", NULL);
		return TS_OK;
	}
	rc = ts_registry_blob_get(r, d, MAX_ATTACH_BLOB, &body, &e);
	if (rc == TS_OK) {
		a->bytes += body.len;
		x->len = body.len;
		x->data = (unsigned char *)ts_buf_detach(&body);
	} else if (e.cause == TS_C_NOT_FOUND || e.cause == TS_C_PROTOCOL || e.cause == TS_C_LIMIT) {
		set_problem(x, "cannot read its blob: ", e.msg);
		rc = TS_OK;
	} else {
		*err = e;
	}
	ts_buf_free(&body);
	return rc;
}

static ts_code list_cosign(ts_registry *r, const char *digest, const char *suffix,
			   ts_attach_kind kind, ts_attachments *a, ts_error *err)
{
	char tag[128];
	json_t *doc = NULL, *l;
	ts_manifest_info info;
	size_t i;
	ts_code rc;

	hex_tag(digest, suffix, tag, sizeof(tag));
	rc = get_json(r, tag, &doc, &info, err);
	if (rc != TS_OK || !doc)
		return rc;
	json_array_foreach(json_object_get(doc, "layers"), i, l) {
		ts_attachment *x;
		if (a->n >= TS_ATTACH_MAX)
			break;
		x = add(a, kind, ts_asprintf("%s layer %zu", tag, i + 1));
		if ((rc = read_layer(r, l, a, x, err)) != TS_OK)
			break;
	}
	json_decref(doc);
	return rc;
}

static void collect(json_t *all, json_t *idx)
{
	json_t *m, *o;
	size_t i, j;
	json_array_foreach(json_object_get(idx, "manifests"), i, m) {
		const char *d = json_string_value(json_object_get(m, "digest"));
		bool dup = false;
		if (json_array_size(all) >= TS_ATTACH_MAX)
			break; /* a hostile index: the rest is not read */
		if (!d)
			continue;
		json_array_foreach(all, j, o)
			dup = dup || strcmp(json_string_value(json_object_get(o, "digest")), d) == 0;
		if (!dup)
			json_array_append(all, m);
	}
}

static ts_code read_referrer(ts_registry *r, const char *digest, const char *md,
			     ts_attachments *a, ts_error *err)
{
	json_t *doc = NULL, *l;
	ts_manifest_info info;
	const char *subj, *at, *pt;
	char *where = ts_asprintf("referrer %s", md);
	ts_attachment *x;
	ts_code rc = get_json(r, md, &doc, &info, err);
	size_t i;

	if (rc != TS_OK || !doc) {
		if (rc == TS_OK) {
			x = add(a, TS_ATT_BUNDLE, where);
			set_problem(x, "listed, but the registry does not have it", NULL);
		} else {
			free(where);
		}
		return rc;
	}
	at = json_string_value(json_object_get(doc, "artifactType"));
	pt = json_string_value(json_object_get(json_object_get(doc, "annotations"),
					       "dev.sigstore.bundle.predicateType"));
	subj = json_string_value(json_object_get(json_object_get(doc, "subject"), "digest"));
	if (!at || strncmp(at, "application/vnd.dev.sigstore.bundle", 35) != 0) {
		free(where); /* another kind of referrer (an SBOM, ...): not ours to judge */
	} else if (!subj || strcmp(subj, digest) != 0) {
		x = add(a, TS_ATT_BUNDLE, where);
		set_problem(x, "its subject is another image: ", subj ? subj : "none");
	} else {
		json_array_foreach(json_object_get(doc, "layers"), i, l) {
			if (a->n >= TS_ATTACH_MAX)
				break;
			x = add(a, TS_ATT_BUNDLE, i ? ts_asprintf("%s layer %zu", where, i + 1) : ts_strdup(where));
			if ((rc = read_layer(r, l, a, x, err)) != TS_OK)
				break;
			if (!x->predicate && pt) /* what the manifest says it holds, for reports */
				x->predicate = ts_strdup(pt);
		}
		free(where);
	}
	json_decref(doc);
	return rc;
}

ts_code ts_attach_list(ts_registry *r, const char *digest, ts_attachments *out, ts_error *err)
{
	ts_buf body = TS_BUF_INIT;
	json_t *all = json_array(), *idx = NULL, *m;
	ts_manifest_info info;
	char tag[128];
	size_t i;
	ts_code rc;

	memset(out, 0, sizeof(*out));
	rc = ts_registry_referrers(r, digest, &out->referrers_api, &body, err);
	if (rc == TS_OK && out->referrers_api) {
		idx = json_loadb(ts_buf_cstr(&body), body.len, 0, NULL);
		collect(all, idx);
		json_decref(idx);
	}
	hex_tag(digest, NULL, tag, sizeof(tag));
	if (rc == TS_OK)
		rc = get_json(r, tag, &idx, &info, err);
	if (rc == TS_OK && idx) {
		collect(all, idx);
		json_decref(idx);
	}
	json_array_foreach(all, i, m) {
		const char *md = json_string_value(json_object_get(m, "digest"));
		const char *at = json_string_value(json_object_get(m, "artifactType"));
		if (rc != TS_OK || out->n >= TS_ATTACH_MAX)
			break;
		if (!ts_digest_valid(md) || (at && strncmp(at, "application/vnd.dev.sigstore.bundle", 35)))
			continue;
		rc = read_referrer(r, digest, md, out, err);
	}
	if (rc == TS_OK)
		rc = list_cosign(r, digest, "sig", TS_ATT_SIG, out, err);
	if (rc == TS_OK)
		rc = list_cosign(r, digest, "att", TS_ATT_ATT, out, err);
	json_decref(all);
	ts_buf_free(&body);
	return rc;
}

void ts_attachments_free(ts_attachments *a)
{
	for (size_t i = 0; i < a->n; i++) {
		ts_attachment *x = &a->v[i];
		free(x->where);
		free(x->media_type);
		free(x->data);
		free(x->signature);
		free(x->predicate);
		free(x->problem);
	}
	free(a->v);
	memset(a, 0, sizeof(*a));
}
