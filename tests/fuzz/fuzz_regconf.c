/*
 * fuzz_regconf.c - the registries.conf reader (ts_regconf_parse) on
 * arbitrary bytes, then the sources of a few references under what it read.
 * Checks: an error is one clean line naming the file; every source is a
 * repository that parses again.
 */
#include "fuzz_util.h"

#include "tagseal/regconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const refs[] = { "nginx:1.25", "quay.io/org/app:v1",
					    "127.0.0.1:5000/a/b", "example.com/x" };
	ts_regconf c = TS_REGCONF_INIT;
	ts_error err = TS_ERROR_INIT;

	if (ts_regconf_parse("fuzz.conf", (const char *)data, size, &c, &err) != TS_OK) {
		if (err.code != TS_EUSAGE || strncmp(err.msg, "fuzz.conf", 9) != 0)
			abort();
		fz_check_msg(&err);
		ts_regconf_free(&c);
		return 0;
	}
	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		ts_ref r = TS_REF_INIT;
		ts_sources s;
		ts_error e2 = TS_ERROR_INIT;
		if (ts_ref_parse(refs[i], &r, "ref", &e2) != TS_OK)
			abort();
		if (ts_regconf_sources(&c, &r, &s, &e2) == TS_OK) {
			if (s.n == 0)
				abort();
			for (size_t j = 0; j < s.n; j++) {
				char *name = ts_ref_repo_string(&s.v[j].ref);
				ts_ref again = TS_REF_INIT;
				if (ts_repo_parse(name, &again, "source", &e2) != TS_OK)
					abort();
				ts_ref_free(&again);
				free(name);
			}
			ts_sources_free(&s);
		} else {
			fz_check_msg(&e2);
		}
		ts_ref_free(&r);
	}
	ts_regconf_free(&c);
	return 0;
}
