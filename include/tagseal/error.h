/*
 * error.h - the one error value every tagseal function reports through.
 *
 * A function that can fail takes a `ts_error *err` as its last argument and
 * returns a ts_code: TS_OK (0) on success, otherwise the contract's exit-code
 * class, with err->msg holding one line that names the thing at fault.
 * Nothing below src/cli prints or exits; the CLI turns the error into one
 * stderr line and the exit code (see ../shared/contract.md, "Exit codes").
 */
#ifndef TAGSEAL_ERROR_H
#define TAGSEAL_ERROR_H

#include <stddef.h>

typedef enum ts_code {
	TS_OK = 0,
	TS_EINTERNAL = 1, /* a bug */
	TS_EUSAGE = 2,    /* bad usage or bad input: flags, image, template, manifest */
	TS_EREFUSED = 3,  /* tag exists with other content / registry says immutable */
	TS_EREGISTRY = 4, /* registry, network, TLS or authentication failure */
	TS_EVERIFY = 5    /* read-back mismatch, lost race, drift, lint findings */
} ts_code;

#define TS_ERROR_MSG_MAX 1024

typedef struct ts_error {
	ts_code code;
	char msg[TS_ERROR_MSG_MAX];
	/* Set by a failure that starting the same work over may cure (an
	 * upload session the registry lost): callers may retry once or twice. */
	int retryable;
} ts_error;

#define TS_ERROR_INIT { TS_OK, { 0 }, 0 }

#if defined(__GNUC__)
#define TS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define TS_PRINTF(a, b)
#endif

/* Set err (which may be NULL) and return code. */
ts_code ts_error_set(ts_error *err, ts_code code, const char *fmt, ...) TS_PRINTF(3, 4);

/* Prepend "context: " to the message already in err; returns err->code. */
ts_code ts_error_prefix(ts_error *err, const char *fmt, ...) TS_PRINTF(2, 3);

void ts_error_clear(ts_error *err);

/* Memory allocation that never returns NULL (aborts with a message). */
void *ts_malloc(size_t n);
void *ts_calloc(size_t n, size_t size);
void *ts_realloc(void *p, size_t n);
char *ts_strdup(const char *s);
char *ts_strndup(const char *s, size_t n);
char *ts_asprintf(const char *fmt, ...) TS_PRINTF(1, 2);

#endif
