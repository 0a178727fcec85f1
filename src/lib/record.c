/*
 * record.c - the change record: building a push's JSON line, appending it
 * under an exclusive lock with its "prev" chained to the last line, and
 * reading a record line by line (bounded) for 'tagseal verify'; a line's
 * signature (push --sign-key) made and checked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tagseal/buf.h"
#include "tagseal/record.h"

#define READ_CHUNK 65536

void ts_rfc3339_utc(time_t t, char out[TS_RFC3339_STRLEN])
{
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(out, TS_RFC3339_STRLEN, "%Y-%m-%dT%H:%M:%SZ", &tm))
		strcpy(out, "1970-01-01T00:00:00Z");
}

void ts_record_line_digest(const char *line, size_t len, char out[TS_DIGEST_STRLEN])
{
	ts_sha256_digest(line, len, out);
}

char *ts_record_line_new(const ts_push_facts *f, time_t t, const char *prev)
{
	char when[TS_RFC3339_STRLEN];
	json_t *o = json_object();
	char *s;

	ts_rfc3339_utc(t, when);
	json_object_set_new(o, "time", json_string(when));
	ts_outputs_put_facts(o, f, false);
	json_object_set_new(o, "prev", ts_json_str(prev));
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s) {
		fprintf(stderr, "tagseal: out of memory encoding a record line\n");
		abort();
	}
	return s;
}

json_t *ts_record_line_parse(const char *data, size_t len, char *why, size_t why_cap)
{
	json_error_t je;
	json_t *j;

	if (len == 0) {
		snprintf(why, why_cap, "empty line");
		return NULL;
	}
	j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		snprintf(why, why_cap, "not valid JSON (%s at column %d)", je.text, je.column);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		snprintf(why, why_cap, "not a JSON object");
		return NULL;
	}
	return j;
}

/* ---- appending ---- */

