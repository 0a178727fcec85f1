/*
 * progress.c - renders the engine's progress events (tagseal/progress.h)
 * for push and verify on stderr; stdout is never touched.
 *
 * On a terminal (stderr is a TTY and TERM is set and not "dumb"): a live
 * line per active layer (or verify's count), redrawn in place at most ten
 * times a second, with bytes done of total, rate and ETA; a permanent line
 * as each layer is skipped or finished; a closing summary. Elsewhere (CI
 * logs, pipes): plain lines - one as each layer starts and finishes, at most
 * one every 10 s while a long layer runs, and the summary. No colour is
 * used at all (so NO_COLOR holds trivially); -q turns the display off.
 *
 * Events come from several threads (parallel layers, verify's pool): all
 * state and output are under stderr's own lock (flockfile), the lock msgs.c
 * holds while it prints, so a message and a redraw never interleave; the
 * state is also under a recursive mutex taken after it, a lock that thread
 * checkers (TSan) see.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "progress.h"
#include "tagseal/buf.h"

#define REDRAW_MS 100.0     /* least time between two redraws on a terminal */
#define PLAIN_EVERY_MS 10000.0 /* least time between two plain lines of one layer */
#define LINE_MAX_CHARS 512

typedef struct row {
	ts_progress_state state; /* the last working state (reading, compressing, uploading) */
	bool active;             /* started and not finished */
	bool skipped, mounted;   /* the registry had it (or got it by a mount) */
	int64_t total, done;
	double t0, last_plain;
	char name[16];           /* short digest */
} row;

static struct {
	bool on;            /* between BEGIN and END */
	bool tty;
	int cols;
	ts_progress_what kind;
	row *rows;
	size_t n;
	int drawn;          /* live lines on the screen below the permanent ones */
	double t0, last_draw;
	int64_t total, bytes_read;
	size_t uploaded, skipped, mounted, foreign, read_only;
	size_t vdone, vcount; /* verify */
	double vlast_plain;
} st;

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

/* ---- figures ---- */

