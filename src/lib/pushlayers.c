/*
 * pushlayers.c - push's layers: deciding which the registry still needs
 * (pushint.h), and streaming them - compressed on the way where the source
 * stores them raw - to the registry on one or more connections, with
 * further passes for uploads another attempt may cure; and the progress
 * events (progress.h) about each layer, its bytes counted as they are read.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pushint.h"

void push_state_init(pusher *p)
{
	p->layers = ts_calloc(p->img->n_layers + 1, sizeof(*p->layers));
	p->man_digests = ts_calloc(p->img->n_manifests + 1, TS_DIGEST_STRLEN);
	p->config_put = ts_calloc(p->img->n_manifests + 1, sizeof(bool));
	if (p->reg) {
		p->conns = ts_calloc(1, sizeof(*p->conns));
		pthread_mutex_init(&p->conns->mu, NULL);
	}
}

ts_code push_conn_get(pusher *p, ts_registry **out, ts_error *err)
{
	ts_registry *r = NULL;
	if (!p->conns)
		return ts_error_set(err, TS_EINTERNAL, "push: no registry connection");
	pthread_mutex_lock(&p->conns->mu);
	if (p->conns->n)
		r = p->conns->idle[--p->conns->n];
	pthread_mutex_unlock(&p->conns->mu);
	if (r) {
		*out = r;
		return TS_OK;
	}
	return ts_registry_clone(p->reg, out, err);
}

void push_conn_put(pusher *p, ts_registry *r)
{
	if (!r)
		return;
	if (!p->conns) {
		ts_registry_free(r);
		return;
	}
	pthread_mutex_lock(&p->conns->mu);
	if (p->conns->n == p->conns->cap) {
		p->conns->cap = p->conns->cap ? p->conns->cap * 2 : 8;
		p->conns->idle = ts_realloc(p->conns->idle, p->conns->cap * sizeof(*p->conns->idle));
	}
	p->conns->idle[p->conns->n++] = r;
	pthread_mutex_unlock(&p->conns->mu);
}

bool push_gate_pass(const pusher *p, ts_error *err)
{
	push_gate_state st;
	if (!p->gate)
		return true;
	pthread_mutex_lock(&p->gate->mu);
	while (p->gate->state == PUSH_GATE_WAIT)
		pthread_cond_wait(&p->gate->cv, &p->gate->mu);
	st = p->gate->state;
	pthread_mutex_unlock(&p->gate->mu);
	if (st == PUSH_GATE_OPEN)
		return true;
	ts_error_set(err, TS_EREFUSED, "the tag's check stopped the upload"); /* never shown */
	return false;
}

void push_conns_close(pusher *p)
{
	if (!p->conns)
		return;
	for (size_t i = 0; i < p->conns->n; i++)
		ts_registry_free(p->conns->idle[i]);
	p->conns->n = 0;
}

void push_state_free(pusher *p)
{
	for (size_t i = 0; p->layers && i < p->img->n_layers; i++) {
		if (p->reg)
			ts_registry_upload_abandon(p->reg, &p->layers[i].resume); /* left after a failure */
		ts_upload_state_clear(&p->layers[i].resume);
	}
	free(p->layers);
	free(p->man_digests);
	free(p->config_put);
	if (p->conns) {
		push_conns_close(p);
		free(p->conns->idle);
		pthread_mutex_destroy(&p->conns->mu);
		free(p->conns);
		p->conns = NULL;
	}
	p->layers = NULL;
	p->man_digests = NULL;
	p->config_put = NULL;
	if (p->file_ids) {
		for (size_t i = 0; i < p->img->n_layers; i++)
			free(p->file_ids[i]);
		free(p->file_ids);
		p->file_ids = NULL;
	}
}

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

void push_identify_files(pusher *p)
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

static const char *file_id(const pusher *p, const ts_layer *l)
{
	return p->file_ids ? p->file_ids[l - p->img->layers] : NULL;
}

