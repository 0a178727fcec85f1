/*
 * fuzz_image_tar.c - the image reader on arbitrary bytes: the input is the
 * IMAGE file (tarball, possibly gzip/zstd-wrapped) that ts_image_open and
 * ts_push_describe(compute=false) read, as `tagseal inspect` does.
 */
#include "fuzz_util.h"

#include <jansson.h>

#include "tagseal/image.h"
#include "tagseal/push.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd = fz_file(data, size, path);
	ts_push_opts o;
	ts_error err = TS_ERROR_INIT;
	json_t *j = NULL;

	memset(&o, 0, sizeof(o));
	o.image_path = path;
	o.jobs = 1;
	if (ts_push_describe(&o, false, &j, &err) == TS_OK) {
		char *s = json_dumps(j, 0);
		free(s);
		json_decref(j);
	}
	close(fd);
	return 0;
}
