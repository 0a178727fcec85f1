/*
 * test_pin.c - the rewriter: only the reference bytes change, quoting kept,
 * kustomize keys inserted byte-carefully, refusals, the corpus in memory,
 * and ts_pin_apply's all-or-nothing and dry-run behaviour on real files.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_run.h"
#include "tagseal/fsutil.h"
#include "tagseal/lint.h"
#include "tagseal/pin.h"

#define D1 "sha256:0717098f1c72f8dd2b70a7683392d572480b1fb0a9171d35d215eaf64dca2b3e"
#define D2 "sha256:66bfb6281dd8ff2cf2176150530fc993dcfd1672fd9c3b405fd2a8bd80c348b4"
#define SHOP "ghcr.io/acme/shop:2.0.0@" D1
#define NGINX "nginx:1.27.3@" D2

/* Rewrite `in` for `image`; returns the new bytes, fills *rep. */
static char *pin_mem(const char *image, ts_pin_form form, const char *name, const char *in,
		     ts_pin_report *rep, ts_code want)
{
	ts_pin_opts o = { image, form, false };
	ts_buf out = TS_BUF_INIT;
	ts_error err = TS_ERROR_INIT;
	ts_code rc = ts_pin_rewrite(&o, name, in, strlen(in), &out, rep, &err);
	ck_assert_msg(rc == want, "rc %d, want %d: %s", rc, want, err.msg);
	if (rc != TS_OK) {
		ts_buf_free(&out);
		return ts_strdup(err.msg);
	}
	return ts_buf_detach(&out);
}

static void expect_pin(const char *image, const char *name, const char *in, const char *want)
{
	ts_pin_report rep = TS_PIN_REPORT_INIT;
	char *got = pin_mem(image, TS_PIN_FORM_TAG_DIGEST, name, in, &rep, TS_OK);
	ck_assert_str_eq(got, want);
	free(got);
	ts_pin_report_free(&rep);
}

START_TEST(styles_and_comments_kept)
{
	expect_pin(SHOP, "d.yaml",
		   "containers:   # c\n"
		   "- image: ghcr.io/acme/shop:1  # plain\n"
		   "- image: 'ghcr.io/acme/shop'\n"
		   "- image: \"ghcr.io/acme/shop@sha256:" "cba06b5736faf67e54b07b561eae94395e774c517a7d910a54369e1263ccfbd4\"\n"
		   "- image: ghcr.io/acme/shop-worker:1\n"
		   "- image: ghcr.io/acme/shop/client:1\n",
		   "containers:   # c\n"
		   "- image: " SHOP "  # plain\n"
		   "- image: '" SHOP "'\n"
		   "- image: \"" SHOP "\"\n"
		   "- image: ghcr.io/acme/shop-worker:1\n"
		   "- image: ghcr.io/acme/shop/client:1\n");
}
END_TEST

START_TEST(hub_spelling_kept)
{
	expect_pin(NGINX, "d.yaml",
		   "containers:\n- image: nginx\n- image: docker.io/library/nginx:1\n"
		   "- image: index.docker.io/library/nginx:1\n- image: nginx/exporter:1\n",
		   "containers:\n- image: " NGINX "\n- image: docker.io/library/" NGINX "\n"
		   "- image: index.docker.io/library/" NGINX "\n- image: nginx/exporter:1\n");
}
END_TEST

START_TEST(digest_form)
{
	ts_pin_report rep = TS_PIN_REPORT_INIT;
	char *got = pin_mem(SHOP, TS_PIN_FORM_DIGEST, "d.yaml",
			    "containers:\n- image: ghcr.io/acme/shop:1\n", &rep, TS_OK);
	ck_assert_str_eq(got, "containers:\n- image: ghcr.io/acme/shop@" D1 "\n");
	free(got);
	ts_pin_report_free(&rep);
	/* REPO@DIGEST implies it */
	expect_pin("ghcr.io/acme/shop@" D1, "d.yaml", "containers:\n- image: ghcr.io/acme/shop:1\n",
		   "containers:\n- image: ghcr.io/acme/shop@" D1 "\n");
}
END_TEST

