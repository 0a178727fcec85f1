/*
 * buf.h - a growable byte buffer, always NUL-terminated, used instead of
 * ad-hoc arrays everywhere (like curl's dynbuf). Allocation failure aborts.
 */
#ifndef TAGSEAL_BUF_H
#define TAGSEAL_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include <stdbool.h>

#include "tagseal/error.h"

typedef struct ts_buf {
	char *ptr;  /* NUL-terminated when non-NULL */
	size_t len;
	size_t cap;
	/* holds a secret (a password, a token, a form with one): growing it
	 * wipes the old block before freeing it, and ts_buf_free wipes too */
	bool secret;
} ts_buf;

#define TS_BUF_INIT { NULL, 0, 0, false }
#define TS_BUF_SECRET_INIT { NULL, 0, 0, true }

void ts_buf_grow(ts_buf *b, size_t extra);
void ts_buf_put(ts_buf *b, const void *data, size_t len);
void ts_buf_puts(ts_buf *b, const char *s);
void ts_buf_putc(ts_buf *b, char c);
void ts_buf_printf(ts_buf *b, const char *fmt, ...) TS_PRINTF(2, 3);
void ts_buf_vprintf(ts_buf *b, const char *fmt, va_list ap) TS_PRINTF(2, 0);
void ts_buf_reset(ts_buf *b);            /* len = 0, keeps memory */
char *ts_buf_detach(ts_buf *b);          /* caller owns the string; b is empty */
void ts_buf_free(ts_buf *b);
/* The contents, or "" when empty. */
const char *ts_buf_cstr(const ts_buf *b);

#endif
