/*
 * regconf.c - reading the containers' registries.conf (v2) with a strict
 * parser for the TOML subset that format uses (regconf.h lists it), and
 * --mirror HOST=MIRROR. Which sources a reference is then asked at is in
 * regsources.c. Every error is one line "FILE:LINE: ..." without control
 * characters from the file.
 */
#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tagseal/buf.h"
#include "tagseal/fsutil.h"
#include "tagseal/regconf.h"

#define REGCONF_MAX (1u << 20)
#define VAL_MAX 4096 /* longest string value */

typedef enum ctx_kind { CTX_TOP, CTX_REGISTRY, CTX_MIRROR, CTX_IGNORED } ctx_kind;

typedef enum vtype { V_STR, V_BOOL, V_ARRAY } vtype;

typedef struct value {
	vtype type;
	char *s;   /* V_STR */
	bool b;    /* V_BOOL */
} value;

typedef struct parser {
	const char *name;
	const char *p, *end;
	size_t line;
	ts_regconf *out;
	size_t first;      /* entries before this one came from elsewhere */
	ctx_kind ctx;
	unsigned seen;     /* keys already set in the current table */
	ts_error *err;
} parser;

static ts_code perr(parser *ps, const char *fmt, ...) TS_PRINTF(2, 3);

/* "FILE:LINE: what", control characters of the file shown as '?'. */
static ts_code perr(parser *ps, const char *fmt, ...)
{
	char msg[TS_ERROR_MSG_MAX], clean[TS_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ts_sanitize(clean, sizeof(clean), msg);
	ts_error_setc(ps->err, TS_C_INPUT, "%s:%zu: %s", ps->name, ps->line, clean);
	return TS_EUSAGE;
}

/* ---- the lexical level ---- */

/* At most n bytes of what is left, for '%.*s' (data need not end in NUL). */
static int left(const parser *ps, int n)
{
	return ps->end - ps->p < n ? (int)(ps->end - ps->p) : n;
}

static void skip_ws(parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
		ps->p++;
}

static void skip_comment(parser *ps)
{
	if (ps->p < ps->end && *ps->p == '#')
		while (ps->p < ps->end && *ps->p != '\n')
			ps->p++;
}

/* After a statement: blanks, a comment, then a newline or the end. */
static ts_code end_of_line(parser *ps)
{
	skip_ws(ps);
	skip_comment(ps);
	if (ps->p < ps->end && *ps->p == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n')
		ps->p++;
	if (ps->p < ps->end && *ps->p != '\n')
		return perr(ps, "unexpected text after the value: '%.*s'", left(ps, 40), ps->p);
	if (ps->p < ps->end) {
		ps->p++;
		ps->line++;
	}
	return TS_OK;
}

/* Blanks, comments and newlines (inside an array). */
static void skip_space_lines(parser *ps)
{
	for (;;) {
		skip_ws(ps);
		skip_comment(ps);
		if (ps->p < ps->end && (*ps->p == '\n' || *ps->p == '\r')) {
			if (*ps->p == '\n')
				ps->line++;
			ps->p++;
			continue;
		}
		return;
	}
}

static void put_utf8(ts_buf *b, uint32_t cp)
{
	if (cp < 0x80) {
		ts_buf_putc(b, (char)cp);
	} else if (cp < 0x800) {
		ts_buf_putc(b, (char)(0xc0 | (cp >> 6)));
		ts_buf_putc(b, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		ts_buf_putc(b, (char)(0xe0 | (cp >> 12)));
		ts_buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		ts_buf_putc(b, (char)(0x80 | (cp & 0x3f)));
	} else {
		ts_buf_putc(b, (char)(0xf0 | (cp >> 18)));
		ts_buf_putc(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
		ts_buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		ts_buf_putc(b, (char)(0x80 | (cp & 0x3f)));
	}
}

static ts_code escape(parser *ps, ts_buf *b)
{
	char c;
	int digits = 0;
	uint32_t cp = 0;

	if (ps->p >= ps->end)
		return perr(ps, "unterminated string");
	c = *ps->p++;
	switch (c) {
	case 'b': ts_buf_putc(b, '\b'); return TS_OK;
	case 't': ts_buf_putc(b, '\t'); return TS_OK;
	case 'n': ts_buf_putc(b, '\n'); return TS_OK;
	case 'f': ts_buf_putc(b, '\f'); return TS_OK;
	case 'r': ts_buf_putc(b, '\r'); return TS_OK;
	case '"': ts_buf_putc(b, '"'); return TS_OK;
	case '\\': ts_buf_putc(b, '\\'); return TS_OK;
	case 'u': digits = 4; break;
	case 'U': digits = 8; break;
	default: return perr(ps, "invalid escape in a string: '\\%c'", ps->p[-1]);
	}
	for (int i = 0; i < digits; i++) {
		if (ps->p >= ps->end || !isxdigit((unsigned char)*ps->p))
			return perr(ps, "\\u needs %d hex digits", digits);
		c = *ps->p++;
		cp = cp * 16 + (uint32_t)(isdigit((unsigned char)c) ? c - '0' : (tolower(c) - 'a' + 10));
	}
	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return perr(ps, "\\u escape is not a Unicode scalar value");
	put_utf8(b, cp);
	return TS_OK;
}

/* A basic "..." or literal '...' string, on one line. */
static ts_code string(parser *ps, char **out)
{
	ts_buf b = TS_BUF_INIT;
	char q = *ps->p++;
	ts_code rc = TS_OK;

	if (ps->end - ps->p >= 2 && ps->p[0] == q && ps->p[1] == q)
		return perr(ps, "multi-line strings are not used by registries.conf");
	for (;;) {
		unsigned char c;
		if (ps->p >= ps->end || *ps->p == '\n') {
			rc = perr(ps, "unterminated string");
			break;
		}
		c = (unsigned char)*ps->p++;
		if (c == (unsigned char)q)
			break;
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			rc = perr(ps, "control character in a string");
			break;
		}
		if (c == '\\' && q == '"') {
			if ((rc = escape(ps, &b)) != TS_OK)
				break;
		} else {
			ts_buf_putc(&b, (char)c);
		}
		if (b.len > VAL_MAX) {
			rc = perr(ps, "string longer than 4096 bytes");
			break;
		}
	}
	if (rc == TS_OK && memchr(ts_buf_cstr(&b), '\0', b.len))
		rc = perr(ps, "NUL character in a string");
	if (rc == TS_OK)
		*out = ts_buf_detach(&b);
	ts_buf_free(&b);
	return rc;
}

static bool bare_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-';
}

static ts_code key(parser *ps, char **out)
{
	const char *s = ps->p;
	if (ps->p < ps->end && (*ps->p == '"' || *ps->p == '\''))
		return string(ps, out);
	while (ps->p < ps->end && bare_char(*ps->p))
		ps->p++;
	if (ps->p == s)
		return perr(ps, "expected a key, found '%.*s'", left(ps, 20), ps->p);
	*out = ts_strndup(s, (size_t)(ps->p - s));
	return TS_OK;
}

static bool word(parser *ps, const char *w)
{
	size_t n = strlen(w);
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n) != 0)
		return false;
	if (ps->p + n < ps->end && bare_char(ps->p[n]))
		return false;
	ps->p += n;
	return true;
}

