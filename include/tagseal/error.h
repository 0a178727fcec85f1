/*
 * error.h - the one error value every tagseal function reports through.
 *
 * A function that can fail takes a `ts_error *err` as its last argument and
 * returns a ts_code: TS_OK (0) on success, otherwise the contract's exit-code
 * class, with err->msg holding one line that names the thing at fault.
 *
 * The error also carries a cause (what went wrong, finer than the exit code:
 * not found, unauthorized, TLS, ...) and whether another attempt may cure it.
 * Code decides on err->cause and err->retryable, never on the message text;
 * the exit code is mapped from the cause in one place (ts_cause_code).
 * Nothing below src/cli prints or exits; the CLI turns the error into one
 * stderr line and the exit code (docs/cli.md, "Exit codes").
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

/* What went wrong. Each cause belongs to one exit-code class. */
typedef enum ts_cause {
	TS_C_NONE = 0,
	TS_C_INTERNAL,     /* a bug (1) */
	TS_C_USAGE,        /* flags and their values (2) */
	TS_C_INPUT,        /* a file's content: image, template, manifest, record (2) */
	TS_C_IO,           /* reading or writing a local file (2) */
	TS_C_ABSENT,       /* a named thing does not exist (2): member, image name */
	TS_C_EXISTS,       /* the tag exists with other content (3) */
	TS_C_IMMUTABLE,    /* the registry refused the tag as immutable (3) */
	TS_C_NETWORK,      /* connection, DNS, timeout (4) */
	TS_C_TLS,          /* handshake or certificate (4) */
	TS_C_UNAUTHORIZED, /* no or wrong credentials (4) */
	TS_C_DENIED,       /* credentials fine, not allowed (4) */
	TS_C_NOT_FOUND,    /* the registry has no such thing (4) */
	TS_C_PROTOCOL,     /* the registry answered something unusable (4) */
	TS_C_ORIGIN,       /* a request would leave the registry's origin (4) */
	TS_C_LIMIT,        /* an answer over a size, page or time bound (4) */
	TS_C_REGISTRY,     /* any other registry failure (4) */
	TS_C_VERIFY,       /* read-back mismatch, lost race, drift, findings (5) */
	TS_C_SIGNATURE     /* a signature that does not verify (5) */
} ts_cause;

/* ts_error.retryable: another attempt may cure the failure (TS_RETRY); or
 * another attempt is needed because the way of sending changed (a 413
 * switched an upload to pieces), and it does not count as a failed one. */
enum { TS_RETRY_NO = 0, TS_RETRY = 1, TS_RETRY_FREE = 2 };

#define TS_ERROR_MSG_MAX 1024

typedef struct ts_error {
	ts_code code;
	ts_cause cause;
	int retryable; /* TS_RETRY_NO, TS_RETRY or TS_RETRY_FREE */
	long http_status; /* the HTTP status behind a registry error, or 0 */
	char msg[TS_ERROR_MSG_MAX];
} ts_error;

#define TS_ERROR_INIT { TS_OK, TS_C_NONE, 0, 0, { 0 } }

#if defined(__GNUC__)
#define TS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define TS_PRINTF(a, b)
#endif

/* The exit-code class of a cause (the one mapping). */
ts_code ts_cause_code(ts_cause cause);
/* The cause a bare code stands for when no finer one was given. */
ts_cause ts_code_cause(ts_code code);

/* Set err (which may be NULL) with the cause the code stands for, and
 * return code. */
ts_code ts_error_set(ts_error *err, ts_code code, const char *fmt, ...) TS_PRINTF(3, 4);

/* Set err with a cause; returns ts_cause_code(cause). */
ts_code ts_error_setc(ts_error *err, ts_cause cause, const char *fmt, ...) TS_PRINTF(3, 4);

/* Prepend "context: " to the message already in err; returns err->code. */
ts_code ts_error_prefix(ts_error *err, const char *fmt, ...) TS_PRINTF(2, 3);

void ts_error_clear(ts_error *err);

/* Copy `s` into `out` (cap bytes) with every control character (C0, DEL)
 * replaced by '?': for names and values from outside sources (registries,
 * records, manifests) that go into any message or output. */
void ts_sanitize(char *out, size_t cap, const char *s);

/* Memory allocation that never returns NULL (aborts with a message). */
void *ts_malloc(size_t n);
void *ts_calloc(size_t n, size_t size);
void *ts_realloc(void *p, size_t n);
char *ts_strdup(const char *s);
char *ts_strndup(const char *s, size_t n);
char *ts_asprintf(const char *fmt, ...) TS_PRINTF(1, 2);

#endif
