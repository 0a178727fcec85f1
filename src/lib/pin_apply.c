/*
 * pin_apply.c - ts_pin_apply (and ts_pin_apply_chosen, a target per
 * finding): pin across many files, all or nothing.
 *
 * 1. expand the paths, read every file, rewrite each in memory (pin.c);
 * 2. for each file that changes: prove it is still the file that was read,
 *    is not a symlink or immutable, and that its directory takes a new file;
 * 3. only then replace each with ts_write_file_atomic. Should a write still
 *    fail, the files already replaced are put back from memory.
 * --dry-run stops after 1 and renders a unified diff (libgit2).
 */
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <libgen.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tagseal/fsutil.h"
#include "tagseal/pin.h"

typedef struct pfile {
	char *path;
	struct stat st;
	ts_buf old, new;
} pfile;

typedef struct pfiles {
	pfile *v;
	size_t n;
} pfiles;

static void pfiles_free(pfiles *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].path);
		ts_buf_free(&f->v[i].old);
		ts_buf_free(&f->v[i].new);
	}
	free(f->v);
}

static bool changed(const pfile *f)
{
	return f->old.len != f->new.len || memcmp(ts_buf_cstr(&f->old), ts_buf_cstr(&f->new),
						  f->old.len) != 0;
}

static ts_code prepare(const ts_pin_opts *opts, const ts_pin_choice *choice,
		       const ts_strv *paths, pfiles *files, ts_pin_report *rep, ts_error *err)
{
	ts_code rc = TS_OK;
	files->v = ts_calloc(paths->n + 1, sizeof(*files->v));
	for (size_t i = 0; i < paths->n && rc == TS_OK; i++) {
		pfile *f = &files->v[files->n++];
		f->path = ts_strdup(paths->v[i]);
		if (lstat(f->path, &f->st) != 0)
			return ts_error_set(err, TS_EUSAGE, "%s: %s", f->path, strerror(errno));
		rc = ts_read_file(f->path, TS_YAML_MAX, &f->old, "manifest", err);
		if (rc == TS_OK)
			rc = ts_pin_rewrite_chosen(opts, choice, f->path, ts_buf_cstr(&f->old),
						   f->old.len, &f->new, rep, err);
		rep->nscanned++;
	}
	return rc;
}

/* Refuse now what would make a rename fail later. */
static ts_code probe(const pfile *f, ts_error *err)
{
	struct stat st;
	char *copy, *dir, *tmp;
	int fd, flags = 0;
	ts_code rc = TS_OK;

	if (lstat(f->path, &st) != 0)
		return ts_error_set(err, TS_EUSAGE, "%s: %s", f->path, strerror(errno));
	if (S_ISLNK(st.st_mode))
		return ts_error_set(err, TS_EUSAGE,
				    "%s is a symbolic link; refusing to write through it", f->path);
	if (st.st_ino != f->st.st_ino || st.st_size != f->st.st_size ||
	    st.st_mtim.tv_sec != f->st.st_mtim.tv_sec || st.st_mtim.tv_nsec != f->st.st_mtim.tv_nsec)
		return ts_error_set(err, TS_EUSAGE, "%s changed while tagseal was reading it",
				    f->path);
	fd = open(f->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0) {
		if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 &&
		    (flags & (FS_IMMUTABLE_FL | FS_APPEND_FL)))
			rc = ts_error_set(err, TS_EUSAGE,
					  "%s is immutable or append-only (chattr); cannot replace it",
					  f->path);
		close(fd);
	}
	if (rc)
		return rc;
	copy = ts_strdup(f->path);
	dir = dirname(copy);
	tmp = ts_asprintf("%s/.tmp.tagseal-XXXXXX", dir);
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = ts_error_set(err, TS_EUSAGE, "%s: cannot write in directory '%s': %s",
				  f->path, dir, strerror(errno));
	} else {
		close(fd);
		unlink(tmp);
	}
	free(tmp);
	free(copy);
	return rc;
}

