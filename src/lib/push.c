/*
 * push.c - the push orchestration (see push.h).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tagseal/blobcache.h"
#include "tagseal/push.h"

typedef struct pusher {
	const ts_push_opts *o;
	ts_image *img;
	ts_registry *reg; /* NULL: compute only */
	ts_family family; /* of the manifests we write */
	ts_push_result *res;
	bool trust_known; /* compute only: take stored digests without reading */
	ts_blobcache *cache; /* NULL: off */
	pthread_mutex_t *mu; /* res and progress, when layers stream in parallel */
	char **file_ids; /* per layer: its file's identity before reading, or NULL */
} pusher;

/* The file a layer is read from, and the layer's name inside that file. */
static char *layer_path(const pusher *p, const ts_layer *l)
{
	if (p->img->kind == TS_IMAGE_OCI_DIR)
		return ts_asprintf("%s/%s", p->img->path, l->member);
	return ts_strdup(p->img->path);
}

static const char *layer_member(const pusher *p, const ts_layer *l)
{
	return p->img->kind == TS_IMAGE_OCI_DIR ? "" : l->member;
}

/* Identify every layer's file before anything is read. */
static void identify_files(pusher *p)
{
	char *whole = NULL;
	if (!p->cache)
		return;
	p->file_ids = ts_calloc(p->img->n_layers + 1, sizeof(char *));
	if (p->img->kind != TS_IMAGE_OCI_DIR)
		whole = ts_blobcache_file_id(p->img->path);
	for (size_t i = 0; i < p->img->n_layers; i++) {
		char *f;
		if (p->img->kind != TS_IMAGE_OCI_DIR) {
			p->file_ids[i] = whole ? ts_strdup(whole) : NULL;
			continue;
		}
		f = layer_path(p, &p->img->layers[i]);
		p->file_ids[i] = ts_blobcache_file_id(f);
		free(f);
	}
	free(whole);
}

static void free_file_ids(pusher *p)
{
	if (!p->file_ids)
		return;
	for (size_t i = 0; i < p->img->n_layers; i++)
		free(p->file_ids[i]);
	free(p->file_ids);
	p->file_ids = NULL;
}

static const char *file_id(const pusher *p, const ts_layer *l)
{
	return p->file_ids ? p->file_ids[l - p->img->layers] : NULL;
}

/* The layer's bytes were read in full and match its diff_id. */
static void layer_read_ok(const pusher *p, const ts_layer *l)
{
	char *f;
	if (!file_id(p, l))
		return;
	f = layer_path(p, l);
	ts_blobcache_saw(p->cache, file_id(p, l), f, layer_member(p, l), l->diff_id);
	free(f);
}

/* The layer's file is unchanged since its bytes were last read and matched
 * diff_id. */
static bool layer_seen(const pusher *p, const ts_layer *l)
{
	return ts_blobcache_seen(p->cache, file_id(p, l), layer_member(p, l), l->diff_id);
}

static void lock(const pusher *p)
{
	if (p->mu)
		pthread_mutex_lock(p->mu);
}

static void unlock(const pusher *p)
{
	if (p->mu)
		pthread_mutex_unlock(p->mu);
}

static void progress(const pusher *p, const char *fmt, ...) TS_PRINTF(2, 3);
static void progress(const pusher *p, const char *fmt, ...)
{
	ts_buf b = TS_BUF_INIT;
	va_list ap;
	if (!p->o->progress)
		return;
	va_start(ap, fmt);
	ts_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	lock(p);
	p->o->progress(ts_buf_cstr(&b));
	unlock(p);
	ts_buf_free(&b);
}

/* ---- layers ---- */

typedef struct layer_rd {
	ts_compressor *c;
	ts_layer *l;
	const char *image;
} layer_rd;

static long layer_read(void *ctx, char *buf, size_t cap, ts_error *rerr)
{
	layer_rd *r = ctx;
	return ts_compressor_read(r->c, buf, cap, rerr);
}

/* The uncompressed bytes must be what the config's diff_id says. */
static ts_code layer_check(void *ctx, ts_error *err)
{
	layer_rd *r = ctx;
	char diff[TS_DIGEST_STRLEN];
	ts_compressor_input_digest(r->c, diff, NULL);
	if (r->l->diff_id[0] && strcmp(diff, r->l->diff_id) != 0)
		return ts_error_set(err, TS_EUSAGE,
				    "image '%s': layer '%s' has content digest %s but the config's diff_id is %s",
				    r->image, r->l->member, diff, r->l->diff_id);
	return TS_OK;
}