/* A string, a boolean or an array of strings (which is checked and
 * dropped: no key of [[registry]] takes one). */
static ts_code parse_value(parser *ps, value *v)
{
	memset(v, 0, sizeof(*v));
	if (ps->p >= ps->end)
		return perr(ps, "a value is missing after '='");
	if (*ps->p == '"' || *ps->p == '\'') {
		v->type = V_STR;
		return string(ps, &v->s);
	}
	if (word(ps, "true") || word(ps, "false")) {
		v->type = V_BOOL;
		v->b = ps->p[-1] == 'e' && ps->p[-2] == 'u';
		return TS_OK;
	}
	if (*ps->p == '[') {
		size_t n = 0;
		v->type = V_ARRAY;
		ps->p++;
		for (;;) {
			char *s = NULL;
			skip_space_lines(ps);
			if (ps->p < ps->end && *ps->p == ']') {
				ps->p++;
				return TS_OK;
			}
			if (ps->p >= ps->end || (*ps->p != '"' && *ps->p != '\''))
				return perr(ps, "an array here holds only strings, found '%.*s'",
					    ps->p < ps->end ? left(ps, 20) : 11,
					    ps->p < ps->end ? ps->p : "end of file");
			if (string(ps, &s) != TS_OK)
				return TS_EUSAGE;
			free(s);
			if (++n > 10000)
				return perr(ps, "array longer than 10000 items");
			skip_space_lines(ps);
			if (ps->p < ps->end && *ps->p == ',') {
				ps->p++;
				continue;
			}
			if (ps->p < ps->end && *ps->p == ']')
				continue;
			return perr(ps, "expected ',' or ']' in an array, found '%.*s'",
				    ps->p < ps->end ? left(ps, 20) : 11,
				    ps->p < ps->end ? ps->p : "end of file");
		}
	}
	return perr(ps, "unsupported value '%.*s' (registries.conf uses strings, booleans and "
		    "arrays of strings)", left(ps, 30), ps->p);
}

