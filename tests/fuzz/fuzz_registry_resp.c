/*
 * fuzz_registry_resp.c - what the registry client reads itself of an
 * answer, on arbitrary bytes: the Link header (RFC 8288) and its next page,
 * a Location resolved against the request URL (libcurl's URL API), the
 * origin checks both go through, the URL shown in logs and messages, and
 * an upload's Range, and the error-body codes. (Header lines themselves are
 * parsed by libcurl.)
 *
 * Input: a Link value line, a Location line (also read as a Range value),
 * then an error body.
 */
#include "fuzz_util.h"

#include "../../src/lib/registry_int.h"
#include "tagseal/http.h"
#include "tagseal/linkhdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next line of the input (without its "\n"), NUL-terminated. */
static char *take_line(const uint8_t *data, size_t size, size_t *off)
{
	const uint8_t *nl = *off < size ? memchr(data + *off, '\n', size - *off) : NULL;
	size_t n = *off < size ? (nl ? (size_t)(nl - (data + *off)) : size - *off) : 0;
	char *s = fz_cstr(data + *off, n);
	*off += n + (nl ? 1 : 0);
	return s;
}

static void check_one_line(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort(); /* a log line or message must stay one clean line */
}

/* Resolve a target against the request URL, and everything a caller
 * derives from it: origin, same-origin test, the logged form. */
static void follow(const char *base, const char *target, const ts_origin *reg)
{
	char shown[1024];
	ts_origin o;
	char *url = ts_url_resolve(base, target, NULL);
	if (!url)
		return;
	if (ts_origin_of(url, &o)) {
		char org[300];
		(void)ts_origin_same(&o, reg);
		ts_origin_str(&o, org, sizeof(org));
		check_one_line(org);
	}
	ts_url_for_log(url, shown, sizeof(shown));
	check_one_line(shown);
	ts_url_path_for_log(url, shown, sizeof(shown));
	check_one_line(shown);
	free(url);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char base[] = "https://127.0.0.1:5000/v2/app/blobs/uploads/abc?state=x";
	ts_origin reg;
	size_t off = 0;
	char *link = take_line(data, size, &off);
	char *location = take_line(data, size, &off);
	char codes[256], *next, *loc;
	ts_buf body = TS_BUF_INIT;

	if (!ts_origin_of(base, &reg))
		abort();
	if (off < size)
		ts_buf_put(&body, data + off, size - off);
	ts_reg_error_codes(&body, codes, sizeof(codes));
	check_one_line(codes);
	(void)ts_reg_has_code(codes, "BLOB_UNKNOWN");

	next = ts_link_find(link, "next");
	if (next) {
		if (strlen(next) >= strlen(link))
			abort(); /* a target is a part of the value */
		follow(base, next, &reg);
		free(next);
	}
	follow(base, location, &reg);
	if (ts_http_range_end(location) < -1)
		abort();
	loc = ts_url_resolve(base, location, "digest=sha256:00");
	free(loc);

	ts_buf_free(&body);
	free(link);
	free(location);
	return 0;
}
