/*
 * cmd_pin_resolve.c - 'tagseal pin --resolve / --update PATH...': the
 * options, the human summary on stderr, the JSON report and the optional
 * git commit and push, and the option table of those groups. The work is in
 * pinresolve.c (and gitland.c); cmd_pin.c parses and hands over here when
 * either flag is given.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "pinresolve_cli.h"
#include "tagseal/creds.h"
#include "tagseal/fsutil.h"
#include "tagseal/gitland.h"
#include "tagseal/keys.h"
#include "tagseal/pinresolve.h"

enum {
	OPT_RESOLVE = 0x5000, OPT_UPDATE, OPT_CHECK, OPT_ONLY, OPT_EXCLUDE, OPT_MIRROR,
	OPT_REGCONF, OPT_NO_REGCONF, OPT_STRICT, OPT_NO_CHECK_MIRRORS, OPT_REPORT, OPT_JOBS,
	OPT_CRED_HOST, OPT_COMMIT, OPT_AUTHOR, OPT_PUSH, OPT_GIT_DIR, OPT_KEY
};

enum { EXCL_REGCONF = 31, EXCL_COMPARE = 32 };

const ts_optdef ts_pinres_defs[] = {
	{ "resolve", OPT_RESOLVE, 0, TS_OPT_SWITCH, NULL,
	  "resolve every reference without a digest at its registry\n"
	  "and write NAME:TAG@sha256:... (the name as written; one\n"
	  "without a tag gets :latest, the tag it stands for)", 0, 0 },
	{ "update", OPT_UPDATE, 0, TS_OPT_SWITCH, NULL,
	  "resolve pinned NAME:TAG@DIGEST references again and\n"
	  "replace the digest where the tag moved", 0, 0 },
	{ "check", OPT_CHECK, 0, TS_OPT_SWITCH, NULL,
	  "write nothing; exit 5 when any reference would change or\n"
	  "is unpinned (the CI gate)", 0, 0 },
	{ "only", OPT_ONLY, 0, TS_OPT_LIST, "PATTERN",
	  "only references matching this glob (repeatable), matched\n"
	  "against the name as written, docker.io/library/nginx:1.25\n"
	  "and docker.io/library/nginx", 0, 0 },
	{ "exclude", OPT_EXCLUDE, 0, TS_OPT_LIST, "PATTERN",
	  "leave references matching this glob alone (repeatable)", 0, 0 },
	{ "mirror", OPT_MIRROR, 0, TS_OPT_LIST, "HOST=MIRROR",
	  "ask MIRROR first for HOST's images (repeatable;\n"
	  "docker.io=mirror.example:5000); the files keep HOST", 0, 0 },
	{ "registries-conf", OPT_REGCONF, 0, TS_OPT_VALUE, "FILE",
	  "containers' registries.conf v2, this file only (default:\n"
	  "~/.config/containers/registries.conf, else\n"
	  "/etc/containers/registries.conf, then both .d/*.conf)", 0, EXCL_REGCONF },
	{ "no-registries-conf", OPT_NO_REGCONF, 0, TS_OPT_SWITCH, NULL, "read no registries.conf", 0,
	  EXCL_REGCONF },
	{ "strict-mirrors", OPT_STRICT, 0, TS_OPT_SWITCH, NULL,
	  "a mirror answering another digest than another source\n"
	  "is an error (exit 5, nothing written), not a warning", 0, EXCL_COMPARE },
	{ "no-mirror-check", OPT_NO_CHECK_MIRRORS, 0, TS_OPT_SWITCH, NULL,
	  "take the first source that has the tag and ask no other\n"
	  "(by default every mirror and the registry itself are\n"
	  "asked, by HEAD, and compared)", 0, EXCL_COMPARE },
	{ "report", OPT_REPORT, 0, TS_OPT_VALUE, "FILE",
	  "JSON: every reference, file, line, old and new digest and\n"
	  "the host that answered", 0, 0 },
	{ "jobs", OPT_JOBS, 'j', TS_OPT_VALUE, "N", "references resolved at once (default 4)", 0, 0 },
	{ "key", OPT_KEY, 0, TS_OPT_VALUE, "PUB",
	  "take a digest only when it carries a valid signature by\n"
	  "this public key (PEM or cosign.pub); else exit 5 naming\n"
	  "the reference, nothing written", 0, 0 },
	{ "registry-for-credentials", OPT_CRED_HOST, 0, TS_OPT_VALUE, "HOST",
	  "the one registry (host[:port]) that --username/\n"
	  "--password-stdin and TAGSEAL_USERNAME/TAGSEAL_PASSWORD\n"
	  "are sent to (required with them); other registries get\n"
	  "only their own Docker config entry or CI default", 0, 0 },
	{ NULL, 0, 0, 0, NULL, NULL, 0, 0 }
};

const ts_optdef ts_pinres_git_defs[] = {
	{ "commit", OPT_COMMIT, 0, TS_OPT_SWITCH, NULL,
	  "commit exactly the changed files (libgit2), the changes\n"
	  "and Image-Digest: trailers in the message", 0, 0 },
	{ "author", OPT_AUTHOR, 0, TS_OPT_VALUE, "\"NAME <EMAIL>\"",
	  "the commit's author (default: GIT_AUTHOR_NAME/EMAIL, the\n"
	  "CI's identity, git's user.name and user.email)", 0, 0 },
	{ "push", OPT_PUSH, 0, TS_OPT_VALUE, "REMOTE[:BRANCH]",
	  "push the commit (implies --commit); after a\n"
	  "non-fast-forward, fetch and rebase it once, push again", 0, 0 },
	{ "git-dir", OPT_GIT_DIR, 0, TS_OPT_VALUE, "DIR",
	  "the repository (default: found from the working directory)", 0, 0 },
	{ NULL, 0, 0, 0, NULL, NULL, 0, 0 }
};

static void push_str(const char ***v, size_t *n, const char *s)
{
	*v = ts_realloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = s;
}

static int check_cred_host(const char *src, const char *host)
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
			    "%s '%s' is not a registry host (host[:port], as in a reference: "
			    "ghcr.io, 127.0.0.1:5000, docker.io)",
			    src, strchr(host, '@') ? "(not shown)" : shown);
}

void ts_pinres_cli_init(ts_pinres_cli *a)
{
	memset(a, 0, sizeof(*a));
	ts_regopts_init(&a->ro);
}

int ts_pinres_cli_opt(ts_pinres_cli *a, int opt, const char *arg, const char *src)
{
	long v = 0;
	int rc;
	switch (opt) {
	case OPT_RESOLVE: a->o.mode |= TS_PINRES_RESOLVE; return -1;
	case OPT_UPDATE: a->o.mode |= TS_PINRES_UPDATE; return -1;
	case OPT_CHECK: a->o.check = true; return -1;
	case OPT_ONLY: push_str(&a->only, &a->nonly, arg); return -1;
	case OPT_EXCLUDE: push_str(&a->exclude, &a->nexclude, arg); return -1;
	case OPT_MIRROR: push_str(&a->mirrors, &a->nmirrors, arg); return -1;
	case OPT_REGCONF: a->regconf_path = arg; return -1;
	case OPT_NO_REGCONF: a->no_regconf = true; return -1;
	case OPT_STRICT: a->o.strict_mirrors = true; return -1;
	case OPT_NO_CHECK_MIRRORS: a->no_compare = true; return -1;
	case OPT_REPORT: a->report = arg; return -1;
	case OPT_JOBS:
		if ((rc = ts_cli_parse_int("pin", src, arg, 1, 64, &v)) >= 0)
			return rc;
		a->o.resolve.jobs = (int)v;
		return -1;
	case OPT_CRED_HOST: a->cred_host = arg; return check_cred_host(src, arg);
	case OPT_COMMIT: a->commit = true; return -1;
	case OPT_AUTHOR: a->author = arg; return -1;
	case OPT_PUSH: a->push = arg; return -1;
	case OPT_GIT_DIR: a->git_dir = arg; return -1;
	case OPT_KEY: a->key_path = arg; return -1;
	default: return ts_regopts_opt(&a->ro, "pin", opt, arg, src);
	}
}

const char *ts_pinres_cli_stray(const ts_pinres_cli *a)
{
	if (a->o.check) return "--check";
	if (a->nonly) return "--only";
	if (a->nexclude) return "--exclude";
	if (a->nmirrors) return "--mirror";
	if (a->regconf_path) return "--registries-conf";
	if (a->o.strict_mirrors) return "--strict-mirrors";
	if (a->report) return "--report";
	if (a->key_path) return "--key";
	if (a->commit) return "--commit";
	if (a->push) return "--push";
	if (a->ro.reg.username) return "--username";
	return NULL;
}

static int check_args(ts_pinres_cli *a, int argc, int first)
{
	if (first >= argc)
		return ts_msg_usage("pin", "no PATH given: name the manifests or directories");
	if (a->o.check && (a->commit || a->push))
		return ts_msg_usage("pin", "--check writes nothing: it cannot --commit or --push");
	if (a->o.dry_run && (a->commit || a->push))
		return ts_msg_usage("pin", "--dry-run writes nothing: it cannot --commit or --push");
	if (a->push)
		a->commit = true; /* --push lands the pin commit */
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