/* ---- the tables ---- */

static ts_regentry *cur_entry(parser *ps)
{
	return &ps->out->v[ps->out->n - 1];
}

static ts_code header(parser *ps)
{
	bool array = ps->p + 1 < ps->end && ps->p[1] == '[';
	ts_buf path = TS_BUF_INIT;
	const char *p;
	ts_code rc = TS_OK;

	ps->p += array ? 2 : 1;
	for (;;) {
		char *k = NULL;
		skip_ws(ps);
		if ((rc = key(ps, &k)) != TS_OK)
			break;
		ts_buf_printf(&path, "%s%s", path.len ? "." : "", k);
		free(k);
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == '.') {
			ps->p++;
			continue;
		}
		break;
	}
	if (rc == TS_OK && (ps->p >= ps->end || *ps->p != ']' ||
			    (array && (ps->p + 1 >= ps->end || ps->p[1] != ']'))))
		rc = perr(ps, "a table header must end with '%s'", array ? "]]" : "]");
	if (rc != TS_OK) {
		ts_buf_free(&path);
		return rc;
	}
	ps->p += array ? 2 : 1;
	p = ts_buf_cstr(&path);
	ps->seen = 0;
	if (array && strcmp(p, "registry") == 0) {
		ts_regentry *e;
		ps->out->v = ts_realloc(ps->out->v, (ps->out->n + 1) * sizeof(*e));
		e = &ps->out->v[ps->out->n++];
		memset(e, 0, sizeof(*e));
		e->origin = ts_asprintf("%s:%zu", ps->name, ps->line);
		ps->ctx = CTX_REGISTRY;
	} else if (array && strcmp(p, "registry.mirror") == 0) {
		ts_regentry *e;
		if (ps->out->n <= ps->first) {
			rc = perr(ps, "[[registry.mirror]] before any [[registry]]");
		} else {
			e = cur_entry(ps);
			e->mirrors = ts_realloc(e->mirrors, (e->nmirrors + 1) * sizeof(*e->mirrors));
			memset(&e->mirrors[e->nmirrors], 0, sizeof(*e->mirrors));
			e->mirrors[e->nmirrors++].tags = true;
			ps->ctx = CTX_MIRROR;
		}
	} else if (strncmp(p, "registries", 10) == 0 && (p[10] == '.' || !p[10])) {
		rc = perr(ps, "[%s] is the version 1 format of registries.conf, which tagseal does "
			  "not read: use [[registry]] tables (containers-registries.conf(5))", p);
	} else if (!array && strcmp(p, "aliases") == 0) {
		ps->ctx = CTX_IGNORED;
	} else {
		rc = perr(ps, "unknown table '%s' in registries.conf", p);
	}
	ts_buf_free(&path);
	return rc;
}

