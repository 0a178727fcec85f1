/*
 * cmd_verify.c - 'tagseal verify --record FILE': check a change record's
 * chain and that every recorded tag still resolves to its recorded digest
 * (with --key PUB: and that its lines and digests are signed by the key).
 * The work is in verify.c; this file parses options and prints the report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "progress.h"
#include "regopts.h"
#include "sigcli.h"
#include "tagseal/ref.h"
#include "tagseal/verify.h"

static int run(int argc, char **argv);

enum { OPT_JOBS = 'j', OPT_RECORD = 256, OPT_JSON, OPT_OFFLINE, OPT_ANCHOR, OPT_CRED_HOST,
       OPT_KEY, OPT_REQUIRE };


static const ts_optdef verify_defs[] = {
	{ "record", OPT_RECORD, 0, TS_OPT_VALUE, "FILE",
	  "the record to check (also accepted as the only argument)", 0, 0 },
	{ "json", OPT_JSON, 0, TS_OPT_SWITCH, NULL, "print the report as one JSON object on stdout", 0, 0 },
	{ "jobs", OPT_JOBS, 'j', TS_OPT_VALUE, "N", "registry checks run at once (default 4)", 0, 0 },
	{ "offline", OPT_OFFLINE, 0, TS_OPT_SWITCH, NULL,
	  "check the chain only; do not contact registries", 0, 0 },
	{ "anchor", OPT_ANCHOR, 0, TS_OPT_VALUE, "DIGEST",
	  "a line digest saved earlier (the 'head' of a previous\n"
	  "verify); fail unless some line still hashes to it",
	  0, 0 },
	{ "registry-for-credentials", OPT_CRED_HOST, 0, TS_OPT_VALUE, "HOST",
	  "the one registry (host[:port]) that --username/\n"
	  "--password-stdin and TAGSEAL_USERNAME/TAGSEAL_PASSWORD\n"
	  "are sent to (default: the registry of the record's\n"
	  "line 1); other registries get only their own Docker\n"
	  "config entry or CI default (-v names them)",
	  0, 0 },
	{ "key", OPT_KEY, 0, TS_OPT_VALUE, "PUB",
	  "the public key (PEM): every line must carry a valid\n"
	  "\"sig\" by it (push --sign-key), and every recorded\n"
	  "digest a valid signature by it in its registry",
	  0, 0 },
	{ "require", OPT_REQUIRE, 0, TS_OPT_LIST, "WHAT",
	  "with --key: what each recorded digest must carry:\n"
	  "signature (the default), provenance, or a predicate type\n"
	  "URI; repeatable, all must be met",
	  0, 0 },
	{ NULL, 0, 0, 0, NULL, NULL, 0, 0 }
};

static const ts_optgroup verify_groups[] = {
	{ "options", verify_defs },
	{ "registry access", ts_regopts_defs },
	TS_COMMON_GROUP,
	{ NULL, NULL }
};

static const ts_cmdspec verify_spec = {
	"verify --record FILE [--key PUB [--require WHAT]...] [OPTIONS]",
	"Recomputes the record's chain (every line's \"prev\" is the sha256 of the line\n"
	"before it) and reports the first line where it breaks, a torn last line, and\n"
	"lines that are not records. Then resolves every recorded tag in its registry\n"
	"(HEAD) and reports each one that now points at another digest or is gone.\n"
	"Aliases are mutable by design and are not checked. A tag recorded with two\n"
	"digests is reported; the registry is compared with its latest line. With\n"
	"--key, a line without a valid signature by the key, and a recorded digest\n"
	"without one in its registry, are findings too.\n",
	verify_groups,
	"Findings go to stdout as 'FILE:LINE: message', one per line.\n",
	"0 all good\n2 bad usage or unreadable record\n"
	"4 a tag could not be checked (registry, network, TLS or auth failure) and\n"
	"  nothing else was found\n"
	"5 any finding: broken chain, torn or bad line, missing anchor, moved or gone\n"
	"  tag, conflicting digests; with --key a line or digest without a valid\n"
	"  signature\n",
};

const ts_command ts_cmd_verify = { "verify", run, "check a change record's chain and that its tags have not moved", &verify_spec };

typedef struct verify_args {
	const char *record;
	bool json;
	int jobs;
	bool offline;
	const char *anchor;
	const char *cred_host;
	const char *key_path;
	ts_sigrequire require;
	ts_key *key; /* loaded from key_path by parse_args */
	ts_regopts ro;
} verify_args;


static int parse_jobs(const char *src, const char *s, int *out)
{
	long v = 0;
	int rc = ts_cli_parse_int("verify", src, s, 1, 64, &v);
	*out = (int)v;
	return rc;
}

/* --registry-for-credentials HOST: a registry host as a reference spells
 * it (host[:port]; docker.io for Docker Hub). */
static int check_cred_host(const char *host)
{
	ts_ref r = TS_REF_INIT;
	ts_error err = TS_ERROR_INIT;
	char *probe = ts_asprintf("%s/x", host);
	bool ok = !strchr(host, '/') && !strchr(host, '@') &&
		  ts_repo_parse(probe, &r, NULL, &err) == TS_OK && strcasecmp(r.host, host) == 0;

	if (r.host && !ok && strcmp(r.host, "docker.io") == 0 && strchr(host, '.'))
		ok = true; /* index.docker.io, registry-1.docker.io */
	ts_ref_free(&r);
	free(probe);
	if (ok)
		return -1;
	char shown[128];
	ts_sanitize(shown, sizeof(shown), host);
	return ts_msg_usage("verify",
			    "--registry-for-credentials '%s' is not a registry host (host[:port], "
			    "as in a reference: ghcr.io, 127.0.0.1:5000, docker.io)",
			    strchr(host, '@') ? "(not shown)" : shown);
}

