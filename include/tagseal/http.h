/*
 * http.h - the HTTP transport under the registry client and the token fetch
 * (libcurl): one request at a time on a kept-alive handle, with retries and
 * seeded backoff, redirects followed hop by hop, every answer bounded in
 * size and time, and credentials bound to one origin.
 *
 * The origin rule (docs/registry-access.md): a request carries the
 * Authorization header only when its URL has exactly the origin (scheme,
 * host, port) the credentials belong to. A redirect, an upload Location or
 * a Link that leads to another origin, or from https to http, goes without
 * them, and a 401 from another origin is never answered with them. This is
 * decided here, per request and per hop, so no caller can get it wrong.
 *
 * Engine-internal: used by registry.c, upload.c and auth.c.
 */
#ifndef TAGSEAL_HTTP_H
#define TAGSEAL_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tagseal/buf.h"
#include "tagseal/digest.h"
#include "tagseal/error.h"
#include "tagseal/netopts.h"

/* scheme://host[:port] of a URL, lower-cased, with the scheme's default
 * port made explicit so that https://h and https://h:443 are one origin. */
typedef struct ts_origin {
	char scheme[8]; /* "http" or "https" */
	char host[256]; /* as in the URL, IPv6 in brackets */
	long port;
} ts_origin;

/* Parse an absolute http(s) URL's origin (curl_url). false: not one. */
bool ts_origin_of(const char *url, ts_origin *out);
bool ts_origin_same(const ts_origin *a, const ts_origin *b);
/* "https://host:port" for messages (the default port left out). */
void ts_origin_str(const ts_origin *o, char *out, size_t cap);

/* A URL for messages and logs: scheme://host[:port]/path, never the query
 * (it may carry upload state or signed credentials) nor any userinfo. */
void ts_url_for_log(const char *url, char *out, size_t cap);

/* Its path alone, likewise (for messages that name the host already). */
void ts_url_path_for_log(const char *url, char *out, size_t cap);

/* Resolve `ref` (absolute, or relative as a Location or Link target may
 * be) against `base`, optionally appending a query parameter; a new string,
 * or NULL when either does not parse. */
char *ts_url_resolve(const char *base, const char *ref, const char *add_query);

/* A --ca-file must be readable and hold at least one PEM certificate:
 * TS_C_USAGE naming the file otherwise (checked before any request). */
ts_code ts_http_check_ca_file(const char *path, ts_error *err);

/* N of an upload's "Range: 0-N" (the last byte the registry holds), or -1
 * for anything else. docker-registry also answers "0-0" for an empty one. */
int64_t ts_http_range_end(const char *range);

/*
 * Credentials for one origin. The transport asks `header` for the
 * Authorization value right before each request whose URL has `origin`
 * (never for any other), and hands a 401's WWW-Authenticate from that same
 * origin to `challenge`, then sends the request once more. Both run under
 * `lock` when it is set (clones of a registry share one ts_auth).
 */
typedef struct ts_http_cred {
	ts_origin origin;
	ts_code (*header)(void *ud, const char **value, ts_error *err);
	ts_code (*challenge)(void *ud, const char *www_authenticate, ts_error *err);
	void *ud;
	void *lock; /* a pthread_mutex_t *, or NULL */
	/* Optional: a number that changes whenever the header's value does.
	 * A 401 to a request sent before another connection sharing these
	 * credentials answered a challenge is then retried with that answer,
	 * not taken as a refusal of it. */
	unsigned long (*generation)(void *ud);
} ts_http_cred;

typedef struct ts_http ts_http;
struct ts_readahead;

/* One request and what came back. Fill the request part, zero the rest
 * (TS_HTTP_REQ_INIT), run with ts_http_do(), free with ts_http_req_free(). */
