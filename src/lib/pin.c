/*
 * pin.c - the rewriter behind 'tagseal pin', 'push --pin' and 'pin --resolve/
 * --update' (there a ts_pin_choice names each finding's own target).
 *
 * Per file, in memory: find the references (yamlrefs.c), turn those that
 * name the target repository (or that the choice picks) into byte edits (replace a scalar, keeping its
 * quoting style; insert kustomize keys), apply them, and re-parse the result
 * to prove that only those references changed. Nothing here writes a file:
 * pin_apply.c does, once every file has been rewritten here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tagseal/pin.h"

typedef struct target {
	ts_ref ref;   /* host, path, tag (may be NULL), digest */
	ts_pin_form form;
	const ts_pin_choice *choice; /* a target per finding instead */
} target;

typedef struct edit {
	size_t start, end;
	char *text;
} edit;

typedef struct edits {
	edit *v;
	size_t n, cap;
} edits;

static void edits_add(edits *e, size_t start, size_t end, char *owned_text)
{
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 16;
		e->v = ts_realloc(e->v, e->cap * sizeof(*e->v));
	}
	e->v[e->n].start = start;
	e->v[e->n].end = end;
	e->v[e->n++].text = owned_text;
}

static void edits_free(edits *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i].text);
	free(e->v);
	e->v = NULL;
	e->n = e->cap = 0;
}

static ts_code target_parse(const ts_pin_opts *opts, target *t, ts_error *err)
{
	ts_code rc = ts_ref_parse(opts->image, &t->ref, "--image", err);
	if (rc)
		return rc;
	t->form = opts->form;
	if (!t->ref.digest) {
		ts_ref_free(&t->ref);
		return ts_error_set(err, TS_EUSAGE,
				    "--image: '%s' has no digest: give REPO:TAG@sha256:<64 hex>",
				    opts->image);
	}
	if (!t->ref.tag)
		t->form = TS_PIN_FORM_DIGEST;
	return TS_OK;
}

/* ---- rendering a scalar in its style ---- */

/* Would a plain scalar read back as something other than a string (a
 * bool, null, int or float under YAML 1.1 or 1.2, as Go and Python read)? */
static bool looks_typed(const char *v)
{
	static const char *const words[] = { "true", "false", "yes", "no", "on", "off", "y",
					     "n", "null", "~", ".inf", "-.inf", "+.inf", ".nan" };
	char *plain = ts_strdup(v), *end, *w = plain;
	bool typed = false;

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasecmp(v, words[i]) == 0)
			typed = true;
	for (const char *p = v; *p; p++) /* 1_000 is an int in YAML 1.1 */
		if (*p != '_')
			*w++ = *p;
	*w = '\0';
	if (*plain) {
		(void)strtod(plain, &end);
		if (*end == '\0')
			typed = true;
		(void)strtoll(plain, &end, 0);
		if (*end == '\0')
			typed = true;
		if ((plain[0] == '0' && (plain[1] == 'o' || plain[1] == 'b')) && plain[2])
			typed = true;
	}
	free(plain);
	return typed;
}

static bool plain_safe(const char *v)
{
	if (!*v || strchr("-?:,[]{}#&*!|>'\"%@` \t", v[0]) || looks_typed(v))
		return false;
	if (strstr(v, ": ") || strstr(v, " #") || strpbrk(v, ",[]{}\t\r\n"))
		return false;
	return v[strlen(v) - 1] != ' ' && v[strlen(v) - 1] != ':';
}