/* Without a registry: read everything, hash it. */
static ts_code drain(ts_blob_reader read, void *ctx, char digest[TS_DIGEST_STRLEN], int64_t *size,
		     ts_error *err)
{
	char *buf = ts_malloc(1 << 20);
	ts_sha256 *h = ts_sha256_new();
	ts_error rerr = TS_ERROR_INIT;
	long n;
	*size = 0;
	while ((n = read(ctx, buf, 1 << 20, &rerr)) > 0) {
		ts_sha256_update(h, buf, (size_t)n);
		*size += n;
	}
	free(buf);
	ts_sha256_final(h, digest);
	ts_sha256_free(h);
	if (n < 0) {
		*err = rerr;
		return rerr.code ? rerr.code : TS_EUSAGE;
	}
	return TS_OK;
}

static ts_code on_layer(void *ctx, ts_layer *l, ts_blob_reader read, void *rctx, ts_error *err)
{
	pusher *p = ctx;
	ts_code rc;

	if (l->verify_only) {
		char diff[TS_DIGEST_STRLEN];
		int64_t n;
		progress(p, "checking layer %s (already in the registry)", l->member);
		rc = drain(read, rctx, diff, &n, err);
		if (rc == TS_OK && strcmp(diff, l->diff_id) != 0)
			rc = ts_error_set(err, TS_EUSAGE,
					  "image '%s': layer '%s' has content digest %s but the config's diff_id is %s",
					  p->img->path, l->member, diff, l->diff_id);
		if (rc == TS_OK)
			layer_read_ok(p, l);
		return rc;
	}

	if (l->enc == TS_ENC_RAW) {
		layer_rd lr = { NULL, l, p->img->path };
		rc = ts_compressor_new(p->o->compression, p->o->jobs, read, rctx, &lr.c, err);
		if (rc)
			return rc;
		progress(p, "compressing and uploading layer %s (%lld bytes)", l->member,
			 (long long)l->src_size);
		if (p->reg) {
			rc = ts_registry_blob_upload(p->reg, NULL, -1, layer_read, &lr, layer_check,
						     &l->resume, l->out_digest, &l->out_size, err);
		} else {
			rc = drain(layer_read, &lr, l->out_digest, &l->out_size, err);
			if (rc == TS_OK)
				rc = layer_check(&lr, err);
		}
		if (rc == TS_OK && !l->diff_id[0])
			ts_compressor_input_digest(lr.c, l->diff_id, NULL);
		if (rc == TS_OK) {
			ts_blobcache_put(p->cache, l->diff_id, l->out_digest, l->out_size);
			layer_read_ok(p, l);
		}
		ts_compressor_free(lr.c);
	} else {
		progress(p, "uploading layer %s (%lld bytes)", l->member, (long long)l->src_size);
		if (p->reg)
			rc = ts_registry_blob_upload(p->reg, l->src_digest[0] ? l->src_digest : NULL,
						     l->src_size, read, rctx, NULL, &l->resume,
						     l->out_digest, &l->out_size, err);
		else {
			rc = drain(read, rctx, l->out_digest, &l->out_size, err);
			if (rc == TS_OK && l->src_digest[0] && strcmp(l->src_digest, l->out_digest) != 0)
				rc = ts_error_set(err, TS_EUSAGE, "image '%s': blob %s: its bytes have digest %s",
						  p->img->path, l->src_digest, l->out_digest);
		}
	}
	if (rc != TS_OK && err->retryable && p->reg) {
		/* start this layer over in another pass over the image */
		progress(p, "layer %s: %s; it will be sent again", l->member, err->msg);
		l->retry = true;
		l->retry_free = err->retryable == TS_RETRY_FREE;
		ts_error_clear(err);
		return TS_OK;
	}
	if (rc == TS_OK && p->reg) {
		lock(p);
		p->res->blobs_uploaded++;
		unlock(p);
	}
	else if (rc == TS_EUSAGE && strncmp(err->msg, "image '", 7) != 0)
		ts_error_prefix(err, "image '%s'", p->img->path);
	return rc;
}

/* Whether the repository has a blob, or can have it by mounting it from
 * --mount-from. */
