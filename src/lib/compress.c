/*
 * compress.c - parallel, deterministic gzip (libdeflate, 1 MiB members) and
 * zstd (libzstd, 1 MiB frames) behind a pull-style reader (see compress.h).
 * Both cut the input into fixed chunks, compress each on a worker thread
 * into a self-contained member or frame, and hand the results out in order.
 *
 * The workers are this compressor's own, not a pool shared with the
 * upload read-ahead, parallel layers or verify: they are CPU-bound, keep
 * their compressor state for their whole life, and must never wait behind
 * a blocked I/O task (docs/architecture.md, "Threads and ownership").
 */
#include <libdeflate.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "tagseal/compress.h"

#define CHUNK (1024 * 1024)
#define GZIP_LEVEL 2
#define ZSTD_LEVEL 3
#define MAX_THREADS 64

typedef struct job {
	unsigned char *in;
	size_t in_len;
	unsigned char *out;
	size_t out_len, out_cap, out_off;
	bool last;
	bool empty;  /* an empty last chunk after data: no member at all */
	int state; /* 0 free, 1 queued, 2 running, 3 done, 4 failed */
} job;

struct ts_compressor {
	ts_compression kind;
	ts_blob_reader src;
	void *src_ctx;
	ts_sha256 *in_hash;
	int64_t in_size;
	bool src_done;
	bool finished;
	/* gzip */
	int nthreads;
	pthread_t *threads;
	pthread_mutex_t mu;
	pthread_cond_t cv_work, cv_done;
	job *ring;
	size_t ring_n, head, tail; /* jobs [head, tail) in flight, in order */
	bool stop;
	bool trailer_sent; /* the input digest is final */
	char digest[TS_DIGEST_STRLEN];
};

const char *ts_compression_id(ts_compression kind)
{
	return kind == TS_COMPRESS_ZSTD ? "zstd3-frames-1m" : "gzip-libdeflate2-1m";
}

/* Default threads: the online CPUs, at most 8 (each costs about 3 MiB). */
int ts_compress_default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : (n > 8 ? 8 : (int)n);
}

/* ---- workers ---- */

/* A worker's compressor: libdeflate's or a zstd context. */
typedef struct engine {
	struct libdeflate_compressor *ld;
	ZSTD_CCtx *zc;
} engine;

static bool engine_init(engine *e, ts_compression kind)
{
	memset(e, 0, sizeof(*e));
	if (kind == TS_COMPRESS_ZSTD) {
		e->zc = ZSTD_createCCtx();
		if (!e->zc)
			return false;
		ZSTD_CCtx_setParameter(e->zc, ZSTD_c_compressionLevel, ZSTD_LEVEL);
		ZSTD_CCtx_setParameter(e->zc, ZSTD_c_checksumFlag, 0);
		ZSTD_CCtx_setParameter(e->zc, ZSTD_c_contentSizeFlag, 1);
		return true;
	}
	e->ld = libdeflate_alloc_compressor(GZIP_LEVEL);
	return e->ld != NULL;
}

static void engine_free(engine *e)
{
	libdeflate_free_compressor(e->ld);
	ZSTD_freeCCtx(e->zc);
}

static size_t out_bound(ts_compression kind)
{
	return kind == TS_COMPRESS_ZSTD ? ZSTD_compressBound(CHUNK)
					: libdeflate_gzip_compress_bound(NULL, CHUNK);
}

/* One chunk as one complete gzip member (mtime 0, no name) or zstd frame
 * (with its content size, no checksum). */
static int compress_chunk(job *j, engine *e)
{
	j->out_off = 0;
	if (j->empty) {
		j->out_len = 0;
		return 0;
	}
	if (e->zc) {
		size_t n = ZSTD_compress2(e->zc, j->out, j->out_cap, j->in, j->in_len);
		if (ZSTD_isError(n))
			return -1;
		j->out_len = n;
		return 0;
	}
	j->out_len = libdeflate_gzip_compress(e->ld, j->in, j->in_len, j->out, j->out_cap);
	return j->out_len == 0 ? -1 : 0;
}

static void *worker(void *arg)
{
	ts_compressor *c = arg;
	engine e;
	bool ok = engine_init(&e, c->kind);
	pthread_mutex_lock(&c->mu);
	for (;;) {
		job *j = NULL;
		while (!c->stop) {
			for (size_t i = c->head; i < c->tail; i++) {
				job *cand = &c->ring[i % c->ring_n];
				if (cand->state == 1) {
					j = cand;
					break;
				}
			}
			if (j)
				break;
			pthread_cond_wait(&c->cv_work, &c->mu);
		}
		if (c->stop)
			break;
		j->state = 2;
		pthread_mutex_unlock(&c->mu);
		int rc = ok ? compress_chunk(j, &e) : -1;
		pthread_mutex_lock(&c->mu);
		j->state = rc == 0 ? 3 : 4;
		pthread_cond_broadcast(&c->cv_done);
	}
	pthread_mutex_unlock(&c->mu);
	engine_free(&e);
	return NULL;
}

