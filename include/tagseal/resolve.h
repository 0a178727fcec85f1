/*
 * resolve.h - resolving tags of third-party images to digests, several at
 * a time: each distinct reference once, at its sources in order (regconf.h:
 * mirrors first, then its registry), by HEAD (Docker-Content-Digest; Docker
 * Hub does not count HEADs against its pull limit) with GET when a registry
 * gives no digest or refuses HEAD. A multi-platform tag resolves to its
 * index digest (the Accept header names index and manifest-list types and
 * nothing is followed into a platform). Registries are opened read-only,
 * one per source repository and thread; anonymous token flows, 429 with
 * Retry-After and the other transient answers are the transport's.
 *
 * When a reference has more than one source and `compare` is set, every
 * source is asked (the later ones without retries; their failures are only
 * noted) and a source answering another digest than the one taken is
 * reported as a mismatch: a mirror that is not faithful. Without it, the
 * first source that has the tag answers alone.
 */
#ifndef TAGSEAL_RESOLVE_H
#define TAGSEAL_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>

#include "tagseal/digest.h"
#include "tagseal/error.h"
#include "tagseal/netopts.h"
#include "tagseal/ref.h"
#include "tagseal/regconf.h"

typedef struct ts_resolve_item {
	/* in: host and path normalised (ts_ref_parse), the tag to resolve
	 * (NULL: latest); the digest, if any, is ignored */
	ts_ref ref;
	/* out */
	ts_code code;                  /* TS_OK, or err holds why not */
	ts_error err;
	char digest[TS_DIGEST_STRLEN]; /* "" unless code == TS_OK */
	char media_type[128];
	char *answered;                /* host/path of the source that answered */
	bool via_mirror;               /* that source is a mirror */
	char *mismatch;                /* one line: which sources disagree, or NULL */
} ts_resolve_item;

typedef struct ts_resolve_opts {
	const ts_registry_opts *registry; /* credentials (cred_host), TLS, retries, log */
	const ts_regconf *conf;           /* may be NULL: every reference at its registry */
	int jobs;                         /* threads; <= 0: 4 */
	bool compare;                     /* ask every source, report disagreement */
	/* called (under a lock) after each item; may be NULL */
	void (*progress)(void *ud, const ts_resolve_item *item, size_t done, size_t total);
	void *progress_ud;
} ts_resolve_opts;

/*
 * Resolve every item (callers pass distinct references). Returns TS_OK
 * when the work was done, whatever each item's outcome; per-item failures
 * are in item->code/err: TS_EREGISTRY (cause NOT_FOUND when no source has
 * the tag, else network, auth, ...) or TS_EUSAGE (a blocked prefix, a
 * registries.conf location that does not make a repository).
 */
ts_code ts_resolve_run(const ts_resolve_opts *opts, ts_resolve_item *items, size_t n,
		       ts_error *err);

void ts_resolve_item_free(ts_resolve_item *item);

#endif
