/*
 * fuzz_record.c - the change-record reader on arbitrary bytes: the input
 * is a record file read with ts_record_reader_*, and every line is parsed
 * with ts_record_line_parse and hashed as the chain does.
 */
#include "fuzz_util.h"

#include <jansson.h>

#include "tagseal/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd = fz_file(data, size, path);
	ts_record_reader *rd = NULL;
	ts_error err = TS_ERROR_INIT;
	size_t seen = 0;

	if (ts_record_reader_open(path, &rd, &err) == TS_OK) {
		for (;;) {
			ts_record_rline line;
			bool more = false;
			char why[256], dig[TS_DIGEST_STRLEN];
			json_t *j;
			if (ts_record_reader_next(rd, &line, &more, &err) != TS_OK || !more)
				break;
			if (line.number != ++seen || line.len > size)
				abort();
			j = ts_record_line_parse(line.data, line.len, why, sizeof(why));
			if (j)
				json_decref(j);
			else if (strchr(why, '\n') && getenv("TS_FUZZ_ONE_LINE"))
				abort(); /* see fz_check_msg */
			ts_record_line_digest(line.data, line.len, dig);
		}
		ts_record_reader_free(rd);
	}
	close(fd);
	return 0;
}
