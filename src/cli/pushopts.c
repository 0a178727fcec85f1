/*
 * pushopts.c - parsing push's options into the push workflow's (release.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pushopts.h"

enum {
	O_REPO = 1000, O_IMAGE, O_COMPRESSION, O_FORMAT, O_JOBS, O_DIGEST_FILE, O_METADATA_FILE, O_RECORD,
	O_DOTENV, O_PIN, O_PIN_FORM, O_PIN_OPTIONAL, O_DRY_RUN, O_NO_CACHE, O_MOUNT_FROM, O_CHUNK_SIZE
};

static const ts_optdef image_defs[] = {
	{ "repo", O_REPO, 0, TS_OPT_VALUE, "REPO",
	  "the repository to push to: host[:port]/path (required)", 0, 0 },
	{ "image", O_IMAGE, 0, TS_OPT_VALUE, "NAME",
	  "choose one image of several in IMAGE (RepoTags entry or\n"
	  "org.opencontainers.image.ref.name)",
	  0, 0 },
	{ "compression", O_COMPRESSION, 0, TS_OPT_VALUE, "ALG",
	  "gzip (default) or zstd, for layers stored uncompressed", 0, 0 },
	{ "format", O_FORMAT, 0, TS_OPT_VALUE, "FMT",
	  "oci or docker manifests (default: the source's family)", 0, 0 },
	{ "jobs", O_JOBS, 0, TS_OPT_VALUE, "N",
	  "compression threads (default: the cores, at most 8), and\n"
	  "how many already-compressed layers go up at once (at most 4)",
	  0, 0 },
	{ "no-cache", O_NO_CACHE, 0, TS_OPT_SWITCH, NULL,
	  "do not use the local cache ($XDG_CACHE_HOME/tagseal) of layers and of where blobs are", 0, 0 },
	{ "dry-run", O_DRY_RUN, 0, TS_OPT_SWITCH, NULL, "compute the digest, upload nothing", 0, 0 },
	{ NULL, 0, 0, 0, NULL, NULL, 0, 0 }
};

static const ts_optdef output_defs[] = {
	{ "digest-file", O_DIGEST_FILE, 0, TS_OPT_VALUE, "FILE",
	  "write sha256:<hex> after the push is verified", 0, 0 },
	{ "metadata-file", O_METADATA_FILE, 0, TS_OPT_VALUE, "FILE",
	  "write a JSON object describing the push", 0, 0 },
	{ "record", O_RECORD, 0, TS_OPT_VALUE, "FILE",
	  "append one line to a tamper-evident change record", 0, 0 },
	{ "dotenv", O_DOTENV, 0, TS_OPT_VALUE, "FILE",
	  "GitLab dotenv: TAGSEAL_TAG, TAGSEAL_DIGEST, TAGSEAL_REFERENCE", 0, 0 },
	{ "pin", O_PIN, 0, TS_OPT_LIST, "PATH",
	  "pin REPO:TAG@DIGEST into manifests (files or directories);\n"
	  "repeatable; finding no reference to REPO is exit 2",
	  0, 0 },
	{ "pin-optional", O_PIN_OPTIONAL, 0, TS_OPT_SWITCH, NULL,
	  "--pin may find no reference to REPO (a warning, not an error)", 0, 0 },
	{ "pin-form", O_PIN_FORM, 0, TS_OPT_VALUE, "FORM", "tag-digest (default) or digest", 0, 0 },
	{ NULL, 0, 0, 0, NULL, NULL, 0, 0 }
};

static const ts_optdef transfer_defs[] = {
	{ "mount-from", O_MOUNT_FROM, 0, TS_OPT_VALUE, "REPO",
	  "mount layers the registry has in REPO (same registry)\n"
	  "instead of uploading them",
	  0, 0 },
	{ "chunk-size", O_CHUNK_SIZE, 0, TS_OPT_VALUE, "MIB",
	  "send blobs in PATCHes of at most MIB MiB (a registry's\n"
	  "body limit; default: one streamed request per blob)",
	  0, 0 },
	{ NULL, 0, 0, 0, NULL, NULL, 0, 0 }
};

static const ts_optgroup push_groups[] = {
	{ "image", image_defs },
	{ "tag source (exactly one of --tag and --scheme, or neither for the default)",
	  ts_tagopts_defs },
	{ "outputs (each checked writable before anything is pushed)", output_defs },
	{ "registry access", ts_regopts_defs },
	{ "transfer", transfer_defs },
	TS_COMMON_GROUP,
	{ NULL, NULL }
};

const ts_cmdspec ts_push_spec = {
	"push IMAGE --repo REPO [--tag TAG | --scheme TEMPLATE] [OPTIONS]",
	"Push IMAGE (a docker save tarball, an OCI layout tarball or directory, plain or\n"
	"compressed with gzip or zstd) to REPO under one new immutable tag. A tag that\n"
	"exists with other content is never overwritten (exit 3); the same content under\n"
	"the same tag is a success that changes nothing. The tag is read back after the\n"
	"push (exit 5 if another writer raced us). Last stdout line: REPO:TAG@DIGEST.\n",
	push_groups,
	"Tag presets: sha, semver, semver-sha, describe, date-build, date-sha, branch-sha,\n"
	"build-sha; without --tag or --scheme the default: {version}-{build}.g{sha}{dirty}\n"
	"in CI with a version, {version}-g{sha}{dirty} outside CI, with {date:%Y%m%d} for\n"
	"{version} when no version is known ('tagseal help tag' lists the placeholders).\n",
	"0 pushed and verified (or the same content was already under the tag)\n"
	"2 bad usage or input: options, IMAGE, template, manifest, output path\n"
	"3 the tag exists with other content, or the registry refused it as immutable\n"
	"4 registry, network, TLS or authentication failure, after retries\n"
	"5 the tag read back is not what was pushed (another writer raced)\n",
};

void ts_push_cli_report(void *ud, ts_report_level level, const char *line)
{
	(void)ud;
	switch (level) {
	case TS_REPORT_DETAIL: ts_msg_verbose("%s", line); break; /* shown with -v */
	case TS_REPORT_INFO: ts_msg_info("%s", line); break;
	case TS_REPORT_WARN: ts_msg_warn("%s", line); break;
	}
}

