/*
 * cmd_tag.c - 'tagseal tag': print the tag 'push' would use for the same
 * options, and with --repo prove it is free there (or bump it). The work is
 * in tagname.h (ts_tagname_resolve, ts_tagname_pick_free, ts_alias_may_move),
 * shared with push; this file parses options and prints.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "regopts.h"
#include "tagopts.h"
#include "tagseal/record.h"
#include "tagseal/registry.h"
#include "tagseal/tagname.h"

static int run(int argc, char **argv);

enum { O_REPO = 256, O_JSON };

static const ts_optdef tag_defs[] = {
	{ "repo", O_REPO, 0, TS_OPT_VALUE, "REPO", "check the tag is free in this repository", 0, 0 },
	{ "json", O_JSON, 0, TS_OPT_SWITCH, NULL, "print tag, aliases and the facts as one JSON object", 0,
	  0 },
	{ NULL, 0, 0, 0, NULL, NULL, 0, 0 }
};

static const ts_optgroup tag_groups[] = {
	{ "tag source (exactly one of --tag and --scheme, or neither for the default)",
	  ts_tagopts_defs },
	{ "options", tag_defs },
	{ "registry access (with --repo)", ts_regopts_defs },
	TS_COMMON_GROUP,
	{ NULL, NULL }
};

static const ts_cmdspec tag_spec = {
	"tag [--tag TAG | --scheme TEMPLATE] [--repo REPO] [OPTIONS]",
	"Prints, on one stdout line, the immutable tag 'tagseal push' would use with the\n"
	"same options. With --repo, lists the repository's tags and exits 3 if the tag\n"
	"is taken (or, with --on-collision bump, prints the next free TAG.N).\n",
	tag_groups,
	"placeholders: {sha} (12+ hex, longer if ambiguous) {sha:N} {fullsha} {version}\n"
	"  {major} {minor} {patch} {prerelease} {build} {attempt} {date} {date:FORMAT}\n"
	"  (strftime, UTC, commit date) {time} {epoch} {branch} {distance} {dirty}\n"
	"default: {version}-{build}.g{sha}{dirty} in CI with a version;\n"
	"  {version}-g{sha}{dirty} outside CI; {date:%Y%m%d}-{build}.g{sha}{dirty} /\n"
	"  {date:%Y%m%d}-g{sha}{dirty} without a version. Presets naming the commit end in\n"
	"  {dirty} too ('-dirty' for a tree with uncommitted changes). '+' becomes '_';\n"
	"  tags over 128 characters end in a hash.\n",
	"0 ok\n2 bad option, template, version or repository\n3 the tag is taken\n"
	"4 registry failure\n",
};

const ts_command ts_cmd_tag = { "tag", run, "print the tag push would use (with --repo, prove it is free)", &tag_spec };

typedef struct tag_args {
	ts_tagopts to;
	const char *repo;
	bool json;
	ts_regopts ro;
} tag_args;

/* One option (ts_cli_parse). */
static int take_opt(void *ctx, int opt, const char *arg, const char *src)
{
	tag_args *a = ctx;
	int rc = -1;

	switch (opt) {
	case O_REPO: a->repo = arg; break;
	case O_JSON: a->json = true; break;
	default:
		if ((rc = ts_tagopts_opt(&a->to, "tag", opt, arg, src)) == -2)
			rc = ts_regopts_opt(&a->ro, "tag", opt, arg, src);
		break;
	}
	return rc;
}

static int parse_args(int argc, char **argv, tag_args *a)
{
	int rc = ts_cli_parse(&ts_cmd_tag, &tag_spec, argc, argv, take_opt, a);

	if (rc >= 0)
		return rc;
	if (optind < argc)
		return ts_msg_usage("tag", "unexpected argument '%s'", argv[optind]);
	if ((rc = ts_tagopts_check(&a->to, "tag")) >= 0 || (rc = ts_regopts_check(&a->ro, "tag")) >= 0)
		return rc;
	if (a->to.policy == TS_COLLISION_BUMP && !a->repo)
		return ts_msg_usage("tag", "--on-collision bump needs --repo");
	return -1;
}

/* ---- the registry check ---- */

