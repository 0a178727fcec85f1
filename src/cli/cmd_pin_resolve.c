/*
 * cmd_pin_resolve.c - 'tagseal pin --resolve / --update PATH...': the
 * options, the human summary on stderr, the JSON report and the optional
 * git commit and push. The work is in pinresolve.c (and gitland.c); cmd_pin.c
 * hands over here when either flag is given.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "pinresolve_cli.h"
#include "regopts.h"
#include "tagseal/creds.h"
#include "tagseal/fsutil.h"
#include "tagseal/gitland.h"
#include "tagseal/pinresolve.h"

enum {
	OPT_RESOLVE = 0x5000, OPT_UPDATE, OPT_CHECK, OPT_FORM, OPT_ONLY, OPT_EXCLUDE, OPT_MIRROR,
	OPT_REGCONF, OPT_NO_REGCONF, OPT_STRICT, OPT_REPORT, OPT_JOBS, OPT_CRED_HOST, OPT_COMMIT,
	OPT_AUTHOR, OPT_PUSH, OPT_GIT_DIR, OPT_NO_CHECK_MIRRORS
};

typedef struct args {
	ts_pinres_opts o;
	ts_regopts ro;
	ts_regconf conf;
	const char *regconf_path;
	bool no_regconf;
	bool no_compare;
	const char *report;
	const char *cred_host;
	bool commit;
	const char *author;
	const char *push;
	const char *git_dir;
	const char **only, **exclude;
	size_t nonly, nexclude;
	const char **mirrors;
	size_t nmirrors;
} args;

static void push_str(const char ***v, size_t *n, const char *s)
{
	*v = ts_realloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = s;
}

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

static int check_cred_host(const char *host)
{
	ts_ref r = TS_REF_INIT;
	ts_error err = TS_ERROR_INIT;
	char *probe = ts_asprintf("%s/x", host);
	bool ok = !strchr(host, '/') && !strchr(host, '@') &&
		  ts_repo_parse(probe, &r, NULL, &err) == TS_OK &&
		  (strcasecmp(r.host, host) == 0 || ts_host_is_hub(host));
	char shown[128];

	ts_ref_free(&r);
	free(probe);
	if (ok)
		return -1;
	ts_sanitize(shown, sizeof(shown), host);
	return ts_msg_usage("pin",
			    "--registry-for-credentials '%s' is not a registry host (host[:port], "
			    "as in a reference: ghcr.io, 127.0.0.1:5000, docker.io)",
			    strchr(host, '@') ? "(not shown)" : shown);
}

static int take(args *a, int opt, const char *arg)
{
	long v = 0;
	int rc;
	switch (opt) {
	case OPT_RESOLVE: a->o.mode |= TS_PINRES_RESOLVE; return -1;
	case OPT_UPDATE: a->o.mode |= TS_PINRES_UPDATE; return -1;
	case OPT_CHECK: a->o.check = true; return -1;
	case OPT_FORM: return parse_form(arg, &a->o.form);
	case 'n': a->o.dry_run = true; return -1;
	case OPT_ONLY: push_str(&a->only, &a->nonly, arg); return -1;
	case OPT_EXCLUDE: push_str(&a->exclude, &a->nexclude, arg); return -1;
	case OPT_MIRROR: push_str(&a->mirrors, &a->nmirrors, arg); return -1;
	case OPT_REGCONF: a->regconf_path = arg; return -1;
	case OPT_NO_REGCONF: a->no_regconf = true; return -1;
	case OPT_STRICT: a->o.strict_mirrors = true; return -1;
	case OPT_NO_CHECK_MIRRORS: a->no_compare = true; return -1;
	case OPT_REPORT: a->report = arg; return -1;
	case 'j':
	case OPT_JOBS:
		if ((rc = ts_cli_parse_int("pin", "--jobs", arg, 1, 64, &v)) >= 0)
			return rc;
		a->o.resolve.jobs = (int)v;
		return -1;
	case OPT_CRED_HOST: a->cred_host = arg; return -1;
	case OPT_COMMIT: a->commit = true; return -1;
	case OPT_AUTHOR: a->author = arg; return -1;
	case OPT_PUSH: a->push = arg; return -1;
	case OPT_GIT_DIR: a->git_dir = arg; return -1;
	default:
		if ((rc = ts_regopts_opt(&a->ro, "pin", opt, arg)) == -2)
			rc = ts_cli_common_opt(&ts_cmd_pin, opt);
		return rc;
	}
}

static int parse_args(int argc, char **argv, args *a)
{
	static const struct option longopts[] = {
		{ "resolve", no_argument, NULL, OPT_RESOLVE },
		{ "update", no_argument, NULL, OPT_UPDATE },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "pin-form", required_argument, NULL, OPT_FORM },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "only", required_argument, NULL, OPT_ONLY },
		{ "exclude", required_argument, NULL, OPT_EXCLUDE },
		{ "mirror", required_argument, NULL, OPT_MIRROR },
		{ "registries-conf", required_argument, NULL, OPT_REGCONF },
		{ "no-registries-conf", no_argument, NULL, OPT_NO_REGCONF },
		{ "strict-mirrors", no_argument, NULL, OPT_STRICT },
		{ "no-mirror-check", no_argument, NULL, OPT_NO_CHECK_MIRRORS },
		{ "report", required_argument, NULL, OPT_REPORT },
		{ "jobs", required_argument, NULL, OPT_JOBS },
		{ "registry-for-credentials", required_argument, NULL, OPT_CRED_HOST },
		{ "commit", no_argument, NULL, OPT_COMMIT },
		{ "author", required_argument, NULL, OPT_AUTHOR },
		{ "push", required_argument, NULL, OPT_PUSH },
		{ "git-dir", required_argument, NULL, OPT_GIT_DIR },
		TS_REGOPTS_LONGOPTS,
		TS_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	int opt, rc;

	while ((opt = getopt_long(argc, argv, TS_COMMON_SHORTOPTS "nj:", longopts, NULL)) != -1)
		if ((rc = take(a, opt, optarg)) >= 0)
			return rc;
	if (optind >= argc)
		return ts_msg_usage("pin", "no PATH given: name the manifests or directories");
	if (a->o.check && (a->commit || a->push))
		return ts_msg_usage("pin", "--check writes nothing: it cannot --commit or --push");
	if (a->o.dry_run && (a->commit || a->push))
		return ts_msg_usage("pin", "--dry-run writes nothing: it cannot --commit or --push");
	if (a->push && !a->commit)
		a->commit = true; /* --push lands the pin commit */
	if (a->o.strict_mirrors && a->no_compare)
		return ts_msg_usage("pin", "--strict-mirrors needs the comparison --no-mirror-check turns off");
	if (a->regconf_path && a->no_regconf)
		return ts_msg_usage("pin", "--registries-conf and --no-registries-conf exclude each other");
	if (a->cred_host && (rc = check_cred_host(a->cred_host)) >= 0)
		return rc;
	return ts_regopts_check(&a->ro, "pin");
}

