/*
 * provenance.c - the SLSA provenance v1 predicate from git and CI facts
 * (libgit2 for the remote URL, curl_url to strip credentials from it).
 */
#include <curl/curl.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tagseal/provenance.h"

char *ts_url_strip_secrets(const char *url)
{
	CURLU *u = curl_url();
	char *out = NULL, *s = NULL;
	const char *at;

	if (u && curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK) {
		curl_url_set(u, CURLUPART_USER, NULL, 0);
		curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
		curl_url_set(u, CURLUPART_OPTIONS, NULL, 0);
		curl_url_set(u, CURLUPART_QUERY, NULL, 0);
		curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
		if (curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK)
			out = ts_strdup(s);
		curl_free(s);
	}
	curl_url_cleanup(u);
	if (!out) {
		/* scp-like git@host:path: the part before '@' is a user name,
		 * kept; anything with a ':' before the '@' could be a password */
		at = strchr(url, '@');
		if (at && memchr(url, ':', (size_t)(at - url)))
			out = ts_strdup(at + 1);
		else
			out = ts_strdup(url);
	}
	return out;
}

static void iso(time_t t, char out[32])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *dependency(const ts_gitinfo *gi, const ts_ciinfo *ci)
{
	git_remote *rem = NULL;
	char *url = NULL, *uri;
	const char *ref = ci && ci->ref ? ci->ref : gi->branch;
	json_t *d;

	if (git_remote_lookup(&rem, gi->repo, "origin") == 0 && git_remote_url(rem))
		url = ts_url_strip_secrets(git_remote_url(rem));
	git_remote_free(rem);
	if (!url)
		url = ts_strdup(gi->path ? gi->path : ".");
	uri = ref ? ts_asprintf("git+%s@%s%s", url, strncmp(ref, "refs/", 5) ? "refs/heads/" : "", ref)
		  : ts_asprintf("git+%s", url);
	d = json_pack("{s:s,s:{s:s}}", "uri", uri, "digest", "gitCommit", gi->commit);
	if (gi->dirty)
		json_object_set_new(d, "annotations", json_pack("{s:b}", "dirty", 1));
	free(uri);
	free(url);
	return d;
}

json_t *ts_provenance_slsa1(const ts_provenance_in *in)
{
	char started[32], finished[32];
	const ts_ciinfo *ci = in->ci && in->ci->provider ? in->ci : NULL;
	json_t *deps = json_array(), *meta, *builder, *internal;
	char *builder_id, *invocation = NULL;

	if (in->git)
		json_array_append_new(deps, dependency(in->git, ci));
	iso(in->started, started);
	iso(in->finished ? in->finished : in->started, finished);
	builder_id = ci ? ts_asprintf("urn:tagseal:ci:%s", ci->provider) : ts_strdup("urn:tagseal:local");
	builder = json_pack("{s:s,s:{s:s}}", "id", builder_id, "version", "tagseal", TAGSEAL_VERSION);
	meta = json_pack("{s:s,s:s}", "startedOn", started, "finishedOn", finished);
	if (ci && ci->run_url)
		invocation = ci->attempt ? ts_asprintf("%s/attempts/%s", ci->run_url, ci->attempt)
					 : ts_strdup(ci->run_url);
	else if (ci && ci->build)
		invocation = ts_asprintf("%s:%s", ci->provider, ci->build);
	if (invocation)
		json_object_set_new(meta, "invocationId", json_string(invocation));
	internal = json_object();
	if (ci) {
		json_object_set_new(internal, "ci", json_string(ci->provider));
		if (ci->actor)
			json_object_set_new(internal, "actor", json_string(ci->actor));
		if (ci->run_url)
			json_object_set_new(internal, "runUrl", json_string(ci->run_url));
	}
	free(builder_id);
	free(invocation);
	return json_pack("{s:{s:s,s:o,s:o,s:o},s:{s:o,s:o}}", "buildDefinition", "buildType",
			 TS_PROVENANCE_BUILD_TYPE, "externalParameters",
			 in->external ? json_incref(in->external)
				      : json_pack("{s:s}", "image", in->image ? in->image : ""),
			 "internalParameters", internal, "resolvedDependencies", deps, "runDetails",
			 "builder", builder, "metadata", meta);
}
