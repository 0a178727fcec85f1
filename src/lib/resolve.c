/*
 * resolve.c - resolving third-party tags to digests (resolve.h): a bounded
 * pool of threads, each keeping a few read-only registries open (one per
 * source repository), asking each item's sources in order and comparing
 * what mirrors answer.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tagseal/registry.h"
#include "tagseal/resolve.h"

#define CACHE_MAX 8 /* registries a thread keeps open */

typedef struct conn {
	char *key;         /* host/path, insecure, retries */
	ts_registry *reg;  /* NULL: opening failed (err) */
	ts_error err;
	unsigned long used;
} conn;

typedef struct pool {
	const ts_resolve_opts *opts;
	ts_resolve_item *items;
	size_t n;
	size_t *order;     /* items sorted by repository */
	pthread_mutex_t lock;
	size_t next, done;
} pool;

typedef struct worker_state {
	pool *p;
	conn cache[CACHE_MAX];
	unsigned long tick;
} worker_state;

static void conn_drop(conn *c)
{
	free(c->key);
	ts_registry_free(c->reg);
	memset(c, 0, sizeof(*c));
}

/* The registry for a source (opened once per thread), or NULL with *err. */
static ts_registry *get_conn(worker_state *w, const ts_source *s, bool later, ts_error *err)
{
	ts_registry_opts ro = *w->p->opts->registry;
	char *name = ts_ref_repo_string(&s->ref);
	char *key = ts_asprintf("%s %d %d", name, s->insecure, later);
	conn *slot = &w->cache[0];

	free(name);
	for (int i = 0; i < CACHE_MAX; i++) {
		if (w->cache[i].key && strcmp(w->cache[i].key, key) == 0) {
			free(key);
			w->cache[i].used = ++w->tick;
			if (!w->cache[i].reg)
				*err = w->cache[i].err;
			return w->cache[i].reg;
		}
		if (w->cache[i].used < slot->used)
			slot = &w->cache[i];
	}
	conn_drop(slot);
	slot->key = key;
	slot->used = ++w->tick;
	if (s->insecure)
		ro.plain_http = true;
	ro.read_only = true;
	if (later)
		ro.retries = 0; /* a comparison, not the answer: no waiting */
	if (ts_registry_open(&s->ref, &ro, &slot->reg, &slot->err) != TS_OK) {
		slot->reg = NULL;
		*err = slot->err;
	}
	return slot->reg;
}

/* HEAD, then GET when the registry refuses HEAD (405, 501). */
static ts_code ask(ts_registry *reg, const char *tag, ts_manifest_info *info, ts_error *err)
{
	ts_code rc = ts_registry_manifest_head(reg, tag, info, err);
	if (rc != TS_OK && (err->http_status == 405 || err->http_status == 501 ||
			    err->http_status == 400)) {
		ts_buf body = TS_BUF_INIT;
		ts_error_clear(err);
		rc = ts_registry_manifest_get(reg, tag, &body, info, err);
		ts_buf_free(&body);
	}
	return rc;
}

/* "WHERE: WHAT" appended to the list of sources tried. */
static void note(ts_buf *b, const char *where, const char *what)
{
	ts_buf_printf(b, "%s%s: %s", b->len ? "; " : "", where, what);
}

