/*
 * push.h - pushing one image (or image index) under one new immutable tag.
 *
 * The data path: image source (image.h) -> blob pipeline (compress.h) ->
 * registry (registry.h). Order of writes: layers, configs, manifests by
 * digest (index children first), then the tag - after a HEAD that shows
 * the tag is free or already ours - then a read-back of the tag, then the
 * mutable aliases. Nothing is tagged before every blob it needs is in.
 */
#ifndef TAGSEAL_PUSH_H
#define TAGSEAL_PUSH_H

#include <stdbool.h>
#include <stdint.h>

#include "tagseal/compress.h"
#include "tagseal/error.h"
#include "tagseal/image.h"
#include "tagseal/ref.h"
#include "tagseal/registry.h"

typedef enum ts_format {
	TS_FORMAT_KEEP = 0, /* the source's family */
	TS_FORMAT_OCI,
	TS_FORMAT_DOCKER
} ts_format;

typedef struct ts_push_opts {
	const char *image_path;
	const char *image_name;   /* --image NAME, or NULL */
	const ts_ref *repo;
	const char *tag;
	const char *const *aliases;
	size_t n_aliases;
	ts_compression compression;
	ts_format format;
	int jobs;                 /* compression threads; <= 0: all cores */
	bool dry_run;             /* compute the digest, upload nothing */
	bool no_cache;            /* do not use the layer cache (blobcache.h) */
	const char *mount_from;   /* repository path on the same registry to mount blobs from */
	ts_registry_opts reg;
	ts_registry *registry;    /* an open connection to repo to use, or NULL: one is
				   * opened with reg (the caller keeps ownership) */
	void (*progress)(const char *line); /* one line per step, or NULL */
} ts_push_opts;

typedef struct ts_push_result {
	char digest[TS_DIGEST_STRLEN];   /* of the tagged manifest or index */
	char media_type[128];
	int64_t size;
	bool unchanged;                  /* the tag already held exactly this */
	char **platforms;                /* of an index, NULL-terminated, or NULL */
	size_t n_platforms;
	int64_t bytes_uploaded;
	size_t blobs_uploaded, blobs_present;
} ts_push_result;

ts_code ts_push(const ts_push_opts *opts, ts_push_result *out, ts_error *err);
void ts_push_result_free(ts_push_result *r);

/*
 * The manifests push would upload, without a registry: compresses layers
 * that need it (to learn their digests) unless `compute` is false, and
 * returns a JSON description (caller owns it). Used by `tagseal inspect`.
 */
ts_code ts_push_describe(const ts_push_opts *opts, bool compute, json_t **out, ts_error *err);

#endif
