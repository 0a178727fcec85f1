/*
 * registry.c - the OCI distribution API client for one repository.
 *
 * One libcurl easy handle per ts_registry keeps connections alive between
 * requests. Every request goes through do_request(), which adds the
 * Authorization header from auth.c, answers one 401 challenge, retries
 * transient failures with backoff, and collects the response headers the
 * API needs (Location, Docker-Content-Digest, Range, Link, ...).
 */
#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tagseal/auth.h"
#include "tagseal/registry.h"

#define MAX_ERROR_BODY (64 * 1024)
#define MAX_MANIFEST_BODY (8 * 1024 * 1024)
#define UPLOAD_CHUNK (3 * 1024 * 1024) /* per PATCH in pieces (GHCR allows 4 MiB), held until acknowledged */
#define UPLOAD_PIECE_MIN (256 * 1024)  /* smallest PATCH after 413 answers */
#define UPLOAD_CHUNK_MAX (64 * 1024 * 1024)

struct ts_registry {
	CURL *curl;
	int64_t piece; /* >0: PATCHes of at most this size; 0: streamed */
	char *host;     /* as in the reference: 127.0.0.1:5000, docker.io */
	char *api_host; /* registry-1.docker.io for docker.io */
	char *path;     /* repository path */
	char *scheme;   /* "https" or "http" */
	ts_auth *auth;
	ts_registry_opts opts;
	int64_t bytes_sent;
	long last_status; /* of the last answered request */
	char **warnings; /* Warning headers already shown */
	size_t n_warnings;
	/* clones (ts_registry_clone) share auth and warnings with their parent,
	 * under the parent's lock */
	struct ts_registry *parent;
	pthread_mutex_t lock;
};

static pthread_mutex_t *shared_lock(ts_registry *r)
{
	return r->parent ? &r->parent->lock : &r->lock;
}

/* One request and what came back. */
typedef struct req {
	const char *method;
	char *url;
	const char *accept;
	const char *content_type;
	const char *extra_header; /* one more request header line, or NULL */
	/* request body, kept until the request is done so it can be re-sent */
	const char *body;
	size_t body_len;
	size_t body_off;
	struct upipe *stream; /* or a body read from a pipe (not replayable) */
	int64_t stream_len;  /* its length, -1: unknown (chunked encoding) */
	bool no_retry;    /* the caller handles failures (resumable uploads) */
	bool transient;   /* the failure is worth another try */
	bool follow;      /* follow redirects (GET/HEAD of blobs and manifests) */
	bool if_none_match; /* send If-None-Match: * (create only) */
	bool tls_probe;   /* only asks whether the port speaks TLS: no credentials,
			   * no certificate check (no CA bundle to load) */
	ts_buf *resp;     /* response body sink; NULL: keep at most an error body */
	size_t resp_max;
	/* response */
	long status;
	ts_buf errbody;
	char location[4096];
	char digest[TS_DIGEST_STRLEN];
	char ctype[128];
	int64_t clen;
	char *www_auth;
	char link[2048];
	char range[128];
	int64_t chunk_min; /* OCI-Chunk-Min-Length, or 0 */
	long retry_after;
	bool resp_too_big;
	ts_error auth_err; /* a token refresh that failed before sending */
	ts_registry *reg;
} req;

static void log_line(ts_registry *r, const char *fmt, ...) TS_PRINTF(2, 3);
static void log_line(ts_registry *r, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	if (!r->opts.log || r->opts.verbose <= 0)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	r->opts.log(line);
}

static void note_warning(ts_registry *r, const char *w)
{
	ts_registry *o = r->parent ? r->parent : r;
	pthread_mutex_lock(&o->lock);
	for (size_t i = 0; i < o->n_warnings; i++)
		if (strcmp(o->warnings[i], w) == 0) {
			pthread_mutex_unlock(&o->lock);
			return;
		}
	o->warnings = ts_realloc(o->warnings, (o->n_warnings + 1) * sizeof(char *));
	o->warnings[o->n_warnings++] = ts_strdup(w);
	if (o->opts.warn) {
		char *line = ts_asprintf("registry %s: %s", o->host, w);
		o->opts.warn(line);
		free(line);
	}
	pthread_mutex_unlock(&o->lock);
}

/* ---- response headers ---- */