static ts_code pread_all(int fd, char *buf, size_t len, off_t at, const char *path,
			 ts_error *err)
{
	while (len) {
		ssize_t n = pread(fd, buf, len, at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return ts_error_set(err, TS_EUSAGE, "--record '%s': cannot read: %s", path,
					    n < 0 ? strerror(errno) : "file shrank while locked");
		buf += n;
		len -= (size_t)n;
		at += n;
	}
	return TS_OK;
}

/* Number of "\n" in the first `size` bytes, for naming a line. */
static size_t count_lines(int fd, off_t size)
{
	char buf[READ_CHUNK];
	size_t lines = 0;
	for (off_t at = 0; at < size;) {
		ssize_t n = pread(fd, buf, sizeof(buf), at);
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
		at += n;
	}
	return lines;
}

/* Start offset of the last line of a file of `size` bytes that ends in
 * "\n" (the line excludes that "\n"). */
static ts_code find_last_line(int fd, off_t size, const char *path, off_t *start,
			      ts_error *err)
{
	char buf[4096];
	off_t end = size - 1; /* the final "\n" */
	off_t pos = end;

	while (pos > 0) {
		size_t n = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;
		ts_code rc = pread_all(fd, buf, n, pos - (off_t)n, path, err);
		if (rc != TS_OK)
			return rc;
		for (size_t i = n; i > 0; i--) {
			if (buf[i - 1] == '\n') {
				*start = pos - (off_t)n + (off_t)i;
				return TS_OK;
			}
		}
		pos -= (off_t)n;
		if (end - pos > TS_RECORD_MAX_LINE)
			return ts_error_set(err, TS_EUSAGE,
					    "--record %s:%zu: the last line is longer than %d bytes",
					    path, count_lines(fd, size), TS_RECORD_MAX_LINE);
	}
	*start = 0;
	return TS_OK;
}

/* The "prev" for a line appended to this locked file: NULL for an empty
 * file, else the digest of its last line, which must be whole JSON. */
static ts_code last_line_digest(int fd, off_t size, const char *path,
				char out[TS_DIGEST_STRLEN], bool *first, ts_error *err)
{
	char last, why[200];
	off_t start;
	ts_buf line = TS_BUF_INIT;
	json_t *j;
	ts_code rc;

	*first = size == 0;
	if (*first)
		return TS_OK;
	rc = pread_all(fd, &last, 1, size - 1, path, err);
	if (rc != TS_OK)
		return rc;
	if (last != '\n')
		return ts_error_set(err, TS_EUSAGE,
				    "--record %s:%zu: the last line is torn (no final newline, "
				    "perhaps a crash); refusing to extend the record until it is repaired",
				    path, count_lines(fd, size) + 1);
	rc = find_last_line(fd, size, path, &start, err);
	if (rc != TS_OK)
		return rc;
	ts_buf_grow(&line, (size_t)(size - 1 - start) + 1);
	rc = pread_all(fd, line.ptr, (size_t)(size - 1 - start), start, path, err);
	if (rc == TS_OK) {
		line.len = (size_t)(size - 1 - start);
		line.ptr[line.len] = '\0';
		j = ts_record_line_parse(line.ptr, line.len, why, sizeof(why));
		if (!j)
			rc = ts_error_set(err, TS_EUSAGE,
					  "--record %s:%zu: the last line is %s; refusing to extend "
					  "the record",
					  path, count_lines(fd, size), why);
		json_decref(j);
	}
	if (rc == TS_OK)
		ts_record_line_digest(line.ptr, line.len, out);
	ts_buf_free(&line);
	return rc;
}

static void fsync_parent(const char *path)
{
	char *copy = ts_strdup(path);
	int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	free(copy);
}

/* Write the whole line with one write(2); on a short write, cut the file
 * back so that no torn line is left behind. */
static ts_code write_line(int fd, const char *path, off_t size, const char *data, size_t len,
			  ts_error *err)
{
	ssize_t n;

	do
		n = write(fd, data, len);
	while (n < 0 && errno == EINTR);
	if (n >= 0 && (size_t)n == len) {
		if (fsync(fd) != 0)
			return ts_error_set(err, TS_EUSAGE, "--record '%s': cannot flush: %s", path,
					    strerror(errno));
		return TS_OK;
	}
	{
		int e = n < 0 ? errno : ENOSPC;
		if (n > 0 && ftruncate(fd, size) != 0)
			e = errno;
		return ts_error_set(err, TS_EUSAGE, "--record '%s': cannot append: %s", path,
				    strerror(e));
	}
}

/* ",\"sig\":\"" + base64 + "\"}" at the very end of a line. */
#define SIG_MEMBER ",\"sig\":\""

ts_code ts_record_line_sign(char **line, const ts_key *key, ts_error *err)
{
	size_t len = strlen(*line);
	char *sig = NULL;
	ts_code rc;

	if (len < 2 || (*line)[len - 1] != '}')
		return ts_error_set(err, TS_EINTERNAL, "record line is not a JSON object");
	rc = ts_key_sign_b64(key, *line, len, &sig, err);
	if (rc != TS_OK)
		return rc;
	(*line)[len - 1] = '\0';
	{
		char *signed_line = ts_asprintf("%s" SIG_MEMBER "%s\"}", *line, sig);
		free(*line);
		*line = signed_line;
	}
	free(sig);
	return TS_OK;
}

ts_line_sig ts_record_line_check_sig(const char *data, size_t len, const ts_key *key)
{
	static const size_t ml = sizeof(SIG_MEMBER) - 1;
	const char *end = data + len;
	const char *q;
	ts_buf body = TS_BUF_INIT;
	char *sig;
	bool ok;

	/* the last member: ,"sig":"<base64>"} - an unescaped '"' never occurs
	 * inside a JSON string, so the member found last is the last member */
	if (len < ml + 3 || end[-1] != '}' || end[-2] != '"')
		return TS_LINE_SIG_MISSING;
	for (q = end - 3; q >= data && *q != '"'; q--)
		;
	if (q < data + ml - 1 || memcmp(q - (ml - 1), SIG_MEMBER, ml) != 0)
		return TS_LINE_SIG_MISSING;
	sig = ts_strndup(q + 1, (size_t)(end - 2 - (q + 1)));
	/* what was signed: the line without the member, closed again */
	ts_buf_put(&body, data, (size_t)(q - (ml - 1) - data));
	ts_buf_putc(&body, '}');
	ok = ts_key_verify_b64(key, body.ptr, body.len, sig); /* decodes with OpenSSL */
	free(sig);
	ts_buf_free(&body);
	return ok ? TS_LINE_SIG_OK : TS_LINE_SIG_BAD;
}

static ts_code append_locked(int fd, const char *path, const ts_push_facts *f, time_t t,
			     const ts_key *key, ts_error *err)
{
	char prev[TS_DIGEST_STRLEN];
	struct stat st;
	bool first;
	char *line;
	size_t len;
	ts_code rc;

	if (fstat(fd, &st) != 0)
		return ts_error_set(err, TS_EUSAGE, "--record '%s': %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return ts_error_set(err, TS_EUSAGE, "--record '%s' is not a regular file", path);
	rc = last_line_digest(fd, st.st_size, path, prev, &first, err);
	if (rc != TS_OK)
		return rc;
	line = ts_record_line_new(f, t, first ? NULL : prev);
	if (key && (rc = ts_record_line_sign(&line, key, err)) != TS_OK) {
		free(line);
		return rc;
	}
	len = strlen(line);
	if (len > TS_RECORD_MAX_LINE) {
		free(line);
		return ts_error_set(err, TS_EUSAGE, "--record '%s': the new line would be %zu bytes, "
				    "over the %d allowed", path, len, TS_RECORD_MAX_LINE);
	}
	line[len] = '\n'; /* replaces the NUL; the length is known */
	rc = write_line(fd, path, st.st_size, line, len + 1, err);
	free(line);
	if (rc == TS_OK && first)
		fsync_parent(path);
	return rc;
}

ts_code ts_record_append_at(const char *path, const ts_push_facts *f, time_t t, ts_error *err)
{
	return ts_record_append_signed(path, f, t, NULL, err);
}

ts_code ts_record_append_signed(const char *path, const ts_push_facts *f, time_t t,
				const ts_key *key, ts_error *err)
{
	int fd, r;
	ts_code rc;

	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return ts_error_set(err, TS_EUSAGE, "--record '%s': %s", path,
				    errno == ELOOP ? "is a symbolic link; refusing to write through it"
						   : strerror(errno));
	do
		r = flock(fd, LOCK_EX);
	while (r != 0 && errno == EINTR);
	if (r != 0) {
		rc = ts_error_set(err, TS_EUSAGE, "--record '%s': cannot lock: %s", path,
				  strerror(errno));
		close(fd);
		return rc;
	}
	rc = append_locked(fd, path, f, t, key, err);
	flock(fd, LOCK_UN);
	if (close(fd) != 0 && rc == TS_OK)
		rc = ts_error_set(err, TS_EUSAGE, "--record '%s': cannot write: %s", path,
				  strerror(errno));
	return rc;
}

ts_code ts_record_check_appendable(const char *path, ts_error *err)
{
	char prev[TS_DIGEST_STRLEN];
	struct stat st;
	bool first;
	int fd, r;
	ts_code rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		return TS_OK;
	if (fd < 0)
		return ts_error_set(err, TS_EUSAGE, "--record '%s': %s", path,
				    errno == ELOOP ? "is a symbolic link; refusing to write through it"
						   : strerror(errno));
	do
		r = flock(fd, LOCK_SH);
	while (r != 0 && errno == EINTR);
	if (fstat(fd, &st) != 0)
		rc = ts_error_set(err, TS_EUSAGE, "--record '%s': %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		rc = ts_error_set(err, TS_EUSAGE, "--record '%s' is not a regular file", path);
	else
		rc = last_line_digest(fd, st.st_size, path, prev, &first, err);
	close(fd);
	return rc;
}

ts_code ts_record_append(const char *path, const ts_push_facts *f, ts_error *err)
{
	return ts_record_append_at(path, f, time(NULL), err);
}

/* ---- reading ---- */

struct ts_record_reader {
	int fd;
	char *path;
	ts_buf buf;   /* bytes read and not yet returned start at `start` */
	size_t start;
	size_t number;
	bool eof;
};

ts_code ts_record_reader_open(const char *path, ts_record_reader **out, ts_error *err)
{
	struct stat st;
	ts_record_reader *rd;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return ts_error_set(err, TS_EUSAGE, "--record '%s': %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ts_error_set(err, TS_EUSAGE, "--record '%s' is not a regular file", path);
	}
	rd = ts_calloc(1, sizeof(*rd));
	rd->fd = fd;
	rd->path = ts_strdup(path);
	*out = rd;
	return TS_OK;
}

/* Drop returned bytes and read one more chunk. */
static ts_code fill(ts_record_reader *rd, ts_error *err)
{
	ssize_t n;

	if (rd->start) {
		memmove(rd->buf.ptr, rd->buf.ptr + rd->start, rd->buf.len - rd->start);
		rd->buf.len -= rd->start;
		rd->start = 0;
	}
	ts_buf_grow(&rd->buf, READ_CHUNK);
	do
		n = read(rd->fd, rd->buf.ptr + rd->buf.len, READ_CHUNK);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return ts_error_set(err, TS_EUSAGE, "--record '%s': cannot read: %s", rd->path,
				    strerror(errno));
	rd->buf.len += (size_t)n;
	rd->buf.ptr[rd->buf.len] = '\0';
	rd->eof = n == 0;
	return TS_OK;
}

static void take(ts_record_reader *rd, ts_record_rline *line, size_t len, bool terminated)
{
	line->number = ++rd->number;
	line->data = rd->buf.ptr + rd->start;
	line->len = len;
	line->terminated = terminated;
	rd->start += len + (terminated ? 1 : 0);
}

ts_code ts_record_reader_next(ts_record_reader *rd, ts_record_rline *line, bool *more,
			      ts_error *err)
{
	size_t scanned = 0;

	for (;;) {
		size_t avail = rd->buf.len - rd->start;
		char *base = rd->buf.ptr ? rd->buf.ptr + rd->start : NULL;
		char *nl = avail ? memchr(base + scanned, '\n', avail - scanned) : NULL;
		if (nl && (size_t)(nl - base) <= TS_RECORD_MAX_LINE) {
			take(rd, line, (size_t)(nl - base), true);
			*more = true;
			return TS_OK;
		}
		if (nl || avail > TS_RECORD_MAX_LINE)
			return ts_error_set(err, TS_EUSAGE,
					    "--record %s:%zu: line is longer than %d bytes",
					    rd->path, rd->number + 1, TS_RECORD_MAX_LINE);
		if (rd->eof) {
			*more = avail > 0;
			if (*more)
				take(rd, line, avail, false);
			return TS_OK;
		}
		scanned = avail;
		if (fill(rd, err) != TS_OK)
			return err ? err->code : TS_EUSAGE;
	}
}

void ts_record_reader_free(ts_record_reader *rd)
{
	if (!rd)
		return;
	close(rd->fd);
	free(rd->path);
	ts_buf_free(&rd->buf);
	free(rd);
}
