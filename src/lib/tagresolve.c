/*
 * tagresolve.c - ts_tagname_resolve(): gather the facts (CI environment,
 * git, --version, --build), pick the template (--tag, --scheme, or the
 * default) and expand the tag and its aliases. The one entry point shared
 * by 'tagseal tag' and 'tagseal push'.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "tagseal/ref.h"
#include "tagseal/tagname.h"

typedef struct facts {
	ts_tagname_ctx ctx;
	char *git_error;        /* why there is no repository (discovery failed) */
	char *unique_sha;       /* shortest unambiguous prefix of the commit */
	char *version_missing;
	char *distance_missing;
} facts;

static bool build_valid(const char *b)
{
	size_t n = strlen(b);
	if (n == 0 || n > 64)
		return false;
	for (; *b; b++)
		if (!isalnum((unsigned char)*b) && !strchr("._-", *b))
			return false;
	return true;
}

/* --build must be usable; a CI's odd value is ignored (and said so). */
static ts_code pick_build(const ts_tagname_opts *o, ts_tagname_result *r, ts_error *err)
{
	if (o->build && !build_valid(o->build))
		return ts_error_set(err, TS_EUSAGE, "--build '%s' is not a build number "
				    "(1 to 64 of [A-Za-z0-9._-])", o->build);
	if (o->build)
		r->build = ts_strdup(o->build);
	else if (r->ci.build && build_valid(r->ci.build))
		r->build = ts_strdup(r->ci.build);
	else if (r->ci.build)
		r->note = ts_asprintf("the CI build number '%s' cannot be part of a tag and is not "
				      "used; pass --build N", r->ci.build);
	return TS_OK;
}

static ts_code load_git(const ts_tagname_opts *o, ts_tagname_result *r, facts *f, ts_error *err)
{
	ts_gitinfo_opts go = { o->git_dir, &r->ci };
	ts_error gerr = TS_ERROR_INIT;
	ts_code rc = ts_gitinfo_load(&go, &r->git, &gerr);

	if (rc != TS_OK) {
		/* An explicit --git-dir must work; discovery may fail (--tag). */
		if (o->git_dir || rc != TS_EUSAGE) {
			*err = gerr;
			return rc;
		}
		f->git_error = ts_strdup(gerr.msg);
		return TS_OK;
	}
	r->have_git = true;
	return ts_gitinfo_short_sha(&r->git, 4, &f->unique_sha, err);
}

static void version_from_git(ts_tagname_result *r, facts *f)
{
	const ts_gitinfo *g = &r->git;
	if (!r->have_git) {
		f->version_missing = ts_asprintf("no version: %s; pass --version", f->git_error);
		return;
	}
	if (g->version_status == TS_GITVER_SHALLOW) {
		f->version_missing = ts_asprintf(
			"%s is a shallow clone and no semver tag (vX.Y.Z or X.Y.Z) is reachable in it, "
			"so the version is unknown; fetch history and tags (git fetch --unshallow "
			"--tags, or fetch-depth: 0) or pass --version", g->path);
	} else if (g->version_status == TS_GITVER_NONE) {
		f->version_missing = ts_strdup("no semver tag (vX.Y.Z or X.Y.Z) is reachable from the "
					       "commit; tag a release or pass --version");
	} else if (!r->have_version) {
		ts_semver_copy(&r->version, &g->version);
		r->have_version = true;
		r->version_source = ts_asprintf("git tag %s", g->version_tag);
	}
}

static void distance_facts(ts_tagname_result *r, facts *f)
{
	const ts_gitinfo *g = &r->git;
	if (r->have_git && g->version_status == TS_GITVER_FOUND && g->distance_known) {
		f->ctx.have_distance = true;
		f->ctx.distance = g->distance;
	} else if (r->have_git && g->version_status == TS_GITVER_FOUND) {
		f->distance_missing = ts_asprintf("%s is a shallow clone and the history since %s is cut "
						  "off; fetch more history", g->path, g->version_tag);
	} else {
		f->distance_missing = ts_strdup(f->version_missing && r->have_git &&
						g->version_status == TS_GITVER_SHALLOW
						? f->version_missing
						: "no version tag is reachable in git history");
	}
}

static void fill_ctx(ts_tagname_result *r, facts *f)
{
	ts_tagname_ctx *c = &f->ctx;
	if (r->have_git) {
		c->commit = r->git.commit;
		c->sha_unique_len = strlen(f->unique_sha);
		r->short_sha = ts_strndup(r->git.commit, c->sha_unique_len > 12 ? c->sha_unique_len : 12);
		c->have_time = true;
		c->commit_time = r->git.commit_time;
		c->dirty = r->git.dirty;
	} else {
		c->git_missing = f->git_error;
	}
	/* A detached HEAD (usual in CI) takes the branch the CI names. */
	if (r->have_git && r->git.branch && !r->git.commit_from_ci)
		r->branch = ts_strdup(r->git.branch);
	else if (r->ci.branch)
		r->branch = ts_strdup(r->ci.branch);
	else if (r->have_git && r->git.branch)
		r->branch = ts_strdup(r->git.branch);
	c->branch = r->branch;
	c->version = r->have_version ? &r->version : NULL;
	c->version_missing = f->version_missing;
	c->build = r->build;
	c->attempt = r->ci.attempt;
	c->distance_missing = f->distance_missing;
}

