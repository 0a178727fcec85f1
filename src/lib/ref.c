/*
 * ref.c - parsing and normalising image references (distribution grammar).
 * A reference carrying credentials (user:password@host/...) is refused
 * without repeating it: no error here echoes the text before an '@'.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "tagseal/ref.h"

bool ts_tag_valid(const char *t)
{
	size_t n = t ? strlen(t) : 0;
	if (n == 0 || n > 128)
		return false;
	if (!(isalnum((unsigned char)t[0]) || t[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)t[i];
		if (!(isalnum(c) || c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

bool ts_digest_valid(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71)
		return false;
	for (int i = 7; i < 71; i++)
		if (!isdigit((unsigned char)d[i]) && !(d[i] >= 'a' && d[i] <= 'f'))
			return false;
	return true;
}

/* One path component: [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)* */
static bool component_valid(const char *s, size_t n)
{
	size_t i = 0;
	if (n == 0)
		return false;
	while (i < n) {
		size_t start = i;
		while (i < n && (islower((unsigned char)s[i]) || isdigit((unsigned char)s[i])))
			i++;
		if (i == start)
			return false;
		if (i == n)
			return true;
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '_') {
			i++;
			if (i < n && s[i] == '_')
				i++;
		} else if (s[i] == '-') {
			while (i < n && s[i] == '-')
				i++;
		} else {
			return false;
		}
		if (i == n)
			return false;
	}
	return true;
}

