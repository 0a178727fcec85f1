/*
 * yamltree.c - libyaml's events folded into one document's node tree at a
 * time, with byte positions (see yamltree.h).
 *
 * Everything here takes time and memory in proportion to the input: the
 * character-to-byte map keeps a checkpoint every CK_STEP characters, anchors
 * are found in a tsearch tree, and lookups through merge keys are
 * remembered, as one merged map may be reached by any number of paths.
 */
#include <search.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "yamltree.h"

#define TS_YAML_MAX_DEPTH 512
#define CK_STEP 64    /* characters between two checkpoints of the byte map */
#define MERGE_DEPTH 8 /* '<<' merge keys followed at most this deep */
#define CHUNK (64 * 1024) /* arena chunk size (larger requests get their own) */

struct ychunk {
	ychunk *next;
	size_t used, cap;
	max_align_t mem[]; /* cap bytes */
};

/* A remembered lookup: `key` in this map at merge depth `depth`. */
struct ylookup {
	ylookup *next;
	const char *key;
	int depth;
	const ynode *found;
};

/* ---- positions ---- */

size_t ts_ytree_break_len(const ytree *t, size_t i)
{
	const unsigned char *d = (const unsigned char *)t->data + i;
	size_t left = t->len - i;
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

static bool continuation(const ytree *t, size_t i)
{
	return ((unsigned char)t->data[i] & 0xC0) == 0x80;
}

/* Count the line starts; store them too when `lines` is not NULL. */
static size_t scan_lines(const ytree *t, size_t *lines)
{
	size_t n = 1;
	if (lines)
		lines[0] = 0;
	for (size_t i = 0; i < t->len; i++) {
		size_t b = ts_ytree_break_len(t, i);
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
static void build_maps(ytree *t)
{
	size_t start = 0;

	if (t->len >= 3 && memcmp(t->data, "\xef\xbb\xbf", 3) == 0)
		start = 3;
	t->ck = ts_malloc((t->len / CK_STEP + 2) * sizeof(size_t));
	for (size_t i = start; i < t->len; i++)
		if (!continuation(t, i)) {
			if (t->nchars % CK_STEP == 0)
				t->ck[t->nchars / CK_STEP] = i;
			t->nchars++;
		}
	t->last_byte = t->nchars ? t->ck[0] : t->len; /* last_char: 0 */

	t->nlines = scan_lines(t, NULL);
	t->lines = ts_malloc(t->nlines * sizeof(size_t));
	scan_lines(t, t->lines);
	t->eol = ts_strdup("\n"); /* the first line break's style */
	for (size_t i = 0; i < t->len; i++)
		if (ts_ytree_break_len(t, i)) {
			free(t->eol);
			t->eol = ts_strndup(t->data + i, ts_ytree_break_len(t, i));
			break;
		}
}

/* Characters are the bytes that are not UTF-8 continuation bytes, counted
 * after a BOM: from the checkpoint before, or from the last answer when it
 * lies between (marks mostly move forward), at most CK_STEP-1 steps. */
static size_t byte_at(ytree *t, size_t char_index)
{
	size_t from = char_index - char_index % CK_STEP, p;
	if (char_index >= t->nchars)
		return t->len;
	p = t->ck[char_index / CK_STEP];
	if (t->last_char >= from && t->last_char <= char_index) {
		from = t->last_char;
		p = t->last_byte;
	}
	for (size_t k = char_index - from; k; k--)
		do
			p++;
		while (p < t->len && continuation(t, p));
	t->last_char = char_index;
	t->last_byte = p;
	return p;
}

void ts_ytree_line_col(const ytree *t, size_t off, size_t *line, size_t *col)
{
	size_t lo = 0, hi = t->nlines;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (t->lines[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	*line = lo + 1;
	*col = off - t->lines[lo] + 1;
}

/* Skip a node's properties (&anchor, !tag) and the space after them. */
static size_t skip_properties(const ytree *t, size_t p, size_t end)
{
	while (p < end && (t->data[p] == '&' || t->data[p] == '!')) {
		while (p < end && !strchr(" \t\r\n", t->data[p]))
			p++;
		while (p < end) {
			if (strchr(" \t\r\n", t->data[p])) {
				p++;
			} else if (t->data[p] == '#') {
				while (p < end && t->data[p] != '\n')
					p++;
			} else {
				break;
			}
		}
	}
	return p;
}

/* ---- the node tree ---- */

/* n bytes from the current document's arena, aligned as malloc's are. */
static void *arena_alloc(ytree *t, size_t n)
{
	ychunk *ch = t->arena;
	void *p;
	n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	if (!ch || ch->cap - ch->used < n) {
		size_t cap = n > CHUNK ? n : CHUNK;
		ch = ts_malloc(offsetof(ychunk, mem) + cap);
		ch->used = 0;
		ch->cap = cap;
		ch->next = t->arena;
		t->arena = ch;
	}
	p = (unsigned char *)ch->mem + ch->used;
	ch->used += n;
	return p;
}

/* Free the arena, keeping one chunk for the next document. */
static void arena_reset(ytree *t, bool keep)
{
	ychunk *ch = t->arena, *next;
	if (keep && ch) {
		while (ch->next) {
			next = ch->next->next;
			free(ch->next);
			ch->next = next;
		}
		ch->used = 0;
		return;
	}
	for (; ch; ch = next) {
		next = ch->next;
		free(ch);
	}
	t->arena = NULL;
}

static char *arena_strndup(ytree *t, const char *s, size_t n)
{
	char *p = arena_alloc(t, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static ynode *node_new(ytree *t, int type, const yaml_event_t *e)
{
	ynode *n = arena_alloc(t, sizeof(*n));
	memset(n, 0, sizeof(*n));
	n->type = (unsigned char)type;
	n->start = byte_at(t, e->start_mark.index);
	n->end = byte_at(t, e->end_mark.index);
	if (t->nall == t->capall) {
		t->capall = t->capall ? t->capall * 2 : 64;
		t->all = ts_realloc(t->all, t->capall * sizeof(*t->all));
	}
	t->all[t->nall++] = n;
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
static void anchor_add(ytree *t, ynode *n)
{
	ynode **slot = tsearch(n, &t->anchors, anchor_cmp);
	if (!slot)
		abort(); /* out of memory, as ts_malloc */
	*slot = n;
}

/* Free the current document's nodes (a document's anchors are its own). */
static void nodes_free(ytree *t, bool keep)
{
	for (size_t i = 0; i < t->nall; i++)
		if (t->all[i]->anchor)
			tdelete(t->all[i], &t->anchors, anchor_cmp);
	for (size_t i = 0; i < t->nall; i++) {
		if (t->all[i]->type != N_SEQ && t->all[i]->type != N_MAP)
			continue;
		for (ylookup *l = t->all[i]->lookups, *next; l; l = next) {
			next = l->next;
			free(l);
		}
		free(t->all[i]->kid);
	}
	t->nall = 0;
	arena_reset(t, keep);
}

static ynode *find_anchor(const ytree *t, const char *anchor)
{
	ynode key, **slot;
	key.anchor = (char *)anchor;
	slot = tfind(&key, &t->anchors, anchor_cmp);
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

const ynode *ts_ynode_deref(const ynode *n)
{
	return n && n->type == N_ALIAS ? n->target : n;
}

/* A mapping's value for `key`, looking into '<<' merge keys too (at most
 * MERGE_DEPTH deep). Lookups in merged maps are remembered per depth, as a
 * merged map is shared: '<<: [*a, *a, ...]' nested would take exponential
 * time, many maps merging one large map quadratic time. */
static const ynode *map_get_depth(const ynode *map, const char *key, int depth)
{
	const ynode *found = NULL;
	ylookup *l;
	map = ts_ynode_deref(map);
	if (!map || map->type != N_MAP || depth > MERGE_DEPTH)
		return NULL;
	for (l = map->lookups; l; l = l->next)
		if (l->depth == depth && strcmp(l->key, key) == 0)
			return l->found;
	for (size_t i = 0; !found && i + 1 < map->nkid; i += 2)
		if (map->kid[i]->type == N_SCALAR && strcmp(map->kid[i]->value, key) == 0)
			found = map->kid[i + 1];
	for (size_t i = 0; !found && i + 1 < map->nkid; i += 2) {
		const ynode *v = ts_ynode_deref(map->kid[i + 1]);
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

const ynode *ts_ynode_get(const ynode *map, const char *key)
{
	return map_get_depth(map, key, 0);
}

/* ---- the event loop ---- */

typedef struct ystate {
	ytree *t;
	const char *name;
	ts_error *err;
	ytree_scalar_fn on_scalar;
	ytree_document_fn on_document;
	void *ctx;
	ynode **stack; /* the open collections */
	size_t depth;
	ynode *root;
} ystate;

static ts_code parse_error(ystate *y, const yaml_parser_t *p)
{
	size_t line, col, cline, ccol;
	ts_ytree_line_col(y->t, byte_at(y->t, p->problem_mark.index), &line, &col);
	if (!p->context)
		return ts_error_set(y->err, TS_EUSAGE, "%s:%zu:%zu: not valid YAML: %s", y->name,
				    line, col, p->problem ? p->problem : "parse error");
	ts_ytree_line_col(y->t, byte_at(y->t, p->context_mark.index), &cline, &ccol);
	return ts_error_set(y->err, TS_EUSAGE, "%s:%zu:%zu: not valid YAML: %s (%s at %zu:%zu)",
			    y->name, line, col, p->problem ? p->problem : "parse error",
			    p->context, cline, ccol);
}

/* Turn one event into tree structure. */
static ts_code on_event(ystate *y, const yaml_event_t *e)
{
	ytree *t = y->t;
	ynode *n = NULL;
	const yaml_char_t *anchor = NULL;
	ts_code rc;

	switch (e->type) {
	case YAML_DOCUMENT_START_EVENT:
		y->root = NULL;
		return TS_OK;
	case YAML_DOCUMENT_END_EVENT:
		y->on_document(y->ctx, y->root);
		nodes_free(t, true);
		y->root = NULL;
		return TS_OK;
	case YAML_SCALAR_EVENT:
		n = node_new(t, N_SCALAR, e);
		n->start = skip_properties(t, n->start, n->end);
		n->style = (unsigned char)scalar_style(e->data.scalar.style);
		n->value = arena_strndup(t, (const char *)e->data.scalar.value,
					 e->data.scalar.length);
		anchor = e->data.scalar.anchor;
		rc = y->on_scalar(y->ctx, n);
		if (rc != TS_OK)
			return rc;
		break;
	case YAML_ALIAS_EVENT:
		n = node_new(t, N_ALIAS, e);
		n->target = find_anchor(t, (const char *)e->data.alias.anchor);
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		n = node_new(t, e->type == YAML_SEQUENCE_START_EVENT ? N_SEQ : N_MAP, e);
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
		if (y->depth)
			y->depth--;
		return TS_OK;
	default:
		return TS_OK;
	}
	if (anchor) {
		n->anchor = arena_strndup(t, (const char *)anchor, strlen((const char *)anchor));
		anchor_add(t, n);
	}
	if (y->depth)
		node_add(y->stack[y->depth - 1], n);
	else
		y->root = n;
	if ((n->type == N_SEQ || n->type == N_MAP) && y->depth >= TS_YAML_MAX_DEPTH) {
		size_t line, col;
		ts_ytree_line_col(t, n->start, &line, &col);
		return ts_error_set(y->err, TS_EUSAGE, "%s:%zu: nested deeper than %d levels",
				    y->name, line, TS_YAML_MAX_DEPTH);
	}
	if (n->type == N_SEQ || n->type == N_MAP) {
		y->stack = ts_realloc(y->stack, (y->depth + 1) * sizeof(*y->stack));
		y->stack[y->depth++] = n;
	}
	return TS_OK;
}

ts_code ts_ytree_parse(ytree *t, const char *name, const char *data, size_t len,
		       ytree_scalar_fn on_scalar, ytree_document_fn on_document, void *ctx,
		       ts_error *err)
{
	ystate y = { t, name, err, on_scalar, on_document, ctx, NULL, 0, NULL };
	yaml_parser_t p;
	yaml_event_t e;
	ts_code rc = TS_OK;
	bool done = false;

	memset(t, 0, sizeof(*t));
	t->data = data;
	t->len = len;
	build_maps(t);
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	while (!done && rc == TS_OK) {
		if (!yaml_parser_parse(&p, &e)) {
			rc = parse_error(&y, &p);
			break;
		}
		done = e.type == YAML_STREAM_END_EVENT;
		rc = on_event(&y, &e);
		yaml_event_delete(&e);
	}
	yaml_parser_delete(&p);
	free(y.stack);
	return rc;
}

void ts_ytree_free(ytree *t)
{
	nodes_free(t, false);
	free(t->all);
	free(t->ck);
	free(t->lines);
	free(t->eol);
	memset(t, 0, sizeof(*t));
}
