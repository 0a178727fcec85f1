/*
 * test_sigfixtures.c - tagseal's verifier against real signatures made by
 * cosign and sigstore-go (../shared/fixtures/sigstore, read in place): each
 * must give exactly what the fixtures' README says. Skipped (exit 77) when
 * ../shared is absent.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check_run.h"
#include "tagseal/b64.h"
#include "tagseal/keys.h"
#include "tagseal/sigfmt.h"

static char *fx; /* .../fixtures/sigstore */

static char *slurp(const char *rel, size_t *len)
{
	char *p = ts_asprintf("%s/%s", fx, rel), *buf;
	FILE *f = fopen(p, "rb");
	long n;

	ck_assert_msg(f != NULL, "cannot open %s", p);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = ts_malloc((size_t)n + 1);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	free(p);
	*len = (size_t)n;
	return buf;
}

static ts_key *pubkey(const char *rel)
{
	char *p = ts_asprintf("%s/%s", fx, rel);
	ts_key *k = NULL;
	ts_error err = TS_ERROR_INIT;
	ck_assert_int_eq(ts_key_load_public(p, &k, &err), TS_OK);
	free(p);
	return k;
}

/* Verify a containers/image-stored cosign signature (the "\0sigstore-json\n"
 * header, then mimeType, payload, annotations) against dir's manifest. */
static ts_code check(const char *dir, const char *sigfile, const char *keyfile, ts_error *err)
{
	char *mpath = ts_asprintf("%s/manifest.json", dir), *spath = ts_asprintf("%s/%s", dir, sigfile);
	size_t ml, sl, pl = 0;
	char *manifest = slurp(mpath, &ml), *sig = slurp(strchr(sigfile, '/') ? sigfile : spath, &sl);
	char digest[TS_DIGEST_STRLEN];
	const char hdr[] = "\0sigstore-json\n";
	json_t *doc;
	const char *mime = NULL, *p64 = NULL, *s64 = NULL;
	unsigned char *payload = NULL;
	ts_key *k = pubkey(keyfile);
	ts_code rc;

	ts_sha256_digest(manifest, ml, digest);
	ck_assert(sl > sizeof(hdr) - 1 && memcmp(sig, hdr, sizeof(hdr) - 1) == 0);
	doc = json_loadb(sig + sizeof(hdr) - 1, sl - (sizeof(hdr) - 1), 0, NULL);
	ck_assert_ptr_nonnull(doc);
	ck_assert_int_eq(json_unpack(doc, "{s:s,s:s,s:{s:s}}", "mimeType", &mime, "payload", &p64,
				     "annotations", TS_ANN_SIGNATURE, &s64), 0);
	ck_assert(ts_b64_decode(p64, &payload, &pl));
	if (strcmp(mime, TS_MT_SIMPLESIGN) != 0)
		rc = ts_error_setc(err, TS_C_SIGNATURE, "layer media type %s", mime);
	else
		rc = ts_simplesign_verify(k, payload, pl, s64, digest, err);
	free(payload);
	json_decref(doc);
	ts_key_free(k);
	free(manifest);
	free(sig);
	free(mpath);
	free(spath);
	return rc;
}

#define CI "containers-image/"
#define VALID(d, s) do { ts_error e = TS_ERROR_INIT; \
	ck_assert_msg(check(CI d, s, CI "cosign.pub", &e) == TS_OK, "%s/%s: %s", d, s, e.msg); } while (0)

START_TEST(cosign_valid)
{
	VALID("dir-img-cosign-valid", "signature-1");
	VALID("dir-img-cosign-valid-2", "signature-1");
	VALID("dir-img-cosign-valid-2", "signature-2");
	VALID("dir-img-cosign-valid-with-tag", "signature-1");
	VALID("dir-img-cosign-mixed", "signature-2");
}
END_TEST

START_TEST(cosign_invalid)
{
	ts_error e = TS_ERROR_INIT;

	ck_assert_int_eq(check(CI "dir-img-cosign-modified-manifest", "signature-1", CI "cosign.pub", &e),
			 TS_EVERIFY);
	ck_assert_msg(strstr(e.msg, "another digest") != NULL, "%s", e.msg);
	ck_assert_int_eq(check(CI "dir-img-cosign-other-attachment", "signature-1", CI "cosign.pub", &e),
			 TS_EVERIFY);
	ck_assert_int_eq(check(CI "dir-img-cosign-valid", CI "unknown-cosign-key.signature",
			       CI "cosign.pub", &e), TS_EVERIFY);
	ck_assert_msg(strstr(e.msg, "does not verify") != NULL, "%s", e.msg);
	ck_assert_int_eq(check(CI "dir-img-cosign-valid", "signature-1", CI "cosign2.pub", &e),
			 TS_EVERIFY);
	ck_assert_msg(strstr(e.msg, "does not verify") != NULL, "%s", e.msg);
}
END_TEST

START_TEST(sigstore_go_bundle)
{
	size_t len;
	char *b = slurp("sigstore-go/public-key-validity.sigstore.json", &len);
	ts_key *k = pubkey("sigstore-go/public-key-validity.pem");
	ts_key *other = pubkey(CI "cosign.pub");
	ts_bundle_result res;
	ts_error e = TS_ERROR_INIT;
	char *hint = NULL;

	ck_assert_msg(ts_bundle_verify(k, b, len, NULL, &res, &e) == TS_OK, "%s", e.msg);
	ck_assert_str_eq(res.digest, "sha256:6ae8a75555209fd6c44157c0aed8016e763ff435a19cf186f76863140143ff72");
	/* the same digest required, another one refused */
	ck_assert_int_eq(ts_bundle_verify(k, b, len, res.digest, &res, &e), TS_OK);
	ck_assert_int_eq(ts_bundle_verify(k, b, len, "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00",
					  &res, &e), TS_EVERIFY);
	ck_assert_int_eq(ts_bundle_verify(other, b, len, NULL, &res, &e), TS_EVERIFY);
	/* the hint is base64(sha256(public key DER)), as tagseal writes it */
	ck_assert_int_eq(ts_key_hint(k, &hint, &e), TS_OK);
	ck_assert_str_eq(hint, "IpekKjxVkmTfB4YqY8q5sGEAeVtF9x3m7jHdhAxpgjQ=");
	free(hint);
	ts_key_free(k);
	ts_key_free(other);
	free(b);
}
END_TEST

int main(void)
{
	const char *src = getenv("TS_SOURCE_DIR");
	struct stat st;
	Suite *s;
	TCase *tc;

	fx = ts_asprintf("%s/../shared/fixtures/sigstore", src ? src : ".");
	if (stat(fx, &st) != 0) {
		/* nothing allocated but fx yet: LeakSanitizer stays quiet */
		fprintf(stderr, "SKIP: %s absent\n", fx);
		free(fx);
		return 77;
	}
	s = suite_create("sigfixtures");
	tc = tcase_create("sigfixtures");
	tcase_add_test(tc, cosign_valid);
	tcase_add_test(tc, cosign_invalid);
	tcase_add_test(tc, sigstore_go_bundle);
	suite_add_tcase(s, tc);
	return ts_check_run(s);
}
