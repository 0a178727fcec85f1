/*
 * release.c - the push workflow (see release.h): tag and alias policy,
 * preflight of every output, the push, the aliases, signing and attesting
 * (push --sign-key), pin, outputs, record.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tagseal/buf.h"
#include "tagseal/fsutil.h"
#include "tagseal/outputs.h"
#include "tagseal/provenance.h"
#include "tagseal/sigfmt.h"
#include "tagseal/record.h"
#include "tagseal/gitland.h"
#include "tagseal/release.h"

/* The all-zero digest pins are checked with before the real one is known. */
#define PLACEHOLDER_DIGEST "sha256:0000000000000000000000000000000000000000000000000000000000000000"

struct ts_release {
	const ts_release_opts *o;
	ts_push_opts push;         /* o->push with the release's parts filled in */
	ts_ref repo, mount_repo;
	ts_registry *registry;     /* the one connection, owned here (NULL until needed) */
	ts_tagname_result tres;
	bool have_tres;
	const char **aliases;      /* the aliases the rule lets move, in order */
	size_t n_aliases;
	ts_file_hash *source_hash; /* for --record / --metadata-file */
	time_t started;            /* for provenance */
};

/* What push --sign-key attached, for the outputs and the record. */
typedef struct signed_set {
	ts_signed_artifact *sigs, *atts;
	size_t n_sigs, n_atts;
	char **strings; /* every string the artifacts point to */
	size_t n_strings;
} signed_set;

static void report(const ts_release *r, ts_report_level level, const char *fmt, ...) TS_PRINTF(3, 4);
static void report(const ts_release *r, ts_report_level level, const char *fmt, ...)
{
	ts_buf b = TS_BUF_INIT;
	va_list ap;
	if (!r->o->report)
		return;
	va_start(ap, fmt);
	ts_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	r->o->report(r->o->report_ud, level, ts_buf_cstr(&b));
	ts_buf_free(&b);
}

static void push_progress(void *ud, const char *line)
{
	report(ud, TS_REPORT_DETAIL, "%s", line);
}

static ts_code open_registry(ts_release *r, ts_error *err)
{
	ts_registry_opts ro = r->o->reg;
	if (r->registry)
		return TS_OK;
	ro.no_ping = true; /* the tag's HEAD finds the registry: one round trip sooner */
	return ts_registry_open(&r->repo, &ro, &r->registry, err);
}

/* ---- prepare ---- */

/* Every output file can be written: refused now, not after the tag is
 * pushed. */
static ts_code check_outputs(const ts_release_opts *o, ts_error *err)
{
	ts_output_paths paths = { o->metadata_file, o->dotenv_file, o->github_output,
				  o->github_step_summary };
	ts_code rc = ts_outputs_preflight(&paths, err);
	if (rc == TS_OK && o->digest_file)
		rc = ts_output_check_writable(o->digest_file, "--digest-file", true, err);
	if (rc == TS_OK && o->record_file)
		rc = ts_output_check_writable(o->record_file, "--record", false, err);
	/* a damaged record is refused before anything is pushed */
	if (rc == TS_OK && o->record_file)
		rc = ts_record_check_appendable(o->record_file, err);
	return rc;
}

/* The tag (bumped past taken ones with --on-collision bump) and the aliases
 * the alias rule lets move. */