typedef struct registry_view {
	char **tags;
	size_t n;
	bool checked;
} registry_view;

static ts_code list_tags(tag_args *a, registry_view *v, ts_error *err)
{
	ts_ref repo = TS_REF_INIT;
	ts_registry *r = NULL;
	ts_code rc = ts_repo_parse(a->repo, &repo, "--repo", err);

	if (rc == TS_OK)
		rc = ts_regopts_finish(&a->ro, 2, err);
	if (rc == TS_OK)
		rc = ts_registry_open(&repo, &a->ro.reg, &r, err);
	if (rc == TS_OK)
		rc = ts_registry_tags_list(r, &v->tags, &v->n, err);
	v->checked = rc == TS_OK;
	ts_registry_free(r);
	ts_ref_free(&repo);
	return rc;
}

/* With --repo: the tag must be free (or is bumped until it is). */
static ts_code check_free(tag_args *a, ts_tagname_result *res, registry_view *v, ts_error *err)
{
	char *picked = NULL;
	ts_code rc = list_tags(a, v, err);

	if (rc == TS_OK)
		rc = ts_tagname_pick_free(res->tag, v->tags, v->n, a->to.policy, &picked, err);
	if (rc != TS_OK) {
		if (rc == TS_EREFUSED)
			ts_error_prefix(err, "%s", a->repo);
		return rc;
	}
	if (strcmp(picked, res->tag) != 0)
		ts_msg_info("tag %s is taken in %s; using %s", res->tag, a->repo, picked);
	else
		ts_msg_verbose("tag %s is free in %s (%zu tags listed)", picked, a->repo, v->n);
	free(res->tag);
	res->tag = picked;
	return TS_OK;
}

/* ---- printing ---- */

static void iso_time(int64_t t, char out[32])
{
	ts_rfc3339_utc((time_t)t, out); /* the one RFC 3339 formatter (record.h) */
}

static void print_facts(const ts_tagname_result *r)
{
	char when[32];
	if (r->have_git) {
		iso_time(r->git.commit_time, when);
		ts_msg_verbose("git: %s commit %s%s (%s), branch %s%s%s", r->git.path, r->git.commit,
			       r->git.commit_from_ci ? " (the CI's PR head; HEAD is its merge)" : "",
			       when, r->git.branch ? r->git.branch : "(detached)",
			       r->git.dirty ? ", dirty" : "", r->git.shallow ? ", shallow clone" : "");
		if (r->git.version_status == TS_GITVER_FOUND)
			ts_msg_verbose("git: version tag %s, %llu commit(s) since%s", r->git.version_tag,
				       (unsigned long long)r->git.distance,
				       r->git.distance_known ? "" : " (at least; shallow)");
	}
	if (r->ci.provider)
		ts_msg_verbose("ci: %s build %s%s%s, ref %s, actor %s, %s", r->ci.provider,
			       r->ci.build ? r->ci.build : "?", r->ci.attempt ? " attempt " : "",
			       r->ci.attempt ? r->ci.attempt : "", r->ci.ref ? r->ci.ref : "?",
			       r->ci.actor ? r->ci.actor : "?", r->ci.run_url ? r->ci.run_url : "");
	if (r->have_version) {
		char *v = ts_semver_format(&r->version);
		ts_msg_verbose("version: %s (from %s)", v, r->version_source);
		free(v);
	}
	ts_msg_verbose("scheme: %s%s%s", r->scheme_name, r->scheme ? " " : "",
		       r->scheme ? r->scheme : "");
}

static void print_aliases(const ts_tagname_result *r, const registry_view *v)
{
	for (size_t i = 0; i < r->n_aliases; i++) {
		char *why = NULL;
		if (v->checked)
			ts_alias_may_move(&r->aliases[i], r->have_version ? &r->version : NULL, v->tags,
					  v->n, &why);
		ts_msg_info("alias %s (mutable, %s scope)%s%s", r->aliases[i].tag,
			    ts_alias_scope_name(r->aliases[i].scope), why ? ": " : "", why ? why : "");
		free(why);
	}
}

static void set_str(json_t *o, const char *key, const char *s)
{
	json_object_set_new(o, key, s ? json_string(s) : json_null());
}

