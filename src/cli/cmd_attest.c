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

static const ts_optdef attest_defs[] = {
	TS_SO_KEY_PRIVATE_DEF,
	{ "predicate", TS_SO_PREDICATE, 0, TS_OPT_VALUE, "FILE",
	  "a JSON predicate (an SPDX or CycloneDX SBOM, ...)", 0, 0 },
	{ "predicate-type", TS_SO_PREDICATE_TYPE, 0, TS_OPT_VALUE, "URI",
	  "its type (required with --predicate)", 0, 0 },
	{ "git-dir", TS_SO_GIT_DIR, 0, TS_OPT_VALUE, "DIR",
	  "the repository for provenance (default: discovered)", 0, 0 },
	TS_SO_FORMAT_DEF,
	{ NULL, 0, 0, 0, NULL, NULL, 0, 0 }
};

static const ts_optgroup attest_groups[] = {
	{ "options", attest_defs },
	{ "registry access", ts_regopts_defs },
	TS_COMMON_GROUP,
	{ NULL, NULL }
};

static const ts_cmdspec attest_spec = {
	"attest IMAGE --key FILE [--predicate FILE --predicate-type URI] [OPTIONS]",
	"Signs an in-toto statement about IMAGE's digest (REPO:TAG resolved now, or\n"
	"REPO@DIGEST) in a DSSE envelope and stores it next to the image. Without\n"
	"--predicate the predicate is SLSA provenance v1 built from the git\n"
	"repository (remote, commit, ref) and the CI run (system, run URL). The last\n"
	"line on stdout is REPO@sha256:<digest>.\n",
	attest_groups, NULL,
	"0 attested\n"
	"2 bad usage, an unreadable predicate, or a key that cannot be used (nothing is\n"
	"  pushed)\n"
	"4 registry, network, TLS or auth failure\n"
	"5 the attestation was lost to concurrent writers\n",
};

const ts_command ts_cmd_attest = { "attest", run,
				   "attest to an image's digest (SLSA provenance, SBOM, ...) with a key",
				   &attest_spec };

typedef struct attest_args {
	const char *key, *predicate, *ptype, *git_dir, *image;
	ts_sigformat fmt;
	ts_regopts ro;
} attest_args;

/* One option (ts_cli_parse). */
static int take_opt(void *ctx, int opt, const char *arg, const char *src)
{
	attest_args *a = ctx;
	int rc = -1;

	switch (opt) {
	case TS_SO_KEY: a->key = arg; break;
	case TS_SO_PREDICATE: a->predicate = arg; break;
	case TS_SO_PREDICATE_TYPE: a->ptype = arg; break;
	case TS_SO_GIT_DIR: a->git_dir = arg; break;
	case TS_SO_FORMAT: rc = ts_sigcli_format("attest", src, arg, &a->fmt); break;
	default:
		rc = ts_regopts_opt(&a->ro, "attest", opt, arg, src);
	}
	return rc;
}

static int parse(int argc, char **argv, attest_args *a)
{
	int rc = ts_cli_parse(&ts_cmd_attest, &attest_spec, argc, argv, take_opt, a);

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
	if (a->ptype && !ts_predicate_type_valid(a->ptype))
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
