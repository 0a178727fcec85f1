/*
 * keys.c - loading, using and making signing keys (OpenSSL; libsodium for
 * cosign's secretbox). Every buffer that held key bytes or a password is
 * wiped before it is freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tagseal/b64.h"
#include "tagseal/digest.h"
#include "tagseal/keys.h"

#define MAX_KEY_FILE (64 * 1024)

struct ts_key {
	EVP_PKEY *pkey;
	ts_key_type type;
	char desc[32];
	char *path;
};

void ts_key_wipe_free(void *p, size_t len)
{
	if (!p)
		return;
	OPENSSL_cleanse(p, len);
	free(p);
}

/* The whole file; for a private key, refused when group/others have any
 * access to it. */
static ts_code read_key_file(const char *path, bool secret, char **out, size_t *len,
			     ts_error *err)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return ts_error_setc(err, TS_C_IO, "key file '%s': %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ts_error_setc(err, TS_C_INPUT, "key file '%s' is not a regular file", path);
	}
	if (secret && (st.st_mode & 077)) {
		close(fd);
		return ts_error_setc(err, TS_C_INPUT,
				     "private key file '%s' is accessible by group or others (mode %04o): "
				     "chmod 600 it", path, (unsigned)(st.st_mode & 07777));
	}
	if (st.st_size > MAX_KEY_FILE) {
		close(fd);
		return ts_error_setc(err, TS_C_INPUT, "key file '%s' is too large to be a key", path);
	}
	buf = ts_malloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size && (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return TS_OK;
}

/* Classify and accept only the supported kinds. */
static ts_code take_pkey(EVP_PKEY *pkey, const char *path, ts_key **out, ts_error *err)
{
	ts_key *k;
	char group[64] = "";
	int bits = EVP_PKEY_get_bits(pkey);

	k = ts_calloc(1, sizeof(*k));
	if (EVP_PKEY_is_a(pkey, "EC")) {
		size_t gl = 0;
		EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					       &gl);
		if (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0) {
			free(k);
			EVP_PKEY_free(pkey);
			return ts_error_setc(err, TS_C_INPUT,
					     "key file '%s': ECDSA curve '%s' is not supported (P-256 is)",
					     path, group[0] ? group : "unknown");
		}
		k->type = TS_KEY_ECDSA_P256;
		snprintf(k->desc, sizeof(k->desc), "ecdsa-p256");
	} else if (EVP_PKEY_is_a(pkey, "RSA")) {
		if (bits < 2048) {
			free(k);
			EVP_PKEY_free(pkey);
			return ts_error_setc(err, TS_C_INPUT,
					     "key file '%s': RSA key of %d bits is too small (2048 or more)",
					     path, bits);
		}
		k->type = TS_KEY_RSA;
		snprintf(k->desc, sizeof(k->desc), "rsa-%d", bits);
	} else if (EVP_PKEY_is_a(pkey, "ED25519")) {
		k->type = TS_KEY_ED25519;
		snprintf(k->desc, sizeof(k->desc), "ed25519");
	} else {
		free(k);
		EVP_PKEY_free(pkey);
		return ts_error_setc(err, TS_C_INPUT,
				     "key file '%s': unsupported key type (ECDSA P-256, RSA or Ed25519)",
				     path);
	}
	k->pkey = pkey;
	k->path = ts_strdup(path);
	*out = k;
	return TS_OK;
}

/* ---- cosign's encrypted key files ---- */

static bool scrypt_params_ok(json_int_t n, json_int_t r, json_int_t p)
{
	/* the three strengths cosign and securesystemslib write */
	return r == 8 && p == 1 && (n == 32768 || n == 65536 || n == 131072);
}

