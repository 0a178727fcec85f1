/*
 * fuzz_pin_rewrite.c - the YAML rewriter (ts_pin_rewrite) on arbitrary
 * bytes, pinning a fixed image. Checks: a rewrite that succeeds leaves a
 * file that a second rewrite does not change (pinning is idempotent), and
 * the file is unchanged when nothing was pinned.
 */
#include "fuzz_util.h"

#include "tagseal/pin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DIG "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *images[] = { "ghcr.io/acme/shop:2.0.0@" DIG,
					"nginx:1.27.3@" DIG, "registry.example.com/team/app@" DIG };
	ts_pin_opts o = { images[size % 3], TS_PIN_FORM_TAG_DIGEST, false };
	ts_pin_report rep = TS_PIN_REPORT_INIT, rep2 = TS_PIN_REPORT_INIT;
	ts_buf out = TS_BUF_INIT, out2 = TS_BUF_INIT;
	ts_error err = TS_ERROR_INIT;
	char *copy = malloc(size ? size : 1);

	memcpy(copy, data, size);
	if (size % 5 == 0)
		o.form = TS_PIN_FORM_DIGEST;
	if (ts_pin_rewrite(&o, "values.yaml", copy, size, &out, &rep, &err) == TS_OK) {
		if (rep.nchanges == 0 && (out.len != size || memcmp(out.ptr, data, size) != 0))
			abort();
		if (ts_pin_rewrite(&o, "values.yaml", out.ptr, out.len, &out2, &rep2, &err) != TS_OK)
			abort();
		if (out2.len != out.len || memcmp(out2.ptr, out.ptr, out.len) != 0)
			abort();
	} else {
		fz_check_msg(&err);
	}
	ts_pin_report_free(&rep);
	ts_pin_report_free(&rep2);
	ts_buf_free(&out);
	ts_buf_free(&out2);
	free(copy);
	return 0;
}
