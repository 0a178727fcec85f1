/*
 * error.c - the error value and the allocation wrappers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tagseal/error.h"

static const ts_code cause_codes[] = {
	[TS_C_NONE] = TS_OK,
	[TS_C_INTERNAL] = TS_EINTERNAL,
	[TS_C_USAGE] = TS_EUSAGE,
	[TS_C_INPUT] = TS_EUSAGE,
	[TS_C_IO] = TS_EUSAGE,
	[TS_C_ABSENT] = TS_EUSAGE,
	[TS_C_EXISTS] = TS_EREFUSED,
	[TS_C_IMMUTABLE] = TS_EREFUSED,
	[TS_C_NETWORK] = TS_EREGISTRY,
	[TS_C_TLS] = TS_EREGISTRY,
	[TS_C_UNAUTHORIZED] = TS_EREGISTRY,
	[TS_C_DENIED] = TS_EREGISTRY,
	[TS_C_NOT_FOUND] = TS_EREGISTRY,
	[TS_C_PROTOCOL] = TS_EREGISTRY,
	[TS_C_ORIGIN] = TS_EREGISTRY,
	[TS_C_LIMIT] = TS_EREGISTRY,
	[TS_C_REGISTRY] = TS_EREGISTRY,
	[TS_C_VERIFY] = TS_EVERIFY,
	[TS_C_SIGNATURE] = TS_EVERIFY,
};

ts_code ts_cause_code(ts_cause cause)
{
	if ((size_t)cause >= sizeof(cause_codes) / sizeof(cause_codes[0]))
		return TS_EINTERNAL;
	return cause_codes[cause];
}

ts_cause ts_code_cause(ts_code code)
{
	switch (code) {
	case TS_OK: return TS_C_NONE;
	case TS_EUSAGE: return TS_C_INPUT;
	case TS_EREFUSED: return TS_C_EXISTS;
	case TS_EREGISTRY: return TS_C_REGISTRY;
	case TS_EVERIFY: return TS_C_VERIFY;
	case TS_EINTERNAL: break;
	}
	return TS_C_INTERNAL;
}

void ts_sanitize(char *out, size_t cap, const char *s)
{
	size_t i = 0;
	if (!cap)
		return;
	for (; s && s[i] && i + 1 < cap; i++)
		out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	out[i] = '\0';
}

static void vset(ts_error *err, ts_cause cause, const char *fmt, va_list ap) TS_PRINTF(3, 0);
static void vset(ts_error *err, ts_cause cause, const char *fmt, va_list ap)
{
	err->code = ts_cause_code(cause);
	err->cause = cause;
	err->retryable = TS_RETRY_NO;
	err->http_status = 0;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	/* names from hostile input must not break the one line or send
	 * terminal escapes: control characters become '?' */
	for (char *p = err->msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

ts_code ts_error_set(ts_error *err, ts_code code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vset(err, ts_code_cause(code), fmt, ap);
		va_end(ap);
		err->code = code;
	}
	return code;
}

ts_code ts_error_setc(ts_error *err, ts_cause cause, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vset(err, cause, fmt, ap);
		va_end(ap);
	}
	return ts_cause_code(cause);
}

ts_code ts_error_prefix(ts_error *err, const char *fmt, ...)
{
	char pre[TS_ERROR_MSG_MAX], old[TS_ERROR_MSG_MAX];
	va_list ap;

	if (!err)
		return TS_EINTERNAL;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	{
		size_t n = strlen(pre);
		if (n > sizeof(err->msg) - 3)
			n = sizeof(err->msg) - 3;
		memcpy(err->msg, pre, n);
		memcpy(err->msg + n, ": ", 2);
		n += 2;
		size_t rest = sizeof(err->msg) - 1 - n;
		size_t ol = strnlen(old, rest);
		memcpy(err->msg + n, old, ol);
		err->msg[n + ol] = '\0';
	}
	return err->code;
}

void ts_error_clear(ts_error *err)
{
	if (err) {
		err->code = TS_OK;
		err->cause = TS_C_NONE;
		err->retryable = TS_RETRY_NO;
		err->http_status = 0;
		err->msg[0] = '\0';
	}
}

static void oom(size_t n)
{
	fprintf(stderr, "tagseal: out of memory (allocating %zu bytes)\n", n);
	abort();
}

void *ts_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *ts_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom(n * size);
	return p;
}

void *ts_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

char *ts_strdup(const char *s)
{
	return ts_strndup(s, strlen(s));
}

char *ts_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = ts_malloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *ts_asprintf(const char *fmt, ...)
{
	va_list ap, ap2;
	int n;
	char *p;

	va_start(ap, fmt);
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(0);
	p = ts_malloc((size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	return p;
}