static ts_code blob_present(pusher *p, const char *digest, bool *present, ts_error *err)
{
	ts_code rc = ts_registry_blob_exists(p->reg, digest, present, err);
	if (rc == TS_OK && !*present && p->o->mount_from)
		rc = ts_registry_blob_mount(p->reg, digest, p->o->mount_from, present, err);
	return rc;
}

/* Decide which layers must be read: skip those the registry has. */
static ts_code plan_layers(pusher *p, ts_error *err)
{
	for (size_t i = 0; i < p->img->n_layers; i++) {
		ts_layer *l = &p->img->layers[i];
		l->wanted = !l->foreign;
		if (l->foreign) {
			memcpy(l->out_digest, l->src_digest, TS_DIGEST_STRLEN);
			l->out_size = l->src_size;
			l->done = true;
			continue;
		}
		if (l->enc == TS_ENC_RAW && ts_blobcache_get(p->cache, l->diff_id, l->out_digest, &l->out_size)) {
			/* compressed before: use it if the registry has it (or we only compute) */
			bool exists = p->trust_known || !p->reg;
			ts_code rc = exists ? TS_OK : blob_present(p, l->out_digest, &exists, err);
			if (rc)
				return rc;
			if (exists && layer_seen(p, l)) {
				/* this very file was read and checked before, and
				 * has not changed since */
				progress(p, "layer %s: unchanged since it was last checked; the registry has %s",
					 l->member, l->out_digest);
				l->done = true;
				if (p->reg && !p->trust_known)
					p->res->blobs_present++;
				continue;
			}
			if (exists) {
				/* the bytes are read and checked against the diff_id:
				 * a cache entry never stands in for unread bytes */
				l->verify_only = true;
				if (p->reg && !p->trust_known)
					p->res->blobs_present++;
				continue;
			}
			l->out_digest[0] = '\0';
		}
		if (l->enc != TS_ENC_RAW && l->src_digest[0] && p->trust_known) {
			memcpy(l->out_digest, l->src_digest, TS_DIGEST_STRLEN);
			l->out_size = l->src_size;
			l->done = true;
			continue;
		}
		if (l->enc != TS_ENC_RAW && l->src_digest[0] && p->reg) {
			bool exists = false;
			ts_code rc = blob_present(p, l->src_digest, &exists, err);
			if (rc)
				return rc;
			if (exists) {
				memcpy(l->out_digest, l->src_digest, TS_DIGEST_STRLEN);
				l->out_size = l->src_size;
				l->done = true;
				p->res->blobs_present++;
			}
		}
	}
	return TS_OK;
}

/* How many layers go up at once: layers that are compressed on the way
 * already use every core, so they go one at a time; layers sent as they
 * are (or only checked) go up --jobs at a time, each on its own connection. */
static int layer_streams(const pusher *p)
{
	int n = p->o->jobs > 0 ? p->o->jobs : ts_compress_default_threads();
	if (n < 2 || !ts_image_parallel_ok(p->img))
		return 1;
	for (size_t i = 0; i < p->img->n_layers; i++) {
		const ts_layer *l = &p->img->layers[i];
		if (l->wanted && !l->done && l->enc == TS_ENC_RAW && !l->verify_only)
			return 1;
	}
	return n > 4 ? 4 : n;
}

/* One pass over the image with n workers, each with its own connection. */
static ts_code stream_pass(pusher *p, ts_error *err)
{
	int n = layer_streams(p);
	pusher *w;
	void **ctxs;
	pthread_mutex_t mu;
	ts_code rc = TS_OK;
	int made = 1;

	if (n == 1 || !p->reg)
		return ts_image_stream_layers(p->img, on_layer, p, err);
	pthread_mutex_init(&mu, NULL);
	w = ts_calloc((size_t)n, sizeof(*w));
	ctxs = ts_calloc((size_t)n, sizeof(*ctxs));
	for (int i = 0; i < n; i++) {
		w[i] = *p;
		w[i].mu = &mu;
		ctxs[i] = &w[i];
	}
	for (; made < n; made++)
		if (ts_registry_clone(p->reg, &w[made].reg, err) != TS_OK) {
			ts_error_clear(err); /* fewer workers, then */
			break;
		}
	rc = ts_image_stream_layers_parallel(p->img, made, on_layer, ctxs, err);
	for (int i = 1; i < made; i++)
		ts_registry_free(w[i].reg);
	free(w);
	free(ctxs);
	pthread_mutex_destroy(&mu);
	return rc;
}

