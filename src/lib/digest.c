/*
 * digest.c - SHA-256 via OpenSSL EVP (uses SHA-NI where the CPU has it).
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tagseal/digest.h"
#include "tagseal/error.h"

struct ts_sha256 {
	EVP_MD_CTX *ctx;
};

ts_sha256 *ts_sha256_new(void)
{
	ts_sha256 *h = ts_malloc(sizeof(*h));
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		fprintf(stderr, "tagseal: OpenSSL cannot provide SHA-256\n");
		abort();
	}
	return h;
}

void ts_sha256_update(ts_sha256 *h, const void *data, size_t len)
{
	if (len)
		EVP_DigestUpdate(h->ctx, data, len);
}

static void to_hex(const unsigned char *md, unsigned int n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	memcpy(out, "sha256:", 7);
	for (unsigned int i = 0; i < n; i++) {
		out[7 + 2 * i] = hex[md[i] >> 4];
		out[7 + 2 * i + 1] = hex[md[i] & 15];
	}
	out[7 + 2 * n] = '\0';
}

void ts_sha256_final(ts_sha256 *h, char out[TS_DIGEST_STRLEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_DigestFinal_ex(h->ctx, md, &n);
	to_hex(md, n, out);
	EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL);
}

void ts_sha256_free(ts_sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void ts_sha256_digest(const void *data, size_t len, char out[TS_DIGEST_STRLEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	to_hex(md, n, out);
}