ts_code ts_cosign_decrypt(const char *json, size_t len, const char *password, size_t pw_len,
			  const char *what, unsigned char **plain, size_t *plain_len,
			  ts_error *err)
{
	json_error_t je;
	json_t *doc = json_loadb(json, len, 0, &je);
	json_int_t n = 0, r = 0, p = 0;
	const char *kdf = NULL, *cipher = NULL, *salt_b = NULL, *nonce_b = NULL, *ct_b = NULL;
	unsigned char *salt = NULL, *nonce = NULL, *ct = NULL, key[crypto_secretbox_KEYBYTES];
	size_t salt_len = 0, nonce_len = 0, ct_len = 0;
	ts_code rc = TS_OK;

	*plain = NULL;
	*plain_len = 0;
	if (!doc || json_unpack_ex(doc, &je, 0, "{s:{s:s,s:{s:I,s:I,s:I},s:s},s:{s:s,s:s},s:s}",
				   "kdf", "name", &kdf, "params", "N", &n, "r", &r, "p", &p, "salt",
				   &salt_b, "cipher", "name", &cipher, "nonce", &nonce_b,
				   "ciphertext", &ct_b) != 0) {
		rc = ts_error_setc(err, TS_C_INPUT, "key file '%s': not an encrypted cosign key", what);
		goto out;
	}
	if (strcmp(kdf, "scrypt") != 0 || strcmp(cipher, "nacl/secretbox") != 0) {
		rc = ts_error_setc(err, TS_C_INPUT, "key file '%s': unsupported encryption (%s, %s)",
				   what, strcmp(kdf, "scrypt") ? "kdf" : "scrypt",
				   strcmp(cipher, "nacl/secretbox") ? "cipher" : "secretbox");
		goto out;
	}
	if (!scrypt_params_ok(n, r, p)) {
		rc = ts_error_setc(err, TS_C_INPUT, "key file '%s': unsupported scrypt parameters", what);
		goto out;
	}
	if (!ts_b64_decode(salt_b, &salt, &salt_len) || !ts_b64_decode(nonce_b, &nonce, &nonce_len) ||
	    !ts_b64_decode(ct_b, &ct, &ct_len) || nonce_len != crypto_secretbox_NONCEBYTES ||
	    ct_len < crypto_secretbox_MACBYTES) {
		rc = ts_error_setc(err, TS_C_INPUT, "key file '%s': damaged encrypted cosign key", what);
		goto out;
	}
	if (sodium_init() < 0 ||
	    EVP_PBE_scrypt(password, pw_len, salt, salt_len, (uint64_t)n, (uint64_t)r, (uint64_t)p,
			   512ull * 1024 * 1024, key, sizeof(key)) != 1) {
		rc = ts_error_setc(err, TS_C_INTERNAL, "key file '%s': scrypt failed", what);
		goto out;
	}
	*plain_len = ct_len - crypto_secretbox_MACBYTES;
	*plain = ts_malloc(*plain_len + 1);
	if (crypto_secretbox_open_easy(*plain, ct, ct_len, nonce, key) != 0) {
		ts_key_wipe_free(*plain, *plain_len + 1);
		*plain = NULL;
		*plain_len = 0;
		rc = ts_error_setc(err, TS_C_INPUT,
				   "key file '%s': wrong password (or the file is damaged)", what);
	}
out:
	sodium_memzero(key, sizeof(key));
	free(salt);
	free(nonce);
	free(ct);
	json_decref(doc);
	return rc;
}

static ts_code load_cosign(const char *path, const unsigned char *body, long body_len,
			   ts_key **out, ts_error *err)
{
	const char *pw = getenv("COSIGN_PASSWORD");
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t der_len = 0;
	EVP_PKEY *pkey;
	ts_code rc;

	if (!pw)
		pw = getenv("TAGSEAL_KEY_PASSWORD");
	if (!pw)
		return ts_error_setc(err, TS_C_INPUT,
				     "key file '%s' is encrypted: set COSIGN_PASSWORD or TAGSEAL_KEY_PASSWORD",
				     path);
	rc = ts_cosign_decrypt((const char *)body, (size_t)body_len, pw, strlen(pw), path, &der,
			       &der_len, err);
	if (rc != TS_OK)
		return rc;
	p = der;
	pkey = d2i_AutoPrivateKey(NULL, &p, (long)der_len);
	ts_key_wipe_free(der, der_len + 1);
	if (!pkey)
		return ts_error_setc(err, TS_C_INPUT, "key file '%s': the decrypted key is not PKCS#8",
				     path);
	return take_pkey(pkey, path, out, err);
}

/* ---- PEM private keys ---- */

typedef struct pw_ctx {
	bool asked;
	bool missing;
} pw_ctx;

static int pem_password(char *buf, int size, int rwflag, void *u)
{
	pw_ctx *c = u;
	const char *pw = getenv("TAGSEAL_KEY_PASSWORD");
	size_t n;

	(void)rwflag;
	c->asked = true;
	if (!pw) {
		c->missing = true;
		return -1;
	}
	n = strlen(pw);
	if (n > (size_t)size)
		return -1;
	memcpy(buf, pw, n);
	return (int)n;
}

