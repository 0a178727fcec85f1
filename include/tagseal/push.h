/*
 * push.h - pushing one image (or image index) under one new immutable tag.
 *
 * The data path: image source (image.h) -> blob pipeline (compress.h) ->
 * registry (registry.h). Order of writes: layers, configs, manifests by
 * digest (index children first), then the tag - after a HEAD that shows
 * the tag is free or already ours - then a read-back of the tag. Nothing is
 * tagged before every blob it needs is in. The mutable aliases, pins and
 * outputs are the workflow's (release.h), after this.
 *
 * Modes: with a registry, push (or, when the tag already exists, compute
 * our digest to compare without writing anything); with dry_run, compute
 * only. What push learns per layer (digest as pushed, upload sessions,
 * retries) is push's own state, never written into the image (image.h).
 */
#ifndef TAGSEAL_PUSH_H
#define TAGSEAL_PUSH_H

#include <stdbool.h>
#include <stdint.h>

#include "tagseal/buf.h"
#include "tagseal/compress.h"
#include "tagseal/error.h"
#include "tagseal/image.h"
#include "tagseal/progress.h"
#include "tagseal/ref.h"
#include "tagseal/registry.h"

typedef enum ts_format {
	TS_FORMAT_KEEP = 0, /* the source's family */
	TS_FORMAT_OCI,
	TS_FORMAT_DOCKER
} ts_format;

/* One line of progress (detail: which layer, what is done to it). */
typedef void (*ts_progress_fn)(void *ud, const char *line);

typedef struct ts_push_opts {
	const char *image_path;
	const char *image_name;   /* --image NAME, or NULL */
	const ts_ref *repo;
	const char *tag;
	ts_compression compression;
	ts_format format;
	int jobs;                 /* compression threads; <= 0: the cores, at most 8 */
	bool dry_run;             /* compute the digest, upload nothing */
	bool no_cache;            /* do not use the layer cache (blobcache.h) */
	const char *mount_from;   /* repository path on the same registry to mount blobs from */
	ts_registry *registry;    /* the connection to repo, borrowed: the caller opens
				   * it and frees it after ts_push returns (push only
				   * clones it for parallel layer streams). Required
				   * unless dry_run. */
	ts_progress_fn progress;  /* one line per step, or NULL; called with progress_ud,
				   * from one thread at a time */
	void *progress_ud;
	ts_progress_event_fn on_event; /* typed progress (progress.h), or NULL; may be
					* called from several threads at once */
	void *event_ud;
} ts_push_opts;

typedef struct ts_push_result {
	char digest[TS_DIGEST_STRLEN];   /* of the tagged manifest or index */
	char media_type[128];
	int64_t size;
	ts_buf manifest;                 /* its bytes (what an alias is moved to) */
	bool tagged;                     /* the tag is in the registry and resolves to digest */
	bool unchanged;                  /* the tag already held exactly this */
	char **platforms;                /* of an index, NULL-terminated, or NULL */
	size_t n_platforms;
	int64_t bytes_uploaded;
	size_t blobs_uploaded, blobs_present;
	/* What a person should know about how the image was written: layers
	 * relabelled, annotations a Docker manifest cannot carry. One line each,
	 * '\n'-separated; empty when there is nothing to say. */
	ts_buf notes;
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