static ts_code resolve_tags(ts_release *r, ts_error *err)
{
	const ts_release_opts *o = r->o;
	char **existing = NULL;
	size_t n_existing = 0;
	bool bump = o->on_collision == TS_COLLISION_BUMP;
	ts_code rc = ts_tagname_resolve(&o->tag_source, &r->tres, err);

	if (rc)
		return rc;
	r->have_tres = true;
	if (r->tres.note)
		report(r, TS_REPORT_INFO, "%s", r->tres.note);
	if ((bump || r->tres.n_aliases) && !o->push.dry_run) {
		rc = open_registry(r, err);
		if (rc == TS_OK)
			rc = ts_registry_tags_list(r->registry, &existing, &n_existing, err);
		if (rc)
			return rc;
	}
	if (bump) {
		char *picked = NULL;
		rc = ts_tagname_pick_free(r->tres.tag, existing, n_existing, TS_COLLISION_BUMP, &picked, err);
		if (rc == TS_OK && strcmp(picked, r->tres.tag) != 0) {
			report(r, TS_REPORT_INFO, "tag %s is taken; using %s", r->tres.tag, picked);
			free(r->tres.tag);
			r->tres.tag = picked;
		} else {
			free(picked);
		}
	}
	r->aliases = ts_calloc(r->tres.n_aliases + 1, sizeof(char *));
	for (size_t i = 0; rc == TS_OK && i < r->tres.n_aliases; i++) {
		char *why = NULL;
		const ts_tag_alias *a = &r->tres.aliases[i];
		if (!ts_alias_may_move(a, r->tres.have_version ? &r->tres.version : NULL, existing,
				       n_existing, &why))
			report(r, TS_REPORT_INFO, "alias %s not moved: %s", a->tag, why ? why : "rule");
		else
			r->aliases[r->n_aliases++] = a->tag;
		free(why);
	}
	ts_registry_tags_free(existing);
	r->push.tag = r->tres.tag;
	return rc;
}

/* Pin o->pins to REPO:TAG@digest; with dry_run only check every file. */
static ts_code pin(const ts_release *r, const char *digest, bool dry_run, ts_pin_report *rep,
		   ts_error *err)
{
	char *image = ts_asprintf("%s:%s@%s", r->o->repo, r->push.tag, digest);
	ts_pin_opts po = { image, r->o->pin_form, dry_run };
	ts_code rc = ts_pin_apply(&po, r->o->pins, r->o->n_pins, rep, err);
	free(image);
	return rc;
}

ts_code ts_release_prepare(const ts_release_opts *o, ts_release **out, ts_error *err)
{
	ts_release *r = ts_calloc(1, sizeof(*r));
	ts_code rc;

	*out = NULL;
	r->o = o;
	r->started = time(NULL);
	r->push = o->push;
	r->push.progress = o->report ? push_progress : NULL;
	r->push.progress_ud = r;
	r->push.on_event = o->progress;
	r->push.event_ud = o->progress_ud;
	rc = ts_repo_parse(o->repo, &r->repo, "--repo", err);
	if (rc)
		goto fail;
	r->push.repo = &r->repo;
	/* a name in the tarball is compared as a reference: never repeat one
	 * that carries user:password@ */
	if (r->push.image_name && (rc = ts_refuse_userinfo(r->push.image_name, "--image", err)))
		goto fail;
	if (o->mount_from) {
		rc = ts_repo_parse(o->mount_from, &r->mount_repo, "--mount-from", err);
		if (rc)
			goto fail;
		if (strcmp(r->mount_repo.host, r->repo.host) != 0) {
			rc = ts_error_setc(err, TS_C_USAGE,
					   "--mount-from '%s' is on %s, not on the registry of --repo (%s)",
					   o->mount_from, r->mount_repo.host, r->repo.host);
			goto fail;
		}
		r->push.mount_from = r->mount_repo.path;
	}
	rc = check_outputs(o, err);
	if (rc)
		goto fail;
	if (o->record_file || o->metadata_file)
		r->source_hash = ts_file_hash_start(o->push.image_path);
	rc = resolve_tags(r, err);
	if (rc == TS_OK && o->n_pins) {
		/* every manifest must parse before anything is pushed */
		ts_pin_report rep = TS_PIN_REPORT_INIT;
		rc = pin(r, PLACEHOLDER_DIGEST, true, &rep, err);
		/* a --pin that finds nothing to pin would leave the manifests on
		 * whatever they named before, with CI green: refused, unless
		 * the caller said it may */
		if (rc == TS_OK && !rep.nrefs && !o->pin_optional)
			rc = ts_error_setc(err, TS_C_INPUT,
					   "--pin: no reference to %s/%s in the %zu YAML file(s) of '%s'%s; "
					   "check --repo, or give --pin-optional if that is expected",
					   r->repo.host, r->repo.path, rep.nscanned, o->pins[0],
					   o->n_pins > 1 ? " and the other --pin paths" : "");
		ts_pin_report_free(&rep);
	}
	if (rc)
		goto fail;
	*out = r;
	return TS_OK;
fail:
	ts_release_free(r);
	return rc;
}