ts_code ts_key_load_private(const char *path, ts_key **out, ts_error *err)
{
	char *text = NULL, *name = NULL, *header = NULL;
	unsigned char *body = NULL;
	long body_len = 0;
	size_t len = 0;
	BIO *bio;
	EVP_PKEY *pkey;
	pw_ctx pc = { false, false };
	ts_code rc;

	*out = NULL;
	rc = read_key_file(path, true, &text, &len, err);
	if (rc != TS_OK)
		return rc;
	bio = BIO_new_mem_buf(text, (int)len);
	if (strstr(text, "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----") ||
	    strstr(text, "-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----")) {
		if (PEM_read_bio(bio, &name, &header, &body, &body_len) != 1)
			rc = ts_error_setc(err, TS_C_INPUT, "key file '%s': damaged PEM", path);
		else
			rc = load_cosign(path, body, body_len, out, err);
		if (body)
			OPENSSL_cleanse(body, (size_t)body_len);
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(body);
	} else {
		pkey = PEM_read_bio_PrivateKey(bio, NULL, pem_password, &pc);
		if (pkey)
			rc = take_pkey(pkey, path, out, err);
		else if (pc.missing)
			rc = ts_error_setc(err, TS_C_INPUT,
					   "key file '%s' is encrypted: set TAGSEAL_KEY_PASSWORD", path);
		else if (pc.asked)
			rc = ts_error_setc(err, TS_C_INPUT,
					   "key file '%s': wrong password (or the file is damaged)", path);
		else
			rc = ts_error_setc(err, TS_C_INPUT,
					   "key file '%s' holds no PEM private key that can be read", path);
	}
	ERR_clear_error();
	BIO_free(bio);
	ts_key_wipe_free(text, len + 1);
	return rc;
}

ts_code ts_key_public_from_pem(const char *pem, size_t len, const char *what, ts_key **out,
			       ts_error *err)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);

	BIO_free(bio);
	ERR_clear_error();
	*out = NULL;
	if (!pkey)
		return ts_error_setc(err, TS_C_INPUT, "key file '%s' holds no PEM public key", what);
	return take_pkey(pkey, what, out, err);
}

ts_code ts_key_load_public(const char *path, ts_key **out, ts_error *err)
{
	char *text = NULL;
	size_t len = 0;
	ts_code rc = read_key_file(path, false, &text, &len, err);

	*out = NULL;
	if (rc != TS_OK)
		return rc;
	if (strstr(text, "PRIVATE KEY-----"))
		rc = ts_error_setc(err, TS_C_INPUT,
				   "key file '%s' is a private key: verify takes the public key (.pub)",
				   path);
	else
		rc = ts_key_public_from_pem(text, len, path, out, err);
	ts_key_wipe_free(text, len + 1);
	return rc;
}

void ts_key_free(ts_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey); /* OpenSSL clears private key material when freeing */
	free(k->path);
	free(k);
}

ts_key_type ts_key_type_of(const ts_key *k) { return k->type; }
const char *ts_key_describe(const ts_key *k) { return k->desc; }
const char *ts_key_path(const ts_key *k) { return k->path; }

static const EVP_MD *key_md(const ts_key *k)
{
	return k->type == TS_KEY_ED25519 ? NULL : EVP_sha256();
}

ts_code ts_key_sign(const ts_key *k, const void *data, size_t len, unsigned char **sig,
		    size_t *sig_len, ts_error *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t n = 0;
	unsigned char *out = NULL;
	ts_code rc = TS_OK;

	*sig = NULL;
	*sig_len = 0;
	if (!ctx || EVP_DigestSignInit(ctx, NULL, key_md(k), NULL, k->pkey) != 1 ||
	    EVP_DigestSign(ctx, NULL, &n, data, len) != 1) {
		rc = ts_error_setc(err, TS_C_INTERNAL, "signing with key '%s' failed", k->path);
		goto out;
	}
	out = ts_malloc(n);
	if (EVP_DigestSign(ctx, out, &n, data, len) != 1) {
		free(out);
		rc = ts_error_setc(err, TS_C_INTERNAL, "signing with key '%s' failed", k->path);
		goto out;
	}
	*sig = out;
	*sig_len = n;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	return rc;
}

bool ts_key_verify(const ts_key *k, const void *data, size_t len, const unsigned char *sig,
		   size_t sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx && EVP_DigestVerifyInit(ctx, NULL, key_md(k), NULL, k->pkey) == 1 &&
		  EVP_DigestVerify(ctx, sig, sig_len, data, len) == 1;

	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	return ok;
}

ts_code ts_key_sign_b64(const ts_key *k, const void *data, size_t len, char **sig_b64,
			ts_error *err)
{
	unsigned char *sig = NULL;
	size_t n = 0;
	ts_code rc = ts_key_sign(k, data, len, &sig, &n, err);

	*sig_b64 = rc == TS_OK ? ts_b64_encode(sig, n) : NULL;
	free(sig);
	return rc;
}

bool ts_key_verify_b64(const ts_key *k, const void *data, size_t len, const char *sig_b64)
{
	unsigned char *sig = NULL;
	size_t n = 0;
	bool ok = sig_b64 && ts_b64_decode(sig_b64, &sig, &n) && ts_key_verify(k, data, len, sig, n);

	free(sig);
	return ok;
}