/* ---- output ---- */

static const char *clean(char *buf, size_t cap, const char *s)
{
	ts_sanitize(buf, cap, s ? s : "");
	return buf;
}

static void print_entries(const ts_pinres_report *rep, bool check)
{
	char p[512], r[512], h[300], n[TS_ERROR_MSG_MAX];
	for (size_t i = 0; i < rep->n; i++) {
		const ts_pinres_entry *e = &rep->entries[i];
		clean(p, sizeof(p), e->path);
		clean(r, sizeof(r), e->reference);
		if (e->status == TS_PRS_UPDATED || e->status == TS_PRS_CURRENT)
			r[strcspn(r, "@")] = '\0'; /* the digests are shown apart */
		clean(h, sizeof(h), e->answered);
		switch (e->status) {
		case TS_PRS_PINNED:
			ts_msg_info("%s:%zu: %s -> @%s%s", p, e->line, r, e->new_digest,
				    check ? " (would be pinned)" : "");
			break;
		case TS_PRS_UPDATED:
			ts_msg_info("%s:%zu: %s %s -> %s%s", p, e->line, r, e->old_digest,
				    e->new_digest, check ? " (would change)" : "");
			break;
		case TS_PRS_CURRENT:
			ts_msg_verbose("%s:%zu: %s is current (%s)", p, e->line, r, e->new_digest);
			break;
		case TS_PRS_UNPINNED:
			if (check)
				ts_msg_info("%s:%zu: %s is not pinned", p, e->line, r);
			break;
		case TS_PRS_SKIPPED:
			ts_msg_verbose("%s:%zu: %s skipped: %s", p, e->line, r,
				       clean(n, sizeof(n), e->note));
			break;
		default:
			break;
		}
		if (e->answered)
			ts_msg_verbose("%s:%zu: %s answered by %s%s", p, e->line, r, h,
				       e->via_mirror ? " (mirror)" : "");
	}
	for (size_t i = 0; i < rep->nwarnings; i++)
		ts_msg_warn("mirror mismatch: %s", clean(n, sizeof(n), rep->warnings[i]));
}

