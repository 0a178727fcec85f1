/*
 * cmd_lint.c - 'tagseal lint PATH...': report image references that are not
 * pinned by digest or that use 'latest'. The work is in lint.c.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "tagseal/lint.h"

static int run(int argc, char **argv);

enum { OPT_ALLOW = 256, OPT_JSON };

static const ts_optdef lint_defs[] = {
	{ "allow", OPT_ALLOW, 0, TS_OPT_LIST, "REGEX",
	  "exempt references matching this POSIX extended regular\n"
	  "expression (matched against the reference as written;\n"
	  "repeatable)",
	  0, 0 },
	{ "json", OPT_JSON, 0, TS_OPT_SWITCH, NULL, "print the report as one JSON object on stdout", 0, 0 },
	{ NULL, 0, 0, 0, NULL, NULL, 0, 0 }
};

static const ts_optgroup lint_groups[] = { { "options", lint_defs }, TS_COMMON_GROUP, { NULL, NULL } };

static const ts_cmdspec lint_spec = {
	"lint [OPTIONS] PATH...",
	"Finds image references the way 'tagseal pin' does (Kubernetes pod specs,\n"
	"kustomization images:, Helm values, Compose services, '# tagseal:' markers) in\n"
	"the YAML files and directories given, and reports each one that is not pinned\n"
	"by digest, or that uses the tag 'latest', as 'FILE:LINE: REFERENCE: REASON'.\n",
	lint_groups, NULL,
	"0 no findings\n5 findings\n2 bad usage, or a file that cannot be read or parsed\n",
};

const ts_command ts_cmd_lint = { "lint", run, "report image references that are not pinned by digest", &lint_spec };

typedef struct lint_args {
	const char **allow;
	size_t nallow;
	bool json;
} lint_args;

static int parse_args(int argc, char **argv, lint_args *a)
{
	ts_optiter *it = ts_opt_begin("lint", &lint_spec, argc, argv);
	const char *arg;
	int opt, rc = -1;

	while (rc < 0 && (opt = ts_opt_next(it, &arg)) != 0) {
		if (opt < 0) {
			rc = 2;
			break;
		}
		switch (opt) {
		case OPT_ALLOW:
			a->allow = ts_realloc(a->allow, (a->nallow + 1) * sizeof(*a->allow));
			a->allow[a->nallow++] = arg;
			break;
		case OPT_JSON: a->json = true; break;
		default: rc = ts_cli_common_opt(&ts_cmd_lint, opt); break;
		}
	}
	optind = ts_opt_operands(it);
	ts_opt_free(it);
	if (rc >= 0)
		return rc;
	if (optind >= argc)
		return ts_msg_usage("lint", "no PATH given: name the manifests or directories to check");
	return -1;
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
	for (size_t i = 0; i < r->nfindings; i++)
		printf("%s:%zu: %s: %s\n", r->findings[i].path, r->findings[i].line,
		       r->findings[i].reference, r->findings[i].reason);
	ts_msg_verbose("%zu reference%s in %zu YAML files; %zu finding%s, %zu allowed", r->nrefs,
		       r->nrefs == 1 ? "" : "s", r->nfiles, r->nfindings,
		       r->nfindings == 1 ? "" : "s", r->nallowed);
}

static int run(int argc, char **argv)
{
	lint_args a = { NULL, 0, false };
	ts_lint_opts o;
	ts_lint_report report = TS_LINT_REPORT_INIT;
	ts_error err = TS_ERROR_INIT;
	int rc = parse_args(argc, argv, &a);

	if (rc >= 0) {
		free(a.allow);
		return rc;
	}
	o.allow = a.allow;
	o.nallow = a.nallow;
	if (ts_lint_run(&o, (const char *const *)argv + optind, (size_t)(argc - optind), &report,
			&err) != TS_OK)
		rc = ts_msg_fail(&err);
	else {
		print_report(&a, &report);
		rc = report.nfindings ? TS_EVERIFY : 0;
	}
	ts_lint_report_free(&report);
	free(a.allow);
	return rc;
}
