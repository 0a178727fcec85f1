/*
 * compress.c - parallel, deterministic gzip (libdeflate, 1 MiB members) and
 * zstd (libzstd, 1 MiB frames) behind a pull-style reader (see compress.h).
 * Both cut the input into fixed chunks, compress each on a worker thread
 * into a self-contained member or frame, and hand the results out in order.
 *
 * The workers belong to a compression pool: a compressor's own, or one
 * shared by the compressors of layers that go up at once, so that a core
 * left idle by one layer (its upload waiting on the network, or its input
 * at its end) compresses the other's chunks. The chunks' buffers are the
 * pool's too, a fixed number of them, so memory does not grow with the
 * number of compressors. The workers are CPU-bound, keep their compressor
 * state for their whole life, and never wait behind a blocked I/O task
 * (docs/architecture.md, "Threads and ownership"): the pool runs nothing
 * but chunks.
 */
#include <libdeflate.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "tagseal/compress.h"

#define CHUNK (1024 * 1024)
#define GZIP_LEVEL 2
#define ZSTD_LEVEL 3
#define MAX_THREADS 64

enum { JOB_FREE, JOB_FILLING, JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_FAILED };

/* One chunk's buffers (a slot of the pool) and its state. */
typedef struct job {
	unsigned char *in;
	size_t in_len;
	unsigned char *out;
	size_t out_len, out_cap, out_off;
	bool last;
	bool empty;   /* an empty last chunk after data: no member at all */
	int state;
	uint64_t seq; /* queued in this order: the workers take the oldest */
} job;

struct ts_compress_pool {
	ts_compression kind;
	int nthreads;
	pthread_t *threads;
	pthread_mutex_t mu;
	pthread_cond_t cv_work; /* a job was queued, or stop */
	pthread_cond_t cv_done; /* a job is done, or a slot is free */
	job *slots;
	size_t n_slots;
	size_t per_compressor; /* slots one compressor may hold: all threads busy, one handed out */
	uint64_t seq;
	bool stop;
};

struct ts_compressor {
	ts_compress_pool *pool;
	bool own_pool;
	ts_blob_reader src;
	void *src_ctx;
	ts_sha256 *in_hash;
	int64_t in_size;
	bool src_done;
	bool finished;
	job **ring;               /* its jobs in flight, in order: [head, tail) */
	size_t ring_n, head, tail;
	bool trailer_sent;        /* the input digest is final */
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
 * (with its content size, no checksum): the same bytes whichever worker
 * makes it. */
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

/* Under the lock: the oldest queued job, whichever compressor's. */
static job *oldest_queued(ts_compress_pool *p)
{
	job *j = NULL;
	for (size_t i = 0; i < p->n_slots; i++)
		if (p->slots[i].state == JOB_QUEUED && (!j || p->slots[i].seq < j->seq))
			j = &p->slots[i];
	return j;
}

static void *worker(void *arg)
{
	ts_compress_pool *p = arg;
	engine e;
	bool ok = engine_init(&e, p->kind);
	pthread_mutex_lock(&p->mu);
	for (;;) {
		job *j = NULL;
		while (!p->stop && (j = oldest_queued(p)) == NULL)
			pthread_cond_wait(&p->cv_work, &p->mu);
		if (p->stop)
			break;
		j->state = JOB_RUNNING;
		pthread_mutex_unlock(&p->mu);
		int rc = ok ? compress_chunk(j, &e) : -1;
		pthread_mutex_lock(&p->mu);
		j->state = rc == 0 ? JOB_DONE : JOB_FAILED;
		pthread_cond_broadcast(&p->cv_done);
	}
	pthread_mutex_unlock(&p->mu);
	engine_free(&e);
	return NULL;
}

/* ---- the pool ---- */

ts_code ts_compress_pool_new(ts_compression kind, int threads, int compressors,
			     ts_compress_pool **out, ts_error *err)
{
	ts_compress_pool *p = ts_calloc(1, sizeof(*p));
	p->kind = kind;
	p->nthreads = threads > 0 ? (threads > MAX_THREADS ? MAX_THREADS : threads)
				  : ts_compress_default_threads();
	if (compressors < 1)
		compressors = 1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv_work, NULL);
	pthread_cond_init(&p->cv_done, NULL);
	/* a chunk in flight per worker, plus the one each compressor hands out */
	p->per_compressor = (size_t)p->nthreads + 1;
	p->n_slots = (size_t)p->nthreads + (size_t)compressors;
	p->slots = ts_calloc(p->n_slots, sizeof(job));
	for (size_t i = 0; i < p->n_slots; i++) {
		p->slots[i].in = ts_malloc(CHUNK);
		p->slots[i].out_cap = out_bound(kind);
		p->slots[i].out = ts_malloc(p->slots[i].out_cap);
	}
	p->threads = ts_calloc((size_t)p->nthreads, sizeof(pthread_t));
	for (int i = 0; i < p->nthreads; i++) {
		if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
			p->nthreads = i;
			ts_compress_pool_free(p);
			return ts_error_set(err, TS_EINTERNAL, "cannot start compression threads");
		}
	}
	*out = p;
	return TS_OK;
}

