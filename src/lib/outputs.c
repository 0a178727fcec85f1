/*
 * outputs.c - the outputs of a successful push besides stdout: the
 * --metadata-file JSON (buildx-compatible keys included), GitHub Actions
 * step outputs and summary, and the GitLab dotenv report.
 */
#include <curl/curl.h>
#include <errno.h>
#include <libgen.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tagseal/fsutil.h"
#include "tagseal/outputs.h"

/* GitLab's limits for a dotenv report (the smallest plan's). */
#define DOTENV_MAX_FILE 5120
#define DOTENV_MAX_VALUE 2048

static const char *version_of(const ts_push_facts *f)
{
	return f->tagseal_version ? f->tagseal_version : TAGSEAL_VERSION;
}

char *ts_push_reference(const ts_push_facts *f)
{
	return ts_asprintf("%s:%s@%s", f->repository, f->tag, f->digest);
}

char *ts_url_strip_userinfo(const char *url)
{
	CURLU *u;
	char *out = NULL, *s = NULL;

	if (!url)
		return NULL;
	u = curl_url();
	if (!u)
		return NULL;
	/* a URL curl cannot parse is dropped: it might carry credentials */
	if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_USER, NULL, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_OPTIONS, NULL, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK)
		out = ts_strdup(s);
	curl_free(s);
	curl_url_cleanup(u);
	return out;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned cp;

	if (s[0] < 0x80)
		return s[0] ? 1 : 0;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

json_t *ts_json_str(const char *s)
{
	json_t *j;
	ts_buf b = TS_BUF_INIT;
	size_t n;

	if (!s)
		return json_null();
	j = json_string(s);
	if (j)
		return j;
	n = strlen(s);
	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq((const unsigned char *)s + i, n - i);
		if (k) {
			ts_buf_put(&b, s + i, k);
			i += k;
		} else {
			ts_buf_puts(&b, "\xef\xbf\xbd");
			i++;
		}
	}
	j = json_string(ts_buf_cstr(&b));
	ts_buf_free(&b);
	return j ? j : json_string("");
}

json_t *ts_outputs_strings_json(const char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, ts_json_str(v[i]));
	return a;
}

json_t *ts_outputs_source_json(const ts_push_facts *f)
{
	return json_pack("{s:o,s:o}", "path", ts_json_str(f->source_path), "sha256",
			 ts_json_str(f->source_sha256));
}

json_t *ts_outputs_git_json(const ts_push_facts *f)
{
	json_t *dirty = f->git_dirty < 0 ? json_null() : json_boolean(f->git_dirty);
	return json_pack("{s:o,s:o,s:o,s:o}", "commit", ts_json_str(f->git_commit), "ref",
			 ts_json_str(f->git_ref), "version", ts_json_str(f->git_version), "dirty",
			 dirty);
}

json_t *ts_outputs_ci_json(const ts_push_facts *f)
{
	char *url = ts_url_strip_userinfo(f->ci_url);
	json_t *j = json_pack("{s:o,s:o,s:o,s:o}", "provider", ts_json_str(f->ci_provider),
			      "build", ts_json_str(f->ci_build), "url", ts_json_str(url), "actor",
			      ts_json_str(f->ci_actor));
	free(url);
	return j;
}

json_t *ts_outputs_pinned_json(const ts_push_facts *f)
{
	json_t *a = json_array();
	for (size_t i = 0; i < f->n_pinned; i++) {
		const ts_pinned_file *p = &f->pinned[i];
		json_array_append_new(a, json_pack("{s:o,s:I,s:o,s:o}", "path", ts_json_str(p->path),
						   "line", (json_int_t)p->line, "old",
						   ts_json_str(p->old_ref), "new",
						   ts_json_str(p->new_ref)));
	}
	return a;
}