/* 1234567 -> "1.2 MB" (powers of 1000, as docker shows sizes). */
static const char *human_bytes(char *b, size_t cap, int64_t n)
{
	static const char *units[] = { "kB", "MB", "GB", "TB" };
	double v = (double)n;
	int u = -1;
	if (n < 1000) {
		snprintf(b, cap, "%" PRId64 " B", n < 0 ? 0 : n);
		return b;
	}
	while (v >= 1000.0 && u < 3) {
		v /= 1000.0;
		u++;
	}
	snprintf(b, cap, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
	return b;
}

/* Seconds as "0.4s", "12s", "3m05s", "1h02m". */
static const char *human_time(char *b, size_t cap, double s)
{
	long t = (long)(s + 0.5);
	if (s < 10)
		snprintf(b, cap, "%.1fs", s);
	else if (t < 60)
		snprintf(b, cap, "%lds", t);
	else if (t < 3600)
		snprintf(b, cap, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(b, cap, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
	return b;
}

/* "sha256:3f2a1b9c0d12..." -> "3f2a1b9c0d12"; anything but lowercase hex
 * (a hostile image's value) shows as '?', so nothing raw reaches a terminal. */
static void short_digest(char out[16], const char *d)
{
	const char *c = d ? strchr(d, ':') : NULL;
	size_t n = 0;
	for (c = c ? c + 1 : d; c && *c && n < 12; c++)
		out[n++] = (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f') ? *c : '?';
	if (!n)
		out[n++] = '?';
	out[n] = '\0';
}

static const char *state_word(ts_progress_state s)
{
	switch (s) {
	case TS_PS_READING: return "reading";
	case TS_PS_COMPRESSING: return "compressing";
	case TS_PS_UPLOADING: return "uploading";
	default: return "working";
	}
}

/* "layer 2/5 3f2a1b9c0d12 (45 MB)" */
static void row_name(ts_buf *b, size_t i)
{
	char sz[32];
	ts_buf_printf(b, "layer %zu/%zu %s (%s)", i + 1, st.n, st.rows[i].name,
		      human_bytes(sz, sizeof(sz), st.rows[i].total));
}

/* ", 12 MB of 45 MB (27%), 10 MB/s, ETA 3.2s" - what is known so far. */
static void add_figures(ts_buf *b, int64_t done, int64_t total, double ms)
{
	char x[32], y[32];
	double rate = ms >= 300 && done > 0 ? (double)done / (ms / 1000.0) : 0;
	ts_buf_printf(b, " %s", human_bytes(x, sizeof(x), done));
	if (total > 0)
		ts_buf_printf(b, " of %s (%d%%)", human_bytes(y, sizeof(y), total),
			      (int)(done * 100 / total));
	if (rate > 0) {
		ts_buf_printf(b, ", %s/s", human_bytes(x, sizeof(x), (int64_t)rate));
		if (total > done)
			ts_buf_printf(b, ", ETA %s", human_time(y, sizeof(y), (double)(total - done) / rate));
	}
}

/* The running line of row i: "layer 2/5 3f2a1b9c0d12 (45 MB): uploading 12 MB of ...";
 * compact, for a live line that must fit a terminal's width:
 * "layer 2/5 3f2a1b9c0d12 (45 MB) uploading 12 MB 27% 10 MB/s ETA 3.2s". */
static void row_line(ts_buf *b, size_t i, double now, bool compact)
{
	row *r = &st.rows[i];
	double ms = now - r->t0;
	double rate = ms >= 300 && r->done > 0 ? (double)r->done / (ms / 1000.0) : 0;
	char x[32];

	row_name(b, i);
	if (!compact) {
		ts_buf_printf(b, ": %s", state_word(r->state));
		add_figures(b, r->done, r->total, ms);
		return;
	}
	ts_buf_printf(b, " %-11s %s", state_word(r->state), human_bytes(x, sizeof(x), r->done));
	if (r->total > 0)
		ts_buf_printf(b, " %d%%", (int)(r->done * 100 / r->total));
	if (rate > 0) {
		ts_buf_printf(b, " %s/s", human_bytes(x, sizeof(x), (int64_t)rate));
		if (r->total > r->done)
			ts_buf_printf(b, " ETA %s", human_time(x, sizeof(x), (double)(r->total - r->done) / rate));
	}
}

static void verify_line(ts_buf *b, double now)
{
	double s = (now - st.t0) / 1000.0;
	char x[32];
	ts_buf_printf(b, "checked %zu/%zu tags", st.vdone, st.vcount);
	if (st.vcount)
		ts_buf_printf(b, " (%d%%)", (int)(st.vdone * 100 / st.vcount));
	if (s >= 0.3 && st.vdone) {
		double rate = (double)st.vdone / s;
		ts_buf_printf(b, ", %.1f tags/s", rate);
		if (st.vcount > st.vdone)
			ts_buf_printf(b, ", ETA %s",
				      human_time(x, sizeof(x), (double)(st.vcount - st.vdone) / rate));
	}
}

/* ---- output ---- */

/* Rewrite the live lines in place, with `perm` (if any) printed for good
 * above them. Terminal only. */
static void draw(const char *perm, double now)
{
	ts_buf b = TS_BUF_INIT;
	int lines = 0, width = st.cols > 10 ? st.cols - 1 : 79;

	if (st.drawn > 0)
		fprintf(stderr, "\r\x1b[%dA", st.drawn);
	if (perm)
		fprintf(stderr, "\rtagseal: %s\x1b[K\n", perm);
	for (size_t i = 0; st.on && i < st.n; i++) {
		if (!st.rows[i].active)
			continue;
		ts_buf_reset(&b);
		row_line(&b, i, now, true);
		fprintf(stderr, "\r  %.*s\x1b[K\n", width - 2, ts_buf_cstr(&b));
		lines++;
	}
	if (st.on && st.kind == TS_PROGRESS_VERIFY) {
		ts_buf_reset(&b);
		verify_line(&b, now);
		fprintf(stderr, "\r  %.*s\x1b[K\n", width - 2, ts_buf_cstr(&b));
		lines++;
	}
	fputs("\x1b[J", stderr);
	fflush(stderr);
	st.drawn = lines;
	st.last_draw = now;
	ts_buf_free(&b);
}

/* A line for good: above the live lines on a terminal, else plain. */
static void say(const char *line, double now)
{
	if (st.tty)
		draw(line, now);
	else
		ts_msg_info("%s", line);
}

static pthread_mutex_t st_mu;
static pthread_once_t st_once = PTHREAD_ONCE_INIT;

static void st_mu_init(void)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE); /* msgs.c calls back in */
	pthread_mutex_init(&st_mu, &a);
	pthread_mutexattr_destroy(&a);
}

/* stderr's lock, then the state's */
static void st_lock(void)
{
	flockfile(stderr);
	pthread_once(&st_once, st_mu_init);
	pthread_mutex_lock(&st_mu);
}

static void st_unlock(void)
{
	pthread_mutex_unlock(&st_mu);
	funlockfile(stderr);
}

void ts_progress_cli_clear(void)
{
	st_lock();
	if (st.tty && st.drawn > 0) {
		fprintf(stderr, "\r\x1b[%dA\x1b[J", st.drawn);
		st.drawn = 0;
	}
	st_unlock();
}

/* ---- events ---- */

static void begin(const ts_progress_event *ev, double now)
{
	const char *term = getenv("TERM");
	struct winsize ws;

	free(st.rows);
	memset(&st, 0, sizeof(st));
	st.on = true;
	st.kind = ev->what;
	st.t0 = now;
	st.tty = isatty(STDERR_FILENO) == 1 && term && *term && strcmp(term, "dumb") != 0;
	st.cols = st.tty && ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col ? ws.ws_col : 80;
	if (ev->what == TS_PROGRESS_VERIFY) {
		st.vcount = ev->count;
		if (!st.tty)
			ts_msg_info("checking %zu tag(s) in their registries", ev->count);
		else
			draw(NULL, now);
		return;
	}
	st.n = ev->count;
	st.total = ev->total;
	st.rows = calloc(st.n + 1, sizeof(*st.rows));
	if (!st.rows) {
		st.on = false;
		return;
	}
	{
		char x[32];
		ts_buf b = TS_BUF_INIT;
		ts_buf_printf(&b, "image: %zu layer(s), %s", st.n, human_bytes(x, sizeof(x), ev->total));
		say(ts_buf_cstr(&b), now);
		ts_buf_free(&b);
	}
}

static void summary(const ts_progress_event *ev, double now)
{
	ts_buf b = TS_BUF_INIT;
	double s = (now - st.t0) / 1000.0;
	char x[32], y[32], z[32];

	if (st.kind == TS_PROGRESS_VERIFY) {
		ts_buf_printf(&b, "checked %zu/%zu tags in %s", st.vdone, st.vcount, human_time(x, sizeof(x), s));
		if (s > 0 && st.vdone)
			ts_buf_printf(&b, " (%.1f tags/s)", (double)st.vdone / s);
	} else if (!st.uploaded && !st.skipped && !st.mounted && st.read_only && ev->done <= 0) {
		/* --dry-run, or the tag exists: only the digests were computed */
		ts_buf_printf(&b, "nothing sent: %zu layer(s) read to compute their digests in %s", st.read_only,
			      human_time(x, sizeof(x), s));
	} else {
		ts_buf_printf(&b, "sent %s in %s", human_bytes(x, sizeof(x), ev->done), human_time(y, sizeof(y), s));
		if (s > 0 && ev->done > 0)
			ts_buf_printf(&b, " (%s/s)", human_bytes(z, sizeof(z), (int64_t)((double)ev->done / s)));
		ts_buf_printf(&b, "; layers: %zu uploaded, %zu skipped (already in the registry)",
			      st.uploaded, st.skipped);
		if (st.mounted)
			ts_buf_printf(&b, ", %zu mounted", st.mounted);
		if (st.foreign)
			ts_buf_printf(&b, ", %zu non-distributable", st.foreign);
		if (st.read_only)
			ts_buf_printf(&b, ", %zu read only (nothing sent)", st.read_only);
	}
	say(ts_buf_cstr(&b), now);
	ts_buf_free(&b);
}

/* A layer left for good: skipped, finished, or to be sent again. */
static void layer_end(size_t i, const ts_progress_event *ev, double now)
{
	row *r = &st.rows[i];
	ts_buf b = TS_BUF_INIT;
	char x[32], y[32], d[16];
	double s = (now - r->t0) / 1000.0;
	bool was_active = r->active;

	r->active = false;
	row_name(&b, i);
	switch (ev->state) {
	case TS_PS_PRESENT:
		r->skipped = true;
		st.skipped++;
		ts_buf_puts(&b, ": skipped, already in the registry");
		break;
	case TS_PS_MOUNTED:
		r->skipped = r->mounted = true;
		st.mounted++;
		ts_buf_puts(&b, ": mounted from another repository, not sent");
		break;
	case TS_PS_FOREIGN:
		st.foreign++;
		ts_buf_puts(&b, ": non-distributable, never sent");
		break;
	case TS_PS_RETRY:
		ts_buf_puts(&b, ": failed, it will be sent again");
		break;
	default: /* DONE */
		if (!was_active && r->skipped)
			goto out; /* nothing more to say */
		if (ev->sent) {
			st.uploaded++;
			ts_buf_puts(&b, r->state == TS_PS_COMPRESSING ? ": compressed and uploaded" : ": uploaded");
		} else if (r->skipped) {
			ts_buf_puts(&b, ": checked against its diff_id (already in the registry)");
		} else {
			st.read_only++;
			ts_buf_puts(&b, r->state == TS_PS_COMPRESSING ? ": compressed (not sent)" : ": read (not sent)");
		}
		ts_buf_printf(&b, " in %s", human_time(x, sizeof(x), s));
		if (s >= 0.3 && ev->done > 0)
			ts_buf_printf(&b, " (%s/s)", human_bytes(y, sizeof(y), (int64_t)((double)ev->done / s)));
		if (ev->pushed && ev->digest && strcmp(ev->pushed, ev->digest) != 0) {
			short_digest(d, ev->pushed);
			ts_buf_printf(&b, ", as %s (%s)", d, human_bytes(x, sizeof(x), ev->size));
		}
		break;
	}
	say(ts_buf_cstr(&b), now);
out:
	ts_buf_free(&b);
}

static void layer_event(const ts_progress_event *ev, double now)
{
	row *r;
	ts_buf b = TS_BUF_INIT;

	if (ev->index >= st.n)
		return;
	r = &st.rows[ev->index];
	if (!r->name[0]) {
		short_digest(r->name, ev->digest);
		r->total = ev->total;
	}
	switch (ev->state) {
	case TS_PS_READING:
	case TS_PS_COMPRESSING:
	case TS_PS_UPLOADING:
		if (!r->active || r->state != ev->state || ev->done < r->done) {
			/* it starts (or starts over) */
			r->active = true;
			r->state = ev->state;
			r->t0 = r->last_plain = now;
			r->done = ev->done;
			if (st.tty) {
				draw(NULL, now);
			} else {
				row_name(&b, ev->index);
				ts_buf_printf(&b, ": %s", state_word(ev->state));
				ts_msg_info("%s", ts_buf_cstr(&b));
			}
			break;
		}
		r->done = ev->done;
		if (st.tty && now - st.last_draw >= REDRAW_MS) {
			draw(NULL, now);
		} else if (!st.tty && now - r->last_plain >= PLAIN_EVERY_MS) {
			r->last_plain = now;
			row_line(&b, ev->index, now, false);
			ts_msg_info("%s", ts_buf_cstr(&b));
		}
		break;
	case TS_PS_PRESENT:
	case TS_PS_MOUNTED:
	case TS_PS_FOREIGN:
	case TS_PS_RETRY:
	case TS_PS_DONE:
		if (ev->state == TS_PS_DONE)
			r->done = ev->done;
		layer_end(ev->index, ev, now);
		break;
	default:
		break;
	}
	ts_buf_free(&b);
}

/* Configs and manifests: one line each once they are in the registry. */
static void object_event(const ts_progress_event *ev, double now)
{
	ts_buf b = TS_BUF_INIT;
	char d[16], x[32];
	if (ev->state != TS_PS_DONE)
		return;
	short_digest(d, ev->digest);
	ts_buf_printf(&b, "%s %zu/%zu %s (%s): in the registry",
		      ev->what == TS_PROGRESS_CONFIG ? "config" : "manifest", ev->index + 1, ev->count, d,
		      human_bytes(x, sizeof(x), ev->size));
	say(ts_buf_cstr(&b), now);
	ts_buf_free(&b);
}

static void verify_event(const ts_progress_event *ev, double now)
{
	ts_buf b = TS_BUF_INIT;
	st.vdone = ev->index;
	if (st.tty) {
		if (now - st.last_draw >= REDRAW_MS || st.vdone == st.vcount)
			draw(NULL, now);
	} else if (now - st.vlast_plain >= PLAIN_EVERY_MS && now - st.t0 >= PLAIN_EVERY_MS) {
		st.vlast_plain = now;
		verify_line(&b, now);
		ts_msg_info("%s", ts_buf_cstr(&b));
	}
	ts_buf_free(&b);
}

static void on_event(void *ud, const ts_progress_event *ev)
{
	double now = now_ms();
	(void)ud;
	st_lock();
	if (ev->state == TS_PS_BEGIN && (ev->what == TS_PROGRESS_PUSH || ev->what == TS_PROGRESS_VERIFY)) {
		begin(ev, now);
	} else if (!st.on) {
		/* nothing begun: ignore */
	} else if (ev->state == TS_PS_END) {
		for (size_t i = 0; i < st.n; i++)
			st.rows[i].active = false;
		st.on = false;
		if (ev->failed) {
			if (st.tty)
				draw(NULL, now); /* erase the live lines: the error follows */
		} else {
			summary(ev, now);
		}
		free(st.rows);
		st.rows = NULL;
		st.n = 0;
	} else if (ev->what == TS_PROGRESS_LAYER) {
		layer_event(ev, now);
	} else if (ev->what == TS_PROGRESS_CONFIG || ev->what == TS_PROGRESS_MANIFEST) {
		object_event(ev, now);
	} else if (ev->what == TS_PROGRESS_VERIFY) {
		verify_event(ev, now);
	}
	st_unlock();
}

ts_progress_event_fn ts_progress_cli(void)
{
	return ts_msg_verbosity() < 0 ? NULL : on_event;
}
