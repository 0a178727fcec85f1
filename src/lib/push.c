/*
 * push.c - the push orchestration (see push.h): the manifests and index as
 * pushed, the tag (checked free, put, read back), and inspect's
 * description; progress events (progress.h) for the push as a whole and its
 * configs and manifests. The layers are pushlayers.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pushint.h"

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
		if (strcmp(push_state(p, l)->out_digest, l->src_digest) != 0)
			return true;
	}
	return false;
}

/* A note for the person pushing: what --format docker left out. */
static void note_dropped(const pusher *p, const char *what, const char *which, json_t *ann)
{
	ts_buf keys = TS_BUF_INIT;
	const char *k;
	json_t *v;
	json_object_foreach(ann, k, v)
		ts_buf_printf(&keys, "%s%s", keys.len ? ", " : "", k);
	ts_buf_printf(&p->res->notes, "%s %s: Docker manifests have no annotations; dropped %s\n",
		      what, which, ts_buf_cstr(&keys));
	ts_buf_free(&keys);
}

/* Remove from an index or index entry what only OCI has (annotations,
 * artifactType, subject), saying so. */
static void docker_only(const pusher *p, json_t *o, const char *what, const char *which)
{
	static const char *const oci_only[] = { "annotations", "artifactType", "subject" };
	for (size_t i = 0; i < sizeof(oci_only) / sizeof(oci_only[0]); i++) {
		json_t *v = json_object_get(o, oci_only[i]);
		if (!v)
			continue;
		if (!strcmp(oci_only[i], "annotations") && json_is_object(v) && json_object_size(v))
			note_dropped(p, what, which, v);
		json_object_del(o, oci_only[i]);
	}
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
		const push_layer *st = push_state(p, l);
		json_t *d = descriptor(layer_media_type(p, m, l), st->out_digest, st->out_size);
		json_t *src = l->descriptor;
		/* keep the source descriptor's extra fields (urls, annotations);
		 * a Docker descriptor has urls only */
		if (json_is_object(src)) {
			const char *k;
			json_t *v;
			json_object_foreach(src, k, v) {
				if (!strcmp(k, "mediaType") || !strcmp(k, "digest") || !strcmp(k, "size"))
					continue;
				if (oci || !strcmp(k, "urls"))
					json_object_set(d, k, v);
				else if (!strcmp(k, "annotations") && json_is_object(v))
					note_dropped(p, "layer", l->member, v);
			}
		}
		json_array_append_new(layers, d);
	}
	json_object_set_new(doc, "layers", layers);
	if (m->doc) {
		json_t *ann = json_object_get(m->doc, "annotations");
		if (json_is_object(ann) && oci)
			json_object_set(doc, "annotations", ann);
		else if (json_is_object(ann) && json_object_size(ann))
			note_dropped(p, "manifest", m->digest, ann);
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
	if (!oci)
		docker_only(p, doc, "index", "");
	list = json_object_get(doc, "manifests");
	for (size_t i = 0; i < p->img->n_manifests; i++) {
		json_t *d = json_array_get(list, i);
		json_object_set_new(d, "mediaType", json_string(mts[i]));
		json_object_set_new(d, "digest", json_string(digests[i]));
		json_object_set_new(d, "size", json_integer(sizes[i]));
		if (!oci)
			docker_only(p, d, "index entry", digests[i]);
	}
	s = json_dumps(doc, JSON_COMPACT);
	ts_buf_puts(out, s);
	free(s);
	json_decref(doc);
}

/* Progress: a config or manifest of `count` is in the registry. */
static void done_event(const pusher *p, ts_progress_what what, size_t index, size_t count,
		       const char *digest, int64_t size)
{
	ts_progress_event ev = TS_PROGRESS_EVENT_INIT(what, TS_PS_DONE);
	ev.index = index;
	ev.count = count;
	ev.digest = ev.pushed = digest;
	ev.total = ev.done = ev.size = size;
	ev.sent = true;
	push_event(p, &ev);
}

