/*
 * fuzz_image_json.c - the image metadata parsers (docker save
 * manifest.json, OCI index.json, image manifests and indexes, configs) on
 * fuzzed JSON, wrapped in a well-formed tarball built in memory so that
 * the fuzzer spends its time in the JSON handling rather than in tar.
 *
 * Input: one flags byte, then pieces separated by "\n--\n" (at most 8).
 *   flags bit 0: 0 = docker save (piece 0 is manifest.json),
 *                1 = OCI layout (oci-layout file, piece 0 is index.json);
 *         bit 1: compute layer digests (ts_push_describe compute=true);
 *         bit 2: select the image named "app:v1".
 * Piece k >= 1 is stored as blobs/sha256/<its hex> and as "p<k>". Inside a
 * piece, "$Dk" becomes "sha256:<hex of piece k>" and "$Sk" its size, for
 * k greater than the piece's own number, so seeds can hold valid digests.
 */
#include "fuzz_util.h"

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

#include "tagseal/buf.h"
#include "tagseal/digest.h"
#include "tagseal/push.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PIECES 8

typedef struct piece {
	ts_buf b;
	char digest[TS_DIGEST_STRLEN];
} piece;

/* Replace $Dk / $Sk (k > self) in p with the facts of pieces[k]. */
static void substitute(piece *pieces, size_t n, size_t self)
{
	ts_buf out = TS_BUF_INIT;
	const char *s = pieces[self].b.ptr;
	size_t len = pieces[self].b.len;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '$' && i + 2 < len && (s[i + 1] == 'D' || s[i + 1] == 'S') &&
		    s[i + 2] >= '1' && s[i + 2] < '1' + MAX_PIECES) {
			size_t k = (size_t)(s[i + 2] - '0');
			if (k > self && k < n) {
				if (s[i + 1] == 'D')
					ts_buf_puts(&out, pieces[k].digest);
				else
					ts_buf_printf(&out, "%zu", pieces[k].b.len);
				i += 2;
				continue;
			}
		}
		ts_buf_putc(&out, s[i]);
	}
	ts_buf_free(&pieces[self].b);
	pieces[self].b = out;
}

static size_t split(const uint8_t *data, size_t size, piece *pieces)
{
	size_t n = 0, start = 0;
	for (size_t i = 0; n < MAX_PIECES - 1 && i + 4 <= size; i++)
		if (memcmp(data + i, "\n--\n", 4) == 0) {
			ts_buf_put(&pieces[n++].b, data + start, i - start);
			start = i + 4;
			i += 3;
		}
	ts_buf_put(&pieces[n++].b, data + start, size - start);
	return n;
}

static void add_entry(struct archive *a, const char *name, const void *p, size_t len)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	if (archive_write_header(a, e) != ARCHIVE_OK)
		abort();
	if (len && archive_write_data(a, p, len) != (la_ssize_t)len)
		abort();
	archive_entry_free(e);
}

static void build_tar(int flags, piece *pieces, size_t n, ts_buf *tar)
{
	struct archive *a = archive_write_new();
	size_t cap = 64 * 1024, used = 0;
	for (size_t k = 0; k < n; k++)
		cap += 2 * (pieces[k].b.len + 2048);
	ts_buf_grow(tar, cap);
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open_memory(a, tar->ptr, cap, &used) != ARCHIVE_OK)
		abort();
	if (flags & 1) {
		static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
		add_entry(a, "oci-layout", layout, sizeof(layout) - 1);
		add_entry(a, "index.json", pieces[0].b.ptr, pieces[0].b.len);
	} else {
		add_entry(a, "manifest.json", pieces[0].b.ptr, pieces[0].b.len);
	}
	for (size_t k = 1; k < n; k++) {
		char name[96];
		snprintf(name, sizeof(name), "blobs/sha256/%s", pieces[k].digest + 7);
		add_entry(a, name, pieces[k].b.ptr, pieces[k].b.len);
		snprintf(name, sizeof(name), "p%zu", k);
		add_entry(a, name, pieces[k].b.ptr, pieces[k].b.len);
	}
	if (archive_write_close(a) != ARCHIVE_OK)
		abort();
	archive_write_free(a);
	tar->len = used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	piece pieces[MAX_PIECES];
	size_t n;
	int flags, fd;
	ts_buf tar = TS_BUF_INIT;
	char path[64];
	ts_push_opts o;
	ts_error err = TS_ERROR_INIT;
	json_t *j = NULL;

	if (size < 1 || size > 256 * 1024)
		return 0;
	flags = data[0];
	memset(pieces, 0, sizeof(pieces));
	n = split(data + 1, size - 1, pieces);
	for (size_t k = n; k-- > 0;) {
		substitute(pieces, n, k);
		ts_sha256_digest(pieces[k].b.ptr ? pieces[k].b.ptr : "", pieces[k].b.len,
				 pieces[k].digest);
	}
	build_tar(flags, pieces, n, &tar);
	fd = fz_file(tar.ptr, tar.len, path);
	memset(&o, 0, sizeof(o));
	o.image_path = path;
	o.image_name = flags & 4 ? "app:v1" : NULL;
	o.jobs = 1;
	o.no_cache = true;
	if (ts_push_describe(&o, (flags & 2) != 0, &j, &err) == TS_OK)
		json_decref(j);
	if (getenv("TS_FUZZ_DEBUG")) /* see what a seed reaches */
		fprintf(stderr, "fuzz_image_json: %s\n", err.code ? err.msg : "ok");
	fz_check_msg(&err);
	close(fd);
	ts_buf_free(&tar);
	for (size_t k = 0; k < n; k++)
		ts_buf_free(&pieces[k].b);
	return 0;
}
