/*
 * provenance.h - a SLSA provenance v1 predicate (https://slsa.dev/provenance/v1)
 * built from the facts tagseal has: the git repository (remote URL without
 * credentials), commit and ref as resolved dependencies; the CI system,
 * run URL and attempt as builder and invocation; the caller's parameters
 * (tag scheme and options) as external parameters; start and finish times.
 */
#ifndef TAGSEAL_PROVENANCE_H
#define TAGSEAL_PROVENANCE_H

#include <jansson.h>
#include <time.h>

#include "tagseal/ciinfo.h"
#include "tagseal/gitinfo.h"

#define TS_PROVENANCE_BUILD_TYPE "urn:tagseal:buildtype:image-push:v1"

typedef struct ts_provenance_in {
	const char *image;      /* the repository, host/path */
	const char *digest;     /* the image digest */
	const ts_gitinfo *git;  /* NULL: no repository */
	const ts_ciinfo *ci;    /* NULL or no provider: a local run */
	json_t *external;       /* borrowed; NULL: {"image": image} */
	time_t started, finished;
} ts_provenance_in;

/* A new predicate object. */
json_t *ts_provenance_slsa1(const ts_provenance_in *in);

/* `url` without userinfo, query or fragment (a token in a remote URL never
 * goes into provenance); a new string. */
char *ts_url_strip_secrets(const char *url);

#endif