/* Fill one chunk of input from the source (in the caller's thread). */
static ts_code read_chunk(ts_compressor *c, job *j, ts_error *rerr)
{
	j->in_len = 0;
	while (j->in_len < CHUNK && !c->src_done) {
		long n = c->src(c->src_ctx, (char *)j->in + j->in_len, CHUNK - j->in_len, rerr);
		if (n < 0)
			return rerr && rerr->code ? rerr->code : TS_EUSAGE;
		if (n == 0)
			c->src_done = true;
		j->in_len += (size_t)n;
	}
	ts_sha256_update(c->in_hash, j->in, j->in_len);
	j->empty = j->in_len == 0 && c->in_size > 0;
	c->in_size += (int64_t)j->in_len;
	j->last = c->src_done;
	return TS_OK;
}

/* Queue chunks until the ring is full or the input ends. */
static ts_code fill_ring(ts_compressor *c, ts_error *rerr)
{
	while (!c->finished && c->tail - c->head < c->ring_n) {
		job *j = &c->ring[c->tail % c->ring_n];
		ts_code rc = read_chunk(c, j, rerr);
		if (rc != TS_OK)
			return rc;
		pthread_mutex_lock(&c->mu);
		j->state = 1;
		c->tail++;
		pthread_cond_signal(&c->cv_work);
		pthread_mutex_unlock(&c->mu);
		if (j->last)
			c->finished = true;
	}
	return TS_OK;
}

long ts_compressor_read(void *ctx, char *buf, size_t cap, ts_error *rerr)
{
	ts_compressor *c = ctx;
	for (;;) {
		if (fill_ring(c, rerr) != TS_OK)
			return -1;
		if (c->head == c->tail)
			break;
		job *j = &c->ring[c->head % c->ring_n];
		pthread_mutex_lock(&c->mu);
		while (j->state != 3 && j->state != 4)
			pthread_cond_wait(&c->cv_done, &c->mu);
		pthread_mutex_unlock(&c->mu);
		if (j->state == 4) {
			ts_error_set(rerr, TS_EINTERNAL, "%s could not compress a chunk",
				     c->kind == TS_COMPRESS_ZSTD ? "libzstd" : "libdeflate");
			return -1;
		}
		if (j->out_off < j->out_len) {
			size_t n = j->out_len - j->out_off;
			if (n > cap)
				n = cap;
			memcpy(buf, j->out + j->out_off, n);
			j->out_off += n;
			return (long)n;
		}
		pthread_mutex_lock(&c->mu);
		j->state = 0;
		c->head++;
		pthread_mutex_unlock(&c->mu);
	}
	if (!c->trailer_sent) {
		c->trailer_sent = true;
		ts_sha256_final(c->in_hash, c->digest);
	}
	return 0;
}

/* ---- public ---- */

ts_code ts_compressor_new(ts_compression kind, int threads, ts_blob_reader src, void *src_ctx,
			  ts_compressor **out, ts_error *err)
{
	ts_compressor *c = ts_calloc(1, sizeof(*c));
	c->kind = kind;
	c->src = src;
	c->src_ctx = src_ctx;
	c->in_hash = ts_sha256_new();
	c->nthreads = threads > 0 ? (threads > MAX_THREADS ? MAX_THREADS : threads) : ts_compress_default_threads();
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv_work, NULL);
	pthread_cond_init(&c->cv_done, NULL);
	/* one chunk in flight per worker, plus the one being handed out */
	c->ring_n = (size_t)c->nthreads + 1;
	c->ring = ts_calloc(c->ring_n, sizeof(job));
	for (size_t i = 0; i < c->ring_n; i++) {
		c->ring[i].in = ts_malloc(CHUNK);
		c->ring[i].out_cap = out_bound(kind);
		c->ring[i].out = ts_malloc(c->ring[i].out_cap);
	}
	c->threads = ts_calloc((size_t)c->nthreads, sizeof(pthread_t));
	for (int i = 0; i < c->nthreads; i++) {
		if (pthread_create(&c->threads[i], NULL, worker, c) != 0) {
			c->nthreads = i;
			ts_compressor_free(c);
			return ts_error_set(err, TS_EINTERNAL, "cannot start compression threads");
		}
	}
	*out = c;
	return TS_OK;
}

void ts_compressor_input_digest(ts_compressor *c, char out[TS_DIGEST_STRLEN], int64_t *size)
{
	memcpy(out, c->digest, TS_DIGEST_STRLEN);
	if (size)
		*size = c->in_size;
}

void ts_compressor_free(ts_compressor *c)
{
	if (!c)
		return;
	if (c->threads) {
		pthread_mutex_lock(&c->mu);
		c->stop = true;
		pthread_cond_broadcast(&c->cv_work);
		pthread_mutex_unlock(&c->mu);
		for (int i = 0; i < c->nthreads; i++)
			pthread_join(c->threads[i], NULL);
		free(c->threads);
	}
	if (c->ring) {
		for (size_t i = 0; i < c->ring_n; i++) {
			free(c->ring[i].in);
			free(c->ring[i].out);
		}
		free(c->ring);
		pthread_mutex_destroy(&c->mu);
		pthread_cond_destroy(&c->cv_work);
		pthread_cond_destroy(&c->cv_done);
	}
	ts_sha256_free(c->in_hash);
	free(c);
}
