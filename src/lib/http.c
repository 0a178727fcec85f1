/*
 * http.c - the HTTP transport (http.h): libcurl setup, one request hop at a
 * time, redirects, the origin rule for credentials, bounds on every answer,
 * retries with seeded backoff, and the request log.
 */
#include <ctype.h>
#include <errno.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "tagseal/http.h"
#include "tagseal/readahead.h"
#include "tagseal/ref.h"

#define MAX_HOPS 5
#define UPLOAD_MIN_RATE 1024L /* bytes/s a blob upload must keep up over --timeout */

struct ts_http {
	CURL *curl;
	const ts_registry_opts *opts;
	ts_http_cred cred;
	bool has_cred;
	int64_t bytes_sent;
	uint64_t rng; /* backoff jitter, seeded per handle */
	void (*on_warning)(void *ud, const char *value);
	void *warning_ud;
};

/* ---- origins and URLs ---- */

static bool url_parts(const char *url, char **scheme, char **host, char **port, char **path)
{
	CURLU *u = curl_url();
	bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
		  curl_url_get(u, CURLUPART_SCHEME, scheme, 0) == CURLUE_OK &&
		  curl_url_get(u, CURLUPART_HOST, host, 0) == CURLUE_OK &&
		  curl_url_get(u, CURLUPART_PORT, port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
		  (!path || curl_url_get(u, CURLUPART_PATH, path, 0) == CURLUE_OK);
	curl_url_cleanup(u);
	return ok;
}

bool ts_origin_of(const char *url, ts_origin *out)
{
	char *scheme = NULL, *host = NULL, *port = NULL;
	bool ok = url && url_parts(url, &scheme, &host, &port, NULL) &&
		  (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) &&
		  strlen(host) < sizeof(out->host);
	memset(out, 0, sizeof(*out));
	if (ok) {
		snprintf(out->scheme, sizeof(out->scheme), "%s", scheme);
		for (size_t i = 0; host[i]; i++)
			out->host[i] = (char)tolower((unsigned char)host[i]);
		out->port = strtol(port, NULL, 10);
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	return ok;
}

bool ts_origin_same(const ts_origin *a, const ts_origin *b)
{
	return a->port == b->port && strcmp(a->scheme, b->scheme) == 0 &&
	       strcmp(a->host, b->host) == 0;
}

void ts_origin_str(const ts_origin *o, char *out, size_t cap)
{
	long dflt = strcmp(o->scheme, "https") == 0 ? 443 : 80;
	if (o->port == dflt)
		snprintf(out, cap, "%s://%s", o->scheme, o->host);
	else
		snprintf(out, cap, "%s://%s:%ld", o->scheme, o->host, o->port);
}

void ts_url_path_for_log(const char *url, char *out, size_t cap)
{
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	if (url_parts(url, &scheme, &host, &port, &path))
		ts_sanitize(out, cap, path);
	else
		snprintf(out, cap, "(an unreadable URL)");
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
}

void ts_url_for_log(const char *url, char *out, size_t cap)
{
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	ts_origin o;
	if (ts_origin_of(url, &o) && url_parts(url, &scheme, &host, &port, &path)) {
		char org[300];
		ts_origin_str(&o, org, sizeof(org));
		snprintf(out, cap, "%s%s", org, path);
	} else {
		snprintf(out, cap, "(an unreadable URL)");
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

char *ts_url_resolve(const char *base, const char *ref, const char *add_query)
{
	CURLU *u = curl_url();
	char *out = NULL, *tmp;
	if (!u)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_URL, ref, 0) != CURLUE_OK)
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

ts_code ts_http_check_ca_file(const char *path, ts_error *err)
{
	FILE *f = fopen(path, "r");
	X509 *cert;
	if (!f)
		return ts_error_setc(err, TS_C_USAGE, "'%s' cannot be read: %s", path, strerror(errno));
	cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!cert)
		return ts_error_setc(err, TS_C_USAGE,
				     "'%s' holds no PEM certificate (-----BEGIN CERTIFICATE-----); give "
				     "the CA certificate that signed the registry's",
				     path);
	X509_free(cert);
	return TS_OK;
}

int64_t ts_http_range_end(const char *range)
{
	const char *p = range;
	char *end;
	long long n;
	if (strncasecmp(p, "bytes=", 6) == 0)
		p += 6;
	if (*p != '0' || p[1] != '-' || !isdigit((unsigned char)p[2]))
		return -1;
	errno = 0;
	n = strtoll(p + 2, &end, 10);
	if (errno || n < 0 || n >= INT64_MAX / 2 || (*end && *end != ' ' && *end != ','))
		return -1;
	return (int64_t)n;
}

/* ---- the handle ---- */

static uint64_t next_random(ts_http *h)
{
	/* xorshift64*: jitter only, seeded from OpenSSL per handle */
	h->rng ^= h->rng >> 12;
	h->rng ^= h->rng << 25;
	h->rng ^= h->rng >> 27;
	return h->rng * 2685821657736338717ULL;
}

ts_code ts_http_new(const ts_registry_opts *opts, const ts_http_cred *cred, ts_http **out,
		    ts_error *err)
{
	ts_http *h = ts_calloc(1, sizeof(*h));
	h->opts = opts;
	if (cred) {
		h->cred = *cred;
		h->has_cred = true;
	}
	if (RAND_bytes((unsigned char *)&h->rng, sizeof(h->rng)) != 1 || !h->rng)
		h->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)h;
	h->curl = curl_easy_init();
	if (!h->curl) {
		free(h);
		return ts_error_setc(err, TS_C_INTERNAL, "cannot create a libcurl handle");
	}
	*out = h;
	return TS_OK;
}

void ts_http_free(ts_http *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->curl);
	free(h);
}