static void push_str(const char ***v, size_t *n, const char *s)
{
	*v = ts_realloc(*v, (*n + 1) * sizeof(char *));
	(*v)[(*n)++] = s;
}

static int take(const ts_command *cmd, ts_push_cli *c, int opt, const char *val,
		const char *src);
static int check(const ts_command *cmd, int argc, char **argv, ts_push_cli *c);

int ts_push_cli_parse(const ts_command *cmd, int argc, char **argv, ts_push_cli *c)
{
	ts_optiter *it;
	const char *arg;
	int opt, ret = -1;

	memset(c, 0, sizeof(*c));
	ts_regopts_init(&c->ro);
	c->rel.report = ts_push_cli_report;
	it = ts_opt_begin(cmd->name, cmd->spec, argc, argv);
	while (ret < 0 && (opt = ts_opt_next(it, &arg)) != 0)
		ret = opt < 0 ? 2 : take(cmd, c, opt, arg, ts_opt_src(it));
	optind = ts_opt_operands(it);
	ts_opt_free(it);
	if (ret >= 0)
		return ret;
	return check(cmd, argc, argv, c);
}

/* One option: -1 to go on, or an exit code. */
static int take(const ts_command *cmd, ts_push_cli *c, int opt, const char *val,
		const char *src)
{
	long v = 0;
	int ret;
	{
		switch (opt) {
		case O_REPO: c->rel.repo = val; break;
		case O_IMAGE: c->rel.push.image_name = val; break;
		case O_COMPRESSION: c->compression = val; break;
		case O_FORMAT: c->format = val; break;
		case O_JOBS:
			if ((ret = ts_cli_parse_int(cmd->name, src, val, 1, 64, &v)) >= 0)
				return ret;
			c->rel.push.jobs = (int)v;
			break;
		case O_DIGEST_FILE: c->rel.digest_file = val; break;
		case O_METADATA_FILE: c->rel.metadata_file = val; break;
		case O_RECORD: c->rel.record_file = val; break;
		case O_DOTENV: c->rel.dotenv_file = val; break;
		case O_PIN: push_str(&c->pins, &c->rel.n_pins, val); break;
		case O_PIN_FORM: c->pin_form = val; break;
		case O_PIN_OPTIONAL: c->rel.pin_optional = true; break;
		case O_DRY_RUN: c->rel.push.dry_run = true; break;
		case O_NO_CACHE: c->rel.push.no_cache = true; break;
		case O_MOUNT_FROM: c->rel.mount_from = val; break;
		case O_CHUNK_SIZE:
			/* MiB: a registry's request body limit, e.g. 4 for GHCR-like proxies */
			if ((ret = ts_cli_parse_int(cmd->name, src, val, 1, 64, &v)) >= 0)
				return ret;
			c->ro.reg.chunk_size = v * 1024 * 1024;
			break;
		default:
			if ((ret = ts_tagopts_opt(&c->to, cmd->name, opt, val, src)) == -2 &&
			    (ret = ts_regopts_opt(&c->ro, cmd->name, opt, val, src)) == -2)
				ret = ts_cli_common_opt(cmd, opt);
			if (ret >= 0)
				return ret;
		}
	}
	return -1;
}

