/*
 * upload.c - blob uploads (the OCI distribution API's upload sessions):
 * one streamed PATCH fed by a read-ahead thread, or PATCHes in pieces for
 * registries with a body limit; resuming a session after a failure; the
 * final PUT ?digest=. The bytes come from a ts_blob_reader (blobio.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry_int.h"
#include "tagseal/readahead.h"

#define UPLOAD_PIECE_MIN (256 * 1024)  /* smallest PATCH after 413 answers */
#define UPLOAD_CHUNK_MAX (64 * 1024 * 1024)
#define SINGLE_PUT_MAX (1024 * 1024)   /* blobs up to this size go up in POST + PUT */

/* POST an upload session; *location gets the absolute upload URL. */
static ts_code upload_start(ts_registry *r, char **location, size_t *chunk, ts_error *err)
{
	ts_http_req q = { 0 };
	ts_code rc;

	q.method = "POST";
	q.url = ts_reg_url(r, "blobs/uploads/");
	rc = ts_http_do(r->http, &q, "starting a blob upload", err);
	if (rc == TS_OK && q.status != 202)
		rc = ts_reg_http_error(r, &q, "starting a blob upload", err);
	if (rc == TS_OK) {
		*location = q.location ? ts_url_resolve(q.final_url, q.location, NULL) : NULL;
		/* a registry's minimum chunk (all but the last), within reason */
		if (q.chunk_min > (int64_t)*chunk)
			*chunk = q.chunk_min > UPLOAD_CHUNK_MAX ? UPLOAD_CHUNK_MAX : (size_t)q.chunk_min;
		if (!*location)
			rc = ts_error_setc(err, TS_C_PROTOCOL,
					   "starting a blob upload: registry %s sent no usable Location",
					   r->host);
	}
	ts_http_req_free(&q);
	return rc;
}

void ts_reg_upload_cancel(ts_registry *r, const char *location)
{
	ts_http_req q = { 0 };
	ts_error ignored = TS_ERROR_INIT;
	q.method = "DELETE";
	q.url = ts_strdup(location);
	ts_http_do(r->http, &q, "cancelling an upload", &ignored);
	ts_http_req_free(&q);
}

/* A commit answered DIGEST_INVALID: the registry's copy of the bytes is
 * not what we hashed (damaged on the way, a cut PATCH) or the bytes are not
 * what the image says (the caller compares its own hash); a new session
 * may succeed. True, with that error set, when the answer says so. */
static bool digest_refused(ts_registry *r, const ts_http_req *q, const char *digest, ts_error *err)
{
	char codes[256];
	ts_reg_error_codes(&q->errbody, codes, sizeof(codes));
	if (!ts_reg_has_code(codes, "DIGEST_INVALID"))
		return false;
	ts_error_setc(err, TS_C_PROTOCOL,
		      "blob %s: registry %s says the bytes it received have another digest "
		      "(DIGEST_INVALID)",
		      digest, r->host);
	err->retryable = TS_RETRY;
	return true;
}

/* A committed blob's Docker-Content-Digest, when the registry sends one,
 * must be the digest asked for. */
static ts_code digest_reported(ts_registry *r, const ts_http_req *q, const char *digest,
			       ts_error *err)
{
	if (!q->digest[0] || strcmp(q->digest, digest) == 0)
		return TS_OK;
	return ts_error_setc(err, TS_C_PROTOCOL, "blob %s: registry %s reports digest %s for it",
			     digest, r->host, ts_digest_valid(q->digest) ? q->digest : "(not a digest)");
}

/* PUT ?digest= on the session: commits what the PATCHes sent, or carries
 * the whole blob itself when `body` is given (one request instead of two:
 * the spec's "POST then PUT" upload, for small blobs held in memory). */
