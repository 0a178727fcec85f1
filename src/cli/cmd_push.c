/*
 * cmd_push.c - 'tagseal push IMAGE --repo REPO [--tag TAG | --scheme T]': the
 * options into the push workflow (release.h), its reference onto stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "progress.h"
#include "pushopts.h"
#include "tagseal/release.h"

static int run(int argc, char **argv);

const ts_command ts_cmd_push = {
	"push", run, "push an image under one new immutable tag",
	"usage: tagseal push IMAGE --repo REPO [--tag TAG | --scheme TEMPLATE] [OPTIONS]\n"
	"\n"
	"Push IMAGE (a docker save tarball, an OCI layout tarball or directory, plain or\n"
	"compressed with gzip or zstd) to REPO under one new immutable tag. A tag that\n"
	"exists with other content is never overwritten (exit 3); the same content under\n"
	"the same tag is a success that changes nothing. The tag is read back after the\n"
	"push (exit 5 if another writer raced us). Last stdout line: REPO:TAG@DIGEST.\n"
	"\n"
	"image:\n"
	"  --image NAME         choose one image of several in IMAGE (RepoTags entry or\n"
	"                       org.opencontainers.image.ref.name)\n"
	"  --compression ALG    gzip (default) or zstd, for layers stored uncompressed\n"
	"  --format FMT         oci or docker manifests (default: the source's family)\n"
	"  --jobs N             compression threads (default: the cores, at most 8), and\n"
	"                       how many already-compressed layers go up at once (at most 4)\n"
	"  --no-cache           do not use the local layer cache ($XDG_CACHE_HOME/tagseal)\n"
	TS_PUSH_TAG_USAGE
	TS_PUSH_OUTPUT_USAGE
	TS_REGISTRY_USAGE
	"  --dry-run            compute the digest, upload nothing\n"
	TS_COMMON_USAGE,
};

static int run(int argc, char **argv)
{
	ts_push_cli c;
	ts_release *rel = NULL;
	ts_release_result res;
	ts_error err = TS_ERROR_INIT;
	int ret;

	ret = ts_push_cli_parse(&ts_cmd_push, argc, argv, &c);
	if (ret >= 0)
		return ret;
	c.rel.progress = ts_progress_cli(); /* live progress on stderr (progress.c) */
	if (ts_push_cli_finish(&c, &err) != TS_OK ||
	    ts_release_prepare(&c.rel, &rel, &err) != TS_OK ||
	    ts_release_run(rel, &res, &err) != TS_OK) {
		ts_release_free(rel);
		ts_push_cli_free(&c);
		return ts_msg_fail(&err);
	}
	printf("%s:%s@%s\n", c.rel.repo, res.tag, res.digest);
	ts_release_free(rel);
	ts_push_cli_free(&c);
	return 0;
}