static json_t *git_json(const ts_tagname_result *r)
{
	json_t *g = json_object();
	char when[32];
	iso_time(r->git.commit_time, when);
	set_str(g, "commit", r->git.commit);
	set_str(g, "head", r->git.head);
	set_str(g, "short", r->short_sha);
	set_str(g, "time", when);
	set_str(g, "branch", r->git.branch);
	json_object_set_new(g, "dirty", json_boolean(r->git.dirty));
	json_object_set_new(g, "shallow", json_boolean(r->git.shallow));
	set_str(g, "versionTag", r->git.version_status == TS_GITVER_FOUND ? r->git.version_tag : NULL);
	json_object_set_new(g, "distance", r->git.version_status == TS_GITVER_FOUND &&
				   r->git.distance_known ? json_integer((json_int_t)r->git.distance)
							 : json_null());
	return g;
}

static json_t *ci_json(const ts_ciinfo *ci)
{
	json_t *c = json_object();
	set_str(c, "provider", ci->provider);
	set_str(c, "build", ci->build);
	set_str(c, "attempt", ci->attempt);
	set_str(c, "runUrl", ci->run_url);
	set_str(c, "actor", ci->actor);
	set_str(c, "ref", ci->ref);
	set_str(c, "branch", ci->branch);
	set_str(c, "commit", ci->commit);
	set_str(c, "headCommit", ci->head_commit);
	return c;
}

static json_t *aliases_json(const ts_tagname_result *r, const registry_view *v)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < r->n_aliases; i++) {
		json_t *o = json_object();
		set_str(o, "tag", r->aliases[i].tag);
		set_str(o, "scope", ts_alias_scope_name(r->aliases[i].scope));
		if (v->checked) {
			char *why = NULL;
			bool move = ts_alias_may_move(&r->aliases[i], r->have_version ? &r->version : NULL,
						      v->tags, v->n, &why);
			json_object_set_new(o, "moves", json_boolean(move));
			set_str(o, "reason", why);
			free(why);
		}
		json_array_append_new(arr, o);
	}
	return arr;
}

static int print_json(const tag_args *a, const ts_tagname_result *r, const registry_view *v)
{
	json_t *o = json_object();
	char *s, *ver = r->have_version ? ts_semver_format(&r->version) : NULL;

	set_str(o, "tag", r->tag);
	json_object_set_new(o, "aliases", aliases_json(r, v));
	set_str(o, "scheme", r->scheme);
	set_str(o, "schemeName", r->scheme_name);
	set_str(o, "version", ver);
	set_str(o, "versionSource", r->version_source);
	set_str(o, "build", r->build);
	set_str(o, "branch", r->branch);
	json_object_set_new(o, "git", r->have_git ? git_json(r) : json_null());
	json_object_set_new(o, "ci", ci_json(&r->ci));
	set_str(o, "repository", a->repo);
	if (v->checked)
		json_object_set_new(o, "free", json_true());
	s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	free(ver);
	if (!s)
		return 1;
	puts(s);
	free(s);
	return 0;
}

static int run(int argc, char **argv)
{
	tag_args a;
	ts_tagname_result res;
	registry_view view = { NULL, 0, false };
	ts_error err = TS_ERROR_INIT;
	ts_code code;
	int rc;

	memset(&a, 0, sizeof(a));
	memset(&res, 0, sizeof(res));
	ts_regopts_init(&a.ro);
	rc = parse_args(argc, argv, &a);
	if (rc >= 0) {
		ts_tagopts_free(&a.to);
		return rc;
	}
	code = ts_tagname_resolve(&a.to.tn, &res, &err);
	if (code == TS_OK) {
		if (res.note)
			ts_msg_warn("%s", res.note);
		print_facts(&res);
		if (a.repo)
			code = check_free(&a, &res, &view, &err);
	}
	if (code == TS_OK) {
		rc = a.json ? print_json(&a, &res, &view) : (puts(res.tag), 0);
		if (!a.json)
			print_aliases(&res, &view);
	} else {
		rc = ts_msg_fail(&err);
	}
	ts_tagname_result_free(&res);
	ts_registry_tags_free(view.tags);
	ts_regopts_free(&a.ro);
	ts_tagopts_free(&a.to);
	return rc;
}
