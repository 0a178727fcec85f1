/*
 * opttab.c - the option tables at work (opttab.h): getopt_long over the
 * table, then the environment; --help, the man page and the Markdown CLI
 * reference, all written from the same table.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "opttab.h"
#include "tagseal/buf.h"

const ts_optdef ts_common_opts[] = {
	{ "verbose", TS_OPT_VERBOSE, 'v', TS_OPT_SWITCH, NULL,
	  "more detail on stderr (never secrets)", 0, 0 },
	{ "quiet", TS_OPT_QUIET, 'q', TS_OPT_SWITCH, NULL, "only errors and warnings on stderr", 0, 0 },
	{ "help", TS_OPT_HELP, 'h', TS_OPT_SWITCH, NULL, "this help", TS_OF_NO_ENV, 0 },
	{ NULL, 0, 0, 0, NULL, NULL, 0, 0 }
};

#define MAX_EXCL 16

/* The values of list variables, cut into items: options keep pointers
 * into them for the whole run, so they are freed only at exit. */
static char **kept;
static size_t n_kept;

static void free_kept(void)
{
	for (size_t i = 0; i < n_kept; i++)
		free(kept[i]);
	free(kept);
	kept = NULL;
	n_kept = 0;
}

static char *keep(const char *v)
{
	if (!kept)
		atexit(free_kept);
	kept = ts_realloc(kept, (n_kept + 1) * sizeof(*kept));
	return kept[n_kept++] = ts_strdup(v);
}

struct ts_optiter {
	const char *cmd;
	const ts_cmdspec *spec;
	int argc;
	char **argv;
	struct option *longopts;
	const ts_optdef **defs; /* every option of the command, table order */
	size_t n;
	bool *seen;             /* given on the command line */
	bool excl_seen[MAX_EXCL];
	char shortopts[64];
	bool in_env;
	size_t env_i;           /* next option to look up in the environment */
	char *list;             /* the list being handed out (kept until exit) */
	char *list_next;
	const ts_optdef *cur;
	char src[96];
	int operands;
};

