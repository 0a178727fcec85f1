/*
 * blobcache.h - a local cache of what a layer became when tagseal compressed
 * it: uncompressed digest (diff_id) -> compressed digest and size, per
 * compressor (ts_compression_id). A re-push of an unchanged layer asks the
 * registry for the cached compressed digest (HEAD) and, when the registry
 * has it, skips reading and compressing the layer.
 *
 * It also keeps which files were already read (seen/, below) and which
 * repositories of each registry hold each blob (holders/, below).
 *
 * Where: $TAGSEAL_CACHE_DIR, else $XDG_CACHE_HOME/tagseal, else
 * ~/.cache/tagseal; one small file per layer under layers/<compressor>/.
 * Each entry carries its own key and a SHA-256 over its fields: a damaged or
 * mismatched entry is ignored (the layer is compressed again), never used.
 * Entries are only written after a compression whose input matched the
 * config's diff_id. Every failure to read or write the cache is silent: the
 * cache can only make a push faster, never make it fail.
 */
#ifndef TAGSEAL_BLOBCACHE_H
#define TAGSEAL_BLOBCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tagseal/digest.h"

typedef struct ts_blobcache ts_blobcache;

/* NULL when no cache directory can be found (the cache is then off). */
ts_blobcache *ts_blobcache_open(const char *compressor_id);
void ts_blobcache_free(ts_blobcache *c);

bool ts_blobcache_get(ts_blobcache *c, const char *diff_id, char digest[TS_DIGEST_STRLEN],
		      int64_t *size);
void ts_blobcache_put(ts_blobcache *c, const char *diff_id, const char *digest, int64_t size);

/*
 * Files already read: "this file, unchanged since, holds member M whose
 * bytes have digest D". A re-push of the same tarball then need not read
 * a layer again to check it against its diff_id. A file is identified by
 * device, inode, size, mtime and ctime (ns); a file changed less than two
 * seconds ago has no identity (it could change again within the same
 * timestamp), and a record is only written when the file's identity after
 * the read is the one from before it. Records live under seen/, named by
 * the SHA-256 of identity and member, and carry a SHA-256 over their text.
 */
char *ts_blobcache_file_id(const char *path); /* NULL: none; free() it */
bool ts_blobcache_seen(ts_blobcache *c, const char *file_id, const char *member,
		       const char *diff_id);
void ts_blobcache_saw(ts_blobcache *c, const char *file_id, const char *path_now,
		      const char *member, const char *diff_id);

/*
 * Where blobs are: per registry host, which repositories were seen to hold
 * each blob (pushed there, mounted there, or answered 200 to HEAD), so that
 * a push to another repository of the same registry can mount the blob
 * instead of sending it. One record per registry under holders/ (named by
 * the SHA-256 of the host), at most TS_HOLDERS_MAX pairs, most recent kept,
 * with a SHA-256 over its text; loaded once, and saved by re-reading it and
 * applying this run's changes, so that concurrent pushes lose little. An
 * entry is only a hint: the registry decides (a stale one costs a refused
 * mount, then the upload). Thread-safe.
 */
#define TS_HOLDERS_MAX 2048

typedef struct ts_holders ts_holders;

ts_holders *ts_holders_open(ts_blobcache *c, const char *host); /* NULL when c is */
/* Up to max repositories known to hold digest, most recent first, other than
 * except; copies of at most 255 characters each into repos[i] (free them). */
size_t ts_holders_find(ts_holders *h, const char *digest, const char *except, char **repos,
		       size_t max);
void ts_holders_note(ts_holders *h, const char *digest, const char *repo);
void ts_holders_forget(ts_holders *h, const char *digest, const char *repo);
/* Write the record if anything changed; every failure is silent. */
void ts_holders_save(ts_holders *h);
void ts_holders_free(ts_holders *h);

#endif