static void print_summary(const ts_pinres_report *rep, const ts_pinres_cli *a)
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

static ts_code load_conf(ts_pinres_cli *a, ts_error *err)
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
static ts_code settle_creds(ts_pinres_cli *a, ts_error *err)
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

static int land(ts_pinres_cli *a, const ts_pinres_report *rep)
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


int ts_pinres_cli_run(ts_pinres_cli *a, int argc, char **argv, int first)
{
	ts_pinres_report rep = TS_PINRES_REPORT_INIT;
	ts_key *key = NULL;
	ts_error err = TS_ERROR_INIT;
	ts_code code;
	int rc = check_args(a, argc, first);

	if (rc >= 0)
		return rc;
	a->ro.reg.read_only = true;
	if (ts_regopts_finish(&a->ro, 2, &err) != TS_OK || settle_creds(a, &err) != TS_OK ||
	    load_conf(a, &err) != TS_OK)
		return ts_msg_fail(&err);
	a->o.only = a->only;
	a->o.nonly = a->nonly;
	a->o.exclude = a->exclude;
	a->o.nexclude = a->nexclude;
	a->o.resolve.registry = &a->ro.reg;
	a->o.resolve.conf = &a->conf;
	a->o.resolve.compare = !a->no_compare;
	if (a->key_path && ts_key_load_public(a->key_path, &key, &err) != TS_OK)
		return ts_msg_fail(&err);
	a->o.key = key;
	code = ts_pinres_run(&a->o, (const char *const *)argv + first, (size_t)(argc - first), &rep,
			     &err);
	/* what was (or, with --check, would be) done; a failure is its one line */
	if (code == TS_OK || rep.check_found) {
		print_entries(&rep, a->o.check);
		if (a->o.dry_run && rep.pin.diff)
			fputs(rep.pin.diff, stdout);
		print_summary(&rep, a);
	}
	rc = a->report ? write_report(&rep, a->report) : 0;
	if (code != TS_OK)
		rc = ts_msg_fail(&err);
	else if (rc == 0 && a->commit)
		rc = land(a, &rep);
	ts_pinres_report_free(&rep);
	ts_key_free(key);
	return rc;
}

void ts_pinres_cli_free(ts_pinres_cli *a)
{
	ts_regconf_free(&a->conf);
	free(a->only);
	free(a->exclude);
	free(a->mirrors);
	ts_regopts_free(&a->ro);
}
