/*
 * tagname.c - templates, presets, the default scheme, sanitising, aliases
 * and collisions: everything that turns facts into a tag. Pure functions;
 * ts_tagname_resolve() (tagresolve.c) gathers the facts and calls them.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tagseal/buf.h"
#include "tagseal/digest.h"
#include "tagseal/ref.h"
#include "tagseal/tagname.h"

enum ph_id {
	PH_SHA, PH_FULLSHA, PH_VERSION, PH_MAJOR, PH_MINOR, PH_PATCH, PH_PRERELEASE,
	PH_BUILD, PH_ATTEMPT, PH_DATE, PH_TIME, PH_EPOCH, PH_BRANCH, PH_DISTANCE, PH_DIRTY
};

static const struct placeholder {
	const char *name;
	bool takes_arg;
} placeholders[] = {
	[PH_SHA] = { "sha", true },          [PH_FULLSHA] = { "fullsha", false },
	[PH_VERSION] = { "version", false }, [PH_MAJOR] = { "major", false },
	[PH_MINOR] = { "minor", false },     [PH_PATCH] = { "patch", false },
	[PH_PRERELEASE] = { "prerelease", false },
	[PH_BUILD] = { "build", false },     [PH_ATTEMPT] = { "attempt", false },
	[PH_DATE] = { "date", true },        [PH_TIME] = { "time", false },
	[PH_EPOCH] = { "epoch", false },     [PH_BRANCH] = { "branch", false },
	[PH_DISTANCE] = { "distance", false }, [PH_DIRTY] = { "dirty", false },
};
#define N_PH (sizeof(placeholders) / sizeof(placeholders[0]))
#define KNOWN_PH "sha, sha:N, fullsha, version, major, minor, patch, prerelease, build, " \
	"attempt, date, date:FORMAT, time, epoch, branch, distance, dirty"

/* One piece of a template: literal text (ph < 0) or a placeholder. */
typedef struct token {
	int ph;
	size_t col;       /* 1-based column of the literal or the '{' */
	const char *text; /* literal text, or the argument after ':' */
	size_t len;
	bool has_arg;
} token;

typedef struct tokens {
	token *v;
	size_t n;
} tokens;

static bool tag_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-';
}

static ts_code bad_char(const char *what, const char *tmpl, size_t col, char c, ts_error *err)
{
	if (isprint((unsigned char)c))
		return ts_error_set(err, TS_EUSAGE,
				    "%s '%s': character '%c' at column %zu is not allowed in a tag "
				    "([A-Za-z0-9._-], '+' becomes '_')", what, tmpl, c, col);
	return ts_error_set(err, TS_EUSAGE, "%s '%s': byte 0x%02x at column %zu is not allowed in a tag",
			    what, tmpl, (unsigned char)c, col);
}

static void push_token(tokens *t, token tk)
{
	t->v = ts_realloc(t->v, (t->n + 1) * sizeof(token));
	t->v[t->n++] = tk;
}

/* "{name}" or "{name:arg}" starting at tmpl[i] == '{'. */
static ts_code parse_placeholder(const char *tmpl, size_t *i, const char *what, tokens *t,
				 ts_error *err)
{
	size_t start = *i, end, name_len;
	const char *body = tmpl + start + 1;
	const char *colon;
	token tk = { -1, start + 1, NULL, 0, false };

	end = strcspn(body, "{}");
	if (body[end] != '}')
		return ts_error_set(err, TS_EUSAGE, "%s '%s': placeholder at column %zu is not closed by '}'",
				    what, tmpl, start + 1);
	colon = memchr(body, ':', end);
	name_len = colon ? (size_t)(colon - body) : end;
	for (size_t k = 0; k < N_PH; k++)
		if (strlen(placeholders[k].name) == name_len &&
		    memcmp(placeholders[k].name, body, name_len) == 0)
			tk.ph = (int)k;
	if (tk.ph < 0)
		return ts_error_set(err, TS_EUSAGE, "%s '%s': unknown placeholder {%.*s} at column %zu "
				    "(known: %s)", what, tmpl, (int)end, body, start + 1, KNOWN_PH);
	if (colon && !placeholders[tk.ph].takes_arg)
		return ts_error_set(err, TS_EUSAGE, "%s '%s': {%s} at column %zu takes no argument",
				    what, tmpl, placeholders[tk.ph].name, start + 1);
	if (colon) {
		tk.has_arg = true;
		tk.text = colon + 1;
		tk.len = end - name_len - 1;
	}
	push_token(t, tk);
	*i = start + 1 + end + 1;
	return TS_OK;
}