/* buildx's image.name: every name pushed, comma-separated. */
static char *image_names(const ts_push_facts *f)
{
	ts_buf b = TS_BUF_INIT;
	ts_buf_printf(&b, "%s:%s", f->repository, f->tag);
	for (size_t i = 0; i < f->n_aliases; i++)
		ts_buf_printf(&b, ",%s:%s", f->repository, f->aliases[i]);
	return ts_buf_detach(&b);
}

/* [{digest, predicateType (attestations), bundle, classic}] */
static json_t *signed_json(const ts_signed_artifact *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "digest", ts_json_str(v[i].subject));
		if (v[i].predicate_type)
			json_object_set_new(o, "predicateType", ts_json_str(v[i].predicate_type));
		json_object_set_new(o, "bundle", ts_json_str(v[i].bundle));
		json_object_set_new(o, "classic", ts_json_str(v[i].classic));
		json_array_append_new(a, o);
	}
	return a;
}

void ts_outputs_put_facts(json_t *o, const ts_push_facts *f, bool with_reference)
{
	json_object_set_new(o, "repository", ts_json_str(f->repository));
	json_object_set_new(o, "tag", ts_json_str(f->tag));
	json_object_set_new(o, "digest", ts_json_str(f->digest));
	if (with_reference) {
		char *ref = ts_push_reference(f);
		json_object_set_new(o, "reference", ts_json_str(ref));
		free(ref);
	}
	json_object_set_new(o, "aliases", ts_outputs_strings_json(f->aliases, f->n_aliases));
	json_object_set_new(o, "mediaType", ts_json_str(f->media_type));
	json_object_set_new(o, "size", json_integer((json_int_t)f->size));
	json_object_set_new(o, "platforms", ts_outputs_strings_json(f->platforms, f->n_platforms));
	json_object_set_new(o, "source", ts_outputs_source_json(f));
	json_object_set_new(o, "git", ts_outputs_git_json(f));
	json_object_set_new(o, "ci", ts_outputs_ci_json(f));
	json_object_set_new(o, "pinned", ts_outputs_pinned_json(f));
	json_object_set_new(o, "tagseal", ts_json_str(version_of(f)));
	if (f->unchanged)
		json_object_set_new(o, "unchanged", json_true());
	if (f->signed_push) {
		json_object_set_new(o, "signatures", signed_json(f->signatures, f->n_signatures));
		json_object_set_new(o, "attestations", signed_json(f->attestations, f->n_attestations));
	}
}

json_t *ts_outputs_metadata(const ts_push_facts *f)
{
	char *names = image_names(f);
	json_t *o = json_object();

	ts_outputs_put_facts(o, f, true);
	json_object_set_new(o, "containerimage.digest", ts_json_str(f->digest));
	json_object_set_new(o, "containerimage.descriptor",
			    json_pack("{s:o,s:o,s:I}", "mediaType", ts_json_str(f->media_type),
				      "digest", ts_json_str(f->digest), "size",
				      (json_int_t)f->size));
	json_object_set_new(o, "image.name", ts_json_str(names));
	free(names);
	return o;
}

/* ---- GitHub Actions ---- */

static void random_delimiter(char out[48])
{
	unsigned char r[16];
	if (RAND_bytes(r, sizeof(r)) != 1) {
		/* Never expected; fall back to something unlikely, still checked. */
		for (size_t i = 0; i < sizeof(r); i++)
			r[i] = (unsigned char)(rand() ^ (int)getpid());
	}
	strcpy(out, "ghadelimiter_");
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(out + 13 + 2 * i, 3, "%02x", r[i]);
}

void ts_github_output_put(ts_buf *out, const char *name, const char *value)
{
	char delim[48];

	if (!value)
		value = "";
	if (!strpbrk(value, "\r\n")) {
		ts_buf_printf(out, "%s=%s\n", name, value);
		return;
	}
	do
		random_delimiter(delim);
	while (strstr(value, delim));
	ts_buf_printf(out, "%s<<%s\n%s\n%s\n", name, delim, value, delim);
}