enum { K_PREFIX = 1, K_LOCATION = 2, K_INSECURE = 4, K_BLOCKED = 8, K_DIGEST_ONLY = 16,
       K_PULL_FROM = 32 };

static ts_code want(parser *ps, const value *v, vtype t, const char *k)
{
	if (v->type == t)
		return TS_OK;
	return perr(ps, t == V_STR ? "'%s' must be a string" : "'%s' must be true or false", k);
}

static ts_code registry_key(parser *ps, const char *k, value *v)
{
	ts_regentry *e = cur_entry(ps);
	unsigned bit = strcmp(k, "prefix") == 0		     ? K_PREFIX
		       : strcmp(k, "location") == 0	     ? K_LOCATION
		       : strcmp(k, "insecure") == 0	     ? K_INSECURE
		       : strcmp(k, "blocked") == 0	     ? K_BLOCKED
		       : strcmp(k, "mirror-by-digest-only") == 0 ? K_DIGEST_ONLY
							     : 0;
	if (!bit)
		return perr(ps, "unknown key '%s' in [[registry]]", k);
	if (ps->seen & bit)
		return perr(ps, "'%s' is set twice in this [[registry]]", k);
	ps->seen |= bit;
	if (want(ps, v, bit <= K_LOCATION ? V_STR : V_BOOL, k) != TS_OK)
		return TS_EUSAGE;
	if (bit == K_PREFIX)
		e->prefix = v->s, v->s = NULL;
	else if (bit == K_LOCATION)
		e->location = v->s, v->s = NULL;
	else if (bit == K_INSECURE)
		e->insecure = v->b;
	else if (bit == K_BLOCKED)
		e->blocked = v->b;
	else
		e->mirror_by_digest_only = v->b;
	return TS_OK;
}

static ts_code mirror_key(parser *ps, const char *k, value *v)
{
	ts_regentry *e = cur_entry(ps);
	ts_regmirror *m = &e->mirrors[e->nmirrors - 1];
	unsigned bit = strcmp(k, "location") == 0	  ? K_LOCATION
		       : strcmp(k, "insecure") == 0	  ? K_INSECURE
		       : strcmp(k, "pull-from-mirror") == 0 ? K_PULL_FROM
							  : 0;
	if (!bit)
		return perr(ps, "unknown key '%s' in [[registry.mirror]]", k);
	if (ps->seen & bit)
		return perr(ps, "'%s' is set twice in this [[registry.mirror]]", k);
	ps->seen |= bit;
	if (want(ps, v, bit == K_INSECURE ? V_BOOL : V_STR, k) != TS_OK)
		return TS_EUSAGE;
	if (bit == K_LOCATION) {
		m->location = v->s, v->s = NULL;
	} else if (bit == K_INSECURE) {
		m->insecure = v->b;
	} else if (strcmp(v->s, "all") == 0 || strcmp(v->s, "tag-only") == 0) {
		m->tags = true;
	} else if (strcmp(v->s, "digest-only") == 0) {
		m->tags = false;
	} else {
		return perr(ps, "pull-from-mirror '%s': expected all, digest-only or tag-only", v->s);
	}
	return TS_OK;
}

static ts_code assignment(parser *ps)
{
	char *k = NULL;
	value v;
	ts_code rc = key(ps, &k);

	if (rc != TS_OK)
		return rc;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == '.')
		rc = perr(ps, "dotted key '%s.' is not used by registries.conf", k);
	else if (ps->p >= ps->end || *ps->p != '=')
		rc = perr(ps, "expected '=' after key '%s'", k);
	if (rc == TS_OK) {
		ps->p++;
		skip_ws(ps);
		rc = parse_value(ps, &v);
	}
	if (rc == TS_OK) {
		if (ps->ctx == CTX_REGISTRY)
			rc = registry_key(ps, k, &v);
		else if (ps->ctx == CTX_MIRROR)
			rc = mirror_key(ps, k, &v);
		/* top level and [aliases]: known to the format, not used here */
		free(v.s);
	}
	free(k);
	return rc;
}

