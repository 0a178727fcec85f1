/*
 * registry.c - the OCI distribution API client for one repository: the
 * connection (ping, clones, auth wiring) and the endpoints for manifests,
 * tags and blob existence; uploads are in upload.c, HTTP in http.c.
 *
 * Every request goes through the transport (http.h) with the registry's
 * origin as the credentials' origin: the Authorization header from auth.c
 * goes to that origin only, whatever a redirect, a Location or a Link says.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry_int.h"
#include "tagseal/linkhdr.h"

#define MAX_MANIFEST_BODY (8 * 1024 * 1024)
#define MAX_TAGS_PAGE (8 * 1024 * 1024)
#define MAX_TAGS_BYTES (32 * 1024 * 1024) /* of all pages together */
#define MAX_TAGS_PAGES 1000
#define MAX_TAGS 1000000

static pthread_mutex_t *shared_lock(ts_registry *r)
{
	return r->parent ? &r->parent->lock : &r->lock;
}

static void note_warning(void *ud, const char *w)
{
	ts_registry *r = ud;
	ts_registry *o = r->parent ? r->parent : r;
	char clean[512];
	pthread_mutex_lock(&o->lock);
	for (size_t i = 0; i < o->n_warnings; i++)
		if (strcmp(o->warnings[i], w) == 0) {
			pthread_mutex_unlock(&o->lock);
			return;
		}
	if (o->n_warnings < 32) {
		o->warnings = ts_realloc(o->warnings, (o->n_warnings + 1) * sizeof(char *));
		o->warnings[o->n_warnings++] = ts_strdup(w);
		if (o->opts.warn) {
			char *line;
			ts_sanitize(clean, sizeof(clean), w);
			line = ts_asprintf("registry %s: %s", o->host, clean);
			o->opts.warn(o->opts.log_ud, line);
			free(line);
		}
	}
	pthread_mutex_unlock(&o->lock);
}

/* ---- errors ---- */