/* Progress: the push begins (with its layers), or ends. */
static void push_bounds_event(const pusher *p, ts_progress_state state, bool failed)
{
	ts_progress_event ev = TS_PROGRESS_EVENT_INIT(TS_PROGRESS_PUSH, state);
	ev.count = p->img->n_layers;
	ev.total = 0;
	for (size_t i = 0; i < p->img->n_layers; i++)
		ev.total += p->img->layers[i].src_size;
	ev.done = p->reg ? ts_registry_bytes_sent(p->reg) : 0;
	ev.failed = failed;
	push_event(p, &ev);
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
		memcpy(p->man_digests[i], digests[i], TS_DIGEST_STRLEN);
		sizes[i] = (int64_t)body.len;
		if (p->mode == PUSH_UPLOAD) {
			if (!p->config_put[i]) /* else it went up with the layers' checks */
				rc = ts_registry_blob_put(p->reg, m->config_digest, m->config.ptr,
							  m->config.len, err);
			if (rc == TS_OK)
				done_event(p, TS_PROGRESS_CONFIG, i, n, m->config_digest, (int64_t)m->config.len);
			if (rc == TS_OK && img->is_index)
				rc = ts_registry_manifest_put(p->reg, digests[i], mts[i], body.ptr, body.len,
							      NULL, err);
			if (rc == TS_OK && img->is_index)
				done_event(p, TS_PROGRESS_MANIFEST, i, n + 1, digests[i], sizes[i]);
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

/* Wait long enough for a concurrent writer's PUT to land: 2 of our own
 * request times, at least 20 ms, at most 3 s. */
static void settle(double put_ms)
{
	double ms = put_ms * 2;
	if (ms < 20)
		ms = 20;
	if (ms > 3000)
		ms = 3000;
	usleep((useconds_t)(ms * 1000));
}

/* The top manifest by digest, on a connection of its own, while the tag is
 * checked on p->reg. */
typedef struct top_put {
	pusher *p;
	const ts_buf *top;
	const char *mt;
	ts_registry *reg;
	ts_code rc;
	ts_error err;
	pthread_t t;
	bool started;
} top_put;

static void *top_put_run(void *arg)
{
	top_put *tp = arg;
	tp->rc = ts_registry_manifest_put(tp->reg, tp->p->res->digest, tp->mt, tp->top->ptr,
					  tp->top->len, NULL, &tp->err);
	return NULL;
}

/*
 * The manifest (or index) by digest, then the tag: the tag's HEAD goes out
 * with the manifest's PUT (on another connection), and the tag's PUT after
 * both, so the tag never names an incomplete image and the check-to-use
 * window is still one request.
 */
static ts_code put_top_and_tag(pusher *p, const char *tag, const ts_buf *top, const char *mt,
			       ts_error *err)
{
	top_put tp = { .p = p, .top = top, .mt = mt, .err = TS_ERROR_INIT };
	ts_error cerr = TS_ERROR_INIT;
	ts_manifest_info info;
	ts_code rc = TS_OK;
	char *ref = NULL;
	double t0, put_ms, head_ms;

	if (push_conn_get(p, &tp.reg, &cerr) == TS_OK)
		tp.started = pthread_create(&tp.t, NULL, top_put_run, &tp) == 0;
	ts_error_clear(&cerr); /* no spare connection: one after the other */
	if (!tp.started) {
		push_conn_put(p, tp.reg);
		tp.reg = NULL;
		rc = ts_registry_manifest_put(p->reg, p->res->digest, mt, top->ptr, top->len, NULL, err);
		if (rc)
			return rc;
	}
	t0 = now_ms();
	rc = ts_registry_manifest_head(p->reg, tag, &info, err);
	head_ms = now_ms() - t0;
	t0 = now_ms();
	if (tp.started) {
		pthread_join(tp.t, NULL);
		push_conn_put(p, tp.reg);
		if (tp.rc) { /* the manifest's failure comes first */
			ts_error_clear(err);
			*err = tp.err;
			return tp.rc;
		}
		/* a manifest PUT that took longer than the check (retried, or a
		 * Retry-After): the check again, so that it stays one request
		 * before the tag's PUT */
		if (rc == TS_OK && now_ms() - t0 > (head_ms > 20 ? head_ms : 20))
			rc = ts_registry_manifest_head(p->reg, tag, &info, err);
	}
	if (rc)
		return rc;
	done_event(p, TS_PROGRESS_MANIFEST, p->img->is_index ? p->img->n_manifests : 0,
		   p->img->is_index ? p->img->n_manifests + 1 : 1, p->res->digest, p->res->size);
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
	 * tag free before our PUT landed sends its own PUT within about one
	 * of its request times; our read, after two of ours, lands about
	 * three after our PUT, and catches it. (Only this read decides: one
	 * right after the PUT would only report the same loss sooner.)
	 */
	settle(put_ms);
	rc = ts_registry_manifest_head(p->reg, tag, &info, err);
	if (rc == TS_OK && (!info.exists || strcmp(info.digest, p->res->digest) != 0)) {
		ref = ts_asprintf("%s", info.exists ? info.digest : "nothing");
		rc = ts_error_set(err, TS_EVERIFY,
				  "tag '%s' resolves to %s after our push of %s: another writer raced us",
				  tag, ref, p->res->digest);
		free(ref);
	}
	return rc;
}

/*
 * The tag exists: work out our digest without writing to the registry. The
 * same digest is a success that changes nothing; another one is a refusal,
 * and the registry stays untouched.
 */
static ts_code compare_with(pusher *p, const ts_manifest_info *info, ts_error *err)
{
	ts_buf top = TS_BUF_INIT;
	const char *mt = NULL;
	ts_code rc;

	push_progress(p, "tag %s exists (%s): computing our digest to compare", p->o->tag, info->digest);
	p->mode = PUSH_COMPARE;
	rc = push_plan_layers(p, err);
	if (rc == TS_OK)
		rc = push_stream_layers(p, err);
	if (rc == TS_OK)
		rc = put_manifests(p, &top, &mt, err);
	if (rc == TS_OK) {
		ts_sha256_digest(top.ptr, top.len, p->res->digest);
		snprintf(p->res->media_type, sizeof(p->res->media_type), "%s", mt);
		p->res->size = (int64_t)top.len;
		if (strcmp(info->digest, p->res->digest) == 0) {
			p->res->unchanged = true;
			p->res->tagged = true;
			ts_buf_put(&p->res->manifest, top.ptr, top.len);
		} else {
			rc = refuse(p, info->digest, err);
		}
	}
	ts_buf_free(&top);
	return rc;
}

/* The tag's first check, on a connection of its own, while the layers are
 * checked; it opens or shuts p->gate. */
typedef struct tag_check {
	pusher *p;
	ts_registry *reg;
	push_gate gate;
	ts_manifest_info info;
	ts_code rc;
	ts_error err;
	pthread_t t;
	bool started;
} tag_check;

static void *tag_check_run(void *arg)
{
	tag_check *tc = arg;
	tc->rc = ts_registry_manifest_head(tc->reg ? tc->reg : tc->p->reg, tc->p->o->tag, &tc->info,
					   &tc->err);
	if (tc->reg) /* for the writes the gate lets go (the configs') */
		push_conn_put(tc->p, tc->reg);
	tc->reg = NULL;
	pthread_mutex_lock(&tc->gate.mu);
	tc->gate.state = tc->rc == TS_OK && !tc->info.exists ? PUSH_GATE_OPEN : PUSH_GATE_SHUT;
	pthread_cond_broadcast(&tc->gate.cv);
	pthread_mutex_unlock(&tc->gate.mu);
	return NULL;
}

/*
 * The layers, with the tag's first check: before anything is written, the
 * tag must be free (if it exists, our digest is compared with its, and the
 * registry stays untouched). The check goes out alongside the layers' own
 * checks, whose writes (mounts, uploads, configs) wait for it at the gate.
 */
static ts_code push_layers_checked(pusher *p, ts_error *err)
{
	tag_check tc = { .p = p, .err = TS_ERROR_INIT, .gate = { .state = PUSH_GATE_WAIT } };
	ts_error cerr = TS_ERROR_INIT;
	ts_code rc;

	pthread_mutex_init(&tc.gate.mu, NULL);
	pthread_cond_init(&tc.gate.cv, NULL);
	if (push_conn_get(p, &tc.reg, &cerr) == TS_OK)
		tc.started = pthread_create(&tc.t, NULL, tag_check_run, &tc) == 0;
	ts_error_clear(&cerr);
	if (!tc.started) {
		/* no thread or connection to spare: the check (on p->reg), then the layers */
		push_conn_put(p, tc.reg);
		tc.reg = NULL;
		tag_check_run(&tc);
	}
	/* (the thread gives its connection back itself, for the configs) */
	p->gate = &tc.gate;
	rc = push_plan_layers(p, err);
	if (rc == TS_OK)
		rc = push_stream_layers(p, err);
	if (tc.started)
		pthread_join(tc.t, NULL);
	p->gate = NULL;
	pthread_mutex_destroy(&tc.gate.mu);
	pthread_cond_destroy(&tc.gate.cv);
	if (tc.rc != TS_OK || tc.info.exists) {
		/* the gate was shut: what the layers did stopped there */
		ts_error_clear(err);
		if (tc.rc != TS_OK) {
			*err = tc.err;
			return tc.rc;
		}
		ts_error_clear(&tc.err);
		push_state_free(p);
		push_state_init(p);
		push_identify_files(p);
		p->res->blobs_present = p->res->blobs_uploaded = 0;
		return compare_with(p, &tc.info, err);
	}
	ts_error_clear(&tc.err);
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
	pusher p = { .o = o, .res = res, .family = TS_FAMILY_OCI };
	ts_buf top = TS_BUF_INIT;
	const char *top_mt = NULL;
	bool began = false; /* progress: the BEGIN event went out */
	ts_code rc;

	memset(res, 0, sizeof(*res));
	if (!o->dry_run && !o->registry)
		return ts_error_set(err, TS_EINTERNAL, "push: no registry connection");
	p.mode = o->dry_run ? PUSH_COMPUTE : PUSH_UPLOAD;
	p.reg = o->dry_run ? NULL : o->registry;
	rc = ts_image_open(o->image_path, o->image_name, &p.img, err);
	if (rc)
		return rc;
	push_state_init(&p);
	rc = check_options(o, p.img, &p, err);
	if (rc)
		goto out;
	for (size_t i = 0; i < p.img->n_layers; i++)
		if (p.img->layers[i].mislabelled)
			ts_buf_printf(&res->notes,
				      "layer %s is labelled %s but holds an uncompressed tar: it is "
				      "compressed and labelled as what it is (the image digest differs from "
				      "the source's)\n",
				      p.img->layers[i].member, p.img->layers[i].src_media_type);
	if (!o->no_cache)
		p.cache = ts_blobcache_open(ts_compression_id(o->compression));
	if (p.mode == PUSH_UPLOAD)
		p.holders = ts_holders_open(p.cache, o->repo->host);
	push_identify_files(&p);
	push_bounds_event(&p, TS_PS_BEGIN, false);
	began = true;
	if (p.mode == PUSH_UPLOAD) {
		rc = push_layers_checked(&p, err);
		if (rc != TS_OK || res->unchanged)
			goto out;
	} else {
		rc = push_plan_layers(&p, err);
		if (rc == TS_OK)
			rc = push_stream_layers(&p, err);
	}
	if (rc == TS_OK)
		rc = put_manifests(&p, &top, &top_mt, err);
	if (rc)
		goto out;
	ts_sha256_digest(top.ptr, top.len, res->digest);
	snprintf(res->media_type, sizeof(res->media_type), "%s", top_mt);
	res->size = (int64_t)top.len;
	ts_buf_put(&res->manifest, top.ptr, top.len);
	if (o->dry_run)
		goto out;
	if (p.img->is_index)
		push_progress(&p, "pushed %zu platform manifests of the index", p.img->n_manifests);
	/* the manifest (or index) by digest: complete before any tag names it */
	rc = put_top_and_tag(&p, o->tag, &top, top_mt, err);
	if (rc == TS_OK)
		res->tagged = true;
	push_conns_close(&p); /* their bytes counted in p.reg's */
	res->bytes_uploaded = ts_registry_bytes_sent(p.reg);
out:
	if (began)
		push_bounds_event(&p, TS_PS_END, rc != TS_OK);
	ts_buf_free(&top);
	push_state_free(&p);
	ts_image_free(p.img);
	ts_holders_save(p.holders); /* what was seen is true even when the push failed */
	ts_holders_free(p.holders);
	ts_blobcache_free(p.cache);
	return rc;
}

void ts_push_result_free(ts_push_result *r)
{
	if (!r)
		return;
	ts_buf_free(&r->manifest);
	ts_buf_free(&r->notes);
	if (!r->platforms)
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
	pusher p = { .o = o, .res = &res, .mode = PUSH_COMPUTE, .family = TS_FAMILY_OCI };
	ts_buf top = TS_BUF_INIT;
	const char *top_mt = NULL;
	json_t *j, *mans;
	ts_code rc;
	static const char *kinds[] = { "docker-archive", "oci-archive", "oci-layout" };

	memset(&res, 0, sizeof(res));
	rc = ts_image_open(o->image_path, o->image_name, &p.img, err);
	if (rc)
		return rc;
	push_state_init(&p);
	rc = check_options(o, p.img, &p, err);
	if (rc == TS_OK && compute) {
		rc = push_plan_layers(&p, err);
		if (rc == TS_OK)
			rc = push_stream_layers(&p, err);
		if (rc == TS_OK)
			rc = put_manifests(&p, &top, &top_mt, err);
		if (rc == TS_OK)
			ts_sha256_digest(top.ptr, top.len, res.digest);
	}
	if (rc) {
		ts_buf_free(&top);
		push_state_free(&p);
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
		json_object_set_new(jm, "digest", compute && p.man_digests[i][0] ? json_string(p.man_digests[i])
										  : json_null());
		json_object_set_new(jm, "config", descriptor(m->config_media_type ? m->config_media_type
										  : p.family == TS_FAMILY_OCI ? TS_MT_OCI_CONFIG : TS_MT_DOCKER_CONFIG,
							     m->config_digest, (int64_t)m->config.len));
		for (size_t k = 0; k < m->n_layers; k++) {
			const ts_layer *l = &p.img->layers[m->layers[k]];
			const push_layer *st = push_state(&p, l);
			const char *diff_id = l->diff_id[0] ? l->diff_id : st->diff_id;
			json_t *jl = json_object();
			json_object_set_new(jl, "source", json_string(l->member));
			json_object_set_new(jl, "sourceMediaType", l->src_media_type ? json_string(l->src_media_type) : json_null());
			json_object_set_new(jl, "sourceSize", json_integer(l->src_size));
			json_object_set_new(jl, "sourceCompression", json_string(enc_name(l->enc)));
			json_object_set_new(jl, "diffID", diff_id[0] ? json_string(diff_id) : json_null());
			json_object_set_new(jl, "mediaType", json_string(layer_media_type(&p, m, l)));
			json_object_set_new(jl, "digest", st->out_digest[0] ? json_string(st->out_digest)
							   : l->enc != TS_ENC_RAW && l->src_digest[0] ? json_string(l->src_digest) : json_null());
			json_object_set_new(jl, "size", st->out_digest[0] ? json_integer(st->out_size)
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
	push_state_free(&p);
	ts_image_free(p.img);
	ts_push_result_free(&res);
	return TS_OK;
}