static ts_code upload_finish(ts_registry *r, const char *location, const char *digest,
			     const void *body, size_t body_len, ts_error *err)
{
	ts_http_req q = { 0 };
	ts_code rc;
	char *query = ts_asprintf("digest=%s", digest);

	q.method = "PUT";
	q.url = ts_url_resolve(location, location, query);
	q.content_type = "application/octet-stream";
	q.body = body;
	q.body_len = body ? body_len : 0;
	free(query);
	rc = ts_http_do(r->http, &q, "finishing a blob upload", err);
	if (rc == TS_OK && q.status == 404) {
		/* a PUT that landed but whose answer was lost, then retried */
		bool exists = false;
		ts_http_req_free(&q);
		rc = ts_registry_blob_exists(r, digest, &exists, err);
		if (rc == TS_OK && !exists)
			rc = ts_error_setc(err, TS_C_PROTOCOL,
					  "blob %s: registry %s lost the upload session", digest, r->host);
		return rc;
	}
	if (rc == TS_OK && q.status != 201)
		rc = digest_refused(r, &q, digest, err) ? err->code
							: ts_reg_http_error(r, &q, "finishing a blob upload", err);
	if (rc == TS_OK)
		rc = digest_reported(r, &q, digest, err);
	ts_http_req_free(&q);
	return rc;
}

/* An upload in progress: where it is, and how much the registry holds. */
typedef struct upload {
	char *location;
	int64_t offset;  /* bytes the registry has acknowledged */
	size_t piece;    /* bytes per PATCH */
	bool committed;  /* the blob went up in the PUT that commits it */
	bool early;      /* that PUT was answered 201 before all the bytes went */
} upload;

static void upload_move(upload *u, const ts_http_req *q)
{
	if (q->location) {
		char *next = ts_url_resolve(q->final_url ? q->final_url : u->location, q->location, NULL);
		if (next) {
			free(u->location);
			u->location = next;
		}
	}
}

/* Ask the registry how many bytes of the upload it holds (Range: 0-N). */
static ts_code upload_status(ts_registry *r, upload *u, int64_t *have, ts_error *err)
{
	ts_http_req q = { 0 };
	ts_code rc;
	q.method = "GET";
	q.url = ts_strdup(u->location);
	rc = ts_http_do(r->http, &q, "asking for an upload's progress", err);
	if (rc == TS_OK && q.status != 204 && q.status != 202 && q.status != 200)
		rc = ts_reg_http_error(r, &q, "asking for an upload's progress", err);
	if (rc == TS_OK) {
		/* "0-0" is read as 0 bytes (a registry that really holds 1 byte
		 * answers the next PATCH with 416, and the blob is then started
		 * over); no Range at all: -1, unknown */
		int64_t end = ts_http_range_end(q.range);
		*have = end < 0 ? -1 : end > 0 ? end + 1 : 0;
		upload_move(u, &q);
	}
	ts_http_req_free(&q);
	return rc;
}

/*
 * Send buf[0..n) as the bytes at u->offset, in PATCHes of u->piece bytes
 * with Content-Range. A failed PATCH is not blindly re-sent: the registry
 * is asked how much it holds and the upload resumes from there. A 413
 * halves the piece (registries with a request body limit).
 */
