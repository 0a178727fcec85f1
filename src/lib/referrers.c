/*
 * referrers.c - blob reads and the OCI 1.1 referrers API (GET
 * /v2/<name>/referrers/<digest>, following Link pages), on the registry
 * client's connection (registry_int.h).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry_int.h"
#include "tagseal/linkhdr.h"
#include "tagseal/referrers.h"

#define MAX_REFERRERS_PAGE (4 * 1024 * 1024)
#define MAX_REFERRERS_PAGES 100
#define MAX_REFERRERS 10000
#define MAX_REFERRERS_BYTES (32 * 1024 * 1024) /* of all pages together */

ts_code ts_registry_blob_get(ts_registry *r, const char *digest, size_t max, ts_buf *body,
			     ts_error *err)
{
	ts_http_req q = { 0 };
	char got[TS_DIGEST_STRLEN], *what = ts_asprintf("blob %s", digest);
	ts_code rc;

	ts_buf_reset(body);
	q.method = "GET";
	q.url = ts_reg_url(r, "blobs/%s", digest);
	q.follow = true;
	q.resp = body;
	q.resp_max = max;
	rc = ts_http_do(r->http, &q, what, err);
	if (rc == TS_OK && q.status != 200)
		rc = ts_reg_http_error(r, &q, what, err);
	if (rc == TS_OK) {
		ts_sha256_digest(body->ptr ? body->ptr : "", body->len, got);
		if (strcmp(got, digest) != 0)
			rc = ts_error_setc(err, TS_C_PROTOCOL,
					   "%s from registry %s: the bytes have digest %s", what, r->host,
					   got);
	}
	free(what);
	ts_http_req_free(&q);
	return rc;
}

ts_code ts_registry_referrers(ts_registry *r, const char *digest, bool *supported, ts_buf *body,
			      ts_error *err)
{
	json_t *all = json_array();
	char *url = ts_reg_url(r, "referrers/%s", digest), *what = ts_asprintf("referrers of %s", digest);
	char **seen = NULL;
	size_t total = 0;
	ts_code rc = TS_OK;
	int pages = 0;

	*supported = false;
	ts_buf_reset(body);
	while (url && rc == TS_OK) {
		ts_http_req q = { 0 };
		ts_buf page = TS_BUF_INIT;
		json_t *doc, *m;

		for (int i = 0; i < pages; i++)
			if (strcmp(seen[i], url) == 0)
				rc = ts_error_setc(err, TS_C_PROTOCOL,
						   "%s: registry %s links back to a page already read", what,
						   r->host);
		if (rc == TS_OK && pages >= MAX_REFERRERS_PAGES)
			rc = ts_error_setc(err, TS_C_LIMIT, "%s: more than %d pages", what,
					   MAX_REFERRERS_PAGES);
		if (rc != TS_OK) {
			free(url);
			break;
		}
		seen = ts_realloc(seen, (size_t)(pages + 1) * sizeof(*seen));
		seen[pages++] = ts_strdup(url);
		q.method = "GET";
		q.url = url;
		q.accept = "application/vnd.oci.image.index.v1+json";
		q.follow = true;
		q.resp = &page;
		q.resp_max = MAX_REFERRERS_PAGE;
		url = NULL;
		rc = ts_http_do(r->http, &q, what, err);
		if (rc == TS_OK && q.status == 404 && pages == 1) {
			ts_http_req_free(&q);
			ts_buf_free(&page);
			break; /* no referrers API: the fallback tag holds them */
		}
		if (rc == TS_OK && q.status != 200)
			rc = ts_reg_http_error(r, &q, what, err);
		if (rc == TS_OK && (total += page.len) > MAX_REFERRERS_BYTES)
			rc = ts_error_setc(err, TS_C_LIMIT, "%s: more than %d MiB of referrer lists",
					   what, MAX_REFERRERS_BYTES >> 20);
		if (rc == TS_OK) {
			doc = json_loadb(ts_buf_cstr(&page), page.len, 0, NULL);
			m = json_object_get(doc, "manifests");
			if (!json_is_array(m)) {
				/* not an index: some registries answer 200 with
				 * an HTML page or {} where they have no API */
				json_decref(doc);
				ts_http_req_free(&q);
				ts_buf_free(&page);
				if (pages == 1)
					break;
				rc = ts_error_setc(err, TS_C_PROTOCOL, "%s: page %d is not an OCI index",
						   what, pages);
				break;
			}
			*supported = true;
			json_array_extend(all, m);
			if (json_array_size(all) > MAX_REFERRERS) {
				json_decref(doc);
				ts_http_req_free(&q);
				ts_buf_free(&page);
				rc = ts_error_setc(err, TS_C_LIMIT, "%s: more than %d referrers", what,
						   MAX_REFERRERS);
				break;
			}
			json_decref(doc);
			rc = ts_reg_next_page(r, &q, what, &url, err);
		}
		ts_http_req_free(&q);
		ts_buf_free(&page);
	}
	if (rc == TS_OK && *supported) {
		json_t *idx = json_pack("{s:i,s:s,s:O}", "schemaVersion", 2, "mediaType",
					"application/vnd.oci.image.index.v1+json", "manifests", all);
		char *s = json_dumps(idx, JSON_COMPACT);
		ts_buf_puts(body, s);
		free(s);
		json_decref(idx);
	}
	json_decref(all);
	for (int i = 0; i < pages; i++)
		free(seen[i]);
	free(seen);
	free(what);
	return rc;
}
