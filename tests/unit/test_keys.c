/*
 * test_keys.c - key files (keygen, mode check, encrypted PKCS#8, cosign's
 * encrypted format), signing and verifying, and the formats of sigfmt.h
 * made and checked against each other.
 */
#include <check.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_run.h"
#include "tagseal/b64.h"
#include "tagseal/keys.h"
#include "tagseal/sigfmt.h"

static char dir[64];

static void mkdir_tmp(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_keys.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static char *path(const char *name)
{
	return ts_asprintf("%s/%s", dir, name);
}

#define DIGEST "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00"
#define OTHER "sha256:d9dcafdb480aa7c475e91737b96925e45844213dcb0290b4a90017459121f71f"

START_TEST(keygen_sign_verify)
{
	ts_error err = TS_ERROR_INIT;
	char *pub = NULL, *prefix, *kp;
	ts_key *priv = NULL, *pk = NULL;
	unsigned char *sig = NULL;
	size_t sl = 0;
	struct stat st;

	mkdir_tmp();
	unsetenv("TAGSEAL_KEY_PASSWORD");
	prefix = path("k");
	ck_assert_int_eq(ts_keygen(prefix, &pub, &err), TS_OK);
	kp = path("k.key");
	ck_assert_int_eq(stat(kp, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	/* no overwrite */
	ck_assert_int_eq(ts_keygen(prefix, &(char *){ NULL }, &err), TS_EUSAGE);
	ck_assert_int_eq(ts_key_load_private(kp, &priv, &err), TS_OK);
	ck_assert_str_eq(ts_key_describe(priv), "ecdsa-p256");
	ck_assert_int_eq(ts_key_load_public(pub, &pk, &err), TS_OK);
	ck_assert_int_eq(ts_key_sign(priv, "abc", 3, &sig, &sl, &err), TS_OK);
	ck_assert(ts_key_verify(pk, "abc", 3, sig, sl));
	ck_assert(!ts_key_verify(pk, "abd", 3, sig, sl));
	/* a private key file as the public key is refused */
	ck_assert_int_eq(ts_key_load_public(kp, &(ts_key *){ NULL }, &err), TS_EUSAGE);
	/* loose mode */
	chmod(kp, 0640);
	ck_assert_int_eq(ts_key_load_private(kp, &(ts_key *){ NULL }, &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, kp));
	free(sig);
	ts_key_free(priv);
	ts_key_free(pk);
	free(pub);
	free(prefix);
	free(kp);
}
END_TEST

START_TEST(encrypted_pkcs8)
{
	ts_error err = TS_ERROR_INIT;
	char *pub = NULL, *prefix = NULL, *kp;
	ts_key *priv = NULL;

	mkdir_tmp();
	setenv("TAGSEAL_KEY_PASSWORD", "s3cret-pw", 1);
	prefix = path("e");
	ck_assert_int_eq(ts_keygen(prefix, &pub, &err), TS_OK);
	kp = path("e.key");
	ck_assert_int_eq(ts_key_load_private(kp, &priv, &err), TS_OK);
	ts_key_free(priv);
	setenv("TAGSEAL_KEY_PASSWORD", "wrong", 1);
	ck_assert_int_eq(ts_key_load_private(kp, &priv, &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "wrong password"));
	ck_assert_ptr_null(strstr(err.msg, "s3cret"));
	unsetenv("TAGSEAL_KEY_PASSWORD");
	ck_assert_int_eq(ts_key_load_private(kp, &priv, &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "TAGSEAL_KEY_PASSWORD"));
	free(pub);
	free(prefix);
	free(kp);
}
END_TEST

/* The published vector of the "encrypted" format cosign's keys use
 * (securesystemslib): "reallyimportant" under "supersecret". */
START_TEST(cosign_encrypted_vector)
{
	const char *enc = "{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":32768,\"r\":8,\"p\":1},"
			  "\"salt\":\"N9a7x5JFGbrtB2uBR81jPwp0eiLR4A7FV3mjVAQrg1g=\"},\"cipher\":{\"name\":"
			  "\"nacl/secretbox\",\"nonce\":\"2h8HxMmgRfuYdpswZBQaU3xJ1nkA/5Ik\"},"
			  "\"ciphertext\":\"SEW6sUh0jf2wfdjJGPNS9+bkk2uB+Cxamf32zR8XkQ==\"}";
	ts_error err = TS_ERROR_INIT;
	unsigned char *plain = NULL;
	size_t n = 0;

	ck_assert_int_eq(ts_cosign_decrypt(enc, strlen(enc), "supersecret", 11, "v", &plain, &n, &err),
			 TS_OK);
	ck_assert_uint_eq(n, 15);
	ck_assert(memcmp(plain, "reallyimportant", 15) == 0);
	ts_key_wipe_free(plain, n);
	ck_assert_int_eq(ts_cosign_decrypt(enc, strlen(enc), "supersecreT", 11, "v", &plain, &n, &err),
			 TS_EUSAGE);
}
END_TEST

/* Write a cosign-format key file the way cosign does (PKCS#8 DER sealed
 * with secretbox under scrypt), then load it. */
START_TEST(cosign_key_file)
{
	ts_error err = TS_ERROR_INIT;
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	unsigned char *der = NULL, salt[32], nonce[24], key[32], *ct;
	int dl = i2d_PrivateKey(pk, &der);
	char *s64, *n64, *c64, *kp;
	FILE *f;
	ts_key *k = NULL;

	mkdir_tmp();
	ck_assert_int_gt(dl, 0);
	ck_assert_int_ge(sodium_init(), 0);
	randombytes_buf(salt, 32);
	randombytes_buf(nonce, 24);
	ck_assert_int_eq(EVP_PBE_scrypt("pw", 2, salt, 32, 32768, 8, 1, 64 << 20, key, 32), 1);
	ct = malloc((size_t)dl + 16);
	crypto_secretbox_easy(ct, der, (size_t)dl, nonce, key);
	s64 = ts_b64_encode(salt, 32);
	n64 = ts_b64_encode(nonce, 24);
	c64 = ts_b64_encode(ct, (size_t)dl + 16);
	kp = path("cosign.key");
	f = fopen(kp, "w");
	fprintf(f, "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n");
	{
		char *body = ts_asprintf("{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":32768,\"r\":8,"
					 "\"p\":1},\"salt\":\"%s\"},\"cipher\":{\"name\":\"nacl/secretbox\","
					 "\"nonce\":\"%s\"},\"ciphertext\":\"%s\"}", s64, n64, c64);
		char *b = ts_b64_encode(body, strlen(body));
		for (size_t i = 0; i < strlen(b); i += 64)
			fprintf(f, "%.64s\n", b + i);
		free(b);
		free(body);
	}
	fprintf(f, "-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n");
	fclose(f);
	chmod(kp, 0600);
	unsetenv("TAGSEAL_KEY_PASSWORD");
	setenv("COSIGN_PASSWORD", "pw", 1);
	ck_assert_int_eq(ts_key_load_private(kp, &k, &err), TS_OK);
	ck_assert_str_eq(ts_key_describe(k), "ecdsa-p256");
	ts_key_free(k);
	setenv("COSIGN_PASSWORD", "nope", 1);
	ck_assert_int_eq(ts_key_load_private(kp, &k, &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "wrong password"));
	unsetenv("COSIGN_PASSWORD");
	ck_assert_int_eq(ts_key_load_private(kp, &k, &err), TS_EUSAGE);
	OPENSSL_free(der);
	EVP_PKEY_free(pk);
	free(ct);
	free(s64);
	free(n64);
	free(c64);
	free(kp);
}
END_TEST

static void pair(ts_key **priv, ts_key **pub)
{
	ts_error err = TS_ERROR_INIT;
	char *prefix, *kp, *pp = NULL;

	mkdir_tmp();
	unsetenv("TAGSEAL_KEY_PASSWORD");
	prefix = path("p");
	ck_assert_int_eq(ts_keygen(prefix, &pp, &err), TS_OK);
	kp = path("p.key");
	ck_assert_int_eq(ts_key_load_private(kp, priv, &err), TS_OK);
	ck_assert_int_eq(ts_key_load_public(pp, pub, &err), TS_OK);
	free(prefix);
	free(kp);
	free(pp);
}

START_TEST(simplesign_roundtrip)
{
	ts_key *priv, *pub;
	ts_error err = TS_ERROR_INIT;
	char *payload = ts_simplesign_payload("127.0.0.1:5000/app", DIGEST);
	unsigned char *sig;
	size_t sl;
	char *s64;

	ck_assert_str_eq(payload, "{\"critical\":{\"identity\":{\"docker-reference\":\"127.0.0.1:5000/app\"},"
				  "\"image\":{\"docker-manifest-digest\":\"" DIGEST "\"},\"type\":\"cosign "
				  "container image signature\"},\"optional\":null}");
	pair(&priv, &pub);
	ck_assert_int_eq(ts_key_sign(priv, payload, strlen(payload), &sig, &sl, &err), TS_OK);
	s64 = ts_b64_encode(sig, sl);
	ck_assert_int_eq(ts_simplesign_verify(pub, payload, strlen(payload), s64, DIGEST, &err), TS_OK);
	ck_assert_int_eq(ts_simplesign_verify(pub, payload, strlen(payload), s64, OTHER, &err), TS_EVERIFY);
	ck_assert_int_eq(err.cause, TS_C_SIGNATURE);
	payload[10] ^= 1;
	ck_assert_int_eq(ts_simplesign_verify(pub, payload, strlen(payload), s64, DIGEST, &err), TS_EVERIFY);
	ck_assert_int_eq(ts_simplesign_verify(pub, payload, strlen(payload), "", DIGEST, &err), TS_EVERIFY);
	free(sig);
	free(s64);
	free(payload);
	ts_key_free(priv);
	ts_key_free(pub);
}
END_TEST

START_TEST(bundle_roundtrip)
{
	ts_key *priv, *pub, *priv2, *pub2;
	ts_error err = TS_ERROR_INIT;
	char *st = ts_intoto_statement("127.0.0.1:5000/app", DIGEST, TS_PRED_SIGN, NULL);
	json_t *env = NULL;
	char *bundle = NULL;
	ts_bundle_result res;
	ts_buf pae = TS_BUF_INIT;

	ts_dsse_pae(&pae, "t", "ab", 2);
	ck_assert_str_eq(pae.ptr, "DSSEv1 1 t 2 ab");
	ts_buf_free(&pae);
	pair(&priv, &pub);
	pair(&priv2, &pub2);
	ck_assert_int_eq(ts_dsse_sign(priv, TS_MT_INTOTO, st, strlen(st), &env, &err), TS_OK);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(env, "signatures"), 0), "keyid")), "");
	ck_assert_int_eq(ts_bundle_make(priv, env, &bundle, &err), TS_OK);
	ck_assert_int_eq(ts_bundle_verify(pub, bundle, strlen(bundle), DIGEST, &res, &err), TS_OK);
	ck_assert_str_eq(res.predicate_type, TS_PRED_SIGN);
	ts_bundle_result_free(&res);
	ck_assert_int_eq(ts_bundle_verify(pub, bundle, strlen(bundle), OTHER, &res, &err), TS_EVERIFY);
	ck_assert_ptr_nonnull(strstr(err.msg, "another digest"));
	ck_assert_int_eq(ts_bundle_verify(pub2, bundle, strlen(bundle), DIGEST, &res, &err), TS_EVERIFY);
	free(bundle);
	json_decref(env);
	free(st);
	ts_key_free(priv);
	ts_key_free(pub);
	ts_key_free(priv2);
	ts_key_free(pub2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("keys");
	TCase *tc = tcase_create("keys");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, keygen_sign_verify);
	tcase_add_test(tc, encrypted_pkcs8);
	tcase_add_test(tc, cosign_encrypted_vector);
	tcase_add_test(tc, cosign_key_file);
	tcase_add_test(tc, simplesign_roundtrip);
	tcase_add_test(tc, bundle_roundtrip);
	suite_add_tcase(s, tc);
	return ts_check_run(s);
}
