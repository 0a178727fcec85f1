/*
 * gitinfo.c - reading the commit, branch, dirty state and version of a
 * repository with libgit2. The version search walks HEAD's history once
 * (our own walk, so that a shallow clone's boundary is respected rather
 * than reported as missing objects) and picks the highest semver tag whose
 * commit it met.
 */
#include <ctype.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tagseal/buf.h"
#include "tagseal/fsutil.h"
#include "tagseal/gitinfo.h"

static ts_code git_fail(ts_error *err, ts_code code, const char *what)
{
	const git_error *e = git_error_last();
	return ts_error_set(err, code, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

/* ---- a set of object ids (open addressing; ids are already random) ---- */

typedef struct oidset {
	git_oid *keys;
	unsigned char *used;
	size_t cap, n;
} oidset;

static size_t oid_slot(const oidset *s, const git_oid *id)
{
	uint64_t h;
	size_t i;
	memcpy(&h, id->id, sizeof(h));
	for (i = (size_t)h & (s->cap - 1); s->used[i]; i = (i + 1) & (s->cap - 1))
		if (git_oid_equal(&s->keys[i], id))
			break;
	return i;
}

static bool oidset_has(const oidset *s, const git_oid *id)
{
	return s->cap && s->used[oid_slot(s, id)];
}

static void oidset_grow(oidset *s)
{
	oidset bigger = { NULL, NULL, s->cap ? s->cap * 2 : 1024, 0 };
	bigger.keys = ts_malloc(bigger.cap * sizeof(git_oid));
	bigger.used = ts_calloc(bigger.cap, 1);
	for (size_t i = 0; i < s->cap; i++) {
		if (s->used[i]) {
			size_t j = oid_slot(&bigger, &s->keys[i]);
			bigger.keys[j] = s->keys[i];
			bigger.used[j] = 1;
			bigger.n++;
		}
	}
	free(s->keys);
	free(s->used);
	*s = bigger;
}

/* Returns true when the id was not there before. */
static bool oidset_add(oidset *s, const git_oid *id)
{
	size_t i;
	if ((s->n + 1) * 2 > s->cap)
		oidset_grow(s);
	i = oid_slot(s, id);
	if (s->used[i])
		return false;
	s->keys[i] = *id;
	s->used[i] = 1;
	s->n++;
	return true;
}

static void oidset_free(oidset *s)
{
	free(s->keys);
	free(s->used);
	memset(s, 0, sizeof(*s));
}

/* ---- walking history ---- */

typedef struct walk {
	oidset seen;     /* every commit reached */
	oidset boundary; /* shallow boundary commits reached */
} walk;

/* A complete repository: libgit2's revision walker (uses commit-graph). */
static ts_code revwalk_from(git_repository *repo, const git_oid *start, walk *w, ts_error *err)
{
	git_revwalk *rw = NULL;
	git_oid id;
	int e;

	if (git_revwalk_new(&rw, repo) < 0 || git_revwalk_push(rw, start) < 0) {
		git_revwalk_free(rw);
		return git_fail(err, TS_EUSAGE, "git history");
	}
	while ((e = git_revwalk_next(&id, rw)) == 0)
		oidset_add(&w->seen, &id);
	git_revwalk_free(rw);
	return e == GIT_ITEROVER ? TS_OK : git_fail(err, TS_EUSAGE, "git history");
}

/* A shallow clone: our own walk that stops at the boundary commits (their
 * parents are absent; libgit2 1.5's walker would fail on them). */
static ts_code shallow_walk_from(git_repository *repo, const git_oid *start,
				 const oidset *shallow, walk *w, ts_error *err)
{
	git_oid *stack = ts_malloc(64 * sizeof(git_oid));
	size_t n = 0, cap = 64;
	ts_code rc = TS_OK;

	stack[n++] = *start;
	while (n > 0 && rc == TS_OK) {
		git_oid id = stack[--n];
		git_commit *c;
		if (!oidset_add(&w->seen, &id))
			continue;
		if (oidset_has(shallow, &id)) {
			oidset_add(&w->boundary, &id);
			continue;
		}
		if (git_commit_lookup(&c, repo, &id) < 0) {
			rc = git_fail(err, TS_EUSAGE, "git history");
			break;
		}
		for (unsigned i = 0; i < git_commit_parentcount(c); i++) {
			if (n == cap)
				stack = ts_realloc(stack, (cap *= 2) * sizeof(git_oid));
			stack[n++] = *git_commit_parent_id(c, i);
		}
		git_commit_free(c);
	}
	free(stack);
	return rc;
}

static ts_code walk_from(git_repository *repo, const git_oid *start, const oidset *shallow,
			 walk *w, ts_error *err)
{
	return shallow->n ? shallow_walk_from(repo, start, shallow, w, err)
			  : revwalk_from(repo, start, w, err);
}

static void walk_free(walk *w)
{
	oidset_free(&w->seen);
	oidset_free(&w->boundary);
}

/* The commits listed in .git/shallow. */
static ts_code load_shallow(git_repository *repo, oidset *out, ts_error *err)
{
	ts_buf path = TS_BUF_INIT, body = TS_BUF_INIT;
	ts_code rc;
	char *line, *save = NULL;

	ts_buf_printf(&path, "%sshallow", git_repository_commondir(repo));
	rc = ts_read_file(path.ptr, 64u << 20, &body, "shallow file", err);
	for (line = rc == TS_OK ? strtok_r(body.ptr ? body.ptr : (char *)"", "\n", &save) : NULL;
	     line; line = strtok_r(NULL, "\n", &save)) {
		git_oid id;
		if (git_oid_fromstrn(&id, line, strlen(line)) == 0 && strlen(line) == 40)
			oidset_add(out, &id);
	}
	ts_buf_free(&path);
	ts_buf_free(&body);
	return rc;
}

/* ---- version tags ---- */

typedef struct vtag {
	char *name;
	ts_semver v;
	git_oid target; /* the tag object or the commit */
} vtag;

typedef struct vtags {
	vtag *items;
	size_t n, cap;
} vtags;

/* Tags are only named here; their objects are read later, highest first,
 * until one is reachable (most repositories stop at the first). */
static void collect_tag(vtags *t, const git_reference *ref)
{
	const char *name = git_reference_name(ref) + strlen("refs/tags/");
	const git_oid *oid = git_reference_target(ref);
	ts_semver v;

	if (!oid || !ts_semver_try_parse(name, &v))
		return;
	if (t->n == t->cap)
		t->items = ts_realloc(t->items, (t->cap = t->cap ? t->cap * 2 : 64) * sizeof(vtag));
	t->items[t->n].name = ts_strdup(name);
	t->items[t->n].v = v;
	t->items[t->n].target = *oid;
	t->n++;
}

/* The references iterator, not git_tag_foreach: the latter looks every
 * tag up again by name (two stat calls per tag). */
static ts_code collect_tags(git_repository *repo, vtags *t, ts_error *err)
{
	git_reference_iterator *it;
	git_reference *ref;
	int e;

	if (git_reference_iterator_glob_new(&it, repo, "refs/tags/*") < 0)
		return git_fail(err, TS_EUSAGE, "git tags");
	while ((e = git_reference_next(&ref, it)) == 0) {
		collect_tag(t, ref);
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
	return e == GIT_ITEROVER ? TS_OK : git_fail(err, TS_EUSAGE, "git tags");
}

/* The commit a tag names; false when it is absent (shallow) or not a commit. */
static bool peel_commit(git_repository *repo, const git_oid *target, git_oid *commit)
{
	git_object *obj = NULL, *peeled = NULL;
	bool ok = git_object_lookup(&obj, repo, target, GIT_OBJECT_ANY) == 0 &&
		  git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) == 0;
	if (ok)
		*commit = *git_object_id(peeled);
	git_object_free(peeled);
	git_object_free(obj);
	git_error_clear();
	return ok;
}

/* Highest precedence first; equal versions ordered by name. */
static int vtag_order(const void *a, const void *b)
{
	const vtag *x = a, *y = b;
	int c = ts_semver_cmp(&y->v, &x->v);
	return c ? c : strcmp(x->name, y->name);
}

static void vtags_free(vtags *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->items[i].name);
		ts_semver_free(&t->items[i].v);
	}
	free(t->items);
}