/* The layer's bytes were read in full and match its diff_id. */
static void layer_read_ok(const pusher *p, const ts_layer *l, const char *diff_id)
{
	char *f;
	if (!file_id(p, l))
		return;
	f = layer_path(p, l);
	ts_blobcache_saw(p->cache, file_id(p, l), f, layer_member(p, l), diff_id);
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

void push_progress(const pusher *p, const char *fmt, ...)
{
	ts_buf b = TS_BUF_INIT;
	va_list ap;
	if (!p->o->progress)
		return;
	va_start(ap, fmt);
	ts_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	lock(p);
	p->o->progress(p->o->progress_ud, ts_buf_cstr(&b));
	unlock(p);
	ts_buf_free(&b);
}

void push_event(const pusher *p, const ts_progress_event *ev)
{
	if (p->o->on_event)
		p->o->on_event(p->o->event_ud, ev);
}

/* The digest a layer is known by before it is pushed. */
static const char *layer_name(const ts_layer *l)
{
	return l->src_digest[0] ? l->src_digest : l->diff_id[0] ? l->diff_id : NULL;
}

/* An event about layer i in `state`, its name and size filled in. */
static ts_progress_event layer_event(const pusher *p, size_t i, ts_progress_state state)
{
	ts_progress_event ev = TS_PROGRESS_EVENT_INIT(TS_PROGRESS_LAYER, state);
	ev.index = i;
	ev.count = p->img->n_layers;
	ev.digest = layer_name(&p->img->layers[i]);
	ev.total = p->img->layers[i].src_size;
	return ev;
}

void push_layer_event(const pusher *p, size_t i, ts_progress_state state)
{
	ts_progress_event ev;
	if (!p->o->on_event)
		return;
	ev = layer_event(p, i, state);
	push_event(p, &ev);
}

/* ---- one layer ---- */

/* Bytes read between looks at the clock, and the least time between two
 * byte-count events of one layer. */
#define PROGRESS_BYTES_STEP (256 << 10)
#define PROGRESS_MIN_MS 100.0

static double mono_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

/* The source's reader, noting whether an error came from it (such errors
 * already name the image), and counting the bytes taken for progress. */
typedef struct src_rd {
	ts_blob_reader read;
	void *ctx;
	bool failed;
	const pusher *p;     /* progress: events go to p->o->on_event (NULL: none) */
	size_t index;        /* the layer */
	ts_progress_state state;
	int64_t done, next_look;
	double last_ms;
} src_rd;

static void src_rd_init(src_rd *s, ts_blob_reader read, void *ctx, const pusher *p, size_t index)
{
	memset(s, 0, sizeof(*s));
	s->read = read;
	s->ctx = ctx;
	s->p = p->o->on_event ? p : NULL;
	s->index = index;
	s->next_look = PROGRESS_BYTES_STEP;
}

/* The layer starts (or starts over) in `state`. */
static void src_rd_start(src_rd *s, ts_progress_state state)
{
	s->state = state;
	s->done = 0;
	s->next_look = PROGRESS_BYTES_STEP;
	if (!s->p)
		return;
	s->last_ms = mono_ms();
	push_layer_event(s->p, s->index, state);
}

/* Per chunk: an addition and a comparison; the clock is read once per
 * PROGRESS_BYTES_STEP bytes, an event sent at most every PROGRESS_MIN_MS. */
static void src_rd_count(src_rd *s, long n)
{
	ts_progress_event ev;
	double now;
	s->done += n;
	if (!s->p || s->done < s->next_look)
		return;
	s->next_look = s->done + PROGRESS_BYTES_STEP;
	now = mono_ms();
	if (now - s->last_ms < PROGRESS_MIN_MS)
		return;
	s->last_ms = now;
	ev = layer_event(s->p, s->index, s->state);
	ev.done = s->done;
	push_event(s->p, &ev);
}

/* The layer is finished: as `out` (sent: its bytes went to the registry). */
static void src_rd_done(const src_rd *s, const push_layer *out, bool sent)
{
	ts_progress_event ev;
	if (!s->p)
		return;
	ev = layer_event(s->p, s->index, TS_PS_DONE);
	ev.done = s->done;
	ev.pushed = out->out_digest[0] ? out->out_digest : NULL;
	ev.size = out->out_digest[0] ? out->out_size : -1;
	ev.sent = sent;
	push_event(s->p, &ev);
}

static long src_read(void *ctx, char *buf, size_t cap, ts_error *rerr)
{
	src_rd *s = ctx;
	long n = s->read(s->ctx, buf, cap, rerr);
	if (n < 0)
		s->failed = true;
	else
		src_rd_count(s, n);
	return n;
}

typedef struct layer_rd {
	ts_compressor *c;
	const ts_layer *l;
	const char *image;
	bool check_failed;   /* layer_check made the error */
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
	if (r->l->diff_id[0] && strcmp(diff, r->l->diff_id) != 0) {
		r->check_failed = true;
		return ts_error_setc(err, TS_C_INPUT,
				     "image '%s': layer '%s' has content digest %s but the config's diff_id is %s",
				     r->image, r->l->member, diff, r->l->diff_id);
	}
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

/* A layer already in the registry: only check its bytes against diff_id. */
static ts_code verify_layer(pusher *p, const ts_layer *l, src_rd *sr, ts_error *err)
{
	char diff[TS_DIGEST_STRLEN];
	int64_t n;
	ts_code rc;
	push_progress(p, "checking layer %s (already in the registry)", l->member);
	src_rd_start(sr, TS_PS_READING);
	rc = drain(src_read, sr, diff, &n, err);
	if (rc == TS_OK && strcmp(diff, l->diff_id) != 0)
		rc = ts_error_setc(err, TS_C_INPUT,
				   "image '%s': layer '%s' has content digest %s but the config's diff_id is %s",
				   p->img->path, l->member, diff, l->diff_id);
	if (rc == TS_OK)
		layer_read_ok(p, l, l->diff_id);
	return rc;
}

static ts_code blob_present(pusher *p, const char *digest, bool *present, bool *mounted,
			    ts_error *err);
static void count_present(pusher *p);

/* Whether the registry has a layer sent as it is, or can have it by a
 * mount: asked by the worker that streams it, on its connection just
 * before its upload (plan_layer leaves it there), or by plan_layer itself
 * when the layers stream one by one. */
static ts_code check_layer(pusher *p, size_t index, const ts_layer *l, ts_error *err)
{
	push_layer *s = &p->layers[index];
	bool exists = false, mounted = false;
	ts_code rc = blob_present(p, l->src_digest, &exists, &mounted, err);
	if (rc)
		return rc;
	s->check = false;
	if (exists) {
		memcpy(s->out_digest, l->src_digest, TS_DIGEST_STRLEN);
		s->out_size = l->src_size;
		s->done = true;
		count_present(p);
		push_layer_event(p, index, mounted ? TS_PS_MOUNTED : TS_PS_PRESENT);
	}
	return TS_OK;
}

static ts_code on_layer(void *ctx, size_t index, const ts_layer *l, ts_blob_reader read,
			void *rctx, ts_error *err)
{
	pusher *p = ctx;
	push_layer *s = &p->layers[index];
	src_rd sr;
	bool named = false; /* the error names the image already */
	ts_code rc = TS_OK;

	if (s->check) {
		rc = check_layer(p, index, l, err);
		if (rc != TS_OK)
			goto failed; /* checked again in the next pass when retryable */
		if (s->done)
			return TS_OK;
	}
	if (!s->verify_only && p->mode == PUSH_UPLOAD && !push_gate_pass(p, err))
		return err->code;
	src_rd_init(&sr, read, rctx, p, index);
	if (s->verify_only) {
		rc = verify_layer(p, l, &sr, err);
		s->done = rc == TS_OK;
		if (s->done)
			src_rd_done(&sr, s, false);
		return rc;
	}
	if (l->enc == TS_ENC_RAW) {
		layer_rd lr = { NULL, l, p->img->path, false };
		rc = p->cpool ? ts_compressor_new_in(p->cpool, src_read, &sr, &lr.c, err)
			      : ts_compressor_new(p->o->compression, p->o->jobs, src_read, &sr, &lr.c, err);
		if (rc)
			return rc;
		push_progress(p, "compressing and uploading layer %s (%lld bytes)", l->member,
			      (long long)l->src_size);
		src_rd_start(&sr, TS_PS_COMPRESSING);
		if (p->mode == PUSH_UPLOAD) {
			rc = ts_registry_blob_upload(p->reg, NULL, -1, layer_read, &lr, layer_check,
						     &s->resume, s->out_digest, &s->out_size, err);
		} else {
			rc = drain(layer_read, &lr, s->out_digest, &s->out_size, err);
			if (rc == TS_OK)
				rc = layer_check(&lr, err);
			named = true; /* made by the reader or by layer_check */
		}
		named = named || sr.failed || lr.check_failed;
		if (rc == TS_OK) {
			if (l->diff_id[0])
				memcpy(s->diff_id, l->diff_id, TS_DIGEST_STRLEN);
			else
				ts_compressor_input_digest(lr.c, s->diff_id, NULL);
			ts_blobcache_put(p->cache, s->diff_id, s->out_digest, s->out_size);
			layer_read_ok(p, l, s->diff_id);
		}
		ts_compressor_free(lr.c);
	} else {
		push_progress(p, "uploading layer %s (%lld bytes)", l->member, (long long)l->src_size);
		src_rd_start(&sr, p->mode == PUSH_UPLOAD ? TS_PS_UPLOADING : TS_PS_READING);
		if (p->mode == PUSH_UPLOAD) {
			rc = ts_registry_blob_upload(p->reg, l->src_digest[0] ? l->src_digest : NULL,
						     l->src_size, src_read, &sr, NULL, &s->resume,
						     s->out_digest, &s->out_size, err);
			named = sr.failed;
		} else {
			rc = drain(src_read, &sr, s->out_digest, &s->out_size, err);
			if (rc == TS_OK && l->src_digest[0] && strcmp(l->src_digest, s->out_digest) != 0)
				rc = ts_error_setc(err, TS_C_INPUT, "image '%s': blob %s: its bytes have digest %s",
						   p->img->path, l->src_digest, s->out_digest);
			named = true;
		}
	}
failed:
	if (rc != TS_OK && err->retryable && p->mode == PUSH_UPLOAD) {
		/* start this layer over in another pass over the image */
		push_progress(p, "layer %s: %s; it will be sent again", l->member, err->msg);
		push_layer_event(p, index, TS_PS_RETRY);
		s->retry = true;
		s->retry_free = err->retryable == TS_RETRY_FREE;
		ts_error_clear(err);
		return TS_OK;
	}
	if (rc == TS_OK) {
		s->done = true;
		src_rd_done(&sr, s, p->mode == PUSH_UPLOAD);
		if (p->mode == PUSH_UPLOAD) {
			lock(p);
			p->res->blobs_uploaded++;
			unlock(p);
			ts_holders_note(p->holders, s->out_digest, p->o->repo->path);
		}
	} else if (rc == TS_EUSAGE && !named) {
		/* the registry client's own check of the bytes sent */
		ts_error_prefix(err, "image '%s'", p->img->path);
	}
	return rc;
}

/* ---- planning ---- */

/* Try to mount digest from repository `from`: true when mounted. Any
 * refusal, or failure, of a mount found in the cache is not an error: the
 * blob is uploaded instead, and the stale entry forgotten. */
static bool auto_mount(pusher *p, const char *digest, const char *from)
{
	ts_error e = TS_ERROR_INIT;
	bool mounted = false;
	if (ts_registry_blob_mount(p->reg, digest, from, &mounted, &e) != TS_OK)
		mounted = false;
	ts_error_clear(&e);
	if (!mounted)
		ts_holders_forget(p->holders, digest, from);
	return mounted;
}

/* How many repositories known to hold a blob are tried before it is
 * uploaded: a stale entry costs one request each. */
#define MOUNT_TRIES 2

/* Whether the repository has a blob, or can have it by mounting it: from
 * --mount-from, else from a repository of the same registry the cache saw
 * holding it. */
static ts_code blob_present(pusher *p, const char *digest, bool *present, bool *mounted,
			    ts_error *err)
{
	const char *repo = p->o->repo->path;
	ts_code rc = ts_registry_blob_exists(p->reg, digest, present, err);
	*mounted = false;
	if (rc == TS_OK && !*present && (p->o->mount_from || p->holders) && !push_gate_pass(p, err))
		return err->code; /* a mount is a write */
	if (rc == TS_OK && !*present && p->o->mount_from) {
		rc = ts_registry_blob_mount(p->reg, digest, p->o->mount_from, present, err);
		*mounted = rc == TS_OK && *present;
	}
	if (rc == TS_OK && !*present && p->holders) {
		char *from[MOUNT_TRIES];
		size_t n = ts_holders_find(p->holders, digest, repo, from, MOUNT_TRIES);
		for (size_t i = 0; i < n; i++) {
			if (!*present && !(p->o->mount_from && !strcmp(from[i], p->o->mount_from)))
				*present = *mounted = auto_mount(p, digest, from[i]);
			free(from[i]);
		}
	}
	if (rc == TS_OK && *present)
		ts_holders_note(p->holders, digest, repo);
	return rc;
}

static void count_present(pusher *p)
{
	lock(p);
	p->res->blobs_present++;
	unlock(p);
}

/*
 * A layer sent as it is, whose digest the source states, is checked by the
 * worker that would upload it, just before the upload, when all the layers
 * are sent as they are and stream four at a time: the first bytes go up
 * after one check instead of after all of them, and the check's connection
 * is the upload's.
 */
static bool checked_by_stream(const pusher *p)
{
	if (p->mode != PUSH_UPLOAD || !ts_image_parallel_ok(p->img))
		return false;
	/* with layers to compress, the streams are one or two: the checks go
	 * out together before them instead */
	for (size_t i = 0; i < p->img->n_layers; i++)
		if (p->img->layers[i].enc == TS_ENC_RAW && !p->img->layers[i].foreign)
			return false;
	return true;
}

/* Decide about layer i: whether the registry has it (HEAD), or can have it
 * by a mount, or it must be read - or leave that to its stream. */
static ts_code plan_layer(pusher *p, size_t i, ts_error *err)
{
	const ts_layer *l = &p->img->layers[i];
	push_layer *s = &p->layers[i];
	bool mounted = false;
	s->wanted = !l->foreign;
	if (l->foreign) {
		memcpy(s->out_digest, l->src_digest, TS_DIGEST_STRLEN);
		s->out_size = l->src_size;
		s->done = true;
		push_layer_event(p, i, TS_PS_FOREIGN);
		return TS_OK;
	}
	if (l->enc == TS_ENC_RAW && ts_blobcache_get(p->cache, l->diff_id, s->out_digest, &s->out_size)) {
		/* compressed before: use it if the registry has it (or we only compute) */
		bool exists = p->mode != PUSH_UPLOAD;
		ts_code rc = exists ? TS_OK : blob_present(p, s->out_digest, &exists, &mounted, err);
		if (rc)
			return rc;
		if (exists && layer_seen(p, l)) {
			/* this very file was read and checked before, and
			 * has not changed since */
			push_progress(p, "layer %s: unchanged since it was last checked; the registry has %s",
				      l->member, s->out_digest);
			s->done = true;
			if (p->mode == PUSH_UPLOAD) {
				count_present(p);
				push_layer_event(p, i, mounted ? TS_PS_MOUNTED : TS_PS_PRESENT);
			}
			return TS_OK;
		}
		if (exists) {
			/* the bytes are read and checked against the diff_id:
			 * a cache entry never stands in for unread bytes */
			s->verify_only = true;
			if (p->mode == PUSH_UPLOAD) {
				count_present(p);
				push_layer_event(p, i, mounted ? TS_PS_MOUNTED : TS_PS_PRESENT);
			}
			return TS_OK;
		}
		s->out_digest[0] = '\0';
	}
	if (l->enc != TS_ENC_RAW && l->src_digest[0] && p->mode == PUSH_COMPARE) {
		memcpy(s->out_digest, l->src_digest, TS_DIGEST_STRLEN);
		s->out_size = l->src_size;
		s->done = true;
		return TS_OK;
	}
	if (l->enc != TS_ENC_RAW && l->src_digest[0] && p->stream_checks) {
		s->check = true;
		return TS_OK;
	}
	if (l->enc != TS_ENC_RAW && l->src_digest[0] && p->mode == PUSH_UPLOAD)
		return check_layer(p, i, l, err); /* here, before the stream */
	return TS_OK;
}

/* Planning on several connections: the existence checks of all layers go out
 * together, not one round trip after another. */
typedef struct plan_worker {
	pusher p;
	size_t *next; /* the next layer to decide, under p.mu */
	ts_code rc;
	ts_error err;
	pthread_t t;
	bool started;
} plan_worker;

static void *plan_worker_run(void *arg)
{
	plan_worker *w = arg;
	for (;;) {
		size_t i;
		pthread_mutex_lock(w->p.mu);
		i = (*w->next)++;
		pthread_mutex_unlock(w->p.mu);
		if (i >= w->p.img->n_layers)
			break;
		w->rc = plan_layer(&w->p, i, &w->err);
		if (w->rc)
			break;
	}
	return NULL;
}

/* At most this many connections check layers at once. */
#define PLAN_CONNECTIONS 4

ts_code push_plan_layers(pusher *p, ts_error *err)
{
	size_t n = 0, next = 0;
	int made = 1;
	plan_worker *w;
	pthread_mutex_t mu;
	ts_code rc = TS_OK;

	p->stream_checks = checked_by_stream(p);
	/* the layers whose planning asks the registry */
	for (size_t i = 0; i < p->img->n_layers; i++) {
		const ts_layer *l = &p->img->layers[i];
		char d[TS_DIGEST_STRLEN];
		int64_t sz;
		if (!l->foreign && (l->enc == TS_ENC_RAW ? ts_blobcache_get(p->cache, l->diff_id, d, &sz)
							 : l->src_digest[0] != '\0' && !p->stream_checks))
			n++;
	}
	if (p->mode != PUSH_UPLOAD || n < 2) {
		for (size_t i = 0; i < p->img->n_layers && rc == TS_OK; i++)
			rc = plan_layer(p, i, err);
		return rc;
	}
	if (n > PLAN_CONNECTIONS)
		n = PLAN_CONNECTIONS;
	pthread_mutex_init(&mu, NULL);
	w = ts_calloc(n, sizeof(*w));
	for (size_t k = 0; k < n; k++) {
		w[k].p = *p;
		w[k].p.mu = &mu;
		w[k].next = &next;
		w[k].err = (ts_error)TS_ERROR_INIT;
	}
	for (; (size_t)made < n; made++)
		if (push_conn_get(p, &w[made].p.reg, err) != TS_OK) {
			ts_error_clear(err); /* fewer connections, then */
			break;
		}
	for (int k = 1; k < made; k++)
		w[k].started = pthread_create(&w[k].t, NULL, plan_worker_run, &w[k]) == 0;
	plan_worker_run(&w[0]);
	for (int k = 1; k < made; k++) {
		if (w[k].started)
			pthread_join(w[k].t, NULL);
		push_conn_put(p, w[k].p.reg);
	}
	/* a worker that did not start left its layers to the others; the
	 * first failing worker's error is the one reported */
	for (int k = 0; k < made && rc == TS_OK; k++)
		if (w[k].rc) {
			rc = w[k].rc;
			*err = w[k].err;
		}
	free(w);
	pthread_mutex_destroy(&mu);
	return rc;
}

/* ---- streaming ---- */

/* How many layers go up at once, each on its own connection and its own
 * pass over the tarball. Layers sent as they are (or only checked): --jobs,
 * by default 4, at most 4 (they wait on the network, not on the cores).
 * Layers compressed on the way: two at a time when --jobs allows two
 * threads, their compressors sharing one pool of --jobs threads (*shared),
 * so that one layer's round trips (POST, PUT, the start of its
 * compression) and its wait on the link overlap the other's bytes, and a
 * core one layer leaves idle - its upload waiting, or its input at its end
 * - compresses the other's chunks. */
static int layer_streams(const pusher *p, bool *shared)
{
	int jobs = p->o->jobs > 0 ? p->o->jobs : ts_compress_default_threads();
	int n = p->o->jobs > 0 ? p->o->jobs : 4;
	size_t compressed = 0;
	*shared = false;
	if (!ts_image_parallel_ok(p->img) || p->mode != PUSH_UPLOAD)
		return 1;
	for (size_t i = 0; i < p->img->n_layers; i++) {
		const push_layer *s = &p->layers[i];
		if (s->wanted && !s->done && p->img->layers[i].enc == TS_ENC_RAW && !s->verify_only)
			compressed++;
	}
	if (compressed == 1 || (compressed > 1 && jobs < 2))
		return 1;
	if (compressed > 1) {
		*shared = true;
		return 2;
	}
	return n < 1 ? 1 : n > 4 ? 4 : n;
}

/* One pass over the image with n workers, each with its own connection. */
static ts_code stream_pass(pusher *p, const bool *want, ts_error *err)
{
	bool shared;
	int n = layer_streams(p, &shared);
	ts_compress_pool *cpool = NULL;
	pusher *w;
	void **ctxs;
	pthread_mutex_t mu;
	ts_code rc = TS_OK;
	int made = 1;

	if (shared && ts_compress_pool_new(p->o->compression, p->o->jobs, n, &cpool, err) != TS_OK) {
		ts_error_clear(err); /* one layer at a time, then */
		n = 1;
	}
	if (n == 1)
		return ts_image_stream_layers(p->img, want, on_layer, p, err);
	pthread_mutex_init(&mu, NULL);
	w = ts_calloc((size_t)n, sizeof(*w));
	ctxs = ts_calloc((size_t)n, sizeof(*ctxs));
	for (int i = 0; i < n; i++) {
		w[i] = *p;
		w[i].mu = &mu;
		w[i].cpool = cpool;
		ctxs[i] = &w[i];
	}
	for (; made < n; made++)
		if (push_conn_get(p, &w[made].reg, err) != TS_OK) {
			ts_error_clear(err); /* fewer workers, then */
			break;
		}
	rc = ts_image_stream_layers_parallel(p->img, want, made, on_layer, ctxs, err);
	for (int i = 1; i < made; i++)
		push_conn_put(p, w[i].reg);
	ts_compress_pool_free(cpool); /* after its compressors, freed with their layers */
	free(w);
	free(ctxs);
	pthread_mutex_destroy(&mu);
	return rc;
}

/* The configs (small, in memory) go up on their own connection while the
 * layers stream, instead of after them; a config that fails here is left to
 * push.c's put_manifests, which reports the error. */
typedef struct config_sender {
	pusher *p;
	ts_registry *reg;
	pthread_t t;
	bool started;
} config_sender;

static void *send_configs(void *arg)
{
	config_sender *cs = arg;
	ts_error e = TS_ERROR_INIT;
	/* a connection once the gate is passed: the tag check's, if it is done */
	if (!push_gate_pass(cs->p, &e) || push_conn_get(cs->p, &cs->reg, &e) != TS_OK) {
		ts_error_clear(&e);
		return NULL;
	}
	for (size_t i = 0; i < cs->p->img->n_manifests; i++) {
		const ts_manifest *m = &cs->p->img->manifests[i];
		if (ts_registry_blob_put(cs->reg, m->config_digest, m->config.ptr, m->config.len, &e) == TS_OK)
			cs->p->config_put[i] = true;
		ts_error_clear(&e);
	}
	return NULL;
}

static void configs_start(pusher *p, config_sender *cs)
{
	memset(cs, 0, sizeof(*cs));
	cs->p = p;
	if (p->mode == PUSH_UPLOAD && p->conns)
		cs->started = pthread_create(&cs->t, NULL, send_configs, cs) == 0;
}

static void configs_join(config_sender *cs)
{
	if (cs->started)
		pthread_join(cs->t, NULL);
	push_conn_put(cs->p, cs->reg);
}

ts_code push_stream_layers(pusher *p, ts_error *err)
{
	size_t n = p->img->n_layers;
	bool *want = ts_calloc(n + 1, sizeof(bool));
	ts_code rc = TS_OK;
	config_sender cs;

	configs_start(p, &cs);

	for (int failed = 0;;) {
		bool again = false, counted = false;
		for (size_t i = 0; i < n; i++)
			want[i] = p->layers[i].wanted && !p->layers[i].done;
		rc = stream_pass(p, want, err);
		if (rc)
			break;
		for (size_t i = 0; i < n; i++)
			if (p->layers[i].retry && !p->layers[i].retry_free)
				counted = true;
		if (counted)
			failed++;
		for (size_t i = 0; i < n && rc == TS_OK; i++) {
			push_layer *s = &p->layers[i];
			if (!s->retry)
				continue;
			if (counted && failed >= ts_registry_attempts(p->reg))
				rc = ts_error_set(err, TS_EREGISTRY,
						  "layer %s could not be uploaded to %s after %d attempts",
						  p->img->layers[i].member, p->o->repo->host, failed);
			s->retry = s->retry_free = false;
			again = true;
		}
		if (rc || !again)
			break;
	}
	configs_join(&cs);
	free(want);
	return rc;
}
