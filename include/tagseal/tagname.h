/*
 * tagname.h - choosing the immutable tag (and the mutable aliases) a push
 * uses: --tag, a --scheme template or preset, or the default scheme, over
 * facts from git (gitinfo.h), the CI (ciinfo.h) and --version/--build.
 *
 * `tagseal tag` and `tagseal push` both call ts_tagname_resolve(), so the
 * same inputs give the same tag. Collision handling (ts_tagname_pick_free)
 * and the alias rule (ts_alias_may_move) are pure functions over the list
 * of tags already in the registry, shared by both commands as well.
 *
 * Template syntax: literal text and placeholders {name} or {name:arg}; see
 * docs/tags.md for the list. Every tag produced matches the OCI grammar
 * [A-Za-z0-9_][A-Za-z0-9._-]{0,127}:
 *   - '+' (semver build metadata) becomes '_' (reversible: semver never
 *     contains '_');
 *   - {branch} is lower-cased, every run of other characters becomes '-',
 *     and leading/trailing '-' and '.' are dropped (feature/Login+SSO ->
 *     feature-login-sso);
 *   - any other character outside the grammar, in the template or in a
 *     {date:...} expansion, is refused (TS_EUSAGE naming the column);
 *   - a tag that would start with '.' or '-', or is empty, is refused;
 *   - a tag longer than 128 keeps its first 117 characters, then '-' and
 *     10 hex digits of the SHA-256 of the whole value, so that two long
 *     values never collide by truncation.
 */
#ifndef TAGSEAL_TAGNAME_H
#define TAGSEAL_TAGNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tagseal/ciinfo.h"
#include "tagseal/error.h"
#include "tagseal/gitinfo.h"
#include "tagseal/semver.h"

#define TS_TAG_MAX 128

/* ---- templates (pure) ---- */

/* The facts placeholders expand from. Missing facts are NULL; the
 * *_missing strings say why, for the error when a template needs them. */
typedef struct ts_tagname_ctx {
	const char *commit;          /* 40 hex */
	size_t sha_unique_len;       /* shortest unambiguous prefix of commit */
	bool have_time;
	int64_t commit_time;         /* UTC seconds */
	const ts_semver *version;
	const char *version_missing;
	const char *build;
	const char *attempt;         /* NULL: first attempt */
	const char *branch;          /* unsanitised */
	bool have_distance;
	uint64_t distance;
	const char *distance_missing;
	bool dirty;
	const char *git_missing;     /* why commit is NULL */
} ts_tagname_ctx;

/* Expand a template and make it a valid tag (rules above). `what` names
 * the template's origin in messages ("--scheme", "--alias"). */
ts_code ts_tagname_expand(const char *tmpl, const ts_tagname_ctx *ctx, const char *what,
			  char **out, ts_error *err);

/* The template of a preset name ("sha", "semver", ...), or NULL. */
const char *ts_tagname_preset(const char *name);

/* Space-separated preset names, for help and messages. */
const char *ts_tagname_preset_names(void);

/* The default scheme for these facts: unique per CI build and per commit. */
const char *ts_tagname_default_scheme(bool have_version, bool have_build);

/* A branch name made readable and tag-safe; NULL when nothing is left. */
char *ts_tagname_sanitize_branch(const char *branch);

/* Over-long tags shortened with a hash (rule above); always a new string. */
char *ts_tagname_shorten(const char *tag);

/* ---- aliases (pure) ---- */

typedef enum ts_alias_scope {
	TS_ALIAS_LATEST, /* no placeholder ("latest", "stable"): all versions */
	TS_ALIAS_MAJOR,  /* {major} and no other placeholder */
	TS_ALIAS_MINOR,  /* {major}, {minor} and no other placeholder */
	TS_ALIAS_FREE    /* anything else ({version}, {branch}, {sha}...): always moves */
} ts_alias_scope;

typedef struct ts_tag_alias {
	char *tag;
	ts_alias_scope scope;
} ts_tag_alias;

ts_alias_scope ts_alias_scope_of(const char *tmpl);
const char *ts_alias_scope_name(ts_alias_scope s);

/*
 * Whether an alias may be moved to this build. `version` may be NULL
 * (unknown); `existing` are the registry's tags (those that read as semver,
 * with a leading 'v' and '_' for '+' accepted, count as versions). Rule:
 * FREE aliases always move. LATEST/MAJOR/MINOR aliases never move for a
 * prerelease, nor for a version lower (semver precedence) than the highest
 * version tag in scope (all versions / same major / same major.minor);
 * without a version they move only while the registry holds no version tag.
 * *why (may be NULL) gets a one-line reason the caller frees.
 */
bool ts_alias_may_move(const ts_tag_alias *alias, const ts_semver *version,
		       char *const *existing, size_t n_existing, char **why);

/* ---- collisions (pure) ---- */

typedef enum ts_collision {
	TS_COLLISION_FAIL, /* a taken tag is TS_EREFUSED */
	TS_COLLISION_BUMP  /* append .2, .3, ... until free */
} ts_collision;

/* The tag to use given the registry's tags: `tag` itself when free, else
 * per policy. *out is a new string. */
ts_code ts_tagname_pick_free(const char *tag, char *const *existing, size_t n_existing,
			     ts_collision policy, char **out, ts_error *err);

/* ---- the one entry point ---- */

typedef struct ts_tagname_opts {
	const char *tag;      /* --tag */
	const char *scheme;   /* --scheme: preset name or template */
	const char *version;  /* --version */
	const char *build;    /* --build */
	const char *git_dir;  /* --git-dir */
	const char *const *aliases; /* --alias templates */
	size_t n_aliases;
} ts_tagname_opts;

typedef struct ts_tagname_result {
	char *tag;
	char *scheme;         /* template expanded; NULL for --tag */
	char *scheme_name;    /* preset name, "default", "template" or "--tag" */
	ts_tag_alias *aliases;
	size_t n_aliases;
	bool have_git;
	ts_gitinfo git;       /* valid when have_git */
	ts_ciinfo ci;
	bool have_version;
	ts_semver version;
	char *version_source; /* "--version" or "git tag v1.4.2" */
	char *build;          /* --build or the CI's; NULL when none */
	char *short_sha;      /* {sha}: 12+ hex; NULL without git */
	char *branch;         /* git branch or the CI's; NULL when unknown */
	char *note;           /* one line for the user about a fallback, or NULL */
} ts_tagname_result;

ts_code ts_tagname_resolve(const ts_tagname_opts *opts, ts_tagname_result *out, ts_error *err);
void ts_tagname_result_free(ts_tagname_result *r);

#endif
