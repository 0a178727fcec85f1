/*
 * cmd_pin.c - 'tagseal pin --image REPO:TAG@DIGEST PATH...': write a pinned
 * reference into manifests. The work is in pin.c; this file owns pin's one
 * option table, parses it and prints the report. With --resolve or
 * --update the run is cmd_pin_resolve.c's.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "pinresolve_cli.h"
#include "tagseal/pin.h"

static int run(int argc, char **argv);

enum { OPT_IMAGE = 256, OPT_FORM, OPT_DRY = 'n' };

static const ts_optdef pin_defs[] = {
	{ "image", OPT_IMAGE, 0, TS_OPT_VALUE, "REF",
	  "REPO:TAG@DIGEST to pin (REPO@DIGEST implies --pin-form digest)", 0, 0 },
	{ "pin-form", OPT_FORM, 0, TS_OPT_VALUE, "FORM",
	  "tag-digest (default: REPO:TAG@DIGEST) or digest (REPO@DIGEST)", 0, 0 },
	{ "dry-run", OPT_DRY, 'n', TS_OPT_SWITCH, NULL, "print a unified diff on stdout; change nothing",
	  0, 0 },
	{ NULL, 0, 0, 0, NULL, NULL, 0, 0 }
};

static const ts_optgroup pin_groups[] = {
	{ "options", pin_defs },
	{ "third-party references (--resolve, --update)", ts_pinres_defs },
	{ "git (with --resolve or --update)", ts_pinres_git_defs },
	{ "registry access (with --resolve or --update)", ts_regopts_defs },
	TS_COMMON_GROUP,
	{ NULL, NULL }
};

static const ts_cmdspec pin_spec = {
	"pin (--image REPO:TAG@DIGEST | --resolve | --update) [OPTIONS] PATH...",
	"Rewrites every reference to REPO in the YAML files and directories given\n"
	"to REPO:TAG@DIGEST. Directories are walked for *.yaml and *.yml, skipping\n"
	"hidden entries, symbolic links and a Helm chart's templates/. Found:\n"
	"  - Kubernetes pod specs at any depth: containers, initContainers,\n"
	"    ephemeralContainers (any kind, multi-document files);\n"
	"  - kustomization images: entries (newTag and digest set, added if missing);\n"
	"  - Helm values: a mapping with repository (and registry) and tag: tag set,\n"
	"    digest set when the key exists, else the tag becomes TAG@DIGEST;\n"
	"  - Compose: services.*.image;\n"
	"  - any scalar followed by a marker comment: '# tagseal: REPO' (a full\n"
	"    reference), '# tagseal: REPO:tag' (just the tag), '# tagseal: REPO:digest'.\n"
	"References match after normalising (docker.io/library/, tag, digest); other\n"
	"repositories are never touched. Only the bytes of the changed values change.\n"
	"All or nothing: a file that cannot be read or parsed, or a reference in a block\n"
	"scalar or behind an alias, changes no file (exit 2).\n"
	"\n"
	"--resolve and --update pin third-party images instead: every reference found\n"
	"is resolved at its registry (or its mirrors: --mirror, registries.conf), each\n"
	"distinct one once, several at a time, by HEAD; a multi-platform tag pins its\n"
	"index digest. The name stays as written; only the tag (when absent) and\n"
	"@sha256:... are added. --update follows pinned NAME:TAG@DIGEST references to\n"
	"where their tags point now. Nothing is written when any reference fails.\n"
	"See docs/pin.md for the CI job that keeps a deployment repository current.\n",
	pin_groups,
	"Each change is reported on stderr as 'FILE:LINE: OLD -> NEW'.\n",
	"0 done (also when nothing needed a change)\n"
	"2 bad usage or bad input (a malformed reference: FILE:LINE)\n"
	"4 a reference could not be resolved (FILE:LINE: REFERENCE: why; nothing\n"
	"  written)\n"
	"5 --check found a reference that would change or is unpinned; or\n"
	"  --strict-mirrors found mirrors that disagree (nothing written)\n"
	"1 a rewrite that would not read back as intended (a bug; nothing written)\n",
};

const ts_command ts_cmd_pin = { "pin", run, "write a pinned image reference into manifests", &pin_spec };

static int parse_form(const char *s, ts_pin_form *form)
{
	if (strcmp(s, "tag-digest") == 0 || strcmp(s, "tag+digest") == 0)
		*form = TS_PIN_FORM_TAG_DIGEST;
	else if (strcmp(s, "digest") == 0)
		*form = TS_PIN_FORM_DIGEST;
	else
		return ts_msg_usage("pin", "--pin-form '%s': expected tag-digest or digest", s);
	return -1;
}

/* What the options fill (ts_cli_parse's context). */
typedef struct pin_args {
	ts_pin_opts *o;
	ts_pinres_cli *pr;
} pin_args;