/* Stream the wanted layers; layers whose upload failed in a way another
 * attempt may cure are sent again (resuming their session) in more passes,
 * up to --retries + 1 attempts. */
static ts_code stream_with_retries(pusher *p, ts_error *err)
{
	for (int failed = 0;;) {
		bool again = false, counted = false;
		ts_code rc = stream_pass(p, err);
		if (rc)
			return rc;
		for (size_t i = 0; i < p->img->n_layers; i++) {
			ts_layer *l = &p->img->layers[i];
			if (l->retry && !l->retry_free)
				counted = true;
		}
		if (counted)
			failed++;
		for (size_t i = 0; i < p->img->n_layers; i++) {
			ts_layer *l = &p->img->layers[i];
			if (!l->retry)
				continue;
			if (counted && failed >= ts_registry_attempts(p->reg))
				return ts_error_set(err, TS_EREGISTRY,
						    "layer %s could not be uploaded to %s after %d attempts",
						    l->member, p->o->repo->host, failed);
			l->retry = l->retry_free = false;
			again = true;
		}
		if (!again)
			return TS_OK;
	}
}

/* ---- manifests ---- */

static bool manifest_family_is_oci(const ts_manifest *m)
{
	return m->media_type && strcmp(m->media_type, TS_MT_OCI_MANIFEST) == 0;
}

/* The family manifest m is written in: --format, else its own. */
static bool target_oci(const pusher *p, const ts_manifest *m)
{
	if (p->o->format != TS_FORMAT_KEEP)
		return p->o->format == TS_FORMAT_OCI;
	if (m && m->media_type)
		return manifest_family_is_oci(m);
	return p->img->family == TS_FAMILY_OCI;
}

static const char *layer_media_type(const pusher *p, const ts_manifest *m, const ts_layer *l)
{
	bool oci = target_oci(p, m);
	ts_layer_enc enc = l->enc == TS_ENC_RAW
				   ? (p->o->compression == TS_COMPRESS_ZSTD ? TS_ENC_ZSTD : TS_ENC_GZIP)
				   : l->enc;
	if (l->foreign && l->src_media_type)
		return l->src_media_type;
	if (l->enc != TS_ENC_RAW && l->src_media_type) {
		/* keep the source's own type unless the family changes */
		bool src_oci = strncmp(l->src_media_type, "application/vnd.oci.", 20) == 0;
		if (src_oci == oci)
			return l->src_media_type;
	}
	if (enc == TS_ENC_ZSTD)
		return TS_MT_OCI_LAYER_ZSTD;
	return oci ? TS_MT_OCI_LAYER_GZIP : TS_MT_DOCKER_LAYER_GZIP;
}

static bool manifest_needs_rewrite(const pusher *p, const ts_manifest *m)
{
	if (!m->raw.len)
		return true;
	if (manifest_family_is_oci(m) != target_oci(p, m))
		return true;
	for (size_t i = 0; i < m->n_layers; i++) {
		const ts_layer *l = &p->img->layers[m->layers[i]];
		if (strcmp(l->out_digest, l->src_digest) != 0)
			return true;
	}
	return false;
}

static json_t *descriptor(const char *mt, const char *digest, int64_t size)
{
	json_t *d = json_object();
	json_object_set_new(d, "mediaType", json_string(mt));
	json_object_set_new(d, "digest", json_string(digest));
	json_object_set_new(d, "size", json_integer(size));
	return d;
}