/* After the options: operands and the checks across options. */
static int check(const ts_command *cmd, int argc, char **argv, ts_push_cli *c)
{
	int ret;
	if (optind >= argc)
		return ts_msg_usage(cmd->name, "IMAGE is missing");
	if (optind + 1 < argc)
		return ts_msg_usage(cmd->name, "unexpected argument '%s'", argv[optind + 1]);
	c->rel.push.image_path = argv[optind];
	if (!c->rel.repo)
		return ts_msg_usage(cmd->name, "--repo REPO is required");
	if ((ret = ts_tagopts_check(&c->to, cmd->name)) >= 0)
		return ret;
	if (c->compression && strcmp(c->compression, "gzip") && strcmp(c->compression, "zstd"))
		return ts_msg_usage(cmd->name, "--compression '%s': expected gzip or zstd", c->compression);
	if (c->format && strcmp(c->format, "oci") && strcmp(c->format, "docker"))
		return ts_msg_usage(cmd->name, "--format '%s': expected oci or docker", c->format);
	if (c->pin_form && strcmp(c->pin_form, "tag-digest") && strcmp(c->pin_form, "digest"))
		return ts_msg_usage(cmd->name, "--pin-form '%s': expected tag-digest or digest", c->pin_form);
	if ((ret = ts_regopts_check(&c->ro, cmd->name)) >= 0)
		return ret;
	c->rel.push.compression = c->compression && !strcmp(c->compression, "zstd") ? TS_COMPRESS_ZSTD
										 : TS_COMPRESS_GZIP;
	c->rel.push.format = !c->format ? TS_FORMAT_KEEP
		       : !strcmp(c->format, "oci") ? TS_FORMAT_OCI : TS_FORMAT_DOCKER;
	c->rel.pin_form = c->pin_form && !strcmp(c->pin_form, "digest") ? TS_PIN_FORM_DIGEST
									 : TS_PIN_FORM_TAG_DIGEST;
	c->rel.pins = c->pins;
	c->rel.tag_source = c->to.tn;
	c->rel.on_collision = c->to.policy;
	return -1;
}

ts_code ts_push_cli_finish(ts_push_cli *c, ts_error *err)
{
	ts_code rc = ts_regopts_finish(&c->ro, 1, err);
	if (rc)
		return rc;
	c->rel.reg = c->ro.reg;
	c->rel.github_output = getenv("GITHUB_OUTPUT");
	c->rel.github_step_summary = getenv("GITHUB_STEP_SUMMARY");
	return TS_OK;
}

void ts_push_cli_free(ts_push_cli *c)
{
	ts_tagopts_free(&c->to);
	free(c->pins);
	ts_regopts_free(&c->ro);
	c->rel.reg.password = NULL;
}
