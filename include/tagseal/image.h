/*
 * image.h - image sources: what an IMAGE path holds and how to read it.
 *
 * IMAGE is a `docker save` tarball (legacy, or Docker 25+ with an OCI
 * layout inside), an OCI image-layout tarball or directory, or any of
 * these tarballs compressed with gzip or zstd. ts_image_open() reads only
 * the metadata (manifest.json, index.json, manifests, configs) through
 * libarchive, validates it, and makes a plan: the manifests to push and
 * the layers they need. ts_image_stream_layers() then streams the layer
 * bytes in archive order, without unpacking anything to disk.
 */
#ifndef TAGSEAL_IMAGE_H
#define TAGSEAL_IMAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "tagseal/buf.h"
#include "tagseal/digest.h"
#include "tagseal/error.h"
#include "tagseal/blobio.h"

typedef enum ts_image_kind {
	TS_IMAGE_DOCKER_ARCHIVE, /* docker save (legacy or 25+) */
	TS_IMAGE_OCI_ARCHIVE,    /* OCI layout in a tarball */
	TS_IMAGE_OCI_DIR         /* OCI layout directory */
} ts_image_kind;

typedef enum ts_family {
	TS_FAMILY_OCI,
	TS_FAMILY_DOCKER
} ts_family;

typedef enum ts_layer_enc {
	TS_ENC_RAW,  /* uncompressed tar: will be compressed */
	TS_ENC_GZIP,
	TS_ENC_ZSTD
} ts_layer_enc;

typedef struct ts_layer {
	char *member;                      /* path in the archive or layout */
	char src_digest[TS_DIGEST_STRLEN]; /* digest of the stored bytes, "" if unknown */
	int64_t src_size;                  /* stored size */
	char *src_media_type;              /* as declared, or NULL (legacy docker save) */
	ts_layer_enc enc;
	char diff_id[TS_DIGEST_STRLEN];    /* from the config, "" if unknown */
	bool foreign;                      /* non-distributable: never uploaded */
	/* labelled compressed (+gzip, +zstd) but its bytes are an uncompressed
	 * tar (podman save --uncompressed): read as one, so that push
	 * compresses it and labels it truthfully */
	bool mislabelled;
	json_t *descriptor;                /* the source descriptor (urls, annotations), or NULL */
} ts_layer;

typedef struct ts_manifest {
	ts_buf raw;                       /* original manifest bytes; empty for docker save */
	char digest[TS_DIGEST_STRLEN];    /* of raw, "" when there is none */
	char *media_type;                 /* of raw, or NULL */
	ts_buf config;                    /* config bytes */
	char config_digest[TS_DIGEST_STRLEN];
	char *config_media_type;          /* as declared, or NULL */
	size_t *layers;                   /* indices into ts_image.layers */
	size_t n_layers;
	json_t *doc;                      /* parsed raw manifest, or NULL */
	json_t *index_descriptor;         /* this manifest's descriptor in the index, or NULL */
	char *platform;                   /* "linux/amd64" when known, else NULL */
} ts_manifest;

typedef struct ts_image {
	char *path;
	ts_image_kind kind;
	ts_family family;
	char *name;          /* the selected image's name, or NULL */
	char *outer_filter;  /* "gzip", "zstd", or NULL for a plain tarball */
	bool is_index;
	ts_buf index_raw;    /* original index bytes when is_index */
	char index_digest[TS_DIGEST_STRLEN];
	char *index_media_type;
	json_t *index_doc;
	ts_manifest *manifests;
	size_t n_manifests;
	ts_layer *layers;    /* unique by member */
	size_t n_layers;
} ts_image;

/* Open and validate IMAGE; `name` selects one image of several (a RepoTags
 * entry or an org.opencontainers.image.ref.name), or NULL. */
ts_code ts_image_open(const char *path, const char *name, ts_image **out, ts_error *err);
void ts_image_free(ts_image *img);

/*
 * Stream the layers whose index i has want[i] set, in archive order, each
 * once: fn gets the layer's index, the layer and a reader over its stored
 * bytes (which stops at the layer's end). fn must consume the reader fully
 * or return an error. A wanted layer the source does not hold is an error
 * (exit 2). The image keeps no state about the streaming: what a layer's
 * bytes became is the caller's to keep.
 */
typedef ts_code (*ts_layer_fn)(void *ctx, size_t index, const ts_layer *layer,
			       ts_blob_reader read, void *read_ctx, ts_error *err);
ts_code ts_image_stream_layers(const ts_image *img, const bool *want, ts_layer_fn fn, void *ctx,
			       ts_error *err);

/* The same with n workers at once, worker i calling fn with ctxs[i]: each
 * layer is streamed by one of them. fn must be safe to run concurrently.
 * A source that cannot be read in parallel (a compressed tarball) gets one
 * worker. The first failure stops new layers from starting. */
ts_code ts_image_stream_layers_parallel(const ts_image *img, const bool *want, int n,
					ts_layer_fn fn, void **ctxs, ts_error *err);
bool ts_image_parallel_ok(const ts_image *img);

/* Media type names. */
#define TS_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define TS_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define TS_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define TS_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define TS_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define TS_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define TS_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define TS_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define TS_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define TS_MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar"
#define TS_MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"

bool ts_media_type_is_index(const char *mt);

#endif