START_TEST(helm_tag_and_digest)
{
	expect_pin(SHOP, "values.yaml",
		   "image:\n  registry: ghcr.io\n  repository: acme/shop\n  tag: 1.9.0 # t\n"
		   "  digest: \"\"\n",
		   "image:\n  registry: ghcr.io\n  repository: acme/shop\n  tag: 2.0.0 # t\n"
		   "  digest: \"" D1 "\"\n");
	/* no digest key: the tag carries it; an empty value gets a space */
	expect_pin(SHOP, "values.yaml", "image:\n  repository: ghcr.io/acme/shop\n  tag:\n",
		   "image:\n  repository: ghcr.io/acme/shop\n  tag: 2.0.0@" D1 "\n");
	/* a plain value that would read back as a number is quoted */
	expect_pin("ghcr.io/acme/shop:2.0@" D1, "values.yaml",
		   "image:\n  repository: ghcr.io/acme/shop\n  tag: latest\n  digest: ''\n",
		   "image:\n  repository: ghcr.io/acme/shop\n  tag: \"2.0\"\n  digest: '" D1 "'\n");
}
END_TEST

START_TEST(helm_without_digest_needs_tag)
{
	ts_pin_report rep = TS_PIN_REPORT_INIT;
	char *msg = pin_mem("ghcr.io/acme/shop@" D1, TS_PIN_FORM_DIGEST, "values.yaml",
			    "image:\n  repository: ghcr.io/acme/shop\n  tag: '1'\n", &rep, TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(msg, "values.yaml:2: Helm values without a 'digest' key"));
	free(msg);
	ts_pin_report_free(&rep);
}
END_TEST

START_TEST(kustomize_insertions)
{
	expect_pin(SHOP, "kustomization.yaml",
		   "images:\n  - name: ghcr.io/acme/shop\n    newTag: \"1.0\"   # release\n  - name: x\n",
		   "images:\n  - name: ghcr.io/acme/shop\n    newTag: \"2.0.0\"   # release\n"
		   "    digest: " D1 "\n  - name: x\n");
	expect_pin(SHOP, "kustomization.yaml", "images:\n- {name: ghcr.io/acme/shop}\n",
		   "images:\n- {name: ghcr.io/acme/shop, newTag: 2.0.0, digest: " D1 "}\n");
	expect_pin(SHOP, "kustomization.yml", "images:\r\n- name: x\r\n  newName: ghcr.io/acme/shop",
		   "images:\r\n- name: x\r\n  newName: ghcr.io/acme/shop\r\n  newTag: 2.0.0\r\n"
		   "  digest: " D1);
	/* an existing digest is replaced in place */
	expect_pin(SHOP, "kustomization.yaml",
		   "images:\n- name: ghcr.io/acme/shop\n  digest: sha256:cba06b5736faf67e54b07b561eae94395e774c517a7d910a54369e1263ccfbd4\n  newTag: '1'\n",
		   "images:\n- name: ghcr.io/acme/shop\n  digest: " D1 "\n  newTag: '2.0.0'\n");
}
END_TEST

START_TEST(kustomize_digest_form_adds_no_tag)
{
	ts_pin_report rep = TS_PIN_REPORT_INIT;
	char *got = pin_mem(SHOP, TS_PIN_FORM_DIGEST, "kustomization.yaml",
			    "images:\n- name: ghcr.io/acme/shop\n", &rep, TS_OK);
	ck_assert_str_eq(got, "images:\n- name: ghcr.io/acme/shop\n  digest: " D1 "\n");
	ck_assert_uint_eq(rep.nchanges, 1);
	ck_assert_str_eq(rep.changes[0].new_ref, "ghcr.io/acme/shop@" D1);
	free(got);
	ts_pin_report_free(&rep);
}
END_TEST

START_TEST(markers)
{
	expect_pin(SHOP, "m.yaml",
		   "a: ghcr.io/acme/shop:1 # tagseal: ghcr.io/acme/shop\n"
		   "b: '1' # tagseal: ghcr.io/acme/shop:tag\n"
		   "c:     # tagseal: ghcr.io/acme/shop:digest\n"
		   "d: ghcr.io/acme/shop:1 # tagseal: ghcr.io/acme/other\n",
		   "a: " SHOP " # tagseal: ghcr.io/acme/shop\n"
		   "b: '2.0.0' # tagseal: ghcr.io/acme/shop:tag\n"
		   "c: " D1 "     # tagseal: ghcr.io/acme/shop:digest\n"
		   "d: ghcr.io/acme/shop:1 # tagseal: ghcr.io/acme/other\n");
}
END_TEST