static void resolve_one(worker_state *w, ts_resolve_item *it)
{
	static const ts_regconf none = TS_REGCONF_INIT;
	const ts_regconf *conf = w->p->opts->conf ? w->p->opts->conf : &none;
	const char *tag = ts_ref_tag_or_latest(&it->ref);
	char *canon = ts_ref_canonical(&it->ref);
	ts_sources srcs;
	ts_buf tried = TS_BUF_INIT;
	ts_cause last_cause = TS_C_NONE;
	bool all_absent = true;

	it->code = ts_regconf_sources(conf, &it->ref, &srcs, &it->err);
	if (it->code != TS_OK) {
		ts_error_prefix(&it->err, "%s", canon);
		free(canon);
		return;
	}
	for (size_t i = 0; i < srcs.n && !(it->answered && !w->p->opts->compare); i++) {
		const ts_source *s = &srcs.v[i];
		char *where = ts_ref_repo_string(&s->ref);
		ts_error e = TS_ERROR_INIT;
		ts_manifest_info info;
		ts_registry *reg = get_conn(w, s, it->answered != NULL, &e);
		ts_code rc = reg ? ask(reg, tag, &info, &e) : e.code;

		if (rc == TS_OK && info.exists && !ts_digest_valid(info.digest)) {
			rc = ts_error_setc(&e, TS_C_PROTOCOL, "%s:%s: the registry gave no digest",
					   where, tag);
		}
		if (rc != TS_OK) {
			all_absent = false;
			last_cause = e.cause;
			note(&tried, where, e.msg);
		} else if (!info.exists) {
			note(&tried, where, "no such tag");
		} else if (!it->answered) {
			memcpy(it->digest, info.digest, sizeof(it->digest));
			memcpy(it->media_type, info.media_type, sizeof(it->media_type));
			it->answered = ts_strdup(where);
			it->via_mirror = s->mirror;
		} else if (strcmp(info.digest, it->digest) != 0 && !it->mismatch) {
			it->mismatch = ts_asprintf("%s: %s answered %s but %s answers %s", canon,
						   it->answered, it->digest, where, info.digest);
		}
		free(where);
	}
	if (it->answered) {
		it->code = TS_OK;
	} else if (all_absent) {
		it->code = ts_error_setc(&it->err, TS_C_NOT_FOUND, "%s: tag not found (%s)", canon,
					 ts_buf_cstr(&tried));
	} else {
		it->code = ts_error_setc(&it->err, last_cause ? last_cause : TS_C_REGISTRY,
					 "%s: cannot be resolved: %s", canon, ts_buf_cstr(&tried));
		if (it->code != TS_EREGISTRY && it->code != TS_EUSAGE)
			it->code = it->err.code = TS_EREGISTRY;
	}
	ts_buf_free(&tried);
	ts_sources_free(&srcs);
	free(canon);
}

static void *worker(void *arg)
{
	worker_state w;
	pool *p = arg;

	memset(&w, 0, sizeof(w));
	w.p = p;
	for (;;) {
		size_t i;
		pthread_mutex_lock(&p->lock);
		i = p->next++;
		pthread_mutex_unlock(&p->lock);
		if (i >= p->n)
			break;
		resolve_one(&w, &p->items[p->order[i]]);
		pthread_mutex_lock(&p->lock);
		p->done++;
		if (p->opts->progress)
			p->opts->progress(p->opts->progress_ud, &p->items[p->order[i]], p->done, p->n);
		pthread_mutex_unlock(&p->lock);
	}
	for (int i = 0; i < CACHE_MAX; i++)
		conn_drop(&w.cache[i]);
	return NULL;
}

static const ts_resolve_item *sort_base;

static int by_repo(const void *a, const void *b)
{
	const ts_ref *x = &sort_base[*(const size_t *)a].ref;
	const ts_ref *y = &sort_base[*(const size_t *)b].ref;
	int c = strcmp(x->host, y->host);
	if (!c)
		c = strcmp(x->path, y->path);
	if (!c)
		c = *(const size_t *)a < *(const size_t *)b ? -1 : 1;
	return c;
}

ts_code ts_resolve_run(const ts_resolve_opts *opts, ts_resolve_item *items, size_t n,
		       ts_error *err)
{
	static pthread_mutex_t sort_lock = PTHREAD_MUTEX_INITIALIZER;
	size_t jobs = opts->jobs > 0 ? (size_t)opts->jobs : 4, started = 0;
	pthread_t *th;
	pool p;

	if (!opts->registry)
		return ts_error_set(err, TS_EINTERNAL, "resolve: no registry options (a bug)");
	if (n == 0)
		return TS_OK;
	memset(&p, 0, sizeof(p));
	p.opts = opts;
	p.items = items;
	p.n = n;
	p.order = ts_calloc(n, sizeof(*p.order));
	for (size_t i = 0; i < n; i++) {
		p.order[i] = i;
		items[i].code = TS_OK;
		ts_error_clear(&items[i].err);
	}
	/* one repository's tags one after another: a thread reuses its registry */
	pthread_mutex_lock(&sort_lock);
	sort_base = items;
	qsort(p.order, n, sizeof(*p.order), by_repo);
	pthread_mutex_unlock(&sort_lock);
	pthread_mutex_init(&p.lock, NULL);
	if (jobs > n)
		jobs = n;
	th = ts_calloc(jobs, sizeof(*th));
	for (size_t i = 0; jobs > 1 && i < jobs; i++)
		if (pthread_create(&th[i], NULL, worker, &p) == 0)
			started++;
	if (!started)
		worker(&p);
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(th);
	pthread_mutex_destroy(&p.lock);
	free(p.order);
	return TS_OK;
}

void ts_resolve_item_free(ts_resolve_item *it)
{
	ts_ref_free(&it->ref);
	free(it->answered);
	free(it->mismatch);
	it->answered = it->mismatch = NULL;
}
