/*
 * imgsrc.c - the member namespace of an image source: a tarball read with
 * libarchive (any outer compression) or an OCI layout directory.
 *
 * A first pass lists every member and keeps the small ones (metadata,
 * manifests, configs) in memory within a fixed budget; larger members are
 * loaded on demand (another pass) or streamed.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imgsrc.h"

#define CAPTURE_MAX_ENTRY (256 * 1024)
#define CAPTURE_MAX_TOTAL (4 * 1024 * 1024)
#define LOAD_MAX (8 * 1024 * 1024)
#define MAX_MEMBERS 100000

/* Normalise a member name: strip "./" and leading "/", fold "//";
 * refuse ".." that would leave the root. Returns NULL when unsafe. */
char *ts_src_normalise(const char *name)
{
	ts_buf out = TS_BUF_INIT;
	const char *p = name;
	while (*p) {
		const char *e;
		size_t n;
		while (*p == '/')
			p++;
		e = strchr(p, '/');
		n = e ? (size_t)(e - p) : strlen(p);
		if (n == 0)
			break;
		if (n == 1 && p[0] == '.') {
			/* skip */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			char *slash;
			if (out.len == 0) {
				ts_buf_free(&out);
				return NULL;
			}
			slash = strrchr(out.ptr, '/');
			out.len = slash ? (size_t)(slash - out.ptr) : 0;
			out.ptr[out.len] = '\0';
		} else {
			if (out.len)
				ts_buf_putc(&out, '/');
			ts_buf_put(&out, p, n);
		}
		p += n;
	}
	return ts_buf_detach(&out);
}

static ts_src_member *add_member(ts_src *s, const char *name)
{
	/* members are allocated one by one: pointers to them stay valid */
	ts_src_member *m = ts_calloc(1, sizeof(*m));
	s->members = ts_realloc(s->members, (s->n + 1) * sizeof(*s->members));
	s->members[s->n++] = m;
	m->name = ts_strdup(name);
	return m;
}

static ts_code archive_fail(ts_src *s, struct archive *a, const char *doing, ts_error *err)
{
	const char *msg = archive_error_string(a);
	return ts_error_set(err, TS_EUSAGE, "image '%s': %s: %s", s->path, doing,
			    msg ? msg : "unreadable tarball");
}

static ts_code open_archive(ts_src *s, struct archive **out, ts_error *err)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, s->path, 1024 * 1024) != ARCHIVE_OK) {
		ts_code rc = archive_fail(s, a, "cannot open", err);
		archive_read_free(a);
		return rc;
	}
	*out = a;
	return TS_OK;
}

static ts_code read_entry_data(ts_src *s, struct archive *a, ts_buf *into, size_t max,
			       const char *name, ts_error *err)
{
	char chunk[65536];
	for (;;) {
		la_ssize_t n = archive_read_data(a, chunk, sizeof(chunk));
		if (n < 0)
			return archive_fail(s, a, name, err);
		if (n == 0)
			return TS_OK;
		if (into->len + (size_t)n > max)
			return ts_error_set(err, TS_EUSAGE, "image '%s': member '%s' is larger than %zu bytes",
					    s->path, name, max);
		ts_buf_put(into, chunk, (size_t)n);
	}
}

static bool wants_capture(const char *name, int64_t size)
{
	const char *dot = strrchr(name, '.');
	if (size > CAPTURE_MAX_ENTRY)
		return false;
	if (!strchr(name, '/'))
		return true; /* manifest.json, index.json, oci-layout, repositories, <id>.json */
	return strncmp(name, "blobs/", 6) == 0 || (dot && strcmp(dot, ".json") == 0) ||
	       (strlen(name) > 5 && strcmp(name + strlen(name) - 5, "/json") == 0);
}

