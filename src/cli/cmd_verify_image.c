/*
 * cmd_verify_image.c - 'tagseal verify IMAGE --key PUB [--require R]...':
 * verify the signatures and attestations attached to an image's digest
 * before deploying it (sign.c does the work). Reached from 'verify' when
 * its arguments are the image form (ts_verify_is_image_form).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sigcli.h"
#include "verify_image.h"

#define MAX_REQUIRE 16

const char ts_verify_image_usage[] =
	"usage: tagseal verify IMAGE --key PUB [--require WHAT]... [OPTIONS]\n"
	"\n"
	"IMAGE is REPO:TAG (resolved to its digest now) or REPO@DIGEST. Finds the\n"
	"signatures and attestations attached to that digest (Sigstore bundles as\n"
	"OCI referrers, through the referrers API or the sha256-<hex> fallback tag,\n"
	"and cosign's sha256-<hex>.sig/.att tags), checks each with the key, and\n"
	"that what was signed names this very digest.\n"
	"\n"
	"options:\n"
	"  --key PUB            the public key (PEM), e.g. cosign.pub\n"
	"  --require WHAT       signature (the default), provenance (a SLSA provenance\n"
	"                       attestation), or a predicate type URI; repeatable, all\n"
	"                       must be met\n"
	TS_REGOPTS_USAGE TS_COMMON_USAGE
	"\n"
	"Every attachment found is reported on stderr with why it failed.\n"
	"Exit: 0 all requirements met (last stdout line REPO@sha256:<digest>); 2 bad\n"
	"usage or unusable key; 4 registry failure; 5 nothing valid meets a requirement.\n";

static const ts_command verify_image_cmd = {
	"verify", NULL, "verify an image's signatures", ts_verify_image_usage,
};

/* Options of verify (both forms) that take a value. */
static bool takes_value(const char *a)
{
	static const char *const with_value[] = {
		"--record", "--jobs", "--anchor", "--username", "--ca-file", "--retries",
		"--timeout", "--key", "--require", "-j",
	};
	for (size_t i = 0; i < sizeof(with_value) / sizeof(with_value[0]); i++)
		if (strcmp(a, with_value[i]) == 0)
			return true;
	return false;
}

bool ts_verify_is_image_form(int argc, char **argv)
{
	struct stat st;
	bool key = false, positional = false, image = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--record") == 0 || strncmp(a, "--record=", 9) == 0)
			return false;
		if (strcmp(a, "--") == 0) {
			if (i + 1 < argc && !positional)
				image = stat(argv[i + 1], &st) != 0;
			positional = positional || i + 1 < argc;
			break;
		}
		if (a[0] == '-' && a[1]) {
			key = key || strcmp(a, "--key") == 0 || strncmp(a, "--key=", 6) == 0;
			if (takes_value(a))
				i++;
			continue;
		}
		/* the first positional argument: a record file, or an image */
		if (!positional)
			image = stat(a, &st) != 0;
		positional = true;
	}
	/* no positional argument: --key says the image form (which then asks
	 * for the IMAGE), anything else is the record form */
	return positional ? image : key;
}

static void report(const ts_sig_report *rep)
{
	for (size_t i = 0; i < rep->n; i++) {
		if (rep->v[i].ok)
			ts_msg_info("%s (%s): valid", rep->v[i].where, rep->v[i].kind);
		else
			ts_msg_info("%s (%s): INVALID: %s", rep->v[i].where, rep->v[i].kind,
				    rep->v[i].reason);
	}
}

int ts_verify_image_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, TS_SO_KEY },
		{ "require", required_argument, NULL, TS_SO_REQUIRE },
		TS_REGOPTS_LONGOPTS, TS_COMMON_LONGOPTS, { NULL, 0, NULL, 0 },
	};
	const char *key_path = NULL, *require[MAX_REQUIRE];
	size_t n_require = 0;
	ts_regopts ro;
	ts_error err = TS_ERROR_INIT;
	ts_key *key = NULL;
	ts_sigtarget t = { 0 };
	ts_sig_report rep = { 0 };
	bool ok = true;
	int opt, rc = -1;

	ts_regopts_init(&ro);
	optind = 1;
	while (rc < 0 && (opt = getopt_long(argc, argv, TS_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (opt == TS_SO_KEY) {
			key_path = optarg;
		} else if (opt == TS_SO_REQUIRE) {
			if (n_require == MAX_REQUIRE)
				rc = ts_msg_usage("verify", "at most %d --require", MAX_REQUIRE);
			else if (strcmp(optarg, "signature") && strcmp(optarg, "provenance") &&
				 !strchr(optarg, ':'))
				rc = ts_msg_usage("verify", "--require '%s': expected signature, "
						  "provenance or a predicate type URI", optarg);
			else
				require[n_require++] = optarg;
		} else if ((rc = ts_regopts_opt(&ro, "verify", opt, optarg)) == -2) {
			rc = ts_cli_common_opt(&verify_image_cmd, opt);
		}
	}
	if (rc < 0 && optind >= argc)
		rc = ts_msg_usage("verify", "IMAGE is missing");
	if (rc < 0 && optind + 1 < argc)
		rc = ts_msg_usage("verify", "unexpected argument '%s'", argv[optind + 1]);
	if (rc < 0 && !key_path)
		rc = ts_msg_usage("verify", "--key PUB is required to verify an image");
	if (rc < 0)
		rc = ts_regopts_check(&ro, "verify");
	if (rc >= 0)
		goto out;
	if (!n_require)
		require[n_require++] = "signature";
	ro.reg.read_only = true;
	if (ts_key_load_public(key_path, &key, &err) != TS_OK ||
	    ts_regopts_finish(&ro, 2, &err) != TS_OK ||
	    ts_sigtarget_open(argv[optind], &ro, &t, &err) != TS_OK ||
	    ts_verify_digest(t.reg, t.digest, key, &rep, &err) != TS_OK) {
		rc = ts_msg_fail(&err);
		goto out;
	}
	report(&rep);
	for (size_t i = 0; i < n_require; i++)
		ok = ok && ts_sig_report_meets(&rep, require[i]);
	if (!ok) {
		char *img = ts_asprintf("%s@%s", t.repo, t.digest);
		char *why = ts_sig_report_summary(&rep, img, key_path, require, n_require);
		ts_error_setc(&err, TS_C_SIGNATURE, "verification failed: %s", why);
		free(why);
		free(img);
		rc = ts_msg_fail(&err);
		goto out;
	}
	printf("%s@%s\n", t.repo, t.digest);
	rc = 0;
out:
	ts_sig_report_free(&rep);
	ts_sigtarget_close(&t);
	ts_key_free(key);
	ts_regopts_free(&ro);
	return rc;
}
