/*
 * registry_int.h - what the registry client's files share (registry.c: the
 * connection and the OCI endpoints; upload.c: blob uploads). Not for use
 * outside them.
 */
#ifndef TAGSEAL_REGISTRY_INT_H
#define TAGSEAL_REGISTRY_INT_H

#include <pthread.h>

#include <stdatomic.h>

#include "tagseal/auth.h"
#include "tagseal/http.h"
#include "tagseal/registry.h"

#define UPLOAD_CHUNK (3 * 1024 * 1024) /* per PATCH in pieces (GHCR allows 4 MiB), held until acknowledged */

struct ts_registry {
	ts_http *http;
	/* >0: PATCHes of at most this size; 0: streamed. Learned (a 413) by
	 * any connection for all: read and set through ts_reg_piece() and
	 * ts_reg_set_piece(), which use the parent's. */
	_Atomic int64_t piece;
	char *host;     /* as in the reference: 127.0.0.1:5000, docker.io */
	char *api_host; /* registry-1.docker.io for docker.io */
	char *path;     /* repository path */
	char *scheme;   /* "https" or "http" */
	ts_origin origin; /* scheme://api_host: where the credentials go */
	ts_auth *auth;
	ts_registry_opts opts;
	char **warnings; /* Warning headers already shown */
	size_t n_warnings;
	/* clones (ts_registry_clone) share auth and warnings with their parent,
	 * under the parent's lock */
	struct ts_registry *parent;
	pthread_mutex_t lock;
};

/* The upload piece size of r's registry (its parent's, for a clone), and
 * setting it for every connection to that registry. */
int64_t ts_reg_piece(const ts_registry *r);
void ts_reg_set_piece(ts_registry *r, int64_t piece);

/* https://api_host/v2/<path>/ followed by the formatted rest. */
char *ts_reg_url(ts_registry *r, const char *fmt, ...) TS_PRINTF(2, 3);

/* The error for an unexpected answer: names the status, the registry's
 * error codes, the method and path, and the origin when it was not the
 * registry's; cause from the status (401 unauthorized, 403 denied, 404 not
 * found), err->http_status set. */
ts_code ts_reg_http_error(ts_registry *r, const ts_http_req *q, const char *what, ts_error *err);

/* The registry's error code(s) from a JSON error body: "CODE[,CODE]" or "". */
void ts_reg_error_codes(const ts_buf *body, char *out, size_t cap);
bool ts_reg_has_code(const char *codes, const char *code);

/* The next page's URL from an answer's Link header (RFC 8288), resolved
 * against the page's URL; NULL at the last page. A next page on another
 * origin is refused (TS_C_ORIGIN): a list is the registry's own. */
ts_code ts_reg_next_page(ts_registry *r, const ts_http_req *q, const char *what, char **next,
			 ts_error *err);

/* Cancel an upload session (DELETE), ignoring the answer. */
void ts_reg_upload_cancel(ts_registry *r, const char *location);

#endif
