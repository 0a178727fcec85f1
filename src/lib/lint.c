/*
 * lint.c - the check a pipeline runs before deploying: every image
 * reference must be pinned by digest and must not use 'latest' (and, with
 * a key, every pinned digest must be signed by it).
 */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "tagseal/fsutil.h"
#include "tagseal/lint.h"
#include "tagseal/yamlpaths.h"
#include "tagseal/sign.h"

/* A reference pinned by digest, for the signature check. */
typedef struct pinned {
	char *image; /* host/path@sha256:..., normalised */
	char *path;
	ts_yref at;  /* line, column, kind; reference borrowed from `ref` */
	char *ref;
} pinned;

typedef struct pinned_list {
	pinned *v;
	size_t n;
} pinned_list;

const char *ts_lint_check(const ts_yref *r)
{
	bool latest = r->match.tag && strcmp(r->match.tag, "latest") == 0;
	/* a reference with no tag at all means 'latest'; a kustomize entry or
	 * Helm values without one take the tag from elsewhere */
	bool implicit = !r->match.tag && r->kind != TS_YREF_KUSTOMIZE && r->kind != TS_YREF_HELM;

	if (r->reference && ts_ref_has_userinfo(r->reference))
		return "carries credentials (user:password@): remove them from the file";
	if (r->kind == TS_YREF_MARKER_TAG)
		return NULL; /* a bare tag field; its digest is pinned elsewhere */
	if (r->kind == TS_YREF_MARKER_DIGEST)
		return r->match.digest ? NULL
				       : "not pinned by digest (the digest field is not sha256:<64 hex>)";
	if (!r->valid)
		return "not a valid image reference";
	if (!r->match.digest)
		return latest || implicit ? "not pinned by digest, and uses the tag 'latest'"
					  : "not pinned by digest";
	if (latest)
		return "uses the tag 'latest'";
	return NULL;
}

static void add_finding_owned(ts_lint_report *rep, const char *path, const ts_yref *r,
			      char *reason, bool unchecked);

typedef struct allow_list {
	regex_t *re;
	size_t n;
} allow_list;

static ts_code allow_compile(const ts_lint_opts *o, allow_list *a, ts_error *err)
{
	a->re = ts_calloc(o->nallow + 1, sizeof(*a->re));
	for (a->n = 0; a->n < o->nallow; a->n++) {
		int rc = regcomp(&a->re[a->n], o->allow[a->n], REG_EXTENDED | REG_NOSUB);
		if (rc != 0) {
			char msg[256];
			regerror(rc, &a->re[a->n], msg, sizeof(msg));
			return ts_error_set(err, TS_EUSAGE, "--allow '%s': %s", o->allow[a->n], msg);
		}
	}
	return TS_OK;
}

static void allow_free(allow_list *a)
{
	for (size_t i = 0; i < a->n; i++)
		regfree(&a->re[i]);
	free(a->re);
}

static bool allowed(const allow_list *a, const char *ref)
{
	for (size_t i = 0; i < a->n; i++)
		if (regexec(&a->re[i], ref, 0, NULL, 0) == 0)
			return true;
	return false;
}

static void add_finding(ts_lint_report *rep, const char *path, const ts_yref *r,
			const char *reason)
{
	add_finding_owned(rep, path, r, ts_strdup(reason), false);
}

static void add_finding_owned(ts_lint_report *rep, const char *path, const ts_yref *r,
			      char *reason, bool unchecked)
{
	ts_lint_finding *f;
	if (rep->nfindings == rep->capfindings) {
		rep->capfindings = rep->capfindings ? rep->capfindings * 2 : 16;
		rep->findings = ts_realloc(rep->findings, rep->capfindings * sizeof(*rep->findings));
	}
	f = &rep->findings[rep->nfindings++];
	f->path = ts_strdup(path);
	f->line = r->line;
	f->column = r->column;
	f->kind = r->kind;
	/* a reference with user:password@ is never repeated */
	f->reference = ts_strdup(r->reference && ts_ref_has_userinfo(r->reference)
					 ? "(not shown)"
					 : r->reference);
	f->reason = reason;
	f->unchecked = unchecked;
}

static void note_pinned(pinned_list *l, const char *path, const ts_yref *r)
{
	pinned *p;
	char *repo;

	if (!r->valid || !r->match.digest || !r->match.host || !r->match.path ||
	    (r->reference && ts_ref_has_userinfo(r->reference)))
		return;
	repo = ts_ref_repo_string(&r->match);
	l->v = ts_realloc(l->v, (l->n + 1) * sizeof(*l->v));
	p = &l->v[l->n++];
	p->image = ts_asprintf("%s@%s", repo, r->match.digest);
	p->path = ts_strdup(path);
	p->at = *r;
	p->ref = ts_strdup(r->reference ? r->reference : p->image);
	p->at.reference = p->ref;
	free(repo);
}

static int pinned_cmp(const void *a, const void *b)
{
	const pinned *x = a, *y = b;
	return strcmp(x->image, y->image);
}

/* Verify each distinct pinned digest once; a failure is a finding at every
 * place that names it. */
