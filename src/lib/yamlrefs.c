/*
 * yamlrefs.c - find image references in YAML with exact byte ranges.
 *
 * The rules of yamlrefs.h are applied to each document's node tree
 * (yamltree.c) as it ends. Comments are invisible to libyaml: markers are
 * read from the bytes after a scalar's end. Findings are then cleared of
 * those a marker claims and of duplicates (one scalar reached twice) and
 * put in file order, each step a sort, not a comparison of every pair.
 */
#include <stdlib.h>
#include <string.h>

#include "tagseal/buf.h"
#include "tagseal/yamlrefs.h"
#include "yamltree.h"

/* What one node has been examined for already: through aliases and merge
 * keys a node is reached any number of times, and reaching it again finds
 * nothing new (each finding would be a duplicate of the first), so the
 * work stays in proportion to the file, not to the paths through it. */
enum { SEEN_CONTAINERS = 1, SEEN_POD = 2, SEEN_COMPOSE = 4, SEEN_KUSTOMIZE = 8 };

typedef struct yctx {
	const char *name;
	ytree t;
	bool kustomization_file;
	ts_yrefs *out;
	size_t capout;
	ts_error *err;
} yctx;

const char *ts_yref_kind_name(ts_yref_kind kind)
{
	static const char *const names[] = { "pod", "kustomize", "helm", "compose",
					     "marker", "marker-tag", "marker-digest" };
	return (size_t)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

/* ---- findings ---- */

static ts_yref *ref_new(yctx *c, ts_yref_kind kind)
{
	ts_yrefs *o = c->out;
	ts_yref *r;
	if (o->n == c->capout) {
		c->capout = c->capout ? c->capout * 2 : 16;
		o->v = ts_realloc(o->v, c->capout * sizeof(*o->v));
	}
	r = &o->v[o->n++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->insert_at = SIZE_MAX;
	return r;
}

static void ref_clear(ts_yref *r)
{
	free(r->reference);
	free(r->repo);
	ts_ref_free(&r->match);
	free(r->insert_prefix);
	for (int i = 0; i < TS_YF_COUNT; i++)
		free(r->field[i].value);
}

void ts_yrefs_free(ts_yrefs *refs)
{
	if (!refs)
		return;
	for (size_t i = 0; i < refs->n; i++)
		ref_clear(&refs->v[i]);
	free(refs->v);
	refs->v = NULL;
	refs->n = 0;
}

/* The scalar behind a node (an alias: its target's value, its own bytes). */
static bool field_set(const yctx *c, const ynode *n, ts_yscalar *f)
{
	const ynode *s = n && n->type == N_ALIAS ? n->target : n;
	if (!s || s->type != N_SCALAR)
		return false;
	f->present = true;
	f->style = n->type == N_ALIAS ? TS_YSTYLE_ALIAS : n->style;
	f->start = n->start;
	f->end = n->end;
	ts_ytree_line_col(&c->t, n->start, &f->line, &f->column);
	f->value = ts_strdup(s->value);
	return true;
}

/* Mark node n (reached through deref, so not const) as examined for `what`;
 * false when it already was. */
static bool first_visit(const ynode *n, unsigned char what)
{
	ynode *w = (ynode *)n;
	if (w->seen & what)
		return false;
	w->seen |= what;
	return true;
}

char *ts_yref_compose(const char *registry, const char *repository, const char *tag,
		      const char *digest)
{
	ts_buf b = TS_BUF_INIT;
	if (registry && *registry) {
		ts_buf_puts(&b, registry);
		if (b.len && b.ptr[b.len - 1] != '/')
			ts_buf_putc(&b, '/');
	}
	ts_buf_puts(&b, repository ? repository : "");
	if (tag && *tag)
		ts_buf_printf(&b, ":%s", tag);
	if (digest && *digest)
		ts_buf_printf(&b, "@%s", digest);
	return ts_buf_detach(&b);
}

/* "ghcr.io/org/app:v1@sha256:..." -> "ghcr.io/org/app" */
static char *repo_part(const char *ref)
{
	const char *at = strchr(ref, '@');
	size_t n = at ? (size_t)(at - ref) : strlen(ref);
	const char *slash = NULL, *colon = NULL;
	for (size_t i = 0; i < n; i++)
		if (ref[i] == '/')
			slash = ref + i;
	for (const char *p = slash ? slash : ref; p < ref + n; p++)
		if (*p == ':')
			colon = p;
	if (colon && !(ref[0] == '[' && !slash))
		n = (size_t)(colon - ref);
	return ts_strndup(ref, n);
}

/* match := repository `repo` plus tag/digest when they are valid. */
static void set_match(ts_yref *r, const char *repo, const char *tag, const char *digest)
{
	ts_error ignored = TS_ERROR_INIT;
	r->valid = ts_repo_parse(repo, &r->match, NULL, &ignored) == TS_OK;
	if (!r->valid)
		return;
	if (tag && strchr(tag, '@')) { /* Helm's "TAG@DIGEST" in the tag field */
		char *t = ts_strndup(tag, (size_t)(strchr(tag, '@') - tag));
		if (ts_tag_valid(t))
			r->match.tag = t;
		else
			free(t);
		if (!(digest && *digest))
			digest = strchr(tag, '@') + 1;
	} else if (tag && ts_tag_valid(tag)) {
		r->match.tag = ts_strdup(tag);
	}
	if (digest && ts_digest_valid(digest))
		r->match.digest = ts_strdup(digest);
}

static void ref_place(const yctx *c, ts_yref *r, size_t off)
{
	ts_ytree_line_col(&c->t, off, &r->line, &r->column);
}

/* A full reference in one scalar: pod specs, compose. */
static void add_full(yctx *c, ts_yref_kind kind, const ynode *value)
{
	ts_error ignored = TS_ERROR_INIT;
	ts_yref *r;
	if (!ts_ynode_deref(value) || ts_ynode_deref(value)->type != N_SCALAR)
		return;
	r = ref_new(c, kind);
	field_set(c, value, &r->field[TS_YF_IMAGE]);
	ref_place(c, r, value->start);
	r->reference = ts_strdup(r->field[TS_YF_IMAGE].value);
	if (r->field[TS_YF_IMAGE].style == TS_YSTYLE_LITERAL ||
	    r->field[TS_YF_IMAGE].style == TS_YSTYLE_FOLDED) {
		/* matched (so that pin refuses it) without the block's line break */
		size_t n = strlen(r->reference);
		while (n && strchr(" \t\r\n", r->reference[n - 1]))
			r->reference[--n] = '\0';
	}
	r->repo = repo_part(r->reference);
	r->valid = ts_ref_parse(r->reference, &r->match, NULL, &ignored) == TS_OK;
}

static void containers(yctx *c, const ynode *seq)
{
	seq = ts_ynode_deref(seq);
	if (!seq || seq->type != N_SEQ || !first_visit(seq, SEEN_CONTAINERS))
		return;
	for (size_t i = 0; i < seq->nkid; i++) {
		const ynode *item = ts_ynode_deref(seq->kid[i]), *image;
		if (!item || !first_visit(item, SEEN_POD))
			continue;
		image = ts_ynode_get(item, "image");
		if (image)
			add_full(c, TS_YREF_POD, image);
	}
}

static const char *fval(const ts_yref *r, ts_yfield f)
{
	return r->field[f].present ? r->field[f].value : NULL;
}

static void helm(yctx *c, const ynode *map)
{
	const ynode *repo = ts_ynode_get(map, "repository"), *tag = ts_ynode_get(map, "tag");
	ts_yscalar probe = { 0 };
	ts_yref *r;
	char *full_repo;

	if (!repo || !tag || !field_set(c, repo, &probe))
		return;
	free(probe.value);
	if (!ts_ynode_deref(tag) || ts_ynode_deref(tag)->type != N_SCALAR)
		return;
	r = ref_new(c, TS_YREF_HELM);
	field_set(c, repo, &r->field[TS_YF_REPOSITORY]);
	field_set(c, tag, &r->field[TS_YF_TAG]);
	field_set(c, ts_ynode_get(map, "registry"), &r->field[TS_YF_REGISTRY]);
	field_set(c, ts_ynode_get(map, "digest"), &r->field[TS_YF_DIGEST]);
	ref_place(c, r, r->field[TS_YF_REGISTRY].present ? r->field[TS_YF_REGISTRY].start
							  : r->field[TS_YF_REPOSITORY].start);
	full_repo = ts_yref_compose(fval(r, TS_YF_REGISTRY), fval(r, TS_YF_REPOSITORY), NULL, NULL);
	r->reference = ts_yref_compose(fval(r, TS_YF_REGISTRY), fval(r, TS_YF_REPOSITORY),
				       fval(r, TS_YF_TAG), fval(r, TS_YF_DIGEST));
	set_match(r, full_repo, fval(r, TS_YF_TAG), fval(r, TS_YF_DIGEST));
	r->repo = full_repo;
	if (!r->valid) { /* not an image mapping (a chart URL, a template) */
		ref_clear(r);
		c->out->n--;
	}
}

/* Where keys missing from a kustomize entry would go. */
static void kustomize_insert_point(yctx *c, ts_yref *r, const ynode *entry)
{
	const ynode *last;
	size_t p, line, col;

	if (entry->nkid < 2)
		return;
	last = entry->kid[entry->nkid - 1];
	if (last->type != N_SCALAR && last->type != N_ALIAS)
		return;
	if (entry->flow) {
		r->insert_at = last->end;
		r->insert_prefix = ts_strdup(", ");
		return;
	}
	for (p = last->end; p < c->t.len && !ts_ytree_break_len(&c->t, p); p++)
		;
	ts_ytree_line_col(&c->t, entry->kid[0]->start, &line, &col);
	r->insert_at = p;
	r->insert_prefix = ts_asprintf(
		"%.*s%*s", p == c->t.len ? (int)strlen(c->t.eol) : (int)ts_ytree_break_len(&c->t, p),
		p == c->t.len ? c->t.eol : c->t.data + p, (int)(col - 1), "");
}

static void kustomize_entry(yctx *c, const ynode *entry)
{
	ts_yref *r;
	const char *repo;

	entry = ts_ynode_deref(entry);
	if (!entry || entry->type != N_MAP || !first_visit(entry, SEEN_KUSTOMIZE) ||
	    !ts_ynode_get(entry, "name"))
		return;
	r = ref_new(c, TS_YREF_KUSTOMIZE);
	field_set(c, ts_ynode_get(entry, "name"), &r->field[TS_YF_NAME]);
	field_set(c, ts_ynode_get(entry, "newName"), &r->field[TS_YF_NEW_NAME]);
	field_set(c, ts_ynode_get(entry, "newTag"), &r->field[TS_YF_TAG]);
	field_set(c, ts_ynode_get(entry, "digest"), &r->field[TS_YF_DIGEST]);
	if (!r->field[TS_YF_NAME].present) {
		ref_clear(r);
		c->out->n--;
		return;
	}
	ref_place(c, r, r->field[TS_YF_NAME].start);
	repo = fval(r, TS_YF_NEW_NAME) && *fval(r, TS_YF_NEW_NAME) ? fval(r, TS_YF_NEW_NAME)
								     : fval(r, TS_YF_NAME);
	r->repo = ts_strdup(repo);
	r->reference = ts_yref_compose(NULL, repo, fval(r, TS_YF_TAG), fval(r, TS_YF_DIGEST));
	set_match(r, repo, fval(r, TS_YF_TAG), fval(r, TS_YF_DIGEST));
	kustomize_insert_point(c, r, entry);
}

static bool is_kustomization(const yctx *c, const ynode *root)
{
	const ynode *kind = ts_ynode_deref(ts_ynode_get(root, "kind"));
	const ynode *api = ts_ynode_deref(ts_ynode_get(root, "apiVersion"));
	if (c->kustomization_file)
		return true;
	if (kind && kind->type == N_SCALAR &&
	    (strcmp(kind->value, "Kustomization") == 0 || strcmp(kind->value, "Component") == 0))
		return true;
	return api && api->type == N_SCALAR &&
	       strncmp(api->value, "kustomize.config.k8s.io/", 24) == 0;
}

static void walk(yctx *c, const ynode *n)
{
	if (!n)
		return;
	if (n->type == N_SEQ) {
		for (size_t i = 0; i < n->nkid; i++)
			walk(c, n->kid[i]);
		return;
	}
	if (n->type != N_MAP)
		return;
	helm(c, n);
	for (size_t i = 0; i + 1 < n->nkid; i += 2) {
		const ynode *k = n->kid[i];
		if (k->type == N_SCALAR && (strcmp(k->value, "containers") == 0 ||
					    strcmp(k->value, "initContainers") == 0 ||
					    strcmp(k->value, "ephemeralContainers") == 0))
			containers(c, n->kid[i + 1]);
		walk(c, n->kid[i + 1]);
	}
}

static void document(yctx *c, const ynode *root)
{
	const ynode *services, *images;
	walk(c, root);
	if (!root || root->type != N_MAP)
		return;
	services = ts_ynode_deref(ts_ynode_get(root, "services"));
	if (services && services->type == N_MAP)
		for (size_t i = 1; i < services->nkid; i += 2) {
			const ynode *service = ts_ynode_deref(services->kid[i]), *image;
			if (!service || !first_visit(service, SEEN_COMPOSE))
				continue;
			image = ts_ynode_get(service, "image");
			if (image)
				add_full(c, TS_YREF_COMPOSE, image);
		}
	images = ts_ynode_deref(ts_ynode_get(root, "images"));
	if (images && images->type == N_SEQ && is_kustomization(c, root))
		for (size_t i = 0; i < images->nkid; i++)
			kustomize_entry(c, images->kid[i]);
}

/* ---- markers ---- */

static size_t skip_blanks(const yctx *c, size_t p)
{
	while (p < c->t.len && (c->t.data[p] == ' ' || c->t.data[p] == '\t'))
		p++;
	return p;
}

/* The token of a '# tagseal: TOKEN' comment right after scalar s, if any. */
static bool marker_token(const yctx *c, const ynode *s, const char **tok, size_t *len)
{
	size_t p = skip_blanks(c, s->end), q;
	if (p == s->end || p >= c->t.len || c->t.data[p] != '#')
		return false;
	p = skip_blanks(c, p + 1);
	if (c->t.len - p < 8 || memcmp(c->t.data + p, "tagseal:", 8) != 0)
		return false;
	p = skip_blanks(c, p + 8);
	for (q = p; q < c->t.len && !strchr(" \t\r\n", c->t.data[q]); q++)
		;
	*tok = c->t.data + p;
	*len = q - p;
	return true;
}

/* REPO:tag, REPO:digest or REPO; *len shrinks to REPO. */
static ts_yref_kind marker_kind(const char *tok, size_t *len)
{
	if (*len > 4 && memcmp(tok + *len - 4, ":tag", 4) == 0) {
		*len -= 4;
		return TS_YREF_MARKER_TAG;
	}
	if (*len > 7 && memcmp(tok + *len - 7, ":digest", 7) == 0) {
		*len -= 7;
		return TS_YREF_MARKER_DIGEST;
	}
	return TS_YREF_MARKER;
}

/* A full-reference marker: when the scalar parses as a reference to the
 * marker's repository, match on it and keep the file's spelling. */
static void marker_full(ts_yref *r, const char *value)
{
	ts_ref full = TS_REF_INIT;
	ts_error ignored = TS_ERROR_INIT;
	if (r->valid && ts_ref_parse(value, &full, NULL, &ignored) == TS_OK &&
	    ts_ref_same_repo(&full, &r->match)) {
		ts_ref_free(&r->match);
		r->match = full;
		free(r->repo);
		r->repo = repo_part(value);
		return;
	}
	ts_ref_free(&full);
}

static ts_code marker(yctx *c, const ynode *s)
{
	const char *tok;
	size_t len, repo_len;
	ts_yref_kind kind;
	ts_yref *r;

	if (!marker_token(c, s, &tok, &len))
		return TS_OK;
	repo_len = len;
	kind = marker_kind(tok, &repo_len);
	r = ref_new(c, kind);
	field_set(c, s, &r->field[TS_YF_IMAGE]);
	ref_place(c, r, s->start);
	r->repo = ts_strndup(tok, repo_len);
	set_match(r, r->repo, kind == TS_YREF_MARKER_TAG ? s->value : NULL,
		  kind == TS_YREF_MARKER_DIGEST ? s->value : NULL);
	if (kind == TS_YREF_MARKER) {
		r->reference = ts_strdup(s->value);
		marker_full(r, s->value);
	} else {
		r->reference = ts_yref_compose(NULL, r->repo,
					       kind == TS_YREF_MARKER_TAG ? s->value : NULL,
					       kind == TS_YREF_MARKER_DIGEST ? s->value : NULL);
	}
	if (!r->valid)
		return ts_error_set(c->err, TS_EUSAGE,
				    "%s:%zu: marker '# tagseal: %.*s' does not name a repository "
				    "(REPO, REPO:tag or REPO:digest)",
				    c->name, r->line, (int)len, tok);
	return TS_OK;
}

static int size_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

/* A marker claims its scalar: drop other findings that use that scalar. */
static void markers_win(ts_yrefs *o)
{
	size_t *claimed = ts_malloc((o->n + 1) * sizeof(*claimed)), nclaimed = 0, w = 0;
	for (size_t i = 0; i < o->n; i++)
		if (o->v[i].kind >= TS_YREF_MARKER)
			claimed[nclaimed++] = o->v[i].field[TS_YF_IMAGE].start;
	qsort(claimed, nclaimed, sizeof(*claimed), size_cmp);
	for (size_t i = 0; i < o->n; i++) {
		bool shadowed = false;
		for (int f = 0; nclaimed && o->v[i].kind < TS_YREF_MARKER && f < TS_YF_COUNT; f++)
			if (o->v[i].field[f].present &&
			    bsearch(&o->v[i].field[f].start, claimed, nclaimed, sizeof(*claimed),
				    size_cmp))
				shadowed = true;
		if (shadowed)
			ref_clear(&o->v[i]);
		else
			o->v[w++] = o->v[i];
	}
	o->n = w;
	free(claimed);
}

static size_t first_start(const ts_yref *r)
{
	for (int f = 0; f < TS_YF_COUNT; f++)
		if (r->field[f].present)
			return r->field[f].start;
	return SIZE_MAX;
}

/* Findings by kind and first scalar, then by position in the list. */
typedef struct dkey {
	int kind;
	size_t start, index;
} dkey;

static int dkey_cmp(const void *a, const void *b)
{
	const dkey *x = a, *y = b;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* One scalar reached twice (merge keys, '<<: *base'): keep the first. */
static void drop_duplicates(ts_yrefs *o)
{
	dkey *k = ts_malloc((o->n + 1) * sizeof(*k));
	bool *dup = ts_calloc(o->n + 1, sizeof(*dup));
	size_t w = 0;
	for (size_t i = 0; i < o->n; i++) {
		k[i].kind = (int)o->v[i].kind;
		k[i].start = first_start(&o->v[i]);
		k[i].index = i;
	}
	qsort(k, o->n, sizeof(*k), dkey_cmp);
	for (size_t i = 1; i < o->n; i++)
		dup[k[i].index] = k[i].kind == k[i - 1].kind && k[i].start == k[i - 1].start;
	for (size_t i = 0; i < o->n; i++) {
		if (dup[i])
			ref_clear(&o->v[i]);
		else
			o->v[w++] = o->v[i];
	}
	o->n = w;
	free(dup);
	free(k);
}

static int ref_cmp(const void *a, const void *b)
{
	const ts_yref *x = a, *y = b;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->column < y->column ? -1 : x->column > y->column;
}

static bool kustomization_name(const char *name)
{
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	return strcmp(base, "kustomization.yaml") == 0 || strcmp(base, "kustomization.yml") == 0 ||
	       strcmp(base, "Kustomization") == 0;
}

static ts_code on_scalar(void *ctx, const ynode *s)
{
	return marker(ctx, s);
}

static void on_document(void *ctx, const ynode *root)
{
	document(ctx, root);
}

ts_code ts_yrefs_find(const char *name, const char *data, size_t len, ts_yrefs *out,
		      ts_error *err)
{
	yctx c;
	const char *nul = memchr(data, '\0', len);
	ts_code rc;

	memset(&c, 0, sizeof(c));
	c.name = name;
	c.out = out;
	c.err = err;
	c.kustomization_file = kustomization_name(name);
	out->v = NULL;
	out->n = 0;
	if (nul)
		return ts_error_set(err, TS_EUSAGE,
				    "%s: binary file (NUL byte at offset %zu), not YAML", name,
				    (size_t)(nul - data));
	rc = ts_ytree_parse(&c.t, name, data, len, on_scalar, on_document, &c, err);
	ts_ytree_free(&c.t);
	if (rc != TS_OK) {
		ts_yrefs_free(out);
		return rc;
	}
	markers_win(out);
	drop_duplicates(out);
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), ref_cmp);
	return TS_OK;
}