void ts_reg_error_codes(const ts_buf *body, char *out, size_t cap)
{
	json_t *root, *errors;
	size_t i;
	json_t *e;
	static const char ident[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_";

	out[0] = '\0';
	if (!body->len)
		return;
	root = json_loadb(body->ptr, body->len, 0, NULL);
	if (!root)
		return;
	errors = json_object_get(root, "errors");
	json_array_foreach(errors, i, e) {
		const char *code = json_string_value(json_object_get(e, "code"));
		/* only plain identifiers: nothing else of a body is echoed */
		if (code && *code && strspn(code, ident) == strlen(code) &&
		    strlen(out) + strlen(code) + 2 < cap) {
			if (out[0])
				strcat(out, ",");
			strcat(out, code);
		}
	}
	json_decref(root);
}

bool ts_reg_has_code(const char *codes, const char *code)
{
	size_t n = strlen(code);
	for (const char *p = codes; (p = strstr(p, code)) != NULL; p += n)
		if ((p == codes || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
			return true;
	return false;
}

static ts_cause status_cause(long s)
{
	return s == 401 ? TS_C_UNAUTHORIZED : s == 403 ? TS_C_DENIED : s == 404 ? TS_C_NOT_FOUND
	       : TS_C_REGISTRY;
}

static bool tls_port(ts_registry *r, const char *what, ts_error *err);

ts_code ts_reg_http_error(ts_registry *r, const ts_http_req *q, const char *what, ts_error *err)
{
	char codes[256], path[1024], org[300];
	ts_cause cause = status_cause(q->status);

	ts_reg_error_codes(&q->errbody, codes, sizeof(codes));
	ts_url_path_for_log(q->final_url ? q->final_url : q->url, path, sizeof(path));
	if (q->other_origin) {
		/* an answer from where a redirect or Location led: not the
		 * registry's, and never answered with its credentials */
		ts_origin_str(&q->final_origin, org, sizeof(org));
		ts_error_setc(err, cause,
			      "%s: %s answered HTTP %ld%s%s to %s %s; the registry %s sent the request "
			      "there, and its credentials are not sent to another origin",
			      what, org, q->status, codes[0] ? " " : "", codes, q->method, path, r->host);
	} else if (q->status == 401 || q->status == 403) {
		const char *src;
		pthread_mutex_lock(shared_lock(r));
		src = ts_auth_source(r->auth);
		pthread_mutex_unlock(shared_lock(r));
		if (!src)
			ts_error_setc(err, cause,
				      "%s: registry %s answered HTTP %ld%s%s to %s %s: no credentials were "
				      "found for %s; give --username with --password-stdin, set "
				      "TAGSEAL_USERNAME/TAGSEAL_PASSWORD, or run 'docker login %s'",
				      what, r->host, q->status, codes[0] ? " " : "", codes, q->method, path,
				      r->host, r->host);
		else
			ts_error_setc(err, cause,
				      "%s: registry %s answered HTTP %ld%s%s to %s %s with the credentials "
				      "from %s: check them, and that the account may %s %s",
				      what, r->host, q->status, codes[0] ? " " : "", codes, q->method, path,
				      src, r->opts.read_only ? "pull from" : "push to", r->path);
	} else if (q->status == 400 && r->opts.no_ping && !codes[0] && tls_port(r, what, err)) {
		/* no ping told it before: plain HTTP to a TLS port */
	} else {
		ts_error_setc(err, cause, "%s: registry %s answered HTTP %ld%s%s to %s %s", what, r->host,
			      q->status, codes[0] ? " " : "", codes, q->method, path);
	}
	err->http_status = q->status;
	return err->code;
}

char *ts_reg_url(ts_registry *r, const char *fmt, ...)
{
	ts_buf b = TS_BUF_INIT;
	va_list ap;
	ts_buf_printf(&b, "%s://%s/v2/%s/", r->scheme, r->api_host, r->path);
	va_start(ap, fmt);
	ts_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return ts_buf_detach(&b);
}

/* ---- open ---- */

static ts_code cred_header(void *ud, const char **value, ts_error *err)
{
	return ts_auth_header(ud, value, err);
}

static ts_code cred_challenge(void *ud, const char *www_authenticate, ts_error *err)
{
	return ts_auth_challenge(ud, www_authenticate, err);
}

static unsigned long cred_generation(void *ud)
{
	return ts_auth_generation(ud);
}

static ts_code new_http(ts_registry *r, ts_error *err)
{
	ts_http_cred cred = { r->origin, cred_header, cred_challenge, r->auth, shared_lock(r),
			      cred_generation };
	ts_code rc = ts_http_new(&r->opts, &cred, &r->http, err);
	if (rc == TS_OK)
		ts_http_set_warning_hook(r->http, note_warning, r);
	return rc;
}

static void set_origin(ts_registry *r)
{
	char *url = ts_asprintf("%s://%s/", r->scheme, r->api_host);
	ts_origin_of(url, &r->origin);
	free(url);
	if (r->http)
		ts_http_set_origin(r->http, &r->origin);
}

/* Does the registry's port answer a TLS handshake? (No certificate check,
 * nothing sent: only to explain a failure.) */
static bool speaks_tls(ts_registry *r)
{
	ts_http_req q = { 0 };
	ts_error perr = TS_ERROR_INIT;
	bool tls;
	q.method = "GET";
	q.url = ts_asprintf("https://%s/v2/", r->api_host);
	q.tls_probe = true;
	tls = ts_http_once(r->http, &q, "asking whether the registry speaks TLS", &perr) == TS_OK;
	ts_http_req_free(&q);
	return tls;
}

/* A 400 to plain HTTP: is it a TLS port? The server's 400 says nothing
 * useful; the error says what it is. */
static bool tls_port(ts_registry *r, const char *what, ts_error *err)
{
	if (strcmp(r->scheme, "http") != 0 || !speaks_tls(r))
		return false;
	ts_error_setc(err, TS_C_TLS,
		      "%s: %s speaks HTTPS on that port, not plain HTTP: drop --plain-http (and give "
		      "--ca-file FILE if its CA is private)",
		      what, r->host);
	return true;
}

static ts_code ping(ts_registry *r, ts_error *err)
{
	ts_http_req q = { 0 };
	ts_code rc;

	q.method = "GET";
	if (strcmp(r->scheme, "https") == 0 && ts_host_is_loopback(r->host)) {
		/* A loopback registry may speak plain HTTP: allowed without
		 * asking. Whether it speaks TLS is asked first without loading
		 * the CA bundle (which costs more than the whole question);
		 * a TLS registry then gets the verified ping below. */
		ts_error perr = TS_ERROR_INIT;
		q.url = ts_asprintf("%s://%s/v2/", r->scheme, r->api_host);
		q.tls_probe = true;
		if (ts_http_once(r->http, &q, "asking whether the registry speaks TLS", &perr) != TS_OK &&
		    perr.cause == TS_C_TLS) {
			free(r->scheme);
			r->scheme = ts_strdup("http");
			set_origin(r);
			ts_http_log(r->http, "%s speaks plain HTTP (loopback: allowed)", r->host);
		}
		ts_http_req_free(&q);
		q.tls_probe = false;
	}
	q.url = ts_asprintf("%s://%s/v2/", r->scheme, r->api_host);
	rc = ts_http_once(r->http, &q, "connecting to the registry", err);
	for (int attempt = 0; rc != TS_OK && q.transient && err->cause == TS_C_NETWORK &&
			      attempt < r->opts.retries;
	     attempt++) {
		ts_http_backoff(r->http, attempt, -1);
		rc = ts_http_once(r->http, &q, "connecting to the registry", err);
	}
	if (rc == TS_OK && q.status == 400 && tls_port(r, "connecting to the registry", err))
		rc = err->code;
	ts_http_req_free(&q);
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
	set_origin(r);
	rc = ts_auth_new(r->host, r->path, &r->opts, strcmp(r->scheme, "https") == 0, &r->auth, err);
	if (rc == TS_OK)
		rc = new_http(r, err);
	/* the ping also tells a loopback port's plain HTTP from TLS */
	if (rc == TS_OK && (!opts->no_ping || (strcmp(r->scheme, "https") == 0 && ts_host_is_loopback(r->host))))
		rc = ping(r, err);
	if (rc == TS_OK && strcmp(r->scheme, "http") == 0 && !opts->plain_http)
		ts_auth_set_secure(r->auth, 0); /* ping found plain HTTP on a loopback host */
	if (rc == TS_OK && opts->read_only)
		ts_auth_set_actions(r->auth, "pull");
	if (rc != TS_OK) {
		ts_registry_free(r);
		return rc;
	}
	ts_http_log(r->http, "registry %s reached over %s", r->host, r->scheme);
	*out = r;
	return TS_OK;
}

int64_t ts_reg_piece(const ts_registry *r)
{
	return atomic_load(&(r->parent ? r->parent : r)->piece);
}

void ts_reg_set_piece(ts_registry *r, int64_t piece)
{
	atomic_store(&(r->parent ? r->parent : r)->piece, piece);
}

ts_code ts_registry_clone(ts_registry *r, ts_registry **out, ts_error *err)
{
	ts_registry *c = ts_calloc(1, sizeof(*c));
	ts_code rc;
	pthread_mutex_init(&c->lock, NULL);
	c->parent = r->parent ? r->parent : r;
	c->opts = r->opts;
	c->host = ts_strdup(r->host);
	c->api_host = ts_strdup(r->api_host);
	c->path = ts_strdup(r->path);
	c->scheme = ts_strdup(r->scheme);
	c->origin = r->origin;
	c->auth = r->auth;
	rc = new_http(c, err);
	if (rc != TS_OK) {
		ts_registry_free(c);
		return rc;
	}
	*out = c;
	return TS_OK;
}

void ts_registry_free(ts_registry *r)
{
	if (!r)
		return;
	if (r->parent) {
		/* a clone: its counts go to the parent; auth is the parent's */
		if (r->http)
			ts_http_add_bytes_sent(r->parent->http, ts_http_bytes_sent(r->http));
		r->auth = NULL;
	}
	ts_http_free(r->http);
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
	return ts_http_bytes_sent(r->http);
}

/* ---- manifests ---- */

static const char *MANIFEST_ACCEPT =
	"application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
	"application/vnd.docker.distribution.manifest.v2+json, "
	"application/vnd.docker.distribution.manifest.list.v2+json";

static void fill_info(const ts_http_req *q, ts_manifest_info *out)
{
	out->exists = true;
	/* a Docker-Content-Digest that is not a digest is no answer (and is
	 * never shown): the digest is then computed from the body */
	if (ts_digest_valid(q->digest))
		snprintf(out->digest, sizeof(out->digest), "%s", q->digest);
	ts_sanitize(out->media_type, sizeof(out->media_type), q->ctype);
	out->media_type[strcspn(out->media_type, "; ")] = '\0';
	out->size = q->clen;
}

static ts_code manifest_fetch(ts_registry *r, const char *method, const char *reference,
			      ts_buf *body, ts_manifest_info *out, ts_error *err)
{
	ts_http_req q = { 0 };
	ts_code rc;
	char *what = ts_asprintf("%s:%s", r->path, reference);

	memset(out, 0, sizeof(*out));
	q.method = method;
	q.url = ts_reg_url(r, "manifests/%s", reference);
	q.accept = MANIFEST_ACCEPT;
	q.follow = true;
	q.resp = body;
	q.resp_max = MAX_MANIFEST_BODY;
	rc = ts_http_do(r->http, &q, what, err);
	if (rc == TS_OK) {
		if (q.status == 404 && !q.other_origin) {
			out->exists = false;
		} else if (q.status >= 200 && q.status < 300) {
			fill_info(&q, out);
			if (body) {
				/* the bytes are the truth: the header, when sent, must
				 * agree, and a manifest asked for by digest must be it */
				char ours[TS_DIGEST_STRLEN];
				ts_sha256_digest(body->ptr ? body->ptr : "", body->len, ours);
				if (out->digest[0] && strcmp(out->digest, ours) != 0)
					rc = ts_error_setc(err, TS_C_PROTOCOL,
							   "%s: registry %s reports digest %s for a manifest whose "
							   "bytes have %s",
							   what, r->host, out->digest, ours);
				memcpy(out->digest, ours, TS_DIGEST_STRLEN);
				out->size = (int64_t)body->len;
			}
			if (rc == TS_OK && ts_digest_valid(reference) && out->digest[0] &&
			    strcmp(out->digest, reference) != 0)
				rc = ts_error_setc(err, TS_C_PROTOCOL,
						   "%s: registry %s answered with another manifest (%s)", what,
						   r->host, out->digest);
		} else {
			rc = ts_reg_http_error(r, &q, what, err);
		}
	}
	free(what);
	ts_http_req_free(&q);
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
	if (rc != TS_OK && err->http_status == 403 && !ts_digest_valid(reference)) {
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
	ts_http_req q = { 0 };
	ts_code rc;
	char ours[TS_DIGEST_STRLEN];
	char *what = ts_asprintf("manifest %s:%s", r->path, reference);
	bool by_tag = !ts_digest_valid(reference);

	ts_sha256_digest(data, len, ours);
	q.method = "PUT";
	q.url = ts_reg_url(r, "manifests/%s", reference);
	q.content_type = media_type;
	q.body = data;
	q.body_len = len;
	q.if_none_match = create_only;
	rc = ts_http_do(r->http, &q, what, err);
	for (int again = 0; rc == TS_OK && q.status == 400 && again < 2; again++) {
		/* docker-registry links a blob into a repository without locking:
		 * a concurrent upload of the same blob can make a manifest briefly
		 * name an "unknown" blob. Ask again after a pause. */
		char codes[256];
		ts_reg_error_codes(&q.errbody, codes, sizeof(codes));
		if (!ts_reg_has_code(codes, "MANIFEST_BLOB_UNKNOWN"))
			break;
		ts_http_backoff(r->http, again, -1);
		rc = ts_http_do(r->http, &q, what, err);
	}
	if (rc == TS_OK && (q.status < 200 || q.status >= 300)) {
		char codes[256];
		ts_reg_error_codes(&q.errbody, codes, sizeof(codes));
		/* A registry's own immutability refusal, by status and code. */
		if (by_tag && (q.status == 409 || q.status == 412 ||
			       (q.status == 400 && ts_reg_has_code(codes, "TAG_INVALID")) ||
			       (q.status == 403 && ts_reg_has_code(codes, "DENIED")) ||
			       ts_reg_has_code(codes, "TAG_IMMUTABLE") || ts_reg_has_code(codes, "PRECONDITION"))) {
			rc = ts_error_setc(err, TS_C_IMMUTABLE,
					   "tag '%s' refused by registry %s as immutable (HTTP %ld%s%s)",
					   reference, r->host, q.status, codes[0] ? " " : "", codes);
		} else {
			rc = ts_reg_http_error(r, &q, what, err);
		}
	}
	if (rc == TS_OK) {
		if (q.digest[0] && strcmp(q.digest, ours) != 0)
			rc = ts_error_setc(err, TS_C_PROTOCOL,
					   "%s: registry %s reports digest %s, but the bytes sent have %s",
					   what, r->host, ts_digest_valid(q.digest) ? q.digest : "(not a digest)",
					   ours);
		else if (digest_out)
			memcpy(digest_out, ours, TS_DIGEST_STRLEN);
	}
	free(what);
	ts_http_req_free(&q);
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

ts_code ts_reg_next_page(ts_registry *r, const ts_http_req *q, const char *what, char **next,
			 ts_error *err)
{
	char *target = q->link ? ts_link_find(q->link, "next") : NULL;
	ts_origin o;
	*next = NULL;
	if (!target)
		return TS_OK;
	*next = ts_url_resolve(q->final_url, target, NULL);
	free(target);
	if (!*next || !ts_origin_of(*next, &o))
		return ts_error_setc(err, TS_C_PROTOCOL,
				     "%s: registry %s sent a Link to a next page that is not an http(s) "
				     "URL",
				     what, r->host);
	if (!ts_origin_same(&o, &r->origin)) {
		char shown[300];
		ts_origin_str(&o, shown, sizeof(shown));
		free(*next);
		*next = NULL;
		return ts_error_setc(err, TS_C_ORIGIN,
				     "%s: registry %s links its next page to another origin, %s; "
				     "refused (the list must come from the registry itself)",
				     what, r->host, shown);
	}
	return TS_OK;
}

/* One page's tags appended to the list. */
static ts_code take_page(ts_registry *r, const ts_buf *body, char ***list, size_t *n,
			 ts_error *err)
{
	json_t *root = json_loadb(ts_buf_cstr(body), body->len, 0, NULL);
	json_t *arr = json_object_get(root, "tags"), *t;
	size_t i;
	ts_code rc = TS_OK;

	if (!root || (arr && !json_is_array(arr) && !json_is_null(arr))) {
		json_decref(root);
		return ts_error_setc(err, TS_C_PROTOCOL,
				     "listing tags: registry %s sent an invalid tag list", r->host);
	}
	if (*n + json_array_size(arr) > MAX_TAGS) {
		json_decref(root);
		return ts_error_setc(err, TS_C_LIMIT,
				     "listing tags: registry %s lists more than %d tags for %s", r->host,
				     MAX_TAGS, r->path);
	}
	*list = ts_realloc(*list, (*n + json_array_size(arr) + 1) * sizeof(char *));
	json_array_foreach(arr, i, t)
		if (json_is_string(t))
			(*list)[(*n)++] = ts_strdup(json_string_value(t));
	json_decref(root);
	return rc;
}

ts_code ts_registry_tags_list(ts_registry *r, char ***tags, size_t *count, ts_error *err)
{
	char **list = NULL, **seen = NULL;
	size_t n = 0, pages = 0;
	int64_t bytes = 0;
	char *url = ts_reg_url(r, "tags/list?n=1000");
	ts_code rc = TS_OK;

	while (url && rc == TS_OK) {
		ts_http_req q = { 0 };
		ts_buf body = TS_BUF_INIT;

		/* every page bounded, and the pages together: a registry that
		 * links back to a page, or sends pages without end, stops here */
		for (size_t i = 0; i < pages; i++)
			if (strcmp(seen[i], url) == 0)
				rc = ts_error_setc(err, TS_C_PROTOCOL,
						   "listing tags: registry %s links back to a page already "
						   "read",
						   r->host);
		if (rc == TS_OK && pages >= MAX_TAGS_PAGES)
			rc = ts_error_setc(err, TS_C_LIMIT,
					   "listing tags: registry %s sent more than %d pages for %s",
					   r->host, MAX_TAGS_PAGES, r->path);
		if (rc != TS_OK) {
			free(url);
			break;
		}
		seen = ts_realloc(seen, (pages + 1) * sizeof(char *));
		seen[pages++] = url;
		q.method = "GET";
		q.url = ts_strdup(url);
		q.follow = true;
		q.resp = &body;
		q.resp_max = MAX_TAGS_PAGE;
		rc = ts_http_do(r->http, &q, "listing tags", err);
		url = NULL;
		if (rc == TS_OK && q.status == 404 && pages == 1 && !q.other_origin) {
			/* the repository does not exist yet: no tags (a later page
			 * that is missing is an error, not the end of the list) */
		} else if (rc == TS_OK && q.status != 200) {
			rc = ts_reg_http_error(r, &q, "listing tags", err);
		} else if (rc == TS_OK) {
			bytes += (int64_t)body.len;
			if (bytes > MAX_TAGS_BYTES)
				rc = ts_error_setc(err, TS_C_LIMIT,
						   "listing tags: registry %s sent more than %d MiB of tag "
						   "lists for %s",
						   r->host, MAX_TAGS_BYTES >> 20, r->path);
			if (rc == TS_OK)
				rc = take_page(r, &body, &list, &n, err);
			if (rc == TS_OK)
				rc = ts_reg_next_page(r, &q, "listing tags", &url, err);
		}
		ts_buf_free(&body);
		ts_http_req_free(&q);
	}
	for (size_t i = 0; i < pages; i++)
		free(seen[i]);
	free(seen);
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

ts_code ts_registry_blob_exists(ts_registry *r, const char *digest, bool *exists, ts_error *err)
{
	ts_http_req q = { 0 };
	ts_code rc;
	char *what = ts_asprintf("blob %s", digest);

	q.method = "HEAD";
	q.url = ts_reg_url(r, "blobs/%s", digest);
	q.follow = true;
	rc = ts_http_do(r->http, &q, what, err);
	if (rc == TS_OK) {
		if (q.status == 200)
			*exists = true;
		else if (q.status == 404)
			*exists = false;
		else
			rc = ts_reg_http_error(r, &q, what, err);
	}
	free(what);
	ts_http_req_free(&q);
	return rc;
}

ts_code ts_registry_blob_mount(ts_registry *r, const char *digest, const char *from_path,
			       bool *mounted, ts_error *err)
{
	ts_http_req q = { 0 };
	ts_code rc;
	char *what = ts_asprintf("mounting blob %s from %s", digest, from_path);

	*mounted = false;
	pthread_mutex_lock(shared_lock(r));
	ts_auth_add_scope(r->auth, from_path, "pull");
	pthread_mutex_unlock(shared_lock(r));
	q.method = "POST";
	q.url = ts_reg_url(r, "blobs/uploads/?mount=%s&from=%s", digest, from_path);
	rc = ts_http_do(r->http, &q, what, err);
	if (rc == TS_OK && q.status == 201) {
		*mounted = true;
	} else if (rc == TS_OK && q.status == 202 && q.location) {
		/* the registry would rather have the bytes: drop its session */
		char *loc = ts_url_resolve(q.final_url, q.location, NULL);
		if (loc)
			ts_reg_upload_cancel(r, loc);
		free(loc);
	} else if (rc == TS_OK && q.status >= 400 && q.status != 401 && q.status != 403 &&
		   !q.other_origin) {
		/* not mountable (unknown source, unsupported): upload instead */
	} else if (rc == TS_OK && q.status != 202) {
		rc = ts_reg_http_error(r, &q, what, err);
	}
	ts_http_log(r->http, "blob %s %s from %s", digest, *mounted ? "mounted" : "not mounted", from_path);
	free(what);
	ts_http_req_free(&q);
	return rc;
}