static char *render(ts_ystyle style, const char *v)
{
	ts_buf b = TS_BUF_INIT;
	if (style == TS_YSTYLE_PLAIN && plain_safe(v))
		return ts_strdup(v);
	if (style == TS_YSTYLE_SINGLE) {
		ts_buf_putc(&b, '\'');
		for (const char *p = v; *p; p++) {
			if (*p == '\'')
				ts_buf_putc(&b, '\'');
			ts_buf_putc(&b, *p);
		}
		ts_buf_putc(&b, '\'');
		return ts_buf_detach(&b);
	}
	ts_buf_putc(&b, '"');
	for (const char *p = v; *p; p++) {
		if (*p == '"' || *p == '\\')
			ts_buf_putc(&b, '\\');
		if ((unsigned char)*p < 0x20)
			ts_buf_printf(&b, "\\x%02x", (unsigned char)*p);
		else
			ts_buf_putc(&b, *p);
	}
	ts_buf_putc(&b, '"');
	return ts_buf_detach(&b);
}

/* ---- planning the edits of one finding ---- */

typedef struct plan {
	const char *name;
	const char *data;
	const target *t;
	const ts_yref *r;
	edits *e;
	char *val[TS_YF_COUNT]; /* new values (NULL: unchanged) */
	ts_buf insert;          /* kustomize keys to add */
} plan;

static const char *style_problem(ts_ystyle s)
{
	switch (s) {
	case TS_YSTYLE_ALIAS: return "an alias";
	case TS_YSTYLE_LITERAL: return "a literal block scalar (|)";
	case TS_YSTYLE_FOLDED: return "a folded block scalar (>)";
	default: return NULL;
	}
}

/* Already `v`? A block scalar's final line break does not count. */
static bool same_value(const ts_yscalar *s, const char *v)
{
	size_t n = strlen(s->value);
	if (s->style == TS_YSTYLE_LITERAL || s->style == TS_YSTYLE_FOLDED)
		while (n && strchr(" \t\r\n", s->value[n - 1]))
			n--;
	return n == strlen(v) && strncmp(s->value, v, n) == 0;
}

/* Field f of the finding becomes `v` (owned). */
static ts_code set_field(plan *p, ts_yfield f, char *v, ts_error *err)
{
	const ts_yscalar *s = &p->r->field[f];
	const char *problem = style_problem(s->style);
	char *text, *repo;

	if (same_value(s, v)) {
		free(v);
		return TS_OK;
	}
	p->val[f] = v;
	if (problem) {
		repo = ts_ref_repo_string(&p->t->ref);
		ts_error_set(err, TS_EUSAGE,
			     "%s:%zu: the reference to %s is %s%s%.*s%s; refusing to rewrite it "
			     "(write it as a plain or quoted scalar)",
			     p->name, s->line, repo, problem,
			     s->style == TS_YSTYLE_ALIAS ? " (" : "",
			     s->style == TS_YSTYLE_ALIAS ? (int)(s->end - s->start) : 0,
			     p->data + s->start, s->style == TS_YSTYLE_ALIAS ? ")" : "");
		free(repo);
		return TS_EUSAGE;
	}
	text = render(s->style, v);
	if (s->start == s->end && s->start > 0 && !strchr(" \t", p->data[s->start - 1])) {
		char *spaced = ts_asprintf(" %s", text); /* "key:" with an empty value */
		free(text);
		text = spaced;
	}
	edits_add(p->e, s->start, s->end, text);
	return TS_OK;
}

static char *full_ref(const plan *p)
{
	const ts_ref *t = &p->t->ref;
	if (p->t->form == TS_PIN_FORM_DIGEST)
		return ts_asprintf("%s@%s", p->r->repo, t->digest);
	return ts_asprintf("%s:%s@%s", p->r->repo, t->tag, t->digest);
}

static ts_code plan_helm(plan *p, ts_error *err)
{
	const ts_ref *t = &p->t->ref;
	ts_code rc = TS_OK;

	if (p->r->field[TS_YF_DIGEST].present) {
		rc = set_field(p, TS_YF_DIGEST, ts_strdup(t->digest), err);
		if (!rc && t->tag)
			rc = set_field(p, TS_YF_TAG, ts_strdup(t->tag), err);
		return rc;
	}
	if (!t->tag)
		return ts_error_set(err, TS_EUSAGE,
				    "%s:%zu: Helm values without a 'digest' key need a tag: give "
				    "--image REPO:TAG@DIGEST",
				    p->name, p->r->line);
	return set_field(p, TS_YF_TAG, ts_asprintf("%s@%s", t->tag, t->digest), err);
}

