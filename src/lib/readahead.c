/*
 * readahead.c - the read-ahead thread of an upload (readahead.h): a reader
 * fills a ring of slots, hashing as it goes, while the sender takes.
 *
 * A thread of its own per upload, not a task on a shared pool: it blocks
 * on its reader (the compressor) and on the sender, and on a bounded pool
 * it could hold the worker the compressor needs (docs/architecture.md).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tagseal/readahead.h"

static void *fill(void *arg)
{
	ts_readahead *p = arg;
	for (;;) {
		size_t n = 0, i;
		bool eof = false;
		ts_error rerr = TS_ERROR_INIT;
		pthread_mutex_lock(&p->mu);
		while (p->wr - p->rd == TS_READAHEAD_SLOTS && !p->cancel)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->cancel) { /* read under the lock; written atomically under it too */
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		i = (size_t)(p->wr % TS_READAHEAD_SLOTS);
		pthread_mutex_unlock(&p->mu);
		while (n < TS_READAHEAD_SLOT && !__atomic_load_n(&p->cancel, __ATOMIC_RELAXED)) {
			long k = p->read(p->ctx, p->slot[i] + n, TS_READAHEAD_SLOT - n, &rerr);
			if (k < 0) {
				pthread_mutex_lock(&p->mu);
				p->failed = true;
				p->err = rerr;
				p->rc = rerr.code ? rerr.code : TS_EUSAGE;
				pthread_cond_broadcast(&p->cv);
				pthread_mutex_unlock(&p->mu);
				return NULL;
			}
			if (k == 0) {
				eof = true;
				break;
			}
			n += (size_t)k;
		}
		ts_sha256_update(p->h, p->slot[i], n);
		pthread_mutex_lock(&p->mu);
		p->len[i] = n;
		p->produced += (int64_t)n;
		p->wr++;
		if (p->limit >= 0 && p->produced > p->limit) {
			p->failed = true;
			p->rc = ts_error_setc(&p->err, TS_C_INPUT,
					      "blob %s: more bytes than the %lld declared", p->name,
					      (long long)p->limit);
		}
		if (eof && !p->failed && p->limit >= 0 && p->produced < p->limit) {
			/* end the request now: the other side would wait for the rest */
			p->failed = true;
			p->rc = ts_error_setc(&p->err, TS_C_INPUT, "blob %s: %lld bytes read, %lld declared",
					      p->name, (long long)p->produced, (long long)p->limit);
		}
		p->eof = eof;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		if (eof || p->failed)
			return NULL;
	}
}

void ts_readahead_init(ts_readahead *p, const char *digest, ts_blob_reader read, void *ctx,
		       int64_t limit, int64_t skip)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", digest ? digest : "(new)");
	p->read = read;
	p->ctx = ctx;
	p->limit = limit;
	p->skip = skip;
	p->h = ts_sha256_new();
	for (int i = 0; i < TS_READAHEAD_SLOTS; i++)
		p->slot[i] = ts_malloc(TS_READAHEAD_SLOT);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
}

ts_code ts_readahead_start(ts_readahead *p, ts_error *err)
{
	if (pthread_create(&p->thread, NULL, fill, p) != 0)
		return ts_error_set(err, TS_EINTERNAL, "cannot start the upload reader thread");
	p->started = true;
	return TS_OK;
}

/* Skipped bytes are consumed first, without copying. */
long ts_readahead_take(ts_readahead *p, char *buf, size_t cap)
{
	for (;;) {
		size_t i, n;
		bool skipping;
		pthread_mutex_lock(&p->mu);
		while (p->rd == p->wr && !p->eof && !p->failed)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->failed) {
			pthread_mutex_unlock(&p->mu);
			return -1;
		}
		if (p->rd == p->wr) {
			pthread_mutex_unlock(&p->mu);
			return 0;
		}
		i = (size_t)(p->rd % TS_READAHEAD_SLOTS);
		pthread_mutex_unlock(&p->mu);
		n = p->len[i] - p->rd_off;
		skipping = p->skip > 0;
		if (skipping) {
			if ((int64_t)n > p->skip)
				n = (size_t)p->skip;
			p->skip -= (int64_t)n;
		} else {
			if (n > cap)
				n = cap;
			memcpy(buf, p->slot[i] + p->rd_off, n);
		}
		p->rd_off += n;
		p->taken += (int64_t)n;
		if (p->rd_off == p->len[i]) {
			pthread_mutex_lock(&p->mu);
			p->rd++;
			p->rd_off = 0;
			pthread_cond_broadcast(&p->cv);
			pthread_mutex_unlock(&p->mu);
		}
		if (!skipping && n)
			return (long)n;
	}
}

bool ts_readahead_failed(ts_readahead *p)
{
	bool f;
	pthread_mutex_lock(&p->mu);
	f = p->failed;
	pthread_mutex_unlock(&p->mu);
	return f;
}

void ts_readahead_stop(ts_readahead *p)
{
	if (!p->started)
		return;
	pthread_mutex_lock(&p->mu);
	__atomic_store_n(&p->cancel, true, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	p->started = false;
}

void ts_readahead_release(ts_readahead *p)
{
	for (int i = 0; i < TS_READAHEAD_SLOTS; i++)
		free(p->slot[i]);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	ts_sha256_free(p->h);
}

ts_code ts_readahead_error(ts_readahead *p, ts_error *err)
{
	/* readers name their source ("image 'x': reading 'y': ..."); the
	 * pipe's own errors name the blob */
	*err = p->err;
	if (!err->code)
		return ts_error_setc(err, TS_C_INTERNAL, "blob %s: the reader failed without a reason",
				     p->name);
	return err->code;
}

ts_sha256 *ts_readahead_take_hash(ts_readahead *p)
{
	ts_sha256 *h = p->h;
	p->h = NULL;
	return h;
}
