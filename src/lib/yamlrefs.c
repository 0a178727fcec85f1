/*
 * yamlrefs.c - find image references in YAML with exact byte ranges.
 *
 * libyaml's events are folded into a small node tree (keeping aliases as
 * aliases, so they can be refused rather than edited through), then the
 * rules of yamlrefs.h are applied per document. libyaml marks count
 * characters, not bytes (a UTF-8 BOM is not counted, CRLF counts two), so a
 * character-to-byte table translates them. Comments are invisible to
 * libyaml: markers are read from the bytes after a scalar's end.
 */
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "tagseal/buf.h"
#include "tagseal/yamlrefs.h"

enum { N_SCALAR, N_SEQ, N_MAP, N_ALIAS };

#define TS_YAML_MAX_DEPTH 512
#define CK_STEP 64 /* characters between two checkpoints of the byte map */

#define MERGE_DEPTH 8 /* '<<' merge keys followed at most this deep */

/* What one node has been examined for already: through aliases and merge
 * keys a node is reached any number of times, and reaching it again finds
 * nothing new (each finding would be a duplicate of the first), so the
 * work stays in proportion to the file, not to the paths through it. */
enum { SEEN_CONTAINERS = 1, SEEN_POD = 2, SEEN_COMPOSE = 4, SEEN_KUSTOMIZE = 8 };

typedef struct ynode ynode;

/* A remembered lookup: `key` in this map at merge depth `depth`. */
typedef struct lookup {
	struct lookup *next;
	const char *key;
	int depth;
	const ynode *found;
} lookup;

struct ynode {
	int type;
	bool flow;
	unsigned char seen; /* SEEN_* */
	ts_ystyle style;
	size_t start, end; /* bytes */
	char *value;       /* scalars */
	char *anchor;
	ynode *target;     /* aliases */
	ynode **kid;       /* maps: key, value, key, value ... */
	size_t nkid, capkid;
	lookup *lookups;   /* maps reached through '<<' */
};

