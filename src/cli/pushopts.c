/*
 * pushopts.c - parsing push's options into the push workflow's (release.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pushopts.h"

enum {
	O_REPO = 1000, O_IMAGE, O_COMPRESSION, O_FORMAT, O_JOBS, O_DIGEST_FILE, O_METADATA_FILE, O_RECORD,
	O_DOTENV, O_PIN, O_PIN_FORM, O_DRY_RUN, O_NO_CACHE, O_MOUNT_FROM, O_CHUNK_SIZE
};

static const struct option longopts[] = {
	{ "repo", required_argument, NULL, O_REPO },
	TS_TAGOPTS_LONGOPTS,
	{ "image", required_argument, NULL, O_IMAGE },
	{ "compression", required_argument, NULL, O_COMPRESSION },
	{ "format", required_argument, NULL, O_FORMAT },
	{ "jobs", required_argument, NULL, O_JOBS },
	{ "digest-file", required_argument, NULL, O_DIGEST_FILE },
	{ "metadata-file", required_argument, NULL, O_METADATA_FILE },
	{ "record", required_argument, NULL, O_RECORD },
	{ "dotenv", required_argument, NULL, O_DOTENV },
	{ "pin", required_argument, NULL, O_PIN },
	{ "pin-form", required_argument, NULL, O_PIN_FORM },
	TS_REGOPTS_LONGOPTS,
	{ "dry-run", no_argument, NULL, O_DRY_RUN },
	{ "no-cache", no_argument, NULL, O_NO_CACHE },
	{ "mount-from", required_argument, NULL, O_MOUNT_FROM },
	{ "chunk-size", required_argument, NULL, O_CHUNK_SIZE },
	TS_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 }
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

int ts_push_cli_parse(const ts_command *cmd, int argc, char **argv, ts_push_cli *c)
{
	int opt, ret;
	long v = 0;

	memset(c, 0, sizeof(*c));
	ts_regopts_init(&c->ro);
	c->rel.report = ts_push_cli_report;
	optind = 1;
	while ((opt = getopt_long(argc, argv, TS_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		switch (opt) {
		case O_REPO: c->rel.repo = optarg; break;
		case O_IMAGE: c->rel.push.image_name = optarg; break;
		case O_COMPRESSION: c->compression = optarg; break;
		case O_FORMAT: c->format = optarg; break;
		case O_JOBS:
			if ((ret = ts_cli_parse_int(cmd->name, "--jobs", optarg, 1, 64, &v)) >= 0)
				return ret;
			c->rel.push.jobs = (int)v;
			break;
		case O_DIGEST_FILE: c->rel.digest_file = optarg; break;
		case O_METADATA_FILE: c->rel.metadata_file = optarg; break;
		case O_RECORD: c->rel.record_file = optarg; break;
		case O_DOTENV: c->rel.dotenv_file = optarg; break;
		case O_PIN: push_str(&c->pins, &c->rel.n_pins, optarg); break;
		case O_PIN_FORM: c->pin_form = optarg; break;
		case O_DRY_RUN: c->rel.push.dry_run = true; break;
		case O_NO_CACHE: c->rel.push.no_cache = true; break;
		case O_MOUNT_FROM: c->rel.mount_from = optarg; break;
		case O_CHUNK_SIZE:
			/* MiB: a registry's request body limit, e.g. 4 for GHCR-like proxies */
			if ((ret = ts_cli_parse_int(cmd->name, "--chunk-size", optarg, 1, 64, &v)) >= 0)
				return ret;
			c->ro.reg.chunk_size = v * 1024 * 1024;
			break;
		default:
			if ((ret = ts_tagopts_opt(&c->to, cmd->name, opt, optarg)) == -2 &&
			    (ret = ts_regopts_opt(&c->ro, cmd->name, opt, optarg)) == -2)
				ret = ts_cli_common_opt(cmd, opt);
			if (ret >= 0)
				return ret;
		}
	}
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