static char *join(const char *const *v, size_t n, const char *sep)
{
	ts_buf b = TS_BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (i)
			ts_buf_puts(&b, sep);
		ts_buf_puts(&b, v[i]);
	}
	ts_buf_put(&b, "", 0);
	return ts_buf_detach(&b);
}

void ts_outputs_github_text(const ts_push_facts *f, ts_buf *out)
{
	char *ref = ts_push_reference(f);
	char *aliases = join(f->aliases, f->n_aliases, "\n");

	ts_github_output_put(out, "tag", f->tag);
	ts_github_output_put(out, "digest", f->digest);
	ts_github_output_put(out, "reference", ref);
	ts_github_output_put(out, "aliases", aliases);
	ts_github_output_put(out, "repository", f->repository);
	free(aliases);
	free(ref);
}

/* A Markdown table cell in a code span: `|` escaped (GFM), new lines
 * flattened, backticks fenced by doubling the span delimiter. */
static void md_code(ts_buf *out, const char *s)
{
	const char *fence = strchr(s, '`') ? "`` " : "`";
	ts_buf_puts(out, fence);
	for (; *s; s++) {
		if (*s == '|')
			ts_buf_puts(out, "\\|");
		else if (*s == '\n' || *s == '\r')
			ts_buf_putc(out, ' ');
		else
			ts_buf_putc(out, *s);
	}
	ts_buf_puts(out, strchr(fence, ' ') ? " ``" : "`");
}

static void md_row(ts_buf *out, const char *key, const char *value)
{
	ts_buf_printf(out, "| %s | ", key);
	md_code(out, value ? value : "");
	ts_buf_puts(out, " |\n");
}

static void md_list_row(ts_buf *out, const char *key, const char *const *v, size_t n)
{
	if (!n)
		return;
	ts_buf_printf(out, "| %s | ", key);
	for (size_t i = 0; i < n; i++) {
		if (i)
			ts_buf_puts(out, ", ");
		md_code(out, v[i]);
	}
	ts_buf_puts(out, " |\n");
}

static void md_pinned(const ts_push_facts *f, ts_buf *out)
{
	char line[32];

	if (!f->n_pinned)
		return;
	ts_buf_puts(out, "\n| Pinned file | Line | Reference |\n|---|---|---|\n");
	for (size_t i = 0; i < f->n_pinned; i++) {
		const ts_pinned_file *p = &f->pinned[i];
		ts_buf_puts(out, "| ");
		md_code(out, p->path ? p->path : "");
		snprintf(line, sizeof(line), "%ld", p->line);
		ts_buf_printf(out, " | %s | ", p->line > 0 ? line : "");
		md_code(out, p->new_ref ? p->new_ref : "");
		ts_buf_puts(out, " |\n");
	}
}

void ts_outputs_github_summary(const ts_push_facts *f, ts_buf *out)
{
	char *ref = ts_push_reference(f);
	char size[32];

	snprintf(size, sizeof(size), "%" PRId64, f->size);
	ts_buf_puts(out, "### tagseal push\n\n| | |\n|---|---|\n");
	md_row(out, "Repository", f->repository);
	md_row(out, "Tag (immutable)", f->tag);
	md_row(out, "Digest", f->digest);
	md_row(out, "Reference", ref);
	md_list_row(out, "Aliases (mutable)", f->aliases, f->n_aliases);
	md_row(out, "Media type", f->media_type);
	md_row(out, "Size (bytes)", size);
	md_list_row(out, "Platforms", f->platforms, f->n_platforms);
	if (f->git_commit)
		md_row(out, "Commit", f->git_commit);
	md_pinned(f, out);
	ts_buf_putc(out, '\n');
	free(ref);
}

/* ---- GitLab dotenv ---- */