typedef struct ts_http_req {
	const char *method;
	char *url; /* owned: freed by ts_http_req_free */
	const char *accept;
	const char *content_type;
	char *extra_header; /* owned: one more request header line, or NULL */
	/* request body, kept until the request is done so it can be re-sent */
	const char *body;
	size_t body_len;
	size_t body_off;
	struct ts_readahead *stream; /* or a body read from a pipe (not replayable) */
	int64_t stream_len;  /* its length, -1: unknown (chunked encoding) */
	bool no_retry;    /* the caller handles failures (resumable uploads) */
	bool follow;      /* follow redirects (GET/HEAD of blobs and manifests) */
	bool if_none_match; /* send If-None-Match: * (create only) */
	bool tls_probe;   /* only asks whether the port speaks TLS: no credentials,
			   * no certificate check (no CA bundle to load) */
	bool upload;      /* carries a blob: a minimum rate instead of a deadline */
	ts_buf *resp;     /* 2xx body sink; NULL: keep at most an error body */
	size_t resp_max;  /* bound of resp (an answer over it is an error) */

	/* the answer */
	long status;
	char *final_url;  /* the URL that answered (after redirects) */
	ts_origin final_origin;
	bool other_origin; /* the answer came from another origin than the credentials' */
	ts_buf errbody;   /* a non-2xx body, first TS_HTTP_MAX_ERROR_BODY bytes */
	char *location;   /* headers of the final answer, NULL when absent */
	char *link;
	char digest[TS_DIGEST_STRLEN];
	char ctype[128];
	char range[128];
	int64_t clen;
	char *www_auth;
	int64_t chunk_min; /* OCI-Chunk-Min-Length, or 0 */
	long retry_after;
	bool transient;   /* the failure is worth another try */
	long http_version; /* CURL_HTTP_VERSION_* of the answer */
	/* internal */
	unsigned long auth_gen; /* the credentials' generation when it was sent */
	bool resp_too_big;
	ts_error auth_err;
	ts_http *h;
} ts_http_req;

#define TS_HTTP_MAX_ERROR_BODY (64 * 1024)

/* `opts` is kept by pointer and must outlive the handle; `cred` may be
 * NULL (anonymous) and is copied. */
ts_code ts_http_new(const ts_registry_opts *opts, const ts_http_cred *cred, ts_http **out,
		    ts_error *err);
void ts_http_free(ts_http *h);
/* Called with each Warning header value an answer carries. */
void ts_http_set_warning_hook(ts_http *h, void (*fn)(void *ud, const char *value), void *ud);

/* Change the credentials' origin (a registry found plain HTTP on loopback). */
void ts_http_set_origin(ts_http *h, const ts_origin *o);

/*
 * Run a request: follows redirects (when q->follow) hop by hop, attaching
 * credentials only on their origin; answers one 401 challenge from that
 * origin; retries transient failures (connect errors, 408/429/5xx) with
 * backoff when the body can be sent again. TS_OK means an HTTP answer came
 * (any status, in q->status); other codes a transport failure described in
 * err (cause TS_C_NETWORK, TS_C_TLS, TS_C_LIMIT, ...). `what` begins the
 * messages ("listing tags", "blob sha256:...").
 */
ts_code ts_http_do(ts_http *h, ts_http_req *q, const char *what, ts_error *err);

/* One attempt, no retry and no challenge (the loopback TLS probe, ping). */
ts_code ts_http_once(ts_http *h, ts_http_req *q, const char *what, ts_error *err);

void ts_http_req_free(ts_http_req *q);

/* Pause before attempt `attempt` (0-based): the Retry-After when >= 0
 * (capped at 60 s), else exponential with seeded jitter. */
void ts_http_backoff(ts_http *h, int attempt, long retry_after);

/* A status worth another try: 408, 429, 500, 502, 503, 504. */
bool ts_http_transient_status(long status);

/* Bytes of request bodies sent so far, and a count moved in by clones. */
int64_t ts_http_bytes_sent(const ts_http *h);
void ts_http_add_bytes_sent(ts_http *h, int64_t n);

/* Detail lines (when opts->verbose > 0): never secrets. */
void ts_http_log(ts_http *h, const char *fmt, ...) TS_PRINTF(2, 3);

#endif