/* One option (ts_cli_parse). */
static int take_opt(void *ctx, int opt, const char *arg, const char *src)
{
	verify_args *a = ctx;
	int rc = -1;

	switch (opt) {
	case OPT_RECORD: a->record = arg; break;
	case OPT_JSON: a->json = true; break;
	case OPT_JOBS: rc = parse_jobs(src, arg, &a->jobs); break;
	case OPT_OFFLINE: a->offline = true; break;
	case OPT_ANCHOR: a->anchor = arg; break;
	case OPT_CRED_HOST: a->cred_host = arg; break;
	case OPT_KEY: a->key_path = arg; break;
	case OPT_REQUIRE: rc = ts_sigcli_require("verify", src, arg, &a->require); break;
	default:
		rc = ts_regopts_opt(&a->ro, "verify", opt, arg, src);
		break;
	}
	return rc;
}

static int parse_args(int argc, char **argv, verify_args *a)
{
	int rc = ts_cli_parse(&ts_cmd_verify, &verify_spec, argc, argv, take_opt, a);

	if (rc >= 0)
		return rc;
	if (optind < argc && !a->record)
		a->record = argv[optind++];
	if (optind < argc)
		return ts_msg_usage("verify", "unexpected argument '%s'", argv[optind]);
	if (!a->record)
		return ts_msg_usage("verify", "--record FILE is required");
	if (a->anchor && !ts_digest_valid(a->anchor))
		return ts_msg_usage("verify", "--anchor '%s' is not sha256:<64 hex>", a->anchor);
	if (a->cred_host && (rc = check_cred_host(a->cred_host)) >= 0)
		return rc;
	if (a->require.n && !a->key_path)
		return ts_msg_usage("verify", "--require needs --key PUB");
	if ((rc = ts_regopts_check(&a->ro, "verify")) >= 0)
		return rc;
	if (a->key_path) {
		ts_error err = TS_ERROR_INIT;
		if (ts_key_load_public(a->key_path, &a->key, &err) != TS_OK)
			return ts_msg_fail(&err);
	}
	return -1;
}


/* Messages come sanitised from verify.c; sanitised again here, so that no
 * record value or registry answer can reach the terminal raw. */
static void print_text(const ts_verify_report *rep)
{
	char path[1024], msg[TS_ERROR_MSG_MAX * 2];

	ts_sanitize(path, sizeof(path), rep->path);
	for (size_t i = 0; i < rep->n_findings; i++) {
		ts_sanitize(msg, sizeof(msg), rep->findings[i].message);
		printf("%s:%zu: %s\n", path, rep->findings[i].line, msg);
	}
}

static int print_json(const ts_verify_report *rep)
{
	json_t *o = ts_verify_report_json(rep);
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s)
		return 1;
	puts(s);
	free(s);
	return 0;
}

static int conclude(const ts_verify_report *rep, bool offline)
{
	ts_error err = TS_ERROR_INIT;
	ts_code code = ts_verify_report_code(rep);

	char checked[64], path[1024];

	if (offline)
		snprintf(checked, sizeof(checked), "registries not asked (--offline)");
	else
		snprintf(checked, sizeof(checked), "%zu checked in registries", rep->tags_checked);
	ts_sanitize(path, sizeof(path), rep->path);
	ts_msg_info("record %s: %zu line(s), chain %s, %zu tag(s), %s%s%s", path, rep->lines,
		    rep->chain_ok ? "intact" : "BROKEN", rep->tags, checked,
		    rep->head[0] ? ", head " : "", rep->head);
	if (code == TS_OK)
		return 0;
	if (code == TS_EVERIFY)
		ts_error_set(&err, code, "verification failed: %zu finding(s) in record '%s'",
			     rep->n_findings, rep->path);
	else
		ts_error_set(&err, code, "%zu of %zu tag(s) of record '%s' could not be checked",
			     rep->tags - rep->tags_checked, rep->tags, rep->path);
	return ts_msg_fail(&err);
}

static int run(int argc, char **argv)
{
	verify_args a = { .jobs = 4 };
	ts_verify_opts vopts = { 0 };
	ts_verify_report rep = TS_VERIFY_REPORT_INIT;
	ts_error err = TS_ERROR_INIT;
	int rc;

	ts_regopts_init(&a.ro);
	rc = parse_args(argc, argv, &a);
	if (rc >= 0)
		goto out;
	a.ro.reg.read_only = true; /* verify only reads: ask tokens for pull */
	if (ts_regopts_finish(&a.ro, 2, &err) != TS_OK) {
		rc = ts_msg_fail(&err);
		goto out;
	}
	a.ro.reg.cred_host = a.cred_host;
	vopts.registry = &a.ro.reg;
	vopts.jobs = a.jobs;
	vopts.offline = a.offline;
	vopts.anchor = a.anchor;
	vopts.key = a.key;
	vopts.require = a.require.v;
	vopts.n_require = a.require.n;
	vopts.progress = ts_progress_cli(); /* live progress on stderr (progress.c) */
	if (ts_verify_record(a.record, &vopts, &rep, &err) != TS_OK) {
		rc = ts_msg_fail(&err);
		goto out;
	}
	for (size_t i = 0; i < rep.n_notes; i++)
		ts_msg_verbose("%s", rep.notes[i]); /* sanitised by verify.c */
	rc = a.json ? print_json(&rep) : (print_text(&rep), 0);
	if (rc == 0)
		rc = conclude(&rep, a.offline);
out:
	ts_verify_report_free(&rep);
	ts_key_free(a.key);
	ts_regopts_free(&a.ro);
	return rc;
}
