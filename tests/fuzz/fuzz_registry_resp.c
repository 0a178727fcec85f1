/*
 * fuzz_registry_resp.c - what the registry client parses itself of a
 * response, on arbitrary bytes: the Link "next" page, Location resolution
 * (through libcurl's URL API), the error-body codes and the URL path shown in
 * messages. (Header lines themselves are parsed by libcurl: curl_easy_header.)
 *
 * These parsers are static in src/lib/registry.c, so this target compiles
 * that very file into itself (no copy: #include); the linker then takes
 * registry.o from nowhere else. Input: a Link value line, a Location line,
 * then an error body.
 */
#include "fuzz_util.h"

#include "../../src/lib/registry.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Copy the next line of the input (without its "\n") into dst. */
static size_t take_line(const uint8_t *data, size_t size, size_t off, char *dst, size_t cap)
{
	const uint8_t *nl = off < size ? memchr(data + off, '\n', size - off) : NULL;
	size_t n = off < size ? (nl ? (size_t)(nl - (data + off)) : size - off) : 0;
	copy_value(dst, cap, (const char *)data + off, n);
	return off + n + (nl ? 1 : 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ts_registry reg;
	req q;
	size_t off;
	char codes[256], path[512], *next, *loc;

	memset(&reg, 0, sizeof(reg));
	reg.host = "127.0.0.1:5000";
	memset(&q, 0, sizeof(q));
	q.reg = &reg;
	/* libcurl parses the headers (curl_easy_header); what registry.c parses
	 * itself is the Link value, the Location and the error body */
	off = take_line(data, size, 0, q.link, sizeof(q.link));
	off = take_line(data, size, off, q.location, sizeof(q.location));
	if (off < size)
		ts_buf_put(&q.errbody, data + off, size - off);
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