const char *ts_release_tag(const ts_release *r)
{
	return r->push.tag;
}

/* ---- after the tag ---- */

/* Move each alias to the pushed manifest; stops at the first the registry
 * refuses. *moved counts the aliases now in place (a prefix of r->aliases). */
static ts_code move_aliases(ts_release *r, const ts_push_result *pr, size_t *moved, ts_error *err)
{
	*moved = 0;
	for (size_t i = 0; i < r->n_aliases; i++) {
		/* aliases are mutable by design: moved only after the tag is in place */
		ts_code rc = ts_registry_manifest_put(r->registry, r->aliases[i], pr->media_type,
						      pr->manifest.ptr, pr->manifest.len, NULL, err);
		if (rc)
			return ts_error_prefix(err, "alias '%s'", r->aliases[i]);
		report(r, TS_REPORT_INFO, "alias (mutable) %s -> %s", r->aliases[i], pr->digest);
		(*moved)++;
	}
	return TS_OK;
}

/* Keep the first failure: it is the one reported. */
static void keep_first(ts_code rc, ts_error *step, ts_code *first, ts_error *err)
{
	if (rc == TS_OK || *first != TS_OK)
		return;
	*first = rc;
	*err = *step;
}

/* ---- signing (push --sign-key) ---- */

static const char *keep(signed_set *s, const char *v)
{
	if (!v || !*v)
		return NULL;
	s->strings = ts_realloc(s->strings, (s->n_strings + 1) * sizeof(char *));
	return s->strings[s->n_strings++] = ts_strdup(v);
}

static void add_artifact(signed_set *s, bool att, const char *subject, const char *ptype,
			 const ts_sign_result *res)
{
	ts_signed_artifact **v = att ? &s->atts : &s->sigs;
	size_t *n = att ? &s->n_atts : &s->n_sigs;
	ts_signed_artifact *a;

	*v = ts_realloc(*v, (*n + 1) * sizeof(**v));
	a = &(*v)[(*n)++];
	a->subject = keep(s, subject);
	a->predicate_type = keep(s, ptype);
	a->bundle = keep(s, res->bundle);
	a->classic = keep(s, res->classic);
}

static void signed_set_free(signed_set *s)
{
	for (size_t i = 0; i < s->n_strings; i++)
		free(s->strings[i]);
	free(s->strings);
	free(s->sigs);
	free(s->atts);
}

static ts_sigformat sig_format(const ts_release *r)
{
	return r->o->sig_format ? r->o->sig_format : TS_SIGFMT_DEFAULT;
}

static void report_result(const ts_release *r, const char *what, const char *digest,
			  const ts_sign_result *res)
{
	if (res->bundle[0])
		report(r, TS_REPORT_INFO, "%s %s: bundle %s", what, digest, res->bundle);
	if (res->classic[0])
		report(r, TS_REPORT_INFO, "%s %s: cosign tag sha256-%s.%s, manifest %s", what, digest,
		       digest + 7, strcmp(what, "signed") == 0 ? "sig" : "att", res->classic);
}

static ts_code sign_one(ts_release *r, const char *digest, signed_set *s, ts_error *err)
{
	ts_sign_result res;
	ts_code rc = ts_sign_digest(r->registry, &r->repo, digest, r->o->sign_key, sig_format(r),
				    &res, err);
	if (rc)
		return ts_error_prefix(err, "signing %s", digest);
	add_artifact(s, false, digest, NULL, &res);
	report_result(r, "signed", digest, &res);
	return TS_OK;
}

