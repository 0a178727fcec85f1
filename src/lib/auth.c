/*
 * auth.c - answering a registry's 401: Basic credentials, or a Bearer token
 * from the challenge's realm (GET with Basic credentials, or the OAuth2 POST
 * form with an identity token), kept fresh until it expires.
 *
 * The Authorization value and every secret stay inside struct ts_auth and
 * are wiped when freed. Messages name the host, the realm's host, the HTTP
 * status and the error code only.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tagseal/auth.h"
#include "tagseal/buf.h"
#include "tagseal/creds.h"
#include "tagseal/http.h"
#include "tagseal/ref.h"

#define MAX_TOKEN_RESPONSE (1u << 20)
#define DEFAULT_EXPIRES_IN 60 /* distribution token spec */
#define MAX_EXPIRES_IN 86400  /* refresh at least daily, whatever is claimed */
#define HINT "check --username/--password-stdin, TAGSEAL_USERNAME/TAGSEAL_PASSWORD or 'docker login %s'"

typedef struct scope {
	char *path;
	char *actions;
} scope;

enum mode { MODE_NONE, MODE_BASIC, MODE_BEARER };

struct ts_auth {
	unsigned long generation; /* set_header() counts */
	char *host, *path;
	ts_registry_opts opts;
	int secure;
	int creds_loaded;
	ts_creds creds;
	char *actions;
	scope *extra;
	size_t n_extra;
	enum mode mode;
	char *header; /* the Authorization value: secret */
	/* the last Bearer challenge */
	char *realm, *service, *chal_scope;
	long long refresh_at_ms;
	int stale; /* scopes changed since the token was fetched */
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void logf_(const ts_auth *a, const char *fmt, ...) TS_PRINTF(2, 3);
static void logf_(const ts_auth *a, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	if (!a->opts.log || a->opts.verbose <= 0)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ts_sanitize(line, sizeof(line), line);
	a->opts.log(a->opts.log_ud, line);
}

static void set_header(ts_auth *a, char *value)
{
	if (a->header) {
		OPENSSL_cleanse(a->header, strlen(a->header));
		free(a->header);
	}
	a->header = value;
	a->generation++;
}

unsigned long ts_auth_generation(const ts_auth *a)
{
	return a->generation;
}

ts_code ts_auth_new(const char *host, const char *path, const ts_registry_opts *opts,
		    int secure, ts_auth **out, ts_error *err)
{
	ts_auth *a = ts_calloc(1, sizeof(*a));
	(void)err;
	a->host = ts_strdup(host);
	a->path = ts_strdup(path);
	if (opts)
		a->opts = *opts;
	a->secure = secure;
	a->actions = ts_strdup("pull,push");
	*out = a;
	return TS_OK;
}

void ts_auth_free(ts_auth *a)
{
	if (!a)
		return;
	set_header(a, NULL);
	ts_creds_free(&a->creds);
	for (size_t i = 0; i < a->n_extra; i++) {
		free(a->extra[i].path);
		free(a->extra[i].actions);
	}
	free(a->extra);
	free(a->actions);
	free(a->realm);
	free(a->service);
	free(a->chal_scope);
	free(a->host);
	free(a->path);
	free(a);
}

void ts_auth_add_scope(ts_auth *a, const char *path, const char *actions)
{
	for (size_t i = 0; i < a->n_extra; i++)
		if (strcmp(a->extra[i].path, path) == 0 && strcmp(a->extra[i].actions, actions) == 0)
			return;
	a->extra = ts_realloc(a->extra, (a->n_extra + 1) * sizeof(*a->extra));
	a->extra[a->n_extra].path = ts_strdup(path);
	a->extra[a->n_extra].actions = ts_strdup(actions);
	a->n_extra++;
	a->stale = 1;
}

void ts_auth_set_secure(ts_auth *a, int secure)
{
	a->secure = secure;
}

void ts_auth_set_actions(ts_auth *a, const char *actions)
{
	if (strcmp(a->actions, actions) == 0)
		return;
	free(a->actions);
	a->actions = ts_strdup(actions);
	a->stale = 1;
}

const char *ts_auth_source(const ts_auth *a)
{
	return a->mode != MODE_NONE && ts_creds_found(&a->creds) ? a->creds.source : NULL;
}

static ts_code load_creds(ts_auth *a, ts_error *err)
{
	ts_code rc;
	if (a->creds_loaded)
		return TS_OK;
	rc = ts_creds_lookup(a->host, &a->opts, &a->creds, err);
	if (rc != TS_OK)
		return rc;
	a->creds_loaded = 1;
	if (ts_creds_found(&a->creds))
		logf_(a, "credentials for %s from %s", a->host, a->creds.source);
	else
		logf_(a, "no credentials for %s: anonymous", a->host);
	return TS_OK;
}

/* May credentials go to `host` over a connection that is (not) TLS? */
static int may_send(const ts_auth *a, int tls, const char *host)
{
	return tls || a->opts.plain_http || ts_host_is_loopback(host);
}

static char *basic_value(const char *user, const char *pass)
{
	char *plain = ts_asprintf("%s:%s", user, pass ? pass : "");
	size_t n = strlen(plain);
	char *out = ts_malloc(7 + 4 * ((n + 2) / 3) + 1);
	memcpy(out, "Basic ", 6);
	EVP_EncodeBlock((unsigned char *)out + 6, (const unsigned char *)plain, (int)n);
	OPENSSL_cleanse(plain, n);
	free(plain);
	return out;
}

/* ---- Basic ---- */

static ts_code no_creds_error(ts_auth *a, const char *what, ts_error *err)
{
	return ts_error_set(err, TS_EREGISTRY,
			    "registry %s requires %s (HTTP 401) and none were found; use --username "
			    "with --password-stdin, TAGSEAL_USERNAME/TAGSEAL_PASSWORD or 'docker login %s'",
			    a->host, what, a->host);
}

static ts_code answer_basic(ts_auth *a, ts_error *err)
{
	if (a->mode == MODE_BASIC)
		return ts_error_set(err, TS_EREGISTRY,
				    "authentication to %s failed: HTTP 401 UNAUTHORIZED with the "
				    "credentials from %s; " HINT,
				    a->host, a->creds.source, a->host);
	if (a->creds.identity_token && !a->creds.password)
		return ts_error_set(err, TS_EREGISTRY,
				    "registry %s asks for a username and password (Basic), but the "
				    "credentials from %s hold only an identity token; " HINT,
				    a->host, a->creds.source, a->host);
	if (!a->creds.username || !a->creds.password)
		return no_creds_error(a, "a username and password", err);
	if (!may_send(a, a->secure, a->host))
		return ts_error_set(err, TS_EREGISTRY,
				    "registry %s asks for a password over plain HTTP; refusing to send "
				    "it in clear text (use HTTPS, or --plain-http to allow it)",
				    a->host);
	set_header(a, basic_value(a->creds.username, a->creds.password));
	a->mode = MODE_BASIC;
	logf_(a, "answering %s's Basic challenge with credentials from %s", a->host,
	      a->creds.source);
	return TS_OK;
}

/* ---- Bearer: the token request ---- */

/* What one token request brought back. */
typedef struct token_resp {
	long status;
	ts_buf body;
	ts_code rc;   /* a transport failure, in err */
	ts_error err;
} token_resp;

/* The realm's origin (for messages and the plain-HTTP rule). Returns 0 for
 * a URL that is neither http nor https. */
static int realm_parts(const char *realm, char *host, size_t cap, int *tls, ts_origin *o)
{
	host[0] = '\0';
	if (!ts_origin_of(realm, o))
		return 0;
	*tls = strcmp(o->scheme, "https") == 0;
	if (o->port == (*tls ? 443 : 80))
		snprintf(host, cap, "%s", o->host);
	else
		snprintf(host, cap, "%s:%ld", o->host, o->port);
	return 1;
}

/* Is the challenge's scope on a repository we already ask for? (We ask
 * for at least pull there; a registry naming another resource, e.g.
 * registry:catalog:*, gets it added.) */
static int scope_covered(const ts_auth *a, const char *sc)
{
	const char *p = sc, *last;
	size_t n;
	if (strncmp(p, "repository:", 11) != 0 || strchr(sc, ' '))
		return 0;
	p += 11;
	last = strrchr(p, ':');
	if (!last)
		return 0;
	n = (size_t)(last - p);
	if (strlen(a->path) == n && strncmp(a->path, p, n) == 0)
		return 1;
	for (size_t i = 0; i < a->n_extra; i++)
		if (strlen(a->extra[i].path) == n && strncmp(a->extra[i].path, p, n) == 0)
			return 1;
	return 0;
}

static void add_escaped(ts_buf *out, const char *sep, const char *name, const char *value)
{
	char *e = curl_easy_escape(NULL, value, 0);
	ts_buf_printf(out, "%s%s=%s", sep, name, e);
	OPENSSL_cleanse(e, strlen(e));
	curl_free(e);
}

static void add_scopes(const ts_auth *a, ts_buf *out, int form)
{
	char *own = ts_asprintf("repository:%s:%s", a->path, a->actions);
	size_t n = a->n_extra + 2;
	char **list = ts_calloc(n, sizeof(*list));
	size_t k = 0;

	list[k++] = own;
	for (size_t i = 0; i < a->n_extra; i++)
		list[k++] = ts_asprintf("repository:%s:%s", a->extra[i].path, a->extra[i].actions);
	if (a->chal_scope && !scope_covered(a, a->chal_scope))
		list[k++] = ts_strdup(a->chal_scope);
	if (form) { /* OAuth2: one space-separated scope parameter */
		ts_buf all = TS_BUF_INIT;
		for (size_t i = 0; i < k; i++)
			ts_buf_printf(&all, "%s%s", i ? " " : "", list[i]);
		add_escaped(out, "&", "scope", ts_buf_cstr(&all));
		ts_buf_free(&all);
	} else {
		for (size_t i = 0; i < k; i++)
			add_escaped(out, "&", "scope", list[i]);
	}
	for (size_t i = 0; i < k; i++)
		free(list[i]);
	free(list);
}

static void add_param(ts_buf *out, const char *name, const char *value)
{
	add_escaped(out, out->len ? "&" : "", name, value);
}

/* The Basic value the token GET carries, for the transport, which attaches
 * it only on the realm's own origin (never where a redirect leads). */
static ts_code realm_header(void *ud, const char **value, ts_error *err)
{
	(void)err;
	*value = ud;
	return TS_OK;
}

/* One token request through the transport: credentials (the Basic value,
 * or NULL) bound to the realm's origin. */
static void token_request(const ts_auth *a, const ts_origin *realm, const char *basic,
			  ts_http_req *q, token_resp *r)
{
	ts_http_cred cred = { *realm, realm_header, NULL, (void *)basic, NULL, NULL };
	ts_http *h = NULL;

	r->rc = ts_http_new(&a->opts, basic ? &cred : NULL, &h, &r->err);
	q->resp = &r->body;
	q->resp_max = MAX_TOKEN_RESPONSE;
	if (r->rc == TS_OK)
		r->rc = ts_http_do(h, q, "fetching a token", &r->err);
	r->status = q->status;
	if (q->errbody.len) /* an error answer's body: its code is read */
		ts_buf_put(&r->body, q->errbody.ptr, q->errbody.len);
	ts_http_req_free(q);
	ts_http_free(h);
}

/* GET realm?service=&scope=..., with Basic credentials when we have them. */
static void token_get(const ts_auth *a, const ts_origin *realm, int send_creds, token_resp *r)
{
	ts_http_req q = { 0 };
	ts_buf url = TS_BUF_INIT;
	char *basic = NULL;

	ts_buf_puts(&url, a->realm);
	ts_buf_puts(&url, strchr(a->realm, '?') ? "&" : "?");
	if (a->service)
		add_escaped(&url, "", "service", a->service);
	add_scopes(a, &url, 0);
	if (send_creds && a->creds.username && (a->creds.password || a->creds.identity_token))
		basic = basic_value(a->creds.username,
				    a->creds.password ? a->creds.password : a->creds.identity_token);
	q.method = "GET";
	q.url = ts_buf_detach(&url);
	q.follow = true;
	token_request(a, realm, basic, &q, r);
	if (basic) {
		OPENSSL_cleanse(basic, strlen(basic));
		free(basic);
	}
}

/* The OAuth2 POST form: grant_type=refresh_token (identity token) or
 * password. Never follows a redirect: the body holds the secret. */
static void token_post(const ts_auth *a, const ts_origin *realm, token_resp *r)
{
	ts_http_req q = { 0 };
	ts_buf form = TS_BUF_SECRET_INIT;

	if (a->creds.identity_token) {
		add_param(&form, "grant_type", "refresh_token");
		add_param(&form, "refresh_token", a->creds.identity_token);
	} else {
		add_param(&form, "grant_type", "password");
		add_param(&form, "username", a->creds.username);
		add_param(&form, "password", a->creds.password);
	}
	add_param(&form, "client_id", "tagseal");
	if (a->service)
		add_param(&form, "service", a->service);
	add_scopes(a, &form, 1);
	q.method = "POST";
	q.url = ts_strdup(a->realm);
	q.content_type = "application/x-www-form-urlencoded";
	q.body = form.ptr;
	q.body_len = form.len;
	token_request(a, realm, NULL, &q, r);
	logf_(a, "token: POST (%s grant) -> %ld",
	      a->creds.identity_token ? "refresh_token" : "password", r->status);
	OPENSSL_cleanse(form.ptr, form.len);
	ts_buf_free(&form);
}

static void resp_clear(token_resp *r)
{
	ts_buf_free(&r->body); /* a secret buffer: wiped */
	memset(r, 0, sizeof(*r));
	r->body.secret = true; /* it may be used again */
}

/* The error code of a token service's answer: distribution's
 * {"errors":[{"code":"UNAUTHORIZED"}]} or OAuth2's {"error":"invalid_grant"}.
 * Only a plain identifier is kept, so nothing else of the body is echoed. */
static void error_code(const ts_buf *body, char *out, size_t cap)
{
	json_t *root = json_loadb(ts_buf_cstr(body), body->len, 0, NULL);
	const char *code = json_string_value(
		json_object_get(json_array_get(json_object_get(root, "errors"), 0), "code"));
	static const char ident[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_";

	if (!code)
		code = json_string_value(json_object_get(root, "error"));
	out[0] = '\0';
	if (code && *code && strlen(code) < 64 && strspn(code, ident) == strlen(code))
		snprintf(out, cap, " %s", code);
	json_decref(root);
}

static ts_code transport_failure(const ts_auth *a, const char *rhost, token_resp *r,
				 ts_error *err)
{
	*err = r->err;
	if (err->cause == TS_C_TLS)
		return ts_error_prefix(err, "cannot get a token for %s: TLS with token service %s failed",
				       a->host, rhost);
	return ts_error_prefix(err, "cannot get a token for %s from %s", a->host, rhost);
}

static ts_code status_failure(const ts_auth *a, const char *rhost, const token_resp *r,
			      ts_error *err)
{
	char code[80];
	error_code(&r->body, code, sizeof(code));
	if ((r->status == 401 || r->status == 403) && ts_creds_found(&a->creds))
		return ts_error_set(err, TS_EREGISTRY,
				    "authentication to %s failed: token service %s answered HTTP "
				    "%ld%s to the credentials from %s; " HINT,
				    a->host, rhost, r->status, code, a->creds.source, a->host);
	if (r->status == 401 || r->status == 403)
		return ts_error_set(err, TS_EREGISTRY,
				    "registry %s requires credentials: token service %s answered HTTP "
				    "%ld%s to an anonymous request; use --username with "
				    "--password-stdin, TAGSEAL_USERNAME/TAGSEAL_PASSWORD or 'docker login %s'",
				    a->host, rhost, r->status, code, a->host);
	return ts_error_set(err, TS_EREGISTRY,
			    "cannot get a token for %s: token service %s answered HTTP %ld%s", a->host,
			    rhost, r->status, code);
}

static int token_ok(const char *t)
{
	if (!t || !*t || strlen(t) > 64 * 1024)
		return 0;
	for (; *t; t++)
		if (*t < 0x21 || *t > 0x7e)
			return 0;
	return 1;
}

/* Take the token (and a new refresh token, if any) from a 200 answer. */
static ts_code take_token(ts_auth *a, const char *rhost, const token_resp *r, ts_error *err)
{
	json_t *root = json_loadb(ts_buf_cstr(&r->body), r->body.len, 0, NULL);
	const char *tok = json_string_value(json_object_get(root, "token"));
	const char *refresh = json_string_value(json_object_get(root, "refresh_token"));
	json_t *exp = json_object_get(root, "expires_in");
	long long life = DEFAULT_EXPIRES_IN * 1000LL;

	if (!token_ok(tok))
		tok = json_string_value(json_object_get(root, "access_token"));
	if (!token_ok(tok)) {
		json_decref(root);
		return ts_error_set(err, TS_EREGISTRY,
				    "token service %s for %s answered without a usable token or "
				    "access_token",
				    rhost, a->host);
	}
	if (json_is_number(exp) && json_number_value(exp) >= 1)
		life = json_number_value(exp) > MAX_EXPIRES_IN
			       ? MAX_EXPIRES_IN * 1000LL
			       : (long long)(json_number_value(exp) * 1000.0);
	a->refresh_at_ms = now_ms() + (life > 150000 ? life - 30000 : life * 4 / 5);
	set_header(a, ts_asprintf("Bearer %s", tok));
	if (refresh && token_ok(refresh) && a->creds.identity_token) {
		ts_secret_free(a->creds.identity_token);
		a->creds.identity_token = ts_strdup(refresh);
	}
	json_decref(root);
	a->mode = MODE_BEARER;
	a->stale = 0;
	logf_(a, "token for %s from %s, valid for %lld s", a->host, rhost, life / 1000);
	return TS_OK;
}

static ts_code fetch_token(ts_auth *a, ts_error *err)
{
	char rhost[300];
	int tls = 0, allow_http, send;
	token_resp r = { .body = TS_BUF_SECRET_INIT };
	ts_origin realm;
	ts_code rc;

	if (!realm_parts(a->realm, rhost, sizeof(rhost), &tls, &realm))
		return ts_error_set(err, TS_EREGISTRY,
				    "registry %s names a token realm that is not an http(s) URL", a->host);
	allow_http = a->opts.plain_http || ts_host_is_loopback(rhost);
	if (!tls && !allow_http)
		return ts_error_set(err, TS_EREGISTRY,
				    "registry %s sends for tokens to plain-HTTP %s; refused (use "
				    "--plain-http to allow it)",
				    a->host, rhost);
	send = ts_creds_found(&a->creds) && may_send(a, tls, rhost);
	if (send && a->creds.identity_token)
		token_post(a, &realm, &r);
	else
		token_get(a, &realm, send, &r);
	if (r.rc == TS_OK && (r.status == 404 || r.status == 405) && send) {
		/* the other form: some token services know only one */
		int was_post = a->creds.identity_token != NULL;
		resp_clear(&r);
		if (was_post)
			token_get(a, &realm, send, &r);
		else
			token_post(a, &realm, &r);
	}
	if (r.rc != TS_OK)
		rc = transport_failure(a, rhost, &r, err);
	else if (r.status != 200)
		rc = status_failure(a, rhost, &r, err);
	else
		rc = take_token(a, rhost, &r, err);
	resp_clear(&r);
	return rc;
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v ? ts_strdup(v) : NULL;
}

static ts_code answer_bearer(ts_auth *a, const ts_challenge *c, ts_error *err)
{
	const char *realm = ts_challenge_param(c, "realm");
	if (!realm || !*realm)
		return ts_error_set(err, TS_EREGISTRY,
				    "registry %s sent a Bearer challenge without a realm", a->host);
	set_str(&a->realm, realm);
	set_str(&a->service, ts_challenge_param(c, "service"));
	set_str(&a->chal_scope, ts_challenge_param(c, "scope"));
	return fetch_token(a, err);
}

/* ---- the interface ---- */

ts_code ts_auth_header(ts_auth *a, const char **value, ts_error *err)
{
	*value = NULL;
	if (a->mode == MODE_BEARER && (a->stale || now_ms() >= a->refresh_at_ms)) {
		ts_code rc;
		logf_(a, "token for %s %s; fetching a new one", a->host,
		      a->stale ? "lacks a scope" : "is about to expire");
		rc = fetch_token(a, err);
		if (rc != TS_OK) {
			set_header(a, NULL);
			a->mode = MODE_NONE;
			return rc;
		}
	}
	*value = a->header;
	return TS_OK;
}

static const ts_challenge *pick(const ts_challenge *cs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(cs[i].scheme, "bearer") == 0)
			return &cs[i];
	for (size_t i = 0; i < n; i++)
		if (strcmp(cs[i].scheme, "basic") == 0)
			return &cs[i];
	return NULL;
}

ts_code ts_auth_challenge(ts_auth *a, const char *www_authenticate, ts_error *err)
{
	ts_challenge *cs = NULL;
	const ts_challenge *c;
	size_t n = 0;
	ts_code rc;

	if (!www_authenticate || !*www_authenticate)
		return ts_error_set(err, TS_EREGISTRY,
				    "registry %s answered HTTP 401 without a WWW-Authenticate challenge",
				    a->host);
	rc = ts_challenges_parse(www_authenticate, &cs, &n, err);
	if (rc != TS_OK)
		return ts_error_prefix(err, "registry %s sent an unreadable WWW-Authenticate header",
				       a->host);
	rc = load_creds(a, err);
	c = pick(cs, n);
	if (rc == TS_OK && !c)
		rc = ts_error_set(err, TS_EREGISTRY,
				  "registry %s asks for authentication scheme '%s', which tagseal does "
				  "not support (only Basic and Bearer)",
				  a->host, cs[0].scheme);
	else if (rc == TS_OK && strcmp(c->scheme, "basic") == 0)
		rc = answer_basic(a, err);
	else if (rc == TS_OK)
		rc = answer_bearer(a, c, err);
	ts_challenges_free(cs, n);
	return rc;
}