/* The bytes of manifest m as we push it. */
static void build_manifest(const pusher *p, const ts_manifest *m, ts_buf *out, const char **mt)
{
	bool oci = target_oci(p, m);
	json_t *doc, *layers, *cfg;
	char *s;

	if (!manifest_needs_rewrite(p, m)) {
		ts_buf_put(out, m->raw.ptr, m->raw.len);
		*mt = m->media_type;
		return;
	}
	*mt = oci ? TS_MT_OCI_MANIFEST : TS_MT_DOCKER_MANIFEST;
	doc = json_object();
	json_object_set_new(doc, "schemaVersion", json_integer(2));
	json_object_set_new(doc, "mediaType", json_string(*mt));
	{
		const char *cmt = m->config_media_type;
		bool keep = cmt && (strncmp(cmt, "application/vnd.oci.", 20) == 0) == oci &&
			    manifest_family_is_oci(m) == oci && m->raw.len;
		cfg = descriptor(keep ? cmt : oci ? TS_MT_OCI_CONFIG : TS_MT_DOCKER_CONFIG,
				 m->config_digest, (int64_t)m->config.len);
		json_object_set_new(doc, "config", cfg);
	}
	layers = json_array();
	for (size_t i = 0; i < m->n_layers; i++) {
		const ts_layer *l = &p->img->layers[m->layers[i]];
		json_t *d = descriptor(layer_media_type(p, m, l), l->out_digest, l->out_size);
		json_t *src = l->descriptor;
		/* keep the source descriptor's extra fields (urls, annotations) */
		if (json_is_object(src)) {
			const char *k;
			json_t *v;
			json_object_foreach(src, k, v)
				if (strcmp(k, "mediaType") && strcmp(k, "digest") && strcmp(k, "size"))
					json_object_set(d, k, v);
		}
		json_array_append_new(layers, d);
	}
	json_object_set_new(doc, "layers", layers);
	if (oci && m->doc) {
		json_t *ann = json_object_get(m->doc, "annotations");
		if (json_is_object(ann))
			json_object_set(doc, "annotations", ann);
	}
	s = json_dumps(doc, JSON_COMPACT);
	ts_buf_puts(out, s);
	free(s);
	json_decref(doc);
}

static void build_index(const pusher *p, char (*digests)[TS_DIGEST_STRLEN], int64_t *sizes,
			const char **mts, ts_buf *out, const char **mt)
{
	bool oci = p->o->format == TS_FORMAT_KEEP ? strcmp(p->img->index_media_type, TS_MT_OCI_INDEX) == 0
						  : p->o->format == TS_FORMAT_OCI;
	bool same = strcmp(p->img->index_media_type, oci ? TS_MT_OCI_INDEX : TS_MT_DOCKER_LIST) == 0;
	json_t *doc, *list;
	char *s;

	for (size_t i = 0; same && i < p->img->n_manifests; i++)
		if (strcmp(digests[i], p->img->manifests[i].digest) != 0)
			same = false;
	if (same) {
		ts_buf_put(out, p->img->index_raw.ptr, p->img->index_raw.len);
		*mt = p->img->index_media_type;
		return;
	}
	*mt = oci ? TS_MT_OCI_INDEX : TS_MT_DOCKER_LIST;
	doc = json_deep_copy(p->img->index_doc);
	json_object_set_new(doc, "mediaType", json_string(*mt));
	list = json_object_get(doc, "manifests");
	for (size_t i = 0; i < p->img->n_manifests; i++) {
		json_t *d = json_array_get(list, i);
		json_object_set_new(d, "mediaType", json_string(mts[i]));
		json_object_set_new(d, "digest", json_string(digests[i]));
		json_object_set_new(d, "size", json_integer(sizes[i]));
	}
	s = json_dumps(doc, JSON_COMPACT);
	ts_buf_puts(out, s);
	free(s);
	json_decref(doc);
}

/* Upload configs and manifests (or only compute them), and the top object. */
static ts_code put_manifests(pusher *p, ts_buf *top, const char **top_mt, ts_error *err)
{
	ts_image *img = p->img;
	size_t n = img->n_manifests;
	char (*digests)[TS_DIGEST_STRLEN] = ts_calloc(n, TS_DIGEST_STRLEN);
	int64_t *sizes = ts_calloc(n, sizeof(int64_t));
	const char **mts = ts_calloc(n, sizeof(char *));
	ts_code rc = TS_OK;

	for (size_t i = 0; i < n && rc == TS_OK; i++) {
		ts_manifest *m = &img->manifests[i];
		ts_buf body = TS_BUF_INIT;
		build_manifest(p, m, &body, &mts[i]);
		ts_sha256_digest(body.ptr, body.len, digests[i]);
		memcpy(m->out_digest, digests[i], TS_DIGEST_STRLEN);
		sizes[i] = (int64_t)body.len;
		if (p->reg) {
			rc = ts_registry_blob_put(p->reg, m->config_digest, m->config.ptr, m->config.len, err);
			if (rc == TS_OK && img->is_index)
				rc = ts_registry_manifest_put(p->reg, digests[i], mts[i], body.ptr, body.len,
							      NULL, err);
		}
		if (!img->is_index) {
			ts_buf_put(top, body.ptr, body.len);
			*top_mt = mts[i];
		}
		ts_buf_free(&body);
	}
	if (rc == TS_OK && img->is_index) {
		build_index(p, digests, sizes, mts, top, top_mt);
		p->res->platforms = ts_calloc(n + 1, sizeof(char *));
		for (size_t i = 0; i < n; i++)
			if (img->manifests[i].platform)
				p->res->platforms[p->res->n_platforms++] = ts_strdup(img->manifests[i].platform);
	}
	free(digests);
	free(sizes);
	free(mts);
	return rc;
}