/* The external parameters of the provenance: what the run was asked. */
static json_t *external_params(const ts_release *r)
{
	json_t *o = json_object(), *aliases = json_array();
	for (size_t i = 0; i < r->n_aliases; i++)
		json_array_append_new(aliases, json_string(r->aliases[i]));
	json_object_set_new(o, "image", ts_json_str(r->o->repo));
	json_object_set_new(o, "tag", ts_json_str(r->push.tag));
	json_object_set_new(o, "scheme", ts_json_str(r->tres.scheme_name));
	json_object_set_new(o, "template", ts_json_str(r->tres.scheme));
	json_object_set_new(o, "aliases", aliases);
	json_object_set_new(o, "source", ts_json_str(r->push.image_path));
	return o;
}

static ts_code attest(ts_release *r, const char *digest, const char *ptype, json_t *pred,
		      signed_set *s, ts_error *err)
{
	ts_sign_result res;
	ts_code rc = ts_attest_digest(r->registry, &r->repo, digest, r->o->sign_key, ptype, pred,
				      sig_format(r), &res, err);
	if (rc)
		return ts_error_prefix(err, "attesting %s (%s)", digest, ptype);
	add_artifact(s, true, digest, ptype, &res);
	report_result(r, "attested", digest, &res);
	return TS_OK;
}

static ts_code attest_provenance(ts_release *r, const char *digest, signed_set *s,
				 ts_error *err)
{
	ts_provenance_in in = { 0 };
	json_t *ext = external_params(r), *pred;
	ts_code rc;

	in.image = r->o->repo;
	in.digest = digest;
	in.git = r->tres.have_git ? &r->tres.git : NULL;
	in.ci = &r->tres.ci;
	in.external = ext;
	in.started = r->started;
	in.finished = time(NULL);
	pred = ts_provenance_slsa1(&in);
	rc = attest(r, digest, TS_PRED_SLSA1, pred, s, err);
	json_decref(pred);
	json_decref(ext);
	return rc;
}

/* Sign (and attest to) the pushed digest; every step runs, the first
 * failure is kept. */
static void sign_steps(ts_release *r, const ts_push_result *pr, signed_set *s, ts_code *first,
		       ts_error *err)
{
	const ts_release_opts *o = r->o;
	ts_error step = TS_ERROR_INIT;
	ts_code rc = sign_one(r, pr->digest, s, &step);

	keep_first(rc, &step, first, err);
	if (o->sign_recursive) {
		char **children = NULL;
		size_t n = 0;
		rc = ts_index_children(r->registry, pr->digest, &children, &n, &step);
		keep_first(rc, &step, first, err);
		for (size_t i = 0; rc == TS_OK && i < n; i++) {
			ts_code crc = sign_one(r, children[i], s, &step);
			keep_first(crc, &step, first, err);
		}
		ts_registry_tags_free(children);
	}
	if (o->attest) {
		rc = attest_provenance(r, pr->digest, s, &step);
		keep_first(rc, &step, first, err);
	}
	if (o->predicate) {
		rc = attest(r, pr->digest, o->predicate_type, o->predicate, s, &step);
		keep_first(rc, &step, first, err);
	}
}

