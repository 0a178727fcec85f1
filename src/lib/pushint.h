/*
 * pushint.h - what push.c (manifests, the tag) and pushlayers.c (planning
 * and streaming the layers) share: the pusher and push's own per-layer
 * state. Internal to the engine.
 */
#ifndef TAGSEAL_PUSHINT_H
#define TAGSEAL_PUSHINT_H

#include <pthread.h>
#include <stdbool.h>

#include "tagseal/blobcache.h"
#include "tagseal/compress.h"
#include "tagseal/push.h"

/* What a run of the pusher does with the registry. */
typedef enum push_mode {
	PUSH_UPLOAD,  /* send what the registry lacks */
	PUSH_COMPARE, /* the tag exists: compute our digest to compare, trusting the
		       * digests the source states; nothing is written */
	PUSH_COMPUTE  /* no registry at all (dry run, inspect) */
} push_mode;

/* Push's state for one layer of the image (same index as ts_image.layers). */
typedef struct push_layer {
	bool wanted;         /* to be streamed */
	bool done;           /* the registry has it as out_digest (or it is computed) */
	bool retry;          /* failed in a way a new pass may cure */
	bool retry_free;     /* ... and that pass is not a failed attempt */
	bool verify_only;    /* the registry has it (layer cache): only check the
			      * bytes against diff_id */
	char out_digest[TS_DIGEST_STRLEN]; /* the blob as the registry has it */
	int64_t out_size;
	char diff_id[TS_DIGEST_STRLEN];    /* of the bytes read, when compressed here */
	bool check;          /* whether the registry has it is asked by the
			      * worker that streams it, just before its upload */
	ts_upload_state resume; /* an interrupted upload to continue */
} push_layer;

/*
 * The connections of one push: the ones the checks, the uploads and the
 * configs used are kept open for the next step instead of closed, so that
 * each is set up once (a new connection costs a round trip, more with TLS).
 * Shared by the copies of the pusher its workers get.
 */
typedef struct push_conns {
	pthread_mutex_t mu;
	ts_registry **idle; /* clones of the pusher's registry, each idle */
	size_t n, cap;
} push_conns;

/*
 * Writes wait for the tag: while the tag's first check is out, the layers'
 * checks (HEAD, read-only) go ahead, but nothing is written to the
 * registry - no mount, no upload session, no config - until the tag is
 * known free. A tag that exists (or a check that failed) shuts the gate,
 * and the registry stays untouched.
 */
typedef enum push_gate_state { PUSH_GATE_WAIT, PUSH_GATE_OPEN, PUSH_GATE_SHUT } push_gate_state;
typedef struct push_gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	push_gate_state state;
} push_gate;

typedef struct pusher {
	const ts_push_opts *o;
	ts_image *img;
	ts_registry *reg;     /* this worker's connection; NULL in PUSH_COMPUTE */
	push_mode mode;
	ts_family family;     /* of the manifests we write */
	ts_push_result *res;
	ts_blobcache *cache;  /* NULL: off */
	ts_holders *holders;  /* where the registry's blobs were seen; NULL: off */
	ts_compress_pool *cpool; /* shared by the layers compressed at once; NULL: each its own */
	pthread_mutex_t *mu;  /* res and progress, when layers stream in parallel */
	char **file_ids;      /* per layer: its file's identity before reading, or NULL */
	push_layer *layers;   /* per image layer */
	char (*man_digests)[TS_DIGEST_STRLEN]; /* per manifest: its digest as pushed */
	bool *config_put;     /* per manifest: its config is in the registry already */
	push_conns *conns;    /* idle connections to reuse; NULL without a registry */
	push_gate *gate;      /* writes wait on it; NULL: write at will */
	bool stream_checks;   /* layers sent as they are are checked by their streams */
} pusher;

static inline push_layer *push_state(const pusher *p, const ts_layer *l)
{
	return &p->layers[l - p->img->layers];
}

/* Allocate the per-layer and per-manifest state for p->img; free it. */
void push_state_init(pusher *p);
void push_state_free(pusher *p);

void push_progress(const pusher *p, const char *fmt, ...) TS_PRINTF(2, 3);

/* A progress event (progress.h) to p->o->on_event, if any; and one about
 * layer i in `state` (its name and size filled in). */
void push_event(const pusher *p, const ts_progress_event *ev);
void push_layer_event(const pusher *p, size_t i, ts_progress_state state);

/* A connection of its own for a worker: an idle one, else a new clone of
 * p->reg. Give it back with push_conn_put; push_conns_close closes them all
 * (their byte counts going to p->reg). */
ts_code push_conn_get(pusher *p, ts_registry **out, ts_error *err);
void push_conn_put(pusher *p, ts_registry *r);
void push_conns_close(pusher *p);

/* Whether p may write to the registry: waits while the gate is WAIT;
 * false (and err set) when it is SHUT. */
bool push_gate_pass(const pusher *p, ts_error *err);

/* Identify every layer's file (layer cache) before anything is read. */
void push_identify_files(pusher *p);

/* Decide which layers must be read: skip those the registry has. */
ts_code push_plan_layers(pusher *p, ts_error *err);

/* Stream the wanted layers; in PUSH_UPLOAD, layers whose upload failed in a
 * way another attempt may cure are sent again in more passes. */
ts_code push_stream_layers(pusher *p, ts_error *err);

#endif
