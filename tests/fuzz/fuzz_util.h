/*
 * fuzz_util.h - helpers shared by the fuzz targets (header only): the
 * fuzzer's bytes as a NUL-terminated string, or as a file that library
 * code can open by path (a memfd, named /proc/self/fd/N).
 */
#ifndef TAGSEAL_FUZZ_UTIL_H
#define TAGSEAL_FUZZ_UTIL_H

#define _GNU_SOURCE 1
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tagseal/error.h"

/* A NUL-terminated copy of data (embedded NULs cut the string short). */
static inline char *fz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* A memfd holding data, its path in `path`; returns the fd (close it). */
static inline int fz_file(const void *data, size_t size, char path[64])
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	const char *p = data;
	if (fd < 0)
		abort();
	while (size) {
		ssize_t n = write(fd, p, size);
		if (n <= 0)
			abort();
		p += n;
		size -= (size_t)n;
	}
	snprintf(path, 64, "/proc/self/fd/%d", fd);
	return fd;
}

/*
 * An error message is one line: ts_error_set replaces control characters
 * from the input (image names, templates) with '?'.
 */
static inline void fz_check_msg(const ts_error *err)
{
	if (err->code && strchr(err->msg, '\n'))
		abort();
}

#endif