static ts_code kustomize_insert(plan *p, const char *key, const char *value, ts_error *err)
{
	const ts_yref *r = p->r;
	char *text;
	if (r->insert_at == SIZE_MAX)
		return ts_error_set(err, TS_EUSAGE,
				    "%s:%zu: cannot add '%s:' to this kustomize images entry "
				    "(its last value is not a scalar); add the key and retry",
				    p->name, r->line, key);
	text = render(TS_YSTYLE_PLAIN, value);
	ts_buf_printf(&p->insert, "%s%s: %s", r->insert_prefix, key, text);
	free(text);
	p->val[strcmp(key, "digest") == 0 ? TS_YF_DIGEST : TS_YF_TAG] = ts_strdup(value);
	return TS_OK;
}

static ts_code plan_kustomize(plan *p, ts_error *err)
{
	const ts_ref *t = &p->t->ref;
	ts_code rc = TS_OK;

	if (t->tag && p->r->field[TS_YF_TAG].present)
		rc = set_field(p, TS_YF_TAG, ts_strdup(t->tag), err);
	else if (t->tag && p->t->form == TS_PIN_FORM_TAG_DIGEST)
		rc = kustomize_insert(p, "newTag", t->tag, err);
	if (rc)
		return rc;
	if (p->r->field[TS_YF_DIGEST].present)
		return set_field(p, TS_YF_DIGEST, ts_strdup(t->digest), err);
	return kustomize_insert(p, "digest", t->digest, err);
}

static ts_code plan_fields(plan *p, ts_error *err)
{
	const ts_ref *t = &p->t->ref;
	switch (p->r->kind) {
	case TS_YREF_HELM:
		return plan_helm(p, err);
	case TS_YREF_KUSTOMIZE:
		return plan_kustomize(p, err);
	case TS_YREF_MARKER_TAG:
		return t->tag ? set_field(p, TS_YF_IMAGE, ts_strdup(t->tag), err) : TS_OK;
	case TS_YREF_MARKER_DIGEST:
		return set_field(p, TS_YF_IMAGE, ts_strdup(t->digest), err);
	default:
		return set_field(p, TS_YF_IMAGE, full_ref(p), err);
	}
}

static const char *now(const plan *p, ts_yfield f)
{
	if (p->val[f])
		return p->val[f];
	return p->r->field[f].present ? p->r->field[f].value : NULL;
}

/* The reference the finder will report after the rewrite. */
static char *predicted(const plan *p)
{
	const ts_yref *r = p->r;
	switch (r->kind) {
	case TS_YREF_HELM:
		return ts_yref_compose(now(p, TS_YF_REGISTRY), now(p, TS_YF_REPOSITORY),
				       now(p, TS_YF_TAG), now(p, TS_YF_DIGEST));
	case TS_YREF_KUSTOMIZE:
		return ts_yref_compose(NULL, r->repo, now(p, TS_YF_TAG), now(p, TS_YF_DIGEST));
	case TS_YREF_MARKER_TAG:
		return ts_yref_compose(NULL, r->repo, now(p, TS_YF_IMAGE), NULL);
	case TS_YREF_MARKER_DIGEST:
		return ts_yref_compose(NULL, r->repo, NULL, now(p, TS_YF_IMAGE));
	default:
		return ts_strdup(now(p, TS_YF_IMAGE));
	}
}

static bool changes_any(const plan *p)
{
	for (int f = 0; f < TS_YF_COUNT; f++)
		if (p->val[f])
			return true;
	return false;
}