static void copy_value(char *dst, size_t cap, const char *v, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

/* The value of the final response's header `name` (after redirects), or
 * NULL. libcurl parses the headers; we only pick what the API needs. */
static const char *header(CURL *c, const char *name, size_t index)
{
	struct curl_header *h;
	if (curl_easy_header(c, name, index, CURLH_HEADER, -1, &h) != CURLHE_OK)
		return NULL;
	return h->value;
}

static int64_t header_int(CURL *c, const char *name, int64_t dflt)
{
	const char *v = header(c, name, 0);
	return v && isdigit((unsigned char)v[0]) ? strtoll(v, NULL, 10) : dflt;
}

/* Collect the headers of the final response into q. */
static void take_headers(ts_registry *r, req *q)
{
	CURL *c = r->curl;
	struct curl_header *h;
	const char *v;

#define COPY(name, dst) \
	if ((v = header(c, name, 0)) != NULL) \
		copy_value(dst, sizeof(dst), v, strlen(v))
	COPY("Location", q->location);
	COPY("Docker-Content-Digest", q->digest);
	COPY("Content-Type", q->ctype);
	COPY("Link", q->link);
	COPY("Range", q->range);
#undef COPY
	q->clen = header_int(c, "Content-Length", -1);
	q->chunk_min = header_int(c, "OCI-Chunk-Min-Length", 0);
	q->retry_after = (long)header_int(c, "Retry-After", -1);
	/* several challenges in several headers: joined, as one header would list them */
	if (curl_easy_header(c, "WWW-Authenticate", 0, CURLH_HEADER, -1, &h) == CURLHE_OK) {
		ts_buf b = TS_BUF_INIT;
		size_t n = h->amount;
		for (size_t i = 0; i < n; i++)
			if ((v = header(c, "WWW-Authenticate", i)) != NULL)
				ts_buf_printf(&b, "%s%s", b.len ? ", " : "", v);
		q->www_auth = ts_buf_detach(&b);
	}
	if (curl_easy_header(c, "Warning", 0, CURLH_HEADER, -1, &h) == CURLHE_OK) {
		size_t n = h->amount;
		for (size_t i = 0; i < n; i++)
			if ((v = header(c, "Warning", i)) != NULL)
				note_warning(r, v);
	}
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	req *q = ud;
	size_t len = size * nmemb;
	/* the status is known once the body starts: it decides where the body goes */
	curl_easy_getinfo(q->reg->curl, CURLINFO_RESPONSE_CODE, &q->status);
	if (q->resp && q->status >= 200 && q->status < 300) {
		if (q->resp->len + len > q->resp_max) {
			q->resp_too_big = true;
			return 0;
		}
		ts_buf_put(q->resp, data, len);
	} else if (q->errbody.len < MAX_ERROR_BODY) {
		ts_buf_put(&q->errbody, data, len);
	}
	return len;
}

static size_t on_read(char *buf, size_t size, size_t nmemb, void *ud)
{
	req *q = ud;
	size_t cap = size * nmemb;
	if (q->body_off >= q->body_len)
		return 0;
	if (cap > q->body_len - q->body_off)
		cap = q->body_len - q->body_off;
	memcpy(buf, q->body + q->body_off, cap);
	q->body_off += cap;
	q->reg->bytes_sent += (int64_t)cap;
	return cap;
}

/* libcurl may need to send the body again (a reused connection that was
 * closed under it): the body is a buffer, so that is always possible. */
static int on_seek(void *ud, curl_off_t offset, int origin)
{
	req *q = ud;
	if (origin != SEEK_SET || offset < 0 || (size_t)offset > q->body_len)
		return CURL_SEEKFUNC_FAIL;
	q->body_off = (size_t)offset;
	return CURL_SEEKFUNC_OK;
}

/* ---- read-ahead pipe for streamed uploads ---- */

#define PIPE_SLOT (256 * 1024)
#define PIPE_SLOTS 4 /* 1 MiB read ahead of what libcurl has taken */

/*
 * A thread reads the blob (and so compresses it, for a compressing reader)
 * into a small ring while libcurl sends what is ready: reading and sending
 * overlap, and memory stays at PIPE_SLOTS * PIPE_SLOT. The bytes are hashed
 * as they are read; the first `skip` bytes (what the registry already holds
 * of a resumed upload) are hashed but not sent.
 */
typedef struct upipe {
	ts_blob_reader read;
	void *ctx;
	ts_sha256 *h;
	int64_t skip;
	int64_t limit; /* the declared size, or -1 */
	char *slot[PIPE_SLOTS];
	size_t len[PIPE_SLOTS];
	uint64_t wr, rd; /* slots filled, slots taken */
	size_t rd_off;
	int64_t produced, taken;
	bool eof, failed, cancel, started;
	ts_code rc;
	ts_error err;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
} upipe;

static void *pipe_fill(void *arg)
{
	upipe *p = arg;
	for (;;) {
		size_t n = 0, i;
		bool eof = false;
		ts_error rerr = TS_ERROR_INIT;
		pthread_mutex_lock(&p->mu);
		while (p->wr - p->rd == PIPE_SLOTS && !p->cancel)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->cancel) { /* read under the lock; written atomically under it too */
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		i = (size_t)(p->wr % PIPE_SLOTS);
		pthread_mutex_unlock(&p->mu);
		while (n < PIPE_SLOT && !__atomic_load_n(&p->cancel, __ATOMIC_RELAXED)) {
			long k = p->read(p->ctx, p->slot[i] + n, PIPE_SLOT - n, &rerr);
			if (k < 0) {
				pthread_mutex_lock(&p->mu);
				p->failed = true;
				p->err = rerr;
				p->rc = rerr.code ? rerr.code : TS_EUSAGE;
				pthread_cond_broadcast(&p->cv);
				pthread_mutex_unlock(&p->mu);
				return NULL;
			}
			if (k == 0) {
				eof = true;
				break;
			}
			n += (size_t)k;
		}
		ts_sha256_update(p->h, p->slot[i], n);
		pthread_mutex_lock(&p->mu);
		p->len[i] = n;
		p->produced += (int64_t)n;
		p->wr++;
		if (p->limit >= 0 && p->produced > p->limit) {
			p->failed = true;
			p->rc = ts_error_set(&p->err, TS_EUSAGE, "more bytes than the %lld declared",
					     (long long)p->limit);
		}
		if (eof && !p->failed && p->limit >= 0 && p->produced < p->limit) {
			/* end the request now: the other side would wait for the rest */
			p->failed = true;
			p->rc = ts_error_set(&p->err, TS_EUSAGE, "%lld bytes read, %lld declared",
					     (long long)p->produced, (long long)p->limit);
		}
		p->eof = eof;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		if (eof || p->failed)
			return NULL;
	}
}

static void pipe_init(upipe *p, ts_blob_reader read, void *ctx, int64_t limit, int64_t skip)
{
	memset(p, 0, sizeof(*p));
	p->read = read;
	p->ctx = ctx;
	p->limit = limit;
	p->skip = skip;
	p->h = ts_sha256_new();
	for (int i = 0; i < PIPE_SLOTS; i++)
		p->slot[i] = ts_malloc(PIPE_SLOT);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
}

static ts_code pipe_start(upipe *p, ts_error *err)
{
	if (pthread_create(&p->thread, NULL, pipe_fill, p) != 0)
		return ts_error_set(err, TS_EINTERNAL, "cannot start the upload reader thread");
	p->started = true;
	return TS_OK;
}

/* Take up to cap bytes (waiting for the reader); 0 at the end, -1 when the
 * reader failed. Skipped bytes are consumed first, without copying. */
static long pipe_take(upipe *p, char *buf, size_t cap)
{
	for (;;) {
		size_t i, n;
		bool skipping;
		pthread_mutex_lock(&p->mu);
		while (p->rd == p->wr && !p->eof && !p->failed)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->failed) {
			pthread_mutex_unlock(&p->mu);
			return -1;
		}
		if (p->rd == p->wr) {
			pthread_mutex_unlock(&p->mu);
			return 0;
		}
		i = (size_t)(p->rd % PIPE_SLOTS);
		pthread_mutex_unlock(&p->mu);
		n = p->len[i] - p->rd_off;
		skipping = p->skip > 0;
		if (skipping) {
			if ((int64_t)n > p->skip)
				n = (size_t)p->skip;
			p->skip -= (int64_t)n;
		} else {
			if (n > cap)
				n = cap;
			memcpy(buf, p->slot[i] + p->rd_off, n);
		}
		p->rd_off += n;
		p->taken += (int64_t)n;
		if (p->rd_off == p->len[i]) {
			pthread_mutex_lock(&p->mu);
			p->rd++;
			p->rd_off = 0;
			pthread_cond_broadcast(&p->cv);
			pthread_mutex_unlock(&p->mu);
		}
		if (!skipping && n)
			return (long)n;
	}
}

static bool pipe_failed(upipe *p)
{
	bool f;
	pthread_mutex_lock(&p->mu);
	f = p->failed;
	pthread_mutex_unlock(&p->mu);
	return f;
}

