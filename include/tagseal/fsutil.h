/*
 * fsutil.h - file helpers that never leave a half-written file behind.
 */
#ifndef TAGSEAL_FSUTIL_H
#define TAGSEAL_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "tagseal/buf.h"
#include "tagseal/error.h"

/*
 * Write `len` bytes to `path` atomically: a temporary file in the same
 * directory, fsync, rename over path, fsync the directory. An existing
 * file keeps its mode; a new one gets `mode` (masked by umask). A path
 * whose final component is a symlink is refused (exit 2), so output never
 * goes through a link to somewhere else. `what` names the file's role in
 * messages ("--digest-file").
 */
ts_code ts_write_file_atomic(const char *path, const void *data, size_t len,
			     mode_t mode, const char *what, ts_error *err);

/* Read a whole regular file (at most `max` bytes, else exit 2). */
ts_code ts_read_file(const char *path, size_t max, ts_buf *out,
		     const char *what, ts_error *err);

/*
 * SHA-256 of a whole file, computed in a background thread while the
 * caller works (the source tarball's digest for records). For a directory,
 * the digest of its index.json. finish() waits; out gets "sha256:<hex>",
 * or "" when the file could not be read.
 */
typedef struct ts_file_hash ts_file_hash;
ts_file_hash *ts_file_hash_start(const char *path);
void ts_file_hash_finish(ts_file_hash *h, char out[72]);

#endif