void ts_opt_env_name(const char *option, char *out, size_t cap)
{
	size_t k = (size_t)snprintf(out, cap, "TAGSEAL_OPT_");
	for (const char *p = option; *p && k + 1 < cap; p++)
		out[k++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	if (k < cap)
		out[k] = '\0';
}

ts_optiter *ts_opt_begin(const char *cmd, const ts_cmdspec *spec, int argc, char **argv)
{
	ts_optiter *it = ts_calloc(1, sizeof(*it));
	size_t k = 0, s = 0;

	it->cmd = cmd;
	it->spec = spec;
	it->argc = argc;
	it->argv = argv;
	for (const ts_optgroup *g = spec->groups; g->defs; g++)
		for (const ts_optdef *d = g->defs; d->name; d++)
			it->n++;
	it->defs = ts_calloc(it->n, sizeof(*it->defs));
	it->seen = ts_calloc(it->n, sizeof(*it->seen));
	it->longopts = ts_calloc(it->n + 1, sizeof(*it->longopts));
	it->shortopts[s++] = ':'; /* a missing value is ':', an unknown option '?' */
	for (const ts_optgroup *g = spec->groups; g->defs; g++)
		for (const ts_optdef *d = g->defs; d->name; d++) {
			it->defs[k] = d;
			it->longopts[k].name = d->name;
			it->longopts[k].has_arg = d->kind == TS_OPT_SWITCH ? no_argument
									   : required_argument;
			it->longopts[k].val = d->id;
			if (d->shortname && s + 3 < sizeof(it->shortopts)) {
				it->shortopts[s++] = d->shortname;
				if (d->kind != TS_OPT_SWITCH)
					it->shortopts[s++] = ':';
			}
			k++;
		}
	it->shortopts[s] = '\0';
	optind = 1;
	opterr = 0;
	return it;
}

void ts_opt_free(ts_optiter *it)
{
	if (!it)
		return;
	free(it->defs);
	free(it->seen);
	free(it->longopts);
	free(it);
}

const char *ts_opt_src(const ts_optiter *it)
{
	return it->src;
}

int ts_opt_operands(const ts_optiter *it)
{
	return it->operands;
}

/* Levenshtein distance, for the nearest valid name. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), *row = ts_calloc(lb + 1, sizeof(size_t)), r;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	r = row[lb];
	free(row);
	return r;
}

static int unknown(ts_optiter *it, const char *given)
{
	char name[128];
	const char *best = NULL;
	size_t bd = (size_t)-1;

	snprintf(name, sizeof(name), "%s", given);
	name[strcspn(name, "=")] = '\0';
	for (size_t i = 0; i < it->n; i++) {
		size_t d;
		if (it->defs[i]->flags & TS_OF_HIDDEN)
			continue;
		d = distance(name[0] == '-' && name[1] == '-' ? name + 2 : name, it->defs[i]->name);
		if (d < bd) {
			bd = d;
			best = it->defs[i]->name;
		}
	}
	if (best && bd <= 3 && bd < strlen(name))
		return ts_msg_usage(it->cmd, "unknown option '%s'; did you mean --%s?", name, best),
		       -1;
	return ts_msg_usage(it->cmd, "unknown option '%s'", name), -1;
}

static const ts_optdef *by_id(const ts_optiter *it, int id, size_t *idx)
{
	for (size_t i = 0; i < it->n; i++)
		if (it->defs[i]->id == id) {
			*idx = i;
			return it->defs[i];
		}
	return NULL;
}

static int from_argv(ts_optiter *it, const char **arg)
{
	int li = -1, opt = getopt_long(it->argc, it->argv, it->shortopts, it->longopts, &li);
	size_t idx;

	if (opt == -1)
		return 0;
	if (opt == '?') {
		char s[3] = { '-', (char)optopt, '\0' };
		return unknown(it, optopt ? s : it->argv[optind - 1]);
	}
	if (opt == ':') {
		const char *given = optopt && optopt < 256 ? NULL : it->argv[optind - 1];
		if (given)
			return ts_msg_usage(it->cmd, "option '%s' needs a value", given), -1;
		return ts_msg_usage(it->cmd, "option '-%c' needs a value", optopt), -1;
	}
	it->cur = by_id(it, opt, &idx);
	if (!it->cur)
		return ts_msg_usage(it->cmd, "unknown option"), -1;
	it->seen[idx] = true;
	if (it->cur->excl > 0 && it->cur->excl < MAX_EXCL)
		it->excl_seen[it->cur->excl] = true;
	snprintf(it->src, sizeof(it->src), "--%s", it->cur->name);
	*arg = it->cur->kind == TS_OPT_SWITCH ? NULL : optarg;
	return opt;
}

static bool switch_value(const char *v, bool *on)
{
	static const char *const yes[] = { "1", "true", "yes", "on" },
				  *const no[] = { "0", "false", "no", "off" };
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return (*on = true);
		if (strcasecmp(v, no[i]) == 0)
			return !(*on = false);
	}
	return false;
}

/* The next item of the list being handed out (trimmed, empty ones
 * skipped), or NULL at its end. */
static const char *list_item(ts_optiter *it)
{
	while (it->list_next && *it->list_next) {
		char *p = it->list_next, *end = p + strcspn(p, ",\n");
		it->list_next = *end ? end + 1 : end;
		*end = '\0';
		while (isspace((unsigned char)*p))
			p++;
		for (char *e = p + strlen(p); e > p && isspace((unsigned char)e[-1]);)
			*--e = '\0';
		if (*p)
			return p;
	}
	return NULL;
}

static int from_env(ts_optiter *it, const char **arg)
{
	const char *item;
	if (it->list && (item = list_item(it)) != NULL) {
		*arg = item;
		return it->cur->id;
	}
	for (; it->env_i < it->n; it->env_i++) {
		const ts_optdef *d = it->defs[it->env_i];
		const char *v;
		bool on = false;
		if (it->seen[it->env_i] || (d->flags & TS_OF_NO_ENV) ||
		    (d->excl > 0 && d->excl < MAX_EXCL && it->excl_seen[d->excl]))
			continue;
		ts_opt_env_name(d->name, it->src, sizeof(it->src));
		v = getenv(it->src);
		if (!v || !*v)
			continue;
		it->cur = d;
		if (d->kind == TS_OPT_SWITCH) {
			if (!switch_value(v, &on))
				return ts_msg_usage(it->cmd, "%s='%s': expected true or false (1/0, yes/no)",
						    it->src, v),
				       -1;
			if (!on)
				continue;
			it->env_i++;
			*arg = NULL;
			return d->id;
		}
		if (d->kind == TS_OPT_VALUE) {
			it->env_i++;
			*arg = v;
			return d->id;
		}
		it->list = keep(v);
		it->list_next = it->list;
		it->env_i++;
		if ((item = list_item(it)) != NULL) {
			*arg = item;
			return d->id;
		}
	}
	return 0;
}

int ts_opt_next(ts_optiter *it, const char **arg)
{
	int rc;
	*arg = NULL;
	if (!it->in_env) {
		rc = from_argv(it, arg);
		if (rc != 0)
			return rc;
		it->in_env = true;
		it->operands = optind;
	}
	return from_env(it, arg);
}

/* ---- --help ---- */

/* `text` with every line indented by `indent` spaces after the first. */
static void put_lines(FILE *out, const char *text, int indent)
{
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		fprintf(out, "%.*s\n", (int)n, p);
		p += n;
		if (*p == '\n')
			p++;
		if (*p)
			fprintf(out, "%*s", indent, "");
	}
}

