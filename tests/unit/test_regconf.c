/*
 * test_regconf.c - the registries.conf reader (strict TOML subset) and the
 * sources a reference is resolved at (mirrors first, prefix replaced).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "tagseal/regconf.h"

static const char *CONF =
	"# system registries\n"
	"unqualified-search-registries = [\"docker.io\",\n  'quay.io', # trailing\n]\n"
	"short-name-mode = \"enforcing\"\n"
	"\n"
	"[[registry]]\n"
	"prefix = \"docker.io\"\n"
	"location = \"docker.io\"\n"
	"[[registry.mirror]]\n"
	"location = \"mirror.example:5000/hub\"\n"
	"insecure = true\n"
	"[[registry.mirror]]\n"
	"location = 'digests.example'\n"
	"pull-from-mirror = \"digest-only\"\n"
	"\n"
	"[[registry]]\n"
	"prefix = \"quay.io/org\"\n"
	"location = \"internal.example/quay-org\"\n"
	"\n"
	"[[registry]]\n"
	"location = \"evil.example\"\n"
	"blocked = true\n"
	"[aliases]\n"
	"\"fedora\" = \"registry.fedoraproject.org/fedora\"\n";

static char *src_str(const ts_source *s)
{
	return ts_asprintf("%s%s/%s", s->mirror ? "m:" : "", s->ref.host, s->ref.path);
}

START_TEST(parses_and_maps)
{
	ts_regconf c = TS_REGCONF_INIT;
	ts_error err = TS_ERROR_INIT;
	ts_sources s;
	ts_ref r = TS_REF_INIT;
	char *x;

	ck_assert_int_eq(ts_regconf_parse("r.conf", CONF, strlen(CONF), &c, &err), TS_OK);
	ck_assert_uint_eq(c.n, 3);
	ck_assert_uint_eq(c.v[0].nmirrors, 2);
	ck_assert(c.v[0].mirrors[0].insecure);
	ck_assert(!c.v[0].mirrors[1].tags);
	ck_assert_int_eq(ts_regconf_add_mirror(&c, "index.docker.io=127.0.0.1:5001", &err), TS_OK);

	ck_assert_int_eq(ts_ref_parse("nginx:1.25", &r, "ref", &err), TS_OK);
	ck_assert_int_eq(ts_regconf_sources(&c, &r, &s, &err), TS_OK);
	ck_assert_uint_eq(s.n, 3);
	x = src_str(&s.v[0]); ck_assert_str_eq(x, "m:127.0.0.1:5001/library/nginx"); free(x);
	x = src_str(&s.v[1]); ck_assert_str_eq(x, "m:mirror.example:5000/hub/library/nginx"); free(x);
	ck_assert(s.v[1].insecure);
	x = src_str(&s.v[2]); ck_assert_str_eq(x, "docker.io/library/nginx"); free(x);
	ts_sources_free(&s);
	ts_ref_free(&r);

	ck_assert_int_eq(ts_ref_parse("quay.io/org/app:v1", &r, "ref", &err), TS_OK);
	ck_assert_int_eq(ts_regconf_sources(&c, &r, &s, &err), TS_OK);
	ck_assert_uint_eq(s.n, 1);
	x = src_str(&s.v[0]); ck_assert_str_eq(x, "internal.example/quay-org/app"); free(x);
	ts_sources_free(&s);
	ts_ref_free(&r);

	ck_assert_int_eq(ts_ref_parse("quay.io/organic/app", &r, "ref", &err), TS_OK);
	ck_assert_int_eq(ts_regconf_sources(&c, &r, &s, &err), TS_OK);
	x = src_str(&s.v[0]); ck_assert_str_eq(x, "quay.io/organic/app"); free(x);
	ts_sources_free(&s);
	ts_ref_free(&r);

	ck_assert_int_eq(ts_ref_parse("evil.example/x/y", &r, "ref", &err), TS_OK);
	ck_assert_int_eq(ts_regconf_sources(&c, &r, &s, &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "r.conf:21"));
	ck_assert_ptr_nonnull(strstr(err.msg, "blocked"));
	ts_ref_free(&r);
	ts_regconf_free(&c);
}
END_TEST

START_TEST(strict_errors_name_the_line)
{
	static const char *const bad[][2] = {
		{ "[[registry]]\nprefix = \"a.io\"\nlocaton = \"b.io\"\n", "r.conf:3: unknown key 'locaton'" },
		{ "[[registry]]\nprefix = 5\n", "r.conf:2: unsupported value" },
		{ "[[registry]]\nprefix = \"a.io\n", "r.conf:2: unterminated string" },
		{ "[registries.search]\nregistries = []\n", "r.conf:1: [registries.search] is the version 1" },
		{ "[[registry.mirror]]\nlocation = \"m.io\"\n", "r.conf:1: [[registry.mirror]] before" },
		{ "[[registry]]\nprefix = \"a.io\" x\n", "r.conf:2: unexpected text" },
		{ "[[registry]]\ninsecure = \"yes\"\n", "r.conf:2: 'insecure' must be true or false" },
		{ "[[registry]]\nprefix = \"a.io\"\nprefix = \"b.io\"\n", "r.conf:3: 'prefix' is set twice" },
		{ "a = [\"x\"\n\n, 1]\n", "r.conf:3: an array here holds only strings" },
		{ "[[registry]]\ninsecure = true\n", "[[registry]] has neither prefix nor location" },
		{ "[[registry]]\nprefix = \"\\q\"\n", "r.conf:2: invalid escape" },
		{ "[[registry]\n", "r.conf:1: a table header must end with ']]'" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ts_regconf c = TS_REGCONF_INIT;
		ts_error err = TS_ERROR_INIT;
		ck_assert_int_eq(ts_regconf_parse("r.conf", bad[i][0], strlen(bad[i][0]), &c, &err),
				 TS_EUSAGE);
		ck_assert_msg(strstr(err.msg, bad[i][1]) != NULL, "case %zu: %s", i, err.msg);
		ck_assert_ptr_null(strchr(err.msg, '\n'));
		ts_regconf_free(&c);
	}
}
END_TEST

START_TEST(wildcards_and_digest_only)
{
	static const char *conf = "[[registry]]\nprefix = \"*.corp.example\"\n"
				  "[[registry.mirror]]\nlocation = \"cache.corp.example:5000\"\n"
				  "[[registry]]\nprefix = \"ghcr.io\"\nlocation = \"ghcr.io\"\n"
				  "mirror-by-digest-only = true\n"
				  "[[registry.mirror]]\nlocation = \"digests.example\"\n"
				  "pull-from-mirror = \"all\"\n";
	ts_regconf c = TS_REGCONF_INIT;
	ts_error err = TS_ERROR_INIT;
	ts_ref r = TS_REF_INIT;
	ts_sources s;
	char *x;

	ck_assert_int_eq(ts_regconf_parse("w.conf", conf, strlen(conf), &c, &err), TS_OK);
	ck_assert_int_eq(ts_ref_parse("reg.corp.example/team/app:1", &r, "ref", &err), TS_OK);
	ck_assert_int_eq(ts_regconf_sources(&c, &r, &s, &err), TS_OK);
	ck_assert_uint_eq(s.n, 2);
	x = src_str(&s.v[0]); ck_assert_str_eq(x, "m:cache.corp.example:5000/team/app"); free(x);
	x = src_str(&s.v[1]); ck_assert_str_eq(x, "reg.corp.example/team/app"); free(x);
	ts_sources_free(&s);
	ts_ref_free(&r);
	/* a digest-only mirror is never asked for a tag */
	ck_assert_int_eq(ts_ref_parse("ghcr.io/org/app:1", &r, "ref", &err), TS_OK);
	ck_assert_int_eq(ts_regconf_sources(&c, &r, &s, &err), TS_OK);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.v[0].ref.host, "ghcr.io");
	ts_sources_free(&s);
	ts_ref_free(&r);
	/* corp.example itself is not a subdomain of itself */
	ck_assert_int_eq(ts_ref_parse("corp.example/x/y", &r, "ref", &err), TS_OK);
	ck_assert_int_eq(ts_regconf_sources(&c, &r, &s, &err), TS_OK);
	ck_assert_uint_eq(s.n, 1);
	ts_sources_free(&s);
	ts_ref_free(&r);
	ts_regconf_free(&c);
}
END_TEST