void ts_http_set_origin(ts_http *h, const ts_origin *o)
{
	h->cred.origin = *o;
}

void ts_http_set_warning_hook(ts_http *h, void (*fn)(void *ud, const char *value), void *ud)
{
	h->on_warning = fn;
	h->warning_ud = ud;
}

int64_t ts_http_bytes_sent(const ts_http *h)
{
	return h->bytes_sent;
}

void ts_http_add_bytes_sent(ts_http *h, int64_t n)
{
	h->bytes_sent += n;
}

void ts_http_log(ts_http *h, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	if (!h->opts->log || h->opts->verbose <= 0)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ts_sanitize(line, sizeof(line), line); /* curl quotes certificate names */
	h->opts->log(h->opts->log_ud, line);
}

/* ---- callbacks ---- */

static bool is_2xx(long s)
{
	return s >= 200 && s < 300;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	ts_http_req *q = ud;
	size_t len = size * nmemb;
	/* the status is known once the body starts: it decides where the body goes */
	curl_easy_getinfo(q->h->curl, CURLINFO_RESPONSE_CODE, &q->status);
	if (q->resp && is_2xx(q->status)) {
		if (q->resp->len + len > q->resp_max) {
			q->resp_too_big = true;
			return 0;
		}
		ts_buf_put(q->resp, data, len);
		return len;
	}
	/* an error body (or a redirect's) is read up to its cap, then the
	 * connection is dropped: an endless one ends here */
	if (q->errbody.len + len > TS_HTTP_MAX_ERROR_BODY) {
		ts_buf_put(&q->errbody, data, TS_HTTP_MAX_ERROR_BODY - q->errbody.len);
		return 0;
	}
	ts_buf_put(&q->errbody, data, len);
	return len;
}

static size_t on_read(char *buf, size_t size, size_t nmemb, void *ud)
{
	ts_http_req *q = ud;
	size_t cap = size * nmemb;
	if (q->body_off >= q->body_len)
		return 0;
	if (cap > q->body_len - q->body_off)
		cap = q->body_len - q->body_off;
	memcpy(buf, q->body + q->body_off, cap);
	q->body_off += cap;
	q->h->bytes_sent += (int64_t)cap;
	return cap;
}

/* libcurl may need to send the body again (a reused connection that was
 * closed under it): the body is a buffer, so that is always possible. */