static ts_code gather(const ts_tagname_opts *o, ts_tagname_result *r, facts *f, ts_error *err)
{
	ts_code rc = ts_ciinfo_from_env(&r->ci, err);
	if (rc == TS_OK)
		rc = pick_build(o, r, err);
	if (rc == TS_OK && o->version) {
		rc = ts_semver_parse(o->version, &r->version, "--version", err);
		r->have_version = rc == TS_OK;
		if (rc == TS_OK)
			r->version_source = ts_strdup("--version");
	}
	if (rc == TS_OK)
		rc = load_git(o, r, f, err);
	if (rc != TS_OK)
		return rc;
	version_from_git(r, f);
	distance_facts(r, f);
	fill_ctx(r, f);
	return TS_OK;
}

static ts_code pick_scheme(const ts_tagname_opts *o, ts_tagname_result *r, facts *f,
			   ts_error *err)
{
	const char *preset;
	if (o->scheme && strcmp(o->scheme, "default") != 0) {
		preset = ts_tagname_preset(o->scheme);
		if (!preset && !strchr(o->scheme, '{'))
			return ts_error_set(err, TS_EUSAGE, "--scheme '%s' is neither a preset (%s) nor a "
					    "template with a {placeholder}; use --tag for a fixed tag",
					    o->scheme, ts_tagname_preset_names());
		r->scheme = ts_strdup(preset ? preset : o->scheme);
		r->scheme_name = ts_strdup(preset ? o->scheme : "template");
		return TS_OK;
	}
	if (!r->have_git)
		return ts_error_set(err, TS_EUSAGE, "the default tag scheme needs a git repository (%s); "
				    "give --git-dir DIR or --tag", f->git_error);
	r->scheme = ts_strdup(ts_tagname_default_scheme(r->have_version, r->build != NULL));
	r->scheme_name = ts_strdup("default");
	if (!r->have_version && r->git.version_status == TS_GITVER_SHALLOW && !r->note)
		r->note = ts_asprintf("shallow clone without a reachable version tag: the default tag "
				      "uses the commit date instead of a version (fetch tags and "
				      "history, or pass --version, for a versioned tag)");
	return TS_OK;
}

static ts_code make_tag(const ts_tagname_opts *o, ts_tagname_result *r, facts *f, ts_error *err)
{
	ts_code rc;
	if (o->tag && o->scheme)
		return ts_error_set(err, TS_EUSAGE, "--tag and --scheme cannot be used together");
	if (o->tag) {
		if (!ts_tag_valid(o->tag))
			return ts_error_set(err, TS_EUSAGE, "--tag '%s' is not a valid tag "
					    "([A-Za-z0-9_][A-Za-z0-9._-]{0,127})", o->tag);
		r->tag = ts_strdup(o->tag);
		r->scheme_name = ts_strdup("--tag");
		return TS_OK;
	}
	rc = pick_scheme(o, r, f, err);
	if (rc == TS_OK)
		rc = ts_tagname_expand(r->scheme, &f->ctx, "--scheme", &r->tag, err);
	return rc;
}

static ts_code make_aliases(const ts_tagname_opts *o, ts_tagname_result *r, facts *f,
			    ts_error *err)
{
	r->aliases = ts_calloc(o->n_aliases ? o->n_aliases : 1, sizeof(ts_tag_alias));
	for (size_t i = 0; i < o->n_aliases; i++) {
		char *tag;
		bool dup = false;
		ts_code rc = ts_tagname_expand(o->aliases[i], &f->ctx, "--alias", &tag, err);
		if (rc != TS_OK)
			return rc;
		if (strcmp(tag, r->tag) == 0) {
			rc = ts_error_set(err, TS_EUSAGE, "--alias '%s' expands to '%s', the immutable "
					  "tag itself", o->aliases[i], tag);
			free(tag);
			return rc;
		}
		for (size_t k = 0; k < r->n_aliases; k++)
			dup = dup || strcmp(r->aliases[k].tag, tag) == 0;
		if (dup) {
			free(tag);
			continue;
		}
		r->aliases[r->n_aliases].tag = tag;
		r->aliases[r->n_aliases++].scope = ts_alias_scope_of(o->aliases[i]);
	}
	return TS_OK;
}

ts_code ts_tagname_resolve(const ts_tagname_opts *o, ts_tagname_result *out, ts_error *err)
{
	ts_tagname_result r;
	facts f;
	ts_code rc;

	memset(&r, 0, sizeof(r));
	memset(&f, 0, sizeof(f));
	rc = gather(o, &r, &f, err);
	if (rc == TS_OK)
		rc = make_tag(o, &r, &f, err);
	if (rc == TS_OK)
		rc = make_aliases(o, &r, &f, err);
	free(f.git_error);
	free(f.unique_sha);
	free(f.version_missing);
	free(f.distance_missing);
	if (rc != TS_OK) {
		ts_tagname_result_free(&r);
		return rc;
	}
	*out = r;
	return TS_OK;
}

void ts_tagname_result_free(ts_tagname_result *r)
{
	if (!r)
		return;
	free(r->tag);
	free(r->scheme);
	free(r->scheme_name);
	for (size_t i = 0; i < r->n_aliases; i++)
		free(r->aliases[i].tag);
	free(r->aliases);
	if (r->have_git)
		ts_gitinfo_free(&r->git);
	ts_ciinfo_free(&r->ci);
	ts_semver_free(&r->version);
	free(r->version_source);
	free(r->build);
	free(r->short_sha);
	free(r->branch);
	free(r->note);
	memset(r, 0, sizeof(*r));
}
