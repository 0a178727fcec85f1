/*
 * test_compress.c - the compressor: standard readers read its output back to
 * the exact input, the input digest is the diff_id, and the output is the
 * same byte for byte whatever the number of threads, and whether the
 * compressor has its own workers or shares a pool with others (one of them
 * abandoned midway). A known digest pins
 * the gzip output, so a change of library or settings cannot go unnoticed
 * (it would change every image's digest).
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "check_run.h"
#include "tagseal/buf.h"
#include "tagseal/compress.h"

/* Changing it changes the digest of every image pushed with gzip: only
 * together with the compressor id in compress.c (the layer cache key). */
#define ZSTD_KNOWN_ANSWER "sha256:7a5961bed2e5a4c9d484c416668711d15e3d4d1283dbea3b7011c0719d08b662"
#define GZIP_KNOWN_ANSWER "sha256:ff2e0ceab6dfe3dd02e9c27245e58481c95a9c716357ff6c6241a2c9a13e3498"

typedef struct src {
	const unsigned char *p;
	size_t len, off, step;
} src;

static long src_read(void *ctx, char *buf, size_t cap, ts_error *rerr)
{
	src *s = ctx;
	(void)rerr;
	if (cap > s->step)
		cap = s->step; /* odd read sizes, as libarchive gives */
	if (cap > s->len - s->off)
		cap = s->len - s->off;
	memcpy(buf, s->p + s->off, cap);
	s->off += cap;
	return (long)cap;
}

/* Text-like, compressible input of n bytes. */
static unsigned char *make_input(size_t n)
{
	unsigned char *p = malloc(n ? n : 1);
	unsigned x = 12345;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (i % 97 < 60) ? (unsigned char)("tagseal layer "[i % 14]) : (unsigned char)(x >> 24);
	}
	return p;
}

static void compress_all(ts_compression kind, int threads, const unsigned char *in, size_t n,
			 ts_buf *out, char diff[TS_DIGEST_STRLEN])
{
	src s = { in, n, 0, 70001 };
	ts_compressor *c;
	ts_error err = TS_ERROR_INIT;
	char buf[65536];
	long k;
	int64_t size;
	ck_assert_int_eq(ts_compressor_new(kind, threads, src_read, &s, &c, &err), TS_OK);
	while ((k = ts_compressor_read(c, buf, sizeof(buf), &err)) > 0)
		ts_buf_put(out, buf, (size_t)k);
	ck_assert_int_eq(k, 0);
	ts_compressor_input_digest(c, diff, &size);
	ck_assert_int_eq(size, (int64_t)n);
	ts_compressor_free(c);
}

/* Read a gzip stream of one or more members back, as gunzip does. */
static void gunzip_check(const ts_buf *gz, const unsigned char *in, size_t n)
{
	z_stream z;
	unsigned char *out = malloc(n + 16);
	int rc;
	memset(&z, 0, sizeof(z));
	ck_assert_int_eq(inflateInit2(&z, 16 + 15), Z_OK);
	z.next_in = (unsigned char *)gz->ptr;
	z.avail_in = (uInt)gz->len;
	z.next_out = out;
	z.avail_out = (uInt)(n + 16);
	for (;;) {
		rc = inflate(&z, Z_NO_FLUSH);
		ck_assert(rc == Z_OK || rc == Z_STREAM_END);
		if (rc == Z_STREAM_END) {
			if (z.avail_in == 0)
				break;
			ck_assert_int_eq(inflateReset(&z), Z_OK); /* next member */
		}
	}
	ck_assert_uint_eq((size_t)(z.next_out - out), n); /* total_out restarts per member */
	ck_assert(memcmp(out, in, n) == 0);
	inflateEnd(&z);
	free(out);
}

static void gzip_size(size_t n)
{
	unsigned char *in = make_input(n);
	ts_buf one = TS_BUF_INIT, four = TS_BUF_INIT;
	char d1[TS_DIGEST_STRLEN], d4[TS_DIGEST_STRLEN], want[TS_DIGEST_STRLEN];
	compress_all(TS_COMPRESS_GZIP, 1, in, n, &one, d1);
	compress_all(TS_COMPRESS_GZIP, 4, in, n, &four, d4);
	ts_sha256_digest(in, n, want);
	ck_assert_str_eq(d1, want);
	ck_assert_str_eq(d4, want);
	ck_assert_uint_eq(one.len, four.len);
	ck_assert(memcmp(one.ptr, four.ptr, one.len) == 0);
	gunzip_check(&one, in, n);
	ts_buf_free(&one);
	ts_buf_free(&four);
	free(in);
}