static ts_code dotenv_put(ts_buf *out, const char *key, const char *value, ts_error *err)
{
	size_t n;

	if (!value)
		value = "";
	n = strlen(value);
	if (strpbrk(value, "\r\n"))
		return ts_error_set(err, TS_EUSAGE,
				    "--dotenv: %s would span several lines, which GitLab does not allow",
				    key);
	if (n > DOTENV_MAX_VALUE)
		return ts_error_set(err, TS_EUSAGE,
				    "--dotenv: %s is %zu bytes, over the %d GitLab accepts", key, n,
				    DOTENV_MAX_VALUE);
	if (n && (value[0] == ' ' || value[0] == '\t' || value[n - 1] == ' ' ||
		  value[n - 1] == '\t'))
		return ts_error_set(err, TS_EUSAGE,
				    "--dotenv: %s has leading or trailing blanks, which GitLab strips",
				    key);
	ts_buf_printf(out, "%s=%s\n", key, value);
	return TS_OK;
}

ts_code ts_outputs_dotenv_text(const ts_push_facts *f, ts_buf *out, ts_error *err)
{
	char *ref = ts_push_reference(f);
	char *aliases = join(f->aliases, f->n_aliases, ",");
	size_t start = out->len;
	ts_code rc;

	rc = dotenv_put(out, "TAGSEAL_TAG", f->tag, err);
	if (rc == TS_OK)
		rc = dotenv_put(out, "TAGSEAL_DIGEST", f->digest, err);
	if (rc == TS_OK)
		rc = dotenv_put(out, "TAGSEAL_REFERENCE", ref, err);
	if (rc == TS_OK)
		rc = dotenv_put(out, "TAGSEAL_REPOSITORY", f->repository, err);
	if (rc == TS_OK && *aliases) /* no empty values: GitLab's parser varies on them */
		rc = dotenv_put(out, "TAGSEAL_ALIASES", aliases, err);
	if (rc == TS_OK && out->len - start > DOTENV_MAX_FILE)
		rc = ts_error_set(err, TS_EUSAGE,
				  "--dotenv: the report would be %zu bytes, over the %d GitLab accepts",
				  out->len - start, DOTENV_MAX_FILE);
	free(aliases);
	free(ref);
	return rc;
}

/* ---- writing ---- */

ts_code ts_append_file(const char *path, const void *data, size_t len, const char *what,
		       ts_error *err)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	ssize_t n;

	if (fd < 0)
		return ts_error_set(err, TS_EUSAGE, "%s '%s': %s", what, path, strerror(errno));
	do
		n = write(fd, data, len);
	while (n < 0 && errno == EINTR);
	if (n < 0 || (size_t)n != len || fsync(fd) != 0) {
		int e = n < 0 ? errno : EIO;
		close(fd);
		return ts_error_set(err, TS_EUSAGE, "%s '%s': cannot write: %s", what, path,
				    strerror(e));
	}
	if (close(fd) != 0)
		return ts_error_set(err, TS_EUSAGE, "%s '%s': cannot write: %s", what, path,
				    strerror(errno));
	return TS_OK;
}

static ts_code write_metadata(const ts_push_facts *f, const char *path, ts_error *err)
{
	json_t *o = ts_outputs_metadata(f);
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	ts_buf b = TS_BUF_INIT;
	ts_code rc;

	json_decref(o);
	if (!s)
		return ts_error_set(err, TS_EINTERNAL, "--metadata-file: cannot encode JSON");
	ts_buf_puts(&b, s);
	ts_buf_putc(&b, '\n');
	free(s);
	rc = ts_write_file_atomic(path, b.ptr, b.len, 0644, "--metadata-file", err);
	ts_buf_free(&b);
	return rc;
}

static ts_code write_dotenv(const ts_push_facts *f, const char *path, ts_error *err)
{
	ts_buf b = TS_BUF_INIT;
	ts_code rc = ts_outputs_dotenv_text(f, &b, err);
	if (rc == TS_OK)
		rc = ts_write_file_atomic(path, b.ptr, b.len, 0644, "--dotenv", err);
	ts_buf_free(&b);
	return rc;
}