static void opt_label(const ts_optdef *d, char *out, size_t cap)
{
	if (d->shortname)
		snprintf(out, cap, "-%c, --%s%s%s", d->shortname, d->name, d->metavar ? " " : "",
			 d->metavar ? d->metavar : "");
	else
		snprintf(out, cap, "--%s%s%s", d->name, d->metavar ? " " : "",
			 d->metavar ? d->metavar : "");
}

void ts_opt_help(FILE *out, const char *cmd, const ts_cmdspec *spec)
{
	(void)cmd;
	fprintf(out, "usage: tagseal %s\n\n", spec->synopsis);
	if (spec->description)
		fprintf(out, "%s\n", spec->description);
	for (const ts_optgroup *g = spec->groups; g->defs; g++) {
		fprintf(out, "%s:\n", g->title);
		for (const ts_optdef *d = g->defs; d->name; d++) {
			char label[96];
			if (d->flags & TS_OF_HIDDEN)
				continue;
			opt_label(d, label, sizeof(label));
			if (strlen(label) > 20) {
				fprintf(out, "  %s\n%23s", label, "");
				put_lines(out, d->help, 23);
			} else {
				fprintf(out, "  %-20s ", label);
				put_lines(out, d->help, 23);
			}
		}
	}
	if (spec->notes)
		fprintf(out, "\n%s", spec->notes);
	fprintf(out, "\nEvery option can also be set as TAGSEAL_OPT_<NAME> (--ca-file: "
		     "TAGSEAL_OPT_CA_FILE);\na flag wins. Lists: items separated by commas or new "
		     "lines. 'man tagseal' has more.\n");
	if (spec->exits) {
		fprintf(out, "\nexit codes:\n");
		for (const char *p = spec->exits; *p;) {
			size_t n = strcspn(p, "\n");
			fprintf(out, "  %.*s\n", (int)n, p);
			p += n + (p[n] == '\n');
		}
	}
}

/* ---- the man page ---- */

/* roff text: a backslash is \e, a leading dot or quote is escaped, '-' is \-. */
static void roff(FILE *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\\')
			fputs("\\e", out);
		else if (c == '-')
			fputs("\\-", out);
		else if ((c == '.' || c == '\'') && (i == 0 || s[i - 1] == '\n'))
			fputs("\\&", out), fputc(c, out);
		else
			fputc(c, out);
	}
}

static void roff_str(FILE *out, const char *s)
{
	roff(out, s, strlen(s));
}

/* A paragraph of '\n'-wrapped text as filled roff text. */
static void roff_para(FILE *out, const char *text)
{
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		if (n == 0)
			fputs(".PP\n", out);
		else if (*p == ' ' || *p == '-')
			fputs(".br\n", out), roff(out, p, n), fputc('\n', out);
		else
			roff(out, p, n), fputc('\n', out);
		p += n + (p[n] == '\n');
	}
}

static const char *const exit_codes[][2] = {
	{ "0", "success (including: the same content was already under the same tag)" },
	{ "1", "internal error (a bug)" },
	{ "2", "bad usage or bad input: flags, image file, template, manifest file, record" },
	{ "3", "refused: the tag exists with other content, or the registry rejected it as "
	       "immutable" },
	{ "4", "registry, network, TLS or authentication failure, after retries" },
	{ "5", "verification failed: read-back mismatch, lost race, drift found by verify, "
	       "findings of lint" },
};

