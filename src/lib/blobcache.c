/*
 * blobcache.c - diff_id -> compressed blob cache (see blobcache.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tagseal/blobcache.h"
#include "tagseal/buf.h"
#include "tagseal/fsutil.h"
#include "tagseal/ref.h"

#define MAGIC "tagseal-layer-cache 1"

struct ts_blobcache {
	char *dir; /* .../layers/<compressor> */
	char *id;
};

static int mkdirs(const char *path)
{
	char *p = ts_strdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			free(p);
			return -1;
		}
		*s = '/';
	}
	int rc = mkdir(p, 0700) != 0 && errno != EEXIST ? -1 : 0;
	free(p);
	return rc;
}

ts_blobcache *ts_blobcache_open(const char *compressor_id)
{
	const char *env = getenv("TAGSEAL_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	char *base;
	ts_blobcache *c;

	if (env && *env)
		base = ts_strdup(env);
	else if (xdg && *xdg)
		base = ts_asprintf("%s/tagseal", xdg);
	else if (home && *home)
		base = ts_asprintf("%s/.cache/tagseal", home);
	else
		return NULL;
	c = ts_calloc(1, sizeof(*c));
	c->dir = ts_asprintf("%s/layers/%s", base, compressor_id);
	c->id = ts_strdup(compressor_id);
	free(base);
	return c;
}

void ts_blobcache_free(ts_blobcache *c)
{
	if (!c)
		return;
	free(c->dir);
	free(c->id);
	free(c);
}

/* The entry's text without its check line. */
static char *entry_body(const ts_blobcache *c, const char *diff_id, const char *digest,
			int64_t size)
{
	return ts_asprintf("%s\n%s %s %s %lld\n", MAGIC, c->id, diff_id, digest, (long long)size);
}

bool ts_blobcache_get(ts_blobcache *c, const char *diff_id, char digest[TS_DIGEST_STRLEN],
		      int64_t *size)
{
	ts_buf data = TS_BUF_INIT;
	char *path, *body = NULL, check[TS_DIGEST_STRLEN], id[64], key[80], dg[80], sum[80];
	long long sz;
	bool ok = false;

	if (!c || !ts_digest_valid(diff_id))
		return false;
	path = ts_asprintf("%s/%s", c->dir, diff_id + 7);
	if (ts_read_file(path, 4096, &data, "cache entry", NULL) != TS_OK)
		goto out;
	if (sscanf(ts_buf_cstr(&data), MAGIC "\n%63s %79s %79s %lld\n%79s", id, key, dg, &sz, sum) != 5)
		goto out;
	if (strcmp(id, c->id) || strcmp(key, diff_id) || !ts_digest_valid(dg) || sz < 0)
		goto out;
	body = entry_body(c, key, dg, sz);
	ts_sha256_digest(body, strlen(body), check);
	if (strcmp(check, sum) != 0)
		goto out;
	memcpy(digest, dg, TS_DIGEST_STRLEN);
	*size = sz;
	ok = true;
out:
	free(body);
	free(path);
	ts_buf_free(&data);
	return ok;
}

void ts_blobcache_put(ts_blobcache *c, const char *diff_id, const char *digest, int64_t size)
{
	char check[TS_DIGEST_STRLEN], *body, *text, *path;
	if (!c || !ts_digest_valid(diff_id) || !ts_digest_valid(digest) || mkdirs(c->dir) != 0)
		return;
	body = entry_body(c, diff_id, digest, size);
	ts_sha256_digest(body, strlen(body), check);
	text = ts_asprintf("%s%s\n", body, check);
	path = ts_asprintf("%s/%s", c->dir, diff_id + 7);
	ts_write_file_atomic(path, text, strlen(text), 0600, "cache entry", NULL);
	free(path);
	free(text);
	free(body);
}