static bool host_valid(const char *h, size_t n)
{
	size_t i = 0;
	if (n == 0)
		return false;
	if (h[0] == '[') {
		const char *close = memchr(h, ']', n);
		if (!close || close - h < 3)
			return false;
		for (const char *p = h + 1; p < close; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
				return false;
		i = (size_t)(close - h) + 1;
	} else {
		while (i < n && h[i] != ':') {
			unsigned char c = (unsigned char)h[i];
			if (!isalnum(c) && c != '.' && c != '-')
				return false;
			i++;
		}
		if (i == 0 || h[0] == '.' || h[0] == '-' || h[i - 1] == '.' || h[i - 1] == '-')
			return false;
	}
	if (i < n) {
		if (h[i] != ':' || i + 1 == n || n - i - 1 > 5)
			return false;
		for (size_t j = i + 1; j < n; j++)
			if (!isdigit((unsigned char)h[j]))
				return false;
	}
	return true;
}

void ts_ref_free(ts_ref *r)
{
	if (!r)
		return;
	free(r->host);
	free(r->path);
	free(r->tag);
	free(r->digest);
	r->host = r->path = r->tag = r->digest = NULL;
}

ts_code ts_refuse_userinfo(const char *s, const char *what, ts_error *err)
{
	if (!ts_ref_has_userinfo(s))
		return TS_OK;
	return ts_error_setc(err, TS_C_USAGE,
			     "%s: a reference must not carry credentials (user:password@): "
			     "use --username/--password-stdin or docker login",
			     what ? what : "reference");
}

bool ts_ref_has_userinfo(const char *s)
{
	/* The grammar allows one '@', followed by a digest (algorithm:hex),
	 * which never holds a '/' or another '@'. Anything else after the
	 * first '@' means the text before it is user[:password]. */
	const char *at = s ? strchr(s, '@') : NULL;
	return at && strpbrk(at + 1, "/@") != NULL;
}

ts_code ts_ref_parse(const char *s, ts_ref *out, const char *what, ts_error *err)
{
	ts_ref r = TS_REF_INIT;
	const char *at, *name_end, *slash, *colon, *first_slash;
	size_t len;

	if (!what)
		what = "reference";
	if (!s || !*s)
		return ts_error_set(err, TS_EUSAGE, "%s: empty image reference", what);
	len = strlen(s);
	if (len > 4096)
		return ts_error_set(err, TS_EUSAGE, "%s: image reference is too long", what);

	if (ts_refuse_userinfo(s, what, err) != TS_OK)
		return TS_EUSAGE;
	at = strchr(s, '@');
	name_end = at ? at : s + len;
	if (at) {
		/* not the text before '@': it may be "user:password" after all */
		if (!ts_digest_valid(at + 1))
			return ts_error_set(err, TS_EUSAGE,
					    "%s: '@%.80s': the digest after '@' must be sha256: and "
					    "64 lower-case hex digits",
					    what, at + 1);
		r.digest = ts_strdup(at + 1);
	}
	/* tag: a ':' after the last '/' */
	slash = NULL;
	for (const char *p = s; p < name_end; p++)
		if (*p == '/')
			slash = p;
	colon = NULL;
	for (const char *p = slash ? slash : s; p < name_end; p++)
		if (*p == ':')
			colon = p;
	if (colon && !(s[0] == '[' && !slash)) {
		r.tag = ts_strndup(colon + 1, (size_t)(name_end - colon - 1));
		if (!ts_tag_valid(r.tag)) {
			ts_error_set(err, TS_EUSAGE,
				     "%s: '%s': tag '%s' does not match [A-Za-z0-9_][A-Za-z0-9._-]{0,127}",
				     what, s, r.tag);
			ts_ref_free(&r);
			return TS_EUSAGE;
		}
		name_end = colon;
	}

	first_slash = memchr(s, '/', (size_t)(name_end - s));
	if (first_slash) {
		size_t hl = (size_t)(first_slash - s);
		bool is_host = memchr(s, '.', hl) || memchr(s, ':', hl) || s[0] == '[' ||
			       (hl == 9 && memcmp(s, "localhost", 9) == 0);
		for (size_t i = 0; i < hl; i++)
			if (isupper((unsigned char)s[i]))
				is_host = true;
		if (is_host) {
			if (!host_valid(s, hl)) {
				ts_error_set(err, TS_EUSAGE, "%s: '%s': invalid registry host '%.*s'",
					     what, s, (int)hl, s);
				ts_ref_free(&r);
				return TS_EUSAGE;
			}
			r.host = ts_strndup(s, hl);
			r.path = ts_strndup(first_slash + 1, (size_t)(name_end - first_slash - 1));
		}
	}
	if (!r.host) {
		r.host = ts_strdup("docker.io");
		r.path = ts_strndup(s, (size_t)(name_end - s));
	}
	if (ts_host_is_hub(r.host) && strcmp(r.host, "docker.io") != 0) {
		free(r.host);
		r.host = ts_strdup("docker.io");
	}
	if (strcmp(r.host, "docker.io") == 0 && !strchr(r.path, '/')) {
		char *p = ts_asprintf("library/%s", r.path);
		free(r.path);
		r.path = p;
	}
	/* validate path components */
	{
		const char *p = r.path;
		size_t plen = strlen(p);
		if (plen == 0 || plen > 255) {
			ts_error_set(err, TS_EUSAGE, "%s: '%s': repository path is %s", what, s,
				     plen ? "longer than 255 characters" : "empty");
			ts_ref_free(&r);
			return TS_EUSAGE;
		}
		while (*p) {
			const char *e = strchr(p, '/');
			size_t n = e ? (size_t)(e - p) : strlen(p);
			if (!component_valid(p, n)) {
				ts_error_set(err, TS_EUSAGE,
					     "%s: '%s': invalid repository path component '%.*s' "
					     "(lower-case letters, digits and . _ __ - separators)",
					     what, s, (int)n, p);
				ts_ref_free(&r);
				return TS_EUSAGE;
			}
			p += n;
			if (*p == '/')
				p++;
			if (e && !*p) {
				ts_error_set(err, TS_EUSAGE, "%s: '%s': repository path ends with '/'", what, s);
				ts_ref_free(&r);
				return TS_EUSAGE;
			}
		}
	}
	*out = r;
	return TS_OK;
}

/* "HOST:PORT" alone: a registry named without a repository path. */
static bool host_port_only(const char *s)
{
	const char *colon = strrchr(s, ':');
	if (strchr(s, '/') || !colon || colon == s || !colon[1])
		return false;
	for (const char *p = colon + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	/* a host has a dot, is localhost, or is bracketed IPv6 */
	return memchr(s, '.', (size_t)(colon - s)) || strncmp(s, "localhost:", 10) == 0 ||
	       s[0] == '[';
}

ts_code ts_repo_parse(const char *s, ts_ref *out, const char *what, ts_error *err)
{
	const char *w = what ? what : "repository", *scheme = strstr(s, "://");
	ts_code rc;

	/* what people write instead of a repository, each with what to do */
	if (ts_refuse_userinfo(s, w, err) != TS_OK)
		return TS_EUSAGE;
	if (strchr(s, '@')) {
		/* the text before an '@' is never shown: it may be user:password */
		const char *at = strchr(s, '@');
		if (ts_digest_valid(at + 1))
			return ts_error_setc(err, TS_C_USAGE,
					     "%s: '%.200s' names a digest: a repository (host[:port]/path) "
					     "is expected; the digest is what the push makes",
					     w, s);
		return ts_error_setc(err, TS_C_USAGE,
				     "%s: a repository (host[:port]/path) has no '@' (what follows it is "
				     "not a digest, and a reference must not carry credentials)",
				     w);
	}
	if (scheme)
		return ts_error_setc(err, TS_C_USAGE,
				     "%s: '%.200s' has a scheme: write the repository as host[:port]/path "
				     "('%.200s'); plain HTTP is used by itself for loopback hosts and needs "
				     "--plain-http elsewhere",
				     w, s, scheme + 3);
	if (host_port_only(s))
		return ts_error_setc(err, TS_C_USAGE,
				     "%s: '%.200s' names a registry but no repository in it: add the path, "
				     "as in %.200s/team/app",
				     w, s, s);
	rc = ts_ref_parse(s, out, what, err);
	if (rc)
		return rc;
	if (out->tag) {
		ts_error_setc(err, TS_C_USAGE,
			      "%s: '%.200s' names a tag: give the repository alone (%s/%s) and the "
			      "tag with --tag %s",
			      w, s, out->host, out->path, out->tag);
		ts_ref_free(out);
		return TS_EUSAGE;
	}
	return TS_OK;
}

char *ts_ref_repo_string(const ts_ref *r)
{
	return ts_asprintf("%s/%s", r->host, r->path);
}

bool ts_ref_same_repo(const ts_ref *a, const ts_ref *b)
{
	return strcmp(a->host, b->host) == 0 && strcmp(a->path, b->path) == 0;
}

bool ts_host_is_loopback(const char *host)
{
	size_t n = strlen(host);
	const char *colon;
	if (host[0] == '[')
		return strncmp(host, "[::1]", 5) == 0 && (host[5] == '\0' || host[5] == ':');
	colon = strchr(host, ':');
	if (colon)
		n = (size_t)(colon - host);
	if (n == 9 && strncmp(host, "localhost", 9) == 0)
		return true;
	if (n >= 4 && strncmp(host, "127.", 4) == 0) {
		int dots = 0;
		for (size_t i = 0; i < n; i++) {
			if (host[i] == '.')
				dots++;
			else if (!isdigit((unsigned char)host[i]))
				return false;
		}
		return dots == 3;
	}
	return false;
}

const char *ts_ref_api_host(const ts_ref *r)
{
	if (strcmp(r->host, "docker.io") == 0)
		return "registry-1.docker.io";
	return r->host;
}

bool ts_host_is_hub(const char *host)
{
	return host && (strcmp(host, "docker.io") == 0 || strcmp(host, "index.docker.io") == 0 ||
			strcmp(host, "registry-1.docker.io") == 0);
}

const char *ts_ref_tag_or_latest(const ts_ref *r)
{
	return r->tag ? r->tag : "latest";
}

char *ts_ref_canonical(const ts_ref *r)
{
	return ts_asprintf("%s/%s:%s", r->host, r->path, ts_ref_tag_or_latest(r));
}
