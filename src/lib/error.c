/*
 * error.c - the error value and the allocation wrappers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tagseal/error.h"

ts_code ts_error_set(ts_error *err, ts_code code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		err->code = code;
		err->retryable = 0;
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		/* names from hostile input must not break the one line or send
		 * terminal escapes: control characters become '?' */
		for (char *p = err->msg; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
	}
	return code;
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
		err->msg[0] = '\0';
		err->retryable = 0;
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
