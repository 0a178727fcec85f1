/*
 * test_pinchoice.c - the per-reference rewrite that pin --resolve/--update
 * use (ts_pin_rewrite_chosen: a target per finding, the name kept as
 * written) and the pin commit's message (ts_gitland_message).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "tagseal/gitland.h"
#include "tagseal/pin.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

/* nginx:1.25 -> D1, nginx:1.24 -> D2, anything else left alone */
static bool choose(void *ud, const char *path, const ts_yref *r, ts_ref *t)
{
	int *calls = ud;
	const char *tag = r->match.tag ? r->match.tag : "latest";
	(void)path;
	(*calls)++;
	if (strcmp(r->match.path, "library/nginx") != 0)
		return false;
	t->host = ts_strdup(r->match.host);
	t->path = ts_strdup(r->match.path);
	t->tag = ts_strdup(tag);
	t->digest = ts_strdup(strcmp(tag, "1.25") == 0 ? D1 : D2);
	return true;
}

START_TEST(target_per_finding)
{
	const char *in = "services:\n"
			 "  a:\n    image: nginx:1.25 # web\n"
			 "  b:\n    image: 'docker.io/library/nginx:1.24'\n"
			 "  c:\n    image: redis:7\n"
			 "  d:\n    image: \"nginx\"\n";
	const char *want = "services:\n"
			   "  a:\n    image: nginx:1.25@" D1 " # web\n"
			   "  b:\n    image: 'docker.io/library/nginx:1.24@" D2 "'\n"
			   "  c:\n    image: redis:7\n"
			   "  d:\n    image: \"nginx:latest@" D2 "\"\n";
	ts_pin_opts o = { NULL, TS_PIN_FORM_TAG_DIGEST, false };
	int calls = 0;
	ts_pin_choice ch = { choose, &calls };
	ts_pin_report rep = TS_PIN_REPORT_INIT;
	ts_error err = TS_ERROR_INIT;
	ts_buf out = TS_BUF_INIT;

	ck_assert_int_eq(ts_pin_rewrite_chosen(&o, &ch, "c.yaml", in, strlen(in), &out, &rep, &err),
			 TS_OK);
	ck_assert_str_eq(ts_buf_cstr(&out), want);
	ck_assert_int_eq(calls, 4);
	ck_assert_uint_eq(rep.nchanges, 3);
	ck_assert_str_eq(rep.changes[1].old_ref, "docker.io/library/nginx:1.24");
	ts_buf_free(&out);
	ts_pin_report_free(&rep);

	/* the digest form: NAME@DIGEST */
	o.form = TS_PIN_FORM_DIGEST;
	rep = (ts_pin_report)TS_PIN_REPORT_INIT;
	ck_assert_int_eq(ts_pin_rewrite_chosen(&o, &ch, "c.yaml", in, strlen(in), &out, &rep, &err),
			 TS_OK);
	ck_assert_ptr_nonnull(strstr(ts_buf_cstr(&out), "image: nginx@" D1 " # web"));
	ts_buf_free(&out);
	ts_pin_report_free(&rep);
}
END_TEST

START_TEST(commit_message)
{
	ts_gitland_change ch[] = {
		{ "deploy/a.yaml", 3, "nginx:1.25", "docker.io/library/nginx:1.25", "", D1 },
		{ "deploy/b.yaml", 7, "nginx:1.25@" D2, "docker.io/library/nginx:1.25", D2, D1 },
		{ "deploy/b.yaml", 9, "redis:7\x1b[31m", "docker.io/library/redis:7", NULL, D2 },
	};
	char *m = ts_gitland_message(ch, 3);
	ck_assert_ptr_nonnull(strstr(m, "pin: 3 image references to digests (1 updated)\n\n"));
	ck_assert_ptr_nonnull(strstr(m, "deploy/a.yaml:3: nginx:1.25 -> @" D1 "\n"));
	ck_assert_ptr_nonnull(strstr(m, "deploy/b.yaml:7: nginx:1.25: " D2 " -> " D1 "\n"));
	ck_assert_ptr_null(strchr(m, '\x1b'));
	/* one trailer per distinct reference and digest, at the end */
	ck_assert_ptr_nonnull(strstr(m, "\n\nImage-Digest: docker.io/library/nginx:1.25@" D1 "\n"
					"Image-Digest: docker.io/library/redis:7@" D2 "\n"));
	free(m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pinchoice");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, target_per_finding);
	tcase_add_test(tc, commit_message);
	suite_add_tcase(s, tc);
	return ts_check_run(s);
}