/* ---- the tag ---- */

static ts_code refuse(const pusher *p, const char *theirs, ts_error *err)
{
	return ts_error_set(err, TS_EREFUSED,
			    "tag '%s' already exists in %s/%s with other content (%s; this image is %s); "
			    "refusing to overwrite it",
			    p->o->tag, p->o->repo->host, p->o->repo->path, theirs, p->res->digest);
}

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

/* Wait long enough for a concurrent writer's PUT to land: 3 of our own
 * request times, at least 20 ms, at most 3 s. */
static void settle(double put_ms)
{
	double ms = put_ms * 3;
	if (ms < 20)
		ms = 20;
	if (ms > 3000)
		ms = 3000;
	usleep((useconds_t)(ms * 1000));
}

static ts_code put_tag(pusher *p, const char *tag, const ts_buf *top, const char *mt, ts_error *err)
{
	ts_manifest_info info;
	ts_code rc;
	char *ref = NULL;
	double t0, put_ms;

	/* HEAD immediately before the PUT: the check-to-use window is one RTT */
	rc = ts_registry_manifest_head(p->reg, tag, &info, err);
	if (rc)
		return rc;
	if (info.exists) {
		if (strcmp(info.digest, p->res->digest) == 0) {
			p->res->unchanged = true;
			return TS_OK;
		}
		return refuse(p, info.digest, err);
	}
	t0 = now_ms();
	rc = ts_registry_tag_create(p->reg, tag, mt, top->ptr, top->len, err);
	if (rc)
		return rc;
	put_ms = now_ms() - t0;
	/*
	 * Read back: another writer may have raced us. A writer that saw the
	 * tag free before our PUT sends its own PUT within about one request
	 * time; a second read after a few of those catches it too.
	 */
	for (int check = 0; check < 2 && rc == TS_OK; check++) {
		if (check)
			settle(put_ms);
		rc = ts_registry_manifest_head(p->reg, tag, &info, err);
		if (rc == TS_OK && (!info.exists || strcmp(info.digest, p->res->digest) != 0)) {
			ref = ts_asprintf("%s", info.exists ? info.digest : "nothing");
			rc = ts_error_set(err, TS_EVERIFY,
					  "tag '%s' resolves to %s after our push of %s: another writer raced us",
					  tag, ref, p->res->digest);
			free(ref);
		}
	}
	return rc;
}

/*
 * Before uploading anything: if the tag exists, work out our digest
 * without a registry. The same digest is a success that changes nothing;
 * another one is a refusal, and the registry stays untouched.
 */
static ts_code existing_tag(pusher *p, ts_error *err)
{
	ts_manifest_info info;
	ts_registry *reg = p->reg;
	ts_buf top = TS_BUF_INIT;
	const char *mt = NULL;
	ts_code rc = ts_registry_manifest_head(reg, p->o->tag, &info, err);

	if (rc || !info.exists)
		return rc;
	progress(p, "tag %s exists (%s): computing our digest to compare", p->o->tag, info.digest);
	p->reg = NULL;
	p->trust_known = true;
	rc = plan_layers(p, err);
	if (rc == TS_OK)
		rc = ts_image_stream_layers(p->img, on_layer, p, err);
	if (rc == TS_OK)
		rc = put_manifests(p, &top, &mt, err);
	p->reg = reg;
	p->trust_known = false;
	if (rc == TS_OK) {
		ts_sha256_digest(top.ptr, top.len, p->res->digest);
		snprintf(p->res->media_type, sizeof(p->res->media_type), "%s", mt);
		p->res->size = (int64_t)top.len;
		if (strcmp(info.digest, p->res->digest) == 0)
			p->res->unchanged = true;
		else
			rc = refuse(p, info.digest, err);
	}
	ts_buf_free(&top);
	return rc;
}