/* Stop the reader (early on failure) and wait for it. */
static void pipe_stop(upipe *p)
{
	if (!p->started)
		return;
	pthread_mutex_lock(&p->mu);
	__atomic_store_n(&p->cancel, true, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	p->started = false;
}

/* Free a stopped pipe (its hash too, unless taken). */
static void pipe_release(upipe *p)
{
	for (int i = 0; i < PIPE_SLOTS; i++)
		free(p->slot[i]);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	ts_sha256_free(p->h);
}

static size_t pipe_read(char *buf, size_t size, size_t nmemb, void *ud)
{
	req *q = ud;
	long n = pipe_take(q->stream, buf, size * nmemb);
	if (n < 0)
		return CURL_READFUNC_ABORT;
	q->reg->bytes_sent += n;
	return (size_t)n;
}

/* ---- errors ---- */

/* The registry's error code(s) from a JSON error body: "CODE" or "". */
static void error_codes(const ts_buf *body, char *out, size_t cap)
{
	json_t *root, *errors;
	size_t i;
	json_t *e;

	out[0] = '\0';
	if (!body->len)
		return;
	root = json_loadb(body->ptr, body->len, 0, NULL);
	if (!root)
		return;
	errors = json_object_get(root, "errors");
	json_array_foreach(errors, i, e) {
		const char *code = json_string_value(json_object_get(e, "code"));
		if (code && strlen(out) + strlen(code) + 2 < cap) {
			if (out[0])
				strcat(out, ",");
			strcat(out, code);
		}
	}
	json_decref(root);
}

static bool has_code(const char *codes, const char *code)
{
	size_t n = strlen(code);
	for (const char *p = codes; (p = strstr(p, code)) != NULL; p += n)
		if ((p == codes || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
			return true;
	return false;
}

/* The path part of a URL, for messages (never the query: it may carry
 * upload state, and redirect URLs may carry signed credentials). */
static const char *url_path(const char *url, char *out, size_t cap)
{
	const char *p = strstr(url, "://");
	p = p ? strchr(p + 3, '/') : url;
	if (!p)
		p = "/";
	size_t n = strcspn(p, "?#");
	copy_value(out, cap, p, n);
	return out;
}

static ts_code http_error(ts_registry *r, req *q, const char *what, ts_error *err)
{
	char codes[256], path[512];
	error_codes(&q->errbody, codes, sizeof(codes));
	url_path(q->url, path, sizeof(path));
	if (q->status == 401 || q->status == 403) {
		const char *src;
		pthread_mutex_lock(shared_lock(r));
		src = ts_auth_source(r->auth);
		pthread_mutex_unlock(shared_lock(r));
		if (!src)
			return ts_error_set(err, TS_EREGISTRY,
					    "%s: registry %s answered HTTP %ld%s%s to %s %s: no credentials were "
					    "found for %s; give --username with --password-stdin, set "
					    "TAGSEAL_USERNAME/TAGSEAL_PASSWORD, or run 'docker login %s'",
					    what, r->host, q->status, codes[0] ? " " : "", codes, q->method, path,
					    r->host, r->host);
		return ts_error_set(err, TS_EREGISTRY,
				    "%s: registry %s answered HTTP %ld%s%s to %s %s with the credentials from "
				    "%s: check them, and that the account may %s %s",
				    what, r->host, q->status, codes[0] ? " " : "", codes, q->method, path, src,
				    r->opts.read_only ? "pull from" : "push to", r->path);
	}
	return ts_error_set(err, TS_EREGISTRY, "%s: registry %s answered HTTP %ld%s%s to %s %s",
			    what, r->host, q->status, codes[0] ? " " : "", codes, q->method, path);
}

static ts_code curl_error(ts_registry *r, req *q, CURLcode cc, const char *errbuf,
			  const char *what, ts_error *err)
{
	char path[512];
	url_path(q->url, path, sizeof(path));
	switch (cc) {
	case CURLE_PEER_FAILED_VERIFICATION:
		return ts_error_set(err, TS_EREGISTRY,
				    "%s: TLS certificate of %s is not trusted (%s); pass its CA with "
				    "--ca-file FILE",
				    what, r->api_host, errbuf[0] ? errbuf : curl_easy_strerror(cc));
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
		return ts_error_set(err, TS_EREGISTRY,
				    "%s: TLS handshake with %s failed (%s); if the registry speaks plain "
				    "HTTP, pass --plain-http; if it uses a private CA, pass --ca-file FILE",
				    what, r->api_host, errbuf[0] ? errbuf : curl_easy_strerror(cc));
	default:
		return ts_error_set(err, TS_EREGISTRY, "%s: %s %s on %s failed: %s", what, q->method,
				    path, r->api_host, errbuf[0] ? errbuf : curl_easy_strerror(cc));
	}
}

/* ---- the request engine ---- */

static bool transient_status(long s)
{
	return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
}

static bool transient_curl(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SEND_FAIL_REWIND:
		return true;
	default:
		return false;
	}
}

static void backoff(ts_registry *r, int attempt, long retry_after)
{
	long ms;
	if (retry_after >= 0) {
		ms = retry_after > 60 ? 60000 : retry_after * 1000;
	} else {
		ms = 200L << (attempt < 6 ? attempt : 6);
		ms += rand() % (ms / 2 + 1); /* jitter */
	}
	log_line(r, "retrying in %ld ms", ms);
	usleep((useconds_t)ms * 1000);
}

static void req_reset_response(req *q)
{
	q->status = 0;
	ts_buf_reset(&q->errbody);
	if (q->resp)
		ts_buf_reset(q->resp);
	q->location[0] = q->digest[0] = q->ctype[0] = q->link[0] = q->range[0] = '\0';
	q->clen = -1;
	q->retry_after = -1;
	q->resp_too_big = false;
	free(q->www_auth);
	q->www_auth = NULL;
	q->body_off = 0;
}

static void req_free(req *q)
{
	free(q->url);
	free(q->www_auth);
	ts_buf_free(&q->errbody);
	q->url = NULL;
	q->www_auth = NULL;
}

static CURLcode perform_once(ts_registry *r, req *q, char *errbuf)
{
	CURL *c = r->curl;
	struct curl_slist *hdrs = NULL;
	const char *authv = NULL;
	ts_error aerr = TS_ERROR_INIT;
	char line[8192];
	CURLcode cc;

	curl_easy_reset(c);
	req_reset_response(q);
	errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, q->url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "tagseal/" TAGSEAL_VERSION);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, r->opts.timeout_s > 0 ? r->opts.timeout_s : 60L);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	if (r->opts.ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, r->opts.ca_file);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, q);
	if (q->follow) {
		/* libcurl does not send our Authorization header to another host */
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	}

	if (q->tls_probe) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	pthread_mutex_lock(shared_lock(r));
	if (!q->tls_probe && ts_auth_header(r->auth, &authv, &aerr) != TS_OK) {
		pthread_mutex_unlock(shared_lock(r));
		q->auth_err = aerr;
		return CURLE_ABORTED_BY_CALLBACK;
	}
	if (authv) {
		snprintf(line, sizeof(line), "Authorization: %s", authv);
		hdrs = curl_slist_append(hdrs, line);
	}
	pthread_mutex_unlock(shared_lock(r));
	if (q->accept) {
		snprintf(line, sizeof(line), "Accept: %s", q->accept);
		hdrs = curl_slist_append(hdrs, line);
	}
	if (q->content_type) {
		snprintf(line, sizeof(line), "Content-Type: %s", q->content_type);
		hdrs = curl_slist_append(hdrs, line);
	}
	if (q->extra_header)
		hdrs = curl_slist_append(hdrs, q->extra_header);
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (q->if_none_match)
		hdrs = curl_slist_append(hdrs, "If-None-Match: *");

	if (strcmp(q->method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(q->method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
		if (q->stream) {
			curl_easy_setopt(c, CURLOPT_READFUNCTION, pipe_read);
			curl_easy_setopt(c, CURLOPT_READDATA, q);
			curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->stream_len);
		} else {
			curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(c, CURLOPT_READDATA, q);
			curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
			curl_easy_setopt(c, CURLOPT_SEEKDATA, q);
			curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->body_len);
		}
		if (strcmp(q->method, "POST") == 0 && !q->content_type && !q->body_len)
			hdrs = curl_slist_append(hdrs, "Content-Type:");
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &q->status);
	if (cc == CURLE_OK)
		take_headers(r, q);
	curl_slist_free_all(hdrs);
	{
		char path[512];
		long ver = 0;
		curl_easy_getinfo(c, CURLINFO_HTTP_VERSION, &ver);
		log_line(r, "%s %s%s -> %ld%s", q->method, r->api_host,
			 url_path(q->url, path, sizeof(path)), cc == CURLE_OK ? q->status : -1L,
			 ver == CURL_HTTP_VERSION_2_0 ? " (HTTP/2)" : "");
	}
	return cc;
}

