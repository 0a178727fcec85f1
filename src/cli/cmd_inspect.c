/*
 * cmd_inspect.c - 'tagseal inspect IMAGE': what push would upload, as JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tagseal/push.h"

static int run(int argc, char **argv);

enum { O_IMAGE = 1000, O_COMPRESSION, O_FORMAT, O_NO_COMPUTE };

static const ts_optdef inspect_defs[] = {
	{ "image", O_IMAGE, 0, TS_OPT_VALUE, "NAME", "choose one image of several in IMAGE", 0, 0 },
	{ "compression", O_COMPRESSION, 0, TS_OPT_VALUE, "ALG", "gzip (default) or zstd", 0, 0 },
	{ "format", O_FORMAT, 0, TS_OPT_VALUE, "FMT",
	  "oci or docker manifests (default: the source's family)", 0, 0 },
	{ "no-compute", O_NO_COMPUTE, 0, TS_OPT_SWITCH, NULL,
	  "do not compress layers to learn their digests", 0, 0 },
	{ NULL, 0, 0, 0, NULL, NULL, 0, 0 }
};

static const ts_optgroup inspect_groups[] = { { "options", inspect_defs }, TS_COMMON_GROUP,
					      { NULL, NULL } };

static const ts_cmdspec inspect_spec = {
	"inspect IMAGE [--image NAME] [--compression gzip|zstd] [--format oci|docker] [--no-compute]",
	"Print one JSON object describing what 'tagseal push' would upload from IMAGE:\n"
	"the top manifest or index (mediaType, digest, size) and, per manifest, the\n"
	"config and every layer (source member, source compression, diffID, the\n"
	"mediaType, digest and size pushed). Layers stored uncompressed are compressed\n"
	"to learn their digests, exactly as push would; --no-compute skips that and\n"
	"prints null for digests that are not yet known. Nothing is uploaded.\n",
	inspect_groups, NULL,
	"0 the description was printed\n2 bad usage, or an IMAGE that cannot be read\n",
};

const ts_command ts_cmd_inspect = { "inspect", run, "print, as JSON, what push would upload", &inspect_spec };

/* What inspect's options fill (ts_cli_parse's context). */
typedef struct inspect_args {
	ts_push_opts o;
	bool compute;
} inspect_args;

/* One option (ts_cli_parse). */
static int take_opt(void *ctx, int opt, const char *arg, const char *src)
{
	inspect_args *a = ctx;
	switch (opt) {
	case O_IMAGE: a->o.image_name = arg; return -1;
	case O_COMPRESSION:
		if (strcmp(arg, "gzip") && strcmp(arg, "zstd"))
			return ts_msg_usage("inspect", "%s '%s': expected gzip or zstd", src, arg);
		a->o.compression = strcmp(arg, "zstd") ? TS_COMPRESS_GZIP : TS_COMPRESS_ZSTD;
		return -1;
	case O_FORMAT:
		if (strcmp(arg, "oci") && strcmp(arg, "docker"))
			return ts_msg_usage("inspect", "%s '%s': expected oci or docker", src, arg);
		a->o.format = strcmp(arg, "oci") ? TS_FORMAT_DOCKER : TS_FORMAT_OCI;
		return -1;
	case O_NO_COMPUTE: a->compute = false; return -1;
	default: return -2;
	}
}

static int run(int argc, char **argv)
{
	inspect_args ia = { .compute = true };
	ts_push_opts *op = &ia.o;
	ts_error err = TS_ERROR_INIT;
	json_t *j = NULL;
	char *s;
	int ret = ts_cli_parse(&ts_cmd_inspect, &inspect_spec, argc, argv, take_opt, &ia);

	if (ret >= 0)
		return ret;
	if (optind >= argc)
		return ts_msg_usage("inspect", "IMAGE is missing");
	if (optind + 1 < argc)
		return ts_msg_usage("inspect", "unexpected argument '%s'", argv[optind + 1]);
	op->image_path = argv[optind];
	if (ts_push_describe(op, ia.compute, &j, &err) != TS_OK)
		return ts_msg_fail(&err);
	s = json_dumps(j, JSON_INDENT(2));
	puts(s);
	free(s);
	json_decref(j);
	return 0;
}