static ts_code parse_literal(const char *tmpl, size_t *i, const char *what, tokens *t,
			     ts_error *err)
{
	size_t start = *i;
	for (; tmpl[*i] && tmpl[*i] != '{'; (*i)++) {
		if (tmpl[*i] == '}')
			return ts_error_set(err, TS_EUSAGE, "%s '%s': '}' at column %zu closes no placeholder",
					    what, tmpl, *i + 1);
		if (!tag_char(tmpl[*i]) && tmpl[*i] != '+')
			return bad_char(what, tmpl, *i + 1, tmpl[*i], err);
	}
	push_token(t, (token){ -1, start + 1, tmpl + start, *i - start, false });
	return TS_OK;
}

static ts_code parse_template(const char *tmpl, const char *what, tokens *t, ts_error *err)
{
	size_t i = 0;
	ts_code rc = TS_OK;

	t->v = NULL;
	t->n = 0;
	if (!*tmpl)
		return ts_error_set(err, TS_EUSAGE, "%s: the template is empty", what);
	while (tmpl[i] && rc == TS_OK)
		rc = tmpl[i] == '{' ? parse_placeholder(tmpl, &i, what, t, err)
				    : parse_literal(tmpl, &i, what, t, err);
	if (rc != TS_OK) {
		free(t->v);
		t->v = NULL;
	}
	return rc;
}

/* ---- expanding ---- */

typedef struct expander {
	const char *tmpl, *what;
	const ts_tagname_ctx *ctx;
	ts_buf out;
	ts_error *err;
} expander;

static ts_code missing(expander *x, const token *tk, const char *why)
{
	return ts_error_set(x->err, TS_EUSAGE, "%s '%s': {%s} at column %zu cannot be expanded: %s",
			    x->what, x->tmpl, placeholders[tk->ph].name, tk->col, why);
}

/* Append a value, '+' becoming '_'. */
static void put_value(expander *x, const char *s)
{
	for (; *s; s++)
		ts_buf_putc(&x->out, *s == '+' ? '_' : *s);
}

static ts_code put_sha(expander *x, const token *tk)
{
	const ts_tagname_ctx *c = x->ctx;
	size_t n = 12;
	if (!c->commit)
		return missing(x, tk, c->git_missing ? c->git_missing : "no git repository");
	if (tk->has_arg) {
		char *end;
		char arg[8] = "";
		long v;
		if (tk->len > 0 && tk->len < sizeof(arg))
			memcpy(arg, tk->text, tk->len);
		v = strtol(arg, &end, 10);
		if (!arg[0] || *end || v < 4 || v > 40)
			return ts_error_set(x->err, TS_EUSAGE, "%s '%s': {sha:%.*s} at column %zu: "
					    "N must be a number from 4 to 40", x->what, x->tmpl,
					    (int)tk->len, tk->text, tk->col);
		n = (size_t)v;
	}
	if (c->sha_unique_len > n)
		n = c->sha_unique_len;
	ts_buf_put(&x->out, c->commit, n > 40 ? 40 : n);
	return TS_OK;
}

