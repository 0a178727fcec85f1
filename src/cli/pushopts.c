/*
 * pushopts.c - parsing push's options and writing its outputs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pushopts.h"
#include "tagseal/fsutil.h"
#include "tagseal/outputs.h"
#include "tagseal/pin.h"
#include "tagseal/record.h"

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

/* Step-by-step progress is detail: shown with -v. */
static void log_progress(const char *line)
{
	ts_msg_verbose("%s", line);
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
	c->push.progress = log_progress;
	optind = 1;
	while ((opt = getopt_long(argc, argv, TS_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		switch (opt) {
		case O_REPO: c->repo_str = optarg; break;
		case O_IMAGE: c->push.image_name = optarg; break;
		case O_COMPRESSION: c->compression = optarg; break;
		case O_FORMAT: c->format = optarg; break;
		case O_JOBS:
			if ((ret = ts_cli_parse_int(cmd->name, "--jobs", optarg, 1, 64, &v)) >= 0)
				return ret;
			c->push.jobs = (int)v;
			break;
		case O_DIGEST_FILE: c->digest_file = optarg; break;
		case O_METADATA_FILE: c->metadata_file = optarg; break;
		case O_RECORD: c->record_file = optarg; break;
		case O_DOTENV: c->dotenv_file = optarg; break;
		case O_PIN: push_str(&c->pins, &c->n_pins, optarg); break;
		case O_PIN_FORM: c->pin_form = optarg; break;
		case O_DRY_RUN: c->push.dry_run = true; break;
		case O_NO_CACHE: c->push.no_cache = true; break;
		case O_MOUNT_FROM: c->mount_from = optarg; break;
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
	if (ts_msg_verbosity() < 0)
		c->push.progress = NULL;
	if (optind >= argc)
		return ts_msg_usage(cmd->name, "IMAGE is missing");
	if (optind + 1 < argc)
		return ts_msg_usage(cmd->name, "unexpected argument '%s'", argv[optind + 1]);
	c->push.image_path = argv[optind];
	if (!c->repo_str)
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
	c->push.compression = c->compression && !strcmp(c->compression, "zstd") ? TS_COMPRESS_ZSTD
										 : TS_COMPRESS_GZIP;
	c->push.format = !c->format ? TS_FORMAT_KEEP
		       : !strcmp(c->format, "oci") ? TS_FORMAT_OCI : TS_FORMAT_DOCKER;
	return -1;
}

/* With --on-collision bump (or to honour the alias rule), the registry's
 * tags. The connection stays open for the push itself. */
static ts_code registry_tags(ts_push_cli *c, char ***tags, size_t *n, ts_error *err)
{
	if (!c->push.registry) {
		ts_code rc = ts_registry_open(&c->repo, &c->push.reg, &c->push.registry, err);
		if (rc)
			return rc;
	}
	return ts_registry_tags_list(c->push.registry, tags, n, err);
}

static ts_code resolve_tags(ts_push_cli *c, ts_error *err)
{
	ts_code rc;
	char **existing = NULL;
	size_t n_existing = 0;
	bool bump = c->to.policy == TS_COLLISION_BUMP;

	rc = ts_tagname_resolve(&c->to.tn, &c->tres, err);
	if (rc)
		return rc;
	c->have_tres = true;
	if (c->tres.note)
		ts_msg_info("%s", c->tres.note);
	if ((bump || c->tres.n_aliases) && !c->push.dry_run) {
		rc = registry_tags(c, &existing, &n_existing, err);
		if (rc)
			return rc;
	}
	if (bump) {
		char *picked = NULL;
		rc = ts_tagname_pick_free(c->tres.tag, existing, n_existing, TS_COLLISION_BUMP, &picked, err);
		if (rc == TS_OK && strcmp(picked, c->tres.tag) != 0) {
			ts_msg_info("tag %s is taken; using %s", c->tres.tag, picked);
			free(c->tres.tag);
			c->tres.tag = picked;
		} else {
			free(picked);
		}
	}
	c->aliases = ts_calloc(c->tres.n_aliases + 1, sizeof(char *));
	for (size_t i = 0; rc == TS_OK && i < c->tres.n_aliases; i++) {
		char *why = NULL;
		const ts_tag_alias *a = &c->tres.aliases[i];
		if (!ts_alias_may_move(a, c->tres.have_version ? &c->tres.version : NULL, existing,
				       n_existing, &why)) {
			ts_msg_info("alias %s not moved: %s", a->tag, why ? why : "rule");
		} else {
			c->aliases[c->push.n_aliases++] = a->tag;
		}
		free(why);
	}
	c->push.aliases = (const char *const *)c->aliases;
	ts_registry_tags_free(existing);
	c->push.tag = c->tres.tag;
	return rc;
}

/* Pin into c->pins; with dry_run only check that every file can be pinned. */
static ts_code pin(ts_push_cli *c, const char *digest, bool dry_run, ts_pin_report *rep,
		   ts_error *err)
{
	char *image = ts_asprintf("%s:%s@%s", c->repo_str, c->push.tag, digest);
	ts_pin_opts po = { image, TS_PIN_FORM_TAG_DIGEST, dry_run };
	ts_code rc;
	if (c->pin_form && !strcmp(c->pin_form, "digest"))
		po.form = TS_PIN_FORM_DIGEST;
	rc = ts_pin_apply(&po, c->pins, c->n_pins, rep, err);
	free(image);
	return rc;
}

ts_code ts_push_cli_prepare(ts_push_cli *c, ts_error *err)
{
	ts_code rc = ts_repo_parse(c->repo_str, &c->repo, "--repo", err);
	if (rc)
		return rc;
	c->push.repo = &c->repo;
	/* a name in the tarball is compared as a reference: never repeat one
	 * that carries user:password@ */
	if (c->push.image_name && ts_refuse_userinfo(c->push.image_name, "--image", err))
		return TS_EUSAGE;
	if (c->mount_from) {
		rc = ts_repo_parse(c->mount_from, &c->mount_repo, "--mount-from", err);
		if (rc)
			return rc;
		if (strcmp(c->mount_repo.host, c->repo.host) != 0)
			return ts_error_set(err, TS_EUSAGE,
					    "--mount-from '%s' is on %s, not on the registry of --repo (%s)",
					    c->mount_from, c->mount_repo.host, c->repo.host);
		c->push.mount_from = c->mount_repo.path;
	}
	rc = ts_regopts_finish(&c->ro, 1, err);
	if (rc)
		return rc;
	c->push.reg = c->ro.reg;
	/* output files are refused now, not after the tag is pushed */
	{
		const char *outs[] = { c->digest_file, c->metadata_file, c->dotenv_file };
		const char *names[] = { "--digest-file", "--metadata-file", "--dotenv" };
		for (int i = 0; i < 3; i++) {
			struct stat st;
			if (outs[i] && lstat(outs[i], &st) == 0 && !S_ISREG(st.st_mode))
				return ts_error_set(err, TS_EUSAGE, "%s '%s' is %s; refusing to write to it",
						    names[i], outs[i],
						    S_ISLNK(st.st_mode) ? "a symbolic link" : "not a regular file");
		}
	}
	if (c->record_file || c->metadata_file)
		c->source_hash = ts_file_hash_start(c->push.image_path);
	rc = resolve_tags(c, err);
	/* a damaged record is refused before anything is pushed */
	if (rc == TS_OK && c->record_file)
		rc = ts_record_check_appendable(c->record_file, err);
	if (rc == TS_OK && c->n_pins) {
		/* every manifest must parse before anything is pushed */
		ts_pin_report rep = TS_PIN_REPORT_INIT;
		rc = pin(c, "sha256:0000000000000000000000000000000000000000000000000000000000000000",
			 true, &rep, err);
		ts_pin_report_free(&rep);
	}
	return rc;
}

static ts_code write_digest_file(const char *path, const char *digest, ts_error *err)
{
	char line[TS_DIGEST_STRLEN + 1];
	snprintf(line, sizeof(line), "%s\n", digest);
	return ts_write_file_atomic(path, line, strlen(line), 0644, "--digest-file", err);
}

ts_code ts_push_cli_outputs(ts_push_cli *c, const ts_push_result *res, ts_error *err)
{
	ts_push_facts f = TS_PUSH_FACTS_INIT;
	ts_output_paths paths = { c->metadata_file, c->dotenv_file, getenv("GITHUB_OUTPUT"),
				  getenv("GITHUB_STEP_SUMMARY") };
	ts_code rc = TS_OK;
	char *version = NULL;
	ts_pin_report rep = TS_PIN_REPORT_INIT;
	ts_pinned_file *pinned = NULL;
	char source_sha[TS_DIGEST_STRLEN];

	f.repository = c->repo_str;
	f.tag = c->push.tag;
	f.digest = res->digest;
	f.media_type = res->media_type;
	f.size = res->size;
	f.aliases = c->push.aliases;
	f.n_aliases = c->push.n_aliases;
	f.platforms = (const char *const *)res->platforms;
	f.n_platforms = res->n_platforms;
	f.source_path = c->push.image_path;
	if (c->source_hash) {
		ts_file_hash_finish(c->source_hash, source_sha);
		c->source_hash = NULL;
		if (source_sha[0])
			f.source_sha256 = source_sha;
	}
	if (c->have_tres) {
		if (c->tres.have_git) {
			f.git_commit = c->tres.git.commit;
			f.git_ref = c->tres.branch;
			f.git_dirty = c->tres.git.dirty ? 1 : 0;
		}
		if (c->tres.have_version)
			f.git_version = version = ts_semver_format(&c->tres.version);
		f.ci_provider = c->tres.ci.provider;
		f.ci_build = c->tres.build;
		f.ci_url = c->tres.ci.run_url;
		f.ci_actor = c->tres.ci.actor;
	}
	if (c->n_pins) {
		rc = pin(c, res->digest, false, &rep, err);
		if (rc == TS_OK) {
			pinned = ts_calloc(rep.nchanges + 1, sizeof(*pinned));
			for (size_t i = 0; i < rep.nchanges; i++) {
				const ts_pin_change *ch = &rep.changes[i];
				ts_msg_info("%s:%zu: %s -> %s", ch->path, ch->line, ch->old_ref, ch->new_ref);
				pinned[i].path = ch->path;
				pinned[i].line = (long)ch->line;
				pinned[i].old_ref = ch->old_ref;
				pinned[i].new_ref = ch->new_ref;
			}
			f.pinned = pinned;
			f.n_pinned = rep.nchanges;
			if (rep.nrefs == 0)
				ts_msg_warn("--pin: no reference to %s found in the files given", c->repo_str);
		}
	}
	if (rc == TS_OK && c->digest_file)
		rc = write_digest_file(c->digest_file, res->digest, err);
	if (rc == TS_OK)
		rc = ts_outputs_write(&f, &paths, err);
	if (rc == TS_OK && c->record_file)
		rc = ts_record_append(c->record_file, &f, err);
	free(version);
	free(pinned);
	ts_pin_report_free(&rep);
	return rc;
}

void ts_push_cli_free(ts_push_cli *c)
{
	ts_tagopts_free(&c->to);
	free(c->pins);
	free(c->aliases);
	if (c->have_tres)
		ts_tagname_result_free(&c->tres);
	ts_ref_free(&c->repo);
	ts_ref_free(&c->mount_repo);
	if (c->source_hash) {
		char ignored[TS_DIGEST_STRLEN];
		ts_file_hash_finish(c->source_hash, ignored);
		c->source_hash = NULL;
	}
	ts_registry_free(c->push.registry);
	c->push.registry = NULL;
	ts_regopts_free(&c->ro);
	c->push.reg.password = NULL;
}
