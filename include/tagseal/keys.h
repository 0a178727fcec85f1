/*
 * keys.h - signing and verification keys (OpenSSL): private keys from PEM
 * files (ECDSA P-256 as PKCS#8 or SEC1, RSA of 2048 bits or more, Ed25519;
 * encrypted PKCS#8 with TAGSEAL_KEY_PASSWORD) and from cosign's encrypted
 * key files (scrypt + NaCl secretbox, COSIGN_PASSWORD or
 * TAGSEAL_KEY_PASSWORD); public keys as PEM PKIX; signing and verifying
 * bytes the way cosign does (ECDSA SHA-256 DER, RSA PKCS#1 v1.5 SHA-256,
 * Ed25519 pure); key-pair generation.
 *
 * A key that cannot be used (unreadable, loose file mode, encrypted without
 * a password, wrong password, unsupported type or size) is TS_EUSAGE with
 * one line naming the file, never the password. Key material is wiped when
 * freed; nothing here prints.
 */
#ifndef TAGSEAL_KEYS_H
#define TAGSEAL_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "tagseal/error.h"

typedef struct ts_key ts_key;

typedef enum ts_key_type { TS_KEY_ECDSA_P256, TS_KEY_RSA, TS_KEY_ED25519 } ts_key_type;

/* A private key file. Refused when group or others may access it. */
ts_code ts_key_load_private(const char *path, ts_key **out, ts_error *err);

/* A public key file (PEM "PUBLIC KEY"), or a private key file's public half
 * is NOT accepted here: verification takes the .pub file. */
ts_code ts_key_load_public(const char *path, ts_key **out, ts_error *err);

/* A public key from PEM text in memory (`what` names it in messages). */
ts_code ts_key_public_from_pem(const char *pem, size_t len, const char *what, ts_key **out,
			       ts_error *err);

void ts_key_free(ts_key *k);

ts_key_type ts_key_type_of(const ts_key *k);
/* "ecdsa-p256", "rsa-3072", "ed25519" */
const char *ts_key_describe(const ts_key *k);
/* The file the key came from. */
const char *ts_key_path(const ts_key *k);

/* Sign `data` (hashing it with SHA-256 first, except for Ed25519). */
ts_code ts_key_sign(const ts_key *k, const void *data, size_t len, unsigned char **sig,
		    size_t *sig_len, ts_error *err);

/* Whether `sig` is a valid signature over `data` by this key. */
bool ts_key_verify(const ts_key *k, const void *data, size_t len, const unsigned char *sig,
		   size_t sig_len);

/* The same with the signature as base64 (for a record line's "sig"). */
ts_code ts_key_sign_b64(const ts_key *k, const void *data, size_t len, char **sig_b64,
			ts_error *err);
bool ts_key_verify_b64(const ts_key *k, const void *data, size_t len, const char *sig_b64);

/* Whether `sig` signs the SHA-256 digest `dgst` (32 bytes) directly, as a
 * bundle's messageSignature does (ECDSA and RSA only). */
bool ts_key_verify_prehashed(const ts_key *k, const unsigned char dgst[32],
			     const unsigned char *sig, size_t sig_len);

/* The public key as DER (SubjectPublicKeyInfo) and PEM; caller frees. */
ts_code ts_key_public_der(const ts_key *k, unsigned char **der, size_t *len, ts_error *err);
char *ts_key_public_pem(const ts_key *k);

/* base64(sha256(public key DER)): the hint cosign writes in a bundle. */
ts_code ts_key_hint(const ts_key *k, char **hint, ts_error *err);

/*
 * Write a new ECDSA P-256 pair: PREFIX.key (PKCS#8 PEM, mode 0600,
 * encrypted PKCS#8 (PBES2: PBKDF2, AES-256-CBC) when TAGSEAL_KEY_PASSWORD
 * is set) and PREFIX.pub. Neither may exist yet. *pub_path (caller frees)
 * names the public file.
 */
ts_code ts_keygen(const char *prefix, char **pub_path, ts_error *err);

/*
 * Open a cosign/sigstore "encrypted" document: JSON with kdf (scrypt N, r,
 * p, salt), cipher (nacl/secretbox, nonce) and ciphertext. *plain (caller
 * frees with ts_key_wipe_free) gets the plaintext. A wrong password is
 * TS_EUSAGE; `what` names the file.
 */
ts_code ts_cosign_decrypt(const char *json, size_t len, const char *password, size_t pw_len,
			  const char *what, unsigned char **plain, size_t *plain_len,
			  ts_error *err);

/* Wipe `len` bytes at p and free it. */
void ts_key_wipe_free(void *p, size_t len);

#endif