static int on_seek(void *ud, curl_off_t offset, int origin)
{
	ts_http_req *q = ud;
	if (origin != SEEK_SET || offset < 0 || (size_t)offset > q->body_len)
		return CURL_SEEKFUNC_FAIL;
	q->body_off = (size_t)offset;
	return CURL_SEEKFUNC_OK;
}

static size_t on_stream(char *buf, size_t size, size_t nmemb, void *ud)
{
	ts_http_req *q = ud;
	long n = ts_readahead_take(q->stream, buf, size * nmemb);
	if (n < 0)
		return CURL_READFUNC_ABORT;
	q->h->bytes_sent += n;
	return (size_t)n;
}

/* ---- response headers ---- */

/* The value of the answer's header `name`, or NULL. libcurl parses the
 * headers (of any length it accepts); we only pick what the API needs. */
static const char *header(CURL *c, const char *name, size_t index)
{
	struct curl_header *hd;
	if (curl_easy_header(c, name, index, CURLH_HEADER, -1, &hd) != CURLHE_OK)
		return NULL;
	return hd->value;
}

static int64_t header_int(CURL *c, const char *name, int64_t dflt)
{
	const char *v = header(c, name, 0);
	return v && isdigit((unsigned char)v[0]) ? strtoll(v, NULL, 10) : dflt;
}

/* A header value into a fixed field; one that does not fit is no value
 * (never a cut one: "sha256:<ours>junk" must not read as our digest). */
static void copy_value(char *dst, size_t cap, const char *v)
{
	if (!v || strlen(v) >= cap)
		v = "";
	snprintf(dst, cap, "%s", v);
}

/* Every value of a repeated header joined with ", ", as one header would
 * list them, or NULL. */
static char *joined(CURL *c, const char *name)
{
	struct curl_header *hd;
	ts_buf b = TS_BUF_INIT;
	const char *v;
	if (curl_easy_header(c, name, 0, CURLH_HEADER, -1, &hd) != CURLHE_OK)
		return NULL;
	for (size_t i = 0, n = hd->amount; i < n; i++)
		if ((v = header(c, name, i)) != NULL)
			ts_buf_printf(&b, "%s%s", b.len ? ", " : "", v);
	return ts_buf_detach(&b);
}

static void take_headers(ts_http *h, ts_http_req *q)
{
	CURL *c = h->curl;
	struct curl_header *hd;
	const char *v;

	if ((v = header(c, "Location", 0)) != NULL)
		q->location = ts_strdup(v);
	q->link = joined(c, "Link");
	q->www_auth = joined(c, "WWW-Authenticate");
	copy_value(q->digest, sizeof(q->digest), header(c, "Docker-Content-Digest", 0));
	copy_value(q->ctype, sizeof(q->ctype), header(c, "Content-Type", 0));
	copy_value(q->range, sizeof(q->range), header(c, "Range", 0));
	q->clen = header_int(c, "Content-Length", -1);
	q->chunk_min = header_int(c, "OCI-Chunk-Min-Length", 0);
	q->retry_after = (long)header_int(c, "Retry-After", -1);
	if (h->on_warning &&
	    curl_easy_header(c, "Warning", 0, CURLH_HEADER, -1, &hd) == CURLHE_OK)
		for (size_t i = 0, n = hd->amount; i < n; i++)
			if ((v = header(c, "Warning", i)) != NULL)
				h->on_warning(h->warning_ud, v);
}

static void reset_answer(ts_http_req *q)
{
	q->status = 0;
	ts_buf_reset(&q->errbody);
	if (q->resp)
		ts_buf_reset(q->resp);
	free(q->location);
	free(q->link);
	free(q->www_auth);
	q->location = q->link = q->www_auth = NULL;
	q->digest[0] = q->ctype[0] = q->range[0] = '\0';
	q->clen = -1;
	q->chunk_min = 0;
	q->retry_after = -1;
	q->resp_too_big = false;
	q->body_off = 0;
	q->http_version = 0;
}

void ts_http_req_free(ts_http_req *q)
{
	ts_buf *resp = q->resp; /* the caller's: kept */
	q->resp = NULL;
	reset_answer(q);
	q->resp = resp;
	free(q->url);
	free(q->final_url);
	free(q->extra_header);
	ts_buf_free(&q->errbody);
	q->url = q->final_url = q->extra_header = NULL;
}