bool ts_key_verify_prehashed(const ts_key *k, const unsigned char dgst[32],
			     const unsigned char *sig, size_t sig_len)
{
	EVP_PKEY_CTX *ctx;
	bool ok;

	if (k->type == TS_KEY_ED25519)
		return false;
	ctx = EVP_PKEY_CTX_new(k->pkey, NULL);
	ok = ctx && EVP_PKEY_verify_init(ctx) == 1 &&
	     EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
	     EVP_PKEY_verify(ctx, sig, sig_len, dgst, 32) == 1;
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

ts_code ts_key_public_der(const ts_key *k, unsigned char **der, size_t *len, ts_error *err)
{
	unsigned char *buf = NULL;
	int n = i2d_PUBKEY(k->pkey, &buf);

	*der = NULL;
	*len = 0;
	if (n <= 0)
		return ts_error_setc(err, TS_C_INTERNAL, "key '%s': cannot encode the public key",
				     k->path);
	*der = ts_malloc((size_t)n);
	memcpy(*der, buf, (size_t)n);
	OPENSSL_free(buf);
	*len = (size_t)n;
	return TS_OK;
}

char *ts_key_public_pem(const ts_key *k)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p = NULL, *out = NULL;
	long n;

	if (bio && PEM_write_bio_PUBKEY(bio, k->pkey) == 1) {
		n = BIO_get_mem_data(bio, &p);
		out = ts_strndup(p, (size_t)n);
	}
	BIO_free(bio);
	return out;
}

ts_code ts_key_hint(const ts_key *k, char **hint, ts_error *err)
{
	unsigned char *der = NULL, md[32];
	size_t len = 0;
	unsigned int mdlen = 0;
	ts_code rc = ts_key_public_der(k, &der, &len, err);

	*hint = NULL;
	if (rc != TS_OK)
		return rc;
	EVP_Digest(der, len, md, &mdlen, EVP_sha256(), NULL);
	free(der);
	*hint = ts_b64_encode(md, sizeof(md));
	return TS_OK;
}

/* ---- keygen ---- */

static ts_code write_new(const char *path, mode_t mode, BIO *mem, ts_error *err)
{
	char *p = NULL;
	long n = BIO_get_mem_data(mem, &p);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	ssize_t w = -1;

	if (fd < 0)
		return ts_error_setc(err, errno == EEXIST ? TS_C_USAGE : TS_C_IO,
				     "cannot create '%s': %s", path,
				     errno == EEXIST ? "it exists (not overwritten)" : strerror(errno));
	if (fchmod(fd, mode) == 0)
		w = write(fd, p, (size_t)n);
	if (w != n || fsync(fd) != 0 || close(fd) != 0) {
		unlink(path);
		return ts_error_setc(err, TS_C_IO, "cannot write '%s'", path);
	}
	return TS_OK;
}

ts_code ts_keygen(const char *prefix, char **pub_path, ts_error *err)
{
	char *key_path = ts_asprintf("%s.key", prefix), *pub = ts_asprintf("%s.pub", prefix);
	const char *pw = getenv("TAGSEAL_KEY_PASSWORD");
	EVP_PKEY *pkey = NULL;
	BIO *kb = BIO_new(BIO_s_mem()), *pb = BIO_new(BIO_s_mem());
	struct stat st;
	ts_code rc = TS_OK;

	*pub_path = NULL;
	if (lstat(key_path, &st) == 0 || lstat(pub, &st) == 0) {
		rc = ts_error_setc(err, TS_C_USAGE, "'%s' exists: keygen does not overwrite keys",
				   lstat(key_path, &st) == 0 ? key_path : pub);
		goto out;
	}
	pkey = EVP_EC_gen("P-256");
	if (!pkey || !kb || !pb ||
	    PEM_write_bio_PKCS8PrivateKey(kb, pkey, pw && *pw ? EVP_aes_256_cbc() : NULL, NULL, 0,
					  NULL, pw && *pw ? (void *)pw : NULL) != 1 ||
	    PEM_write_bio_PUBKEY(pb, pkey) != 1) {
		rc = ts_error_setc(err, TS_C_INTERNAL, "cannot make a P-256 key pair");
		goto out;
	}
	rc = write_new(key_path, 0600, kb, err);
	if (rc == TS_OK) {
		rc = write_new(pub, 0644, pb, err);
		if (rc != TS_OK)
			unlink(key_path);
	}
	if (rc == TS_OK) {
		*pub_path = pub;
		pub = NULL;
	}
out:
	if (kb) {
		char *p = NULL;
		long n = BIO_get_mem_data(kb, &p);
		if (p && n > 0)
			OPENSSL_cleanse(p, (size_t)n);
	}
	ERR_clear_error();
	BIO_free(kb);
	BIO_free(pb);
	EVP_PKEY_free(pkey);
	free(key_path);
	free(pub);
	return rc;
}
