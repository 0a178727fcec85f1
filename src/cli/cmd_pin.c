/*
 * cmd_pin.c - 'tagseal pin --image REPO:TAG@DIGEST PATH...': write a pinned
 * reference into manifests. The work is in pin.c; this file parses options
 * and prints the report. With --resolve or --update it hands over to
 * cmd_pin_resolve.c; the help text covers both.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "regopts.h"
#include "pinresolve_cli.h"
#include "tagseal/pin.h"

static int run(int argc, char **argv);

const ts_command ts_cmd_pin = {
	"pin", run, "write a pinned image reference into manifests",
	"usage: tagseal pin --image REPO:TAG@DIGEST [OPTIONS] PATH...\n"
	"       tagseal pin --resolve [--update] [OPTIONS] PATH...\n"
	"       tagseal pin --update [--check] [OPTIONS] PATH...\n"
	"\n"
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
	"options:\n"
	"  --image REF          REPO:TAG@DIGEST to pin (REPO@DIGEST implies --pin-form digest)\n"
	"  --pin-form FORM      tag-digest (default: REPO:TAG@DIGEST) or digest (REPO@DIGEST)\n"
	"  -n, --dry-run        print a unified diff on stdout; change nothing\n" TS_COMMON_USAGE
	"\n"
	"\n"
	"Third-party references (--resolve, --update):\n"
	"  --resolve            resolve every reference without a digest at its registry\n"
	"                       and write NAME:TAG@sha256:... (the name as written; a\n"
	"                       reference without a tag gets :latest, the tag it means)\n"
	"  --update             resolve pinned NAME:TAG@DIGEST references again; replace\n"
	"                       the digest where the tag moved\n"
	"  --check              write nothing; exit 5 when anything would change or is\n"
	"                       unpinned (the CI gate)\n"
	"  --only PATTERN       only references matching a glob (repeatable); matched\n"
	"                       against the name as written, docker.io/library/nginx:1.25\n"
	"                       and docker.io/library/nginx\n"
	"  --exclude PATTERN    leave references matching a glob alone (repeatable)\n"
	"  --mirror HOST=MIRROR ask MIRROR first for HOST's images (repeatable;\n"
	"                       docker.io=mirror.example:5000); the file keeps HOST\n"
	"  --registries-conf FILE  containers' registries.conf v2 (default: the first of\n"
	"                       ~/.config/containers/registries.conf and\n"
	"                       /etc/containers/registries.conf that exists)\n"
	"  --no-registries-conf    read none\n"
	"  --strict-mirrors     a mirror answering another digest than another source is\n"
	"                       an error (exit 5; nothing written), not a warning\n"
	"  --no-mirror-check    take the first source that has the tag; do not ask the\n"
	"                       others (by default every mirror and the registry itself are\n"
	"                       asked, by HEAD, and compared)\n"
	"  --report FILE        JSON: every reference, file, line, old and new digest and\n"
	"                       the host that answered\n"
	"  -j, --jobs N         references resolved at a time (default 4)\n"
	"  --registry-for-credentials HOST\n"
	"                       the registry --username/TAGSEAL_USERNAME are for (required\n"
	"                       with them; other registries get their own Docker config)\n"
	"  --commit             commit exactly the changed files (libgit2), with the\n"
	"                       changes and Image-Digest: trailers in the message\n"
	"  --author \"NAME <EMAIL>\"  the commit's author (default: GIT_AUTHOR_*, the CI's\n"
	"                       identity, git's user.name/user.email)\n"
	"  --push REMOTE[:BRANCH]  push the commit (implies --commit); a non-fast-forward\n"
	"                       is fetched and the commit rebased once\n"
	"  --git-dir DIR        the repository (default: found from the working directory)\n"
	TS_REGOPTS_USAGE
	"\n"
	"Each change is reported on stderr as 'FILE:LINE: OLD -> NEW'.\n"
	"Exit: 0 done (also when nothing needed a change); 2 bad usage or bad input (a\n"
	"malformed reference: FILE:LINE); 4 a reference that could not be resolved\n"
	"(FILE:LINE: REFERENCE: why; nothing written); 5 --check found work, or\n"
	"--strict-mirrors found a mismatch; 1 a rewrite that would not read back as\n"
	"intended (a bug; nothing written).\n",
};

enum { OPT_IMAGE = 256, OPT_FORM, OPT_DRY };

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

static int parse_args(int argc, char **argv, ts_pin_opts *o)
{
	static const struct option longopts[] = {
		{ "image", required_argument, NULL, OPT_IMAGE },
		{ "pin-form", required_argument, NULL, OPT_FORM },
		{ "dry-run", no_argument, NULL, 'n' },
		TS_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	int opt, rc;

	while ((opt = getopt_long(argc, argv, TS_COMMON_SHORTOPTS "n", longopts, NULL)) != -1) {
		rc = -1;
		switch (opt) {
		case OPT_IMAGE: o->image = optarg; break;
		case OPT_FORM: rc = parse_form(optarg, &o->form); break;
		case 'n': o->dry_run = true; break;
		default: rc = ts_cli_common_opt(&ts_cmd_pin, opt); break;
		}
		if (rc >= 0)
			return rc;
	}
	if (!o->image)
		return ts_msg_usage("pin", "--image REPO:TAG@DIGEST is required");
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
	int rc;

	if (ts_pin_wants_resolve(argc, argv))
		return ts_pin_resolve_run(argc, argv);
	rc = parse_args(argc, argv, &o);
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