/* ---- one hop ---- */

static void cred_lock(ts_http *h)
{
	if (h->cred.lock)
		pthread_mutex_lock(h->cred.lock);
}

static void cred_unlock(ts_http *h)
{
	if (h->cred.lock)
		pthread_mutex_unlock(h->cred.lock);
}

/* The Authorization line for a request to `url`: only on the credentials'
 * own origin. NULL: none. */
static char *auth_line(ts_http *h, ts_http_req *q, const char *url, ts_error *err)
{
	ts_origin o;
	const char *v = NULL;
	char *line = NULL;
	if (!h->has_cred || !h->cred.header || q->tls_probe || !ts_origin_of(url, &o) ||
	    !ts_origin_same(&o, &h->cred.origin))
		return NULL;
	cred_lock(h);
	if (h->cred.header(h->cred.ud, &v, err) == TS_OK && v)
		line = ts_asprintf("Authorization: %s", v);
	if (h->cred.generation)
		q->auth_gen = h->cred.generation(h->cred.ud);
	cred_unlock(h);
	return line;
}

static struct curl_slist *add_header(struct curl_slist *l, const char *name, const char *value)
{
	char *line = ts_asprintf("%s: %s", name, value);
	l = curl_slist_append(l, line);
	free(line);
	return l;
}

static void setup(ts_http *h, ts_http_req *q, const char *url, const char *method, char *errbuf)
{
	CURL *c = h->curl;
	long t = h->opts->timeout_s > 0 ? h->opts->timeout_s : 60L;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "tagseal/" TAGSEAL_VERSION);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, t < 30 ? t : 30L);
	if (q->upload) {
		/* a blob may take long: it must keep moving instead */
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, UPLOAD_MIN_RATE);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, t);
	} else {
		curl_easy_setopt(c, CURLOPT_TIMEOUT, t);
	}
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	if (h->opts->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->opts->ca_file);
	if (q->tls_probe) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, q);
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
		if (q->stream) {
			curl_easy_setopt(c, CURLOPT_READFUNCTION, on_stream);
			curl_easy_setopt(c, CURLOPT_READDATA, q);
			curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->stream_len);
		} else {
			curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(c, CURLOPT_READDATA, q);
			curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
			curl_easy_setopt(c, CURLOPT_SEEKDATA, q);
			curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->body_len);
		}
	}
}

/* One request to `url`, no redirect followed. Returns libcurl's code;
 * q->auth_err is set when the credentials could not be had. */
static CURLcode hop(ts_http *h, ts_http_req *q, const char *url, const char *method,
		    char *errbuf)
{
	struct curl_slist *hdrs = NULL;
	ts_error aerr = TS_ERROR_INIT;
	char *authl;
	bool other;
	char shown[1024];
	ts_origin o;
	CURLcode cc;

	reset_answer(q);
	errbuf[0] = '\0';
	setup(h, q, url, method, errbuf);
	authl = auth_line(h, q, url, &aerr);
	if (aerr.code) {
		q->auth_err = aerr;
		return CURLE_ABORTED_BY_CALLBACK;
	}
	other = h->has_cred && !q->tls_probe &&
		(!ts_origin_of(url, &o) || !ts_origin_same(&o, &h->cred.origin));
	if (authl) {
		hdrs = curl_slist_append(hdrs, authl);
		OPENSSL_cleanse(authl, strlen(authl));
		free(authl);
	}
	if (q->accept)
		hdrs = add_header(hdrs, "Accept", q->accept);
	if (q->content_type)
		hdrs = add_header(hdrs, "Content-Type", q->content_type);
	if (q->extra_header)
		hdrs = curl_slist_append(hdrs, q->extra_header);
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (q->if_none_match)
		hdrs = curl_slist_append(hdrs, "If-None-Match: *");
	if (strcmp(method, "POST") == 0 && !q->content_type && !q->body_len && !q->stream)
		hdrs = curl_slist_append(hdrs, "Content-Type:");
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdrs);

	cc = curl_easy_perform(h->curl);
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &q->status);
	curl_easy_getinfo(h->curl, CURLINFO_HTTP_VERSION, &q->http_version);
	/* an error body cut at its cap still carries a usable status */
	if (cc == CURLE_WRITE_ERROR && !q->resp_too_big && q->status >= 100)
		cc = CURLE_OK;
	if (cc == CURLE_OK)
		take_headers(h, q);
	for (struct curl_slist *l = hdrs; l; l = l->next)
		if (strncasecmp(l->data, "Authorization:", 14) == 0)
			OPENSSL_cleanse(l->data, strlen(l->data));
	curl_slist_free_all(hdrs);

	ts_url_for_log(url, shown, sizeof(shown));
	if (cc == CURLE_OK)
		ts_http_log(h, "%s %s -> %ld%s%s", method, shown, q->status,
			    q->http_version == CURL_HTTP_VERSION_2_0 ? " (HTTP/2)" : "",
			    other ? " (another origin: sent without credentials)" : "");
	else
		ts_http_log(h, "%s %s: %s%s", method, shown, q->tls_probe ? "TLS probe: " : "",
			    errbuf[0] ? errbuf : curl_easy_strerror(cc));
	return cc;
}

