/*
 * creds.h - finding the credentials for a registry host.
 *
 * Sources, first match wins (docs/registry-access.md):
 *   1. --username with --password-stdin (ts_registry_opts.username/password)
 *   2. TAGSEAL_USERNAME / TAGSEAL_PASSWORD
 *      (1 and 2 only for ts_registry_opts.cred_host when it is set: flag and
 *      environment credentials belong to one registry)
 *   3. CI defaults: GitHub Actions (GITHUB_TOKEN, GITHUB_ACTOR) for ghcr.io;
 *      GitLab CI (CI_REGISTRY_USER/CI_REGISTRY_PASSWORD, else
 *      gitlab-ci-token + CI_JOB_TOKEN) for the host in CI_REGISTRY
 *   4. the Docker config ($DOCKER_CONFIG/config.json or ~/.docker/config.json):
 *      credHelpers[host], then credsStore, then auths[host]. A helper name
 *      must match [a-z0-9._-]+ (not . or ..); each helper run has the
 *      deadline ts_registry_opts.timeout_s and an answer of at most 256 KiB.
 * Nothing found is not an error: the registry is then spoken to anonymously.
 * Secrets are wiped from memory by ts_creds_free and never put in messages.
 */
#ifndef TAGSEAL_CREDS_H
#define TAGSEAL_CREDS_H

#include <stdbool.h>

#include "tagseal/error.h"
#include "tagseal/netopts.h"

typedef struct ts_creds {
	char *username;       /* NULL when nothing was found (anonymous) */
	char *password;       /* secret; NULL with an identity token only */
	char *identity_token; /* OAuth2 refresh token (Docker "identitytoken"); secret */
	char *source;         /* where they came from, for messages; never a secret */
} ts_creds;

#define TS_CREDS_INIT { NULL, NULL, NULL, NULL }

/* Something was found (a username, or an identity token alone). */
#define ts_creds_found(c) ((c)->username != NULL || (c)->identity_token != NULL)

/* The credentials for `host` (as in a reference: docker.io, ghcr.io,
 * 127.0.0.1:5000). ts_creds_found() is false when none were found. Errors:
 * TS_EUSAGE for an unreadable Docker config or a half-set variable pair,
 * TS_EREGISTRY when a credential helper fails. */
ts_code ts_creds_lookup(const char *host, const ts_registry_opts *opts, ts_creds *out,
			ts_error *err);

/* The Docker config alone (source 4), for tests and for lookup; each
 * credential helper run gets `timeout_s` seconds (<= 0: 60). A helper name
 * that is not [a-z0-9._-]+ is TS_EUSAGE naming the file and the field,
 * before anything runs. */
ts_code ts_creds_from_docker_config(const char *host, long timeout_s, ts_creds *out,
				    ts_error *err);

/* Run `docker-credential-NAME get` for `server` (the credential-helper
 * protocol). "credentials not found" leaves nothing found. A Username of
 * "<token>" means Secret is an identity token. A helper still running
 * after `timeout_s` seconds (<= 0: 60), or answering more than 256 KiB, is
 * killed and reaped: TS_EREGISTRY with cause TS_C_LIMIT. */
ts_code ts_creds_from_helper(const char *name, const char *server, long timeout_s,
			     ts_creds *out, ts_error *err);

/* [a-z0-9._-]+, not "." or "..": a name that cannot leave the PATH lookup
 * of docker-credential-NAME. */
bool ts_creds_helper_name_valid(const char *name);

/* The same registry: equal hosts (case aside), or two names of Docker Hub
 * (docker.io, index.docker.io, registry-1.docker.io). */
bool ts_creds_same_registry(const char *a, const char *b);

/* --username/--password-stdin or TAGSEAL_USERNAME/TAGSEAL_PASSWORD are
 * given (the credentials ts_registry_opts.cred_host binds to one host). */
bool ts_creds_explicit(const ts_registry_opts *opts);

/* Wipe and free the secrets; c is reset to TS_CREDS_INIT. */
void ts_creds_free(ts_creds *c);

/* For --password-stdin: read all of standard input (at most 64 KiB), strip
 * one trailing newline (LF or CRLF). An empty password is TS_EUSAGE. The
 * caller owns *password and should free it with ts_secret_free. */
ts_code ts_creds_read_password_stdin(char **password, ts_error *err);
/* Same, from any file descriptor (tests). */
ts_code ts_creds_read_password_fd(int fd, char **password, ts_error *err);

/* Wipe a secret string and free it. */
void ts_secret_free(char *s);

#endif