static ts_code upload_chunk(ts_registry *r, upload *u, const char *buf, size_t n, ts_error *err)
{
	int64_t start = u->offset;
	int attempt = 0;

	while (u->offset - start < (int64_t)n) {
		size_t done = (size_t)(u->offset - start), len = n - done;
		ts_http_req q = { 0 };
		char range[96];
		int64_t have;
		ts_code rc;

		if (len > u->piece)
			len = u->piece;
		snprintf(range, sizeof(range), "Content-Range: %lld-%lld", (long long)u->offset,
			 (long long)(u->offset + (int64_t)len - 1));
		q.method = "PATCH";
		q.upload = true;
		q.url = ts_strdup(u->location);
		q.content_type = "application/octet-stream";
		q.extra_header = ts_strdup(range);
		q.body = buf + done;
		q.body_len = len;
		q.no_retry = true;
		rc = ts_http_do(r->http, &q, "uploading a blob", err);
		if (rc == TS_OK && (q.status == 202 || q.status == 201 || q.status == 204)) {
			upload_move(u, &q);
			u->offset += (int64_t)len;
			attempt = 0;
			ts_http_req_free(&q);
			continue;
		}
		if (rc == TS_OK && q.status == 413 && u->piece > UPLOAD_PIECE_MIN) {
			u->piece /= 2;
			ts_http_req_free(&q);
			continue;
		}
		if (rc == TS_OK && (q.status == 404 || q.status == 416)) {
			/* the session is gone (docker-registry drops one whose PATCH
			 * was cut), or holds other bytes than we think: the blob
			 * may be sent again in a new session */
			rc = ts_reg_http_error(r, &q, "uploading a blob", err);
			err->retryable = TS_RETRY;
			ts_http_req_free(&q);
			return rc;
		}
		if (rc == TS_OK && !ts_http_transient_status(q.status) && q.status != 416) {
			rc = ts_reg_http_error(r, &q, "uploading a blob", err);
			ts_http_req_free(&q);
			return rc;
		}
		if (rc != TS_OK && !q.transient) {
			ts_http_req_free(&q);
			return rc;
		}
		if (attempt >= r->opts.retries) {
			if (rc == TS_OK)
				rc = ts_reg_http_error(r, &q, "uploading a blob", err);
			err->retryable = TS_RETRY;
			ts_http_req_free(&q);
			return rc;
		}
		ts_http_backoff(r->http, attempt++, q.retry_after);
		ts_http_req_free(&q);
		rc = upload_status(r, u, &have, err);
		if (rc == TS_OK && (have < start || have > start + (int64_t)n))
			rc = ts_error_setc(err, TS_C_PROTOCOL,
					  "uploading a blob: registry %s holds %lld bytes of the upload, "
					  "expected between %lld and %lld",
					  r->host, (long long)have, (long long)start,
					  (long long)(start + (int64_t)n));
		if (rc) {
			/* the session cannot be resumed (docker-registry invalidates
			 * one whose last PATCH was cut): the whole blob may be sent
			 * again in a new session */
			err->retryable = TS_RETRY;
			return rc;
		}
		ts_http_log(r->http, "resuming the upload at byte %lld", (long long)have);
		u->offset = have;
	}
	return TS_OK;
}

/* The whole blob in PATCHes of u->piece bytes: each piece is held until the
 * registry acknowledges it (upload_chunk resumes it in place), while the
 * pipe reads ahead. */
static ts_code send_pieces(ts_registry *r, upload *u, ts_readahead *pp, ts_error *err)
{
	char *buf = ts_malloc(u->piece);
	ts_code rc = TS_OK;
	bool end = false;

	while (rc == TS_OK && !end) {
		size_t n = 0, want = u->piece; /* a 413 may have made pieces smaller */
		while (n < want) {
			long k = ts_readahead_take(pp, buf + n, want - n);
			if (k < 0) {
				free(buf);
				return ts_readahead_error(pp, err);
			}
			if (k == 0) {
				end = true;
				break;
			}
			n += (size_t)k;
		}
		if (n)
			rc = upload_chunk(r, u, buf, n, err);
	}
	free(buf);
	return rc;
}

/*
 * The whole blob (from u->offset on) in one streamed PATCH; or, with
 * `commit` (its digest, the whole blob from byte 0), in the PUT ?digest=
 * that commits it: one request fewer, the registry checking the digest. On
 * a failure that another attempt may cure, the error is retryable and
 * u->offset says how much the registry holds (u->location NULL: the
 * session is gone).
 */