void ts_opt_man(FILE *out, const char *const *names, const char *const *summaries,
		const ts_cmdspec *const *specs, size_t n)
{
	fputs(".\\\" Generated from the option tables (src/cli/*.c) by 'tagseal help --man'.\n"
	      ".TH TAGSEAL 1 \"\" \"tagseal " TAGSEAL_VERSION "\" \"User Commands\"\n"
	      ".SH NAME\ntagseal \\- push container images under tags that can be trusted\n"
	      ".SH SYNOPSIS\n", out);
	for (size_t i = 0; i < n; i++) {
		fputs(".B tagseal\n", out);
		roff_str(out, specs[i]->synopsis);
		fputs("\n.br\n", out);
	}
	fputs(".SH DESCRIPTION\n"
	      "tagseal is the build-and-push step of a release pipeline. It pushes an image\n"
	      "tarball to an OCI registry under a new, immutable tag, never moves a tag that\n"
	      "holds other content, reads the tag back to catch racing writers, writes the\n"
	      "digest back into deployment files byte-exactly, and appends a tamper-evident\n"
	      "change record that \\fBtagseal verify\\fR later holds against the registry.\n"
	      ".SH COMMANDS\n", out);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, ".SS \"%s\"\n", names[i]);
		roff_str(out, summaries[i]);
		fputs(".\n.PP\n", out);
		if (specs[i]->description)
			roff_para(out, specs[i]->description);
		for (const ts_optgroup *g = specs[i]->groups; g->defs; g++) {
			fputs(".PP\n\\fI", out);
			roff_str(out, g->title);
			fputs(":\\fR\n", out);
			for (const ts_optdef *d = g->defs; d->name; d++) {
				char label[96];
				if (d->flags & TS_OF_HIDDEN)
					continue;
				opt_label(d, label, sizeof(label));
				fputs(".TP\n\\fB", out);
				roff_str(out, label);
				fputs("\\fR\n", out);
				for (const char *p = d->help; *p;) {
					size_t k = strcspn(p, "\n");
					roff(out, p, k);
					fputc('\n', out);
					p += k + (p[k] == '\n');
				}
			}
		}
		if (specs[i]->notes) {
			fputs(".PP\n", out);
			roff_para(out, specs[i]->notes);
		}
		if (specs[i]->exits) {
			fputs(".PP\nExit codes:\n", out);
			for (const char *p = specs[i]->exits; *p;) {
				size_t k = strcspn(p, "\n");
				fputs(".br\n", out);
				roff(out, p, k);
				fputc('\n', out);
				p += k + (p[k] == '\n');
			}
		}
	}
	fputs(".SH ENVIRONMENT\n"
	      "Every option \\fB\\-\\-long\\-name\\fR can also be given as the variable\n"
	      "\\fBTAGSEAL_OPT_LONG_NAME\\fR (upper case, \\- as _). A flag on the command line\n"
	      "wins. A switch takes 1, true, yes or on (0, false, no, off: not set); a\n"
	      "repeatable option takes a list, its items separated by commas or new lines.\n"
	      "An empty variable is unset. Of options that exclude each other (\\-\\-tag and\n"
	      "\\-\\-scheme), none is read from the environment when one is on the command line.\n"
	      ".TP\n\\fBTAGSEAL_USERNAME\\fR, \\fBTAGSEAL_PASSWORD\\fR\n"
	      "credentials for the registry (instead of \\-\\-username with \\-\\-password\\-stdin).\n"
	      ".TP\n\\fBDOCKER_CONFIG\\fR\n"
	      "the Docker configuration directory (auths, credHelpers, credsStore).\n"
	      ".TP\n\\fBTAGSEAL_TAG\\fR, \\fBTAGSEAL_DIGEST\\fR, \\fBTAGSEAL_REFERENCE\\fR\n"
	      "what \\-\\-dotenv writes for later CI jobs; never read as options.\n"
	      ".TP\n\\fBNO_COLOR\\fR\nno colour in progress output.\n"
	      ".SH EXIT STATUS\n", out);
	for (size_t i = 0; i < sizeof(exit_codes) / sizeof(exit_codes[0]); i++)
		fprintf(out, ".TP\n.B %s\n%s\n", exit_codes[i][0], exit_codes[i][1]);
	fputs(".SH SEE ALSO\n"
	      "The project's docs/: cli.md (this reference), tags.md, registry-access.md,\n"
	      "records.md, pin.md, ci.md.\n", out);
}

/* ---- the Markdown reference ---- */