static ts_code append_text(const char *path, void (*fill)(const ts_push_facts *, ts_buf *),
			   const ts_push_facts *f, const char *what, ts_error *err)
{
	ts_buf b = TS_BUF_INIT;
	ts_code rc;
	fill(f, &b);
	rc = ts_append_file(path, b.ptr, b.len, what, err);
	ts_buf_free(&b);
	return rc;
}

ts_code ts_outputs_write(const ts_push_facts *f, const ts_output_paths *paths, ts_error *err)
{
	ts_code rc = TS_OK;

	if (paths->metadata_file && *paths->metadata_file)
		rc = write_metadata(f, paths->metadata_file, err);
	if (rc == TS_OK && paths->dotenv_file && *paths->dotenv_file)
		rc = write_dotenv(f, paths->dotenv_file, err);
	if (rc == TS_OK && paths->github_output && *paths->github_output)
		rc = append_text(paths->github_output, ts_outputs_github_text, f, "GITHUB_OUTPUT",
				 err);
	if (rc == TS_OK && paths->github_step_summary && *paths->github_step_summary)
		rc = append_text(paths->github_step_summary, ts_outputs_github_summary, f,
				 "GITHUB_STEP_SUMMARY", err);
	return rc;
}

ts_code ts_output_check_writable(const char *path, const char *what, bool replace, ts_error *err)
{
	struct stat st;
	char *copy, *dir;
	ts_code rc = TS_OK;
	bool exists = false;

	if (!*path)
		return ts_error_setc(err, TS_C_USAGE, "%s: the path is empty", what);
	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode))
			return ts_error_setc(err, TS_C_USAGE,
					     "%s '%s' is a symbolic link; refusing to write to it", what, path);
		if (!S_ISREG(st.st_mode))
			return ts_error_setc(err, TS_C_USAGE,
					     "%s '%s' is not a regular file; refusing to write to it", what,
					     path);
		if (access(path, W_OK) != 0)
			return ts_error_setc(err, TS_C_IO, "%s '%s' is not writable: %s", what, path,
					     strerror(errno));
		exists = true;
	} else if (errno != ENOENT) {
		return ts_error_setc(err, TS_C_IO, "%s '%s': %s", what, path, strerror(errno));
	}
	if (exists && !replace)
		return TS_OK; /* appended to in place */
	/* created, or replaced through a temporary file beside it */
	copy = ts_strdup(path);
	dir = dirname(copy);
	if (stat(dir, &st) != 0)
		rc = ts_error_setc(err, TS_C_IO, "%s '%s': directory '%s' %s", what, path, dir,
				   errno == ENOENT ? "does not exist" : strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		rc = ts_error_setc(err, TS_C_IO, "%s '%s': '%s' is not a directory", what, path, dir);
	else if (access(dir, W_OK | X_OK) != 0)
		rc = ts_error_setc(err, TS_C_IO, "%s '%s': directory '%s' is not writable: %s", what,
				   path, dir, strerror(errno));
	free(copy);
	return rc;
}

ts_code ts_outputs_preflight(const ts_output_paths *paths, ts_error *err)
{
	ts_code rc = TS_OK;
	if (paths->metadata_file)
		rc = ts_output_check_writable(paths->metadata_file, "--metadata-file", true, err);
	if (rc == TS_OK && paths->dotenv_file)
		rc = ts_output_check_writable(paths->dotenv_file, "--dotenv", true, err);
	if (rc == TS_OK && paths->github_output && *paths->github_output)
		rc = ts_output_check_writable(paths->github_output, "GITHUB_OUTPUT", false, err);
	if (rc == TS_OK && paths->github_step_summary && *paths->github_step_summary)
		rc = ts_output_check_writable(paths->github_step_summary, "GITHUB_STEP_SUMMARY", false,
					      err);
	return rc;
}
