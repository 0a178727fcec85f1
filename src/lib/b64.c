/*
 * b64.c - standard base64 through OpenSSL (EVP_EncodeBlock/EVP_DecodeBlock),
 * with the padding EVP_DecodeBlock leaves in its length taken off.
 */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "tagseal/b64.h"
#include "tagseal/error.h"

char *ts_b64_encode(const void *data, size_t len)
{
	char *out = ts_malloc(4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

bool ts_b64_decode(const char *s, unsigned char **out, size_t *len)
{
	size_t n = strlen(s), pad = 0;
	unsigned char *buf;
	int got;

	*out = NULL;
	*len = 0;
	if (n % 4 != 0 || n > (size_t)1 << 30)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  c == '+' || c == '/' || (c == '=' && i >= n - 2);
		if (!ok || (c != '=' && pad))
			return false;
		if (c == '=')
			pad++;
	}
	buf = ts_malloc(n / 4 * 3 + 1);
	got = n ? EVP_DecodeBlock(buf, (const unsigned char *)s, (int)n) : 0;
	if (got < 0 || (size_t)got < pad) {
		free(buf);
		return false;
	}
	*len = (size_t)got - pad;
	buf[*len] = '\0';
	*out = buf;
	return true;
}