/* Host names of Docker Hub folded into docker.io, as in references. */
static char *fold_hub(const char *loc)
{
	size_t h = strcspn(loc, "/");
	char *host = ts_strndup(loc, h), *r;
	if (ts_host_is_hub(host))
		r = ts_asprintf("docker.io%s", loc + h);
	else
		r = ts_strdup(loc);
	free(host);
	return r;
}

static ts_code check_entries(parser *ps)
{
	for (size_t i = ps->first; i < ps->out->n; i++) {
		ts_regentry *e = &ps->out->v[i];
		if (!e->prefix && !e->location)
			return ts_error_setc(ps->err, TS_C_INPUT,
					     "%s: [[registry]] has neither prefix nor location", e->origin);
		if (!e->prefix)
			e->prefix = ts_strdup(e->location);
		for (size_t j = 0; j < e->nmirrors; j++) {
			if (!e->mirrors[j].location)
				return ts_error_setc(ps->err, TS_C_INPUT,
						     "%s: [[registry.mirror]] %zu has no location",
						     e->origin, j + 1);
			if (e->mirror_by_digest_only)
				e->mirrors[j].tags = false;
		}
		if (strncmp(e->prefix, "*.", 2) != 0) {
			char *f = fold_hub(e->prefix);
			free(e->prefix);
			e->prefix = f;
		}
		while (strlen(e->prefix) > 1 && e->prefix[strlen(e->prefix) - 1] == '/')
			e->prefix[strlen(e->prefix) - 1] = '\0';
	}
	return TS_OK;
}

ts_code ts_regconf_parse(const char *name, const char *data, size_t len, ts_regconf *out,
			 ts_error *err)
{
	parser ps;
	ts_code rc = TS_OK;

	memset(&ps, 0, sizeof(ps));
	ps.name = name;
	ps.p = data;
	ps.end = data + len;
	ps.line = 1;
	ps.out = out;
	ps.first = out->n;
	ps.err = err;
	ps.ctx = CTX_TOP;
	if (memchr(data, '\0', len))
		return ts_error_setc(err, TS_C_INPUT, "%s: holds NUL bytes: not a registries.conf",
				     name);
	while (rc == TS_OK && ps.p < ps.end) {
		skip_ws(&ps);
		if (ps.p < ps.end && *ps.p == '[')
			rc = header(&ps);
		else if (ps.p < ps.end && *ps.p != '#' && *ps.p != '\n' && *ps.p != '\r')
			rc = assignment(&ps);
		if (rc == TS_OK)
			rc = end_of_line(&ps);
	}
	if (rc == TS_OK)
		rc = check_entries(&ps);
	return rc;
}

static ts_code load_one(const char *path, ts_regconf *out, ts_buf *used, ts_error *err)
{
	ts_buf b = TS_BUF_INIT;
	ts_code rc = ts_read_file(path, REGCONF_MAX, &b, "registries.conf", err);
	if (rc == TS_OK)
		rc = ts_regconf_parse(path, ts_buf_cstr(&b), b.len, out, err);
	if (rc == TS_OK)
		ts_buf_printf(used, "%s%s", used->len ? ", " : "", path);
	ts_buf_free(&b);
	return rc;
}

static int conf_name(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".conf") == 0;
}

/* DIR/ *.conf in name order; a missing directory is none. */
static ts_code load_dropins(const char *dir, ts_regconf *out, ts_buf *used, ts_error *err)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, conf_name, alphasort);
	ts_code rc = TS_OK;

	for (int i = 0; i < n; i++) {
		char *p = ts_asprintf("%s/%s", dir, names[i]->d_name);
		if (rc == TS_OK)
			rc = load_one(p, out, used, err);
		free(p);
		free(names[i]);
	}
	free(names);
	return rc;
}