void ts_compress_pool_free(ts_compress_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->cv_work);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	free(p->threads);
	for (size_t i = 0; i < p->n_slots; i++) {
		free(p->slots[i].in);
		free(p->slots[i].out);
	}
	free(p->slots);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv_work);
	pthread_cond_destroy(&p->cv_done);
	free(p);
}

/* Under the lock: a free slot, now FILLING, or NULL. */
static job *take_slot(ts_compress_pool *p)
{
	for (size_t i = 0; i < p->n_slots; i++)
		if (p->slots[i].state == JOB_FREE) {
			p->slots[i].state = JOB_FILLING;
			return &p->slots[i];
		}
	return NULL;
}

/* ---- one compressor ---- */

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

/* Queue chunks while the pool has slots for this compressor, until the
 * input ends. With nothing in flight it waits for a slot (another
 * compressor's chunk being handed out frees one). */
static ts_code fill_ring(ts_compressor *c, ts_error *rerr)
{
	ts_compress_pool *p = c->pool;
	while (!c->finished && c->tail - c->head < c->ring_n) {
		job *j;
		ts_code rc;
		pthread_mutex_lock(&p->mu);
		while ((j = take_slot(p)) == NULL && c->tail == c->head)
			pthread_cond_wait(&p->cv_done, &p->mu);
		pthread_mutex_unlock(&p->mu);
		if (!j)
			break; /* hand out what is in flight first */
		rc = read_chunk(c, j, rerr);
		pthread_mutex_lock(&p->mu);
		if (rc != TS_OK) {
			j->state = JOB_FREE;
			pthread_cond_broadcast(&p->cv_done);
			pthread_mutex_unlock(&p->mu);
			return rc;
		}
		j->state = JOB_QUEUED;
		j->seq = ++p->seq;
		c->ring[c->tail % c->ring_n] = j;
		c->tail++;
		pthread_cond_signal(&p->cv_work);
		pthread_mutex_unlock(&p->mu);
		if (j->last)
			c->finished = true;
	}
	return TS_OK;
}

long ts_compressor_read(void *ctx, char *buf, size_t cap, ts_error *rerr)
{
	ts_compressor *c = ctx;
	ts_compress_pool *p = c->pool;
	for (;;) {
		if (fill_ring(c, rerr) != TS_OK)
			return -1;
		if (c->head == c->tail)
			break;
		job *j = c->ring[c->head % c->ring_n];
		pthread_mutex_lock(&p->mu);
		while (j->state != JOB_DONE && j->state != JOB_FAILED)
			pthread_cond_wait(&p->cv_done, &p->mu);
		pthread_mutex_unlock(&p->mu);
		if (j->state == JOB_FAILED) {
			ts_error_set(rerr, TS_EINTERNAL, "%s could not compress a chunk",
				     p->kind == TS_COMPRESS_ZSTD ? "libzstd" : "libdeflate");
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
		pthread_mutex_lock(&p->mu);
		j->state = JOB_FREE;
		c->head++;
		pthread_cond_broadcast(&p->cv_done); /* a slot for another compressor */
		pthread_mutex_unlock(&p->mu);
	}
	if (!c->trailer_sent) {
		c->trailer_sent = true;
		ts_sha256_final(c->in_hash, c->digest);
	}
	return 0;
}

/* ---- public ---- */

ts_code ts_compressor_new_in(ts_compress_pool *pool, ts_blob_reader src, void *src_ctx,
			     ts_compressor **out, ts_error *err)
{
	ts_compressor *c = ts_calloc(1, sizeof(*c));
	(void)err;
	c->pool = pool;
	c->src = src;
	c->src_ctx = src_ctx;
	c->in_hash = ts_sha256_new();
	c->ring_n = pool->per_compressor;
	c->ring = ts_calloc(c->ring_n, sizeof(job *));
	*out = c;
	return TS_OK;
}

ts_code ts_compressor_new(ts_compression kind, int threads, ts_blob_reader src, void *src_ctx,
			  ts_compressor **out, ts_error *err)
{
	ts_compress_pool *pool;
	ts_code rc = ts_compress_pool_new(kind, threads, 1, &pool, err);
	if (rc != TS_OK)
		return rc;
	rc = ts_compressor_new_in(pool, src, src_ctx, out, err);
	if (rc != TS_OK) {
		ts_compress_pool_free(pool);
		return rc;
	}
	(*out)->own_pool = true;
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
	if (c->own_pool) {
		ts_compress_pool_free(c->pool); /* its slots with it */
	} else {
		/* give the slots back; a chunk a worker is on is waited for */
		ts_compress_pool *p = c->pool;
		pthread_mutex_lock(&p->mu);
		for (size_t i = c->head; i < c->tail; i++) {
			job *j = c->ring[i % c->ring_n];
			while (j->state == JOB_RUNNING)
				pthread_cond_wait(&p->cv_done, &p->mu);
			j->state = JOB_FREE;
		}
		pthread_cond_broadcast(&p->cv_done);
		pthread_mutex_unlock(&p->mu);
	}
	free(c->ring);
	ts_sha256_free(c->in_hash);
	free(c);
}
