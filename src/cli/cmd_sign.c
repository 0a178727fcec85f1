/*
 * cmd_sign.c - 'tagseal sign IMAGE --key FILE': sign an image's digest as a
 * Sigstore bundle referrer and/or a cosign .sig layer (sign.c does it).
 */
#include <stdio.h>
#include <stdlib.h>

#include "sigcli.h"

static int run(int argc, char **argv);

const ts_command ts_cmd_sign = {
	"sign", run, "sign an image's digest with a key (cosign-compatible)",
	"usage: tagseal sign IMAGE --key FILE [OPTIONS]\n"
	"\n"
	"IMAGE is REPO:TAG (resolved to its digest now) or REPO@DIGEST. Signs the\n"
	"digest and stores the signature next to the image, keeping every signature\n"
	"already there. The last line on stdout is REPO@sha256:<digest>.\n"
	"\n"
	"options:\n"
	"  --key FILE           private key: PEM (ECDSA P-256, RSA 2048+, Ed25519;\n"
	"                       encrypted PKCS#8 with TAGSEAL_KEY_PASSWORD) or cosign's\n"
	"                       cosign.key (COSIGN_PASSWORD or TAGSEAL_KEY_PASSWORD)\n"
	"  --recursive          for an image index, also sign each manifest it lists\n"
	TS_SIGOPTS_FORMAT_USAGE TS_REGOPTS_USAGE TS_COMMON_USAGE
	"\n"
	"Exit: 0 signed; 2 bad usage or a key that cannot be used (nothing is pushed);\n"
	"4 registry failure; 5 the signature was lost to concurrent writers.\n",
};

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

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, TS_SO_KEY },
		{ "signature-format", required_argument, NULL, TS_SO_FORMAT },
		{ "recursive", no_argument, NULL, TS_SO_RECURSIVE },
		TS_REGOPTS_LONGOPTS, TS_COMMON_LONGOPTS, { NULL, 0, NULL, 0 },
	};
	const char *key_path = NULL, *image;
	ts_sigformat fmt = TS_SIGFMT_DEFAULT;
	ts_regopts ro;
	ts_error err = TS_ERROR_INIT;
	ts_key *key = NULL;
	ts_sigtarget t = { 0 };
	ts_sign_result res;
	bool recursive = false;
	int opt, rc = -1;

	ts_regopts_init(&ro);
	while (rc < 0 && (opt = getopt_long(argc, argv, TS_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (opt == TS_SO_KEY)
			key_path = optarg;
		else if (opt == TS_SO_RECURSIVE)
			recursive = true;
		else if (opt == TS_SO_FORMAT && !ts_sigformat_parse(optarg, &fmt))
			rc = ts_msg_usage("sign", "--signature-format '%s': expected bundle, classic or both",
					  optarg);
		else if (opt != TS_SO_FORMAT && opt != TS_SO_RECURSIVE && (rc = ts_regopts_opt(&ro, "sign", opt, optarg)) == -2)
			rc = ts_cli_common_opt(&ts_cmd_sign, opt);
	}
	if (rc < 0 && optind >= argc)
		rc = ts_msg_usage("sign", "IMAGE is missing");
	if (rc < 0 && optind + 1 < argc)
		rc = ts_msg_usage("sign", "unexpected argument '%s'", argv[optind + 1]);
	if (rc < 0 && !key_path)
		rc = ts_msg_usage("sign", "--key FILE is required");
	if (rc < 0)
		rc = ts_regopts_check(&ro, "sign");
	if (rc >= 0)
		goto out;
	image = argv[optind];
	if (ts_key_load_private(key_path, &key, &err) != TS_OK ||
	    ts_regopts_finish(&ro, 2, &err) != TS_OK || ts_sigtarget_open(image, &ro, &t, &err) != TS_OK ||
	    ts_sign_digest(t.reg, &t.ref, t.digest, key, fmt, &res, &err) != TS_OK) {
		rc = ts_msg_fail(&err);
		goto out;
	}
	if (res.bundle[0])
		ts_msg_info("signed %s@%s: bundle %s (%s)", t.repo, t.digest, res.bundle,
			    res.referrers_api ? "referrers API" : "fallback tag sha256-<hex>");
	if (res.classic[0])
		ts_msg_info("signed %s@%s: cosign tag sha256-%s.sig, manifest %s", t.repo, t.digest,
			    t.digest + 7, res.classic);
	if (recursive && sign_children(&t, key, fmt, &err) != TS_OK) {
		rc = ts_msg_fail(&err);
		goto out;
	}
	printf("%s@%s\n", t.repo, t.digest);
	rc = 0;
out:
	ts_sigtarget_close(&t);
	ts_key_free(key);
	ts_regopts_free(&ro);
	return rc;
}