START_TEST(refusals)
{
	ts_pin_report rep = TS_PIN_REPORT_INIT;
	char *msg = pin_mem(SHOP, TS_PIN_FORM_TAG_DIGEST, "a.yaml",
			    "x: &s ghcr.io/acme/shop:1\ncontainers:\n- image: *s\n", &rep, TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(msg, "a.yaml:3: the reference to ghcr.io/acme/shop is an alias (*s)"));
	free(msg);
	msg = pin_mem(SHOP, TS_PIN_FORM_TAG_DIGEST, "b.yaml",
		      "containers:\n- image: |\n    ghcr.io/acme/shop:1\n", &rep, TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(msg, "b.yaml:2: the reference to ghcr.io/acme/shop is a literal block scalar"));
	free(msg);
	ts_pin_report_free(&rep);
	/* a block scalar or an alias that already holds the pinned reference is fine */
	expect_pin(SHOP, "d.yaml", "containers:\n- image: |\n    " SHOP "\n",
		   "containers:\n- image: |\n    " SHOP "\n");
	/* an alias that already reads as the pinned reference needs no change */
	expect_pin(SHOP, "c.yaml", "x: &s " SHOP "\ncontainers:\n- image: *s\n",
		   "x: &s " SHOP "\ncontainers:\n- image: *s\n");
}
END_TEST

START_TEST(already_pinned_reports_nothing)
{
	ts_pin_report rep = TS_PIN_REPORT_INIT;
	const char *in = "containers:\n- image: " SHOP "\n";
	char *got = pin_mem(SHOP, TS_PIN_FORM_TAG_DIGEST, "p.yaml", in, &rep, TS_OK);
	ck_assert_str_eq(got, in);
	ck_assert_uint_eq(rep.nrefs, 1);
	ck_assert_uint_eq(rep.nchanges, 0);
	free(got);
	ts_pin_report_free(&rep);
}
END_TEST

static const char *const corpus[] = {
	"anchors/anchors.yaml", "compose/compose.yaml", "crlf/deployment.yaml",
	"crlf/kustomization.yaml", "helm/shop/values.yaml", "helm/shop/Chart.yaml",
	"k8s/cronjob.yaml", "k8s/deployment.yaml", "k8s/job-no-final-newline.yaml",
	"k8s/multi.yaml", "k8s/pod-debug.yaml", "k8s/rollout-crd.yaml", "k8s/statefulset.yaml",
	"kustomize/base/deployment.yaml", "kustomize/base/kustomization.yaml",
	"kustomize/overlays/prod/kustomization.yaml", "markers/settings.yaml",
	"other/other-images.yaml",
};

static void read_whole(const char *path, ts_buf *b)
{
	ts_error err = TS_ERROR_INIT;
	ck_assert_msg(ts_read_file(path, TS_YAML_MAX, b, NULL, &err) == TS_OK, "%s", err.msg);
}

START_TEST(corpus_in_memory)
{
	const char *src = getenv("TS_SOURCE_DIR");
	if (!src)
		return;
	for (size_t i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
		char *in_path = ts_asprintf("%s/tests/data/pin/input/%s", src, corpus[i]);
		char *ex_path = ts_asprintf("%s/tests/data/pin/expected/%s", src, corpus[i]);
		ts_buf in = TS_BUF_INIT, ex = TS_BUF_INIT, a = TS_BUF_INIT, b = TS_BUF_INIT;
		ts_pin_report rep = TS_PIN_REPORT_INIT;
		ts_pin_opts o1 = { SHOP, TS_PIN_FORM_TAG_DIGEST, false };
		ts_pin_opts o2 = { NGINX, TS_PIN_FORM_TAG_DIGEST, false };
		ts_error err = TS_ERROR_INIT;

		read_whole(in_path, &in);
		read_whole(ex_path, &ex);
		ck_assert_int_eq(ts_pin_rewrite(&o1, corpus[i], in.ptr, in.len, &a, &rep, &err), TS_OK);
		ck_assert_int_eq(ts_pin_rewrite(&o2, corpus[i], a.ptr, a.len, &b, &rep, &err), TS_OK);
		ck_assert_msg(b.len == ex.len && memcmp(b.ptr, ex.ptr, b.len) == 0,
			      "%s differs from expected", corpus[i]);
		ts_buf_reset(&a);
		ck_assert_int_eq(ts_pin_rewrite(&o1, corpus[i], b.ptr, b.len, &a, &rep, &err), TS_OK);
		ck_assert_msg(a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0,
			      "%s: second pin changed it", corpus[i]);
		ts_buf_free(&in);
		ts_buf_free(&ex);
		ts_buf_free(&a);
		ts_buf_free(&b);
		ts_pin_report_free(&rep);
		free(in_path);
		free(ex_path);
	}
}
END_TEST

