/*
 * fuzz_wwwauth.c - the WWW-Authenticate parser (ts_challenges_parse) on
 * arbitrary header values, and parameter look-up on what it returns.
 */
#include "fuzz_util.h"

#include "tagseal/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *h = fz_cstr(data, size);
	ts_challenge *c = NULL;
	size_t n = 0;
	ts_error err = TS_ERROR_INIT;

	if (ts_challenges_parse(h, &c, &n, &err) == TS_OK) {
		for (size_t i = 0; i < n; i++) {
			const char *realm = ts_challenge_param(&c[i], "realm");
			const char *scope = ts_challenge_param(&c[i], "SCOPE");
			if (realm && strlen(realm) > size)
				abort(); /* a value never grows beyond its header */
			(void)scope;
		}
		ts_challenges_free(c, n);
	} else {
		fz_check_msg(&err);
	}
	free(h);
	return 0;
}
