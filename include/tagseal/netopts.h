/*
 * netopts.h - how to reach a registry: credentials, TLS, retries, time
 * limits and logging. Shared by the transport (http.h), authentication
 * (auth.h, creds.h) and the registry client (registry.h), so that none of
 * the lower ones needs the registry client's header.
 */
#ifndef TAGSEAL_NETOPTS_H
#define TAGSEAL_NETOPTS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct ts_registry_opts {
	const char *username;   /* NULL: look up TAGSEAL_USERNAME/..., Docker config */
	const char *password;   /* never printed */
	const char *ca_file;    /* extra CA for HTTPS */
	bool plain_http;        /* allow http:// for a non-loopback host */
	int retries;            /* retries for transient failures (default 4) */
	/* Seconds: the deadline of one request that carries no blob, from
	 * connect to the last byte of the answer, and of one credential-helper
	 * run; a blob upload instead ends when it moves less than 1 KiB/s for
	 * this long (default 60). */
	long timeout_s;
	int verbose;            /* >0: log requests (method, origin, path, status) */
	/* Where detail lines go (the CLI passes its verbose printer), with
	 * log_ud; may be NULL. Lines never contain credentials or tokens. */
	void (*log)(void *ud, const char *line);
	/* Called once per distinct Warning header the registry sends. */
	void (*warn)(void *ud, const char *line);
	void *log_ud;
	bool read_only;         /* ask tokens for pull only (tag --repo, verify) */
	/* >0: blobs go up in PATCHes of at most this many bytes, each with
	 * Content-Range (registries behind a request body limit); 0: each blob
	 * in one streamed PATCH. A 413 answer switches to 3 MiB pieces. */
	int64_t chunk_size;
	/* The registry host (as in a reference) that username/password and
	 * TAGSEAL_USERNAME/TAGSEAL_PASSWORD were given for. NULL: the registry
	 * being opened (push, tag: one registry). A registry of another host
	 * gets only its own Docker config entry or CI default. */
	const char *cred_host;
	/* Open without asking GET /v2/ first when the scheme needs no probe
	 * (a loopback host without plain_http is still probed): the caller's
	 * first request finds the registry, one round trip sooner (push). */
	bool no_ping;
} ts_registry_opts;

#define TS_REGISTRY_OPTS_INIT { NULL, NULL, NULL, false, 4, 60, 0, NULL, NULL, NULL, false, 0, NULL, false }

#endif