/* Mutated corpus files: the rewriter may refuse (exit 2) but must never
 * crash or produce a rewrite that fails its own read-back check (exit 1).
 * TS_SEED and TS_ROUNDS (with CK_DEFAULT_TIMEOUT) run a longer search. */
START_TEST(mutations_never_break_the_rewrite)
{
	static const char alphabet[] = " \n\r\t:-#'\"&*!|>{}[],@?%x1";
	const char *src = getenv("TS_SOURCE_DIR");
	unsigned seed = getenv("TS_SEED") ? (unsigned)atoi(getenv("TS_SEED")) : 12345;
	int rounds = getenv("TS_ROUNDS") ? atoi(getenv("TS_ROUNDS")) : 300;
	if (!src)
		return;
	for (size_t i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
		char *path = ts_asprintf("%s/tests/data/pin/input/%s", src, corpus[i]);
		ts_buf in = TS_BUF_INIT;
		read_whole(path, &in);
		for (int round = 0; round < rounds; round++) {
			ts_buf m = TS_BUF_INIT, out = TS_BUF_INIT;
			ts_pin_report rep = TS_PIN_REPORT_INIT;
			ts_pin_opts o = { round % 2 ? NGINX : SHOP, TS_PIN_FORM_TAG_DIGEST, false };
			ts_error err = TS_ERROR_INIT;
			ts_code rc;
			ts_buf_put(&m, in.ptr, in.len);
			for (int k = 0; k < 1 + round % 3; k++) {
				size_t at;
				seed = seed * 1103515245u + 12345u;
				at = (seed >> 8) % (m.len ? m.len : 1);
				if (m.len && (seed >> 28) % 3 == 0)
					m.ptr[at] = alphabet[(seed >> 20) % (sizeof(alphabet) - 1)];
				else if (m.len && (seed >> 28) % 3 == 1) {
					memmove(m.ptr + at, m.ptr + at + 1, m.len - at);
					m.len--;
				} else {
					ts_buf_grow(&m, 1);
					memmove(m.ptr + at + 1, m.ptr + at, m.len - at + 1);
					m.ptr[at] = alphabet[(seed >> 20) % (sizeof(alphabet) - 1)];
					m.len++;
				}
			}
			rc = ts_pin_rewrite(&o, corpus[i], m.ptr, m.len, &out, &rep, &err);
			ck_assert_msg(rc == TS_OK || rc == TS_EUSAGE, "%s round %d: %s", corpus[i],
				      round, err.msg);
			ts_buf_free(&m);
			ts_buf_free(&out);
			ts_pin_report_free(&rep);
		}
		ts_buf_free(&in);
		free(path);
	}
}
END_TEST

static char *write_tmp(const char *dir, const char *name, const char *text)
{
	char *p = ts_asprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "wb");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	return p;
}

static char *slurp(const char *path)
{
	ts_buf b = TS_BUF_INIT;
	read_whole(path, &b);
	return ts_buf_detach(&b);
}

