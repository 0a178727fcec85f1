/*
 * image.c - reading an IMAGE into a push plan (see image.h): docker save
 * (manifest.json) and OCI layouts (index.json), one image or an index.
 */
#include <stdlib.h>
#include <string.h>

#include "imgsrc.h"
#include "tagseal/image.h"
#include "tagseal/ref.h"

#define MAX_MANIFESTS 1024
#define MAX_LAYERS 4096

typedef struct planner {
	ts_image *img;
	ts_src *src;
	ts_error *err;
} planner;

bool ts_media_type_is_index(const char *mt)
{
	return mt && (strcmp(mt, TS_MT_OCI_INDEX) == 0 || strcmp(mt, TS_MT_DOCKER_LIST) == 0);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static bool media_type_foreign(const char *mt)
{
	return mt && (strstr(mt, "foreign") || strstr(mt, "nondistributable"));
}

static ts_layer_enc enc_from_media_type(const char *mt)
{
	if (ends_with(mt, "+gzip") || ends_with(mt, ".tar.gzip") || ends_with(mt, ".gzip"))
		return TS_ENC_GZIP;
	if (ends_with(mt, "+zstd") || ends_with(mt, ".zstd"))
		return TS_ENC_ZSTD;
	return TS_ENC_RAW;
}

static ts_layer_enc enc_from_magic(const unsigned char *m, int n)
{
	if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
		return TS_ENC_GZIP;
	if (n >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
		return TS_ENC_ZSTD;
	return TS_ENC_RAW;
}

/* "sha256:<hex>" -> "blobs/sha256/<hex>" */
static char *blob_member(const char *digest)
{
	return ts_asprintf("blobs/sha256/%s", digest + 7);
}

/* A member's bytes, checked against a digest when one is given. */
static ts_code get_json_member(planner *p, const char *member, const char *digest,
			       const char *what, const ts_buf **data, json_t **doc)
{
	json_error_t jerr;
	ts_code rc = ts_src_get(p->src, member, data, p->err);
	if (rc)
		return rc;
	if (!*data)
		return ts_error_set(p->err, TS_EUSAGE, "image '%s': %s '%s' is missing", p->img->path,
				    what, member);
	if (digest) {
		char actual[TS_DIGEST_STRLEN];
		ts_sha256_digest(ts_buf_cstr(*data), (*data)->len, actual);
		if (strcmp(actual, digest) != 0)
			return ts_error_set(p->err, TS_EUSAGE,
					    "image '%s': %s %s: its bytes have digest %s", p->img->path,
					    what, digest, actual);
	}
	if (doc) {
		*doc = json_loadb(ts_buf_cstr(*data), (*data)->len,
				  JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
		if (!*doc)
			return ts_error_set(p->err, TS_EUSAGE, "image '%s': %s '%s' is not valid JSON: %s (line %d)",
					    p->img->path, what, member, jerr.text, jerr.line);
		if (!json_is_object(*doc)) {
			bool null = json_is_null(*doc);
			json_decref(*doc);
			*doc = NULL;
			return ts_error_set(p->err, TS_EUSAGE, "image '%s': %s '%s' is %s, not a JSON object",
					    p->img->path, what, member, null ? "null" : "not an object");
		}
	}
	return TS_OK;
}

/* Add (or find) the layer stored at `member`. */
static ts_code add_layer(planner *p, const char *member, size_t *index)
{
	ts_image *img = p->img;
	ts_src_member *m = p->src->is_dir ? NULL : ts_src_find(p->src, member);
	const char *name = m ? m->name : member;
	for (size_t i = 0; i < img->n_layers; i++)
		if (strcmp(img->layers[i].member, name) == 0) {
			*index = i;
			return TS_OK;
		}
	if (img->n_layers >= MAX_LAYERS)
		return ts_error_set(p->err, TS_EUSAGE, "image '%s': more than %d layers", img->path,
				    MAX_LAYERS);
	img->layers = ts_realloc(img->layers, (img->n_layers + 1) * sizeof(ts_layer));
	memset(&img->layers[img->n_layers], 0, sizeof(ts_layer));
	img->layers[img->n_layers].member = ts_strdup(name);
	img->layers[img->n_layers].src_size = -1;
	*index = img->n_layers++;
	return TS_OK;
}

static ts_manifest *new_manifest(planner *p)
{
	ts_image *img = p->img;
	img->manifests = ts_realloc(img->manifests, (img->n_manifests + 1) * sizeof(ts_manifest));
	memset(&img->manifests[img->n_manifests], 0, sizeof(ts_manifest));
	return &img->manifests[img->n_manifests++];
}

/* Check the config and attach its diff_ids to the manifest's layers. */
static ts_code use_config(planner *p, ts_manifest *mf, const char *member, const char *digest)
{
	const ts_buf *data;
	json_t *doc = NULL, *diff_ids;
	ts_code rc = get_json_member(p, member, digest, "config", &data, &doc);
	size_t i;
	json_t *v;

	if (rc)
		return rc;
	if (!json_is_object(doc)) {
		json_decref(doc);
		return ts_error_set(p->err, TS_EUSAGE, "image '%s': config '%s' is not a JSON object",
				    p->img->path, member);
	}
	ts_buf_put(&mf->config, data->ptr, data->len);
	ts_sha256_digest(ts_buf_cstr(data), data->len, mf->config_digest);
	diff_ids = json_object_get(json_object_get(doc, "rootfs"), "diff_ids");
	if (!json_is_array(diff_ids) || json_array_size(diff_ids) != mf->n_layers) {
		rc = ts_error_set(p->err, TS_EUSAGE,
				  "image '%s': config '%s' lists %zu diff_ids but the manifest has %zu layers",
				  p->img->path, member, json_is_array(diff_ids) ? json_array_size(diff_ids) : 0,
				  mf->n_layers);
		json_decref(doc);
		return rc;
	}
	json_array_foreach(diff_ids, i, v) {
		const char *d = json_string_value(v);
		ts_layer *l = &p->img->layers[mf->layers[i]];
		if (!ts_digest_valid(d)) {
			json_decref(doc);
			return ts_error_set(p->err, TS_EUSAGE,
					    "image '%s': config '%s': rootfs.diff_ids[%zu] is not a sha256 digest",
					    p->img->path, member, i);
		}
		if (l->diff_id[0] && strcmp(l->diff_id, d) != 0) {
			json_decref(doc);
			return ts_error_set(p->err, TS_EUSAGE,
					    "image '%s': layer '%s' has two different diff_ids", p->img->path,
					    l->member);
		}
		memcpy(l->diff_id, d, TS_DIGEST_STRLEN);
		/* an uncompressed layer's digest is its diff_id */
		if (l->enc == TS_ENC_RAW && l->src_digest[0] && strcmp(l->src_digest, d) != 0) {
			rc = ts_error_set(p->err, TS_EUSAGE,
					  "image '%s': uncompressed layer %s does not match diff_id %s",
					  p->img->path, l->src_digest, d);
			json_decref(doc); /* after the message: d lives in doc */
			return rc;
		}
	}
	json_decref(doc);
	return TS_OK;
}

/* Stat a layer member and fill its size and encoding. */
static ts_code stat_layer(planner *p, ts_layer *l, const char *declared_mt, int64_t declared_size)
{
	int64_t size;
	const unsigned char *magic;
	int magic_len;
	ts_code rc = ts_src_stat(p->src, l->member, &size, &magic, &magic_len, p->err);

	if (rc && p->err->cause == TS_C_ABSENT)
		return ts_error_setc(p->err, TS_C_ABSENT, "image '%s': layer '%s' is missing",
				    p->img->path, l->member);
	if (rc)
		return rc;
	if (declared_size >= 0 && size != declared_size)
		return ts_error_set(p->err, TS_EUSAGE,
				    "image '%s': layer '%s' is %lld bytes but its descriptor says %lld",
				    p->img->path, l->member, (long long)size, (long long)declared_size);
	l->src_size = size;
	l->enc = declared_mt ? enc_from_media_type(declared_mt) : enc_from_magic(magic, magic_len);
	if (declared_mt && l->enc != TS_ENC_RAW && magic_len >= 4) {
		/* the label must say what the bytes are; strict consumers
		 * (containerd) fail to decompress a layer whose label lies */
		ts_layer_enc actual = enc_from_magic(magic, magic_len);
		if (actual == TS_ENC_RAW) {
			l->enc = TS_ENC_RAW;
			l->mislabelled = true;
		} else if (actual != l->enc) {
			return ts_error_setc(p->err, TS_C_INPUT,
					     "image '%s': layer '%s' is labelled %s but its bytes are %s",
					     p->img->path, l->member, declared_mt,
					     actual == TS_ENC_GZIP ? "gzip" : "zstd");
		}
	}
	if (declared_mt && !l->src_media_type)
		l->src_media_type = ts_strdup(declared_mt);
	return TS_OK;
}

/* ---- docker save ---- */

static char *list_names_docker(json_t *arr)
{
	ts_buf b = TS_BUF_INIT;
	size_t i, j;
	json_t *e, *t;
	json_array_foreach(arr, i, e) {
		json_t *tags = json_object_get(e, "RepoTags");
		if (!json_array_size(tags)) {
			ts_buf_printf(&b, "%s(untagged image %zu)", b.len ? ", " : "", i + 1);
			continue;
		}
		json_array_foreach(tags, j, t)
			if (json_is_string(t))
				ts_buf_printf(&b, "%s%s", b.len ? ", " : "", json_string_value(t));
	}
	return ts_buf_detach(&b);
}

static bool name_matches(const char *want, const char *have)
{
	ts_ref a = TS_REF_INIT, b = TS_REF_INIT;
	bool same;
	if (strcmp(want, have) == 0)
		return true;
	if (ts_ref_parse(want, &a, NULL, NULL) || ts_ref_parse(have, &b, NULL, NULL)) {
		ts_ref_free(&a);
		return false;
	}
	same = ts_ref_same_repo(&a, &b) &&
	       strcmp(a.tag ? a.tag : "latest", b.tag ? b.tag : "latest") == 0;
	ts_ref_free(&a);
	ts_ref_free(&b);
	return same;
}

static ts_code plan_docker(planner *p, const char *name, const ts_buf *data)
{
	ts_image *img = p->img;
	json_error_t jerr;
	json_t *root = json_loadb(ts_buf_cstr(data), data->len, JSON_DECODE_ANY, &jerr), *entry = NULL,
	       *layers;
	ts_manifest *mf;
	ts_code rc = TS_OK;
	size_t i, j;
	json_t *e, *t;
	const char *config;

	if (!root)
		return ts_error_set(p->err, TS_EUSAGE, "image '%s': manifest.json is not valid JSON: %s",
				    img->path, jerr.text);
	if (!json_is_array(root) || json_array_size(root) == 0) {
		rc = ts_error_set(p->err, TS_EUSAGE, "image '%s': manifest.json is %s, not a list of images",
				  img->path, json_is_null(root) ? "null" : json_is_array(root) ? "empty" : "not a list");
		goto out;
	}
	if (name) {
		json_array_foreach(root, i, e) {
			json_array_foreach(json_object_get(e, "RepoTags"), j, t)
				if (json_is_string(t) && name_matches(name, json_string_value(t)))
					entry = e;
			if (entry)
				break;
		}
		if (!entry) {
			char *names = list_names_docker(root);
			rc = ts_error_set(p->err, TS_EUSAGE, "image '%s': no image named '%s'; it holds: %s",
					  img->path, name, names);
			free(names);
			goto out;
		}
		img->name = ts_strdup(name);
	} else if (json_array_size(root) > 1) {
		char *names = list_names_docker(root);
		rc = ts_error_set(p->err, TS_EUSAGE,
				  "image '%s' holds %zu images; choose one with --image NAME: %s", img->path,
				  json_array_size(root), names);
		free(names);
		goto out;
	} else {
		entry = json_array_get(root, 0);
		t = json_array_get(json_object_get(entry, "RepoTags"), 0);
		if (json_is_string(t))
			img->name = ts_strdup(json_string_value(t));
	}
	config = json_string_value(json_object_get(entry, "Config"));
	layers = json_object_get(entry, "Layers");
	if (!json_is_object(entry) || !config || !json_is_array(layers)) {
		rc = ts_error_set(p->err, TS_EUSAGE,
				  "image '%s': manifest.json entry needs \"Config\" and \"Layers\"", img->path);
		goto out;
	}
	if (json_array_size(layers) > MAX_LAYERS) {
		rc = ts_error_set(p->err, TS_EUSAGE, "image '%s': manifest.json: more than %d Layers",
				  img->path, MAX_LAYERS);
		goto out;
	}
	mf = new_manifest(p);
	json_array_foreach(layers, i, e) {
		const char *member = json_string_value(e);
		char *norm = member ? ts_src_normalise(member) : NULL;
		size_t li;
		ts_layer *l;
		json_t *src;
		if (!norm || !*norm) {
			free(norm);
			rc = ts_error_set(p->err, TS_EUSAGE, "image '%s': manifest.json: Layers[%zu] is not a safe path",
					  img->path, i);
			goto out;
		}
		rc = add_layer(p, norm, &li);
		free(norm);
		if (rc)
			goto out;
		mf->layers = ts_realloc(mf->layers, (mf->n_layers + 1) * sizeof(size_t));
		mf->layers[mf->n_layers++] = li;
		l = &img->layers[li];
		if (l->src_size < 0) {
			rc = stat_layer(p, l, NULL, -1);
			if (rc)
				goto out;
			if (strncmp(l->member, "blobs/sha256/", 13) == 0 && strlen(l->member) == 13 + 64)
				snprintf(l->src_digest, sizeof(l->src_digest), "sha256:%s", l->member + 13);
		}
		(void)src;
	}
	{
		char *norm = ts_src_normalise(config);
		if (!norm || !*norm) {
			free(norm);
			rc = ts_error_set(p->err, TS_EUSAGE, "image '%s': manifest.json: Config is not a safe path",
					  img->path);
			goto out;
		}
		rc = use_config(p, mf, norm, NULL);
		free(norm);
		if (rc)
			goto out;
	}
	/* LayerSources: foreign (non-distributable) layers keep their descriptor */
	{
		json_t *sources = json_object_get(entry, "LayerSources");
		for (i = 0; i < mf->n_layers && json_is_object(sources); i++) {
			ts_layer *l = &img->layers[mf->layers[i]];
			json_t *d = json_object_get(sources, l->diff_id);
			const char *mt = json_string_value(json_object_get(d, "mediaType"));
			if (media_type_foreign(mt)) {
				l->foreign = true;
				l->descriptor = json_incref(d);
			}
		}
	}
out:
	json_decref(root);
	return rc;
}

/* ---- OCI layout ---- */

static const char *ref_name(json_t *desc)
{
	json_t *ann = json_object_get(desc, "annotations");
	const char *n = json_string_value(json_object_get(ann, "org.opencontainers.image.ref.name"));
	return n ? n : json_string_value(json_object_get(ann, "io.containerd.image.name"));
}

static bool desc_matches(json_t *desc, const char *want)
{
	json_t *ann = json_object_get(desc, "annotations");
	const char *a = json_string_value(json_object_get(ann, "org.opencontainers.image.ref.name"));
	const char *b = json_string_value(json_object_get(ann, "io.containerd.image.name"));
	return (a && (strcmp(a, want) == 0 || name_matches(want, a))) ||
	       (b && (strcmp(b, want) == 0 || name_matches(want, b)));
}

static ts_code check_descriptor(planner *p, json_t *d, const char *where, const char **digest,
				const char **mt, int64_t *size)
{
	json_t *sz = json_object_get(d, "size");
	*digest = json_string_value(json_object_get(d, "digest"));
	*mt = json_string_value(json_object_get(d, "mediaType"));
	if (!json_is_object(d) || !ts_digest_valid(*digest))
		return ts_error_set(p->err, TS_EUSAGE,
				    "image '%s': %s: descriptor needs a sha256 \"digest\"", p->img->path, where);
	if (!json_is_integer(sz) || json_integer_value(sz) < 0)
		return ts_error_set(p->err, TS_EUSAGE, "image '%s': %s: descriptor %s has no valid \"size\"",
				    p->img->path, where, *digest);
	*size = json_integer_value(sz);
	return TS_OK;
}

static ts_code plan_oci_manifest(planner *p, json_t *desc, const char *digest, int64_t size)
{
	ts_image *img = p->img;
	char *member = blob_member(digest);
	const ts_buf *data;
	json_t *doc = NULL, *layers, *e;
	ts_manifest *mf;
	ts_code rc;
	size_t i;
	const char *cdigest, *cmt;
	int64_t csize;

	rc = get_json_member(p, member, digest, "manifest", &data, &doc);
	free(member);
	if (rc)
		return rc;
	if ((int64_t)data->len != size) {
		json_decref(doc);
		return ts_error_set(p->err, TS_EUSAGE, "image '%s': manifest %s is %zu bytes, descriptor says %lld",
				    img->path, digest, data->len, (long long)size);
	}
	if (img->n_manifests >= MAX_MANIFESTS) {
		json_decref(doc);
		return ts_error_set(p->err, TS_EUSAGE, "image '%s': too many manifests", img->path);
	}
	mf = new_manifest(p);
	mf->doc = doc;
	ts_buf_put(&mf->raw, data->ptr, data->len);
	memcpy(mf->digest, digest, TS_DIGEST_STRLEN);
	{
		/* the content decides: a body without mediaType is an OCI manifest
		 * (Docker schema 2 requires the field) */
		const char *mt = json_string_value(json_object_get(doc, "mediaType"));
		mf->media_type = ts_strdup(mt ? mt : TS_MT_OCI_MANIFEST);
	}
	if (desc)
		mf->index_descriptor = json_incref(desc);
	{
		json_t *plat = json_object_get(desc, "platform");
		const char *os = json_string_value(json_object_get(plat, "os"));
		const char *arch = json_string_value(json_object_get(plat, "architecture"));
		const char *var = json_string_value(json_object_get(plat, "variant"));
		if (os && arch)
			mf->platform = var ? ts_asprintf("%s/%s/%s", os, arch, var) : ts_asprintf("%s/%s", os, arch);
	}
	rc = check_descriptor(p, json_object_get(doc, "config"), "manifest config", &cdigest, &cmt, &csize);
	if (rc)
		return rc;
	layers = json_object_get(doc, "layers");
	if (!json_is_array(layers))
		return ts_error_set(p->err, TS_EUSAGE, "image '%s': manifest %s has no \"layers\" list",
				    img->path, digest);
	if (json_array_size(layers) > MAX_LAYERS)
		return ts_error_set(p->err, TS_EUSAGE, "image '%s': manifest %s has more than %d layers",
				    img->path, digest, MAX_LAYERS);
	json_array_foreach(layers, i, e) {
		const char *ld, *lmt;
		int64_t lsize;
		size_t li;
		ts_layer *l;
		char *lm;
		char where[64];
		snprintf(where, sizeof(where), "layers[%zu]", i);
		rc = check_descriptor(p, e, where, &ld, &lmt, &lsize);
		if (rc)
			return rc;
		lm = blob_member(ld);
		rc = add_layer(p, lm, &li);
		free(lm);
		if (rc)
			return rc;
		mf->layers = ts_realloc(mf->layers, (mf->n_layers + 1) * sizeof(size_t));
		mf->layers[mf->n_layers++] = li;
		l = &img->layers[li];
		if (l->src_size >= 0)
			continue;
		memcpy(l->src_digest, ld, TS_DIGEST_STRLEN);
		l->descriptor = json_incref(e);
		if (media_type_foreign(lmt)) {
			l->foreign = true;
			l->src_size = lsize;
			l->src_media_type = ts_strdup(lmt);
			continue;
		}
		rc = stat_layer(p, l, lmt ? lmt : TS_MT_OCI_LAYER_GZIP, lsize);
		if (rc)
			return rc;
	}
	{
		char *cm = blob_member(cdigest);
		rc = use_config(p, mf, cm, cdigest);
		free(cm);
		if (rc)
			return rc;
		if ((int64_t)mf->config.len != csize)
			return ts_error_set(p->err, TS_EUSAGE, "image '%s': config %s is %zu bytes, descriptor says %lld",
					    img->path, cdigest, mf->config.len, (long long)csize);
		if (cmt)
			mf->config_media_type = ts_strdup(cmt);
	}
	return TS_OK;
}

static ts_code plan_oci_index(planner *p, json_t *desc, const char *digest, int64_t size)
{
	ts_image *img = p->img;
	char *member = blob_member(digest);
	const ts_buf *data;
	json_t *doc = NULL, *list, *e;
	ts_code rc = get_json_member(p, member, digest, "index", &data, &doc);
	size_t i;

	(void)desc;
	free(member);
	if (rc)
		return rc;
	if ((int64_t)data->len != size) {
		json_decref(doc);
		return ts_error_set(p->err, TS_EUSAGE, "image '%s': index %s is %zu bytes, descriptor says %lld",
				    img->path, digest, data->len, (long long)size);
	}
	img->is_index = true;
	img->index_doc = doc;
	ts_buf_put(&img->index_raw, data->ptr, data->len);
	memcpy(img->index_digest, digest, TS_DIGEST_STRLEN);
	{
		const char *mt = json_string_value(json_object_get(doc, "mediaType"));
		img->index_media_type = ts_strdup(mt ? mt : TS_MT_OCI_INDEX);
	}
	list = json_object_get(doc, "manifests");
	if (!json_array_size(list))
		return ts_error_set(p->err, TS_EUSAGE, "image '%s': index %s lists no manifests", img->path, digest);
	json_array_foreach(list, i, e) {
		const char *d, *mt;
		int64_t sz;
		char where[64];
		snprintf(where, sizeof(where), "index manifests[%zu]", i);
		rc = check_descriptor(p, e, where, &d, &mt, &sz);
		if (rc)
			return rc;
		if (ts_media_type_is_index(mt))
			return ts_error_set(p->err, TS_EUSAGE, "image '%s': index %s nests another index (%s), which is not supported",
					    img->path, digest, d);
		rc = plan_oci_manifest(p, e, d, sz);
		if (rc)
			return rc;
	}
	return TS_OK;
}

static ts_code plan_oci(planner *p, const char *name, const ts_buf *data)
{
	ts_image *img = p->img;
	json_error_t jerr;
	json_t *root = json_loadb(ts_buf_cstr(data), data->len, 0, &jerr), *list, *e, *sel = NULL;
	ts_code rc = TS_OK;
	size_t i;
	const char *d, *mt;
	int64_t sz;

	if (!root)
		return ts_error_set(p->err, TS_EUSAGE, "image '%s': index.json is not valid JSON: %s",
				    img->path, jerr.text);
	list = json_object_get(root, "manifests");
	if (!json_array_size(list)) {
		rc = ts_error_set(p->err, TS_EUSAGE, "image '%s': index.json lists no images", img->path);
		goto out;
	}
	if (name) {
		json_array_foreach(list, i, e)
			if (desc_matches(e, name)) {
				sel = e;
				break;
			}
	} else if (json_array_size(list) == 1) {
		sel = json_array_get(list, 0);
	}
	if (!sel) {
		ts_buf names = TS_BUF_INIT;
		json_array_foreach(list, i, e) {
			const char *n = ref_name(e);
			const char *dg = json_string_value(json_object_get(e, "digest"));
			ts_buf_printf(&names, "%s%s", names.len ? ", " : "", n ? n : dg ? dg : "?");
		}
		if (name)
			rc = ts_error_set(p->err, TS_EUSAGE, "image '%s': no image named '%s'; it holds: %s",
					  img->path, name, ts_buf_cstr(&names));
		else
			rc = ts_error_set(p->err, TS_EUSAGE,
					  "image '%s' holds %zu images; choose one with --image NAME: %s",
					  img->path, json_array_size(list), ts_buf_cstr(&names));
		ts_buf_free(&names);
		goto out;
	}
	if (ref_name(sel))
		img->name = ts_strdup(ref_name(sel));
	rc = check_descriptor(p, sel, "index.json", &d, &mt, &sz);
	if (rc)
		goto out;
	if (ts_media_type_is_index(mt)) {
		rc = plan_oci_index(p, sel, d, sz);
	} else if (mt && strcmp(mt, TS_MT_OCI_MANIFEST) != 0 && strcmp(mt, TS_MT_DOCKER_MANIFEST) != 0) {
		/* an unusual descriptor type: decide by the blob's own content */
		const ts_buf *blob;
		json_t *doc = NULL;
		char *member = blob_member(d);
		rc = get_json_member(p, member, d, "manifest", &blob, &doc);
		free(member);
		if (rc == TS_OK && json_object_get(doc, "manifests"))
			rc = plan_oci_index(p, sel, d, sz);
		else if (rc == TS_OK)
			rc = plan_oci_manifest(p, sel, d, sz);
		json_decref(doc);
	} else {
		rc = plan_oci_manifest(p, NULL, d, sz);
	}
out:
	json_decref(root);
	return rc;
}

ts_code ts_image_open(const char *path, const char *name, ts_image **out, ts_error *err)
{
	ts_image *img = ts_calloc(1, sizeof(*img));
	planner p = { img, NULL, err };
	const ts_buf *manifest_json = NULL, *index_json = NULL, *layout = NULL;
	ts_code rc;

	img->path = ts_strdup(path);
	rc = ts_src_open(path, &p.src, err);
	if (rc)
		goto fail;
	if ((rc = ts_src_get(p.src, "manifest.json", &manifest_json, err)) ||
	    (rc = ts_src_get(p.src, "index.json", &index_json, err)) ||
	    (rc = ts_src_get(p.src, "oci-layout", &layout, err)))
		goto fail;
	img->kind = p.src->is_dir ? TS_IMAGE_OCI_DIR
				  : manifest_json ? TS_IMAGE_DOCKER_ARCHIVE : TS_IMAGE_OCI_ARCHIVE;
	img->family = layout ? TS_FAMILY_OCI : TS_FAMILY_DOCKER;
	if (p.src->filter)
		img->outer_filter = ts_strdup(p.src->filter);

	if (index_json && layout) {
		json_t *idx = json_loadb(ts_buf_cstr(index_json), index_json->len, 0, NULL);
		bool has_images = json_array_size(json_object_get(idx, "manifests")) > 0;
		json_decref(idx);
		if (has_images || !manifest_json) {
			rc = plan_oci(&p, name, index_json);
			goto done;
		}
	}
	if (manifest_json) {
		rc = plan_docker(&p, name, manifest_json);
	} else if (p.src->is_dir) {
		rc = ts_error_set(err, TS_EUSAGE,
				  "image '%s': directory is not an OCI image layout (no index.json and oci-layout)",
				  path);
	} else {
		rc = ts_error_set(err, TS_EUSAGE,
				  "image '%s': tarball has neither manifest.json (docker save) nor index.json "
				  "and oci-layout (OCI layout)",
				  path);
	}
done:
	if (rc)
		goto fail;
	ts_src_free(p.src);
	*out = img;
	return TS_OK;
fail:
	ts_src_free(p.src);
	ts_image_free(img);
	return rc;
}

void ts_image_free(ts_image *img)
{
	if (!img)
		return;
	for (size_t i = 0; i < img->n_manifests; i++) {
		ts_manifest *m = &img->manifests[i];
		ts_buf_free(&m->raw);
		ts_buf_free(&m->config);
		free(m->media_type);
		free(m->config_media_type);
		free(m->layers);
		json_decref(m->doc);
		json_decref(m->index_descriptor);
		free(m->platform);
	}
	free(img->manifests);
	for (size_t i = 0; i < img->n_layers; i++) {
		free(img->layers[i].member);
		free(img->layers[i].src_media_type);
		json_decref(img->layers[i].descriptor);
	}
	free(img->layers);
	ts_buf_free(&img->index_raw);
	free(img->index_media_type);
	json_decref(img->index_doc);
	free(img->path);
	free(img->name);
	free(img->outer_filter);
	free(img);
}
