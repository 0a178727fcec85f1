/*
 * verify.c - 'tagseal verify' below the command line: recompute a record's
 * chain in one streaming pass, then resolve every recorded (repository,
 * tag) in its registry with a bounded pool of threads (each with its own
 * ts_registry) and collect what moved, vanished or could not be checked.
 * Flag and environment credentials go to one registry only (cred_host:
 * by default the registry of line 1). With a key, each line's signature is
 * checked in the first pass and each tag's digest's signatures next to its
 * tag. Every message is one line without
 * control characters and never repeats a reference's user:password@.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tagseal/creds.h"
#include "tagseal/outputs.h"
#include "tagseal/record.h"
#include "tagseal/ref.h"
#include "tagseal/registry.h"
#include "tagseal/sign.h"
#include "tagseal/verify.h"

/* One line naming a tag. */
typedef struct entry {
	char *key;        /* normalised repository, filled in phase 2 */
	char *repository; /* as recorded */
	char *tag;
	char *digest;
	size_t line;
} entry;

typedef struct chain_state {
	ts_verify_report *rep;
	entry *entries;
	size_t n_entries, cap_entries;
	char prev[TS_DIGEST_STRLEN]; /* digest of the previous whole line */
	bool chain_reported;
	const char *anchor;
	bool anchor_seen;
	const ts_key *key;
	char *first_host; /* registry of line 1, when it names a valid one */
} chain_state;