START_TEST(mirror_flag)
{
	ts_regconf c = TS_REGCONF_INIT;
	ts_error err = TS_ERROR_INIT;
	ck_assert_int_eq(ts_regconf_add_mirror(&c, "docker.io", &err), TS_EUSAGE);
	ck_assert_int_eq(ts_regconf_add_mirror(&c, "docker.io=mirror", &err), TS_EUSAGE);
	ck_assert_int_eq(ts_regconf_add_mirror(&c, "docker.io=u:p@m.io", &err), TS_EUSAGE);
	ck_assert_ptr_null(strstr(err.msg, "u:p"));
	ck_assert_int_eq(ts_regconf_add_mirror(&c, "docker.io=localhost:5000", &err), TS_OK);
	ts_regconf_free(&c);
}
END_TEST

/* The default files, as containers read them: the user's file instead of
 * the system's, then drop-ins in name order; a later entry for the same
 * prefix replaces an earlier one. */
START_TEST(default_files_and_dropins)
{
	char dir[] = "/tmp/test_regconf.XXXXXX";
	char *p;
	FILE *f;
	ts_regconf c = TS_REGCONF_INIT;
	ts_error err = TS_ERROR_INIT;
	ts_ref r = TS_REF_INIT;
	ts_sources s;
	char *used = NULL;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	p = ts_asprintf("mkdir -p %s/.config/containers/registries.conf.d", dir);
	ck_assert_int_eq(system(p), 0);
	free(p);
	p = ts_asprintf("%s/.config/containers/registries.conf", dir);
	f = fopen(p, "w");
	fputs("[[registry]]\nprefix = \"quay.io\"\nlocation = \"first.example\"\n", f);
	fclose(f);
	free(p);
	p = ts_asprintf("%s/.config/containers/registries.conf.d/50-local.conf", dir);
	f = fopen(p, "w");
	fputs("[[registry]]\nprefix = \"quay.io\"\nlocation = \"second.example\"\n", f);
	fclose(f);
	free(p);
	setenv("HOME", dir, 1);
	ck_assert_int_eq(ts_regconf_load(NULL, &c, &used, &err), TS_OK);
	ck_assert_ptr_nonnull(used);
	ck_assert_ptr_nonnull(strstr(used, "/.config/containers/registries.conf, "));
	ck_assert_ptr_nonnull(strstr(used, "50-local.conf"));
	ck_assert_int_eq(ts_ref_parse("quay.io/org/app:1", &r, "ref", &err), TS_OK);
	ck_assert_int_eq(ts_regconf_sources(&c, &r, &s, &err), TS_OK);
	ck_assert_str_eq(s.v[0].ref.host, "second.example");
	ts_sources_free(&s);
	ts_ref_free(&r);
	ts_regconf_free(&c);
	free(used);
	p = ts_asprintf("rm -rf %s", dir);
	ck_assert_int_eq(system(p), 0);
	free(p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("regconf");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, parses_and_maps);
	tcase_add_test(tc, strict_errors_name_the_line);
	tcase_add_test(tc, mirror_flag);
	tcase_add_test(tc, wildcards_and_digest_only);
	tcase_add_test(tc, default_files_and_dropins);
	suite_add_tcase(s, tc);
	return ts_check_run(s);
}