START_TEST(gzip_empty) { gzip_size(0); }
END_TEST
START_TEST(gzip_small) { gzip_size(1000); }
END_TEST
START_TEST(gzip_exact_chunks) { gzip_size(2 * 1024 * 1024); }
END_TEST
START_TEST(gzip_large) { gzip_size(5 * 1024 * 1024 + 12345); }
END_TEST

/* The gzip output of a fixed input, pinned: same bytes on every machine. */
START_TEST(gzip_known_answer)
{
	size_t n = 3 * 1024 * 1024 + 5;
	unsigned char *in = make_input(n);
	ts_buf out = TS_BUF_INIT;
	char diff[TS_DIGEST_STRLEN], got[TS_DIGEST_STRLEN];
	compress_all(TS_COMPRESS_GZIP, 2, in, n, &out, diff);
	ts_sha256_digest(out.ptr, out.len, got);
	fprintf(stderr, "gzip known answer: %s (%zu bytes)\n", got, out.len);
	ck_assert_str_eq(got, GZIP_KNOWN_ANSWER);
	ts_buf_free(&out);
	free(in);
}
END_TEST

START_TEST(zstd_roundtrip_and_threads)
{
	size_t n = 3 * 1024 * 1024 + 7;
	unsigned char *in = make_input(n), *out = malloc(n);
	ts_buf one = TS_BUF_INIT, two = TS_BUF_INIT;
	char d1[TS_DIGEST_STRLEN], d2[TS_DIGEST_STRLEN];
	compress_all(TS_COMPRESS_ZSTD, 1, in, n, &one, d1);
	compress_all(TS_COMPRESS_ZSTD, 2, in, n, &two, d2);
	ck_assert_str_eq(d1, d2);
	{
		char got[TS_DIGEST_STRLEN];
		ts_sha256_digest(one.ptr, one.len, got);
		fprintf(stderr, "zstd known answer: %s (%zu bytes)\n", got, one.len);
		ck_assert_str_eq(got, ZSTD_KNOWN_ANSWER);
	}
	ck_assert_uint_eq(one.len, two.len);
	ck_assert(memcmp(one.ptr, two.ptr, one.len) == 0);
	{
		ZSTD_DCtx *dc = ZSTD_createDCtx();
		ZSTD_inBuffer zin = { one.ptr, one.len, 0 };
		ZSTD_outBuffer zout = { out, n, 0 };
		size_t r, frames = 0;
		/* one frame per 1 MiB chunk, one after another */
		do {
			r = ZSTD_decompressStream(dc, &zout, &zin);
			frames += r == 0;
		} while (!ZSTD_isError(r) && zin.pos < zin.size);
		ck_assert(!ZSTD_isError(r));
		ck_assert_uint_eq(r, 0);
		ck_assert_uint_eq(frames, 4);
		ck_assert_uint_eq(zout.pos, n);
		ck_assert(memcmp(out, in, n) == 0);
		ZSTD_freeDCtx(dc);
	}
	ts_buf_free(&one);
	ts_buf_free(&two);
	free(in);
	free(out);
}
END_TEST

/* Compressors sharing one pool, each read from its own thread (as the
 * layers compressed at once are): every output is the same bytes as a
 * compressor of its own makes. */
typedef struct pooled {
	ts_compress_pool *pool;
	const unsigned char *in;
	size_t n;
	size_t stop_after; /* 0: read to the end; else abandon after this many bytes */
	ts_buf out;
	char diff[TS_DIGEST_STRLEN];
	long last;
} pooled;

static void *read_pooled(void *arg)
{
	pooled *pc = arg;
	src s = { pc->in, pc->n, 0, 30011 };
	ts_compressor *c;
	ts_error err = TS_ERROR_INIT;
	char buf[40000];
	long k = 0;
	if (ts_compressor_new_in(pc->pool, src_read, &s, &c, &err) != TS_OK) {
		pc->last = -2;
		return NULL;
	}
	while ((!pc->stop_after || pc->out.len < pc->stop_after) &&
	       (k = ts_compressor_read(c, buf, sizeof(buf), &err)) > 0)
		ts_buf_put(&pc->out, buf, (size_t)k);
	pc->last = k;
	if (k == 0)
		ts_compressor_input_digest(c, pc->diff, NULL);
	ts_compressor_free(c); /* abandoned midway: its chunks go back to the pool */
	return NULL;
}