static void add_finding(ts_verify_report *rep, ts_finding_kind kind, size_t line,
			const entry *e, const char *current, char *message)
{
	ts_finding *f;

	rep->findings = ts_realloc(rep->findings, (rep->n_findings + 1) * sizeof(*f));
	f = &rep->findings[rep->n_findings++];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->line = line;
	if (e) {
		f->repository = e->repository && !ts_ref_has_userinfo(e->repository)
					? ts_strdup(e->repository)
					: NULL;
		f->tag = e->tag ? ts_strdup(e->tag) : NULL;
		f->recorded = e->digest ? ts_strdup(e->digest) : NULL;
	}
	f->current = current ? ts_strdup(current) : NULL;
	/* record values and registry answers: no terminal escapes */
	for (char *p = message; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	f->message = message;
	if (kind == TS_FINDING_CHAIN || kind == TS_FINDING_BAD_LINE || kind == TS_FINDING_TORN ||
	    kind == TS_FINDING_ANCHOR || kind == TS_FINDING_LINE_SIG)
		rep->chain_ok = false;
}

/* ---- phase 1: the chain ---- */

static void check_prev(chain_state *cs, json_t *o, size_t n)
{
	json_t *prev = json_object_get(o, "prev");
	const char *p = json_string_value(prev);
	char *msg = NULL;

	if (cs->chain_reported)
		return;
	if (!prev)
		msg = ts_asprintf("has no \"prev\" key, so it cannot be chained");
	else if (n == 1 && !json_is_null(prev))
		msg = ts_asprintf("prev is %s but this is the first line: lines before it "
				  "were removed", p ? p : "not null");
	else if (n > 1 && json_is_null(prev))
		msg = ts_asprintf("prev is null but this is line %zu: lines before it were "
				  "removed, or records were concatenated", n);
	else if (n > 1 && (!p || strcmp(p, cs->prev) != 0))
		msg = ts_asprintf("prev does not match line %zu (%s): history up to here was "
				  "edited, removed or re-ordered", n - 1, cs->prev);
	if (msg) {
		add_finding(cs->rep, TS_FINDING_CHAIN, n, NULL, NULL, msg);
		cs->chain_reported = true;
	}
}

/* With a key: the line's "sig" (record.h). Every line is checked: a line
 * edited and re-chained without the key breaks its own signature and those
 * of the lines after it, whose "prev" changed. */
static void check_line_sig(chain_state *cs, const ts_record_rline *l)
{
	ts_line_sig s;

	if (!cs->key)
		return;
	s = ts_record_line_check_sig(l->data, l->len, cs->key);
	if (s == TS_LINE_SIG_MISSING)
		add_finding(cs->rep, TS_FINDING_LINE_SIG, l->number, NULL, NULL,
			    ts_asprintf("has no \"sig\": it was not written by push --sign-key "
					"with the key %s (appended or rewritten by someone else)",
					ts_key_path(cs->key)));
	else if (s == TS_LINE_SIG_BAD)
		add_finding(cs->rep, TS_FINDING_LINE_SIG, l->number, NULL, NULL,
			    ts_asprintf("its \"sig\" is not a valid signature by the key %s over "
					"this line: the line (or its prev) was changed after it "
					"was signed, or another key signed it",
					ts_key_path(cs->key)));
}

static void collect_entry(chain_state *cs, json_t *o, size_t n)
{
	const char *repo = json_string_value(json_object_get(o, "repository"));
	const char *tag = json_string_value(json_object_get(o, "tag"));
	const char *digest = json_string_value(json_object_get(o, "digest"));
	entry *e;

	if (!repo || !tag || !digest || !ts_digest_valid(digest)) {
		add_finding(cs->rep, TS_FINDING_BAD_LINE, n, NULL, NULL,
			    ts_asprintf("lacks a string repository, tag or a sha256 digest"));
		return;
	}
	if (cs->n_entries == cs->cap_entries) {
		cs->cap_entries = cs->cap_entries ? 2 * cs->cap_entries : 64;
		cs->entries = ts_realloc(cs->entries, cs->cap_entries * sizeof(*e));
	}
	e = &cs->entries[cs->n_entries++];
	e->key = NULL;
	e->repository = ts_strdup(repo);
	e->tag = ts_strdup(tag);
	e->digest = ts_strdup(digest);
	e->line = n;
}

static void chain_line(chain_state *cs, const ts_record_rline *l)
{
	char why[256];
	json_t *o;

	cs->rep->lines = l->number;
	if (!l->terminated) {
		add_finding(cs->rep, TS_FINDING_TORN, l->number, NULL, NULL,
			    ts_asprintf("the last line is torn (no final newline): cut short "
					"by a crash or by hand"));
		return;
	}
	o = ts_record_line_parse(l->data, l->len, why, sizeof(why));
	if (!o) {
		add_finding(cs->rep, TS_FINDING_BAD_LINE, l->number, NULL, NULL,
			    ts_asprintf("%s", why));
	} else {
		check_prev(cs, o, l->number);
		check_line_sig(cs, l);
		collect_entry(cs, o, l->number);
		json_decref(o);
	}
	ts_record_line_digest(l->data, l->len, cs->prev);
	memcpy(cs->rep->head, cs->prev, TS_DIGEST_STRLEN);
	if (cs->anchor && strcmp(cs->anchor, cs->prev) == 0)
		cs->anchor_seen = true;
}

static ts_code read_chain(const char *path, chain_state *cs, ts_error *err)
{
	ts_record_reader *rd = NULL;
	ts_record_rline l;
	bool more = true;
	ts_code rc = ts_record_reader_open(path, &rd, err);

	while (rc == TS_OK) {
		rc = ts_record_reader_next(rd, &l, &more, err);
		if (rc != TS_OK || !more)
			break;
		chain_line(cs, &l);
	}
	ts_record_reader_free(rd);
	return rc;
}

/* ---- phase 2: the registry ---- */

enum { ST_PENDING, ST_OK, ST_MOVED, ST_GONE, ST_ERROR, ST_SKIPPED };
enum { SIG_NONE, SIG_OK, SIG_BAD, SIG_ERROR }; /* the recorded digest's signatures */

typedef struct repo_group {
	ts_ref ref;
	bool failed;  /* the registry could not be opened */
	char *msg;
	size_t first_line, n_targets;
} repo_group;

typedef struct target {
	entry *e;
	size_t group;
	int status;
	char current[TS_DIGEST_STRLEN];
	char *msg;
	int sig;      /* SIG_*: with a key, the recorded digest's signatures */
	char *sig_msg;
} target;

typedef struct pool {
	const ts_verify_opts *opts;
	const ts_registry_opts *reg; /* opts->registry with cred_host settled */
	target *targets;
	size_t n_targets;
	repo_group *groups;
	pthread_mutex_t lock;
	size_t next, done;
} pool;

static int entry_cmp(const void *a, const void *b)
{
	const entry *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	if (!c)
		c = strcmp(x->tag, y->tag);
	if (!c)
		c = x->line < y->line ? -1 : x->line > y->line;
	return c;
}

static int finding_cmp(const void *a, const void *b)
{
	const ts_finding *x = a, *y = b;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* With a key: the recorded digest carries signatures meeting every
 * requirement. */
static void check_signed(ts_registry *reg, const ts_verify_opts *o, target *t)
{
	static const char *const sig_only[] = { "signature" };
	const char *const *req = o->n_require ? o->require : sig_only;
	size_t n_req = o->n_require ? o->n_require : 1;
	ts_error e = TS_ERROR_INIT;
	ts_sig_report rep;
	bool ok = true;

	if (ts_verify_digest(reg, t->e->digest, o->key, &rep, &e) != TS_OK) {
		t->sig = SIG_ERROR;
		t->sig_msg = ts_strdup(e.msg);
		return;
	}
	for (size_t i = 0; i < n_req; i++)
		ok = ok && ts_sig_report_meets(&rep, req[i]);
	t->sig = ok ? SIG_OK : SIG_BAD;
	if (!ok) {
		char *img = ts_asprintf("%s@%s", t->e->repository, t->e->digest);
		t->sig_msg = ts_sig_report_summary(&rep, img, ts_key_path(o->key), req, n_req);
		free(img);
	}
	ts_sig_report_free(&rep);
}

static void check_one(ts_registry *reg, const ts_verify_opts *o, target *t)
{
	ts_error e = TS_ERROR_INIT;
	ts_manifest_info info;

	if (ts_registry_manifest_head(reg, t->e->tag, &info, &e) != TS_OK) {
		t->status = ST_ERROR;
		t->msg = ts_strdup(e.msg);
	} else if (info.exists && !ts_digest_valid(info.digest)) {
		char shown[TS_DIGEST_STRLEN];
		ts_sanitize(shown, sizeof(shown), info.digest);
		t->status = ST_ERROR;
		t->msg = ts_asprintf("the registry answered Docker-Content-Digest '%s', which is "
				     "not sha256:<64 hex>",
				     shown);
	} else if (!info.exists) {
		t->status = ST_GONE;
	} else if (strcmp(info.digest, t->e->digest) != 0) {
		t->status = ST_MOVED;
		memcpy(t->current, info.digest, sizeof(t->current));
	} else {
		t->status = ST_OK;
	}
	if (o->key && (t->status == ST_OK || t->status == ST_MOVED))
		check_signed(reg, o, t);
}

static ts_registry *open_group(pool *p, size_t g)
{
	ts_error e = TS_ERROR_INIT;
	ts_registry *reg = NULL;
	bool failed;

	pthread_mutex_lock(&p->lock);
	failed = p->groups[g].failed;
	pthread_mutex_unlock(&p->lock);
	if (failed)
		return NULL;
	if (ts_registry_open(&p->groups[g].ref, p->reg, &reg, &e) == TS_OK)
		return reg;
	pthread_mutex_lock(&p->lock);
	if (!p->groups[g].failed) {
		p->groups[g].failed = true;
		p->groups[g].msg = ts_strdup(e.msg);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Progress (progress.h): BEGIN, DONE after each tag, END. */
static void verify_event(const pool *p, ts_progress_state state)
{
	ts_progress_event ev = TS_PROGRESS_EVENT_INIT(TS_PROGRESS_VERIFY, state);
	if (!p->opts->progress)
		return;
	ev.index = p->done;
	ev.count = p->n_targets;
	p->opts->progress(p->opts->progress_ctx, &ev);
}

static void *worker(void *arg)
{
	pool *p = arg;
	ts_registry *reg = NULL;
	size_t reg_group = SIZE_MAX;

	for (;;) {
		size_t i;
		target *t;

		pthread_mutex_lock(&p->lock);
		i = p->next++;
		pthread_mutex_unlock(&p->lock);
		if (i >= p->n_targets)
			break;
		t = &p->targets[i];
		if (t->group != reg_group) {
			ts_registry_free(reg);
			reg_group = t->group;
			reg = open_group(p, reg_group);
		}
		if (reg)
			check_one(reg, p->opts, t);
		else
			t->status = ST_SKIPPED;
		pthread_mutex_lock(&p->lock);
		p->done++;
		verify_event(p, TS_PS_DONE);
		pthread_mutex_unlock(&p->lock);
	}
	ts_registry_free(reg);
	return NULL;
}

static void run_pool(pool *p)
{
	size_t jobs = p->opts->jobs > 0 ? (size_t)p->opts->jobs : 4;
	pthread_t *th;
	size_t started = 0;

	if (jobs > p->n_targets)
		jobs = p->n_targets;
	if (jobs <= 1) {
		worker(p);
		return;
	}
	th = ts_calloc(jobs, sizeof(*th));
	for (size_t i = 0; i < jobs; i++)
		if (pthread_create(&th[i], NULL, worker, p) == 0)
			started++;
		else
			break;
	if (!started)
		worker(p);
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(th);
}

/* Normalise repositories; a name that does not parse is a finding. The
 * host of line 1 is kept: flag and environment credentials default to it. */
static size_t normalise(chain_state *cs)
{
	size_t kept = 0;
	for (size_t i = 0; i < cs->n_entries; i++) {
		entry *e = &cs->entries[i];
		ts_ref r = TS_REF_INIT;
		ts_error er = TS_ERROR_INIT;
		bool repo_ok = ts_repo_parse(e->repository, &r, "repository", &er) == TS_OK;
		if (!repo_ok || !ts_tag_valid(e->tag)) {
			/* the parser's message never repeats user:password@ */
			add_finding(cs->rep, TS_FINDING_BAD_LINE, e->line, e, NULL,
				    repo_ok ? ts_asprintf("tag '%.200s' of %s is not a valid tag", e->tag,
							  e->repository)
					    : ts_asprintf("%s", er.msg));
			ts_ref_free(&r);
			free(e->repository);
			free(e->tag);
			free(e->digest);
			continue;
		}
		e->key = ts_ref_repo_string(&r);
		if (e->line == 1)
			cs->first_host = ts_strdup(r.host);
		ts_ref_free(&r);
		cs->entries[kept++] = *e;
	}
	cs->n_entries = kept;
	if (kept)
		qsort(cs->entries, kept, sizeof(entry), entry_cmp);
	return kept;
}

static bool same_tag(const entry *a, const entry *b)
{
	return strcmp(a->key, b->key) == 0 && strcmp(a->tag, b->tag) == 0;
}

/* One target per distinct tag (its latest line); conflicts reported. */
static void make_targets(chain_state *cs, pool *p, size_t *n_groups)
{
	size_t g = SIZE_MAX;

	p->targets = ts_calloc(cs->n_entries, sizeof(target));
	p->groups = ts_calloc(cs->n_entries, sizeof(repo_group));
	*n_groups = 0;
	for (size_t i = 0; i < cs->n_entries; i++) {
		entry *e = &cs->entries[i];
		if (i && same_tag(e, e - 1)) {
			if (strcmp(e->digest, (e - 1)->digest) != 0)
				add_finding(cs->rep, TS_FINDING_CONFLICT, e->line, e, NULL,
					    ts_asprintf("%s:%s recorded with two digests: %s on line "
							"%zu, %s here; a tag must never change",
							e->repository, e->tag, (e - 1)->digest,
							(e - 1)->line, e->digest));
			p->targets[p->n_targets - 1].e = e; /* the latest line wins */
			continue;
		}
		if (g == SIZE_MAX || strcmp(e->key, (e - 1)->key) != 0) {
			g = (*n_groups)++;
			ts_repo_parse(e->repository, &p->groups[g].ref, "repository", NULL);
			p->groups[g].first_line = e->line;
		}
		if (e->line < p->groups[g].first_line)
			p->groups[g].first_line = e->line;
		p->groups[g].n_targets++;
		p->targets[p->n_targets].e = e;
		p->targets[p->n_targets++].group = g;
	}
	cs->rep->tags = p->n_targets;
}

static void target_finding(ts_verify_report *rep, target *t)
{
	entry *e = t->e;

	if (t->status == ST_OK)
		rep->tags_checked++;
	else if (t->status == ST_MOVED) {
		rep->tags_checked++;
		add_finding(rep, TS_FINDING_MOVED, e->line, e, t->current,
			    ts_asprintf("%s:%s moved: recorded %s, the registry now has %s",
					e->repository, e->tag, e->digest, t->current));
	} else if (t->status == ST_GONE) {
		rep->tags_checked++;
		add_finding(rep, TS_FINDING_GONE, e->line, e, NULL,
			    ts_asprintf("%s:%s is gone: recorded %s, the registry has no such tag",
					e->repository, e->tag, e->digest));
	} else if (t->status == ST_ERROR) {
		add_finding(rep, TS_FINDING_ERROR, e->line, e, NULL,
			    ts_asprintf("%s:%s could not be checked: %s", e->repository, e->tag,
					t->msg));
	}
	if (t->sig == SIG_BAD)
		add_finding(rep, TS_FINDING_UNSIGNED, e->line, e, NULL, ts_asprintf("%s", t->sig_msg));
	else if (t->sig == SIG_ERROR) {
		rep->tags_checked--; /* counted above: the tag was, its signatures not */
		add_finding(rep, TS_FINDING_ERROR, e->line, e, NULL,
			    ts_asprintf("the signatures of %s@%s could not be checked: %s",
					e->repository, e->digest, t->sig_msg));
	}
}

static void collect_results(ts_verify_report *rep, pool *p, size_t n_groups)
{
	size_t first = rep->n_findings;

	for (size_t i = 0; i < p->n_targets; i++)
		target_finding(rep, &p->targets[i]);
	for (size_t g = 0; g < n_groups; g++) {
		repo_group *gr = &p->groups[g];
		if (gr->failed) {
			entry e = { NULL, NULL, NULL, NULL, gr->first_line };
			char *repo = ts_ref_repo_string(&gr->ref);
			e.repository = repo;
			add_finding(rep, TS_FINDING_ERROR, gr->first_line, &e, NULL,
				    ts_asprintf("%zu tag(s) of %s could not be checked: %s",
						gr->n_targets, repo, gr->msg));
			free(repo);
		}
	}
	if (rep->n_findings > first)
		qsort(rep->findings + first, rep->n_findings - first, sizeof(ts_finding),
		      finding_cmp);
}

static void add_note(ts_verify_report *rep, char *note)
{
	for (char *p = note; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	rep->notes = ts_realloc(rep->notes, (rep->n_notes + 1) * sizeof(*rep->notes));
	rep->notes[rep->n_notes++] = note;
}

/* Flag and environment credentials belong to one registry: cred_host as
 * given (--registry-for-credentials), else the registry of line 1, whose
 * bytes anchor the chain (a line appended by anyone cannot move it). A
 * record whose line 1 names no registry uses them nowhere. Notes name the
 * repositories that are checked without them. */
static void settle_cred_host(chain_state *cs, const pool *p, size_t n_groups,
			     ts_registry_opts *ro)
{
	const char *who = ro->username ? "--username/--password-stdin"
				       : "TAGSEAL_USERNAME/TAGSEAL_PASSWORD";

	if (!ts_creds_explicit(ro))
		return;
	if (!ro->cred_host) {
		ro->cred_host = cs->first_host ? cs->first_host : "";
		if (cs->first_host)
			add_note(cs->rep, ts_asprintf("%s credentials are for %s, the registry of "
						      "line 1 (--registry-for-credentials names another)",
						      who, cs->first_host));
		else
			add_note(cs->rep, ts_asprintf("line 1 names no registry: %s credentials are "
						      "not used (--registry-for-credentials HOST "
						      "names their registry)",
						      who));
	}
	for (size_t g = 0; *ro->cred_host && g < n_groups; g++) {
		if (ts_creds_same_registry(ro->cred_host, p->groups[g].ref.host))
			continue;
		char *repo = ts_ref_repo_string(&p->groups[g].ref);
		add_note(cs->rep, ts_asprintf("line %zu: %s is not on %s: checked without the %s "
					      "credentials (its own Docker config entry or CI "
					      "default, if any)",
					      p->groups[g].first_line, repo, ro->cred_host, who));
		free(repo);
	}
}

static void check_registry(chain_state *cs, const ts_verify_opts *opts)
{
	ts_registry_opts ro = TS_REGISTRY_OPTS_INIT;
	pool p;
	size_t n_groups;

	memset(&p, 0, sizeof(p));
	p.opts = opts;
	if (opts->registry)
		ro = *opts->registry;
	p.reg = &ro;
	normalise(cs);
	make_targets(cs, &p, &n_groups);
	if (!opts->offline && p.n_targets)
		settle_cred_host(cs, &p, n_groups, &ro);
	if (!opts->offline && p.n_targets) {
		pthread_mutex_init(&p.lock, NULL);
		verify_event(&p, TS_PS_BEGIN);
		run_pool(&p);
		verify_event(&p, TS_PS_END);
		pthread_mutex_destroy(&p.lock);
		collect_results(cs->rep, &p, n_groups);
	}
	for (size_t i = 0; i < p.n_targets; i++) {
		free(p.targets[i].msg);
		free(p.targets[i].sig_msg);
	}
	for (size_t g = 0; g < n_groups; g++) {
		ts_ref_free(&p.groups[g].ref);
		free(p.groups[g].msg);
	}
	free(p.targets);
	free(p.groups);
}

ts_code ts_verify_record(const char *path, const ts_verify_opts *opts, ts_verify_report *rep,
			 ts_error *err)
{
	chain_state cs;
	ts_code rc;

	memset(&cs, 0, sizeof(cs));
	cs.rep = rep;
	rep->path = ts_strdup(path);
	rep->chain_ok = true;
	cs.anchor = opts->anchor;
	cs.key = opts->key;
	rc = read_chain(path, &cs, err);
	if (rc == TS_OK && cs.anchor && !cs.anchor_seen)
		add_finding(rep, TS_FINDING_ANCHOR, rep->lines, NULL, NULL,
			    ts_asprintf("no line hashes to the anchor %s: lines were cut from "
					"the end, or the anchored line was edited", cs.anchor));
	if (rc == TS_OK)
		check_registry(&cs, opts);
	for (size_t i = 0; i < cs.n_entries; i++) {
		free(cs.entries[i].key);
		free(cs.entries[i].repository);
		free(cs.entries[i].tag);
		free(cs.entries[i].digest);
	}
	free(cs.entries);
	free(cs.first_host);
	return rc;
}

/* ---- the report ---- */

ts_code ts_verify_report_code(const ts_verify_report *rep)
{
	bool error = false;
	for (size_t i = 0; i < rep->n_findings; i++) {
		if (rep->findings[i].kind != TS_FINDING_ERROR)
			return TS_EVERIFY;
		error = true;
	}
	return error ? TS_EREGISTRY : TS_OK;
}

const char *ts_finding_kind_name(ts_finding_kind k)
{
	static const char *const names[] = { "chain", "bad-line", "torn", "conflict",
					     "moved", "gone", "error", "anchor",
					     "line-signature", "unsigned" };
	return (size_t)k < sizeof(names) / sizeof(names[0]) ? names[k] : "unknown";
}

json_t *ts_verify_report_json(const ts_verify_report *rep)
{
	json_t *o = json_object(), *a = json_array();
	ts_code code = ts_verify_report_code(rep);

	for (size_t i = 0; i < rep->n_findings; i++) {
		const ts_finding *f = &rep->findings[i];
		json_array_append_new(
			a, json_pack("{s:s,s:I,s:o,s:o,s:o,s:o,s:o}", "kind",
				     ts_finding_kind_name(f->kind), "line", (json_int_t)f->line,
				     "repository", ts_json_str(f->repository), "tag", ts_json_str(f->tag),
				     "recorded", ts_json_str(f->recorded), "current",
				     ts_json_str(f->current), "message", ts_json_str(f->message)));
	}
	json_object_set_new(o, "record", ts_json_str(rep->path ? rep->path : ""));
	json_object_set_new(o, "ok", json_boolean(code == TS_OK));
	json_object_set_new(o, "exitCode", json_integer(code));
	json_object_set_new(o, "lines", json_integer((json_int_t)rep->lines));
	json_object_set_new(o, "head", rep->head[0] ? json_string(rep->head) : json_null());
	json_object_set_new(o, "chainOk", json_boolean(rep->chain_ok));
	json_object_set_new(o, "tags", json_integer((json_int_t)rep->tags));
	json_object_set_new(o, "tagsChecked", json_integer((json_int_t)rep->tags_checked));
	json_object_set_new(o, "findings", a);
	return o;
}

void ts_verify_report_free(ts_verify_report *rep)
{
	for (size_t i = 0; i < rep->n_findings; i++) {
		ts_finding *f = &rep->findings[i];
		free(f->repository);
		free(f->tag);
		free(f->recorded);
		free(f->current);
		free(f->message);
	}
	free(rep->findings);
	for (size_t i = 0; i < rep->n_notes; i++)
		free(rep->notes[i]);
	free(rep->notes);
	free(rep->path);
	memset(rep, 0, sizeof(*rep));
}
