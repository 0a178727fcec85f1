/*
 * cmd_lint.c - 'tagseal lint PATH...': report image references that are not
 * pinned by digest or that use 'latest' (with --key PUB: or whose digest is
 * not signed by the key). The work is in lint.c.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "regopts.h"
#include "sigcli.h"
#include "tagseal/creds.h"
#include "tagseal/lint.h"

static int run(int argc, char **argv);

enum { OPT_ALLOW = 256, OPT_JSON, OPT_KEY, OPT_REQUIRE, OPT_CRED_HOST };


static const ts_optdef lint_defs[] = {
	{ "allow", OPT_ALLOW, 0, TS_OPT_LIST, "REGEX",
	  "exempt references matching this POSIX extended regular\n"
	  "expression (matched against the reference as written;\n"
	  "repeatable)",
	  0, 0 },
	{ "json", OPT_JSON, 0, TS_OPT_SWITCH, NULL, "print the report as one JSON object on stdout", 0, 0 },
	{ "key", OPT_KEY, 0, TS_OPT_VALUE, "PUB",
	  "the public key (PEM): every reference pinned by digest\n"
	  "must carry a valid signature by it in its registry\n"
	  "(each distinct REPO@DIGEST verified once)",
	  0, 0 },
	{ "require", OPT_REQUIRE, 0, TS_OPT_LIST, "WHAT",
	  "with --key: signature (the default), provenance, or a\n"
	  "predicate type URI; repeatable, all must be met",
	  0, 0 },
	{ "registry-for-credentials", OPT_CRED_HOST, 0, TS_OPT_VALUE, "HOST",
	  "with --key: the one registry (host[:port]) that\n"
	  "--username/--password-stdin and TAGSEAL_USERNAME/\n"
	  "TAGSEAL_PASSWORD are sent to; without it they are sent\n"
	  "nowhere (the manifests name the registries); others get\n"
	  "their own Docker config entry or CI default",
	  0, 0 },
	{ NULL, 0, 0, 0, NULL, NULL, 0, 0 }
};

static const ts_optgroup lint_groups[] = {
	{ "options", lint_defs },
	{ "registry access (with --key)", ts_regopts_defs },
	TS_COMMON_GROUP,
	{ NULL, NULL }
};

static const ts_cmdspec lint_spec = {
	"lint [OPTIONS] PATH...",
	"Finds image references the way 'tagseal pin' does (Kubernetes pod specs,\n"
	"kustomization images:, Helm values, Compose services, '# tagseal:' markers) in\n"
	"the YAML files and directories given, and reports each one that is not pinned\n"
	"by digest, or that uses the tag 'latest', as 'FILE:LINE: REFERENCE: REASON'.\n"
	"With --key PUB, also each reference pinned by digest whose digest carries no\n"
	"valid signature by the key in its registry (the admission check).\n",
	lint_groups, NULL,
	"0 no findings\n5 findings\n2 bad usage, a file that cannot be read or parsed, or\n"
	"  a key that cannot be used\n"
	"4 with --key: a signature could not be checked (registry, network, TLS or\n"
	"  auth failure) and nothing else was found\n",
};

const ts_command ts_cmd_lint = { "lint", run, "report image references that are not pinned by digest", &lint_spec };

typedef struct lint_args {
	const char **allow;
	size_t nallow;
	bool json;
	const char *key_path, *cred_host;
	ts_sigrequire require;
	ts_regopts ro;
} lint_args;


/* One option (ts_cli_parse). */
static int take_opt(void *ctx, int opt, const char *arg, const char *src)
{
	lint_args *a = ctx;
	int rc = -1;

	switch (opt) {
	case OPT_ALLOW:
		a->allow = ts_realloc(a->allow, (a->nallow + 1) * sizeof(*a->allow));
		a->allow[a->nallow++] = arg;
		break;
	case OPT_JSON: a->json = true; break;
	case OPT_KEY: a->key_path = arg; break;
	case OPT_REQUIRE: rc = ts_sigcli_require("lint", src, arg, &a->require); break;
	case OPT_CRED_HOST: a->cred_host = arg; break;
	default:
		rc = ts_regopts_opt(&a->ro, "lint", opt, arg, src);
		break;
	}
	return rc;
}

