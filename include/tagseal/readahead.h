/*
 * readahead.h - a thread that reads a blob ahead of the upload that sends
 * it (engine-internal, used by upload.c and http.c).
 *
 * The thread calls the blob reader (and so compresses, for a compressing
 * reader) into a small ring of TS_READAHEAD_SLOTS x TS_READAHEAD_SLOT bytes
 * while libcurl sends what is ready: reading and sending overlap, and
 * memory stays at 1 MiB per upload. Every byte is hashed as it is read; the
 * first `skip` bytes (what the registry already holds of a resumed upload)
 * are hashed but not handed out. One thread per upload; the taker is one
 * thread at a time (libcurl's read callback).
 */
#ifndef TAGSEAL_READAHEAD_H
#define TAGSEAL_READAHEAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "tagseal/blobio.h"
#include "tagseal/digest.h"
#include "tagseal/error.h"

#define TS_READAHEAD_SLOT (256 * 1024)
#define TS_READAHEAD_SLOTS 4

typedef struct ts_readahead {
	ts_blob_reader read;
	void *ctx;
	char name[80]; /* the blob, for messages */
	ts_sha256 *h;
	int64_t skip;
	int64_t limit; /* the declared size, or -1 */
	char *slot[TS_READAHEAD_SLOTS];
	size_t len[TS_READAHEAD_SLOTS];
	uint64_t wr, rd; /* slots filled, slots taken */
	size_t rd_off;
	int64_t produced, taken;
	bool eof, failed, cancel, started;
	ts_code rc;
	ts_error err;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
} ts_readahead;

/* Set up (no thread yet): `digest` names the blob in messages (NULL: not
 * known yet), `limit` is the declared size or -1, `skip` the bytes to hash
 * without handing out. */
void ts_readahead_init(ts_readahead *p, const char *digest, ts_blob_reader read, void *ctx,
		       int64_t limit, int64_t skip);
ts_code ts_readahead_start(ts_readahead *p, ts_error *err);
/* Up to cap bytes (waiting for the reader); 0 at the end, -1 when the
 * reader failed (ts_readahead_error then says why). */
long ts_readahead_take(ts_readahead *p, char *buf, size_t cap);
bool ts_readahead_failed(ts_readahead *p);
/* The reader's failure, as the reader (or the pipe's size check) said it. */
ts_code ts_readahead_error(ts_readahead *p, ts_error *err);
/* Stop the reader (early on failure) and wait for it. */
void ts_readahead_stop(ts_readahead *p);
/* The hash of every byte read; the caller owns it (after stop). */
ts_sha256 *ts_readahead_take_hash(ts_readahead *p);
/* Free a stopped pipe (its hash too, unless taken). */
void ts_readahead_release(ts_readahead *p);

#endif
