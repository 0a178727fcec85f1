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


static const ts_optdef verify_image_defs[] = {
	{ "key", TS_SO_KEY, 0, TS_OPT_VALUE, "PUB", "the public key (PEM), e.g. cosign.pub", 0, 0 },
	{ "require", TS_SO_REQUIRE, 0, TS_OPT_LIST, "WHAT",
	  "signature (the default), provenance (a SLSA provenance\n"
	  "attestation), or a predicate type URI; repeatable, all\n"
	  "must be met", 0, 0 },
	{ NULL, 0, 0, 0, NULL, NULL, 0, 0 }
};

static const ts_optgroup verify_image_groups[] = {
	{ "options", verify_image_defs },
	{ "registry access", ts_regopts_defs },
	TS_COMMON_GROUP,
	{ NULL, NULL }
};

const ts_cmdspec ts_verify_image_spec = {
	"verify IMAGE --key PUB [--require signature|provenance|URI]... [OPTIONS]",
	"IMAGE is REPO:TAG (resolved to its digest now) or REPO@DIGEST. Finds the\n"
	"signatures and attestations attached to that digest (Sigstore bundles as\n"
	"OCI referrers, through the referrers API or the sha256-<hex> fallback tag,\n"
	"and cosign's sha256-<hex>.sig/.att tags), checks each with the key, and\n"
	"that what was signed names this very digest (docs/signing.md).\n",
	verify_image_groups,
	"Every attachment found is reported on stderr with why it failed.\n",
	"0 every requirement met; the last stdout line is REPO@sha256:<digest>\n"
	"2 bad usage, or a key that cannot be used\n"
	"4 registry, network, TLS or auth failure\n"
	"5 nothing valid meets a requirement\n",
};

static int run_image(int argc, char **argv)
{
	return ts_verify_image_run(argc, argv);
}

static const ts_command verify_image_cmd = {
	"verify", run_image, "verify an image's signatures and attestations", &ts_verify_image_spec,
};

/* Whether `a` (an argument starting with '-') is an option of either form
 * of verify that takes its value from the next argument: read from the two
 * option tables, so the dispatch follows them. */
static bool spec_takes_value(const ts_cmdspec *spec, const char *a)
{
	for (const ts_optgroup *g = spec->groups; g->title; g++)
		for (const ts_optdef *d = g->defs; d->name; d++) {
			bool hit = a[1] == '-' ? strcmp(a + 2, d->name) == 0
					       : d->shortname && a[1] == d->shortname && !a[2];
			if (hit)
				return d->kind != TS_OPT_SWITCH;
		}
	return false;
}

static bool takes_value(const char *a)
{
	return spec_takes_value(ts_cmd_verify.spec, a) || spec_takes_value(&ts_verify_image_spec, a);
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

/* What the image form's options fill (ts_cli_parse's context). */
typedef struct vimg_args {
	const char *key_path;
	ts_sigrequire require;
	ts_regopts ro;
} vimg_args;

/* One option (ts_cli_parse). */
static int take_opt(void *ctx, int opt, const char *arg, const char *src)
{
	vimg_args *a = ctx;
	switch (opt) {
	case TS_SO_KEY: a->key_path = arg; return -1;
	case TS_SO_REQUIRE: return ts_sigcli_require("verify", src, arg, &a->require);
	default: return ts_regopts_opt(&a->ro, "verify", opt, arg, src);
	}
}

int ts_verify_image_run(int argc, char **argv)
{
	vimg_args va = { 0 };
	ts_error err = TS_ERROR_INIT;
	ts_key *key = NULL;
	ts_sigtarget t = { 0 };
	ts_sig_report rep = { 0 };
	bool ok = true;
	int rc;

	ts_regopts_init(&va.ro);
	rc = ts_cli_parse(&verify_image_cmd, &ts_verify_image_spec, argc, argv, take_opt, &va);
	if (rc < 0 && optind >= argc)
		rc = ts_msg_usage("verify", "IMAGE is missing");
	if (rc < 0 && optind + 1 < argc)
		rc = ts_msg_usage("verify", "unexpected argument '%s'", argv[optind + 1]);
	if (rc < 0 && !va.key_path)
		rc = ts_msg_usage("verify", "--key PUB is required to verify an image");
	if (rc < 0)
		rc = ts_regopts_check(&va.ro, "verify");
	if (rc >= 0)
		goto out;
	if (!va.require.n)
		va.require.v[va.require.n++] = "signature";
	va.ro.reg.read_only = true;
	if (ts_key_load_public(va.key_path, &key, &err) != TS_OK ||
	    ts_regopts_finish(&va.ro, 2, &err) != TS_OK ||
	    ts_sigtarget_open(argv[optind], &va.ro, &t, &err) != TS_OK ||
	    ts_verify_digest(t.reg, t.digest, key, &rep, &err) != TS_OK) {
		rc = ts_msg_fail(&err);
		goto out;
	}
	report(&rep);
	for (size_t i = 0; i < va.require.n; i++)
		ok = ok && ts_sig_report_meets(&rep, va.require.v[i]);
	if (!ok) {
		char *img = ts_asprintf("%s@%s", t.repo, t.digest);
		char *why = ts_sig_report_summary(&rep, img, va.key_path, va.require.v, va.require.n);
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
	ts_regopts_free(&va.ro);
	return rc;
}