static void add_change(ts_pin_report *rep, const char *name, const ts_yref *r, char *new_ref)
{
	ts_pin_change *c;
	if (rep->nchanges == rep->capchanges) {
		rep->capchanges = rep->capchanges ? rep->capchanges * 2 : 16;
		rep->changes = ts_realloc(rep->changes, rep->capchanges * sizeof(*rep->changes));
	}
	c = &rep->changes[rep->nchanges++];
	c->path = ts_strdup(name);
	c->line = r->line;
	c->column = r->column;
	c->kind = r->kind;
	c->old_ref = ts_strdup(r->reference);
	c->new_ref = new_ref;
}

/* Plan one finding; *expect gets the reference it will read as afterwards. */
static ts_code plan_ref(const target *t, const char *name, const char *data, const ts_yref *r,
			edits *e, ts_pin_report *rep, char **expect, ts_error *err)
{
	plan p;
	ts_code rc;

	memset(&p, 0, sizeof(p));
	p.name = name;
	p.data = data;
	p.t = t;
	p.r = r;
	p.e = e;
	rep->nrefs++;
	rc = plan_fields(&p, err);
	if (!rc && p.insert.len)
		edits_add(e, r->insert_at, r->insert_at, ts_buf_detach(&p.insert));
	if (!rc && !changes_any(&p)) {
		*expect = ts_strdup(r->reference);
	} else if (!rc) {
		*expect = predicted(&p);
		if (strcmp(*expect, r->reference) != 0)
			add_change(rep, name, r, ts_strdup(*expect));
	}
	for (int f = 0; f < TS_YF_COUNT; f++)
		free(p.val[f]);
	ts_buf_free(&p.insert);
	return rc;
}

/* ---- one file in memory ---- */