static ts_code send_stream(ts_registry *r, upload *u, int64_t size, ts_readahead *pp,
			   const char *commit, ts_error *err)
{
	ts_http_req q = { 0 };
	char range[96];
	int64_t have = 0;
	ts_code rc;

	q.method = commit ? "PUT" : "PATCH";
	q.upload = true;
	if (commit) {
		char *query = ts_asprintf("digest=%s", commit);
		q.url = ts_url_resolve(u->location, u->location, query);
		free(query);
	} else {
		q.url = ts_strdup(u->location);
	}
	q.content_type = "application/octet-stream";
	q.stream = pp;
	q.stream_len = size >= 0 ? size - u->offset : -1;
	if (size > u->offset && !commit) {
		snprintf(range, sizeof(range), "Content-Range: %lld-%lld", (long long)u->offset,
			 (long long)size - 1);
		q.extra_header = ts_strdup(range);
	}
	rc = ts_http_do(r->http, &q, "uploading a blob", err);
	if (ts_readahead_failed(pp)) {
		/* the reader failed: its error, not libcurl's */
		ts_http_req_free(&q);
		return ts_readahead_error(pp, err);
	}
	if (commit && rc == TS_OK && q.status == 201) {
		rc = digest_reported(r, &q, commit, err);
		if (rc == TS_OK && pp->taken < size) {
			/* answered before all our bytes went (a registry that has the
			 * blob already may): believed when HEAD finds it */
			bool there = false;
			rc = ts_registry_blob_exists(r, commit, &there, err);
			if (rc == TS_OK && !there)
				rc = ts_error_setc(err, TS_C_PROTOCOL,
						   "blob %s: registry %s answered 201 to %lld of its %lld bytes, "
						   "and does not have it",
						   commit, r->host, (long long)pp->taken, (long long)size);
			u->early = rc == TS_OK;
		}
		u->offset = pp->taken;
		u->committed = rc == TS_OK;
		ts_http_req_free(&q);
		return rc;
	}
	if (commit && rc == TS_OK && q.status == 400 && digest_refused(r, &q, commit, err)) {
		/* the caller compares its own hash; a next attempt, a new session */
		ts_reg_upload_cancel(r, u->location); /* if the registry kept it */
		free(u->location);
		u->location = NULL;
		u->offset = 0;
		ts_http_req_free(&q);
		return err->code;
	}
	if (rc == TS_OK && !commit && (q.status == 202 || q.status == 201 || q.status == 204)) {
		/* the registry's Range, when it sends one, must count every byte */
		int64_t end = ts_http_range_end(q.range), acked = end + 1;
		upload_move(u, &q);
		if (end < 0 || acked == pp->taken || (end == 0 && pp->taken == 0)) {
			u->offset = pp->taken;
			ts_http_req_free(&q);
			return TS_OK;
		}
		rc = ts_error_setc(err, TS_C_PROTOCOL,
				  "uploading a blob: registry %s acknowledged %lld of the %lld bytes sent",
				  r->host, (long long)acked, (long long)pp->taken);
	} else if (rc == TS_OK && q.status == 413) {
		/* a request body limit: pieces from now on, in a new session; the
		 * attempt that found out does not count as a failure */
		ts_http_log(r->http, "the registry refuses large request bodies (413): sending PATCHes of %d bytes",
			 UPLOAD_CHUNK);
		ts_reg_set_piece(r, UPLOAD_CHUNK); /* for every connection of this push */
		rc = ts_reg_http_error(r, &q, "uploading a blob", err);
		err->retryable = TS_RETRY_FREE;
		ts_reg_upload_cancel(r, u->location);
		free(u->location);
		u->location = NULL;
		u->offset = 0;
		ts_http_req_free(&q);
		return rc;
	} else if (rc == TS_OK && q.status != 401 && q.status != 404 && q.status != 416 &&
		   !ts_http_transient_status(q.status)) {
		rc = ts_reg_http_error(r, &q, "uploading a blob", err);
		ts_http_req_free(&q);
		return rc;
	} else if (rc != TS_OK && !q.transient) {
		ts_http_req_free(&q);
		return rc;
	} else if (rc == TS_OK) {
		rc = ts_reg_http_error(r, &q, "uploading a blob", err);
	}
	/* where does the session stand? 404 and 416 mean nowhere we can use */
	{
		ts_error serr = TS_ERROR_INIT;
		bool landed = false, usable = false;
		if (commit) {
			/* first: is the blob there? A PUT whose answer was lost may
			 * have committed it, and a registry that has it may have
			 * answered (and closed) before our bytes were all sent */
			landed = ts_registry_blob_exists(r, commit, &landed, &serr) == TS_OK && landed;
			ts_error_clear(&serr);
		}
		usable = !landed && q.status != 404 && q.status != 416 &&
			 upload_status(r, u, &have, &serr) == TS_OK && have >= 0 && (size < 0 || have <= size);
		ts_error_clear(&serr);
		if (landed) {
			ts_http_log(r->http, "blob %s is in the registry after all (the PUT landed): not sent again", commit);
			ts_error_clear(err);
			rc = TS_OK;
			u->early = pp->taken < size;
			u->offset = pp->taken;
			u->committed = true;
			ts_http_req_free(&q);
			return rc;
		} else if (usable) {
			ts_http_log(r->http, "the registry holds %lld bytes of the upload", (long long)have);
			u->offset = have;
		} else {
			if (q.status == 416)
				ts_reg_upload_cancel(r, u->location);
			free(u->location);
			u->location = NULL;
			u->offset = 0;
		}
	}
	ts_http_req_free(&q);
	err->retryable = TS_RETRY;
	return rc;
}

