/*
 * outputs.h - what a successful push tells the world besides stdout: the
 * --metadata-file JSON (with buildx-compatible keys), GitHub Actions step
 * outputs and step summary, and the GitLab CI dotenv report.
 *
 * The push workflow (release.h) fills one ts_push_facts (plain strings it
 * keeps owning; nothing here frees them) and hands it to the writers below
 * and to ts_record_append() (record.h), which share one builder of the
 * facts' JSON keys (ts_outputs_put_facts). Before the push, every output
 * path is checked writable (ts_outputs_preflight). Nothing here prints;
 * errors name the file.
 */
#ifndef TAGSEAL_OUTPUTS_H
#define TAGSEAL_OUTPUTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tagseal/buf.h"
#include "tagseal/error.h"

/* One file rewritten by --pin: `old_ref` became `new_ref` at path:line. */
typedef struct ts_pinned_file {
	const char *path;
	long line;           /* 1-based; 0 when unknown */
	const char *old_ref; /* may be NULL */
	const char *new_ref;
} ts_pinned_file;

/* One signature or attestation push --sign-key attached: the digest it is
 * about, and the manifests that hold it (NULL for a format not written). */
typedef struct ts_signed_artifact {
	const char *subject;        /* "sha256:<hex>" signed: the pushed digest, or a child's */
	const char *predicate_type; /* attestations: the predicate type; signatures: NULL */
	const char *bundle;         /* the bundle referrer manifest's digest */
	const char *classic;        /* the sha256-<hex>.sig/.att manifest's digest after the write */
} ts_signed_artifact;

/* Everything known about one verified push. Pointers are borrowed; any
 * string marked "may be NULL" is written as JSON null (or left out where a
 * format has no null). */
typedef struct ts_push_facts {
	const char *repository;  /* REPO exactly as the user wrote it */
	const char *tag;         /* the immutable tag */
	const char *digest;      /* "sha256:<hex>" of the top manifest or index */
	const char *media_type;  /* of the top manifest or index */
	int64_t size;            /* bytes of the top manifest or index */
	const char *const *aliases; /* mutable aliases moved by this push */
	size_t n_aliases;
	const char *const *platforms; /* "linux/amd64", ... for an index */
	size_t n_platforms;
	const char *source_path;   /* IMAGE as given; may be NULL */
	const char *source_sha256; /* "sha256:<hex>" of IMAGE's top file; may be NULL */
	const ts_pinned_file *pinned;
	size_t n_pinned;
	/* git facts; all NULL outside a repository */
	const char *git_commit;
	const char *git_ref;
	const char *git_version;
	int git_dirty;             /* 1 dirty, 0 clean, -1 unknown (null) */
	/* CI facts; NULL when not known */
	const char *ci_provider;   /* "github", "gitlab", ... */
	const char *ci_build;      /* build / run number */
	const char *ci_url;        /* run URL (any user:password@ is dropped) */
	const char *ci_actor;
	const char *tagseal_version; /* NULL: this build's TAGSEAL_VERSION */
	/* The tag already held this digest: the run pushed nothing new (it may
	 * still have moved aliases). Written as "unchanged": true; absent for
	 * a push that created the tag, so older records read the same. */
	bool unchanged;
	/* push --sign-key: what was attached. Written as "signatures" and
	 * "attestations" arrays of {digest, [predicateType,] bundle, classic}
	 * only when signing was asked for (n_* may still be 0 when a step
	 * failed). */
	bool signed_push;
	const ts_signed_artifact *signatures;
	size_t n_signatures;
	const ts_signed_artifact *attestations;
	size_t n_attestations;
} ts_push_facts;

#define TS_PUSH_FACTS_INIT { .git_dirty = -1 }

/* Where to write; NULL entries are skipped. The CLI takes github_output and
 * github_step_summary from the GITHUB_OUTPUT / GITHUB_STEP_SUMMARY
 * environment variables. */
