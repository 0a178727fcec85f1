/*
 * auth.c - registry authentication (minimal: anonymous only, for now).
 */
#include <stdlib.h>

#include "tagseal/auth.h"

struct ts_auth {
	char *host;
};

ts_code ts_auth_new(const char *host, const char *path, const ts_registry_opts *opts,
		    int secure, ts_auth **out, ts_error *err)
{
	(void)path;
	(void)opts;
	(void)secure;
	(void)err;
	*out = ts_calloc(1, sizeof(**out));
	(*out)->host = ts_strdup(host);
	return TS_OK;
}

void ts_auth_free(ts_auth *a)
{
	if (!a)
		return;
	free(a->host);
	free(a);
}

ts_code ts_auth_header(ts_auth *a, const char **value, ts_error *err)
{
	(void)a;
	(void)err;
	*value = NULL;
	return TS_OK;
}

ts_code ts_auth_challenge(ts_auth *a, const char *www_authenticate, ts_error *err)
{
	(void)www_authenticate;
	return ts_error_set(err, TS_EREGISTRY,
			    "registry %s requires authentication (HTTP 401) and no credentials are set",
			    a->host);
}