static void rollback(const pfiles *files, size_t upto)
{
	ts_error ignored = TS_ERROR_INIT;
	for (size_t i = 0; i < upto; i++)
		if (changed(&files->v[i]))
			ts_write_file_atomic(files->v[i].path, ts_buf_cstr(&files->v[i].old),
					     files->v[i].old.len, 0644, "manifest", &ignored);
}

static ts_code commit(const pfiles *files, ts_error *err)
{
	for (size_t i = 0; i < files->n; i++) {
		const pfile *f = &files->v[i];
		if (!changed(f))
			continue;
		if (ts_write_file_atomic(f->path, ts_buf_cstr(&f->new), f->new.len, 0644, "manifest",
					 err) != TS_OK) {
			char first[sizeof(err->msg)];
			ts_code code = err->code;
			memcpy(first, err->msg, sizeof(first));
			rollback(files, i);
			ts_error_setc(err, err->cause, "%s (files written before it were restored)",
				      first);
			err->code = code;
			return code;
		}
	}
	return TS_OK;
}

static ts_code diff_one(const pfile *f, ts_buf *out, ts_error *err)
{
	git_patch *patch = NULL;
	git_buf gb = { 0 };
	git_diff_options o;
	int rc;

	git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
	o.flags |= GIT_DIFF_FORCE_TEXT;
	rc = git_patch_from_buffers(&patch, ts_buf_cstr(&f->old), f->old.len, f->path,
				    ts_buf_cstr(&f->new), f->new.len, f->path, &o);
	if (rc == 0)
		rc = git_patch_to_buf(&gb, patch);
	if (rc == 0)
		ts_buf_put(out, gb.ptr, gb.size);
	git_buf_dispose(&gb);
	git_patch_free(patch);
	if (rc != 0)
		return ts_error_set(err, TS_EINTERNAL, "%s: cannot render the diff: %s", f->path,
				    git_error_last() ? git_error_last()->message : "libgit2 error");
	return TS_OK;
}

static ts_code render_diff(const pfiles *files, ts_pin_report *rep, ts_error *err)
{
	ts_buf out = TS_BUF_INIT;
	ts_code rc = TS_OK;
	git_libgit2_init();
	for (size_t i = 0; i < files->n && rc == TS_OK; i++)
		if (changed(&files->v[i]))
			rc = diff_one(&files->v[i], &out, err);
	git_libgit2_shutdown();
	rep->diff = ts_buf_detach(&out);
	if (!rep->diff)
		rep->diff = ts_strdup("");
	return rc;
}

ts_code ts_pin_apply(const ts_pin_opts *opts, const char *const *paths, size_t npaths,
		     ts_pin_report *report, ts_error *err)
{
	return ts_pin_apply_chosen(opts, NULL, paths, npaths, report, err);
}

ts_code ts_pin_apply_chosen(const ts_pin_opts *opts, const ts_pin_choice *choice,
			    const char *const *paths, size_t npaths, ts_pin_report *report,
			    ts_error *err)
{
	ts_strv names = TS_STRV_INIT;
	pfiles files = { NULL, 0 };
	ts_code rc = choice ? TS_OK : ts_pin_opts_check(opts, err);

	if (rc == TS_OK)
		rc = ts_yaml_paths(paths, npaths, &names, err);
	if (rc == TS_OK)
		rc = prepare(opts, choice, &names, &files, report, err);
	for (size_t i = 0; rc == TS_OK && i < files.n; i++)
		if (changed(&files.v[i])) {
			ts_strv_push(&report->files, ts_strdup(files.v[i].path));
			if (!opts->dry_run)
				rc = probe(&files.v[i], err);
		}
	if (rc == TS_OK)
		rc = opts->dry_run ? render_diff(&files, report, err) : commit(&files, err);
	pfiles_free(&files);
	ts_strv_free(&names);
	return rc;
}
