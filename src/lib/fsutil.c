/*
 * fsutil.c - atomic whole-file writes and bounded whole-file reads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pthread.h>

#include "tagseal/digest.h"
#include "tagseal/fsutil.h"

static ts_code write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return TS_EUSAGE;
		}
		p += n;
		len -= (size_t)n;
	}
	return TS_OK;
}

/* The umask, read once: umask(2) can only be read by setting it, which is
 * not safe while other threads create files. */
static mode_t umask_value;
static void read_umask(void)
{
	umask_value = umask(0);
	umask(umask_value);
}

static mode_t process_umask(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, read_umask);
	return umask_value;
}

ts_code ts_write_file_atomic(const char *path, const void *data, size_t len,
			     mode_t mode, const char *what, ts_error *err)
{
	struct stat st;
	char *dir_copy, *dir, *tmp;
	int fd, dfd;
	int exists = 0;

	if (!what)
		what = "output file";
	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode))
			return ts_error_set(err, TS_EUSAGE,
					    "%s '%s' is a symbolic link; refusing to write through it",
					    what, path);
		if (!S_ISREG(st.st_mode))
			return ts_error_set(err, TS_EUSAGE, "%s '%s' is not a regular file", what, path);
		mode = st.st_mode & 07777;
		exists = 1;
	}
	dir_copy = ts_strdup(path);
	dir = dirname(dir_copy);
	tmp = ts_asprintf("%s/.%s.tagseal-XXXXXX", dir, "tmp");
	fd = mkstemp(tmp);
	if (fd < 0) {
		ts_error_set(err, TS_EUSAGE, "%s '%s': cannot create a temporary file in '%s': %s",
			     what, path, dir, strerror(errno));
		goto fail_nofd;
	}
	if (write_all(fd, data, len) != TS_OK || fsync(fd) != 0) {
		ts_error_set(err, TS_EUSAGE, "%s '%s': cannot write: %s", what, path, strerror(errno));
		goto fail;
	}
	if (fchmod(fd, exists ? mode : (mode & ~process_umask())) != 0) {
		ts_error_set(err, TS_EUSAGE, "%s '%s': cannot set mode: %s", what, path, strerror(errno));
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		ts_error_set(err, TS_EUSAGE, "%s '%s': cannot write: %s", what, path, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		ts_error_set(err, TS_EUSAGE, "%s '%s': cannot replace: %s", what, path, strerror(errno));
		goto fail;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	free(tmp);
	free(dir_copy);
	return TS_OK;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
fail_nofd:
	free(tmp);
	free(dir_copy);
	return err ? err->code : TS_EUSAGE;
}

ts_code ts_read_file(const char *path, size_t max, ts_buf *out, const char *what, ts_error *err)
{
	char chunk[65536];
	struct stat st;
	int fd;

	if (!what)
		what = "file";
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ts_error_set(err, TS_EUSAGE, "%s '%s': %s", what, path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ts_error_set(err, TS_EUSAGE, "%s '%s' is not a regular file", what, path);
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return ts_error_set(err, TS_EUSAGE, "%s '%s': %s", what, path, strerror(errno));
		}
		if (n == 0)
			break;
		if (out->len + (size_t)n > max) {
			close(fd);
			return ts_error_set(err, TS_EUSAGE, "%s '%s' is larger than %zu bytes", what,
					    path, max);
		}
		ts_buf_put(out, chunk, (size_t)n);
	}
	close(fd);
	ts_buf_grow(out, 0);
	return TS_OK;
}

struct ts_file_hash {
	pthread_t thread;
	bool started;
	char *path;
	char digest[TS_DIGEST_STRLEN];
};

static void *hash_file(void *arg)
{
	ts_file_hash *h = arg;
	struct stat st;
	char *path = h->path, *idx = NULL;
	int fd;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		path = idx = ts_asprintf("%s/index.json", h->path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ts_sha256 *sha = ts_sha256_new();
		char *buf = ts_malloc(1 << 20);
		ssize_t n;
		while ((n = read(fd, buf, 1 << 20)) > 0 || (n < 0 && errno == EINTR))
			if (n > 0)
				ts_sha256_update(sha, buf, (size_t)n);
		if (n == 0)
			ts_sha256_final(sha, h->digest);
		ts_sha256_free(sha);
		free(buf);
		close(fd);
	}
	free(idx);
	return NULL;
}

ts_file_hash *ts_file_hash_start(const char *path)
{
	ts_file_hash *h = ts_calloc(1, sizeof(*h));
	h->path = ts_strdup(path);
	h->started = pthread_create(&h->thread, NULL, hash_file, h) == 0;
	return h;
}

void ts_file_hash_finish(ts_file_hash *h, char out[72])
{
	out[0] = '\0';
	if (!h)
		return;
	if (h->started) {
		pthread_join(h->thread, NULL);
		memcpy(out, h->digest, TS_DIGEST_STRLEN);
	}
	free(h->path);
	free(h);
}
