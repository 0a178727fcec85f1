/*
 * ref.h - image references: REPO, REPO:TAG, REPO@DIGEST, REPO:TAG@DIGEST.
 *
 * REPO is host[:port]/path. A name without a host means Docker Hub:
 * "app" is docker.io/library/app, "org/app" is docker.io/org/app.
 * Parsing follows the distribution reference grammar; names must be
 * lower-case (exit 2 otherwise).
 */
#ifndef TAGSEAL_REF_H
#define TAGSEAL_REF_H

#include <stdbool.h>

#include "tagseal/error.h"

typedef struct ts_ref {
	char *host;   /* "docker.io", "127.0.0.1:5000", "[::1]:5000", "ghcr.io" */
	char *path;   /* "library/app", "team/app" */
	char *tag;    /* NULL when absent */
	char *digest; /* "sha256:<hex>" or NULL when absent */
} ts_ref;

#define TS_REF_INIT { NULL, NULL, NULL, NULL }

/* Parse a reference; tag and digest are optional. `what` names the input
 * in error messages (e.g. "--repo", "--image"). A reference with userinfo
 * (user:password@host/...) is TS_EUSAGE with a message that does not
 * repeat it; no error repeats the text before an '@'. */
ts_code ts_ref_parse(const char *s, ts_ref *out, const char *what, ts_error *err);

/* Parse a repository name: neither tag nor digest allowed. */
ts_code ts_repo_parse(const char *s, ts_ref *out, const char *what, ts_error *err);

void ts_ref_free(ts_ref *r);

/* The text before the first '@' of `s` is user[:password] (what follows
 * it is not a digest: it holds a '/' or another '@'). */
bool ts_ref_has_userinfo(const char *s);

/* TS_OK, or TS_EUSAGE when `s` carries userinfo: "WHAT: a reference must
 * not carry credentials (user:password@): use --username/--password-stdin
 * or docker login", without any part of `s`. */
ts_code ts_refuse_userinfo(const char *s, const char *what, ts_error *err);

/* "host/path", normalised (docker.io/library/app). Caller frees. */
char *ts_ref_repo_string(const ts_ref *r);

/* Same host and path after normalisation. */
bool ts_ref_same_repo(const ts_ref *a, const ts_ref *b);

/* True for hosts that may be spoken to in plain HTTP without asking:
 * localhost, 127.0.0.0/8, [::1] (with or without a port). */
bool ts_host_is_loopback(const char *host);

/* The host to send API requests to (docker.io -> registry-1.docker.io). */
const char *ts_ref_api_host(const ts_ref *r);

/* Docker Hub under any of its names: docker.io, index.docker.io,
 * registry-1.docker.io (ts_ref_parse folds them all into docker.io). */
bool ts_host_is_hub(const char *host);

/* The canonical name as Docker spells it: host/path:tag, the tag "latest"
 * when absent, no digest ("nginx" -> "docker.io/library/nginx:latest").
 * Caller frees. */
char *ts_ref_canonical(const ts_ref *r);

/* The tag a reference stands for: its own, else "latest". */
const char *ts_ref_tag_or_latest(const ts_ref *r);

/* OCI tag grammar [A-Za-z0-9_][A-Za-z0-9._-]{0,127}. */
bool ts_tag_valid(const char *tag);

/* "sha256:" + 64 lower-case hex digits. */
bool ts_digest_valid(const char *digest);

#endif