void ts_registry_upload_abandon(ts_registry *r, ts_upload_state *s)
{
	if (s && s->location)
		ts_reg_upload_cancel(r, s->location);
	ts_upload_state_clear(s);
}

void ts_upload_state_clear(ts_upload_state *s)
{
	if (!s)
		return;
	free(s->location);
	s->location = NULL;
	s->offset = 0;
}

int ts_registry_attempts(const ts_registry *r)
{
	return r->opts.retries + 1;
}

ts_code ts_registry_blob_upload(ts_registry *r, const char *digest, int64_t size,
				ts_blob_reader read, void *ctx, ts_blob_check check,
				ts_upload_state *resume, char digest_out[TS_DIGEST_STRLEN],
				int64_t *size_out, ts_error *err)
{
	char ours[TS_DIGEST_STRLEN];
	int64_t piece = ts_reg_piece(r);
	upload u = { NULL, 0, piece > 0 ? (size_t)piece : UPLOAD_CHUNK, false, false };
	size_t cap = u.piece;
	ts_sha256 *h = NULL;
	ts_readahead pp;
	bool streamed = piece == 0, whole;
	ts_code rc;

	if (resume && resume->location && streamed) {
		u.location = resume->location;
		u.offset = resume->offset;
		resume->location = NULL;
		ts_http_log(r->http, "resuming the upload at byte %lld", (long long)u.offset);
	} else {
		if (resume && resume->location)
			ts_reg_upload_cancel(r, resume->location); /* pieces now: a new session */
		ts_upload_state_clear(resume);
		rc = upload_start(r, &u.location, &cap, err);
		if (rc != TS_OK)
			return rc;
		u.piece = cap;
	}
	/* a blob whose digest and size are known, with nothing to check
	 * before it is committed, goes up in the PUT that commits it */
	whole = streamed && digest && size > 0 && !check && u.offset == 0;
	ts_readahead_init(&pp, digest, read, ctx, size, u.offset);
	rc = ts_readahead_start(&pp, err);
	if (rc == TS_OK)
		rc = streamed ? send_stream(r, &u, size, &pp, whole ? digest : NULL, err)
			      : send_pieces(r, &u, &pp, err);
	if (rc == TS_OK && !u.early) {
		/* the reader is at its end: no more bytes may follow */
		char extra;
		if (ts_readahead_take(&pp, &extra, 1) != 0)
			rc = ts_readahead_failed(&pp) ? ts_readahead_error(&pp, err)
					      : ts_error_setc(err, TS_C_INPUT, "blob %s: more bytes than sent",
							     digest ? digest : "(new)");
	}
	ts_readahead_stop(&pp);
	h = ts_readahead_take_hash(&pp);
	ts_readahead_release(&pp);
	if (rc != TS_OK && whole && h && pp.taken == size) {
		/* the commit failed after all the bytes went (DIGEST_INVALID, or
		 * whatever a registry says instead): were they what the image says? */
		ts_sha256_final(h, ours);
		if (strcmp(digest, ours) != 0) {
			ts_error_clear(err);
			rc = ts_error_setc(err, TS_C_INPUT, "blob %s: its bytes have digest %s", digest, ours);
			if (u.location)
				ts_reg_upload_cancel(r, u.location);
			goto out;
		}
	}
	if (rc != TS_OK && err->retryable && streamed && resume && u.location) {
		/* kept for another attempt to continue */
		resume->location = u.location;
		resume->offset = u.offset;
		u.location = NULL;
	}
	if (rc != TS_OK) {
		if (u.location)
			ts_reg_upload_cancel(r, u.location);
		goto out;
	}
	if (u.early) {
		/* committed before our bytes were all read: the registry holds the
		 * blob under its digest already (and checked it then) */
		memcpy(ours, digest, TS_DIGEST_STRLEN);
		u.offset = size;
		goto done;
	}
	ts_sha256_final(h, ours);
	if (size >= 0 && u.offset != size) {
		rc = ts_error_setc(err, TS_C_INPUT, "blob %s: %lld bytes read, %lld declared",
				  digest ? digest : ours, (long long)u.offset, (long long)size);
	} else if (digest && strcmp(digest, ours) != 0) {
		if (u.committed) {
			/* the registry answered 201 (or had the blob): whatever it
			 * holds under that digest, these bytes are not it. Nothing is
			 * deleted: it may be an earlier, good copy. */
			rc = ts_error_setc(err, TS_C_INPUT,
					  "blob %s: its bytes have digest %s (registry %s did not refuse "
					  "them: what it holds under %s was not checked by this push)",
					  digest, ours, r->host, digest);
		} else {
			rc = ts_error_setc(err, TS_C_INPUT, "blob %s: its bytes have digest %s", digest, ours);
		}
	} else if (check) {
		rc = check(ctx, err);
	}
	if (rc != TS_OK) {
		ts_reg_upload_cancel(r, u.location);
		goto out;
	}
	if (!u.committed)
		rc = upload_finish(r, u.location, ours, NULL, 0, err);
done:
	if (rc == TS_OK) {
		if (digest_out)
			memcpy(digest_out, ours, TS_DIGEST_STRLEN);
		if (size_out)
			*size_out = u.offset;
	}
out:
	free(u.location);
	ts_sha256_free(h);
	return rc;
}

