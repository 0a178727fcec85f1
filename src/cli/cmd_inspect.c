/*
 * cmd_inspect.c - 'tagseal inspect IMAGE': what push would upload, as JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tagseal/push.h"

static int run(int argc, char **argv);

const ts_command ts_cmd_inspect = {
	"inspect", run, "print, as JSON, what push would upload",
	"usage: tagseal inspect IMAGE [--image NAME] [--compression gzip|zstd] [--format oci|docker]\n"
	"                       [--no-compute]\n"
	"\n"
	"Print one JSON object describing what 'tagseal push' would upload from IMAGE:\n"
	"the top manifest or index (mediaType, digest, size) and, per manifest, the\n"
	"config and every layer (source member, source compression, diffID, the\n"
	"mediaType, digest and size pushed). Layers stored uncompressed are compressed\n"
	"to learn their digests, exactly as push would; --no-compute skips that and\n"
	"prints null for digests that are not yet known. Nothing is uploaded.\n"
	"\n"
	"  --image NAME         choose one image of several in IMAGE\n"
	"  --compression ALG    gzip (default) or zstd\n"
	"  --format FMT         oci or docker manifests (default: the source's family)\n"
	"  --no-compute         do not compress layers to learn their digests\n"
	TS_COMMON_USAGE,
};

enum { O_IMAGE = 1000, O_COMPRESSION, O_FORMAT, O_NO_COMPUTE };

static const struct option longopts[] = {
	{ "image", required_argument, NULL, O_IMAGE },
	{ "compression", required_argument, NULL, O_COMPRESSION },
	{ "format", required_argument, NULL, O_FORMAT },
	{ "no-compute", no_argument, NULL, O_NO_COMPUTE },
	TS_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

static int run(int argc, char **argv)
{
	ts_push_opts o;
	ts_error err = TS_ERROR_INIT;
	bool compute = true;
	json_t *j = NULL;
	char *s;
	int opt, ret;

	memset(&o, 0, sizeof(o));
	optind = 1;
	while ((opt = getopt_long(argc, argv, TS_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		switch (opt) {
		case O_IMAGE: o.image_name = optarg; break;
		case O_COMPRESSION:
			if (strcmp(optarg, "gzip") && strcmp(optarg, "zstd"))
				return ts_msg_usage("inspect", "--compression '%s': expected gzip or zstd", optarg);
			o.compression = strcmp(optarg, "zstd") ? TS_COMPRESS_GZIP : TS_COMPRESS_ZSTD;
			break;
		case O_FORMAT:
			if (strcmp(optarg, "oci") && strcmp(optarg, "docker"))
				return ts_msg_usage("inspect", "--format '%s': expected oci or docker", optarg);
			o.format = strcmp(optarg, "oci") ? TS_FORMAT_DOCKER : TS_FORMAT_OCI;
			break;
		case O_NO_COMPUTE: compute = false; break;
		default:
			if ((ret = ts_cli_common_opt(&ts_cmd_inspect, opt)) >= 0)
				return ret;
		}
	}
	if (optind >= argc)
		return ts_msg_usage("inspect", "IMAGE is missing");
	if (optind + 1 < argc)
		return ts_msg_usage("inspect", "unexpected argument '%s'", argv[optind + 1]);
	o.image_path = argv[optind];
	if (ts_push_describe(&o, compute, &j, &err) != TS_OK)
		return ts_msg_fail(&err);
	s = json_dumps(j, JSON_INDENT(2));
	puts(s);
	free(s);
	json_decref(j);
	return 0;
}
