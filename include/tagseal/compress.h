/*
 * compress.h - the blob pipeline's compressor: turns a reader of
 * uncompressed layer bytes into a reader of gzip or zstd bytes, on several
 * cores, with output that is byte-for-byte the same whatever the number
 * of threads.
 *
 * gzip: the input is cut into fixed 1 MiB chunks; each becomes one complete
 * gzip member (RFC 1952: mtime 0, no name) made by libdeflate at level 2,
 * on worker threads, and the members are concatenated in order. Every gzip
 * reader reads a multi-member stream (Go's, zlib's gunzip, Python's). The
 * output depends only on the input and libdeflate's version: not on the
 * thread count, nor on the CPU (libdeflate's compressor has no CPU-specific
 * paths; ISA-L's has, and was dropped for that).
 * zstd: the same 1 MiB chunks, each one complete zstd frame (level 3,
 * content size, no checksum) made by libzstd on the worker threads, the
 * frames concatenated in order (RFC 8878 readers take any number of
 * frames: zstd(1), Go's klauspost/compress, containerd). Independent
 * frames cost about 5% in size against one stream, and use every core.
 *
 * Memory: about 2 MiB per thread plus one per compressor; threads default
 * to the online CPUs, at most 8.
 *
 * Compressors of layers that go up at once share one pool: its threads
 * take the oldest queued chunk of any of them, and its chunk buffers are
 * shared (one compressor may hold enough to keep every thread busy), so
 * that a core one layer leaves idle works for the other, and memory is
 * that of one compressor plus one chunk per further compressor.
 *
 * The compressor also hashes the uncompressed bytes (the layer's diff_id).
 */
#ifndef TAGSEAL_COMPRESS_H
#define TAGSEAL_COMPRESS_H

#include <stdint.h>

#include "tagseal/digest.h"
#include "tagseal/error.h"
#include "tagseal/blobio.h"

typedef enum ts_compression {
	TS_COMPRESS_GZIP = 0,
	TS_COMPRESS_ZSTD = 1
} ts_compression;

typedef struct ts_compressor ts_compressor;
typedef struct ts_compress_pool ts_compress_pool;

/* The default thread count: the online CPUs, at most 8. */
int ts_compress_default_threads(void);

/* `threads` <= 0 means ts_compress_default_threads(). */
ts_code ts_compressor_new(ts_compression kind, int threads, ts_blob_reader src, void *src_ctx,
			  ts_compressor **out, ts_error *err);
void ts_compressor_free(ts_compressor *c);

/* A pool of `threads` workers (<= 0: the default) for up to `compressors`
 * compressors at once; freed after its compressors. */
ts_code ts_compress_pool_new(ts_compression kind, int threads, int compressors,
			     ts_compress_pool **out, ts_error *err);
void ts_compress_pool_free(ts_compress_pool *p);

/* A compressor whose chunks the pool's workers compress. */
ts_code ts_compressor_new_in(ts_compress_pool *pool, ts_blob_reader src, void *src_ctx,
			     ts_compressor **out, ts_error *err);

/* A ts_blob_reader over the compressed bytes (ctx is the compressor). */
long ts_compressor_read(void *ctx, char *buf, size_t cap, ts_error *rerr);

/* After the reader returned 0: digest and size of the uncompressed input. */
void ts_compressor_input_digest(ts_compressor *c, char out[TS_DIGEST_STRLEN], int64_t *size);

/* A short name for reports and cache keys: "gzip-libdeflate2-1m", "zstd3-frames-1m". */
const char *ts_compression_id(ts_compression kind);

#endif
