/*
 * blobcache.c - the local cache: diff_id -> compressed blob, files already
 * read, and where blobs were seen in each registry (see blobcache.h).
 */
#include <errno.h>
#include <pthread.h>
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
	char *holders_dir; /* .../holders */
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
	c->holders_dir = ts_asprintf("%s/holders", base);
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
	free(c->holders_dir);
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

/* ---- where blobs are ---- */

#define HOLDERS_MAGIC "tagseal-holders 1"
#define REPO_MAX 255

typedef struct {
	char digest[TS_DIGEST_STRLEN];
	char *repo;
} holder;

typedef struct {
	holder *v; /* oldest first */
	size_t n, cap;
} holder_list;

typedef struct {
	bool note; /* else forget */
	holder h;
} holder_op;

struct ts_holders {
	pthread_mutex_t mu;
	char *path, *host;
	holder_list list;
	holder_op *ops; /* this run's changes, replayed over the file on save */
	size_t n_ops, cap_ops;
};

/* A repository path as the distribution spec allows: lowercase letters,
 * digits, and . _ - / separators; never anything a URL query would read. */
static bool repo_ok(const char *r)
{
	size_t n = strlen(r);
	if (n == 0 || n > REPO_MAX || r[0] == '/' || r[n - 1] == '/')
		return false;
	for (const char *s = r; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '.' ||
		      *s == '_' || *s == '-' || *s == '/'))
			return false;
	return true;
}

static void list_clear(holder_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].repo);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static void list_remove(holder_list *l, const char *digest, const char *repo)
{
	size_t j = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (!strcmp(l->v[i].digest, digest) && !strcmp(l->v[i].repo, repo)) {
			free(l->v[i].repo);
			continue;
		}
		l->v[j++] = l->v[i];
	}
	l->n = j;
}

/* digest in repo, as the most recent pair; the oldest go past the bound */
static void list_add(holder_list *l, const char *digest, const char *repo)
{
	list_remove(l, digest, repo);
	if (l->n == TS_HOLDERS_MAX) {
		free(l->v[0].repo);
		memmove(l->v, l->v + 1, (l->n - 1) * sizeof(*l->v));
		l->n--;
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = ts_realloc(l->v, l->cap * sizeof(*l->v));
	}
	memcpy(l->v[l->n].digest, digest, TS_DIGEST_STRLEN);
	l->v[l->n].repo = ts_strdup(repo);
	l->n++;
}

/* The record's text without its check line. */
static void holders_text(const ts_holders *h, const holder_list *l, ts_buf *b)
{
	ts_buf_printf(b, "%s\n%s\n", HOLDERS_MAGIC, h->host);
	for (size_t i = 0; i < l->n; i++)
		ts_buf_printf(b, "%s %s\n", l->v[i].digest, l->v[i].repo);
}

/* The record on disk into l (empty when absent, damaged or another host's). */
static void holders_load(const ts_holders *h, holder_list *l)
{
	ts_buf data = TS_BUF_INIT;
	char check[TS_DIGEST_STRLEN], *text, *line, *next, *end;
	size_t head = strlen(HOLDERS_MAGIC) + 1 + strlen(h->host) + 1;

	list_clear(l);
	if (ts_read_file(h->path, (size_t)TS_HOLDERS_MAX * (TS_DIGEST_STRLEN + REPO_MAX + 2) + 4096,
			 &data, "cache entry", NULL) != TS_OK)
		goto out;
	ts_buf_cstr(&data); /* NUL-terminated */
	text = data.ptr;
	/* the last line is the check over everything before it */
	if (data.len < head + TS_DIGEST_STRLEN || text[data.len - 1] != '\n')
		goto out;
	end = text + data.len - TS_DIGEST_STRLEN; /* start of the check line */
	if (end[-1] != '\n')
		goto out;
	ts_sha256_digest(text, (size_t)(end - text), check);
	if (memcmp(check, end, TS_DIGEST_STRLEN - 1) != 0)
		goto out;
	if (strncmp(text, HOLDERS_MAGIC "\n", strlen(HOLDERS_MAGIC) + 1) != 0 ||
	    strncmp(text + strlen(HOLDERS_MAGIC) + 1, h->host, strlen(h->host)) != 0 ||
	    text[head - 1] != '\n')
		goto out;
	end[-1] = '\0';
	for (line = text + head; line < end && *line; line = next) {
		char *sp;
		next = strchr(line, '\n');
		next = next ? next + 1 : end;
		if (next[-1] == '\n')
			next[-1] = '\0';
		sp = strchr(line, ' ');
		if (!sp)
			continue;
		*sp = '\0';
		if (ts_digest_valid(line) && repo_ok(sp + 1))
			list_add(l, line, sp + 1);
	}
out:
	ts_buf_free(&data);
}

