/*
 * cmd_sign.c - 'tagseal sign IMAGE --key FILE': sign an image's digest as a
 * Sigstore bundle referrer and/or a cosign .sig layer (sign.c does it).
 */
#include <stdio.h>
#include <stdlib.h>

#include "sigcli.h"

static int run(int argc, char **argv);

static const ts_optdef sign_defs[] = {
	TS_SO_KEY_PRIVATE_DEF,
	TS_SO_FORMAT_DEF,
	{ "recursive", TS_SO_RECURSIVE, 0, TS_OPT_SWITCH, NULL,
	  "for an image index, also sign each manifest it lists", 0, 0 },
	{ NULL, 0, 0, 0, NULL, NULL, 0, 0 }
};

static const ts_optgroup sign_groups[] = {
	{ "options", sign_defs },
	{ "registry access", ts_regopts_defs },
	TS_COMMON_GROUP,
	{ NULL, NULL }
};

static const ts_cmdspec sign_spec = {
	"sign IMAGE --key FILE [--signature-format bundle|classic|both] [--recursive] [OPTIONS]",
	"IMAGE is REPO:TAG (resolved to its digest now) or REPO@DIGEST. Signs the\n"
	"digest and stores the signature next to the image, keeping every signature\n"
	"already there (docs/signing.md). The last line on stdout is\n"
	"REPO@sha256:<digest>.\n",
	sign_groups, NULL,
	"0 signed\n"
	"2 bad usage, or a key that cannot be used (nothing is pushed)\n"
	"4 registry, network, TLS or auth failure\n"
	"5 the signature was lost to concurrent writers\n",
};

const ts_command ts_cmd_sign = { "sign", run, "sign an image's digest with a key (cosign-compatible)",
				 &sign_spec };

/* --recursive: each manifest an index lists, signed the same way. */
static ts_code sign_children(ts_sigtarget *t, const ts_key *key, ts_sigformat fmt, ts_error *err)
{
	char **kids = NULL;
	size_t n = 0;
	ts_sign_result res;
	ts_code rc = ts_index_children(t->reg, t->digest, &kids, &n, err);

	for (size_t i = 0; rc == TS_OK && i < n; i++) {
		rc = ts_sign_digest(t->reg, &t->ref, kids[i], key, fmt, &res, err);
		if (rc == TS_OK)
			ts_msg_info("signed %s@%s (listed by the index)", t->repo, kids[i]);
	}
	ts_registry_tags_free(kids);
	return rc;
}

/* What sign's options fill (ts_cli_parse's context). */
typedef struct sign_args {
	const char *key_path;
	ts_sigformat fmt;
	bool recursive;
	ts_regopts ro;
} sign_args;

/* One option (ts_cli_parse). */
static int take_opt(void *ctx, int opt, const char *arg, const char *src)
{
	sign_args *a = ctx;
	switch (opt) {
	case TS_SO_KEY: a->key_path = arg; return -1;
	case TS_SO_RECURSIVE: a->recursive = true; return -1;
	case TS_SO_FORMAT: return ts_sigcli_format("sign", src, arg, &a->fmt);
	default: return ts_regopts_opt(&a->ro, "sign", opt, arg, src);
	}
}

static int run(int argc, char **argv)
{
	sign_args sa = { .fmt = TS_SIGFMT_DEFAULT };
	ts_error err = TS_ERROR_INIT;
	ts_key *key = NULL;
	ts_sigtarget t = { 0 };
	ts_sign_result res;
	int rc;

	ts_regopts_init(&sa.ro);
	rc = ts_cli_parse(&ts_cmd_sign, &sign_spec, argc, argv, take_opt, &sa);
	if (rc < 0 && optind >= argc)
		rc = ts_msg_usage("sign", "IMAGE is missing");
	if (rc < 0 && optind + 1 < argc)
		rc = ts_msg_usage("sign", "unexpected argument '%s'", argv[optind + 1]);
	if (rc < 0 && !sa.key_path)
		rc = ts_msg_usage("sign", "--key FILE is required");
	if (rc < 0)
		rc = ts_regopts_check(&sa.ro, "sign");
	if (rc >= 0)
		goto out;
	if (ts_key_load_private(sa.key_path, &key, &err) != TS_OK ||
	    ts_regopts_finish(&sa.ro, 2, &err) != TS_OK ||
	    ts_sigtarget_open(argv[optind], &sa.ro, &t, &err) != TS_OK ||
	    ts_sign_digest(t.reg, &t.ref, t.digest, key, sa.fmt, &res, &err) != TS_OK) {
		rc = ts_msg_fail(&err);
		goto out;
	}
	if (res.bundle[0])
		ts_msg_info("signed %s@%s: bundle %s (%s)", t.repo, t.digest, res.bundle,
			    res.referrers_api ? "referrers API" : "fallback tag sha256-<hex>");
	if (res.classic[0])
		ts_msg_info("signed %s@%s: cosign tag sha256-%s.sig, manifest %s", t.repo, t.digest,
			    t.digest + 7, res.classic);
	if (sa.recursive && sign_children(&t, key, sa.fmt, &err) != TS_OK) {
		rc = ts_msg_fail(&err);
		goto out;
	}
	printf("%s@%s\n", t.repo, t.digest);
	rc = 0;
out:
	ts_sigtarget_close(&t);
	ts_key_free(key);
	ts_regopts_free(&sa.ro);
	return rc;
}
