/*
 * wwwauth.c - parsing WWW-Authenticate values (RFC 7235 section 4.1):
 *
 *   challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *   auth-param = token BWS "=" BWS ( token / quoted-string )
 *
 * several challenges in one value, commas inside quoted-strings, escapes,
 * case-insensitive scheme and parameter names.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tagseal/wwwauth.h"
#include "tagseal/buf.h"

typedef struct parser {
	const char *s;
	size_t i;
} parser;

static int is_tchar(char c)
{
	return isalnum((unsigned char)c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int is_t68char(char c)
{
	return isalnum((unsigned char)c) || (c && strchr("-._~+/", c));
}

static void skip_ows(parser *p)
{
	while (p->s[p->i] == ' ' || p->s[p->i] == '\t')
		p->i++;
}

/* Skip whitespace and empty list elements. */
static void skip_list_sep(parser *p)
{
	while (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == ',')
		p->i++;
}

static size_t token_len(const parser *p)
{
	size_t n = 0;
	while (is_tchar(p->s[p->i + n]))
		n++;
	return n;
}

static char *lower_dup(const char *s, size_t n)
{
	char *d = ts_strndup(s, n);
	for (char *q = d; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	return d;
}

/* After the scheme: is a token68 next (followed by OWS and "," or end)? */
static size_t token68_len(const parser *p)
{
	size_t n = 0, j;
	while (is_t68char(p->s[p->i + n]))
		n++;
	if (n == 0)
		return 0;
	while (p->s[p->i + n] == '=')
		n++;
	j = p->i + n;
	while (p->s[j] == ' ' || p->s[j] == '\t')
		j++;
	return p->s[j] == ',' || p->s[j] == '\0' ? n : 0;
}

/* Is a "name =" auth-param next (as opposed to the next challenge)? */
static int param_next(const parser *p)
{
	size_t j = p->i + token_len(p);
	if (j == p->i)
		return 0;
	while (p->s[j] == ' ' || p->s[j] == '\t')
		j++;
	return p->s[j] == '=';
}

static ts_code quoted(parser *p, char **out, ts_error *err)
{
	ts_buf b = TS_BUF_INIT;
	size_t start = p->i;

	p->i++; /* opening quote */
	for (;;) {
		char c = p->s[p->i];
		if (c == '\0') {
			ts_buf_free(&b);
			return ts_error_set(err, TS_EREGISTRY,
					    "unterminated quoted-string at offset %zu", start);
		}
		p->i++;
		if (c == '"')
			break;
		if (c == '\\' && p->s[p->i])
			c = p->s[p->i++];
		ts_buf_putc(&b, c);
	}
	*out = b.ptr ? ts_buf_detach(&b) : ts_strdup("");
	return TS_OK;
}

static ts_code param_value(parser *p, char **out, ts_error *err)
{
	size_t n = 0;
	if (p->s[p->i] == '"')
		return quoted(p, out, err);
	/* token, leniently: anything up to a comma or whitespace (unquoted URLs) */
	while (p->s[p->i + n] && !strchr(", \t", p->s[p->i + n]))
		n++;
	if (n == 0)
		return ts_error_set(err, TS_EREGISTRY, "parameter without a value at offset %zu",
				    p->i);
	*out = ts_strndup(p->s + p->i, n);
	p->i += n;
	return TS_OK;
}

static ts_code parse_param(parser *p, ts_challenge *c, ts_error *err)
{
	size_t n = token_len(p);
	char *name = lower_dup(p->s + p->i, n), *value = NULL;
	ts_code rc;

	p->i += n;
	skip_ows(p);
	p->i++; /* '=' (checked by param_next) */
	skip_ows(p);
	rc = param_value(p, &value, err);
	if (rc != TS_OK) {
		free(name);
		return rc;
	}
	c->params = ts_realloc(c->params, (c->n_params + 1) * sizeof(*c->params));
	c->params[c->n_params].name = name;
	c->params[c->n_params].value = value;
	c->n_params++;
	return TS_OK;
}

/* The parameters (or token68) after a scheme, up to the next challenge. */
static ts_code parse_rest(parser *p, ts_challenge *c, ts_error *err)
{
	size_t n;
	ts_code rc;

	skip_ows(p);
	n = token68_len(p);
	if (n) {
		c->token68 = ts_strndup(p->s + p->i, n);
		p->i += n;
		return TS_OK;
	}
	for (;;) {
		skip_list_sep(p);
		if (!p->s[p->i] || !param_next(p))
			return TS_OK;
		rc = parse_param(p, c, err);
		if (rc != TS_OK)
			return rc;
		skip_ows(p);
		if (p->s[p->i] && p->s[p->i] != ',')
			return ts_error_set(err, TS_EREGISTRY, "expected ',' at offset %zu", p->i);
	}
}

ts_code ts_challenges_parse(const char *header, ts_challenge **out, size_t *n, ts_error *err)
{
	parser p = { header ? header : "", 0 };
	ts_challenge *cs = NULL;
	size_t count = 0, len;
	ts_code rc;

	*out = NULL;
	*n = 0;
	for (;;) {
		skip_list_sep(&p);
		if (!p.s[p.i])
			break;
		len = token_len(&p);
		if (len == 0) {
			ts_challenges_free(cs, count);
			return ts_error_set(err, TS_EREGISTRY,
					    "expected an authentication scheme at offset %zu", p.i);
		}
		cs = ts_realloc(cs, (count + 1) * sizeof(*cs));
		memset(&cs[count], 0, sizeof(*cs));
		cs[count].scheme = lower_dup(p.s + p.i, len);
		p.i += len;
		count++;
		rc = parse_rest(&p, &cs[count - 1], err);
		if (rc != TS_OK) {
			ts_challenges_free(cs, count);
			return rc;
		}
	}
	if (count == 0)
		return ts_error_set(err, TS_EREGISTRY, "no challenge in the header");
	*out = cs;
	*n = count;
	return TS_OK;
}

void ts_challenges_free(ts_challenge *c, size_t n)
{
	if (!c)
		return;
	for (size_t i = 0; i < n; i++) {
		free(c[i].scheme);
		free(c[i].token68);
		for (size_t j = 0; j < c[i].n_params; j++) {
			free(c[i].params[j].name);
			free(c[i].params[j].value);
		}
		free(c[i].params);
	}
	free(c);
}

const char *ts_challenge_param(const ts_challenge *c, const char *name)
{
	for (size_t i = 0; i < c->n_params; i++)
		if (strcasecmp(c->params[i].name, name) == 0)
			return c->params[i].value;
	return NULL;
}