/* One option (ts_cli_parse). */
static int take_opt(void *ctx, int opt, const char *arg, const char *src)
{
	pin_args *a = ctx;
	switch (opt) {
	case OPT_IMAGE: a->o->image = arg; return -1;
	case OPT_FORM: return parse_form(arg, &a->o->form);
	case OPT_DRY: a->o->dry_run = true; return -1;
	default: return ts_pinres_cli_opt(a->pr, opt, arg, src);
	}
}

static int parse_args(int argc, char **argv, ts_pin_opts *o, ts_pinres_cli *pr)
{
	pin_args pa = { o, pr };
	int rc = ts_cli_parse(&ts_cmd_pin, &pin_spec, argc, argv, take_opt, &pa);

	if (rc >= 0)
		return rc;
	if (pr->o.mode) {
		if (o->image)
			return ts_msg_usage("pin", "--image pins one image; --resolve/--update pin "
					    "what the files name: give one or the other");
		pr->o.form = o->form;
		pr->o.dry_run = o->dry_run;
		return -1;
	}
	if (ts_pinres_cli_stray(pr))
		return ts_msg_usage("pin", "%s needs --resolve or --update", ts_pinres_cli_stray(pr));
	if (!o->image)
		return ts_msg_usage("pin", "--image REPO:TAG@DIGEST, --resolve or --update is required");
	if (optind >= argc)
		return ts_msg_usage("pin", "no PATH given: name the manifests or directories to pin");
	return -1;
}

static void print_report(const ts_pin_opts *o, const ts_pin_report *r)
{
	for (size_t i = 0; i < r->nchanges; i++)
		ts_msg_info("%s:%zu: %s -> %s", r->changes[i].path, r->changes[i].line,
			    r->changes[i].old_ref, r->changes[i].new_ref);
	if (o->dry_run && r->diff)
		fputs(r->diff, stdout);
	if (r->nrefs == 0)
		ts_msg_warn("no reference to the repository of '%s' found in %zu YAML file%s",
			    o->image, r->nscanned, r->nscanned == 1 ? "" : "s");
	else
		ts_msg_verbose("%zu reference%s found in %zu YAML files; %zu file%s %s", r->nrefs,
			       r->nrefs == 1 ? "" : "s", r->nscanned, r->files.n,
			       r->files.n == 1 ? "" : "s",
			       o->dry_run ? "would change (dry run)" : "rewritten");
}

static int run(int argc, char **argv)
{
	ts_pin_opts o = { NULL, TS_PIN_FORM_TAG_DIGEST, false };
	ts_pin_report report = TS_PIN_REPORT_INIT;
	ts_error err = TS_ERROR_INIT;
	ts_pinres_cli pr;
	int rc;

	ts_pinres_cli_init(&pr);
	rc = parse_args(argc, argv, &o, &pr);
	if (rc < 0 && pr.o.mode)
		rc = ts_pinres_cli_run(&pr, argc, argv, optind);
	ts_pinres_cli_free(&pr);
	if (rc >= 0)
		return rc;
	if (ts_pin_apply(&o, (const char *const *)argv + optind, (size_t)(argc - optind), &report,
			 &err) != TS_OK) {
		ts_pin_report_free(&report);
		return ts_msg_fail(&err);
	}
	print_report(&o, &report);
	ts_pin_report_free(&report);
	return 0;
}
