/*
 * cmd_attest.c - 'tagseal attest IMAGE --key FILE': attest to an image's
 * digest with SLSA provenance v1 made from git and CI facts, or with any
 * predicate from a file (sign.c stores it; provenance.c builds SLSA).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sigcli.h"
#include "tagseal/provenance.h"
#include "tagseal/sigfmt.h"

static int run(int argc, char **argv);

const ts_command ts_cmd_attest = {
	"attest", run, "attest to an image's digest (SLSA provenance, SBOM, ...) with a key",
	"usage: tagseal attest IMAGE --key FILE [OPTIONS]\n"
	"\n"
	"Signs an in-toto statement about IMAGE's digest (REPO:TAG resolved now, or\n"
	"REPO@DIGEST) in a DSSE envelope and stores it next to the image. Without\n"
	"--predicate the predicate is SLSA provenance v1 built from the git\n"
	"repository (remote, commit, ref) and the CI run (system, run URL).\n"
	"The last line on stdout is REPO@sha256:<digest>.\n"
	"\n"
	"options:\n"
	"  --key FILE           private key (as for 'tagseal sign')\n"
	"  --predicate FILE     a JSON predicate (an SPDX or CycloneDX SBOM, ...)\n"
	"  --predicate-type URI its type (required with --predicate)\n"
	"  --git-dir DIR        the repository for provenance (default: discovered)\n"
	TS_SIGOPTS_FORMAT_USAGE TS_REGOPTS_USAGE TS_COMMON_USAGE,
};

typedef struct attest_args {
	const char *key, *predicate, *ptype, *git_dir, *image;
	ts_sigformat fmt;
	ts_regopts ro;
} attest_args;

static int parse(int argc, char **argv, attest_args *a)
{
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, TS_SO_KEY },
		{ "signature-format", required_argument, NULL, TS_SO_FORMAT },
		{ "predicate", required_argument, NULL, TS_SO_PREDICATE },
		{ "predicate-type", required_argument, NULL, TS_SO_PREDICATE_TYPE },
		{ "git-dir", required_argument, NULL, TS_SO_GIT_DIR },
		TS_REGOPTS_LONGOPTS, TS_COMMON_LONGOPTS, { NULL, 0, NULL, 0 },
	};
	int opt, rc = -1;

	while (rc < 0 && (opt = getopt_long(argc, argv, TS_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		switch (opt) {
		case TS_SO_KEY: a->key = optarg; break;
		case TS_SO_PREDICATE: a->predicate = optarg; break;
		case TS_SO_PREDICATE_TYPE: a->ptype = optarg; break;
		case TS_SO_GIT_DIR: a->git_dir = optarg; break;
		case TS_SO_FORMAT:
			if (!ts_sigformat_parse(optarg, &a->fmt))
				rc = ts_msg_usage("attest", "--signature-format '%s': expected bundle, "
					"classic or both", optarg);
			break;
		default:
			if ((rc = ts_regopts_opt(&a->ro, "attest", opt, optarg)) == -2)
				rc = ts_cli_common_opt(&ts_cmd_attest, opt);
		}
	}
	if (rc >= 0)
		return rc;
	if (optind >= argc)
		return ts_msg_usage("attest", "IMAGE is missing");
	if (optind + 1 < argc)
		return ts_msg_usage("attest", "unexpected argument '%s'", argv[optind + 1]);
	a->image = argv[optind];
	if (!a->key)
		return ts_msg_usage("attest", "--key FILE is required");
	if (!a->predicate != !a->ptype)
		return ts_msg_usage("attest", "--predicate and --predicate-type go together");
	if (a->ptype && !strchr(a->ptype, ':'))
		return ts_msg_usage("attest", "--predicate-type '%s' is not a URI", a->ptype);
	return ts_regopts_check(&a->ro, "attest");
}

static ts_code load_predicate(const char *path, json_t **out, ts_error *err)
{
	json_error_t je;
	*out = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!*out)
		return ts_error_setc(err, TS_C_INPUT, "--predicate '%s': %s (line %d)", path, je.text,
				     je.line);
	return TS_OK;
}

/* SLSA provenance v1 from the repository and the CI environment; a
 * directory that is not a repository gives provenance without it. */
static json_t *provenance(const attest_args *a, const ts_sigtarget *t, time_t started)
{
	ts_ciinfo ci = TS_CIINFO_INIT;
	ts_gitinfo gi;
	ts_gitinfo_opts go = { a->git_dir, NULL };
	ts_error e = TS_ERROR_INIT;
	bool have_git;
	ts_provenance_in in = { 0 };
	json_t *p;

	if (ts_ciinfo_from_env(&ci, &e) != TS_OK)
		ts_msg_warn("provenance without CI facts: %s", e.msg);
	go.ci = &ci;
	memset(&gi, 0, sizeof(gi));
	have_git = ts_gitinfo_load(&go, &gi, &e) == TS_OK;
	if (!have_git)
		ts_msg_warn("provenance without git facts: %s", e.msg);
	in.image = t->repo;
	in.digest = t->digest;
	in.git = have_git ? &gi : NULL;
	in.ci = &ci;
	in.started = started;
	in.finished = time(NULL);
	p = ts_provenance_slsa1(&in);
	if (have_git)
		ts_gitinfo_free(&gi);
	ts_ciinfo_free(&ci);
	return p;
}

static int run(int argc, char **argv)
{
	attest_args a = { .fmt = TS_SIGFMT_DEFAULT };
	ts_error err = TS_ERROR_INIT;
	ts_key *key = NULL;
	ts_sigtarget t = { 0 };
	ts_sign_result res;
	json_t *pred = NULL;
	time_t started = time(NULL);
	int rc;

	ts_regopts_init(&a.ro);
	rc = parse(argc, argv, &a);
	if (rc >= 0)
		goto out;
	if (ts_key_load_private(a.key, &key, &err) != TS_OK ||
	    (a.predicate && load_predicate(a.predicate, &pred, &err) != TS_OK) ||
	    ts_regopts_finish(&a.ro, 2, &err) != TS_OK ||
	    ts_sigtarget_open(a.image, &a.ro, &t, &err) != TS_OK) {
		rc = ts_msg_fail(&err);
		goto out;
	}
	if (!pred)
		pred = provenance(&a, &t, started);
	if (ts_attest_digest(t.reg, &t.ref, t.digest, key, a.ptype ? a.ptype : TS_PRED_SLSA1, pred,
			     a.fmt, &res, &err) != TS_OK) {
		rc = ts_msg_fail(&err);
		goto out;
	}
	if (res.bundle[0])
		ts_msg_info("attested %s@%s (%s): bundle %s", t.repo, t.digest,
			    a.ptype ? a.ptype : TS_PRED_SLSA1, res.bundle);
	if (res.classic[0])
		ts_msg_info("attested %s@%s: cosign tag sha256-%s.att, manifest %s", t.repo, t.digest,
			    t.digest + 7, res.classic);
	printf("%s@%s\n", t.repo, t.digest);
	rc = 0;
out:
	json_decref(pred);
	ts_sigtarget_close(&t);
	ts_key_free(key);
	ts_regopts_free(&a.ro);
	return rc;
}