/* ---- errors ---- */

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

bool ts_http_transient_status(long s)
{
	return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
}

static ts_code curl_error(ts_http *h, ts_http_req *q, const char *url, CURLcode cc,
			  const char *errbuf, const char *what, ts_error *err)
{
	char shown[1024], org[300];
	const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cc);
	ts_origin o;
	ts_url_for_log(url, shown, sizeof(shown));
	if (!ts_origin_of(url, &o))
		snprintf(org, sizeof(org), "(unknown)");
	else
		ts_origin_str(&o, org, sizeof(org));
	switch (cc) {
	case CURLE_PEER_FAILED_VERIFICATION:
		return ts_error_setc(err, TS_C_TLS,
				     "%s: TLS certificate of %s is not trusted (%s); pass its CA with "
				     "--ca-file FILE",
				     what, org, why);
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
		return ts_error_setc(err, TS_C_TLS,
				     "%s: TLS handshake with %s failed (%s); if the registry speaks plain "
				     "HTTP, pass --plain-http; if it uses a private CA, pass --ca-file FILE",
				     what, org, why);
	case CURLE_OPERATION_TIMEDOUT:
		return ts_error_setc(err, TS_C_NETWORK,
				     "%s: %s %s did not complete within the --timeout of %ld s (%s)",
				     what, q->method, shown,
				     h->opts->timeout_s > 0 ? h->opts->timeout_s : 60L, why);
	default:
		return ts_error_setc(err, TS_C_NETWORK, "%s: %s %s failed: %s", what, q->method,
				     shown, why);
	}
}

/* ---- requests ---- */

static bool is_redirect(long s)
{
	return s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
}

/* May a redirect lead from `from` to `to`? Never from HTTPS to plain HTTP,
 * except to loopback or with --plain-http (the same rule as registries). */
static bool redirect_allowed(ts_http *h, const ts_origin *from, const ts_origin *to)
{
	if (strcmp(from->scheme, "https") == 0 && strcmp(to->scheme, "http") == 0)
		return h->opts->plain_http || ts_host_is_loopback(to->host);
	return true;
}

/* One request, following redirects hop by hop when asked. TS_OK: an
 * answer came (q->status); *ccp is libcurl's code of the last hop. */