static ts_code scan_archive(ts_src *s, ts_error *err)
{
	struct archive *a = NULL;
	struct archive_entry *e;
	size_t captured = 0;
	ts_code rc = open_archive(s, &a, err);
	int r;

	if (rc)
		return rc;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		const char *raw = archive_entry_pathname(e);
		char *name;
		ts_src_member *m;
		mode_t type = archive_entry_filetype(e);

		if (s->n == 0) {
			int code = archive_filter_code(a, 0);
			if (code == ARCHIVE_FILTER_GZIP)
				s->filter = "gzip";
			else if (code == ARCHIVE_FILTER_ZSTD)
				s->filter = "zstd";
			else if (code != ARCHIVE_FILTER_NONE)
				s->filter = archive_filter_name(a, 0);
		}
		if (s->n >= MAX_MEMBERS) {
			rc = ts_error_set(err, TS_EUSAGE, "image '%s': more than %d members", s->path,
					  MAX_MEMBERS);
			break;
		}
		name = raw ? ts_src_normalise(raw) : NULL;
		if (!name || !*name) {
			free(name);
			continue; /* "./" or an unsafe name: never referenced */
		}
		if (type == AE_IFDIR) {
			free(name);
			continue;
		}
		m = add_member(s, name);
		free(name);
		name = m->name; /* the member owns it: a break below leaks nothing */
		m->size = archive_entry_size(e);
		if (type == AE_IFLNK || archive_entry_hardlink(e)) {
			const char *target = archive_entry_hardlink(e);
			char *joined;
			if (target) {
				m->link = ts_src_normalise(target);
			} else {
				const char *slash = strrchr(name, '/');
				target = archive_entry_symlink(e);
				joined = slash && target && target[0] != '/'
						 ? ts_asprintf("%.*s/%s", (int)(slash - name), name, target)
						 : ts_strdup(target ? target : "");
				m->link = ts_src_normalise(joined);
				free(joined);
			}
			m->is_link = true;
		} else if (type == AE_IFREG) {
			m->is_file = true;
			if (wants_capture(name, m->size) && captured + (size_t)m->size <= CAPTURE_MAX_TOTAL) {
				rc = read_entry_data(s, a, &m->data, CAPTURE_MAX_ENTRY, name, err);
				if (rc)
					break;
				m->loaded = true;
				captured += m->data.len;
				if ((int64_t)m->data.len != m->size) {
					rc = ts_error_set(err, TS_EUSAGE,
							  "image '%s': member '%s' is truncated", s->path,
							  name);
					break;
				}
			} else {
				la_ssize_t n = archive_read_data(a, m->magic, sizeof(m->magic));
				if (n < 0) {
					rc = archive_fail(s, a, name, err);
					break;
				}
				m->magic_len = (int)n;
			}
		}
	}
	if (rc == TS_OK && r != ARCHIVE_EOF)
		rc = archive_fail(s, a, s->n ? "truncated or corrupt tarball" : "not a tarball", err);
	if (rc == TS_OK && s->n == 0)
		rc = ts_error_set(err, TS_EUSAGE, "image '%s': empty tarball", s->path);
	archive_read_free(a);
	return rc;
}

ts_code ts_src_open(const char *path, ts_src **out, ts_error *err)
{
	struct stat st;
	ts_src *s;
	ts_code rc = TS_OK;

	if (stat(path, &st) != 0)
		return ts_error_set(err, TS_EUSAGE, "image '%s': %s", path, strerror(errno));
	s = ts_calloc(1, sizeof(*s));
	s->path = ts_strdup(path);
	if (S_ISDIR(st.st_mode)) {
		s->is_dir = true;
	} else if (S_ISREG(st.st_mode)) {
		rc = scan_archive(s, err);
	} else {
		rc = ts_error_set(err, TS_EUSAGE, "image '%s' is neither a file nor a directory", path);
	}
	if (rc) {
		ts_src_free(s);
		return rc;
	}
	*out = s;
	return TS_OK;
}

void ts_src_free(ts_src *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->members[i]->name);
		free(s->members[i]->link);
		ts_buf_free(&s->members[i]->data);
		free(s->members[i]);
	}
	free(s->members);
	free(s->path);
	free(s);
}

