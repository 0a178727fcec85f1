/*
 * auth.h - registry authentication: finding credentials and answering
 * WWW-Authenticate challenges (Basic, and Bearer tokens from a realm).
 *
 * The registry client (registry.c) owns one ts_auth per repository. Before
 * each request it asks ts_auth_header() for the Authorization value; when a
 * request is answered 401 it hands the WWW-Authenticate header to
 * ts_auth_challenge() and retries once. Credentials and tokens never leave
 * this module except in that header value, and never appear in messages.
 */
#ifndef TAGSEAL_AUTH_H
#define TAGSEAL_AUTH_H

#include "tagseal/error.h"
#include "tagseal/registry.h"

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
 * absent). Prepare credentials for a retry: TS_OK means retry,
 * TS_EREGISTRY means authentication cannot succeed (message says why). */
ts_code ts_auth_challenge(ts_auth *a, const char *www_authenticate, ts_error *err);

#endif