START_TEST(apply_all_or_nothing)
{
	char tmpl[] = "/tmp/test_pin.XXXXXX";
	char *dir = mkdtemp(tmpl), *good, *bad, *other, *text, *cmd;
	const char *good_in = "containers:\n- image: ghcr.io/acme/shop:1\n";
	const char *paths[1];
	ts_pin_opts o = { SHOP, TS_PIN_FORM_TAG_DIGEST, false };
	ts_pin_report rep = TS_PIN_REPORT_INIT;
	ts_error err = TS_ERROR_INIT;
	struct stat st1, st2;

	ck_assert_ptr_nonnull(dir);
	paths[0] = dir;
	good = write_tmp(dir, "a.yaml", good_in);
	other = write_tmp(dir, "b.yaml", "containers:\n- image: redis:7\n");
	bad = write_tmp(dir, "z.yaml", "containers:\n- image: [\n");
	chmod(good, 0640);
	ck_assert_int_eq(ts_pin_apply(&o, paths, 1, &rep, &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "z.yaml:3:1: not valid YAML"));
	text = slurp(good);
	ck_assert_str_eq(text, good_in);
	free(text);
	ts_pin_report_free(&rep);

	unlink(bad);
	o.dry_run = true;
	ck_assert_int_eq(ts_pin_apply(&o, paths, 1, &rep, &err), TS_OK);
	ck_assert_ptr_nonnull(strstr(rep.diff, "-- image: ghcr.io/acme/shop:1\n+- image: " SHOP "\n"));
	ck_assert_uint_eq(rep.files.n, 1);
	text = slurp(good);
	ck_assert_str_eq(text, good_in);
	free(text);
	ts_pin_report_free(&rep);

	stat(other, &st1);
	o.dry_run = false;
	ck_assert_int_eq(ts_pin_apply(&o, paths, 1, &rep, &err), TS_OK);
	ck_assert_ptr_null(rep.diff);
	ck_assert_uint_eq(rep.nscanned, 2);
	ck_assert_uint_eq(rep.nchanges, 1);
	ck_assert_str_eq(rep.changes[0].path, good);
	ck_assert_uint_eq(rep.changes[0].line, 2);
	ck_assert_str_eq(rep.changes[0].old_ref, "ghcr.io/acme/shop:1");
	ck_assert_str_eq(rep.changes[0].new_ref, SHOP);
	ck_assert_str_eq(rep.files.v[0], good);
	text = slurp(good);
	ck_assert_str_eq(text, "containers:\n- image: " SHOP "\n");
	free(text);
	stat(good, &st2);
	ck_assert_uint_eq(st2.st_mode & 07777, 0640);
	stat(other, &st2);
	ck_assert(st1.st_ino == st2.st_ino && st1.st_mtim.tv_nsec == st2.st_mtim.tv_nsec);
	ts_pin_report_free(&rep);

	cmd = ts_asprintf("rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(good);
	free(bad);
	free(other);
}
END_TEST

START_TEST(lint_reasons)
{
	ts_yrefs r = TS_YREFS_INIT;
	ts_error err = TS_ERROR_INIT;
	const char *y = "containers:\n"
			"- image: a\n"
			"- image: a:1\n"
			"- image: a:latest@" D1 "\n"
			"- image: a:1@" D1 "\n"
			"- image: ${X}\n"
			"image: {repository: a, tag: '1@" D1 "'}\n";
	ck_assert_int_eq(ts_yrefs_find("l.yaml", y, strlen(y), &r, &err), TS_OK);
	ck_assert_uint_eq(r.n, 6);
	ck_assert_str_eq(ts_lint_check(&r.v[0]), "not pinned by digest, and uses the tag 'latest'");
	ck_assert_str_eq(ts_lint_check(&r.v[1]), "not pinned by digest");
	ck_assert_str_eq(ts_lint_check(&r.v[2]), "uses the tag 'latest'");
	ck_assert_ptr_null(ts_lint_check(&r.v[3]));
	ck_assert_str_eq(ts_lint_check(&r.v[4]), "not a valid image reference");
	ck_assert_ptr_null(ts_lint_check(&r.v[5]));
	ts_yrefs_free(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pin");
	TCase *tc = tcase_create("rewrite");

	tcase_set_timeout(tc, 120); /* the mutation search under ASan on a busy machine */
	tcase_add_test(tc, styles_and_comments_kept);
	tcase_add_test(tc, hub_spelling_kept);
	tcase_add_test(tc, digest_form);
	tcase_add_test(tc, helm_tag_and_digest);
	tcase_add_test(tc, helm_without_digest_needs_tag);
	tcase_add_test(tc, kustomize_insertions);
	tcase_add_test(tc, kustomize_digest_form_adds_no_tag);
	tcase_add_test(tc, markers);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, already_pinned_reports_nothing);
	tcase_add_test(tc, corpus_in_memory);
	tcase_add_test(tc, mutations_never_break_the_rewrite);
	tcase_add_test(tc, apply_all_or_nothing);
	tcase_add_test(tc, lint_reasons);
	suite_add_tcase(s, tc);
	return ts_check_run(s);
}
