/*
 * pinresolve.c - 'pin --resolve / --update' (pinresolve.h): classify every
 * reference the finder reports, resolve the distinct ones once (resolve.c),
 * decide per reference, then hand the rewrite to the pin engine (pin.c,
 * through its per-reference `choose` hook) so that the bytes around each
 * scalar, the all-or-none writing and the dry-run diff are pin's own.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tagseal/fsutil.h"
#include "tagseal/outputs.h"
#include "tagseal/pinresolve.h"
#include "tagseal/sign.h"

/* The distinct references to resolve, sorted by canonical name. */
typedef struct want {
	char **names;
	ts_resolve_item *items;
	size_t n;
} want;

typedef struct run_state {
	const ts_pinres_opts *opts;
	ts_pinres_report *rep;
	want w;
} run_state;

const char *ts_pinres_status_name(ts_pinres_status s)
{
	static const char *const names[] = { "pinned",   "updated",  "current",  "kept",
					     "unpinned", "skipped", "excluded", "failed" };
	return (size_t)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

/* ---- deciding per reference ---- */

static bool glob_any(const char *const *pats, size_t n, const char *const *subjects)
{
	for (size_t i = 0; i < n; i++)
		for (const char *const *s = subjects; *s; s++)
			if (fnmatch(pats[i], *s, 0) == 0)
				return true;
	return false;
}

/* --only / --exclude: matched against the reference as written (without
 * its digest), the canonical name with tag and the canonical repository. */
static bool filtered_out(const ts_pinres_opts *o, const ts_yref *r)
{
	char *written = ts_strndup(r->reference, strcspn(r->reference, "@"));
	char *canon = r->valid ? ts_ref_canonical(&r->match) : NULL;
	char *repo = r->valid ? ts_ref_repo_string(&r->match) : NULL;
	const char *subjects[] = { written, canon ? canon : written, repo ? repo : written, NULL };
	bool out = (o->nonly && !glob_any(o->only, o->nonly, subjects)) ||
		   (o->nexclude && glob_any(o->exclude, o->nexclude, subjects));
	free(written);
	free(canon);
	free(repo);
	return out;
}

/* What to do with a finding before anything is resolved: TS_PRS_PINNED or
 * TS_PRS_UPDATED mean "resolve it" (the outcome is settled afterwards). */
static ts_pinres_status decide(const ts_pinres_opts *o, const ts_yref *r, const char **note)
{
	*note = NULL;
	if (filtered_out(o, r))
		return TS_PRS_EXCLUDED;
	if (!r->valid)
		return TS_PRS_FAILED;
	if (r->kind == TS_YREF_MARKER_TAG || r->kind == TS_YREF_MARKER_DIGEST) {
		*note = "the marked scalar holds only part of the reference: mark the full "
			"reference ('# tagseal: REPO') to have it resolved";
		return TS_PRS_SKIPPED;
	}
	if (r->kind == TS_YREF_KUSTOMIZE && !r->match.tag) {
		*note = "this kustomize images entry has no newTag: the tag comes from the "
			"base manifests";
		return TS_PRS_SKIPPED;
	}
	if (r->match.digest) {
		if (!(o->mode & TS_PINRES_UPDATE))
			return TS_PRS_KEPT;
		if (!r->match.tag) {
			*note = "pinned by digest alone: there is no tag to follow";
			return TS_PRS_SKIPPED;
		}
		return TS_PRS_UPDATED;
	}
	return (o->mode & TS_PINRES_RESOLVE) ? TS_PRS_PINNED : TS_PRS_UNPINNED;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static ts_resolve_item *lookup(const want *w, const char *canon)
{
	char **hit = w->n ? bsearch(&canon, w->names, w->n, sizeof(char *), str_cmp) : NULL;
	return hit ? &w->items[hit - w->names] : NULL;
}

/* ---- scanning ---- */

static void add_entry(ts_pinres_report *rep, const char *path, const ts_yref *r,
		      ts_pinres_status st, const char *note)
{
	ts_pinres_entry *e;
	if ((rep->n & (rep->n - 1)) == 0) /* grow at powers of two */
		rep->entries = ts_realloc(rep->entries, (rep->n ? rep->n * 2 : 1) * sizeof(*e));
	e = &rep->entries[rep->n++];
	memset(e, 0, sizeof(*e));
	e->path = ts_strdup(path);
	e->line = r->line;
	e->kind = r->kind;
	e->reference = ts_strdup(r->reference);
	e->canonical = r->valid ? ts_ref_canonical(&r->match) : NULL;
	if (r->valid && r->match.digest)
		snprintf(e->old_digest, sizeof(e->old_digest), "%s", r->match.digest);
	e->status = st;
	e->note = note ? ts_strdup(note) : NULL;
}

static ts_code scan(run_state *s, const char *const *paths, size_t npaths, ts_error *err)
{
	ts_strv files = TS_STRV_INIT;
	ts_code rc = ts_yaml_paths(paths, npaths, &files, err);

	for (size_t i = 0; rc == TS_OK && i < files.n; i++) {
		ts_buf data = TS_BUF_INIT;
		ts_yrefs refs = TS_YREFS_INIT;
		rc = ts_read_file(files.v[i], TS_YAML_MAX, &data, "manifest", err);
		if (rc == TS_OK)
			rc = ts_yrefs_find(files.v[i], ts_buf_cstr(&data), data.len, &refs, err);
		for (size_t j = 0; rc == TS_OK && j < refs.n; j++) {
			const char *note;
			ts_pinres_status st = decide(s->opts, &refs.v[j], &note);
			if (st == TS_PRS_FAILED) {
				char shown[300];
				ts_sanitize(shown, sizeof(shown), refs.v[j].reference);
				rc = ts_error_setc(err, TS_C_INPUT,
						   "%s:%zu: '%s' is not an image reference tagseal can "
						   "resolve (exclude it with --exclude)",
						   files.v[i], refs.v[j].line,
						   ts_ref_has_userinfo(refs.v[j].reference)
							   ? "(a reference with credentials)"
							   : shown);
			}
			add_entry(s->rep, files.v[i], &refs.v[j], st, note);
		}
		s->rep->nfiles++;
		ts_yrefs_free(&refs);
		ts_buf_free(&data);
	}
	ts_strv_free(&files);
	return rc;
}

/* The distinct canonical names of the entries to resolve. */
static void collect_wants(run_state *s)
{
	want *w = &s->w;
	size_t k = 0;

	w->names = ts_calloc(s->rep->n + 1, sizeof(char *));
	for (size_t i = 0; i < s->rep->n; i++) {
		ts_pinres_entry *e = &s->rep->entries[i];
		if (e->status == TS_PRS_PINNED || e->status == TS_PRS_UPDATED)
			w->names[k++] = e->canonical;
	}
	qsort(w->names, k, sizeof(char *), str_cmp);
	w->n = 0;
	for (size_t i = 0; i < k; i++)
		if (!w->n || strcmp(w->names[w->n - 1], w->names[i]) != 0)
			w->names[w->n++] = w->names[i];
	for (size_t i = 0; i < w->n; i++)
		w->names[i] = ts_strdup(w->names[i]);
	w->items = ts_calloc(w->n + 1, sizeof(*w->items));
	for (size_t i = 0; i < w->n; i++) /* canonical names always parse */
		ts_ref_parse(w->names[i], &w->items[i].ref, "reference", NULL);
}

static void want_free(want *w)
{
	for (size_t i = 0; i < w->n; i++) {
		free(w->names[i]);
		ts_resolve_item_free(&w->items[i]);
	}
	free(w->names);
	free(w->items);
}

/* ---- after resolution ---- */

static ts_code settle(run_state *s, ts_error *err)
{
	ts_pinres_report *rep = s->rep;
	size_t failed = 0;
	ts_code rc = TS_OK;

	for (size_t i = 0; i < s->w.n; i++)
		if (s->w.items[i].mismatch) {
			rep->warnings = ts_realloc(rep->warnings,
						   (rep->nwarnings + 1) * sizeof(char *));
			rep->warnings[rep->nwarnings++] = ts_strdup(s->w.items[i].mismatch);
		}
	for (size_t i = 0; i < rep->n; i++) {
		ts_pinres_entry *e = &rep->entries[i];
		ts_resolve_item *it;
		if (e->status != TS_PRS_PINNED && e->status != TS_PRS_UPDATED)
			continue;
		it = lookup(&s->w, e->canonical);
		if (!it || it->code != TS_OK) {
			e->status = TS_PRS_FAILED;
			e->note = ts_strdup(it ? it->err.msg : "not resolved (a bug)");
			if (failed++ == 0) {
				char shown[300];
				ts_sanitize(shown, sizeof(shown), e->reference);
				ts_error_setc(err, it ? it->err.cause : TS_C_INTERNAL, "%s:%zu: %s: %s",
					      e->path, e->line, shown, e->note);
				rc = err->code;
			}
			continue;
		}
		memcpy(e->new_digest, it->digest, sizeof(e->new_digest));
		e->answered = ts_strdup(it->answered);
		e->via_mirror = it->via_mirror;
		if (e->status == TS_PRS_UPDATED && strcmp(e->old_digest, e->new_digest) == 0)
			e->status = TS_PRS_CURRENT;
	}
	if (failed > 1) {
		size_t n = strlen(err->msg);
		snprintf(err->msg + n, sizeof(err->msg) - n, " (and %zu more)", failed - 1);
	}
	return rc;
}

/* With a key: every digest about to be written must carry a valid
 * signature, checked once per distinct reference at the source that
 * answered. The first one that does not fails the run (TS_EVERIFY). */
static ts_code check_signatures(run_state *s, ts_error *err)
{
	ts_pinres_report *rep = s->rep;
	bool *needed = ts_calloc(s->w.n + 1, sizeof(bool));
	ts_code rc = TS_OK;

	for (size_t i = 0; i < rep->n; i++) {
		ts_pinres_entry *e = &rep->entries[i];
		ts_resolve_item *it;
		if (e->status != TS_PRS_PINNED && e->status != TS_PRS_UPDATED)
			continue;
		it = lookup(&s->w, e->canonical);
		if (it)
			needed[it - s->w.items] = true;
	}
	for (size_t k = 0; rc == TS_OK && k < s->w.n; k++) {
		ts_resolve_item *it = &s->w.items[k];
		ts_error e = TS_ERROR_INIT;
		char *image;
		if (!needed[k])
			continue;
		image = ts_asprintf("%s@%s", it->answered, it->digest);
		if (ts_image_verify(image, s->opts->key, s->opts->resolve.registry, NULL, 0, NULL, &e) !=
		    TS_OK) {
			for (size_t i = 0; i < rep->n; i++) {
				ts_pinres_entry *en = &rep->entries[i];
				if ((en->status != TS_PRS_PINNED && en->status != TS_PRS_UPDATED) ||
				    strcmp(en->canonical, s->w.names[k]) != 0)
					continue;
				en->status = TS_PRS_FAILED;
				free(en->note);
				en->note = ts_strdup(e.msg);
				if (rc == TS_OK) {
					char shown[300];
					ts_sanitize(shown, sizeof(shown), en->reference);
					rc = ts_error_setc(err, e.code == TS_EVERIFY ? TS_C_SIGNATURE : e.cause,
							   "%s:%zu: %s: %s is not taken: %s", en->path,
							   en->line, shown, it->digest, e.msg);
				}
			}
		}
		free(image);
	}
	free(needed);
	return rc;
}

/* pin.c asks, per finding, what it should read as. */
static bool choose(void *ud, const char *path, const ts_yref *r, ts_ref *target)
{
	run_state *s = ud;
	const char *note;
	ts_pinres_status st = decide(s->opts, r, &note);
	char *canon;
	ts_resolve_item *it;

	(void)path;
	if (st != TS_PRS_PINNED && st != TS_PRS_UPDATED)
		return false;
	canon = ts_ref_canonical(&r->match);
	it = lookup(&s->w, canon);
	free(canon);
	if (!it || it->code != TS_OK)
		return false;
	memset(target, 0, sizeof(*target));
	target->host = ts_strdup(r->match.host);
	target->path = ts_strdup(r->match.path);
	target->tag = ts_strdup(ts_ref_tag_or_latest(&r->match));
	target->digest = ts_strdup(it->digest);
	return true;
}

static bool anything_to_do(const ts_pinres_report *rep, size_t *unpinned)
{
	bool change = false;
	*unpinned = 0;
	for (size_t i = 0; i < rep->n; i++) {
		if (rep->entries[i].status == TS_PRS_PINNED || rep->entries[i].status == TS_PRS_UPDATED)
			change = true;
		if (rep->entries[i].status == TS_PRS_UNPINNED)
			(*unpinned)++;
	}
	return change;
}

ts_code ts_pinres_run(const ts_pinres_opts *opts, const char *const *paths, size_t npaths,
		      ts_pinres_report *rep, ts_error *err)
{
	run_state s;
	ts_pin_opts po;
	size_t unpinned = 0;
	ts_code rc;

	memset(&s, 0, sizeof(s));
	s.opts = opts;
	s.rep = rep;
	if (!(opts->mode & (TS_PINRES_RESOLVE | TS_PINRES_UPDATE)))
		return ts_error_set(err, TS_EINTERNAL, "pin: neither resolve nor update (a bug)");
	rc = scan(&s, paths, npaths, err);
	if (rc == TS_OK) {
		collect_wants(&s);
		rep->nresolved = s.w.n;
		rc = ts_resolve_run(&opts->resolve, s.w.items, s.w.n, err);
	}
	if (rc == TS_OK)
		rc = settle(&s, err);
	if (rc == TS_OK && opts->key)
		rc = check_signatures(&s, err);
	if (rc == TS_OK && opts->strict_mirrors && rep->nwarnings)
		rc = ts_error_setc(err, TS_C_VERIFY,
				   "mirrors disagree (--strict-mirrors; nothing written): %s%s",
				   rep->warnings[0], rep->nwarnings > 1 ? " (and more)" : "");
	if (rc == TS_OK) {
		rep->changes = anything_to_do(rep, &unpinned);
		ts_pin_choice ch = { choose, &s };
		memset(&po, 0, sizeof(po));
		po.form = opts->form;
		po.dry_run = opts->dry_run || opts->check;
		if (rep->changes)
			rc = ts_pin_apply_chosen(&po, &ch, paths, npaths, &rep->pin, err);
	}
	if (rc == TS_OK && opts->check && (rep->changes || unpinned)) {
		size_t n = 0;
		for (size_t i = 0; i < rep->n; i++)
			n += rep->entries[i].status == TS_PRS_PINNED ||
			     rep->entries[i].status == TS_PRS_UPDATED;
		rep->check_found = true;
		rc = ts_error_setc(err, TS_C_VERIFY,
				   "--check: %zu reference%s would change and %zu %s not pinned",
				   n, n == 1 ? "" : "s", unpinned, unpinned == 1 ? "is" : "are");
	}
	want_free(&s.w);
	return rc;
}

/* ---- the report ---- */

json_t *ts_pinres_report_json(const ts_pinres_report *rep)
{
	json_t *o = json_object(), *a = json_array(), *w = json_array();

	for (size_t i = 0; i < rep->n; i++) {
		const ts_pinres_entry *e = &rep->entries[i];
		char host[256];
		snprintf(host, sizeof(host), "%.*s",
			 e->answered ? (int)strcspn(e->answered, "/") : 0, e->answered ? e->answered : "");
		json_t *j = json_pack("{s:o,s:I,s:s,s:o,s:o,s:s,s:o,s:o,s:o,s:b,s:o}", "file",
				      ts_json_str(e->path),
				     "line", (json_int_t)e->line, "kind", ts_yref_kind_name(e->kind),
				     "reference", ts_json_str(e->reference), "canonical",
				     ts_json_str(e->canonical), "status", ts_pinres_status_name(e->status),
				     "oldDigest", ts_json_str(e->old_digest[0] ? e->old_digest : NULL),
				     "newDigest", ts_json_str(e->new_digest[0] ? e->new_digest : NULL),
				     "host", ts_json_str(e->answered ? host : NULL), "mirror", e->via_mirror,
				     "note", ts_json_str(e->note));
		if (!j)
			continue;
		json_object_set_new(j, "source", ts_json_str(e->answered));
		json_array_append_new(a, j);
	}
	for (size_t i = 0; i < rep->nwarnings; i++)
		json_array_append_new(w, ts_json_str(rep->warnings[i]));
	json_object_set_new(o, "files", json_integer((json_int_t)rep->nfiles));
	json_object_set_new(o, "resolved", json_integer((json_int_t)rep->nresolved));
	json_object_set_new(o, "changed", json_boolean(rep->changes));
	json_object_set_new(o, "references", a);
	json_object_set_new(o, "warnings", w);
	return o;
}

void ts_pinres_report_free(ts_pinres_report *rep)
{
	for (size_t i = 0; i < rep->n; i++) {
		ts_pinres_entry *e = &rep->entries[i];
		free(e->path);
		free(e->reference);
		free(e->canonical);
		free(e->answered);
		free(e->note);
	}
	free(rep->entries);
	for (size_t i = 0; i < rep->nwarnings; i++)
		free(rep->warnings[i]);
	free(rep->warnings);
	ts_pin_report_free(&rep->pin);
	memset(rep, 0, sizeof(*rep));
}