static ts_code put_time(expander *x, const token *tk, const char *fmt)
{
	char out[256];
	struct tm tm;
	time_t t = (time_t)x->ctx->commit_time;
	size_t n;

	if (!x->ctx->have_time)
		return missing(x, tk, x->ctx->git_missing ? x->ctx->git_missing : "no git repository");
	if (!gmtime_r(&t, &tm))
		return missing(x, tk, "the commit time is out of range");
	/* The format is the user's {date:FORMAT}: strftime is the point. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	n = strftime(out, sizeof(out), fmt, &tm);
#pragma GCC diagnostic pop
	if (n == 0)
		return ts_error_set(x->err, TS_EUSAGE, "%s '%s': {%s} at column %zu gives an empty "
				    "or over-long value", x->what, x->tmpl, placeholders[tk->ph].name,
				    tk->col);
	for (size_t i = 0; i < n; i++)
		if (!tag_char(out[i]) && out[i] != '+')
			return ts_error_set(x->err, TS_EUSAGE, "%s '%s': {%s} at column %zu gives '%s', "
					    "and '%c' is not allowed in a tag", x->what, x->tmpl,
					    placeholders[tk->ph].name, tk->col, out, out[i]);
	put_value(x, out);
	return TS_OK;
}

static ts_code put_date(expander *x, const token *tk)
{
	char fmt[200];
	if (!tk->has_arg)
		return put_time(x, tk, "%Y%m%d");
	if (tk->len == 0 || tk->len >= sizeof(fmt))
		return ts_error_set(x->err, TS_EUSAGE, "%s '%s': {date:FORMAT} at column %zu needs a "
				    "strftime FORMAT of 1 to %zu characters", x->what, x->tmpl,
				    tk->col, sizeof(fmt) - 1);
	memcpy(fmt, tk->text, tk->len);
	fmt[tk->len] = '\0';
	return put_time(x, tk, fmt);
}

static ts_code put_version_part(expander *x, const token *tk)
{
	const ts_semver *v = x->ctx->version;
	char num[32];
	if (!v)
		return missing(x, tk, x->ctx->version_missing ? x->ctx->version_missing
							       : "no version known; pass --version");
	switch (tk->ph) {
	case PH_VERSION: {
		char *s = ts_semver_format(v);
		put_value(x, s);
		free(s);
		return TS_OK;
	}
	case PH_PRERELEASE:
		ts_buf_puts(&x->out, v->prerelease ? v->prerelease : "");
		return TS_OK;
	default:
		snprintf(num, sizeof(num), "%llu", (unsigned long long)(tk->ph == PH_MAJOR ? v->major
					: tk->ph == PH_MINOR ? v->minor : v->patch));
		ts_buf_puts(&x->out, num);
		return TS_OK;
	}
}

static ts_code put_branch(expander *x, const token *tk)
{
	char *b = x->ctx->branch ? ts_tagname_sanitize_branch(x->ctx->branch) : NULL;
	if (!b)
		return missing(x, tk, x->ctx->branch ? "the branch name has no usable character"
				      : "HEAD is detached and the CI names no branch");
	ts_buf_puts(&x->out, b);
	free(b);
	return TS_OK;
}

static ts_code put_placeholder(expander *x, const token *tk)
{
	const ts_tagname_ctx *c = x->ctx;
	switch ((enum ph_id)tk->ph) {
	case PH_SHA:
		return put_sha(x, tk);
	case PH_FULLSHA:
		if (!c->commit)
			return missing(x, tk, c->git_missing ? c->git_missing : "no git repository");
		ts_buf_puts(&x->out, c->commit);
		return TS_OK;
	case PH_BUILD:
		if (!c->build)
			return missing(x, tk, "no CI build number in the environment (GITHUB_RUN_NUMBER, "
				       "CI_PIPELINE_IID, BUILD_NUMBER, BUILDKITE_BUILD_NUMBER, "
				       "CI_PIPELINE_NUMBER, DRONE_BUILD_NUMBER); pass --build N");
		put_value(x, c->build);
		return TS_OK;
	case PH_ATTEMPT:
		ts_buf_puts(&x->out, c->attempt ? c->attempt : "1");
		return TS_OK;
	case PH_DATE:
		return put_date(x, tk);
	case PH_TIME:
		return put_time(x, tk, "%Y%m%d%H%M%S");
	case PH_EPOCH:
		return put_time(x, tk, "%s");
	case PH_BRANCH:
		return put_branch(x, tk);
	case PH_DISTANCE:
		if (!c->have_distance)
			return missing(x, tk, c->distance_missing ? c->distance_missing
								  : "no version tag in git history");
		ts_buf_printf(&x->out, "%llu", (unsigned long long)c->distance);
		return TS_OK;
	case PH_DIRTY:
		ts_buf_puts(&x->out, c->dirty ? "-dirty" : "");
		return TS_OK;
	default:
		return put_version_part(x, tk);
	}
}

/* Leading '.'/'-' and emptiness are refused; length is fixed by hashing. */
static ts_code finish(const char *what, const char *tmpl, const char *raw, char **out,
		      ts_error *err)
{
	if (!*raw)
		return ts_error_set(err, TS_EUSAGE, "%s '%s' expands to an empty tag", what, tmpl);
	if (raw[0] == '.' || raw[0] == '-')
		return ts_error_set(err, TS_EUSAGE, "%s '%s' expands to '%s', and a tag cannot start "
				    "with '%c'", what, tmpl, raw, raw[0]);
	*out = ts_tagname_shorten(raw);
	return TS_OK;
}

ts_code ts_tagname_expand(const char *tmpl, const ts_tagname_ctx *ctx, const char *what,
			  char **out, ts_error *err)
{
	expander x = { tmpl, what, ctx, TS_BUF_INIT, err };
	tokens t;
	ts_code rc = parse_template(tmpl, what, &t, err);

	for (size_t i = 0; rc == TS_OK && i < t.n; i++) {
		if (t.v[i].ph >= 0) {
			rc = put_placeholder(&x, &t.v[i]);
			continue;
		}
		for (size_t k = 0; k < t.v[i].len; k++)
			ts_buf_putc(&x.out, t.v[i].text[k] == '+' ? '_' : t.v[i].text[k]);
	}
	if (rc == TS_OK)
		rc = finish(what, tmpl, ts_buf_cstr(&x.out), out, err);
	ts_buf_free(&x.out);
	free(t.v);
	return rc;
}

/* ---- presets, default, sanitising ---- */

static const struct preset {
	const char *name, *tmpl;
} presets[] = {
	/* every preset that names the commit says when the tree is not the
	 * commit ({dirty}: "-dirty", git describe's convention) */
	{ "sha", "{sha}{dirty}" },
	{ "semver", "{version}" },
	{ "semver-sha", "{version}-g{sha}{dirty}" },
	{ "describe", "{version}-{distance}-g{sha}{dirty}" },
	{ "date-build", "{date:%Y%m%d}-{build}" },
	{ "date-sha", "{date:%Y%m%d}-g{sha}{dirty}" },
	{ "branch-sha", "{branch}-g{sha}{dirty}" },
	{ "build-sha", "{build}-g{sha}{dirty}" },
};

const char *ts_tagname_preset(const char *name)
{
	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
		if (strcmp(presets[i].name, name) == 0)
			return presets[i].tmpl;
	return NULL;
}

const char *ts_tagname_preset_names(void)
{
	return "sha semver semver-sha describe date-build date-sha branch-sha build-sha default";
}

const char *ts_tagname_default_scheme(bool have_version, bool have_build)
{
	if (have_version)
		return have_build ? "{version}-{build}.g{sha}{dirty}" : "{version}-g{sha}{dirty}";
	return have_build ? "{date:%Y%m%d}-{build}.g{sha}{dirty}" : "{date:%Y%m%d}-g{sha}{dirty}";
}

char *ts_tagname_sanitize_branch(const char *branch)
{
	ts_buf b = TS_BUF_INIT;
	for (const char *p = branch; *p; p++) {
		char c = (char)tolower((unsigned char)*p);
		if (isalnum((unsigned char)c) || c == '_' || c == '.')
			ts_buf_putc(&b, c);
		else if (b.len && b.ptr[b.len - 1] != '-')
			ts_buf_putc(&b, '-');
	}
	while (b.len && (b.ptr[b.len - 1] == '-' || b.ptr[b.len - 1] == '.'))
		b.ptr[--b.len] = '\0';
	{
		size_t skip = 0;
		while (skip < b.len && b.ptr[skip] == '.')
			skip++;
		if (skip == b.len) {
			ts_buf_free(&b);
			return NULL;
		}
		memmove(b.ptr, b.ptr + skip, b.len - skip + 1);
	}
	return ts_buf_detach(&b);
}

char *ts_tagname_shorten(const char *tag)
{
	char digest[TS_DIGEST_STRLEN];
	size_t n = strlen(tag);
	if (n <= TS_TAG_MAX)
		return ts_strdup(tag);
	ts_sha256_digest(tag, n, digest);
	return ts_asprintf("%.*s-%.10s", TS_TAG_MAX - 11, tag, digest + 7);
}

/* ---- aliases ---- */

ts_alias_scope ts_alias_scope_of(const char *tmpl)
{
	tokens t;
	bool major = false, minor = false, other = false;
	if (parse_template(tmpl, "--alias", &t, NULL) != TS_OK)
		return TS_ALIAS_FREE;
	for (size_t i = 0; i < t.n; i++) {
		if (t.v[i].ph == PH_MAJOR)
			major = true;
		else if (t.v[i].ph == PH_MINOR)
			minor = true;
		else if (t.v[i].ph >= 0)
			other = true;
	}
	free(t.v);
	if (other)
		return TS_ALIAS_FREE;
	return minor ? TS_ALIAS_MINOR : major ? TS_ALIAS_MAJOR : TS_ALIAS_LATEST;
}

const char *ts_alias_scope_name(ts_alias_scope s)
{
	static const char *const names[] = { "latest", "major", "minor", "free" };
	return names[s];
}

/* A registry tag read as a version: optional 'v', '_' standing for '+'. */
static bool tag_version(const char *tag, ts_semver *out)
{
	char *s = ts_strdup(tag);
	bool ok;
	for (char *p = s; *p; p++)
		if (*p == '_')
			*p = '+';
	ok = ts_semver_try_parse(s, out);
	free(s);
	return ok;
}

static bool in_scope(ts_alias_scope scope, const ts_semver *v, const ts_semver *mine)
{
	if (scope == TS_ALIAS_LATEST || !mine)
		return true;
	if (v->major != mine->major)
		return false;
	return scope == TS_ALIAS_MAJOR || v->minor == mine->minor;
}

/* The highest version tag in scope; *found false when there is none. */
static void highest_in_scope(ts_alias_scope scope, const ts_semver *mine, char *const *existing,
			     size_t n, ts_semver *best, const char **best_tag, bool *found)
{
	*found = false;
	for (size_t i = 0; i < n; i++) {
		ts_semver v;
		if (!tag_version(existing[i], &v))
			continue;
		if (in_scope(scope, &v, mine) && (!*found || ts_semver_cmp(&v, best) > 0)) {
			if (*found)
				ts_semver_free(best);
			*best = v;
			*best_tag = existing[i];
			*found = true;
		} else {
			ts_semver_free(&v);
		}
	}
}

static bool decide(bool move, char **why, char *msg)
{
	if (why)
		*why = msg;
	else
		free(msg);
	return move;
}

bool ts_alias_may_move(const ts_tag_alias *alias, const ts_semver *version,
		       char *const *existing, size_t n_existing, char **why)
{
	ts_semver best = TS_SEMVER_INIT;
	const char *best_tag = NULL;
	bool found, move;
	char *msg, *mine;

	if (alias->scope == TS_ALIAS_FREE)
		return decide(true, why, ts_asprintf("'%s' names this build", alias->tag));
	if (version && version->prerelease)
		return decide(false, why, ts_asprintf("'%s' stays: prerelease %llu.%llu.%llu-%s never "
					"moves it", alias->tag, (unsigned long long)version->major,
					(unsigned long long)version->minor,
					(unsigned long long)version->patch, version->prerelease));
	highest_in_scope(alias->scope, version, existing, n_existing, &best, &best_tag, &found);
	if (!found)
		return decide(true, why, ts_asprintf("'%s' moves: no version tag in its scope yet",
						     alias->tag));
	if (!version) {
		ts_semver_free(&best);
		return decide(false, why, ts_asprintf("'%s' stays: this build has no version and the "
					"registry holds version tag '%s'", alias->tag, best_tag));
	}
	mine = ts_semver_format(version);
	move = ts_semver_cmp(version, &best) >= 0;
	msg = move ? ts_asprintf("'%s' moves: %s is not lower than '%s'", alias->tag, mine, best_tag)
		   : ts_asprintf("'%s' stays: %s is lower than '%s' already in the registry",
				 alias->tag, mine, best_tag);
	free(mine);
	ts_semver_free(&best);
	return decide(move, why, msg);
}

/* ---- collisions ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

ts_code ts_tagname_pick_free(const char *tag, char *const *existing, size_t n_existing,
			     ts_collision policy, char **out, ts_error *err)
{
	char **sorted = ts_malloc((n_existing ? n_existing : 1) * sizeof(char *));
	char *cand = ts_strdup(tag);
	ts_code rc = TS_OK;

	if (n_existing) {
		memcpy(sorted, existing, n_existing * sizeof(char *));
		qsort(sorted, n_existing, sizeof(char *), cmp_str);
	}
	for (unsigned k = 2; n_existing && bsearch(&cand, sorted, n_existing, sizeof(char *), cmp_str);
	     k++) {
		char *next;
		if (policy == TS_COLLISION_FAIL || k > 100000) {
			rc = ts_error_set(err, TS_EREFUSED, "tag '%s' already exists in the repository%s",
					  tag, policy == TS_COLLISION_FAIL
						  ? " (tags are immutable; --on-collision bump picks "
						    "the next free one)" : " and no free .N suffix was found");
			break;
		}
		next = ts_asprintf("%s.%u", tag, k);
		free(cand);
		cand = ts_tagname_shorten(next);
		free(next);
	}
	free(sorted);
	if (rc != TS_OK) {
		free(cand);
		return rc;
	}
	*out = cand;
	return TS_OK;
}