void ts_opt_markdown(FILE *out, const char *const *names, const char *const *summaries,
		     const ts_cmdspec *const *specs, size_t n)
{
	fputs("# tagseal command-line reference\n\n"
	      "<!-- Generated from the option tables (src/cli/*.c) by "
	      "`tagseal help --markdown`; scripts/gen-docs.sh rewrites it. -->\n\n"
	      "Every command takes `-v`/`--verbose` and `-q`/`--quiet`. Every option can also "
	      "be set in the environment as `TAGSEAL_OPT_<NAME>` (`--ca-file` is "
	      "`TAGSEAL_OPT_CA_FILE`); a flag wins; a switch takes `1`/`true`/`yes`/`on`; a "
	      "repeatable option takes a list, items separated by commas or new lines. The "
	      "variables tagseal exports to later CI jobs (`TAGSEAL_TAG`, `TAGSEAL_DIGEST`, "
	      "`TAGSEAL_REFERENCE`) are never read as options. Credentials: `TAGSEAL_USERNAME` "
	      "and `TAGSEAL_PASSWORD` ([registry-access.md](registry-access.md)).\n\n"
	      "## Exit codes\n\n| code | meaning |\n|---|---|\n", out);
	for (size_t i = 0; i < sizeof(exit_codes) / sizeof(exit_codes[0]); i++)
		fprintf(out, "| %s | %s |\n", exit_codes[i][0], exit_codes[i][1]);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "\n## %s\n\n%s.\n\n```\ntagseal %s\n```\n\n", names[i], summaries[i],
			specs[i]->synopsis);
		if (specs[i]->description) {
			ts_buf b = TS_BUF_INIT;
			ts_buf_puts(&b, specs[i]->description);
			fprintf(out, "```\n%s```\n\n", ts_buf_cstr(&b));
			ts_buf_free(&b);
		}
		for (const ts_optgroup *g = specs[i]->groups; g->defs; g++) {
			fprintf(out, "%s:\n\n| option | environment | |\n|---|---|---|\n", g->title);
			for (const ts_optdef *d = g->defs; d->name; d++) {
				char label[96], env[96];
				if (d->flags & TS_OF_HIDDEN)
					continue;
				opt_label(d, label, sizeof(label));
				if (d->flags & TS_OF_NO_ENV)
					env[0] = '\0';
				else
					ts_opt_env_name(d->name, env, sizeof(env));
				fprintf(out, "| `%s` | %s%s%s | ", label, env[0] ? "`" : "", env,
					env[0] ? "`" : "");
				for (const char *p = d->help; *p; p++)
					fputc(*p == '\n' ? ' ' : *p == '|' ? '/' : *p, out);
				fprintf(out, "%s |\n", d->kind == TS_OPT_LIST ? " (repeatable)" : "");
			}
			fputc('\n', out);
		}
		if (specs[i]->notes)
			fprintf(out, "```\n%s```\n\n", specs[i]->notes);
		if (specs[i]->exits) {
			fputs("Exit codes:\n\n", out);
			for (const char *p = specs[i]->exits; *p;) {
				size_t k = strcspn(p, "\n");
				fprintf(out, "- %.*s\n", (int)k, p);
				p += k + (p[k] == '\n');
			}
			fputc('\n', out);
		}
	}
}

/* ---- bash completion ---- */

void ts_opt_bash(FILE *out, const char *const *names, const ts_cmdspec *const *specs, size_t n)
{
	fputs("# bash completion for tagseal; generated by 'tagseal help --bash-completion'\n"
	      "_tagseal() {\n"
	      "\tlocal cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]} opts\n"
	      "\tif [ \"$COMP_CWORD\" -eq 1 ]; then\n"
	      "\t\tCOMPREPLY=($(compgen -W \"", out);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s ", names[i]);
	fputs("help --version --help\" -- \"$cur\"))\n\t\treturn\n\tfi\n\tcase $cmd in\n", out);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "\t%s) opts=\"", names[i]);
		for (const ts_optgroup *g = specs[i]->groups; g->defs; g++)
			for (const ts_optdef *d = g->defs; d->name; d++)
				if (!(d->flags & TS_OF_HIDDEN))
					fprintf(out, "--%s ", d->name);
		fputs("\" ;;\n", out);
	}
	fputs("\t*) opts= ;;\n\tesac\n"
	      "\tif [[ $cur == -* ]]; then\n"
	      "\t\tCOMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
	      "\telse\n"
	      "\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
	      "\tfi\n"
	      "}\n"
	      "complete -o filenames -F _tagseal tagseal\n", out);
}