static int edit_cmp(const void *a, const void *b)
{
	const edit *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static ts_code apply_edits(const char *name, const char *data, size_t len, edits *e, ts_buf *out,
			   ts_error *err)
{
	size_t pos = 0;
	if (e->n > 1)
		qsort(e->v, e->n, sizeof(*e->v), edit_cmp);
	for (size_t i = 0; i < e->n; i++) {
		if (e->v[i].start < pos || e->v[i].end > len)
			return ts_error_set(err, TS_EINTERNAL, "%s: overlapping edits (a bug)", name);
		ts_buf_put(out, data + pos, e->v[i].start - pos);
		ts_buf_puts(out, e->v[i].text);
		pos = e->v[i].end;
	}
	ts_buf_put(out, data + pos, len - pos);
	return TS_OK;
}

/* What each finding of the file must read as after the rewrite. Holding
 * just these (not the findings) while the rewrite is parsed halves the
 * memory a large file takes. */
typedef struct expected {
	char **ref;
	size_t *line;
	size_t n;
} expected;

static void expected_free(expected *x)
{
	for (size_t i = 0; x->ref && i < x->n; i++)
		free(x->ref[i]);
	free(x->ref);
	free(x->line);
}

/* Re-parse the rewrite: the same findings, each reading as expected. */
static ts_code check_rewrite(const char *name, const ts_buf *out, const expected *x,
			     ts_error *err)
{
	ts_yrefs after = TS_YREFS_INIT;
	ts_error perr = TS_ERROR_INIT;
	ts_code rc = ts_yrefs_find(name, ts_buf_cstr(out), out->len, &after, &perr);
	size_t bad = SIZE_MAX;

	if (rc == TS_OK && after.n != x->n)
		bad = 0;
	for (size_t i = 0; rc == TS_OK && bad == SIZE_MAX && i < after.n; i++)
		if (strcmp(after.v[i].reference, x->ref[i]) != 0)
			bad = i;
	if (rc != TS_OK || bad != SIZE_MAX)
		rc = ts_error_set(err, TS_EINTERNAL,
				  "%s:%zu: the rewritten file would not read back as intended "
				  "(a tagseal bug; no file changed)%s%s",
				  name, bad != SIZE_MAX && bad < x->n ? x->line[bad] : 0,
				  rc != TS_OK ? ": " : "", rc != TS_OK ? perr.msg : "");
	ts_yrefs_free(&after);
	return rc;
}

static ts_code rewrite_with(const target *t, const char *name, const char *data, size_t len,
			    ts_buf *out, ts_pin_report *rep, ts_error *err)
{
	ts_yrefs refs = TS_YREFS_INIT;
	edits e = { NULL, 0, 0 };
	expected x = { NULL, NULL, 0 };
	ts_code rc = ts_yrefs_find(name, data, len, &refs, err);

	if (rc)
		return rc;
	x.n = refs.n;
	x.ref = ts_calloc(refs.n + 1, sizeof(*x.ref));
	x.line = ts_calloc(refs.n + 1, sizeof(*x.line));
	for (size_t i = 0; rc == TS_OK && i < refs.n; i++) {
		target mine; /* a choice: this finding's own target */
		if (!refs.v[i].valid)
			continue;
		if (t->choice) {
			memset(&mine, 0, sizeof(mine));
			mine.form = t->form;
			if (t->choice->choose(t->choice->ud, name, &refs.v[i], &mine.ref)) {
				if (!mine.ref.tag)
					mine.form = TS_PIN_FORM_DIGEST;
				rc = plan_ref(&mine, name, data, &refs.v[i], &e, rep, &x.ref[i], err);
			}
			ts_ref_free(&mine.ref);
		} else if (ts_ref_same_repo(&refs.v[i].match, &t->ref)) {
			rc = plan_ref(t, name, data, &refs.v[i], &e, rep, &x.ref[i], err);
		}
	}
	if (rc == TS_OK)
		rc = apply_edits(name, data, len, &e, out, err);
	if (rc == TS_OK && e.n) {
		for (size_t i = 0; i < refs.n; i++) {
			if (!x.ref[i])
				x.ref[i] = ts_strdup(refs.v[i].reference);
			x.line[i] = refs.v[i].line;
		}
		ts_yrefs_free(&refs);
		rc = check_rewrite(name, out, &x, err);
	}
	expected_free(&x);
	edits_free(&e);
	ts_yrefs_free(&refs);
	return rc;
}

ts_code ts_pin_rewrite(const ts_pin_opts *opts, const char *name, const char *data, size_t len,
		       ts_buf *out, ts_pin_report *report, ts_error *err)
{
	target t;
	ts_code rc;
	memset(&t, 0, sizeof(t));
	rc = target_parse(opts, &t, err);
	if (rc == TS_OK)
		rc = rewrite_with(&t, name, data, len, out, report, err);
	ts_ref_free(&t.ref);
	return rc;
}

ts_code ts_pin_rewrite_chosen(const ts_pin_opts *opts, const ts_pin_choice *choice,
			      const char *name, const char *data, size_t len, ts_buf *out,
			      ts_pin_report *report, ts_error *err)
{
	target t;
	if (!choice)
		return ts_pin_rewrite(opts, name, data, len, out, report, err);
	memset(&t, 0, sizeof(t));
	t.form = opts->form;
	t.choice = choice;
	return rewrite_with(&t, name, data, len, out, report, err);
}

ts_code ts_pin_opts_check(const ts_pin_opts *opts, ts_error *err)
{
	target t;
	ts_code rc;
	memset(&t, 0, sizeof(t));
	rc = target_parse(opts, &t, err);
	ts_ref_free(&t.ref);
	return rc;
}

void ts_pin_report_free(ts_pin_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nchanges; i++) {
		free(r->changes[i].path);
		free(r->changes[i].old_ref);
		free(r->changes[i].new_ref);
	}
	free(r->changes);
	r->changes = NULL;
	r->nchanges = r->capchanges = 0;
	ts_strv_free(&r->files);
	free(r->diff);
	memset(r, 0, sizeof(*r));
}