static void check_signatures(const ts_lint_opts *o, pinned_list *l, ts_lint_report *rep)
{
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), pinned_cmp);
	for (size_t i = 0; i < l->n;) {
		size_t j = i;
		ts_error e = TS_ERROR_INIT;
		ts_code rc = ts_image_verify(l->v[i].image, o->key, o->registry, o->require,
					     o->n_require, NULL, &e);
		rep->nsigned++;
		while (j < l->n && strcmp(l->v[j].image, l->v[i].image) == 0) {
			if (rc != TS_OK && e.cause == TS_C_SIGNATURE)
				add_finding_owned(rep, l->v[j].path, &l->v[j].at, ts_strdup(e.msg), false);
			else if (rc != TS_OK)
				add_finding_owned(rep, l->v[j].path, &l->v[j].at,
						  ts_asprintf("the signatures could not be checked: %s",
							      e.msg),
						  true);
			j++;
		}
		i = j;
	}
}

static int finding_cmp(const void *a, const void *b)
{
	const ts_lint_finding *x = a, *y = b;
	int c = strcmp(x->path, y->path);
	if (!c)
		c = x->line < y->line ? -1 : x->line > y->line;
	if (!c)
		c = x->column < y->column ? -1 : x->column > y->column;
	return c;
}

static ts_code lint_file(const char *path, const allow_list *a, pinned_list *pl,
			 ts_lint_report *rep, ts_error *err)
{
	ts_buf data = TS_BUF_INIT;
	ts_yrefs refs = TS_YREFS_INIT;
	ts_code rc = ts_read_file(path, TS_YAML_MAX, &data, "manifest", err);

	if (rc == TS_OK)
		rc = ts_yrefs_find(path, ts_buf_cstr(&data), data.len, &refs, err);
	for (size_t i = 0; rc == TS_OK && i < refs.n; i++) {
		const char *reason = ts_lint_check(&refs.v[i]);
		rep->nrefs++;
		if (reason && allowed(a, refs.v[i].reference))
			rep->nallowed++;
		else if (reason)
			add_finding(rep, path, &refs.v[i], reason);
		if (pl)
			note_pinned(pl, path, &refs.v[i]);
	}
	rep->nfiles++;
	ts_yrefs_free(&refs);
	ts_buf_free(&data);
	return rc;
}

ts_code ts_lint_run(const ts_lint_opts *opts, const char *const *paths, size_t npaths,
		    ts_lint_report *report, ts_error *err)
{
	allow_list a = { NULL, 0 };
	ts_strv files = TS_STRV_INIT;
	pinned_list pl = { NULL, 0 };
	ts_code rc = allow_compile(opts, &a, err);

	if (rc == TS_OK)
		rc = ts_yaml_paths(paths, npaths, &files, err);
	for (size_t i = 0; rc == TS_OK && i < files.n; i++)
		rc = lint_file(files.v[i], &a, opts->key ? &pl : NULL, report, err);
	if (rc == TS_OK && opts->key) {
		check_signatures(opts, &pl, report);
		if (report->nfindings)
			qsort(report->findings, report->nfindings, sizeof(*report->findings),
			      finding_cmp);
	}
	for (size_t i = 0; i < pl.n; i++) {
		free(pl.v[i].image);
		free(pl.v[i].path);
		free(pl.v[i].ref);
	}
	free(pl.v);
	ts_strv_free(&files);
	allow_free(&a);
	return rc;
}

ts_code ts_lint_report_code(const ts_lint_report *r)
{
	bool unchecked = false;
	for (size_t i = 0; i < r->nfindings; i++) {
		if (!r->findings[i].unchecked)
			return TS_EVERIFY;
		unchecked = true;
	}
	return unchecked ? TS_EREGISTRY : TS_OK;
}

json_t *ts_lint_report_json(const ts_lint_report *r)
{
	json_t *list = json_array(), *o;
	for (size_t i = 0; i < r->nfindings; i++) {
		const ts_lint_finding *f = &r->findings[i];
		json_t *j = json_pack("{s:s,s:I,s:I,s:s,s:s,s:s}", "file", f->path, "line",
				      (json_int_t)f->line, "column", (json_int_t)f->column, "kind",
				      ts_yref_kind_name(f->kind), "reference", f->reference, "reason",
				      f->reason);
		if (f->unchecked)
			json_object_set_new(j, "unchecked", json_true());
		json_array_append_new(list, j);
	}
	o = json_pack("{s:I,s:I,s:I,s:o}", "files", (json_int_t)r->nfiles, "references",
		      (json_int_t)r->nrefs, "allowed", (json_int_t)r->nallowed, "findings", list);
	if (r->nsigned)
		json_object_set_new(o, "signaturesChecked", json_integer((json_int_t)r->nsigned));
	return o;
}

void ts_lint_report_free(ts_lint_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nfindings; i++) {
		free(r->findings[i].path);
		free(r->findings[i].reference);
		free(r->findings[i].reason);
	}
	free(r->findings);
	r->findings = NULL;
	r->nfindings = r->capfindings = 0;
}