/* The facts every output tells, from the tag source and the push. */
static void fill_facts(ts_release *r, const ts_push_result *pr, size_t n_moved, ts_push_facts *f,
		       char **version, char source_sha[TS_DIGEST_STRLEN])
{
	f->repository = r->o->repo;
	f->tag = r->push.tag;
	f->digest = pr->digest;
	f->media_type = pr->media_type;
	f->size = pr->size;
	f->unchanged = pr->unchanged;
	f->aliases = r->aliases;
	f->n_aliases = n_moved;
	f->platforms = (const char *const *)pr->platforms;
	f->n_platforms = pr->n_platforms;
	f->source_path = r->push.image_path;
	if (r->source_hash) {
		ts_file_hash_finish(r->source_hash, source_sha);
		r->source_hash = NULL;
		if (source_sha[0])
			f->source_sha256 = source_sha;
	}
	if (r->tres.have_git) {
		f->git_commit = r->tres.git.commit;
		f->git_ref = r->tres.branch;
		f->git_dirty = r->tres.git.dirty ? 1 : 0;
	}
	if (r->tres.have_version)
		f->git_version = *version = ts_semver_format(&r->tres.version);
	f->ci_provider = r->tres.ci.provider;
	f->ci_build = r->tres.build;
	f->ci_url = r->tres.ci.run_url;
	f->ci_actor = r->tres.ci.actor;
}

static ts_code write_digest_file(const char *path, const char *digest, ts_error *err)
{
	char line[TS_DIGEST_STRLEN + 1];
	snprintf(line, sizeof(line), "%s\n", digest);
	return ts_write_file_atomic(path, line, strlen(line), 0644, "--digest-file", err);
}

/* --commit: the files the pin changed as one commit in the repository of
 * --git-dir (or the working directory), pushed with --git-push. */
static ts_code land(ts_release *r, const ts_push_result *pr, const ts_pin_report *rep,
		    ts_error *err)
{
	const ts_release_opts *o = r->o;
	ts_gitland_change *ch = ts_calloc(rep->nchanges, sizeof(*ch));
	const char **files = ts_calloc(rep->files.n + 1, sizeof(*files));
	char *canonical = ts_asprintf("%s:%s", o->repo, r->push.tag);
	ts_gitland_opts g = { o->tag_source.git_dir, o->author, o->git_push, NULL, NULL };
	ts_gitland_result res;
	size_t nfiles = 0;
	char *msg;
	ts_code rc;

	for (size_t i = 0; i < rep->nchanges; i++) {
		ch[i].file = rep->changes[i].path;
		ch[i].line = rep->changes[i].line;
		ch[i].reference = rep->changes[i].old_ref;
		ch[i].canonical = canonical;
		ch[i].new_digest = pr->digest;
	}
	for (size_t i = 0; i < rep->files.n; i++)
		files[nfiles++] = rep->files.v[i];
	msg = ts_gitland_message(ch, rep->nchanges);
	rc = ts_gitland_commit(&g, files, nfiles, msg, &res, err);
	if (rc == TS_OK)
		report(r, TS_REPORT_INFO, "committed the pin as %.12s on %s%s", res.commit, res.branch,
		       res.pushed ? (res.rebased ? ", rebased and pushed" : " and pushed") : "");
	free(msg);
	free(canonical);
	free(files);
	free(ch);
	return rc;
}

/* Everything after the tag is in the registry: every step runs, the first
 * failure is the one returned. */
