/*
 * semver.c - semantic version parsing and precedence (semver.org 2.0.0).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "tagseal/semver.h"

/* A numeric part: digits, no leading zero, fits in uint64. */
static bool parse_num(const char **p, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	if (!isdigit((unsigned char)*s))
		return false;
	if (s[0] == '0' && isdigit((unsigned char)s[1]))
		return false;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	*p = s;
	return true;
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* Dot-separated identifiers of [0-9A-Za-z-], non-empty; prerelease numeric
 * identifiers without leading zeros. Returns the length consumed. */
static size_t scan_idents(const char *s, bool prerelease, bool *ok)
{
	size_t i = 0, start = 0;
	*ok = false;
	for (;; i++) {
		char c = s[i];
		if (isalnum((unsigned char)c) || c == '-')
			continue;
		if (i == start)
			return i;
		if (prerelease && s[start] == '0' && i - start > 1 && all_digits(s + start, i - start))
			return i;
		if (c != '.')
			break;
		start = i + 1;
	}
	*ok = true;
	return i;
}

static bool parse_core(const char **p, ts_semver *v)
{
	return parse_num(p, &v->major) && *(*p)++ == '.' && parse_num(p, &v->minor) &&
	       *(*p)++ == '.' && parse_num(p, &v->patch);
}

bool ts_semver_try_parse(const char *s, ts_semver *out)
{
	ts_semver v = TS_SEMVER_INIT;
	const char *p = s;
	bool ok;
	size_t n;

	if (!s)
		return false;
	if (*p == 'v')
		p++;
	if (!parse_core(&p, &v))
		return false;
	if (*p == '-') {
		n = scan_idents(++p, true, &ok);
		if (!ok)
			return false;
		v.prerelease = ts_strndup(p, n);
		p += n;
	}
	if (*p == '+') {
		n = scan_idents(++p, false, &ok);
		if (!ok) {
			free(v.prerelease);
			return false;
		}
		v.build = ts_strndup(p, n);
		p += n;
	}
	if (*p != '\0') {
		ts_semver_free(&v);
		return false;
	}
	if (out)
		*out = v;
	else
		ts_semver_free(&v);
	return true;
}

ts_code ts_semver_parse(const char *s, ts_semver *out, const char *what, ts_error *err)
{
	if (ts_semver_try_parse(s, out))
		return TS_OK;
	return ts_error_set(err, TS_EUSAGE,
			    "%s: '%s' is not a semantic version (X.Y.Z[-PRERELEASE][+BUILD], "
			    "see semver.org)", what, s ? s : "");
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

/* One prerelease identifier each (length-delimited). */
static int cmp_ident(const char *a, size_t an, const char *b, size_t bn)
{
	bool na = all_digits(a, an), nb = all_digits(b, bn);
	int c;
	if (na && nb) {
		if (an != bn)
			return an < bn ? -1 : 1; /* no leading zeros: longer is larger */
		return memcmp(a, b, an) < 0 ? -1 : memcmp(a, b, an) > 0;
	}
	if (na != nb)
		return na ? -1 : 1; /* numeric identifiers sort first */
	c = memcmp(a, b, an < bn ? an : bn);
	if (c)
		return c < 0 ? -1 : 1;
	return cmp_u64(an, bn);
}

static int cmp_prerelease(const char *a, const char *b)
{
	if (!a || !b)
		return !a && !b ? 0 : (a ? -1 : 1); /* a release outranks a prerelease */
	for (;;) {
		size_t an = strcspn(a, "."), bn = strcspn(b, ".");
		int c = cmp_ident(a, an, b, bn);
		if (c)
			return c;
		a += an;
		b += bn;
		if (!*a || !*b)
			return !*a && !*b ? 0 : (*a ? 1 : -1); /* more fields win */
		a++;
		b++;
	}
}

int ts_semver_cmp(const ts_semver *a, const ts_semver *b)
{
	int c = cmp_u64(a->major, b->major);
	if (!c)
		c = cmp_u64(a->minor, b->minor);
	if (!c)
		c = cmp_u64(a->patch, b->patch);
	if (!c)
		c = cmp_prerelease(a->prerelease, b->prerelease);
	return c;
}

char *ts_semver_format(const ts_semver *v)
{
	return ts_asprintf("%llu.%llu.%llu%s%s%s%s", (unsigned long long)v->major,
			   (unsigned long long)v->minor, (unsigned long long)v->patch,
			   v->prerelease ? "-" : "", v->prerelease ? v->prerelease : "",
			   v->build ? "+" : "", v->build ? v->build : "");
}

void ts_semver_copy(ts_semver *dst, const ts_semver *src)
{
	*dst = *src;
	dst->prerelease = src->prerelease ? ts_strdup(src->prerelease) : NULL;
	dst->build = src->build ? ts_strdup(src->build) : NULL;
}

void ts_semver_free(ts_semver *v)
{
	if (!v)
		return;
	free(v->prerelease);
	free(v->build);
	v->prerelease = v->build = NULL;
}