/* Commits in the history of `from` that are not in the tag's. A complete
 * repository asks libgit2 (ahead/behind); a shallow one counts both walks
 * and knows the count only if every boundary the first walk met lies in
 * the tag's history too. */
static ts_code count_distance(ts_gitinfo *gi, const git_oid *from, const walk *from_walk,
			      const git_oid *tag_commit, const oidset *shallow, ts_error *err)
{
	walk tw = { { 0 }, { 0 } };
	size_t ahead, behind;
	ts_code rc;

	if (!shallow->n) {
		if (git_graph_ahead_behind(&ahead, &behind, gi->repo, from, tag_commit) < 0)
			return git_fail(err, TS_EUSAGE, "git history");
		gi->distance = ahead;
		gi->distance_known = true;
		return TS_OK;
	}
	rc = walk_from(gi->repo, tag_commit, shallow, &tw, err);
	if (rc == TS_OK) {
		gi->distance = from_walk->seen.n - tw.seen.n;
		gi->distance_known = true;
		for (size_t i = 0; i < from_walk->boundary.cap; i++)
			if (from_walk->boundary.used[i] &&
			    !oidset_has(&tw.seen, &from_walk->boundary.keys[i]))
				gi->distance_known = false;
	}
	walk_free(&tw);
	return rc;
}

