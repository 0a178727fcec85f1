/*
 * yamlpaths.c - expand the PATH arguments of 'pin' and 'lint' into the list
 * of YAML files to examine: deterministic order, each file once, symbolic
 * links never followed while walking.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tagseal/yamlpaths.h"

/* The identity of each file of the list, in the list's order. */
typedef struct fid {
	dev_t dev;
	ino_t ino;
	size_t index;
} fid;

typedef struct seen {
	fid *v;
	size_t n, cap;
} seen;

void ts_strv_push(ts_strv *sv, char *owned)
{
	if (sv->n == sv->cap) {
		sv->cap = sv->cap ? sv->cap * 2 : 16;
		sv->v = ts_realloc(sv->v, sv->cap * sizeof(*sv->v));
	}
	sv->v[sv->n++] = owned;
}

void ts_strv_free(ts_strv *sv)
{
	if (!sv)
		return;
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

static void add_file(ts_strv *files, seen *s, const char *path, const struct stat *st)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = ts_realloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n].dev = st->st_dev;
	s->v[s->n].ino = st->st_ino;
	s->v[s->n].index = files->n;
	s->n++;
	ts_strv_push(files, ts_strdup(path));
}

static int fid_cmp(const void *a, const void *b)
{
	const fid *x = a, *y = b;
	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Keep the first entry of each file (by device and inode), in order. */
static void drop_repeats(ts_strv *files, seen *s)
{
	size_t w = 0;
	qsort(s->v, s->n, sizeof(*s->v), fid_cmp);
	for (size_t i = 1; i < s->n; i++)
		if (s->v[i].dev == s->v[i - 1].dev && s->v[i].ino == s->v[i - 1].ino) {
			free(files->v[s->v[i].index]);
			files->v[s->v[i].index] = NULL;
		}
	for (size_t i = 0; i < files->n; i++)
		if (files->v[i])
			files->v[w++] = files->v[i];
	files->n = w;
}

static bool yaml_name(const char *name)
{
	size_t n = strlen(name);
	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	       (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static bool has_entry(struct dirent **ents, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(ents[i]->d_name, name) == 0)
			return true;
	return false;
}

static ts_code walk_dir(const char *dir, ts_strv *files, seen *s, ts_error *err)
{
	struct dirent **ents = NULL;
	int n = scandir(dir, &ents, NULL, by_name);
	bool chart;
	ts_code rc = TS_OK;

	if (n < 0)
		return ts_error_set(err, TS_EUSAGE, "%s: cannot read directory: %s", dir,
				    strerror(errno));
	chart = has_entry(ents, n, "Chart.yaml");
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		struct stat st;
		char *path;
		if (rc != TS_OK || name[0] == '.' || (chart && strcmp(name, "templates") == 0))
			continue;
		path = strcmp(dir, "/") == 0 ? ts_asprintf("/%s", name)
					     : ts_asprintf("%s/%s", dir, name);
		if (lstat(path, &st) != 0)
			rc = ts_error_set(err, TS_EUSAGE, "%s: %s", path, strerror(errno));
		else if (S_ISDIR(st.st_mode))
			rc = walk_dir(path, files, s, err);
		else if (S_ISREG(st.st_mode) && yaml_name(name))
			add_file(files, s, path, &st);
		free(path);
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return rc;
}

ts_code ts_yaml_paths(const char *const *paths, size_t npaths, ts_strv *files, ts_error *err)
{
	seen s = { NULL, 0, 0 };
	ts_code rc = TS_OK;

	for (size_t i = 0; i < npaths && rc == TS_OK; i++) {
		struct stat st;
		size_t len = strlen(paths[i]);
		char *p = ts_strdup(paths[i]);
		while (len > 1 && p[len - 1] == '/')
			p[--len] = '\0';
		if (stat(p, &st) != 0)
			rc = ts_error_set(err, TS_EUSAGE, "%s: %s", paths[i], strerror(errno));
		else if (S_ISDIR(st.st_mode))
			rc = walk_dir(p, files, &s, err);
		else if (S_ISREG(st.st_mode))
			add_file(files, &s, p, &st);
		else
			rc = ts_error_set(err, TS_EUSAGE, "%s: not a regular file or directory",
					  paths[i]);
		free(p);
	}
	if (rc == TS_OK)
		drop_repeats(files, &s);
	free(s.v);
	if (rc != TS_OK)
		ts_strv_free(files);
	return rc;
}