static ts_code check_options(const ts_push_opts *o, ts_image *img, pusher *p, ts_error *err)
{
	p->family = target_oci(p, img->n_manifests ? &img->manifests[0] : NULL) ? TS_FAMILY_OCI
										: TS_FAMILY_DOCKER;
	for (size_t k = 0; k < img->n_manifests; k++) {
		ts_manifest *m = &img->manifests[k];
		if (target_oci(p, m))
			continue;
		for (size_t i = 0; i < m->n_layers; i++) {
			ts_layer *l = &img->layers[m->layers[i]];
			if (l->enc == TS_ENC_ZSTD || (l->enc == TS_ENC_RAW && o->compression == TS_COMPRESS_ZSTD))
				return ts_error_set(err, TS_EUSAGE,
						    "zstd layers need OCI manifests: add --format oci (image '%s', layer '%s')",
						    img->path, l->member);
		}
	}
	return TS_OK;
}

ts_code ts_push(const ts_push_opts *o, ts_push_result *res, ts_error *err)
{
	pusher p = { o, NULL, NULL, TS_FAMILY_OCI, res, false, NULL, NULL, NULL };
	ts_buf top = TS_BUF_INIT;
	const char *top_mt = NULL;
	ts_code rc;

	memset(res, 0, sizeof(*res));
	rc = ts_image_open(o->image_path, o->image_name, &p.img, err);
	if (rc)
		return rc;
	rc = check_options(o, p.img, &p, err);
	if (rc)
		goto out;
	if (!o->no_cache)
		p.cache = ts_blobcache_open(ts_compression_id(o->compression));
	identify_files(&p);
	if (!o->dry_run && o->registry) {
		p.reg = o->registry;
	} else if (!o->dry_run) {
		rc = ts_registry_open(o->repo, &o->reg, &p.reg, err);
		if (rc)
			goto out;
	}
	if (!o->dry_run) {
		rc = existing_tag(&p, err);
		if (rc != TS_OK || res->unchanged)
			goto out;
	}
	rc = plan_layers(&p, err);
	if (rc == TS_OK)
		rc = stream_with_retries(&p, err);
	if (rc == TS_OK)
		rc = put_manifests(&p, &top, &top_mt, err);
	if (rc)
		goto out;
	ts_sha256_digest(top.ptr, top.len, res->digest);
	snprintf(res->media_type, sizeof(res->media_type), "%s", top_mt);
	res->size = (int64_t)top.len;
	if (o->dry_run)
		goto out;
	if (p.img->is_index)
		progress(&p, "pushed %zu platform manifests of the index", p.img->n_manifests);
	/* the manifest (or index) by digest first: complete before any tag names it */
	rc = ts_registry_manifest_put(p.reg, res->digest, top_mt, top.ptr, top.len, NULL, err);
	if (rc == TS_OK)
		rc = put_tag(&p, o->tag, &top, top_mt, err);
	for (size_t i = 0; rc == TS_OK && i < o->n_aliases; i++) {
		/* aliases are mutable by design: moved only after the tag is in place */
		rc = ts_registry_manifest_put(p.reg, o->aliases[i], top_mt, top.ptr, top.len, NULL, err);
		if (rc)
			ts_error_prefix(err, "alias '%s'", o->aliases[i]);
	}
	res->bytes_uploaded = ts_registry_bytes_sent(p.reg);
out:
	for (size_t i = 0; p.img && p.reg && i < p.img->n_layers; i++)
		ts_registry_upload_abandon(p.reg, &p.img->layers[i].resume); /* left after a failure */
	ts_buf_free(&top);
	if (p.reg != o->registry)
		ts_registry_free(p.reg);
	free_file_ids(&p);
	ts_image_free(p.img);
	ts_blobcache_free(p.cache);
	return rc;
}

void ts_push_result_free(ts_push_result *r)
{
	if (!r || !r->platforms)
		return;
	for (size_t i = 0; i < r->n_platforms; i++)
		free(r->platforms[i]);
	free(r->platforms);
	r->platforms = NULL;
}

/* ---- inspect ---- */

static const char *enc_name(ts_layer_enc e)
{
	return e == TS_ENC_GZIP ? "gzip" : e == TS_ENC_ZSTD ? "zstd" : "none";
}

