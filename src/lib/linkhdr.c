/*
 * linkhdr.c - the Link header grammar of RFC 8288 section 3, as far as
 * pagination needs it (linkhdr.h).
 *
 *   Link       = #link-value
 *   link-value = "<" URI-Reference ">" *( OWS ";" OWS link-param )
 *   link-param = token BWS [ "=" BWS ( token / quoted-string ) ]
 */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "tagseal/buf.h"
#include "tagseal/linkhdr.h"

static const char *ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static bool tchar(char c)
{
	return isalnum((unsigned char)c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* A token or quoted-string at p into out; returns the position after it,
 * or NULL when neither is there. */
static const char *value(const char *p, ts_buf *out)
{
	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1])
				p++;
			ts_buf_put(out, p, 1);
		}
		return *p == '"' ? p + 1 : NULL;
	}
	if (!tchar(*p))
		return NULL;
	while (tchar(*p))
		ts_buf_put(out, p++, 1);
	return p;
}

/* Does the space-separated relation list name `rel`? */
static bool rel_lists(const char *list, const char *rel)
{
	size_t n = strlen(rel);
	for (const char *p = list; *p;) {
		size_t k;
		while (*p == ' ' || *p == '\t')
			p++;
		k = strcspn(p, " \t");
		if (k == n && strncasecmp(p, rel, n) == 0)
			return true;
		p += k;
	}
	return false;
}

char *ts_link_find(const char *v, const char *rel)
{
	const char *p = v;
	while (p && *p) {
		const char *lt, *gt;
		bool match = false, anchor = false, seen_rel = false;

		p = ows(p);
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p != '<')
			return NULL;
		lt = p + 1;
		gt = strchr(lt, '>');
		if (!gt)
			return NULL;
		p = ows(gt + 1);
		while (*p == ';') {
			ts_buf name = TS_BUF_INIT, val = TS_BUF_INIT;
			p = ows(p + 1);
			if (!tchar(*p))
				return NULL;
			while (tchar(*p))
				ts_buf_put(&name, p++, 1);
			p = ows(p);
			if (*p == '=') {
				p = value(ows(p + 1), &val);
				if (!p) {
					ts_buf_free(&name);
					ts_buf_free(&val);
					return NULL;
				}
			}
			/* only the first rel parameter counts (RFC 8288 3.3) */
			if (strcasecmp(ts_buf_cstr(&name), "rel") == 0 && !seen_rel) {
				seen_rel = true;
				match = rel_lists(ts_buf_cstr(&val), rel);
			} else if (strcasecmp(ts_buf_cstr(&name), "anchor") == 0) {
				anchor = true;
			}
			ts_buf_free(&name);
			ts_buf_free(&val);
			p = ows(p);
		}
		if (*p && *p != ',')
			return NULL;
		if (match && !anchor)
			return ts_strndup(lt, (size_t)(gt - lt));
	}
	return NULL;
}