ts_src_member *ts_src_find(ts_src *s, const char *name)
{
	for (int hops = 0; hops < 16; hops++) {
		ts_src_member *m = NULL;
		for (size_t i = s->n; i-- > 0;) { /* a later entry wins, as on extraction */
			if (strcmp(s->members[i]->name, name) == 0) {
				m = s->members[i];
				break;
			}
		}
		if (!m || !m->is_link)
			return m;
		if (!m->link || !*m->link)
			return NULL;
		name = m->link;
	}
	return NULL;
}

/* Directory member: stat and (optionally) read a file below the root. */
static ts_src_member *dir_member(ts_src *s, const char *name, bool load, ts_error *err,
				 ts_code *rc)
{
	struct stat st;
	char *full;
	ts_src_member *m;

	*rc = TS_OK;
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->members[i]->name, name) == 0) {
			m = s->members[i];
			goto have;
		}
	full = ts_asprintf("%s/%s", s->path, name);
	if (lstat(full, &st) != 0 || !S_ISREG(st.st_mode)) {
		free(full);
		return NULL;
	}
	free(full);
	m = add_member(s, name);
	m->is_file = true;
	m->size = st.st_size;
have:
	if (load && !m->loaded) {
		char *p = ts_asprintf("%s/%s", s->path, name);
		*rc = ts_read_file(p, LOAD_MAX, &m->data, "image member", err);
		free(p);
		if (*rc)
			return NULL;
		m->loaded = true;
	}
	return m;
}

ts_code ts_src_get(ts_src *s, const char *name, const ts_buf **data, ts_error *err)
{
	ts_src_member *m;
	ts_code rc = TS_OK;

	*data = NULL;
	if (s->is_dir) {
		m = dir_member(s, name, true, err, &rc);
		if (m)
			*data = &m->data;
		return rc;
	}
	m = ts_src_find(s, name);
	if (!m)
		return TS_OK;
	if (!m->loaded) {
		/* another pass for a member too large to keep on the first one */
		struct archive *a = NULL;
		struct archive_entry *e;
		int r;
		if (m->size > LOAD_MAX)
			return ts_error_set(err, TS_EUSAGE,
					    "image '%s': member '%s' is larger than %d bytes", s->path,
					    m->name, LOAD_MAX);
		rc = open_archive(s, &a, err);
		if (rc)
			return rc;
		while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
			char *nm = ts_src_normalise(archive_entry_pathname(e) ? archive_entry_pathname(e) : "");
			bool hit = nm && strcmp(nm, m->name) == 0 && archive_entry_filetype(e) == AE_IFREG;
			free(nm);
			if (hit) {
				ts_buf_reset(&m->data);
				rc = read_entry_data(s, a, &m->data, LOAD_MAX, m->name, err);
				m->loaded = rc == TS_OK;
			}
		}
		archive_read_free(a);
		if (rc)
			return rc;
		if (!m->loaded)
			return ts_error_set(err, TS_EUSAGE, "image '%s': cannot read member '%s'",
					    s->path, m->name);
	}
	*data = &m->data;
	return TS_OK;
}

ts_code ts_src_stat(ts_src *s, const char *name, int64_t *size, const unsigned char **magic,
		    int *magic_len, ts_error *err)
{
	ts_src_member *m;
	ts_code rc = TS_OK;

	if (s->is_dir) {
		m = dir_member(s, name, false, err, &rc);
		if (rc)
			return rc;
		if (m && !m->loaded && m->magic_len == 0) {
			char *p = ts_asprintf("%s/%s", s->path, name);
			int fd = open(p, O_RDONLY | O_CLOEXEC);
			free(p);
			if (fd >= 0) {
				ssize_t n = read(fd, m->magic, sizeof(m->magic));
				m->magic_len = n > 0 ? (int)n : 0;
				close(fd);
			}
		}
	} else {
		m = ts_src_find(s, name);
	}
	if (!m)
		return ts_error_setc(err, TS_C_ABSENT, "image '%s': no member '%s'", s->path, name);
	*size = m->size;
	if (m->loaded) {
		*magic = (const unsigned char *)m->data.ptr;
		*magic_len = m->data.len < 4 ? (int)m->data.len : 4;
	} else {
		*magic = m->magic;
		*magic_len = m->magic_len;
	}
	return TS_OK;
}