static ts_code after_tag(ts_release *r, const ts_push_result *pr, ts_release_result *res,
			 ts_error *err)
{
	const ts_release_opts *o = r->o;
	ts_push_facts f = TS_PUSH_FACTS_INIT;
	ts_output_paths paths = { o->metadata_file, o->dotenv_file, o->github_output,
				  o->github_step_summary };
	ts_error step = TS_ERROR_INIT;
	ts_code first = TS_OK, rc;
	ts_pin_report rep = TS_PIN_REPORT_INIT;
	ts_pinned_file *pinned = NULL;
	char *version = NULL;
	char source_sha[TS_DIGEST_STRLEN] = "";
	bool recorded = false;
	size_t moved = 0;
	signed_set signed_ = { 0 };

	rc = move_aliases(r, pr, &moved, &step);
	keep_first(rc, &step, &first, err);
	res->n_aliases_moved = moved;
	if (o->sign_key && !r->push.dry_run)
		sign_steps(r, pr, &signed_, &first, err);
	fill_facts(r, pr, moved, &f, &version, source_sha);
	if (o->sign_key) {
		f.signed_push = true;
		f.signatures = signed_.sigs;
		f.n_signatures = signed_.n_sigs;
		f.attestations = signed_.atts;
		f.n_attestations = signed_.n_atts;
	}
	if (o->n_pins) {
		rc = pin(r, pr->digest, false, &rep, &step);
		keep_first(rc, &step, &first, err);
		if (rc == TS_OK) {
			pinned = ts_calloc(rep.nchanges + 1, sizeof(*pinned));
			for (size_t i = 0; i < rep.nchanges; i++) {
				const ts_pin_change *ch = &rep.changes[i];
				report(r, TS_REPORT_INFO, "%s:%zu: %s -> %s", ch->path, ch->line,
				       ch->old_ref, ch->new_ref);
				pinned[i].path = ch->path;
				pinned[i].line = (long)ch->line;
				pinned[i].old_ref = ch->old_ref;
				pinned[i].new_ref = ch->new_ref;
			}
			f.pinned = pinned;
			f.n_pinned = rep.nchanges;
			if (rep.nrefs == 0)
				report(r, TS_REPORT_WARN, "--pin: no reference to %s found in the files given",
				       o->repo);
		}
	}
	if (o->digest_file) {
		rc = write_digest_file(o->digest_file, pr->digest, &step);
		keep_first(rc, &step, &first, err);
	}
	rc = ts_outputs_write(&f, &paths, &step);
	keep_first(rc, &step, &first, err);
	if (o->record_file) {
		rc = ts_record_append_signed(o->record_file, &f, time(NULL), o->sign_key, &step);
		keep_first(rc, &step, &first, err);
		recorded = rc == TS_OK;
	}
	if (o->commit && rep.nchanges) {
		rc = land(r, pr, &rep, &step);
		keep_first(rc, &step, &first, err);
	}
	if (first != TS_OK)
		ts_error_prefix(err, "%s:%s@%s is in the registry%s, but a step after the tag failed",
				o->repo, r->push.tag, pr->digest, recorded ? " and in the record" : "");
	free(version);
	free(pinned);
	ts_pin_report_free(&rep);
	signed_set_free(&signed_);
	return first;
}

ts_code ts_release_run(ts_release *r, ts_release_result *res, ts_error *err)
{
	ts_push_result pr;
	ts_code rc;

	memset(res, 0, sizeof(*res));
	res->tag = r->push.tag;
	if (!r->push.dry_run) {
		rc = open_registry(r, err);
		if (rc)
			return rc;
	}
	r->push.registry = r->registry;
	report(r, TS_REPORT_DETAIL, "pushing %s to %s as tag %s", r->push.image_path, r->o->repo,
	       r->push.tag);
	rc = ts_push(&r->push, &pr, err);
	memcpy(res->digest, pr.digest, TS_DIGEST_STRLEN);
	res->tagged = pr.tagged;
	res->unchanged = pr.unchanged;
	for (const char *n = ts_buf_cstr(&pr.notes); *n;) {
		size_t k = strcspn(n, "\n");
		char *line = ts_strndup(n, k);
		report(r, TS_REPORT_WARN, "%s", line);
		free(line);
		n += k + (n[k] == '\n');
	}
	if (rc == TS_OK && pr.tagged) {
		if (pr.unchanged)
			report(r, TS_REPORT_INFO, "tag %s already holds %s: nothing changed", r->push.tag,
			       pr.digest);
		rc = after_tag(r, &pr, res, err);
	}
	ts_push_result_free(&pr);
	return rc;
}

void ts_release_free(ts_release *r)
{
	if (!r)
		return;
	if (r->source_hash) {
		char ignored[TS_DIGEST_STRLEN];
		ts_file_hash_finish(r->source_hash, ignored);
	}
	free(r->aliases);
	if (r->have_tres)
		ts_tagname_result_free(&r->tres);
	ts_ref_free(&r->repo);
	ts_ref_free(&r->mount_repo);
	ts_registry_free(r->registry);
	free(r);
}