static void shared_pool(ts_compression kind, int threads)
{
	size_t n1 = 6 * 1024 * 1024 + 333, n2 = 3 * 1024 * 1024 + 17, n3 = 4 * 1024 * 1024;
	unsigned char *a = make_input(n1), *b = make_input(n2), *d = make_input(n3);
	ts_buf solo_a = TS_BUF_INIT, solo_b = TS_BUF_INIT;
	char da[TS_DIGEST_STRLEN], db[TS_DIGEST_STRLEN];
	ts_compress_pool *pool;
	ts_error err = TS_ERROR_INIT;
	pthread_t t[3];

	for (size_t i = 0; i < n2; i++) /* not the same bytes as a */
		b[i] ^= (unsigned char)(i * 7);
	compress_all(kind, 1, a, n1, &solo_a, da);
	compress_all(kind, 1, b, n2, &solo_b, db);
	ck_assert_int_eq(ts_compress_pool_new(kind, threads, 2, &pool, &err), TS_OK);
	/* a third compressor, abandoned after 100 KB, while two read to the end */
	pooled pa = { pool, a, n1, 0, TS_BUF_INIT, "", 0 };
	pooled pb = { pool, b, n2, 0, TS_BUF_INIT, "", 0 };
	pooled pd = { pool, d, n3, 100000, TS_BUF_INIT, "", 0 };
	ck_assert_int_eq(pthread_create(&t[0], NULL, read_pooled, &pa), 0);
	ck_assert_int_eq(pthread_create(&t[1], NULL, read_pooled, &pb), 0);
	ck_assert_int_eq(pthread_create(&t[2], NULL, read_pooled, &pd), 0);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	ck_assert_int_eq(pa.last, 0);
	ck_assert_int_eq(pb.last, 0);
	ck_assert_int_gt(pd.last, 0);
	ck_assert_str_eq(pa.diff, da);
	ck_assert_str_eq(pb.diff, db);
	ck_assert_uint_eq(pa.out.len, solo_a.len);
	ck_assert(memcmp(pa.out.ptr, solo_a.ptr, solo_a.len) == 0);
	ck_assert_uint_eq(pb.out.len, solo_b.len);
	ck_assert(memcmp(pb.out.ptr, solo_b.ptr, solo_b.len) == 0);
	/* the pool is whole again: one more compressor reads to the end */
	pooled pe = { pool, a, n1, 0, TS_BUF_INIT, "", 0 };
	read_pooled(&pe);
	ck_assert_int_eq(pe.last, 0);
	ck_assert_uint_eq(pe.out.len, solo_a.len);
	ck_assert(memcmp(pe.out.ptr, solo_a.ptr, solo_a.len) == 0);
	ts_compress_pool_free(pool);
	ts_buf_free(&pa.out);
	ts_buf_free(&pb.out);
	ts_buf_free(&pd.out);
	ts_buf_free(&pe.out);
	ts_buf_free(&solo_a);
	ts_buf_free(&solo_b);
	free(a);
	free(b);
	free(d);
}

START_TEST(gzip_shared_pool) { shared_pool(TS_COMPRESS_GZIP, 2); }
END_TEST
START_TEST(gzip_shared_pool_one_thread) { shared_pool(TS_COMPRESS_GZIP, 1); }
END_TEST
START_TEST(zstd_shared_pool) { shared_pool(TS_COMPRESS_ZSTD, 3); }
END_TEST

int main(void)
{
	Suite *s = suite_create("compress");
	TCase *tc = tcase_create("compress");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, gzip_empty);
	tcase_add_test(tc, gzip_small);
	tcase_add_test(tc, gzip_exact_chunks);
	tcase_add_test(tc, gzip_large);
	tcase_add_test(tc, gzip_known_answer);
	tcase_add_test(tc, zstd_roundtrip_and_threads);
	tcase_add_test(tc, gzip_shared_pool);
	tcase_add_test(tc, gzip_shared_pool_one_thread);
	tcase_add_test(tc, zstd_shared_pool);
	suite_add_tcase(s, tc);
	return ts_check_run(s);
}