static int parse_args(int argc, char **argv, lint_args *a)
{
	int rc = ts_cli_parse(&ts_cmd_lint, &lint_spec, argc, argv, take_opt, a);

	if (rc >= 0)
		return rc;
	if (optind >= argc)
		return ts_msg_usage("lint", "no PATH given: name the manifests or directories to check");
	if ((a->require.n || a->cred_host) && !a->key_path)
		return ts_msg_usage("lint", "--require and --registry-for-credentials need --key PUB");
	if (a->cred_host && (strchr(a->cred_host, '/') || strchr(a->cred_host, '@') ||
			     !*a->cred_host))
		return ts_msg_usage("lint", "--registry-for-credentials: expected a registry host "
				    "(host[:port])");
	return ts_regopts_check(&a->ro, "lint");
}

static void print_report(const lint_args *a, const ts_lint_report *r)
{
	if (a->json) {
		json_t *j = ts_lint_report_json(r);
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(j);
		return;
	}
	for (size_t i = 0; i < r->nfindings; i++) {
		char reason[TS_ERROR_MSG_MAX * 2];
		ts_sanitize(reason, sizeof(reason), r->findings[i].reason); /* registry answers */
		printf("%s:%zu: %s: %s\n", r->findings[i].path, r->findings[i].line,
		       r->findings[i].reference, reason);
	}
	ts_msg_verbose("%zu reference%s in %zu YAML files; %zu finding%s, %zu allowed", r->nrefs,
		       r->nrefs == 1 ? "" : "s", r->nfiles, r->nfindings,
		       r->nfindings == 1 ? "" : "s", r->nallowed);
}

/* With --key: the key, and the registry access. Flag and environment
 * credentials go only to --registry-for-credentials: the manifests being
 * checked choose the registries, so they must not choose where the
 * credentials go. */
static ts_code prepare_key(lint_args *a, ts_key **key, ts_error *err)
{
	ts_code rc = ts_key_load_public(a->key_path, key, err);
	if (rc == TS_OK)
		rc = ts_regopts_finish(&a->ro, 2, err);
	if (rc != TS_OK)
		return rc;
	a->ro.reg.read_only = true;
	a->ro.reg.cred_host = a->cred_host ? a->cred_host : "";
	if (!a->cred_host && ts_creds_explicit(&a->ro.reg))
		ts_msg_warn("%s credentials are not used: name their registry with "
			    "--registry-for-credentials HOST",
			    a->ro.reg.username ? "--username/--password-stdin"
					       : "TAGSEAL_USERNAME/TAGSEAL_PASSWORD");
	return TS_OK;
}

static int run(int argc, char **argv)
{
	lint_args a;
	ts_lint_opts o;
	ts_lint_report report = TS_LINT_REPORT_INIT;
	ts_error err = TS_ERROR_INIT;
	ts_key *key = NULL;
	int rc;

	memset(&a, 0, sizeof(a));
	memset(&o, 0, sizeof(o));
	ts_regopts_init(&a.ro);
	rc = parse_args(argc, argv, &a);
	if (rc >= 0)
		goto out;
	o.allow = a.allow;
	o.nallow = a.nallow;
	if (a.key_path && prepare_key(&a, &key, &err) != TS_OK) {
		rc = ts_msg_fail(&err);
		goto out;
	}
	o.key = key;
	o.registry = &a.ro.reg;
	o.require = a.require.v;
	o.n_require = a.require.n;
	if (ts_lint_run(&o, (const char *const *)argv + optind, (size_t)(argc - optind), &report,
			&err) != TS_OK)
		rc = ts_msg_fail(&err);
	else {
		print_report(&a, &report);
		rc = (int)ts_lint_report_code(&report);
	}
out:
	ts_lint_report_free(&report);
	ts_key_free(key);
	ts_regopts_free(&a.ro);
	free(a.allow);
	return rc;
}
