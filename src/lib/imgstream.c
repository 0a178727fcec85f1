/*
 * imgstream.c - streaming an image's layers (image.h): each wanted layer's
 * bytes handed to a callback in archive order, in one pass over the source
 * or in several passes at once, each worker with its own reader.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "imgsrc.h"
#include "tagseal/image.h"

/*
 * Several workers may stream at once, each with its own reader over the
 * source (its own pass over the tarball, which skips other members by
 * seeking). A layer goes to the first worker that reaches it: claimed[i]
 * under the lock. After a failure no more layers are claimed. The claims
 * belong to one call; the image itself is never written.
 */
typedef struct stream_shared {
	const ts_image *img;
	const bool *want;
	bool *claimed;
	ts_layer_fn fn;
	pthread_mutex_t mu;
	bool failed;
} stream_shared;

typedef struct stream_ctx {
	stream_shared *sh;
	void *ctx; /* the worker's context for fn */
	ts_src *src;
	ts_code rc;
	ts_error err;
	bool started;
} stream_ctx;

/* Under the lock. */
static bool layer_pending(const stream_shared *sh, size_t k)
{
	return sh->want[k] && !sh->claimed[k];
}

static void *want_layer(void *vctx, const char *name, size_t i, const char **resolved, int64_t *size)
{
	stream_ctx *s = vctx;
	const ts_image *img = s->sh->img;
	const ts_layer *found = NULL;
	(void)i;
	pthread_mutex_lock(&s->sh->mu);
	for (size_t k = 0; k < img->n_layers && !s->sh->failed; k++) {
		const ts_layer *l = &img->layers[k];
		/* a directory: the next pending layer; a tarball: this member */
		if (layer_pending(s->sh, k) && (!name || strcmp(l->member, name) == 0)) {
			found = l;
			s->sh->claimed[k] = true;
			*resolved = l->member;
			*size = l->src_size;
			break;
		}
	}
	pthread_mutex_unlock(&s->sh->mu);
	return (void *)found;
}

static ts_code on_layer(void *vctx, void *item, ts_blob_reader read, void *rctx, ts_error *err)
{
	stream_ctx *s = vctx;
	const ts_layer *l = item;
	size_t k = (size_t)(l - s->sh->img->layers);
	ts_code rc = s->sh->fn(s->ctx, k, l, read, rctx, err);
	if (rc) {
		pthread_mutex_lock(&s->sh->mu);
		s->sh->failed = true;
		pthread_mutex_unlock(&s->sh->mu);
	}
	return rc;
}

static void *stream_worker(void *arg)
{
	stream_ctx *s = arg;
	s->rc = ts_src_open_for_stream(s->sh->img->path, &s->src, &s->err);
	if (s->rc == TS_OK && s->src->is_dir) {
		const ts_layer *l;
		const char *name;
		int64_t size;
		while (s->rc == TS_OK && (l = want_layer(s, NULL, 0, &name, &size)) != NULL)
			s->rc = ts_src_stream_one(s->src, name, size, on_layer, s, (void *)l, &s->err);
	} else if (s->rc == TS_OK) {
		s->rc = ts_src_stream(s->src, want_layer, on_layer, s, &s->err);
	}
	if (s->rc) {
		pthread_mutex_lock(&s->sh->mu);
		s->sh->failed = true;
		pthread_mutex_unlock(&s->sh->mu);
	}
	ts_src_free(s->src);
	return NULL;
}

bool ts_image_parallel_ok(const ts_image *img)
{
	/* a compressed tarball would be decompressed once per worker */
	return !img->outer_filter;
}

ts_code ts_image_stream_layers_parallel(const ts_image *img, const bool *want, int n,
					ts_layer_fn fn, void **ctxs, ts_error *err)
{
	stream_shared sh = { img, want, NULL, fn, PTHREAD_MUTEX_INITIALIZER, false };
	stream_ctx *w;
	pthread_t *t;
	size_t pending = 0;
	ts_code rc = TS_OK;

	for (size_t k = 0; k < img->n_layers; k++)
		if (want[k])
			pending++;
	if (!pending)
		return TS_OK;
	if (n < 1 || !ts_image_parallel_ok(img))
		n = 1;
	if ((size_t)n > pending)
		n = (int)pending;
	sh.claimed = ts_calloc(img->n_layers, sizeof(bool));
	w = ts_calloc((size_t)n, sizeof(*w));
	t = ts_calloc((size_t)n, sizeof(*t));
	for (int i = 0; i < n; i++) {
		w[i].sh = &sh;
		w[i].ctx = ctxs[i];
		w[i].err = (ts_error)TS_ERROR_INIT;
	}
	/* worker 0 runs here; the others on threads */
	for (int i = 1; i < n; i++)
		w[i].started = pthread_create(&t[i], NULL, stream_worker, &w[i]) == 0;
	stream_worker(&w[0]);
	for (int i = 1; i < n; i++)
		if (w[i].started)
			pthread_join(t[i], NULL); /* a worker that did not start leaves its layers to the others */
	/* the first failing worker's error is the one reported */
	for (int i = 0; i < n && rc == TS_OK; i++)
		if (w[i].rc) {
			rc = w[i].rc;
			*err = w[i].err;
		}
	for (size_t k = 0; rc == TS_OK && k < img->n_layers; k++)
		if (want[k] && !sh.claimed[k])
			rc = ts_error_set(err, TS_EUSAGE, "image '%s': layer '%s' was not found while streaming",
					  img->path, img->layers[k].member);
	free(w);
	free(t);
	free(sh.claimed);
	pthread_mutex_destroy(&sh.mu);
	return rc;
}

ts_code ts_image_stream_layers(const ts_image *img, const bool *want, ts_layer_fn fn, void *ctx,
			       ts_error *err)
{
	return ts_image_stream_layers_parallel(img, want, 1, fn, &ctx, err);
}