static ts_code find_version(ts_gitinfo *gi, const git_oid *from, ts_error *err)
{
	vtags tags = { NULL, 0, 0 };
	oidset shallow = { 0 };
	walk w = { { 0 }, { 0 } };
	ts_code rc = TS_OK;
	git_oid commit;

	if (gi->shallow)
		rc = load_shallow(gi->repo, &shallow, err);
	if (rc == TS_OK)
		rc = collect_tags(gi->repo, &tags, err);
	if (rc == TS_OK && tags.n)
		rc = walk_from(gi->repo, from, &shallow, &w, err);
	if (tags.n)
		qsort(tags.items, tags.n, sizeof(vtag), vtag_order);
	gi->version_status = gi->shallow ? TS_GITVER_SHALLOW : TS_GITVER_NONE;
	for (size_t i = 0; rc == TS_OK && i < tags.n; i++) {
		if (!peel_commit(gi->repo, &tags.items[i].target, &commit) ||
		    !oidset_has(&w.seen, &commit))
			continue;
		gi->version_status = TS_GITVER_FOUND;
		gi->version_tag = ts_strdup(tags.items[i].name);
		ts_semver_copy(&gi->version, &tags.items[i].v);
		rc = count_distance(gi, from, &w, &commit, &shallow, err);
		break;
	}
	walk_free(&w);
	oidset_free(&shallow);
	vtags_free(&tags);
	return rc;
}

/* ---- the rest of the facts ---- */

/* --git-dir exactly; otherwise discovery from the working directory, as
 * git does it (GIT_DIR, GIT_WORK_TREE, GIT_CEILING_DIRECTORIES honoured). */
static ts_code open_repo(const char *git_dir, git_repository **out, ts_error *err)
{
	if (git_dir) {
		if (git_repository_open_ext(out, git_dir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) == 0)
			return TS_OK;
		return git_fail(err, TS_EUSAGE, "--git-dir");
	}
	if (git_repository_open_ext(out, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL) == 0)
		return TS_OK;
	return git_fail(err, TS_EUSAGE, "no git repository at or above the working directory");
}

static ts_code read_head(ts_gitinfo *gi, git_oid *head, ts_error *err)
{
	git_reference *ref = NULL;
	int e = git_repository_head(&ref, gi->repo);

	if (e == GIT_EUNBORNBRANCH || e == GIT_ENOTFOUND)
		return ts_error_set(err, TS_EUSAGE, "%s: the repository has no commits yet", gi->path);
	if (e < 0)
		return git_fail(err, TS_EUSAGE, "git HEAD");
	*head = *git_reference_target(ref);
	if (git_reference_is_branch(ref))
		gi->branch = ts_strdup(git_reference_shorthand(ref));
	git_reference_free(ref);
	return TS_OK;
}

