/*
 * regsources.c - the ordered places a reference's tag is asked at, from the
 * registries.conf entries and --mirror options read by regconf.c: the
 * --mirror mirrors of the matching prefix, then the mirrors of the longest
 * matching [[registry]] prefix that serve tags, then its location (or the
 * reference's own registry). A location or mirror replaces the matched
 * prefix, as containers-registries.conf(5) describes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tagseal/regconf.h"

/* How much of `name` (host/path) the prefix matches: its length, 0 for
 * none. A wildcard *.example.com matches the host only and ranks below
 * any exact prefix. */
static size_t prefix_match(const char *prefix, const char *name)
{
	size_t n = strlen(prefix);
	if (strncmp(prefix, "*.", 2) == 0) {
		size_t h = strcspn(name, "/");
		size_t suf = n - 1; /* ".example.com" */
		if (h > suf && strncmp(name + h - suf, prefix + 1, suf) == 0)
			return 1;
		return 0;
	}
	if (strncmp(prefix, name, n) == 0 && (name[n] == '\0' || name[n] == '/'))
		return n + 1;
	return 0;
}

/* Where the prefix ends in `name` (wildcards: at the host's end). */
static const char *rest_after(const char *prefix, const char *name)
{
	if (strncmp(prefix, "*.", 2) == 0)
		return name + strcspn(name, "/");
	return name + strlen(prefix);
}

static ts_code add_source(ts_sources *out, const char *location, const char *rest,
			  bool insecure, bool mirror, const char *origin, ts_error *err)
{
	char *full = ts_asprintf("%s%s", location, rest);
	size_t h = strcspn(location, "/");
	ts_ref r = TS_REF_INIT;
	ts_error perr = TS_ERROR_INIT;
	ts_code rc = ts_repo_parse(full, &r, "location", &perr);
	char *host = ts_strndup(location, h);

	/* "mirror/ns" would parse as a Docker Hub path: the host must stay */
	if (rc == TS_OK && strcmp(r.host, host) != 0 &&
	    !(ts_host_is_hub(host) && strcmp(r.host, "docker.io") == 0))
		rc = TS_EUSAGE;
	if (rc != TS_OK) {
		char shown[300];
		ts_sanitize(shown, sizeof(shown), full);
		free(full);
		free(host);
		ts_ref_free(&r);
		return ts_error_setc(err, TS_C_INPUT,
				     "%s: '%s' is not a repository a registry location can name "
				     "(host[:port]/path)",
				     origin, shown);
	}
	free(full);
	free(host);
	for (size_t i = 0; i < out->n; i++)
		if (ts_ref_same_repo(&out->v[i].ref, &r)) { /* asked once */
			ts_ref_free(&r);
			return TS_OK;
		}
	out->v = ts_realloc(out->v, (out->n + 1) * sizeof(*out->v));
	out->v[out->n].ref = r;
	out->v[out->n].insecure = insecure;
	out->v[out->n++].mirror = mirror;
	return TS_OK;
}

static ts_code add_mirrors(ts_sources *out, const ts_regentry *e, const char *name,
			   ts_error *err)
{
	const char *rest = rest_after(e->prefix, name);
	ts_code rc = TS_OK;
	for (size_t j = 0; rc == TS_OK && j < e->nmirrors; j++)
		if (e->mirrors[j].tags)
			rc = add_source(out, e->mirrors[j].location, rest, e->mirrors[j].insecure, true,
					e->origin, err);
	return rc;
}

ts_code ts_regconf_sources(const ts_regconf *c, const ts_ref *r, ts_sources *out, ts_error *err)
{
	char *name = ts_ref_repo_string(r);
	const ts_regentry *best = NULL;
	size_t best_len = 0, cli_len = SIZE_MAX;
	ts_code rc = TS_OK;

	out->v = NULL;
	out->n = 0;
	/* --mirror first, longest prefix first */
	while (rc == TS_OK) {
		const ts_regentry *next = NULL;
		size_t next_len = 0;
		for (size_t i = 0; i < c->n; i++) {
			size_t m;
			if (strcmp(c->v[i].origin, "--mirror") != 0)
				continue;
			m = prefix_match(c->v[i].prefix, name);
			if (m && m < cli_len && m > next_len) {
				next = &c->v[i];
				next_len = m;
			}
		}
		if (!next)
			break;
		for (size_t i = 0; rc == TS_OK && i < c->n; i++)
			if (strcmp(c->v[i].origin, "--mirror") == 0 &&
			    prefix_match(c->v[i].prefix, name) == next_len)
				rc = add_mirrors(out, &c->v[i], name, err);
		cli_len = next_len;
	}
	for (size_t i = 0; i < c->n; i++) {
		size_t m;
		if (strcmp(c->v[i].origin, "--mirror") == 0)
			continue;
		m = prefix_match(c->v[i].prefix, name);
		if (m && m >= best_len) { /* a later entry (a drop-in) replaces an earlier one */
			best = &c->v[i];
			best_len = m;
		}
	}
	if (rc == TS_OK && best && best->blocked) {
		char shown[300];
		ts_sanitize(shown, sizeof(shown), best->prefix);
		rc = ts_error_setc(err, TS_C_USAGE,
				   "%s: registry prefix '%s' is blocked (blocked = true)", best->origin,
				   shown);
	}
	if (rc == TS_OK && best)
		rc = add_mirrors(out, best, name, err);
	if (rc == TS_OK && best && best->location)
		rc = add_source(out, best->location, rest_after(best->prefix, name), best->insecure,
				false, best->origin, err);
	else if (rc == TS_OK)
		rc = add_source(out, r->host, name + strlen(r->host), best && best->insecure, false,
				best ? best->origin : "reference", err);
	free(name);
	if (rc != TS_OK)
		ts_sources_free(out);
	return rc;
}

void ts_sources_free(ts_sources *s)
{
	for (size_t i = 0; s && i < s->n; i++)
		ts_ref_free(&s->v[i].ref);
	if (s) {
		free(s->v);
		s->v = NULL;
		s->n = 0;
	}
}