/* ---- streaming ---- */

typedef struct stream_rd {
	struct archive *a;
	int fd;
	ts_src *s;
	const char *name;
	int64_t left; /* bytes still allowed (declared size) */
} stream_rd;

static long stream_read(void *ctx, char *buf, size_t cap, ts_error *rerr)
{
	stream_rd *r = ctx;
	long n;
	if (r->a) {
		la_ssize_t k = archive_read_data(r->a, buf, cap);
		if (k < 0) {
			const char *msg = archive_error_string(r->a);
			ts_error_set(rerr, TS_EUSAGE, "image '%s': reading '%s': %s", r->s->path, r->name,
				     msg ? msg : "read error");
			return -1;
		}
		n = (long)k;
	} else {
		ssize_t k;
		do
			k = read(r->fd, buf, cap);
		while (k < 0 && errno == EINTR);
		if (k < 0) {
			ts_error_set(rerr, TS_EUSAGE, "image '%s': reading '%s': %s", r->s->path, r->name,
				     strerror(errno));
			return -1;
		}
		n = (long)k;
	}
	r->left -= n;
	if (r->left < 0) {
		ts_error_set(rerr, TS_EUSAGE, "image '%s': member '%s' is larger than declared",
			     r->s->path, r->name);
		return -1;
	}
	return n;
}

ts_code ts_src_stream(ts_src *s, ts_src_want_fn want, ts_src_stream_fn fn, void *ctx,
		      ts_error *err)
{
	ts_code rc = TS_OK;
	if (s->is_dir)
		return ts_error_set(err, TS_EINTERNAL, "streaming a directory needs ts_src_stream_one");
	{
		struct archive *a = NULL;
		struct archive_entry *e;
		int r;
		rc = open_archive(s, &a, err);
		if (rc)
			return rc;
		while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
			const char *raw = archive_entry_pathname(e);
			char *nm;
			void *item;
			int64_t size;
			const char *name;
			if (archive_entry_filetype(e) != AE_IFREG)
				continue;
			nm = ts_src_normalise(raw ? raw : "");
			item = nm ? want(ctx, nm, 0, &name, &size) : NULL;
			if (item) {
				stream_rd rd = { a, -1, s, name, size };
				rc = fn(ctx, item, stream_read, &rd, err);
			}
			free(nm);
			if (rc)
				break;
		}
		if (rc == TS_OK && r != ARCHIVE_EOF)
			rc = archive_fail(s, a, "truncated or corrupt tarball", err);
		archive_read_free(a);
	}
	return rc;
}

ts_code ts_src_stream_one(ts_src *s, const char *name, int64_t size, ts_src_stream_fn fn,
			  void *ctx, void *item, ts_error *err)
{
	char *p = ts_asprintf("%s/%s", s->path, name);
	stream_rd r = { NULL, open(p, O_RDONLY | O_CLOEXEC), s, name, size };
	ts_code rc;
	free(p);
	if (r.fd < 0)
		return ts_error_set(err, TS_EUSAGE, "image '%s': cannot open '%s': %s", s->path, name,
				    strerror(errno));
	rc = fn(ctx, item, stream_read, &r, err);
	close(r.fd);
	return rc;
}

ts_code ts_src_open_for_stream(const char *path, ts_src **out, ts_error *err)
{
	struct stat st;
	ts_src *s;
	if (stat(path, &st) != 0)
		return ts_error_set(err, TS_EUSAGE, "image '%s': %s", path, strerror(errno));
	s = ts_calloc(1, sizeof(*s));
	s->path = ts_strdup(path);
	s->is_dir = S_ISDIR(st.st_mode);
	*out = s;
	return TS_OK;
}
