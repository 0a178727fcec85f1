/*
 * pushopts.c - parsing push's options into the push workflow's (release.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pushopts.h"
#include "tagseal/sigfmt.h"

enum {
	O_REPO = 1000, O_IMAGE, O_COMPRESSION, O_FORMAT, O_JOBS, O_DIGEST_FILE, O_METADATA_FILE, O_RECORD,
	O_DOTENV, O_PIN, O_PIN_FORM, O_PIN_OPTIONAL, O_COMMIT, O_GIT_PUSH, O_AUTHOR, O_DRY_RUN,
	O_NO_CACHE, O_MOUNT_FROM, O_CHUNK_SIZE,
	O_SIGN_KEY, O_ATTEST, O_PREDICATE, O_PREDICATE_TYPE, O_SIG_FORMAT, O_SIGN_RECURSIVE
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
	{ "commit", O_COMMIT, 0, TS_OPT_SWITCH, NULL,
	  "commit the files --pin changed (libgit2), a message listing\n"
	  "each change and an Image-Digest: trailer",
	  0, 0 },
	{ "git-push", O_GIT_PUSH, 0, TS_OPT_VALUE, "REMOTE[:BRANCH]",
	  "with --commit: push that commit (the CI's token or git's\n"
	  "credentials; one rebase after a non-fast-forward)",
	  0, 0 },
	{ "author", O_AUTHOR, 0, TS_OPT_VALUE, "'NAME <EMAIL>'",
	  "with --commit: the commit's author (default: the CI's identity,\n"
	  "else git's user.name/user.email)",
	  0, 0 },
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

static const ts_optdef signing_defs[] = {
	{ "sign-key", O_SIGN_KEY, 0, TS_OPT_VALUE, "FILE",
	  "sign the pushed digest (and the record line) with this\n"
	  "private key: PEM (ECDSA P-256, RSA 2048+, Ed25519;\n"
	  "encrypted PKCS#8 with TAGSEAL_KEY_PASSWORD) or cosign.key\n"
	  "(COSIGN_PASSWORD or TAGSEAL_KEY_PASSWORD); an unusable key\n"
	  "is exit 2 before anything is pushed",
	  0, 0 },
	{ "attest", O_ATTEST, 0, TS_OPT_SWITCH, NULL,
	  "also attach SLSA provenance v1 (git, CI, tag scheme)", 0, 0 },
	{ "predicate", O_PREDICATE, 0, TS_OPT_VALUE, "FILE",
	  "also attest with this JSON predicate (an SBOM, ...)", 0, 0 },
	{ "predicate-type", O_PREDICATE_TYPE, 0, TS_OPT_VALUE, "URI",
	  "the type of --predicate (required with it)", 0, 0 },
	{ "signature-format", O_SIG_FORMAT, 0, TS_OPT_VALUE, "F",
	  "bundle (a Sigstore bundle as an OCI referrer), classic\n"
	  "(cosign's sha256-<hex>.sig/.att tags) or both (default)",
	  0, 0 },
	{ "sign-recursive", O_SIGN_RECURSIVE, 0, TS_OPT_SWITCH, NULL,
	  "also sign each manifest an index lists", 0, 0 },
	{ NULL, 0, 0, 0, NULL, NULL, 0, 0 }
};

static const ts_optgroup push_groups[] = {
	{ "image", image_defs },
	{ "tag source (exactly one of --tag and --scheme, or neither for the default)",
	  ts_tagopts_defs },
	{ "outputs (each checked writable before anything is pushed)", output_defs },
	{ "signing (after the tag is read back; skipped with --dry-run)", signing_defs },
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

static int take(void *ctx, int opt, const char *val, const char *src);
static int check(const ts_command *cmd, int argc, char **argv, ts_push_cli *c);

int ts_push_cli_parse(const ts_command *cmd, int argc, char **argv, ts_push_cli *c)
{
	int ret;

	memset(c, 0, sizeof(*c));
	ts_regopts_init(&c->ro);
	c->rel.report = ts_push_cli_report;
	c->cmd = cmd;
	ret = ts_cli_parse(cmd, cmd->spec, argc, argv, take, c);
	if (ret >= 0)
		return ret;
	return check(cmd, argc, argv, c);
}

/* One option (ts_cli_parse). */
static int take(void *ctx, int opt, const char *val, const char *src)
{
	ts_push_cli *c = ctx;
	const ts_command *cmd = c->cmd;
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
		case O_COMMIT: c->rel.commit = true; break;
		case O_GIT_PUSH: c->rel.git_push = val; break;
		case O_AUTHOR: c->rel.author = val; break;
		case O_DRY_RUN: c->rel.push.dry_run = true; break;
		case O_NO_CACHE: c->rel.push.no_cache = true; break;
		case O_MOUNT_FROM: c->rel.mount_from = val; break;
		case O_SIGN_KEY: c->sign_key = val; break;
		case O_ATTEST: c->rel.attest = true; break;
		case O_PREDICATE: c->predicate = val; break;
		case O_PREDICATE_TYPE: c->rel.predicate_type = val; break;
		case O_SIG_FORMAT:
			if (!ts_sigformat_parse(val, &c->rel.sig_format))
				return ts_msg_usage(cmd->name, "%s '%s': expected bundle, classic or both",
						    src, val);
			break;
		case O_SIGN_RECURSIVE: c->rel.sign_recursive = true; break;
		case O_CHUNK_SIZE:
			/* MiB: a registry's request body limit, e.g. 4 for GHCR-like proxies */
			if ((ret = ts_cli_parse_int(cmd->name, src, val, 1, 64, &v)) >= 0)
				return ret;
			c->ro.reg.chunk_size = v * 1024 * 1024;
			break;
		default:
			if ((ret = ts_tagopts_opt(&c->to, cmd->name, opt, val, src)) == -2)
				ret = ts_regopts_opt(&c->ro, cmd->name, opt, val, src);
			if (ret != -1)
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
	if ((c->rel.git_push || c->rel.author) && !c->rel.commit)
		return ts_msg_usage(cmd->name, "--git-push and --author go with --commit");
	if (c->rel.commit && !c->rel.n_pins)
		return ts_msg_usage(cmd->name, "--commit commits what --pin changed: give --pin PATH");
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
	if (!c->sign_key && (c->rel.attest || c->predicate || c->rel.predicate_type ||
			     c->rel.sig_format || c->rel.sign_recursive))
		return ts_msg_usage(cmd->name, "--attest, --predicate, --predicate-type, "
				    "--signature-format and --sign-recursive need --sign-key FILE");
	if (!c->predicate != !c->rel.predicate_type)
		return ts_msg_usage(cmd->name, "--predicate and --predicate-type go together");
	if (c->rel.predicate_type && !ts_predicate_type_valid(c->rel.predicate_type))
		return ts_msg_usage(cmd->name, "--predicate-type '%s' is not a URI",
				    c->rel.predicate_type);
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

/* The key and the predicate, before anything is pushed: a key that cannot
 * be used, or a predicate that is not JSON, is exit 2 now. */
static ts_code load_signing(ts_push_cli *c, ts_error *err)
{
	json_error_t je;
	ts_code rc;

	if (!c->sign_key)
		return TS_OK;
	rc = ts_key_load_private(c->sign_key, &c->key, err);
	if (rc)
		return rc;
	c->rel.sign_key = c->key;
	if (c->predicate) {
		c->pred = json_load_file(c->predicate, JSON_REJECT_DUPLICATES, &je);
		if (!c->pred)
			return ts_error_setc(err, TS_C_INPUT, "--predicate '%s': %s (line %d)",
					     c->predicate, je.text, je.line);
		c->rel.predicate = c->pred;
	}
	return TS_OK;
}

ts_code ts_push_cli_finish(ts_push_cli *c, ts_error *err)
{
	ts_code rc = load_signing(c, err);
	if (rc == TS_OK)
		rc = ts_regopts_finish(&c->ro, 1, err);
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
	ts_key_free(c->key);
	json_decref(c->pred);
	c->key = NULL;
	c->pred = NULL;
}
