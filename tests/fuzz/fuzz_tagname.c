/*
 * fuzz_tagname.c - the tag template (ts_tagname_expand) and the branch
 * sanitiser on arbitrary input. Whatever the template, a tag that comes
 * out must match the OCI tag grammar [A-Za-z0-9_][A-Za-z0-9._-]{0,127}.
 */
#include "fuzz_util.h"

#include "tagseal/tagname.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_tag(const char *t)
{
	size_t n = strlen(t);
	if (n == 0 || n > TS_TAG_MAX || t[0] == '.' || t[0] == '-')
		abort();
	for (size_t i = 0; i < n; i++) {
		char c = t[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *tmpl = fz_cstr(data, size);
	ts_semver ver;
	ts_tagname_ctx ctx;
	ts_error err = TS_ERROR_INIT;
	char *out = NULL, *b;

	memset(&ctx, 0, sizeof(ctx));
	if (!ts_semver_try_parse("1.4.2-rc.1+build.7", &ver))
		abort();
	ctx.commit = "0123456789abcdef0123456789abcdef01234567";
	ctx.sha_unique_len = 7;
	ctx.have_time = true;
	ctx.commit_time = 1700000000;
	ctx.version = size % 2 ? &ver : NULL;
	ctx.version_missing = "no version";
	ctx.build = "42";
	ctx.branch = "feature/Login+SSO";
	ctx.have_distance = true;
	ctx.distance = 3;
	ctx.dirty = size % 3 == 0;
	if (ts_tagname_expand(tmpl, &ctx, "--scheme", &out, &err) == TS_OK) {
		check_tag(out);
		free(out);
	} else {
		if (err.code != TS_EUSAGE)
			abort();
		fz_check_msg(&err);
	}
	b = ts_tagname_sanitize_branch(tmpl);
	free(b);
	b = ts_tagname_shorten(tmpl);
	free(b);
	(void)ts_alias_scope_of(tmpl);
	ts_semver_free(&ver);
	free(tmpl);
	return 0;
}
