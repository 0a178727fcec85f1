/*
 * fuzz_yamlrefs.c - the YAML image-reference finder (ts_yrefs_find) on
 * arbitrary bytes; every byte range it reports must lie inside the input.
 * The first input byte picks the file name (a kustomization or not).
 */
#include "fuzz_util.h"

#include "tagseal/yamlrefs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *name = size && (data[0] & 1) ? "kustomization.yaml" : "deploy.yaml";
	ts_yrefs refs = TS_YREFS_INIT;
	ts_error err = TS_ERROR_INIT;
	char *copy = malloc(size ? size : 1);

	/* an exact-size heap copy, so ASan sees any read past the end */
	memcpy(copy, data, size);
	if (ts_yrefs_find(name, copy, size, &refs, &err) == TS_OK) {
		for (size_t i = 0; i < refs.n; i++) {
			for (int f = 0; f < TS_YF_COUNT; f++) {
				const ts_yscalar *s = &refs.v[i].field[f];
				if (s->present && (s->start > s->end || s->end > size))
					abort();
			}
			if (refs.v[i].insert_at != SIZE_MAX && refs.v[i].insert_at > size)
				abort();
		}
	} else {
		fz_check_msg(&err);
	}
	ts_yrefs_free(&refs);
	free(copy);
	return 0;
}