ts_holders *ts_holders_open(ts_blobcache *c, const char *host)
{
	char key[TS_DIGEST_STRLEN];
	ts_holders *h;
	if (!c || !host || !*host || strchr(host, '\n'))
		return NULL;
	h = ts_calloc(1, sizeof(*h));
	pthread_mutex_init(&h->mu, NULL);
	ts_sha256_digest(host, strlen(host), key);
	h->path = ts_asprintf("%s/%s", c->holders_dir, key + 7);
	h->host = ts_strdup(host);
	holders_load(h, &h->list);
	return h;
}

size_t ts_holders_find(ts_holders *h, const char *digest, const char *except, char **repos,
		       size_t max)
{
	size_t n = 0;
	if (!h || !digest)
		return 0;
	pthread_mutex_lock(&h->mu);
	for (size_t i = h->list.n; i-- > 0 && n < max;)
		if (!strcmp(h->list.v[i].digest, digest) && (!except || strcmp(h->list.v[i].repo, except)))
			repos[n++] = ts_strdup(h->list.v[i].repo);
	pthread_mutex_unlock(&h->mu);
	return n;
}

static void holders_op(ts_holders *h, bool note, const char *digest, const char *repo)
{
	if (!h || !ts_digest_valid(digest) || !repo || !repo_ok(repo))
		return;
	pthread_mutex_lock(&h->mu);
	if (note)
		list_add(&h->list, digest, repo);
	else
		list_remove(&h->list, digest, repo);
	if (h->n_ops == h->cap_ops) {
		h->cap_ops = h->cap_ops ? h->cap_ops * 2 : 16;
		h->ops = ts_realloc(h->ops, h->cap_ops * sizeof(*h->ops));
	}
	h->ops[h->n_ops].note = note;
	memcpy(h->ops[h->n_ops].h.digest, digest, TS_DIGEST_STRLEN);
	h->ops[h->n_ops].h.repo = ts_strdup(repo);
	h->n_ops++;
	pthread_mutex_unlock(&h->mu);
}

void ts_holders_note(ts_holders *h, const char *digest, const char *repo)
{
	holders_op(h, true, digest, repo);
}

void ts_holders_forget(ts_holders *h, const char *digest, const char *repo)
{
	holders_op(h, false, digest, repo);
}

void ts_holders_save(ts_holders *h)
{
	holder_list now = { 0 };
	ts_buf b = TS_BUF_INIT;
	char check[TS_DIGEST_STRLEN], *dir;
	if (!h || h->n_ops == 0)
		return;
	pthread_mutex_lock(&h->mu);
	holders_load(h, &now); /* what other pushes wrote meanwhile, then ours */
	for (size_t i = 0; i < h->n_ops; i++) {
		if (h->ops[i].note)
			list_add(&now, h->ops[i].h.digest, h->ops[i].h.repo);
		else
			list_remove(&now, h->ops[i].h.digest, h->ops[i].h.repo);
	}
	holders_text(h, &now, &b);
	ts_sha256_digest(b.ptr, b.len, check);
	ts_buf_printf(&b, "%s\n", check);
	dir = ts_strdup(h->path);
	*strrchr(dir, '/') = '\0';
	if (mkdirs(dir) == 0)
		ts_write_file_atomic(h->path, b.ptr, b.len, 0600, "cache entry", NULL);
	free(dir);
	ts_buf_free(&b);
	list_clear(&now);
	pthread_mutex_unlock(&h->mu);
}

void ts_holders_free(ts_holders *h)
{
	if (!h)
		return;
	list_clear(&h->list);
	for (size_t i = 0; i < h->n_ops; i++)
		free(h->ops[i].h.repo);
	free(h->ops);
	free(h->path);
	free(h->host);
	pthread_mutex_destroy(&h->mu);
	free(h);
}
