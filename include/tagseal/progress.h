/*
 * progress.h - typed progress events from the engine's long work (push,
 * verify): what is being done to which layer, config or manifest, and how
 * far along it is. The engine emits them and prints nothing; the CLI
 * renders them (src/cli/progress.c).
 *
 * Threads: layers may stream in parallel (push) and tags are checked in
 * parallel (verify), so a receiver may be called from several threads at
 * once and must serialise itself. Byte counts are emitted at most about ten
 * times a second per layer (the hot path only adds and compares per chunk),
 * plus once at each change of state.
 */
#ifndef TAGSEAL_PROGRESS_H
#define TAGSEAL_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ts_progress_what {
	TS_PROGRESS_PUSH,     /* the whole push: BEGIN (count: layers, total: their
			       * bytes as stored), END (done: bytes sent, all requests) */
	TS_PROGRESS_LAYER,    /* one layer: index of count */
	TS_PROGRESS_CONFIG,   /* one image config: index of count (one per manifest) */
	TS_PROGRESS_MANIFEST, /* one manifest by digest (index children, then the top one) */
	TS_PROGRESS_VERIFY    /* verify's registry checks: BEGIN (count: tags),
			       * DONE (index: tags checked so far), END */
} ts_progress_what;

typedef enum ts_progress_state {
	TS_PS_BEGIN,
	TS_PS_READING,     /* read to compute or check its digest; nothing sent */
	TS_PS_COMPRESSING, /* stored uncompressed: compressed here (and uploaded on the way) */
	TS_PS_UPLOADING,   /* sent as it is stored */
	TS_PS_PRESENT,     /* the registry has it already: not sent */
	TS_PS_MOUNTED,     /* mounted from --mount-from: not sent */
	TS_PS_FOREIGN,     /* non-distributable: never sent */
	TS_PS_RETRY,       /* failed in a way another attempt may cure: sent again later */
	TS_PS_DONE,        /* finished (done: bytes read; size: the blob as pushed) */
	TS_PS_END          /* the work is over (failed: it did not succeed) */
} ts_progress_state;

typedef struct ts_progress_event {
	ts_progress_what what;
	ts_progress_state state;
	size_t index;        /* 0-based layer / config / manifest; VERIFY: tags checked */
	size_t count;        /* how many of them there are */
	const char *digest;  /* names it from start to finish (as stored: the source
			      * digest, or the diff_id of a layer stored uncompressed), or NULL */
	const char *pushed;  /* DONE: the digest it has in the registry, or NULL */
	int64_t total;       /* bytes to read, -1 unknown */
	int64_t done;        /* bytes read so far; PUSH END: bytes sent */
	int64_t size;        /* DONE: the blob's size as pushed, -1 unknown */
	bool sent;           /* DONE: its bytes went to the registry */
	bool failed;         /* END: the work stopped with an error */
} ts_progress_event;

/* Receives events (see the note on threads above). */
typedef void (*ts_progress_event_fn)(void *ud, const ts_progress_event *ev);

/* An event with every field at its neutral value. */
#define TS_PROGRESS_EVENT_INIT(w, s) \
	{ .what = (w), .state = (s), .total = -1, .done = 0, .size = -1 }

#endif
