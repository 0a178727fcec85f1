/*
 * blobcache.c - diff_id -> compressed blob cache (see blobcache.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tagseal/blobcache.h"
#include "tagseal/buf.h"
#include "tagseal/fsutil.h"
#include "tagseal/ref.h"

#define MAGIC "tagseal-layer-cache 1"

struct ts_blobcache {
	char *dir; /* .../layers/<compressor> */
	char *id;
	char *seen_dir; /* .../seen */
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
	c->seen_dir = ts_asprintf("%s/seen", base);
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
	free(c->seen_dir);
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

/* ---- files already read ---- */

#define SEEN_MAGIC "tagseal-seen 1"
#define RACY_SECONDS 2

char *ts_blobcache_file_id(const char *path)
{
	struct stat st;
	struct timespec now;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return NULL;
	/* a file changed in the last moments could change again within the
	 * same timestamp: not identified (git's "racily clean" rule) */
	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec - st.st_mtim.tv_sec < RACY_SECONDS || now.tv_sec - st.st_ctim.tv_sec < RACY_SECONDS)
		return NULL;
	return ts_asprintf("%llu:%llu %lld %lld.%09ld %lld.%09ld", (unsigned long long)st.st_dev,
			   (unsigned long long)st.st_ino, (long long)st.st_size,
			   (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
			   (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
}

/* The record's path and body (without its check line). */
static char *seen_entry(const ts_blobcache *c, const char *file_id, const char *member,
			const char *diff_id, char **path)
{
	char key[TS_DIGEST_STRLEN];
	char *k = ts_asprintf("%s\n%s", file_id, member);
	ts_sha256_digest(k, strlen(k), key);
	free(k);
	*path = ts_asprintf("%s/%s", c->seen_dir, key + 7);
	return ts_asprintf("%s\n%s\n%s\n%s\n", SEEN_MAGIC, file_id, member, diff_id);
}

bool ts_blobcache_seen(ts_blobcache *c, const char *file_id, const char *member,
		       const char *diff_id)
{
	ts_buf data = TS_BUF_INIT;
	char *path, *body, check[TS_DIGEST_STRLEN];
	bool ok = false;
	if (!c || !file_id || !ts_digest_valid(diff_id))
		return false;
	body = seen_entry(c, file_id, member, diff_id, &path);
	ts_sha256_digest(body, strlen(body), check);
	if (ts_read_file(path, 8192, &data, "cache entry", NULL) == TS_OK) {
		size_t n = strlen(body);
		ok = data.len == n + strlen(check) + 1 && memcmp(data.ptr, body, n) == 0 &&
		     memcmp(data.ptr + n, check, strlen(check)) == 0 && data.ptr[data.len - 1] == '\n';
	}
	ts_buf_free(&data);
	free(body);
	free(path);
	return ok;
}

void ts_blobcache_saw(ts_blobcache *c, const char *file_id, const char *path_now,
		      const char *member, const char *diff_id)
{
	char *now_id, *path, *body, *text, check[TS_DIGEST_STRLEN];
	if (!c || !file_id || !ts_digest_valid(diff_id))
		return;
	/* only when the file is still what it was before it was read */
	now_id = ts_blobcache_file_id(path_now);
	if (!now_id || strcmp(now_id, file_id) != 0 || mkdirs(c->seen_dir) != 0) {
		free(now_id);
		return;
	}
	free(now_id);
	body = seen_entry(c, file_id, member, diff_id, &path);
	ts_sha256_digest(body, strlen(body), check);
	text = ts_asprintf("%s%s\n", body, check);
	ts_write_file_atomic(path, text, strlen(text), 0600, "cache entry", NULL);
	free(text);
	free(body);
	free(path);
}