static void print_summary(const ts_pinres_report *rep, const args *a)
{
	size_t c[TS_PRS_FAILED + 1] = { 0 };
	for (size_t i = 0; i < rep->n; i++)
		c[rep->entries[i].status]++;
	ts_msg_info("%zu reference%s in %zu file%s (%zu distinct resolved): %zu pinned, "
		    "%zu updated, %zu current, %zu kept, %zu unpinned, %zu skipped, %zu excluded%s",
		    rep->n, rep->n == 1 ? "" : "s", rep->nfiles, rep->nfiles == 1 ? "" : "s",
		    rep->nresolved, c[TS_PRS_PINNED], c[TS_PRS_UPDATED], c[TS_PRS_CURRENT],
		    c[TS_PRS_KEPT], c[TS_PRS_UNPINNED], c[TS_PRS_SKIPPED], c[TS_PRS_EXCLUDED],
		    a->o.check     ? " (--check: nothing written)"
		    : a->o.dry_run ? " (dry run: nothing written)"
				   : "");
}

static int write_report(const ts_pinres_report *rep, const char *path)
{
	json_t *o = ts_pinres_report_json(rep);
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	ts_error err = TS_ERROR_INIT;
	ts_code rc;

	json_decref(o);
	if (!s)
		return 1;
	rc = ts_write_file_atomic(path, s, strlen(s), 0644, "--report", &err);
	free(s);
	return rc == TS_OK ? 0 : ts_msg_fail(&err);
}

/* ---- setup ---- */

static ts_code load_conf(args *a, ts_error *err)
{
	char *used = NULL;
	ts_code rc = TS_OK;

	for (size_t i = 0; rc == TS_OK && i < a->nmirrors; i++)
		rc = ts_regconf_add_mirror(&a->conf, a->mirrors[i], err);
	if (rc == TS_OK && !a->no_regconf)
		rc = ts_regconf_load(a->regconf_path, &a->conf, &used, err);
	if (rc == TS_OK && used) {
		char shown[512];
		ts_msg_verbose("registries.conf: %s", clean(shown, sizeof(shown), used));
	}
	free(used);
	return rc;
}

/* Flag and environment credentials go to one registry, which must be named. */
static ts_code settle_creds(args *a, ts_error *err)
{
	a->ro.reg.cred_host = a->cred_host;
	if (!a->cred_host && ts_creds_explicit(&a->ro.reg))
		return ts_error_setc(err, TS_C_USAGE,
				     "%s credentials are given for one registry: name it with "
				     "--registry-for-credentials HOST (pin --resolve talks to many)",
				     a->ro.reg.username ? "--username/--password-stdin"
							: "TAGSEAL_USERNAME/TAGSEAL_PASSWORD");
	return TS_OK;
}