typedef struct ts_output_paths {
	const char *metadata_file;       /* --metadata-file: replaced atomically */
	const char *dotenv_file;         /* --dotenv: replaced atomically */
	const char *github_output;       /* appended */
	const char *github_step_summary; /* appended */
} ts_output_paths;

/* "REPO:TAG@DIGEST". Caller frees. */
char *ts_push_reference(const ts_push_facts *f);

/* The run URL with any "user:password@" removed (parsed by curl_url).
 * Caller frees; NULL in, NULL out; a URL that does not parse is dropped
 * (NULL). */
char *ts_url_strip_userinfo(const char *url);

/* A JSON string for s, or null for NULL. Bytes that are not UTF-8 become
 * U+FFFD so that a file name never makes an output unwritable. */
json_t *ts_json_str(const char *s);

/* JSON pieces shared by the metadata file and the record (new references):
 * {path, sha256}, {commit, ref, version, dirty}, {provider, build, url,
 * actor} with nulls for unknown values, and [{path, line, old, new}]. */
json_t *ts_outputs_source_json(const ts_push_facts *f);
json_t *ts_outputs_git_json(const ts_push_facts *f);
json_t *ts_outputs_ci_json(const ts_push_facts *f);
json_t *ts_outputs_pinned_json(const ts_push_facts *f);
json_t *ts_outputs_strings_json(const char *const *v, size_t n);

/* Set the keys the record line and the metadata object share, in this
 * order: repository, tag, digest, reference (with_reference), aliases,
 * mediaType, size, platforms, source, git, ci, pinned, tagseal, then
 * unchanged, signatures and attestations when they apply. */
void ts_outputs_put_facts(json_t *o, const ts_push_facts *f, bool with_reference);

/* The --metadata-file object (new reference): the shared facts, then
 * buildx's containerimage.digest, containerimage.descriptor, image.name. */
json_t *ts_outputs_metadata(const ts_push_facts *f);

/* Append `name`=`value` to `out` in the GitHub Actions output file syntax:
 * `name=value\n` for a one-line value, else the heredoc form
 * `name<<DELIM\nvalue\nDELIM\n` with a random DELIM that occurs in no line
 * of the value. */
void ts_github_output_put(ts_buf *out, const char *name, const char *value);

/* The whole GITHUB_OUTPUT text for a push: tag, digest, reference,
 * aliases (one per line), and repository. */
void ts_outputs_github_text(const ts_push_facts *f, ts_buf *out);

/* The Markdown step summary: a table of what was pushed, and of the files
 * pinned. */
void ts_outputs_github_summary(const ts_push_facts *f, ts_buf *out);

/* The GitLab dotenv text: TAGSEAL_TAG, TAGSEAL_DIGEST, TAGSEAL_REFERENCE,
 * TAGSEAL_REPOSITORY, TAGSEAL_ALIASES (comma-separated; left out when
 * there are none). Values that
 * GitLab's dotenv rules cannot carry (new lines, over 2 KiB) are refused
 * with TS_EUSAGE naming the key. */
ts_code ts_outputs_dotenv_text(const ts_push_facts *f, ts_buf *out, ts_error *err);

/* Write every output named in `paths`. Stops at the first failure
 * (TS_EUSAGE naming the file). */
ts_code ts_outputs_write(const ts_push_facts *f, const ts_output_paths *paths, ts_error *err);

/* Before anything is pushed: `path` can be written as `what` (named in the
 * error). A file there must be a regular file (not a symbolic link) that
 * can be written; when absent, or when `replace` (written through a
 * temporary file beside it), its directory must exist and be writable.
 * Exit 2 naming `what` and path. */
ts_code ts_output_check_writable(const char *path, const char *what, bool replace, ts_error *err);

/* ts_output_check_writable for every path named in `paths`. */
ts_code ts_outputs_preflight(const ts_output_paths *paths, ts_error *err);

/* Append bytes to a file (O_APPEND|O_CREAT, one write, fsync), as CI
 * runners expect for GITHUB_OUTPUT. `what` names it in messages. */
ts_code ts_append_file(const char *path, const void *data, size_t len, const char *what,
		       ts_error *err);

#endif