/*
 * Run a request: answers a 401 once, retries transient failures when the
 * body can be sent again. On return q->status holds the final status;
 * TS_OK means an HTTP answer came (any status), other codes a transport
 * failure already described in err.
 */
static ts_code do_request(ts_registry *r, req *q, const char *what, ts_error *err)
{
	char errbuf[CURL_ERROR_SIZE];
	int attempt = 0, auth_tries = 0;
	bool replayable = !q->no_retry && !q->stream;

	for (;;) {
		CURLcode cc = perform_once(r, q, errbuf);
		if (q->auth_err.code) {
			*err = q->auth_err;
			return q->auth_err.code;
		}
		if (q->resp_too_big)
			return ts_error_set(err, TS_EREGISTRY,
					    "%s: the registry's answer is larger than %zu bytes", what,
					    q->resp_max);
		q->transient = cc != CURLE_OK ? transient_curl(cc) : transient_status(q->status);
		if (cc != CURLE_OK) {
			if (replayable && transient_curl(cc) && attempt < r->opts.retries) {
				backoff(r, attempt++, -1);
				continue;
			}
			return curl_error(r, q, cc, errbuf, what, err);
		}
		r->last_status = q->status;
		if (q->status == 401 && auth_tries == 0) {
			ts_code rc;
			auth_tries++;
			pthread_mutex_lock(shared_lock(r));
			rc = ts_auth_challenge(r->auth, q->www_auth, err);
			pthread_mutex_unlock(shared_lock(r));
			if (rc != TS_OK)
				return rc;
			if (q->stream)
				return TS_OK; /* a streamed body is gone: the caller starts over */
			continue;
		}
		if (transient_status(q->status) && replayable && attempt < r->opts.retries) {
			backoff(r, attempt++, q->retry_after);
			continue;
		}
		return TS_OK;
	}
}

static char *api_url(ts_registry *r, const char *fmt, ...) TS_PRINTF(2, 3);
static char *api_url(ts_registry *r, const char *fmt, ...)
{
	ts_buf b = TS_BUF_INIT;
	va_list ap;
	ts_buf_printf(&b, "%s://%s/v2/%s/", r->scheme, r->api_host, r->path);
	va_start(ap, fmt);
	ts_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return ts_buf_detach(&b);
}

/* Resolve a Location header against the request URL and optionally add
 * a query parameter. Returns a new string or NULL. */
static char *resolve_location(const char *base, const char *location, const char *add_query)
{
	CURLU *u = curl_url();
	char *out = NULL, *tmp;
	if (!u)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_URL, location, 0) != CURLUE_OK)
		goto done;
	if (add_query && curl_url_set(u, CURLUPART_QUERY, add_query, CURLU_APPENDQUERY) != CURLUE_OK)
		goto done;
	if (curl_url_get(u, CURLUPART_URL, &tmp, 0) == CURLUE_OK) {
		out = ts_strdup(tmp);
		curl_free(tmp);
	}
done:
	curl_url_cleanup(u);
	return out;
}

/* ---- open ---- */

static ts_code ping(ts_registry *r, ts_error *err)
{
	req q = { 0 };
	char errbuf[CURL_ERROR_SIZE];
	CURLcode cc;
	ts_code rc = TS_OK;

	q.reg = r;
	q.method = "GET";
	q.url = ts_asprintf("%s://%s/v2/", r->scheme, r->api_host);
	if (strcmp(r->scheme, "https") == 0 && ts_host_is_loopback(r->host)) {
		/* A loopback registry may speak plain HTTP: allowed without
		 * asking. Whether it speaks TLS is asked first without loading
		 * the CA bundle (which costs more than the whole question);
		 * a TLS registry then gets the verified ping below. */
		q.tls_probe = true;
		cc = perform_once(r, &q, errbuf);
		q.tls_probe = false;
		if (cc == CURLE_SSL_CONNECT_ERROR) {
			free(r->scheme);
			r->scheme = ts_strdup("http");
			free(q.url);
			q.url = ts_asprintf("%s://%s/v2/", r->scheme, r->api_host);
		}
	}
	cc = perform_once(r, &q, errbuf);
	for (int attempt = 0; cc != CURLE_OK && transient_curl(cc) && attempt < r->opts.retries;
	     attempt++) {
		backoff(r, attempt, -1);
		cc = perform_once(r, &q, errbuf);
	}
	if (cc != CURLE_OK)
		rc = curl_error(r, &q, cc, errbuf, "connecting to the registry", err);
	req_free(&q);
	return rc;
}

ts_code ts_registry_open(const ts_ref *repo, const ts_registry_opts *opts, ts_registry **out,
			 ts_error *err)
{
	ts_registry *r = ts_calloc(1, sizeof(*r));
	ts_code rc;

	pthread_mutex_init(&r->lock, NULL);
	r->opts = *opts;
	if (r->opts.retries < 0)
		r->opts.retries = 0;
	r->piece = opts->chunk_size > 0 ? opts->chunk_size : 0;
	r->host = ts_strdup(repo->host);
	r->api_host = ts_strdup(ts_ref_api_host(repo));
	r->path = ts_strdup(repo->path);
	r->scheme = ts_strdup(opts->plain_http ? "http" : "https");
	r->curl = curl_easy_init();
	if (!r->curl) {
		ts_registry_free(r);
		return ts_error_set(err, TS_EINTERNAL, "cannot create a libcurl handle");
	}
	rc = ts_auth_new(r->host, r->path, &r->opts, strcmp(r->scheme, "https") == 0, &r->auth, err);
	if (rc == TS_OK)
		rc = ping(r, err);
	if (rc == TS_OK && strcmp(r->scheme, "http") == 0 && !opts->plain_http) {
		/* ping fell back to http on a loopback host: tell auth */
		ts_auth_free(r->auth);
		r->auth = NULL;
		rc = ts_auth_new(r->host, r->path, &r->opts, 0, &r->auth, err);
	}
	if (rc == TS_OK && opts->read_only)
		ts_auth_set_actions(r->auth, "pull");
	if (rc != TS_OK) {
		ts_registry_free(r);
		return rc;
	}
	log_line(r, "registry %s reached over %s", r->host, r->scheme);
	*out = r;
	return TS_OK;
}