typedef struct yctx {
	const char *name;
	const char *data;
	size_t len;
	size_t *ck;    /* byte offset of every CK_STEP-th character */
	size_t nchars;
	size_t last_char, last_byte; /* byte_at's last answer */
	size_t *lines; /* byte offset of each line start */
	size_t nlines;
	char *eol;
	bool kustomization_file;
	ynode **all;   /* the nodes of the current document */
	size_t nall, capall;
	void *anchors; /* tsearch tree: the current document's latest node per anchor */
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

/* ---- positions ---- */

/* Length of the line break at byte i, 0 if none. Like libyaml (YAML 1.1):
 * CRLF, LF, a lone CR, NEL, LS and PS. */
static size_t break_len(const yctx *c, size_t i)
{
	const unsigned char *d = (const unsigned char *)c->data + i;
	size_t left = c->len - i;
	if (d[0] == '\n')
		return 1;
	if (d[0] == '\r')
		return left > 1 && d[1] == '\n' ? 2 : 1;
	if (left > 1 && d[0] == 0xC2 && d[1] == 0x85)
		return 2;
	if (left > 2 && d[0] == 0xE2 && d[1] == 0x80 && (d[2] == 0xA8 || d[2] == 0xA9))
		return 3;
	return 0;
}

static bool continuation(const yctx *c, size_t i)
{
	return ((unsigned char)c->data[i] & 0xC0) == 0x80;
}

/* Count the line starts; store them too when `lines` is not NULL. */
static size_t scan_lines(const yctx *c, size_t *lines)
{
	size_t n = 1;
	if (lines)
		lines[0] = 0;
	for (size_t i = 0; i < c->len; i++) {
		size_t b = break_len(c, i);
		if (b) {
			if (lines)
				lines[n] = i + b;
			n++;
			i += b - 1;
		}
	}
	return n;
}

/* The maps take memory in proportion to the lines and a sixty-fourth of the
 * characters, not to every byte: a manifest may be TS_YAML_MAX bytes. */
static void build_maps(yctx *c)
{
	size_t start = 0;

	if (c->len >= 3 && memcmp(c->data, "\xef\xbb\xbf", 3) == 0)
		start = 3;
	c->ck = ts_malloc((c->len / CK_STEP + 2) * sizeof(size_t));
	for (size_t i = start; i < c->len; i++)
		if (!continuation(c, i)) {
			if (c->nchars % CK_STEP == 0)
				c->ck[c->nchars / CK_STEP] = i;
			c->nchars++;
		}
	c->last_byte = c->nchars ? c->ck[0] : c->len; /* last_char: 0 */

	c->nlines = scan_lines(c, NULL);
	c->lines = ts_malloc(c->nlines * sizeof(size_t));
	scan_lines(c, c->lines);
	c->eol = ts_strdup("\n"); /* the first line break's style */
	for (size_t i = 0; i < c->len; i++)
		if (break_len(c, i)) {
			free(c->eol);
			c->eol = ts_strndup(c->data + i, break_len(c, i));
			break;
		}
}

/* Characters are the bytes that are not UTF-8 continuation bytes, counted
 * after a BOM: from the checkpoint before, or from the last answer when it
 * lies between (marks mostly move forward), at most CK_STEP-1 steps. */
static size_t byte_at(yctx *c, size_t char_index)
{
	size_t from = char_index - char_index % CK_STEP, p;
	if (char_index >= c->nchars)
		return c->len;
	p = c->ck[char_index / CK_STEP];
	if (c->last_char >= from && c->last_char <= char_index) {
		from = c->last_char;
		p = c->last_byte;
	}
	for (size_t k = char_index - from; k; k--)
		do
			p++;
		while (p < c->len && continuation(c, p));
	c->last_char = char_index;
	c->last_byte = p;
	return p;
}

/* 1-based line and byte column of a byte offset. */
static void line_col(const yctx *c, size_t off, size_t *line, size_t *col)
{
	size_t lo = 0, hi = c->nlines;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (c->lines[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	*line = lo + 1;
	*col = off - c->lines[lo] + 1;
}

/* Skip a node's properties (&anchor, !tag) and the space after them. */
static size_t skip_properties(const yctx *c, size_t p, size_t end)
{
	while (p < end && (c->data[p] == '&' || c->data[p] == '!')) {
		while (p < end && !strchr(" \t\r\n", c->data[p]))
			p++;
		while (p < end) {
			if (strchr(" \t\r\n", c->data[p])) {
				p++;
			} else if (c->data[p] == '#') {
				while (p < end && c->data[p] != '\n')
					p++;
			} else {
				break;
			}
		}
	}
	return p;
}

/* ---- the node tree ---- */

static ynode *node_new(yctx *c, int type, const yaml_event_t *e)
{
	ynode *n = ts_calloc(1, sizeof(*n));
	n->type = type;
	n->start = byte_at(c, e->start_mark.index);
	n->end = byte_at(c, e->end_mark.index);
	if (c->nall == c->capall) {
		c->capall = c->capall ? c->capall * 2 : 64;
		c->all = ts_realloc(c->all, c->capall * sizeof(*c->all));
	}
	c->all[c->nall++] = n;
	return n;
}

static void node_add(ynode *parent, ynode *kid)
{
	if (parent->nkid == parent->capkid) {
		parent->capkid = parent->capkid ? parent->capkid * 2 : 8;
		parent->kid = ts_realloc(parent->kid, parent->capkid * sizeof(*parent->kid));
	}
	parent->kid[parent->nkid++] = kid;
}

static int anchor_cmp(const void *a, const void *b)
{
	return strcmp(((const ynode *)a)->anchor, ((const ynode *)b)->anchor);
}

/* Anchor n: an alias names the latest node with its anchor. */
static void anchor_add(yctx *c, ynode *n)
{
	ynode **slot = tsearch(n, &c->anchors, anchor_cmp);
	if (!slot)
		abort(); /* out of memory, as ts_malloc */
	*slot = n;
}

/* Free the current document's nodes (a document's anchors are its own). */
static void nodes_free(yctx *c)
{
	for (size_t i = 0; i < c->nall; i++)
		if (c->all[i]->anchor)
			tdelete(c->all[i], &c->anchors, anchor_cmp);
	for (size_t i = 0; i < c->nall; i++) {
		for (lookup *l = c->all[i]->lookups, *next; l; l = next) {
			next = l->next;
			free(l);
		}
		free(c->all[i]->value);
		free(c->all[i]->anchor);
		free(c->all[i]->kid);
		free(c->all[i]);
	}
	free(c->all);
	c->all = NULL;
	c->nall = c->capall = 0;
}

static ynode *find_anchor(const yctx *c, const char *anchor)
{
	ynode key, **slot;
	key.anchor = (char *)anchor;
	slot = tfind(&key, &c->anchors, anchor_cmp);
	return slot ? *slot : NULL;
}

static ts_ystyle scalar_style(yaml_scalar_style_t s)
{
	switch (s) {
	case YAML_SINGLE_QUOTED_SCALAR_STYLE: return TS_YSTYLE_SINGLE;
	case YAML_DOUBLE_QUOTED_SCALAR_STYLE: return TS_YSTYLE_DOUBLE;
	case YAML_LITERAL_SCALAR_STYLE: return TS_YSTYLE_LITERAL;
	case YAML_FOLDED_SCALAR_STYLE: return TS_YSTYLE_FOLDED;
	default: return TS_YSTYLE_PLAIN;
	}
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
	line_col(c, n->start, &f->line, &f->column);
	f->value = ts_strdup(s->value);
	return true;
}

static const ynode *deref(const ynode *n)
{
	return n && n->type == N_ALIAS ? n->target : n;
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

/* A mapping's value for `key`, looking into '<<' merge keys too (at most
 * MERGE_DEPTH deep). Lookups in merged maps are remembered per depth, as a
 * merged map is shared: '<<: [*a, *a, ...]' nested would take exponential
 * time, many maps merging one large map quadratic time. */
static const ynode *map_get_depth(const ynode *map, const char *key, int depth)
{
	const ynode *found = NULL;
	lookup *l;
	map = deref(map);
	if (!map || map->type != N_MAP || depth > MERGE_DEPTH)
		return NULL;
	for (l = map->lookups; l; l = l->next)
		if (l->depth == depth && strcmp(l->key, key) == 0)
			return l->found;
	for (size_t i = 0; !found && i + 1 < map->nkid; i += 2)
		if (map->kid[i]->type == N_SCALAR && strcmp(map->kid[i]->value, key) == 0)
			found = map->kid[i + 1];
	for (size_t i = 0; !found && i + 1 < map->nkid; i += 2) {
		const ynode *v = deref(map->kid[i + 1]);
		if (map->kid[i]->type != N_SCALAR || strcmp(map->kid[i]->value, "<<") != 0 || !v)
			continue;
		if (v->type == N_MAP)
			found = map_get_depth(v, key, depth + 1);
		for (size_t j = 0; v->type == N_SEQ && !found && j < v->nkid; j++)
			found = map_get_depth(v->kid[j], key, depth + 1);
	}
	if (depth > 0) { /* a merged map: remember (the map itself is looked up once) */
		l = ts_malloc(sizeof(*l));
		l->key = key;
		l->depth = depth;
		l->found = found;
		l->next = map->lookups;
		((ynode *)map)->lookups = l;
	}
	return found;
}

static const ynode *map_get(const ynode *map, const char *key)
{
	return map_get_depth(map, key, 0);
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
	line_col(c, off, &r->line, &r->column);
}

/* A full reference in one scalar: pod specs, compose. */
static void add_full(yctx *c, ts_yref_kind kind, const ynode *value)
{
	ts_error ignored = TS_ERROR_INIT;
	ts_yref *r;
	if (!deref(value) || deref(value)->type != N_SCALAR)
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
	seq = deref(seq);
	if (!seq || seq->type != N_SEQ || !first_visit(seq, SEEN_CONTAINERS))
		return;
	for (size_t i = 0; i < seq->nkid; i++) {
		const ynode *item = deref(seq->kid[i]), *image;
		if (!item || !first_visit(item, SEEN_POD))
			continue;
		image = map_get(item, "image");
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
	const ynode *repo = map_get(map, "repository"), *tag = map_get(map, "tag");
	ts_yscalar probe = { 0 };
	ts_yref *r;
	char *full_repo;

	if (!repo || !tag || !field_set(c, repo, &probe))
		return;
	free(probe.value);
	if (!deref(tag) || deref(tag)->type != N_SCALAR)
		return;
	r = ref_new(c, TS_YREF_HELM);
	field_set(c, repo, &r->field[TS_YF_REPOSITORY]);
	field_set(c, tag, &r->field[TS_YF_TAG]);
	field_set(c, map_get(map, "registry"), &r->field[TS_YF_REGISTRY]);
	field_set(c, map_get(map, "digest"), &r->field[TS_YF_DIGEST]);
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
	for (p = last->end; p < c->len && !break_len(c, p); p++)
		;
	line_col(c, entry->kid[0]->start, &line, &col);
	r->insert_at = p;
	r->insert_prefix = ts_asprintf("%.*s%*s", p == c->len ? (int)strlen(c->eol) : (int)break_len(c, p),
				       p == c->len ? c->eol : c->data + p, (int)(col - 1), "");
}

static void kustomize_entry(yctx *c, const ynode *entry)
{
	ts_yref *r;
	const char *repo;

	entry = deref(entry);
	if (!entry || entry->type != N_MAP || !first_visit(entry, SEEN_KUSTOMIZE) ||
	    !map_get(entry, "name"))
		return;
	r = ref_new(c, TS_YREF_KUSTOMIZE);
	field_set(c, map_get(entry, "name"), &r->field[TS_YF_NAME]);
	field_set(c, map_get(entry, "newName"), &r->field[TS_YF_NEW_NAME]);
	field_set(c, map_get(entry, "newTag"), &r->field[TS_YF_TAG]);
	field_set(c, map_get(entry, "digest"), &r->field[TS_YF_DIGEST]);
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
	const ynode *kind = deref(map_get(root, "kind")), *api = deref(map_get(root, "apiVersion"));
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
	services = deref(map_get(root, "services"));
	if (services && services->type == N_MAP)
		for (size_t i = 1; i < services->nkid; i += 2) {
			const ynode *service = deref(services->kid[i]), *image;
			if (!service || !first_visit(service, SEEN_COMPOSE))
				continue;
			image = map_get(service, "image");
			if (image)
				add_full(c, TS_YREF_COMPOSE, image);
		}
	images = deref(map_get(root, "images"));
	if (images && images->type == N_SEQ && is_kustomization(c, root))
		for (size_t i = 0; i < images->nkid; i++)
			kustomize_entry(c, images->kid[i]);
}

/* ---- markers ---- */

static size_t skip_blanks(const yctx *c, size_t p)
{
	while (p < c->len && (c->data[p] == ' ' || c->data[p] == '\t'))
		p++;
	return p;
}

/* The token of a '# tagseal: TOKEN' comment right after scalar s, if any. */
static bool marker_token(const yctx *c, const ynode *s, const char **tok, size_t *len)
{
	size_t p = skip_blanks(c, s->end), q;
	if (p == s->end || p >= c->len || c->data[p] != '#')
		return false;
	p = skip_blanks(c, p + 1);
	if (c->len - p < 8 || memcmp(c->data + p, "tagseal:", 8) != 0)
		return false;
	p = skip_blanks(c, p + 8);
	for (q = p; q < c->len && !strchr(" \t\r\n", c->data[q]); q++)
		;
	*tok = c->data + p;
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

/* ---- the event loop ---- */

static ts_code parse_error(yctx *c, const yaml_parser_t *p)
{
	size_t line, col, cline, ccol;
	line_col(c, byte_at(c, p->problem_mark.index), &line, &col);
	if (!p->context)
		return ts_error_set(c->err, TS_EUSAGE, "%s:%zu:%zu: not valid YAML: %s", c->name,
				    line, col, p->problem ? p->problem : "parse error");
	line_col(c, byte_at(c, p->context_mark.index), &cline, &ccol);
	return ts_error_set(c->err, TS_EUSAGE, "%s:%zu:%zu: not valid YAML: %s (%s at %zu:%zu)",
			    c->name, line, col, p->problem ? p->problem : "parse error",
			    p->context, cline, ccol);
}

/* Turn one event into tree structure; `stack` holds the open collections. */
static ts_code on_event(yctx *c, const yaml_event_t *e, ynode ***stack, size_t *depth, ynode **root)
{
	ynode *n = NULL;
	const yaml_char_t *anchor = NULL;

	switch (e->type) {
	case YAML_DOCUMENT_START_EVENT:
		*root = NULL;
		return TS_OK;
	case YAML_DOCUMENT_END_EVENT:
		document(c, *root);
		nodes_free(c);
		*root = NULL;
		return TS_OK;
	case YAML_SCALAR_EVENT:
		n = node_new(c, N_SCALAR, e);
		n->start = skip_properties(c, n->start, n->end);
		n->style = scalar_style(e->data.scalar.style);
		n->value = ts_strndup((const char *)e->data.scalar.value, e->data.scalar.length);
		anchor = e->data.scalar.anchor;
		if (marker(c, n) != TS_OK)
			return TS_EUSAGE;
		break;
	case YAML_ALIAS_EVENT:
		n = node_new(c, N_ALIAS, e);
		n->target = find_anchor(c, (const char *)e->data.alias.anchor);
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		n = node_new(c, e->type == YAML_SEQUENCE_START_EVENT ? N_SEQ : N_MAP, e);
		if (e->type == YAML_SEQUENCE_START_EVENT) {
			anchor = e->data.sequence_start.anchor;
			n->flow = e->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE;
		} else {
			anchor = e->data.mapping_start.anchor;
			n->flow = e->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE;
		}
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (*depth)
			(*depth)--;
		return TS_OK;
	default:
		return TS_OK;
	}
	if (anchor) {
		n->anchor = ts_strdup((const char *)anchor);
		anchor_add(c, n);
	}
	if (*depth)
		node_add((*stack)[*depth - 1], n);
	else
		*root = n;
	if ((n->type == N_SEQ || n->type == N_MAP) && *depth >= TS_YAML_MAX_DEPTH) {
		size_t line, col;
		line_col(c, n->start, &line, &col);
		return ts_error_set(c->err, TS_EUSAGE, "%s:%zu: nested deeper than %d levels",
				    c->name, line, TS_YAML_MAX_DEPTH);
	}
	if (n->type == N_SEQ || n->type == N_MAP) {
		*stack = ts_realloc(*stack, (*depth + 1) * sizeof(**stack));
		(*stack)[(*depth)++] = n;
	}
	return TS_OK;
}

static ts_code run_parser(yctx *c)
{
	yaml_parser_t p;
	yaml_event_t e;
	ynode **stack = NULL, *root = NULL;
	size_t depth = 0;
	ts_code rc = TS_OK;
	bool done = false;

	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)c->data, c->len);
	while (!done && rc == TS_OK) {
		if (!yaml_parser_parse(&p, &e)) {
			rc = parse_error(c, &p);
			break;
		}
		done = e.type == YAML_STREAM_END_EVENT;
		rc = on_event(c, &e, &stack, &depth, &root);
		yaml_event_delete(&e);
	}
	yaml_parser_delete(&p);
	free(stack);
	return rc;
}

static bool kustomization_name(const char *name)
{
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	return strcmp(base, "kustomization.yaml") == 0 || strcmp(base, "kustomization.yml") == 0 ||
	       strcmp(base, "Kustomization") == 0;
}

ts_code ts_yrefs_find(const char *name, const char *data, size_t len, ts_yrefs *out,
		      ts_error *err)
{
	yctx c;
	const char *nul = memchr(data, '\0', len);
	ts_code rc;

	memset(&c, 0, sizeof(c));
	c.name = name;
	c.data = data;
	c.len = len;
	c.out = out;
	c.err = err;
	c.kustomization_file = kustomization_name(name);
	out->v = NULL;
	out->n = 0;
	if (nul)
		return ts_error_set(err, TS_EUSAGE,
				    "%s: binary file (NUL byte at offset %zu), not YAML", name,
				    (size_t)(nul - data));
	build_maps(&c);
	rc = run_parser(&c);
	nodes_free(&c);
	free(c.ck);
	free(c.lines);
	free(c.eol);
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
