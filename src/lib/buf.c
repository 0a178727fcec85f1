/*
 * buf.c - growable NUL-terminated byte buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "tagseal/buf.h"

void ts_buf_grow(ts_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	if (b->secret && b->ptr) {
		/* realloc would leave the old bytes in freed memory */
		char *p = ts_malloc(cap);
		memcpy(p, b->ptr, b->len + 1);
		OPENSSL_cleanse(b->ptr, b->cap);
		free(b->ptr);
		b->ptr = p;
	} else {
		b->ptr = ts_realloc(b->ptr, cap);
	}
	b->cap = cap;
}

void ts_buf_put(ts_buf *b, const void *data, size_t len)
{
	ts_buf_grow(b, len);
	if (len)
		memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
}

void ts_buf_puts(ts_buf *b, const char *s)
{
	ts_buf_put(b, s, strlen(s));
}

void ts_buf_putc(ts_buf *b, char c)
{
	ts_buf_put(b, &c, 1);
}

void ts_buf_vprintf(ts_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n <= 0) {
		ts_buf_grow(b, 0);
		b->ptr[b->len] = '\0';
		return;
	}
	ts_buf_grow(b, (size_t)n);
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void ts_buf_printf(ts_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ts_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void ts_buf_reset(ts_buf *b)
{
	b->len = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

char *ts_buf_detach(ts_buf *b)
{
	char *p = b->ptr ? b->ptr : ts_strdup("");
	b->ptr = NULL;
	b->len = b->cap = 0;
	return p;
}

void ts_buf_free(ts_buf *b)
{
	if (b->secret && b->ptr)
		OPENSSL_cleanse(b->ptr, b->cap);
	free(b->ptr);
	b->ptr = NULL;
	b->len = b->cap = 0;
}

const char *ts_buf_cstr(const ts_buf *b)
{
	return b->ptr ? b->ptr : "";
}