ts_code ts_registry_clone(ts_registry *r, ts_registry **out, ts_error *err)
{
	ts_registry *c = ts_calloc(1, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->parent = r->parent ? r->parent : r;
	c->opts = r->opts;
	c->piece = r->piece;
	c->host = ts_strdup(r->host);
	c->api_host = ts_strdup(r->api_host);
	c->path = ts_strdup(r->path);
	c->scheme = ts_strdup(r->scheme);
	c->auth = r->auth;
	c->curl = curl_easy_init();
	if (!c->curl) {
		ts_registry_free(c);
		return ts_error_set(err, TS_EINTERNAL, "cannot create a libcurl handle");
	}
	*out = c;
	return TS_OK;
}

void ts_registry_free(ts_registry *r)
{
	if (!r)
		return;
	if (r->curl)
		curl_easy_cleanup(r->curl);
	if (r->parent) {
		/* a clone: its counts go to the parent; auth is the parent's */
		r->parent->bytes_sent += r->bytes_sent;
		if (r->piece > r->parent->piece)
			r->parent->piece = r->piece;
		r->auth = NULL;
	}
	pthread_mutex_destroy(&r->lock);
	ts_auth_free(r->auth);
	for (size_t i = 0; i < r->n_warnings; i++)
		free(r->warnings[i]);
	free(r->warnings);
	free(r->host);
	free(r->api_host);
	free(r->path);
	free(r->scheme);
	free(r);
}

int64_t ts_registry_bytes_sent(const ts_registry *r)
{
	return r->bytes_sent;
}

/* ---- manifests ---- */

static const char *MANIFEST_ACCEPT =
	"application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
	"application/vnd.docker.distribution.manifest.v2+json, "
	"application/vnd.docker.distribution.manifest.list.v2+json";

static void fill_info(req *q, ts_manifest_info *out)
{
	out->exists = true;
	copy_value(out->digest, sizeof(out->digest), q->digest, strlen(q->digest));
	copy_value(out->media_type, sizeof(out->media_type), q->ctype, strcspn(q->ctype, ";"));
	out->size = q->clen;
}

static ts_code manifest_fetch(ts_registry *r, const char *method, const char *reference,
			      ts_buf *body, ts_manifest_info *out, ts_error *err)
{
	req q = { 0 };
	ts_code rc;
	char *what = ts_asprintf("%s:%s", r->path, reference);

	memset(out, 0, sizeof(*out));
	q.reg = r;
	q.method = method;
	q.url = api_url(r, "manifests/%s", reference);
	q.accept = MANIFEST_ACCEPT;
	q.follow = true;
	q.resp = body;
	q.resp_max = MAX_MANIFEST_BODY;
	rc = do_request(r, &q, what, err);
	if (rc == TS_OK) {
		if (q.status == 404) {
			out->exists = false;
		} else if (q.status >= 200 && q.status < 300) {
			fill_info(&q, out);
			if (body) {
				if (!out->digest[0])
					ts_sha256_digest(body->ptr ? body->ptr : "", body->len, out->digest);
				out->size = (int64_t)body->len;
			}
		} else {
			rc = http_error(r, &q, what, err);
		}
	}
	free(what);
	req_free(&q);
	return rc;
}

/* Whether the repository lists `tag`: for registries that answer 403 (not
 * 404) to a HEAD of a missing manifest (JFrog). */
static ts_code tag_listed(ts_registry *r, const char *tag, bool *listed, ts_error *err)
{
	char **tags = NULL;
	ts_code rc = ts_registry_tags_list(r, &tags, NULL, err);
	*listed = false;
	for (char **t = tags; rc == TS_OK && *t; t++)
		if (strcmp(*t, tag) == 0)
			*listed = true;
	ts_registry_tags_free(tags);
	return rc;
}

ts_code ts_registry_manifest_head(ts_registry *r, const char *reference, ts_manifest_info *out,
				  ts_error *err)
{
	ts_code rc = manifest_fetch(r, "HEAD", reference, NULL, out, err);
	if (rc == TS_EREGISTRY && r->last_status == 403 && !ts_digest_valid(reference)) {
		/* 403 is never read as "absent": ask the tag list instead */
		ts_error lerr = TS_ERROR_INIT;
		bool listed = true;
		if (tag_listed(r, reference, &listed, &lerr) == TS_OK && !listed) {
			memset(out, 0, sizeof(*out));
			ts_error_clear(err);
			return TS_OK;
		}
	}
	if (rc == TS_OK && out->exists && !ts_digest_valid(out->digest)) {
		/* Some registries omit Docker-Content-Digest on HEAD: ask with GET. */
		ts_buf body = TS_BUF_INIT;
		rc = manifest_fetch(r, "GET", reference, &body, out, err);
		ts_buf_free(&body);
	}
	return rc;
}

ts_code ts_registry_manifest_get(ts_registry *r, const char *reference, ts_buf *body,
				 ts_manifest_info *out, ts_error *err)
{
	return manifest_fetch(r, "GET", reference, body, out, err);
}

static ts_code manifest_put(ts_registry *r, const char *reference, const char *media_type,
			    const void *data, size_t len, bool create_only,
			    char digest_out[TS_DIGEST_STRLEN], ts_error *err)
{
	req q = { 0 };
	ts_code rc;
	char ours[TS_DIGEST_STRLEN];
	char *what = ts_asprintf("manifest %s:%s", r->path, reference);
	bool by_tag = !ts_digest_valid(reference);

	ts_sha256_digest(data, len, ours);
	q.reg = r;
	q.method = "PUT";
	q.url = api_url(r, "manifests/%s", reference);
	q.content_type = media_type;
	q.body = data;
	q.body_len = len;
	q.if_none_match = create_only;
	rc = do_request(r, &q, what, err);
	for (int again = 0; rc == TS_OK && q.status == 400 && again < 2; again++) {
		/* docker-registry links a blob into a repository without locking:
		 * a concurrent upload of the same blob can make a manifest briefly
		 * name an "unknown" blob. Ask again after a pause. */
		char codes[256];
		error_codes(&q.errbody, codes, sizeof(codes));
		if (!has_code(codes, "MANIFEST_BLOB_UNKNOWN"))
			break;
		backoff(r, again, -1);
		rc = do_request(r, &q, what, err);
	}
	if (rc == TS_OK && (q.status < 200 || q.status >= 300)) {
		char codes[256];
		error_codes(&q.errbody, codes, sizeof(codes));
		/* A registry's own immutability refusal, by status and code. */
		if (by_tag && (q.status == 409 || q.status == 412 ||
			       (q.status == 400 && has_code(codes, "TAG_INVALID")) ||
			       (q.status == 403 && has_code(codes, "DENIED")) ||
			       has_code(codes, "TAG_IMMUTABLE") || has_code(codes, "PRECONDITION"))) {
			rc = ts_error_set(err, TS_EREFUSED,
					  "tag '%s' refused by registry %s as immutable (HTTP %ld%s%s)",
					  reference, r->host, q.status, codes[0] ? " " : "", codes);
		} else {
			rc = http_error(r, &q, what, err);
		}
	}
	if (rc == TS_OK) {
		if (q.digest[0] && strcmp(q.digest, ours) != 0)
			rc = ts_error_set(err, TS_EREGISTRY,
					  "%s: registry %s reports digest %s, but the bytes sent have %s",
					  what, r->host, q.digest, ours);
		else if (digest_out)
			memcpy(digest_out, ours, TS_DIGEST_STRLEN);
	}
	free(what);
	req_free(&q);
	return rc;
}

ts_code ts_registry_manifest_put(ts_registry *r, const char *reference, const char *media_type,
				 const void *data, size_t len, char digest_out[TS_DIGEST_STRLEN],
				 ts_error *err)
{
	return manifest_put(r, reference, media_type, data, len, false, digest_out, err);
}

ts_code ts_registry_tag_create(ts_registry *r, const char *tag, const char *media_type,
			       const void *data, size_t len, ts_error *err)
{
	return manifest_put(r, tag, media_type, data, len, true, NULL, err);
}

/* ---- tags ---- */

/* The next page from a Link header: <URL>; rel="next" */
static char *link_next(const char *link)
{
	const char *lt = strchr(link, '<'), *gt;
	if (!lt || !strstr(link, "rel=\"next\""))
		return NULL;
	gt = strchr(lt, '>');
	if (!gt)
		return NULL;
	return ts_strndup(lt + 1, (size_t)(gt - lt - 1));
}

ts_code ts_registry_tags_list(ts_registry *r, char ***tags, size_t *count, ts_error *err)
{
	char **list = NULL;
	size_t n = 0;
	char *url = api_url(r, "tags/list?n=1000");
	ts_code rc = TS_OK;
	int pages = 0;

	while (url && rc == TS_OK) {
		req q = { 0 };
		ts_buf body = TS_BUF_INIT;
		json_t *root, *arr, *t;
		size_t i;

		if (++pages > 10000) {
			rc = ts_error_set(err, TS_EREGISTRY, "tags of %s: too many pages", r->path);
			free(url);
			break;
		}
		q.reg = r;
		q.method = "GET";
		q.url = url;
		q.follow = true;
		q.resp = &body;
		q.resp_max = MAX_MANIFEST_BODY;
		rc = do_request(r, &q, "listing tags", err);
		url = NULL;
		if (rc == TS_OK && q.status == 404) {
			/* repository does not exist yet: no tags */
		} else if (rc == TS_OK && q.status != 200) {
			rc = http_error(r, &q, "listing tags", err);
		} else if (rc == TS_OK) {
			root = json_loadb(ts_buf_cstr(&body), body.len, 0, NULL);
			arr = json_object_get(root, "tags");
			if (!root || (arr && !json_is_array(arr) && !json_is_null(arr))) {
				rc = ts_error_set(err, TS_EREGISTRY,
						  "listing tags: registry %s sent an invalid tag list",
						  r->host);
			} else {
				json_array_foreach(arr, i, t) {
					if (!json_is_string(t))
						continue;
					list = ts_realloc(list, (n + 2) * sizeof(char *));
					list[n++] = ts_strdup(json_string_value(t));
				}
				if (q.link[0]) {
					char *next = link_next(q.link);
					if (next) {
						url = resolve_location(q.url, next, NULL);
						free(next);
					}
				}
			}
			json_decref(root);
		}
		ts_buf_free(&body);
		req_free(&q);
	}
	if (rc != TS_OK) {
		for (size_t i = 0; i < n; i++)
			free(list[i]);
		free(list);
		return rc;
	}
	if (!list)
		list = ts_calloc(1, sizeof(char *));
	list[n] = NULL;
	*tags = list;
	if (count)
		*count = n;
	return TS_OK;
}

void ts_registry_tags_free(char **tags)
{
	if (!tags)
		return;
	for (char **t = tags; *t; t++)
		free(*t);
	free(tags);
}

/* ---- blobs ---- */

static void upload_cancel(ts_registry *r, const char *location);

ts_code ts_registry_blob_exists(ts_registry *r, const char *digest, bool *exists, ts_error *err)
{
	req q = { 0 };
	ts_code rc;
	char *what = ts_asprintf("blob %s", digest);

	q.reg = r;
	q.method = "HEAD";
	q.url = api_url(r, "blobs/%s", digest);
	q.follow = true;
	rc = do_request(r, &q, what, err);
	if (rc == TS_OK) {
		if (q.status == 200)
			*exists = true;
		else if (q.status == 404)
			*exists = false;
		else
			rc = http_error(r, &q, what, err);
	}
	free(what);
	req_free(&q);
	return rc;
}

ts_code ts_registry_blob_mount(ts_registry *r, const char *digest, const char *from_path,
			       bool *mounted, ts_error *err)
{
	req q = { 0 };
	ts_code rc;
	char *what = ts_asprintf("mounting blob %s from %s", digest, from_path);

	*mounted = false;
	pthread_mutex_lock(shared_lock(r));
	ts_auth_add_scope(r->auth, from_path, "pull");
	pthread_mutex_unlock(shared_lock(r));
	q.reg = r;
	q.method = "POST";
	q.url = api_url(r, "blobs/uploads/?mount=%s&from=%s", digest, from_path);
	rc = do_request(r, &q, what, err);
	if (rc == TS_OK && q.status == 201) {
		*mounted = true;
	} else if (rc == TS_OK && q.status == 202 && q.location[0]) {
		/* the registry would rather have the bytes: drop its session */
		char *loc = resolve_location(q.url, q.location, NULL);
		if (loc)
			upload_cancel(r, loc);
		free(loc);
	} else if (rc == TS_OK && q.status >= 400 && q.status != 401 && q.status != 403) {
		/* not mountable (unknown source, unsupported): upload instead */
	} else if (rc == TS_OK && q.status != 202) {
		rc = http_error(r, &q, what, err);
	}
	log_line(r, "blob %s %s from %s", digest, *mounted ? "mounted" : "not mounted", from_path);
	free(what);
	req_free(&q);
	return rc;
}

/* POST an upload session; *location gets the absolute upload URL. */
static ts_code upload_start(ts_registry *r, char **location, size_t *chunk, ts_error *err)
{
	req q = { 0 };
	ts_code rc;

	q.reg = r;
	q.method = "POST";
	q.url = api_url(r, "blobs/uploads/");
	rc = do_request(r, &q, "starting a blob upload", err);
	if (rc == TS_OK && q.status != 202)
		rc = http_error(r, &q, "starting a blob upload", err);
	if (rc == TS_OK) {
		*location = q.location[0] ? resolve_location(q.url, q.location, NULL) : NULL;
		/* a registry's minimum chunk (all but the last), within reason */
		if (q.chunk_min > (int64_t)*chunk)
			*chunk = q.chunk_min > UPLOAD_CHUNK_MAX ? UPLOAD_CHUNK_MAX : (size_t)q.chunk_min;
		if (!*location)
			rc = ts_error_set(err, TS_EREGISTRY,
					  "starting a blob upload: registry %s sent no usable Location",
					  r->host);
	}
	req_free(&q);
	return rc;
}

static void upload_cancel(ts_registry *r, const char *location)
{
	req q = { 0 };
	ts_error ignored = TS_ERROR_INIT;
	q.reg = r;
	q.method = "DELETE";
	q.url = ts_strdup(location);
	do_request(r, &q, "cancelling an upload", &ignored);
	req_free(&q);
}

static ts_code upload_finish(ts_registry *r, const char *location, const char *digest,
			     ts_error *err)
{
	req q = { 0 };
	ts_code rc;
	char *query = ts_asprintf("digest=%s", digest);

	q.reg = r;
	q.method = "PUT";
	q.url = resolve_location(location, location, query);
	q.content_type = "application/octet-stream";
	free(query);
	rc = do_request(r, &q, "finishing a blob upload", err);
	if (rc == TS_OK && q.status == 404) {
		/* a PUT that landed but whose answer was lost, then retried */
		bool exists = false;
		req_free(&q);
		rc = ts_registry_blob_exists(r, digest, &exists, err);
		if (rc == TS_OK && !exists)
			rc = ts_error_set(err, TS_EREGISTRY,
					  "blob %s: registry %s lost the upload session", digest, r->host);
		return rc;
	}
	if (rc == TS_OK && q.status != 201) {
		char codes[256];
		error_codes(&q.errbody, codes, sizeof(codes));
		if (has_code(codes, "DIGEST_INVALID")) {
			/* we hashed what we sent: the registry's copy was damaged on
			 * the way (a cut PATCH), and a new session may succeed */
			rc = ts_error_set(err, TS_EREGISTRY,
					  "blob %s: registry %s says the bytes it received have another "
					  "digest (DIGEST_INVALID)",
					  digest, r->host);
			err->retryable = 1;
		}
		else
			rc = http_error(r, &q, "finishing a blob upload", err);
	}
	if (rc == TS_OK && q.digest[0] && strcmp(q.digest, digest) != 0)
		rc = ts_error_set(err, TS_EREGISTRY,
				  "blob %s: registry %s reports digest %s for it", digest, r->host,
				  q.digest);
	req_free(&q);
	return rc;
}

/* An upload in progress: where it is, and how much the registry holds. */
typedef struct upload {
	char *location;
	int64_t offset;  /* bytes the registry has acknowledged */
	size_t piece;    /* bytes per PATCH */
} upload;

static void upload_move(upload *u, const req *q)
{
	if (q->location[0]) {
		char *next = resolve_location(u->location, q->location, NULL);
		if (next) {
			free(u->location);
			u->location = next;
		}
	}
}

/* N of an upload's "Range: 0-N" (the last byte it holds), or -1 without one.
 * docker-registry also answers "0-0" for an empty upload. */
static int64_t range_end(const char *range)
{
	const char *dash = strchr(range, '-');
	return dash ? strtoll(dash + 1, NULL, 10) : -1;
}

/* Ask the registry how many bytes of the upload it holds (Range: 0-N). */
static ts_code upload_status(ts_registry *r, upload *u, int64_t *have, ts_error *err)
{
	req q = { 0 };
	ts_code rc;
	q.reg = r;
	q.method = "GET";
	q.url = ts_strdup(u->location);
	rc = do_request(r, &q, "asking for an upload's progress", err);
	if (rc == TS_OK && q.status != 204 && q.status != 202 && q.status != 200)
		rc = http_error(r, &q, "asking for an upload's progress", err);
	if (rc == TS_OK) {
		/* "0-0" is read as 0 bytes (a registry that really holds 1 byte
		 * answers the next PATCH with 416, and the blob is then started
		 * over); no Range at all: -1, unknown */
		int64_t end = range_end(q.range);
		*have = end < 0 ? -1 : end > 0 ? end + 1 : 0;
		upload_move(u, &q);
	}
	req_free(&q);
	return rc;
}

/*
 * Send buf[0..n) as the bytes at u->offset, in PATCHes of u->piece bytes
 * with Content-Range. A failed PATCH is not blindly re-sent: the registry
 * is asked how much it holds and the upload resumes from there. A 413
 * halves the piece (registries with a request body limit).
 */
static ts_code upload_chunk(ts_registry *r, upload *u, const char *buf, size_t n, ts_error *err)
{
	int64_t start = u->offset;
	int attempt = 0;

	while (u->offset - start < (int64_t)n) {
		size_t done = (size_t)(u->offset - start), len = n - done;
		req q = { 0 };
		char range[96];
		int64_t have;
		ts_code rc;

		if (len > u->piece)
			len = u->piece;
		snprintf(range, sizeof(range), "Content-Range: %lld-%lld", (long long)u->offset,
			 (long long)(u->offset + (int64_t)len - 1));
		q.reg = r;
		q.method = "PATCH";
		q.url = ts_strdup(u->location);
		q.content_type = "application/octet-stream";
		q.extra_header = range;
		q.body = buf + done;
		q.body_len = len;
		q.no_retry = true;
		rc = do_request(r, &q, "uploading a blob", err);
		if (rc == TS_OK && (q.status == 202 || q.status == 201 || q.status == 204)) {
			upload_move(u, &q);
			u->offset += (int64_t)len;
			attempt = 0;
			req_free(&q);
			continue;
		}
		if (rc == TS_OK && q.status == 413 && u->piece > UPLOAD_PIECE_MIN) {
			u->piece /= 2;
			req_free(&q);
			continue;
		}
		if (rc == TS_OK && (q.status == 404 || q.status == 416)) {
			/* the session is gone (docker-registry drops one whose PATCH
			 * was cut), or holds other bytes than we think: the blob
			 * may be sent again in a new session */
			rc = http_error(r, &q, "uploading a blob", err);
			err->retryable = TS_RETRY;
			req_free(&q);
			return rc;
		}
		if (rc == TS_OK && !transient_status(q.status) && q.status != 416) {
			rc = http_error(r, &q, "uploading a blob", err);
			req_free(&q);
			return rc;
		}
		if (rc != TS_OK && !q.transient) {
			req_free(&q);
			return rc;
		}
		if (attempt >= r->opts.retries) {
			if (rc == TS_OK)
				rc = http_error(r, &q, "uploading a blob", err);
			err->retryable = TS_RETRY;
			req_free(&q);
			return rc;
		}
		backoff(r, attempt++, q.retry_after);
		req_free(&q);
		rc = upload_status(r, u, &have, err);
		if (rc == TS_OK && (have < start || have > start + (int64_t)n))
			rc = ts_error_set(err, TS_EREGISTRY,
					  "uploading a blob: registry %s holds %lld bytes of the upload, "
					  "expected between %lld and %lld",
					  r->host, (long long)have, (long long)start,
					  (long long)(start + (int64_t)n));
		if (rc) {
			/* the session cannot be resumed (docker-registry invalidates
			 * one whose last PATCH was cut): the whole blob may be sent
			 * again in a new session */
			err->retryable = 1;
			return rc;
		}
		log_line(r, "resuming the upload at byte %lld", (long long)have);
		u->offset = have;
	}
	return TS_OK;
}

/* The reader's failure as the upload's error. */
static ts_code pipe_error(upipe *pp, const char *digest, ts_error *err)
{
	ts_error_clear(err);
	*err = pp->err;
	if (pp->rc == TS_EUSAGE && !strstr(err->msg, "blob ") && !strstr(err->msg, "image '"))
		ts_error_prefix(err, "blob %s", digest ? digest : "(new)");
	return pp->rc;
}

/* The whole blob in PATCHes of u->piece bytes: each piece is held until the
 * registry acknowledges it (upload_chunk resumes it in place), while the
 * pipe reads ahead. */
static ts_code send_pieces(ts_registry *r, upload *u, const char *digest, upipe *pp,
			   ts_error *err)
{
	char *buf = ts_malloc(u->piece);
	ts_code rc = TS_OK;
	bool end = false;

	while (rc == TS_OK && !end) {
		size_t n = 0, want = u->piece; /* a 413 may have made pieces smaller */
		while (n < want) {
			long k = pipe_take(pp, buf + n, want - n);
			if (k < 0) {
				free(buf);
				return pipe_error(pp, digest, err);
			}
			if (k == 0) {
				end = true;
				break;
			}
			n += (size_t)k;
		}
		if (n)
			rc = upload_chunk(r, u, buf, n, err);
	}
	free(buf);
	return rc;
}

/*
 * The whole blob (from u->offset on) in one streamed PATCH. On a failure
 * that another attempt may cure, the error is retryable and u->offset says
 * how much the registry holds (u->location NULL: the session is gone).
 */
static ts_code send_stream(ts_registry *r, upload *u, int64_t size, const char *digest,
			   upipe *pp, ts_error *err)
{
	req q = { 0 };
	char range[96];
	int64_t have = 0;
	ts_code rc;

	q.reg = r;
	q.method = "PATCH";
	q.url = ts_strdup(u->location);
	q.content_type = "application/octet-stream";
	q.stream = pp;
	q.stream_len = size >= 0 ? size - u->offset : -1;
	if (size > u->offset) {
		snprintf(range, sizeof(range), "Content-Range: %lld-%lld", (long long)u->offset,
			 (long long)size - 1);
		q.extra_header = range;
	}
	rc = do_request(r, &q, "uploading a blob", err);
	if (pipe_failed(pp)) {
		/* the reader failed: its error, not libcurl's */
		req_free(&q);
		return pipe_error(pp, digest, err);
	}
	if (rc == TS_OK && (q.status == 202 || q.status == 201 || q.status == 204)) {
		/* the registry's Range, when it sends one, must count every byte */
		int64_t end = range_end(q.range), acked = end + 1;
		upload_move(u, &q);
		if (end < 0 || acked == pp->taken || (end == 0 && pp->taken == 0)) {
			u->offset = pp->taken;
			req_free(&q);
			return TS_OK;
		}
		rc = ts_error_set(err, TS_EREGISTRY,
				  "uploading a blob: registry %s acknowledged %lld of the %lld bytes sent",
				  r->host, (long long)acked, (long long)pp->taken);
	} else if (rc == TS_OK && q.status == 413) {
		/* a request body limit: pieces from now on, in a new session; the
		 * attempt that found out does not count as a failure */
		log_line(r, "the registry refuses large request bodies (413): sending PATCHes of %d bytes",
			 UPLOAD_CHUNK);
		r->piece = UPLOAD_CHUNK;
		rc = http_error(r, &q, "uploading a blob", err);
		err->retryable = TS_RETRY_FREE;
		upload_cancel(r, u->location);
		free(u->location);
		u->location = NULL;
		u->offset = 0;
		req_free(&q);
		return rc;
	} else if (rc == TS_OK && q.status != 401 && q.status != 404 && q.status != 416 &&
		   !transient_status(q.status)) {
		rc = http_error(r, &q, "uploading a blob", err);
		req_free(&q);
		return rc;
	} else if (rc != TS_OK && !q.transient) {
		req_free(&q);
		return rc;
	} else if (rc == TS_OK) {
		rc = http_error(r, &q, "uploading a blob", err);
	}
	/* where does the session stand? 404 and 416 mean nowhere we can use */
	{
		ts_error serr = TS_ERROR_INIT;
		bool usable = q.status != 404 && q.status != 416 &&
			      upload_status(r, u, &have, &serr) == TS_OK && have >= 0 &&
			      (size < 0 || have <= size);
		if (usable) {
			log_line(r, "the registry holds %lld bytes of the upload", (long long)have);
			u->offset = have;
		} else {
			if (q.status == 416)
				upload_cancel(r, u->location);
			free(u->location);
			u->location = NULL;
			u->offset = 0;
		}
	}
	req_free(&q);
	err->retryable = TS_RETRY;
	return rc;
}

void ts_registry_upload_abandon(ts_registry *r, ts_upload_state *s)
{
	if (s && s->location)
		upload_cancel(r, s->location);
	ts_upload_state_clear(s);
}

void ts_upload_state_clear(ts_upload_state *s)
{
	if (!s)
		return;
	free(s->location);
	s->location = NULL;
	s->offset = 0;
}

int ts_registry_attempts(const ts_registry *r)
{
	return r->opts.retries + 1;
}

ts_code ts_registry_blob_upload(ts_registry *r, const char *digest, int64_t size,
				ts_blob_reader read, void *ctx, ts_blob_check check,
				ts_upload_state *resume, char digest_out[TS_DIGEST_STRLEN],
				int64_t *size_out, ts_error *err)
{
	char ours[TS_DIGEST_STRLEN];
	upload u = { NULL, 0, r->piece > 0 ? (size_t)r->piece : UPLOAD_CHUNK };
	size_t cap = u.piece;
	ts_sha256 *h = NULL;
	upipe pp;
	bool streamed = r->piece == 0;
	ts_code rc;

	if (resume && resume->location && streamed) {
		u.location = resume->location;
		u.offset = resume->offset;
		resume->location = NULL;
		log_line(r, "resuming the upload at byte %lld", (long long)u.offset);
	} else {
		if (resume && resume->location)
			upload_cancel(r, resume->location); /* pieces now: a new session */
		ts_upload_state_clear(resume);
		rc = upload_start(r, &u.location, &cap, err);
		if (rc != TS_OK)
			return rc;
		u.piece = cap;
	}
	pipe_init(&pp, read, ctx, size, u.offset);
	rc = pipe_start(&pp, err);
	if (rc == TS_OK)
		rc = streamed ? send_stream(r, &u, size, digest, &pp, err)
			      : send_pieces(r, &u, digest, &pp, err);
	if (rc == TS_OK) {
		/* the reader is at its end: no more bytes may follow */
		char extra;
		if (pipe_take(&pp, &extra, 1) != 0)
			rc = pipe_failed(&pp) ? pipe_error(&pp, digest, err)
					      : ts_error_set(err, TS_EUSAGE, "blob %s: more bytes than sent",
							     digest ? digest : "(new)");
	}
	pipe_stop(&pp);
	h = pp.h;
	pp.h = NULL;
	pipe_release(&pp);
	if (rc != TS_OK && err->retryable && streamed && resume && u.location) {
		/* kept for another attempt to continue */
		resume->location = u.location;
		resume->offset = u.offset;
		u.location = NULL;
	}
	if (rc != TS_OK) {
		if (u.location)
			upload_cancel(r, u.location);
		goto out;
	}
	ts_sha256_final(h, ours);
	if (size >= 0 && u.offset != size) {
		rc = ts_error_set(err, TS_EUSAGE, "blob %s: %lld bytes read, %lld declared",
				  digest ? digest : ours, (long long)u.offset, (long long)size);
	} else if (digest && strcmp(digest, ours) != 0) {
		rc = ts_error_set(err, TS_EUSAGE, "blob %s: its bytes have digest %s", digest, ours);
	} else if (check) {
		rc = check(ctx, err);
	}
	if (rc != TS_OK) {
		upload_cancel(r, u.location);
		goto out;
	}
	rc = upload_finish(r, u.location, ours, err);
	if (rc == TS_OK) {
		if (digest_out)
			memcpy(digest_out, ours, TS_DIGEST_STRLEN);
		if (size_out)
			*size_out = u.offset;
	}
out:
	free(u.location);
	ts_sha256_free(h);
	return rc;
}

typedef struct mem_reader {
	const char *p;
	size_t len, off;
} mem_reader;

static long mem_read(void *ctx, char *buf, size_t cap, ts_error *rerr)
{
	mem_reader *m = ctx;
	(void)rerr;
	if (cap > m->len - m->off)
		cap = m->len - m->off;
	memcpy(buf, m->p + m->off, cap);
	m->off += cap;
	return (long)cap;
}

ts_code ts_registry_blob_put(ts_registry *r, const char *digest, const void *data, size_t len,
			     ts_error *err)
{
	bool exists = false;
	ts_code rc = ts_registry_blob_exists(r, digest, &exists, err);
	if (rc != TS_OK || exists)
		return rc;
	ts_upload_state st = { NULL, 0 };
	for (int attempt = 1;;) {
		mem_reader m = { data, len, 0 };
		rc = ts_registry_blob_upload(r, digest, (int64_t)len, mem_read, &m, NULL, &st, NULL,
					     NULL, err);
		if (rc == TS_OK || !err->retryable ||
		    (err->retryable != TS_RETRY_FREE && attempt++ >= ts_registry_attempts(r))) {
			ts_registry_upload_abandon(r, &st);
			return rc;
		}
		log_line(r, "sending blob %s again", digest);
		ts_error_clear(err);
	}
}
