/*
 * yamlpaths.h - the YAML files 'pin' and 'lint' examine: expand their PATH
 * arguments into a list of files (ts_strv), and the largest file read.
 */
#ifndef TAGSEAL_YAMLPATHS_H
#define TAGSEAL_YAMLPATHS_H

#include <stddef.h>

#include "tagseal/error.h"

/* A list of owned strings. */
typedef struct ts_strv {
	char **v;
	size_t n, cap;
} ts_strv;

#define TS_STRV_INIT { NULL, 0, 0 }

void ts_strv_push(ts_strv *sv, char *owned);
void ts_strv_free(ts_strv *sv);

/*
 * Expand paths to the YAML files to examine: a file is taken as given; a
 * directory is walked (sorted by name, depth first) for *.yaml and *.yml,
 * skipping hidden entries, symbolic links (never followed out of the tree)
 * and the templates/ directory of a Helm chart (Go templates, not YAML).
 * Each file appears once (by device and inode). Fails with TS_EUSAGE naming
 * a missing path.
 */
ts_code ts_yaml_paths(const char *const *paths, size_t npaths, ts_strv *files, ts_error *err);

/* Largest manifest read (bytes). */
#define TS_YAML_MAX (16u * 1024 * 1024)

#endif