ts_code ts_regconf_load(const char *path, ts_regconf *out, char **used, ts_error *err)
{
	const char *home = getenv("HOME");
	char *user = home && *home ? ts_asprintf("%s/.config/containers/registries.conf", home) : NULL;
	char *user_d = user ? ts_asprintf("%s.d", user) : NULL;
	ts_buf list = TS_BUF_INIT;
	ts_code rc;

	if (path) {
		rc = load_one(path, out, &list, err);
	} else {
		if (user && access(user, F_OK) == 0)
			rc = load_one(user, out, &list, err);
		else if (access("/etc/containers/registries.conf", F_OK) == 0)
			rc = load_one("/etc/containers/registries.conf", out, &list, err);
		else
			rc = TS_OK;
		if (rc == TS_OK)
			rc = load_dropins("/etc/containers/registries.conf.d", out, &list, err);
		if (rc == TS_OK && user_d)
			rc = load_dropins(user_d, out, &list, err);
	}
	if (used)
		*used = rc == TS_OK && list.len ? ts_buf_detach(&list) : NULL;
	ts_buf_free(&list);
	free(user);
	free(user_d);
	return rc;
}

/* The host part of "host[:port][/namespace]" (static buffer: one caller). */
static const char *mirror_host(const char *loc)
{
	static __thread char h[256];
	snprintf(h, sizeof(h), "%.*s", (int)strcspn(loc, "/"), loc);
	return h;
}

ts_code ts_regconf_add_mirror(ts_regconf *c, const char *spec, ts_error *err)
{
	const char *eq = strchr(spec, '=');
	char shown[256];
	ts_regentry *e;
	char *host, *mirror;
	ts_ref probe = TS_REF_INIT;
	ts_error perr2 = TS_ERROR_INIT;
	bool ok;

	if (strchr(spec, '@')) /* never echoed: it may be user:password@ */
		return ts_error_setc(err, TS_C_USAGE,
				     "--mirror: a value with '@' is refused (credentials do not go "
				     "into a mirror name; use the Docker config)");
	if (!eq || eq == spec || !eq[1] || strlen(spec) > 512)
		return ts_error_setc(err, TS_C_USAGE,
				     "--mirror '%s': expected HOST=MIRROR (docker.io=mirror.example:5000)",
				     (ts_sanitize(shown, sizeof(shown), spec), shown));
	host = ts_strndup(spec, (size_t)(eq - spec));
	mirror = ts_strdup(eq + 1);
	/* both must read as host[/namespace] of a reference */
	{
		char *a = ts_asprintf("%s/x", host), *b = ts_asprintf("%s/x", mirror);
		ok = ts_repo_parse(a, &probe, "--mirror", &perr2) == TS_OK &&
		     (ts_ref_free(&probe), ts_repo_parse(b, &probe, "--mirror", &perr2) == TS_OK) &&
		     (strcmp(probe.host, "docker.io") != 0 || ts_host_is_hub(mirror_host(mirror)));
		ts_ref_free(&probe);
		free(a);
		free(b);
	}
	if (!ok) {
		free(host);
		free(mirror);
		return ts_error_setc(err, TS_C_USAGE,
				     "--mirror: '%s' is not HOST=MIRROR with registry host names "
				     "(host[:port][/namespace])",
				     (ts_sanitize(shown, sizeof(shown), spec), shown));
	}
	c->v = ts_realloc(c->v, (c->n + 1) * sizeof(*e));
	e = &c->v[c->n++];
	memset(e, 0, sizeof(*e));
	e->prefix = fold_hub(host);
	e->mirrors = ts_calloc(1, sizeof(*e->mirrors));
	e->mirrors[0].location = mirror;
	e->mirrors[0].tags = true;
	e->nmirrors = 1;
	e->origin = ts_strdup("--mirror");
	free(host);
	return TS_OK;
}

void ts_regconf_free(ts_regconf *c)
{
	for (size_t i = 0; c && i < c->n; i++) {
		ts_regentry *e = &c->v[i];
		free(e->prefix);
		free(e->location);
		free(e->origin);
		for (size_t j = 0; j < e->nmirrors; j++)
			free(e->mirrors[j].location);
		free(e->mirrors);
	}
	if (c) {
		free(c->v);
		c->v = NULL;
		c->n = 0;
	}
}
