/*
 * auth.h - registry authentication: finding credentials and answering
 * WWW-Authenticate challenges (Basic, and Bearer tokens from a realm).
 *
 * The registry client (registry.c) owns one ts_auth per repository. Before
 * each request it asks ts_auth_header() for the Authorization value; when a
 * request is answered 401 it hands the WWW-Authenticate header to
 * ts_auth_challenge() and retries once. Credentials and tokens never leave
 * this module except in that header value, and never appear in messages.
 *
 * Credentials are looked up (creds.h) on the first challenge, so an
 * anonymous registry never runs a credential helper. Basic credentials are
 * only sent when `secure` is set, the host is loopback, or opts->plain_http.
 * Bearer tokens are fetched from the challenge's realm (libcurl, same
 * --ca-file; an http:// realm only on loopback or with --plain-http), with
 * scope repository:PATH:pull,push plus any scope added with
 * ts_auth_add_scope(); they are refreshed before `expires_in` runs out.
 */
#ifndef TAGSEAL_AUTH_H
#define TAGSEAL_AUTH_H

#include "tagseal/error.h"
#include "tagseal/netopts.h"
#include "tagseal/wwwauth.h"

typedef struct ts_auth ts_auth;

/* `host` is the registry host as in the reference (docker.io, ghcr.io,
 * 127.0.0.1:5000); `path` the repository path; `secure` whether requests
 * go over HTTPS (credentials are never sent in plain text otherwise,
 * except on loopback hosts or with --plain-http). */
ts_code ts_auth_new(const char *host, const char *path, const ts_registry_opts *opts,
		    int secure, ts_auth **out, ts_error *err);
void ts_auth_free(ts_auth *a);

/* Authorization header value ("Basic ...", "Bearer ...") for the next
 * request, or NULL for none. May refresh an expired token. */
ts_code ts_auth_header(ts_auth *a, const char **value, ts_error *err);

/* A request was answered 401 with this WWW-Authenticate value (NULL if
 * absent; several headers joined with ", " are fine). Prepare credentials
 * for a retry: TS_OK means retry, TS_EREGISTRY means authentication cannot
 * succeed (message says why: no credentials, wrong password at the token
 * service, plain HTTP refused, unsupported scheme). */
ts_code ts_auth_challenge(ts_auth *a, const char *www_authenticate, ts_error *err);

/* Changes whenever the Authorization value does (a challenge answered, a
 * token fetched). */
unsigned long ts_auth_generation(const ts_auth *a);

/* Also ask the token service for `actions` ("pull", "pull,push") on another
 * repository path of the same registry, e.g. the source of a cross-repository
 * mount: ts_auth_add_scope(a, "team/base", "pull"). Call before the request
 * that needs it; a token already held is replaced on the next
 * ts_auth_header(). */
void ts_auth_add_scope(ts_auth *a, const char *path, const char *actions);

/* Whether requests go over HTTPS after all (a loopback registry found to
 * speak plain HTTP). */
void ts_auth_set_secure(ts_auth *a, int secure);

/* The actions asked for on the repository itself (default "pull,push");
 * read-only commands (tag --repo, verify) may ask for "pull" only. */
void ts_auth_set_actions(ts_auth *a, const char *actions);

/* Where the credentials in use came from ("TAGSEAL_USERNAME/TAGSEAL_PASSWORD",
 * "Docker config /home/u/.docker/config.json (auths)", ...), or NULL when
 * none are used (anonymous). Never a secret; for error messages. */
const char *ts_auth_source(const ts_auth *a);

#endif