typedef struct mem_reader {
	const char *p;
	size_t len, off;
} mem_reader;

static long mem_read(void *ctx, char *buf, size_t cap, ts_error *rerr)
{
	mem_reader *m = ctx;
	(void)rerr;
	if (cap > m->len - m->off)
		cap = m->len - m->off;
	memcpy(buf, m->p + m->off, cap);
	m->off += cap;
	return (long)cap;
}

/* A small blob in two requests: POST a session, PUT the bytes with the
 * digest. TS_OK with *done false: the registry wants it another way (a body
 * limit); the caller sends it in the usual session. */
static ts_code put_whole(ts_registry *r, const char *digest, const void *data, size_t len,
			 bool *done, ts_error *err)
{
	char ours[TS_DIGEST_STRLEN];
	char *location = NULL;
	size_t chunk = UPLOAD_CHUNK;
	ts_code rc;

	*done = false;
	ts_sha256_digest(data, len, ours);
	if (strcmp(ours, digest) != 0)
		return ts_error_setc(err, TS_C_INPUT, "blob %s: its bytes have digest %s", digest, ours);
	rc = upload_start(r, &location, &chunk, err);
	if (rc != TS_OK)
		return rc;
	rc = upload_finish(r, location, digest, data, len, err);
	if (rc == TS_OK) {
		*done = true;
	} else {
		ts_reg_upload_cancel(r, location);
		if (err->http_status == 413 || err->retryable) {
			/* a body limit, or a session that went wrong: the usual way */
			ts_error_clear(err);
			rc = TS_OK;
		}
	}
	free(location);
	return rc;
}

ts_code ts_registry_blob_put(ts_registry *r, const char *digest, const void *data, size_t len,
			     ts_error *err)
{
	bool exists = false, done = false;
	ts_code rc = ts_registry_blob_exists(r, digest, &exists, err);
	if (rc != TS_OK || exists)
		return rc;
	int64_t piece = ts_reg_piece(r);
	if (len <= SINGLE_PUT_MAX && (piece == 0 || (int64_t)len <= piece)) {
		rc = put_whole(r, digest, data, len, &done, err);
		if (rc != TS_OK || done)
			return rc;
	}
	ts_upload_state st = { NULL, 0 };
	for (int attempt = 1;;) {
		mem_reader m = { data, len, 0 };
		rc = ts_registry_blob_upload(r, digest, (int64_t)len, mem_read, &m, NULL, &st, NULL,
					     NULL, err);
		if (rc == TS_OK || !err->retryable ||
		    (err->retryable != TS_RETRY_FREE && attempt++ >= ts_registry_attempts(r))) {
			ts_registry_upload_abandon(r, &st);
			return rc;
		}
		ts_http_log(r->http, "sending blob %s again", digest);
		ts_error_clear(err);
	}
}
