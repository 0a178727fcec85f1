/*
 * imgsrc.h - internal: the member namespace of an image source (tarball
 * or directory), used by image.c.
 */
#ifndef TAGSEAL_IMGSRC_H
#define TAGSEAL_IMGSRC_H

#include <stdbool.h>
#include <stdint.h>

#include "tagseal/buf.h"
#include "tagseal/error.h"
#include "tagseal/fsutil.h"
#include "tagseal/registry.h"

typedef struct ts_src_member {
	char *name;
	int64_t size;
	bool is_file, is_link, loaded;
	char *link; /* normalised target of a symlink or hardlink */
	ts_buf data;
	unsigned char magic[4];
	int magic_len;
} ts_src_member;

typedef struct ts_src {
	char *path;
	bool is_dir;
	const char *filter; /* outer compression of a tarball */
	ts_src_member **members;
	size_t n;
} ts_src;

char *ts_src_normalise(const char *name);
ts_code ts_src_open(const char *path, ts_src **out, ts_error *err);
void ts_src_free(ts_src *s);
/* Find a member, following links inside the archive; NULL if absent. */
ts_src_member *ts_src_find(ts_src *s, const char *name);
/* The member's bytes (loaded on demand, at most 8 MiB); *data NULL if absent. */
ts_code ts_src_get(ts_src *s, const char *name, const ts_buf **data, ts_error *err);
/* Size and first bytes of a member; an absent one is TS_EUSAGE with cause
 * TS_C_ABSENT. */
ts_code ts_src_stat(ts_src *s, const char *name, int64_t *size, const unsigned char **magic,
		    int *magic_len, ts_error *err);

/*
 * Streaming: for a tarball, want(ctx, name, 0, ...) is asked for every
 * regular member in archive order and returns the caller's item (and the
 * member's resolved name and allowed size) or NULL. Tarballs only.
 */
typedef void *(*ts_src_want_fn)(void *ctx, const char *name, size_t i, const char **resolved,
				int64_t *size);
typedef ts_code (*ts_src_stream_fn)(void *ctx, void *item, ts_blob_reader read, void *rctx,
				    ts_error *err);
ts_code ts_src_stream(ts_src *s, ts_src_want_fn want, ts_src_stream_fn fn, void *ctx,
		      ts_error *err);

/* Stream one member of a directory source. */
ts_code ts_src_stream_one(ts_src *s, const char *name, int64_t size, ts_src_stream_fn fn,
			  void *ctx, void *item, ts_error *err);
/* A source opened for streaming only (no first pass). */
ts_code ts_src_open_for_stream(const char *path, ts_src **out, ts_error *err);

#endif