ts_code ts_push_describe(const ts_push_opts *o, bool compute, json_t **out, ts_error *err)
{
	ts_push_result res;
	pusher p = { o, NULL, NULL, TS_FAMILY_OCI, &res, false, NULL, NULL, NULL };
	ts_buf top = TS_BUF_INIT;
	const char *top_mt = NULL;
	json_t *j, *mans;
	ts_code rc;
	static const char *kinds[] = { "docker-archive", "oci-archive", "oci-layout" };

	memset(&res, 0, sizeof(res));
	rc = ts_image_open(o->image_path, o->image_name, &p.img, err);
	if (rc)
		return rc;
	rc = check_options(o, p.img, &p, err);
	if (rc == TS_OK && compute) {
		rc = plan_layers(&p, err);
		if (rc == TS_OK)
			rc = ts_image_stream_layers(p.img, on_layer, &p, err);
		if (rc == TS_OK)
			rc = put_manifests(&p, &top, &top_mt, err);
		if (rc == TS_OK)
			ts_sha256_digest(top.ptr, top.len, res.digest);
	}
	if (rc) {
		ts_buf_free(&top);
		ts_image_free(p.img);
		ts_push_result_free(&res);
		return rc;
	}
	j = json_object();
	json_object_set_new(j, "image", json_string(p.img->path));
	json_object_set_new(j, "format", json_string(kinds[p.img->kind]));
	json_object_set_new(j, "compression", p.img->outer_filter ? json_string(p.img->outer_filter) : json_null());
	json_object_set_new(j, "name", p.img->name ? json_string(p.img->name) : json_null());
	json_object_set_new(j, "family", json_string(p.family == TS_FAMILY_OCI ? "oci" : "docker"));
	json_object_set_new(j, "mediaType", top_mt ? json_string(top_mt) : json_null());
	json_object_set_new(j, "digest", compute ? json_string(res.digest) : json_null());
	json_object_set_new(j, "size", compute ? json_integer((json_int_t)top.len) : json_null());
	json_object_set_new(j, "index", json_boolean(p.img->is_index));
	mans = json_array();
	for (size_t i = 0; i < p.img->n_manifests; i++) {
		ts_manifest *m = &p.img->manifests[i];
		json_t *jm = json_object(), *layers = json_array();
		json_object_set_new(jm, "platform", m->platform ? json_string(m->platform) : json_null());
		json_object_set_new(jm, "sourceDigest", m->digest[0] ? json_string(m->digest) : json_null());
		json_object_set_new(jm, "digest", compute && m->out_digest[0] ? json_string(m->out_digest)
									  : json_null());
		json_object_set_new(jm, "config", descriptor(m->config_media_type ? m->config_media_type
										  : p.family == TS_FAMILY_OCI ? TS_MT_OCI_CONFIG : TS_MT_DOCKER_CONFIG,
							     m->config_digest, (int64_t)m->config.len));
		for (size_t k = 0; k < m->n_layers; k++) {
			ts_layer *l = &p.img->layers[m->layers[k]];
			json_t *jl = json_object();
			json_object_set_new(jl, "source", json_string(l->member));
			json_object_set_new(jl, "sourceMediaType", l->src_media_type ? json_string(l->src_media_type) : json_null());
			json_object_set_new(jl, "sourceSize", json_integer(l->src_size));
			json_object_set_new(jl, "sourceCompression", json_string(enc_name(l->enc)));
			json_object_set_new(jl, "diffID", l->diff_id[0] ? json_string(l->diff_id) : json_null());
			json_object_set_new(jl, "mediaType", json_string(layer_media_type(&p, m, l)));
			json_object_set_new(jl, "digest", l->out_digest[0] ? json_string(l->out_digest)
							   : l->enc != TS_ENC_RAW && l->src_digest[0] ? json_string(l->src_digest) : json_null());
			json_object_set_new(jl, "size", l->out_digest[0] ? json_integer(l->out_size)
							 : l->enc != TS_ENC_RAW ? json_integer(l->src_size) : json_null());
			json_object_set_new(jl, "compress", json_boolean(l->enc == TS_ENC_RAW));
			json_object_set_new(jl, "foreign", json_boolean(l->foreign));
			json_array_append_new(layers, jl);
		}
		json_object_set_new(jm, "layers", layers);
		json_array_append_new(mans, jm);
	}
	json_object_set_new(j, "manifests", mans);
	*out = j;
	ts_buf_free(&top);
	ts_image_free(p.img);
	ts_push_result_free(&res);
	return TS_OK;
}
