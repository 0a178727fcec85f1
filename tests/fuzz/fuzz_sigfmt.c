/*
 * fuzz_sigfmt.c - the signature readers on arbitrary bytes, as a hostile
 * registry serves them: a Sigstore bundle (ts_bundle_verify), a cosign
 * simple-signing payload with a signature annotation (the first line of the
 * input is the base64 signature, the rest the payload), and a DSSE
 * envelope; the statement check too. None may crash, and every error is
 * one line.
 */
#include "fuzz_util.h"

#include <jansson.h>

#include "tagseal/sigfmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char PUB[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEi+JQzhd2b48rtcOZwdngInjtMHbi\n"
	"OvS0GZwKl3dtmHEKk7lDi/6KnOL9BOeBSQjRbPIxjJl0zDj02sXCVNR0rQ==\n"
	"-----END PUBLIC KEY-----\n";
#define DIGEST "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ts_key *key;
	ts_error err = TS_ERROR_INIT;
	ts_bundle_result res;
	char *s = fz_cstr(data, size), *nl, *pt = NULL;
	unsigned char *payload = NULL;
	size_t plen = 0;
	json_t *env;

	if (!key && ts_key_public_from_pem(PUB, sizeof(PUB) - 1, "fuzz", &key, &err) != TS_OK)
		abort();
	ts_bundle_verify(key, data, size, DIGEST, &res, &err);
	fz_check_msg(&err);
	ts_bundle_result_free(&res);
	ts_error_clear(&err);
	ts_bundle_verify(key, data, size, NULL, &res, &err);
	fz_check_msg(&err);
	ts_bundle_result_free(&res);
	ts_error_clear(&err);
	nl = strchr(s, '\n');
	if (nl) {
		*nl = '\0';
		ts_simplesign_verify(key, nl + 1, strlen(nl + 1), s, DIGEST, &err);
		fz_check_msg(&err);
		ts_error_clear(&err);
	}
	env = json_loadb((const char *)data, size, 0, NULL);
	if (env) {
		if (ts_dsse_verify(key, env, &payload, &plen, &err) == TS_OK)
			abort(); /* no input can carry a signature by this key */
		fz_check_msg(&err);
		json_decref(env);
	}
	ts_error_clear(&err);
	ts_intoto_check(data, size, DIGEST, &pt, &err);
	fz_check_msg(&err);
	free(pt);
	free(payload);
	free(s);
	return 0;
}