static void git_log(void *ud, const char *line)
{
	(void)ud;
	ts_msg_verbose("%s", line);
}

static int land(args *a, const ts_pinres_report *rep)
{
	ts_gitland_opts g;
	ts_gitland_result res;
	ts_gitland_change *ch = ts_calloc(rep->n + 1, sizeof(*ch));
	ts_error err = TS_ERROR_INIT;
	char shown[256], *msg;
	size_t n = 0;
	ts_code rc;

	if (!rep->pin.files.n) {
		ts_msg_info("nothing changed: no commit");
		free(ch);
		return 0;
	}
	for (size_t i = 0; i < rep->n; i++) {
		const ts_pinres_entry *e = &rep->entries[i];
		if (e->status != TS_PRS_PINNED && e->status != TS_PRS_UPDATED)
			continue;
		ch[n].file = e->path;
		ch[n].line = e->line;
		ch[n].reference = e->reference;
		ch[n].canonical = e->canonical;
		ch[n].old_digest = e->old_digest;
		ch[n++].new_digest = e->new_digest;
	}
	msg = ts_gitland_message(ch, n);
	memset(&g, 0, sizeof(g));
	g.git_dir = a->git_dir;
	g.author = a->author;
	g.push = a->push;
	g.log = git_log;
	rc = ts_gitland_commit(&g, (const char *const *)rep->pin.files.v, rep->pin.files.n, msg,
			       &res, &err);
	free(msg);
	free(ch);
	if (rc != TS_OK)
		return ts_msg_fail(&err);
	ts_msg_info("committed %s on %s", res.commit, clean(shown, sizeof(shown), res.branch));
	if (res.pushed)
		ts_msg_info("pushed %s to %s%s", res.commit, clean(shown, sizeof(shown), a->push),
			    res.rebased ? " (rebased once onto the new remote head)" : "");
	return 0;
}

bool ts_pin_wants_resolve(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--resolve") == 0 || strcmp(argv[i], "--update") == 0)
			return true;
	return false;
}

int ts_pin_resolve_run(int argc, char **argv)
{
	args a;
	ts_pinres_report rep = TS_PINRES_REPORT_INIT;
	ts_error err = TS_ERROR_INIT;
	ts_code code;
	int rc;

	memset(&a, 0, sizeof(a));
	ts_regopts_init(&a.ro);
	rc = parse_args(argc, argv, &a);
	if (rc >= 0)
		goto out;
	a.ro.reg.read_only = true;
	if (ts_regopts_finish(&a.ro, 2, &err) != TS_OK || settle_creds(&a, &err) != TS_OK ||
	    load_conf(&a, &err) != TS_OK) {
		rc = ts_msg_fail(&err);
		goto out;
	}
	a.o.only = a.only;
	a.o.nonly = a.nonly;
	a.o.exclude = a.exclude;
	a.o.nexclude = a.nexclude;
	a.o.resolve.registry = &a.ro.reg;
	a.o.resolve.conf = &a.conf;
	a.o.resolve.compare = !a.no_compare;
	code = ts_pinres_run(&a.o, (const char *const *)argv + optind, (size_t)(argc - optind), &rep,
			     &err);
	/* what was (or, with --check, would be) done; a failure is its one line */
	if (code == TS_OK || (code == TS_EVERIFY && !(a.o.strict_mirrors && rep.nwarnings))) {
		print_entries(&rep, a.o.check);
		if (a.o.dry_run && rep.pin.diff)
			fputs(rep.pin.diff, stdout);
		print_summary(&rep, &a);
	}
	rc = a.report ? write_report(&rep, a.report) : 0;
	if (code != TS_OK)
		rc = ts_msg_fail(&err);
	else if (rc == 0 && a.commit)
		rc = land(&a, &rep);
out:
	ts_pinres_report_free(&rep);
	ts_regconf_free(&a.conf);
	free(a.only);
	free(a.exclude);
	free(a.mirrors);
	ts_regopts_free(&a.ro);
	return rc;
}
