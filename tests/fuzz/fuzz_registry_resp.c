/*
 * fuzz_registry_resp.c - the registry client's response parsing on
 * arbitrary bytes: the header callback (Location, Docker-Content-Digest,
 * Content-Length, WWW-Authenticate, Link, Range, OCI-Chunk-Min-Length,
 * Retry-After, Warning), the Link "next" page, Location resolution, the
 * error-body codes and the URL path shown in messages.
 *
 * These parsers are static in src/lib/registry.c, so this target compiles
 * that very file into itself (no copy: #include); the linker then takes
 * registry.o from nowhere else. Input: header lines, a blank line, a body.
 */
#include "fuzz_util.h"

#include "../../src/lib/registry.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void feed_headers(req *q, const uint8_t *data, size_t size)
{
	size_t i = 0;
	while (i < size) {
		const uint8_t *nl = memchr(data + i, '\n', size - i);
		size_t n = nl ? (size_t)(nl - (data + i)) + 1 : size - i;
		/* curl hands over whole lines only, so an unterminated last line
		 * gets its "\n". A NUL follows the line: on_header's strtol of the
		 * status reads past a line like "HTTP/1.1 \n" (it skips the "\n" as
		 * blank); docs/fuzzing.md, "Known gaps". TS_FUZZ_EXACT_LINES=1 gives
		 * lines of exact size, so that ASan sees it. */
		bool exact = getenv("TS_FUZZ_EXACT_LINES") != NULL;
		char *line = malloc(n + 2);
		memcpy(line, data + i, n);
		i += n;
		if (!nl)
			line[n++] = '\n';
		if (exact) {
			char *e = malloc(n);
			memcpy(e, line, n);
			free(line);
			line = e;
		} else {
			line[n] = '\0';
		}
		if (on_header(line, 1, n, q) != n)
			abort();
		free(line);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ts_registry reg;
	req q;
	const uint8_t *sep = NULL;
	size_t hlen = size;
	char codes[256], path[512], *next, *loc;

	memset(&reg, 0, sizeof(reg));
	reg.host = "127.0.0.1:5000";
	memset(&q, 0, sizeof(q));
	q.reg = &reg;
	q.clen = -1;
	q.retry_after = -1;
	for (size_t i = 0; i + 1 < size; i++)
		if (data[i] == '\n' && (data[i + 1] == '\n' || (data[i + 1] == '\r' && i + 2 < size &&
								   data[i + 2] == '\n'))) {
			sep = data + i;
			hlen = i + 1;
			break;
		}
	feed_headers(&q, data, hlen);
	if (sep) {
		size_t off = (size_t)(sep - data) + (sep[1] == '\r' ? 3 : 2);
		if (off <= size)
			ts_buf_put(&q.errbody, data + off, size - off);
	}
	error_codes(&q.errbody, codes, sizeof(codes));
	(void)has_code(codes, "BLOB_UNKNOWN");
	next = link_next(q.link);
	if (next) {
		url_path(next, path, sizeof(path));
		free(next);
	}
	loc = resolve_location("https://127.0.0.1:5000/v2/app/blobs/uploads/abc?state=x",
			       q.location, "digest=sha256:00");
	if (loc) {
		url_path(loc, path, sizeof(path));
		free(loc);
	}
	url_path(q.location, path, sizeof(path));
	free(q.www_auth);
	ts_buf_free(&q.errbody);
	for (size_t i = 0; i < reg.n_warnings; i++)
		free(reg.warnings[i]);
	free(reg.warnings);
	return 0;
}