/* The CI's PR head replaces HEAD only when HEAD is the merge the CI made. */
static void pick_commit(ts_gitinfo *gi, const ts_ciinfo *ci)
{
	strcpy(gi->commit, gi->head);
	if (!ci || !ci->head_commit || !ci->commit || strlen(ci->head_commit) != 40)
		return;
	if (strcasecmp(ci->commit, gi->head) != 0 || strcasecmp(ci->head_commit, gi->head) == 0)
		return;
	for (int i = 0; i < 40; i++)
		gi->commit[i] = (char)tolower((unsigned char)ci->head_commit[i]);
	gi->commit_from_ci = true;
}

static ts_code read_dirty(ts_gitinfo *gi, ts_error *err)
{
	git_status_options so;
	git_status_list *list;

	if (git_repository_is_bare(gi->repo))
		return TS_OK;
	git_status_options_init(&so, GIT_STATUS_OPTIONS_VERSION);
	so.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
	so.flags = GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
	if (git_status_list_new(&list, gi->repo, &so) < 0)
		return git_fail(err, TS_EUSAGE, "git status");
	gi->dirty = git_status_list_entrycount(list) > 0;
	git_status_list_free(list);
	return TS_OK;
}

/* Commit time and the start of the version search: the CI's PR head when
 * this clone has it, else HEAD. */
static ts_code read_commit(ts_gitinfo *gi, const git_oid *head, git_oid *from, ts_error *err)
{
	git_commit *c = NULL;
	git_oid id;

	*from = *head;
	if (gi->commit_from_ci && git_oid_fromstr(&id, gi->commit) == 0 &&
	    git_commit_lookup(&c, gi->repo, &id) == 0)
		*from = id;
	git_error_clear();
	if (!c && git_commit_lookup(&c, gi->repo, head) < 0)
		return git_fail(err, TS_EUSAGE, "git HEAD commit");
	gi->commit_time = (int64_t)git_commit_time(c);
	git_commit_free(c);
	return TS_OK;
}

ts_code ts_gitinfo_load(const ts_gitinfo_opts *opts, ts_gitinfo *out, ts_error *err)
{
	ts_gitinfo gi;
	git_oid head, from;
	ts_code rc;

	memset(&gi, 0, sizeof(gi));
	rc = open_repo(opts->git_dir, &gi.repo, err);
	if (rc != TS_OK)
		return rc;
	gi.path = ts_strdup(git_repository_workdir(gi.repo) ? git_repository_workdir(gi.repo)
							     : git_repository_path(gi.repo));
	gi.shallow = git_repository_is_shallow(gi.repo) == 1;
	rc = read_head(&gi, &head, err);
	if (rc == TS_OK) {
		git_oid_tostr(gi.head, sizeof(gi.head), &head);
		pick_commit(&gi, opts->ci);
		rc = read_commit(&gi, &head, &from, err);
	}
	if (rc == TS_OK)
		rc = read_dirty(&gi, err);
	if (rc == TS_OK)
		rc = find_version(&gi, &from, err);
	if (rc != TS_OK) {
		ts_gitinfo_free(&gi);
		return rc;
	}
	*out = gi;
	return TS_OK;
}

ts_code ts_gitinfo_short_sha(const ts_gitinfo *gi, size_t min_len, char **out, ts_error *err)
{
	git_odb *odb;
	git_oid id, found;
	size_t len = min_len < 4 ? 4 : min_len;

	if (git_oid_fromstr(&id, gi->commit) < 0 || git_repository_odb(&odb, gi->repo) < 0)
		return git_fail(err, TS_EINTERNAL, "git object database");
	for (; len < 40; len++) {
		int e = git_odb_exists_prefix(&found, odb, &id, len);
		if (e == GIT_ENOTFOUND || (e == 0 && git_oid_equal(&found, &id)))
			break;
		if (e < 0 && e != GIT_EAMBIGUOUS) {
			git_odb_free(odb);
			return git_fail(err, TS_EUSAGE, "git object database");
		}
	}
	git_error_clear();
	git_odb_free(odb);
	*out = ts_strndup(gi->commit, len);
	return TS_OK;
}

void ts_gitinfo_free(ts_gitinfo *gi)
{
	if (!gi)
		return;
	git_repository_free(gi->repo);
	free(gi->path);
	free(gi->branch);
	free(gi->version_tag);
	ts_semver_free(&gi->version);
	memset(gi, 0, sizeof(*gi));
}
