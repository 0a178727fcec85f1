/*
 * blobio.h - the types through which a blob's bytes flow from their source
 * (an archive member, a compressor) to an upload, so that the image and
 * compression code never needs the registry client's header.
 */
#ifndef TAGSEAL_BLOBIO_H
#define TAGSEAL_BLOBIO_H

#include <stddef.h>
#include <stdint.h>

#include "tagseal/error.h"

/* Fill buf with up to `cap` bytes and return how many (0 at the end), or -1
 * on error (the reader sets *rerr). Called from one thread at a time, not
 * necessarily the caller's. */
typedef long (*ts_blob_reader)(void *ctx, char *buf, size_t cap, ts_error *rerr);

/* Called after the last byte was read and before the upload is committed;
 * an error here cancels the upload (e.g. a layer whose diff_id is wrong). */
typedef ts_code (*ts_blob_check)(void *ctx, ts_error *err);

/* Where an interrupted upload stands. Zero-initialise; clear when done. */
typedef struct ts_upload_state {
	char *location; /* the open upload session, or NULL: start a new one */
	int64_t offset; /* bytes of it the registry holds */
} ts_upload_state;

void ts_upload_state_clear(ts_upload_state *s);

#endif