static ts_code run_hops(ts_http *h, ts_http_req *q, const char *what, CURLcode *ccp,
			char *errbuf, ts_error *err)
{
	char *url = ts_strdup(q->url);
	const char *method = q->method;
	ts_code rc = TS_OK;

	for (int hops = 0;; hops++) {
		ts_origin from, to;
		char *next;
		*ccp = hop(h, q, url, method, errbuf);
		if (q->auth_err.code) {
			*err = q->auth_err;
			rc = err->code;
			break;
		}
		if (*ccp != CURLE_OK || !q->follow || !is_redirect(q->status) || !q->location)
			break;
		next = ts_url_resolve(url, q->location, NULL);
		if (!next || !ts_origin_of(next, &to) || !ts_origin_of(url, &from)) {
			free(next);
			rc = ts_error_setc(err, TS_C_PROTOCOL,
					   "%s: the registry redirected to a URL that is not http(s)", what);
			break;
		}
		if (!redirect_allowed(h, &from, &to)) {
			char shown[300];
			ts_origin_str(&to, shown, sizeof(shown));
			free(next);
			rc = ts_error_setc(err, TS_C_ORIGIN,
					   "%s: the registry redirected from HTTPS to plain-HTTP %s; refused "
					   "(use --plain-http to allow it)",
					   what, shown);
			break;
		}
		if (hops + 1 >= MAX_HOPS) {
			free(next);
			rc = ts_error_setc(err, TS_C_PROTOCOL, "%s: more than %d redirects", what,
					   MAX_HOPS);
			break;
		}
		free(url);
		url = next;
		if (q->status == 303)
			method = "GET";
	}
	free(q->final_url);
	q->final_url = url;
	q->other_origin = false;
	if (ts_origin_of(url, &q->final_origin) && h->has_cred)
		q->other_origin = !ts_origin_same(&q->final_origin, &h->cred.origin);
	return rc;
}

ts_code ts_http_once(ts_http *h, ts_http_req *q, const char *what, ts_error *err)
{
	char errbuf[CURL_ERROR_SIZE];
	CURLcode cc = CURLE_OK;
	ts_code rc;
	q->h = h;
	rc = run_hops(h, q, what, &cc, errbuf, err);
	if (rc != TS_OK)
		return rc;
	if (q->resp_too_big)
		return ts_error_setc(err, TS_C_LIMIT, "%s: the registry's answer is larger than %zu bytes",
				     what, q->resp_max);
	q->transient = cc != CURLE_OK ? transient_curl(cc) : ts_http_transient_status(q->status);
	if (cc != CURLE_OK)
		return curl_error(h, q, q->final_url, cc, errbuf, what, err);
	return TS_OK;
}

ts_code ts_http_do(ts_http *h, ts_http_req *q, const char *what, ts_error *err)
{
	int attempt = 0, auth_tries = 0, caught_up = 0;
	bool replayable = !q->no_retry && !q->stream;

	for (;;) {
		ts_code rc = ts_http_once(h, q, what, err);
		if (rc != TS_OK) {
			if (replayable && q->transient && attempt < h->opts->retries &&
			    err->cause == TS_C_NETWORK) {
				ts_http_backoff(h, attempt++, -1);
				continue;
			}
			return rc;
		}
		if (q->status == 401 && !q->other_origin && h->has_cred && h->cred.challenge &&
		    auth_tries == 0) {
			cred_lock(h);
			if (h->cred.generation && h->cred.generation(h->cred.ud) != q->auth_gen &&
			    caught_up++ < 2) {
				/* another connection with these credentials answered a
				 * challenge after this request went: try with its answer */
				cred_unlock(h);
				if (q->stream)
					return TS_OK;
				continue;
			}
			auth_tries++;
			rc = h->cred.challenge(h->cred.ud, q->www_auth, err);
			cred_unlock(h);
			if (rc != TS_OK)
				return rc;
			if (q->stream)
				return TS_OK; /* a streamed body is gone: the caller starts over */
			continue;
		}
		if (ts_http_transient_status(q->status) && replayable && attempt < h->opts->retries) {
			ts_http_backoff(h, attempt++, q->retry_after);
			continue;
		}
		return TS_OK;
	}
}

void ts_http_backoff(ts_http *h, int attempt, long retry_after)
{
	long ms;
	if (retry_after >= 0) {
		ms = retry_after > 60 ? 60000 : retry_after * 1000;
	} else {
		ms = 200L << (attempt < 6 ? attempt : 6);
		ms += (long)(next_random(h) % (uint64_t)(ms / 2 + 1)); /* jitter */
	}
	ts_http_log(h, "retrying in %ld ms", ms);
	usleep((useconds_t)ms * 1000);
}
