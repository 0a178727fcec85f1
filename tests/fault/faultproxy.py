#!/usr/bin/env python3
"""faultproxy.py - a fault-injecting HTTP/1.1 reverse proxy for registry tests.

Sits on a loopback port in front of a real registry and, for a seeded random
share of requests, answers with a fault instead of (or after) forwarding:

  500, 502, 503   an error status with an OCI error body; nothing forwarded
  429             Too Many Requests with Retry-After: --retry-after
  reset           connection reset (RST) half-way through the request body
                  (requests with a body) or the response body (others)
  stall           hold the connection --stall seconds, then close it unanswered
  lost            forward the request, then reset instead of answering: the
                  registry did the work but the client never hears of it
  cut             forward only the first half of the request body (as a complete
                  request), then reset: the registry keeps part of an upload, as
                  one that persists what reached it before a connection died (a
                  PUT that would commit a blob reaches the registry as a PATCH
                  of that half: kept, not committed)

Quirks imitate what real registries do differently, on every request:

  patch201            a 202 answer to PATCH becomes 201 (ECR)
  head403             a 404 answer to HEAD of a manifest becomes 403 (JFrog)
  location-relative   Location headers become relative (/v2/...)
  location-absolute   Location headers become absolute (http://HOST/v2/...)
  location-query      Location headers get an extra query parameter
  warning             every answer carries a Warning: 299 header
  max-body=N          a request body over N bytes gets 413 (GHCR, Cloudflare)
  chunk-min=N         upload answers carry OCI-Chunk-Min-Length: N
  redirect-blobs=URL  GET and HEAD of a blob answer 307 to URL + the path
                      (registries send blob reads to object storage)
  referrers           the OCI 1.1 referrers API, which docker-registry lacks: a
                      manifest PUT with a `subject` is remembered (and answered
                      with OCI-Subject), and GET /v2/NAME/referrers/DIGEST is
                      answered by the proxy with an index of those manifests
  throttle=BPS        request bodies are read at most BPS bytes a second (a slow
                      uplink: a long upload, for progress displays)
  early-commit=FROM   a PUT ?digest=D committing an upload is answered 201 before its
                      body is read, when D can be mounted from repository FROM
                      (mounted upstream): a registry that holds every blob once
  digest-invalid-as=CODE  a 400 DIGEST_INVALID answer says CODE instead (a registry
                      that reports a mismatch its own way)
  stable-location     upload sessions keep one URL (the proxy keeps the
                      registry's changing _state query to itself), as most
                      registries' sessions do: a client that lost an answer
                      can still ask the session how much it holds

A slow link, for benchmarks (tests/bench/net.sh), on every request:

  --rtt MS            a round trip of MS milliseconds: a new connection waits MS
                      before its first request is read (the TCP handshake), every
                      request waits MS/2 before it is forwarded (or answered by the
                      proxy) and every answer MS/2 before its status line goes out;
                      a client's "Expect: 100-continue" waits MS for its 100
  --bandwidth MBPS    one link of MBPS megabytes (10^6 bytes) per second shared
                      by all connections: request and response bodies, both
                      directions, draw on one token bucket in pieces of 64 KiB
                      (sleeps bounded, at most 10 ms of burst after an idle link);
                      a body goes on to the registry as it arrives (unless a
                      fault or a quirk needs all of it first).
                      (The fault share is --rate; the bench script's --rate MBPS
                      passes here.)

The proxy binds port 0 (or --port), prints the port on stdout and writes it to
--port-file once it listens, logs one line per request to --log (upload requests
also with the Content-Range sent and the Range answered; requests with a body end
with " body=N", its bytes), and stops by itself after --lifetime seconds (or on
SIGTERM/SIGINT). Python stdlib only.
"""

import argparse
import hashlib
import http.client
import http.server
import io
import json
import os
import random
import re
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse

FAULTS = ("500", "502", "503", "429", "reset", "stall", "lost", "cut")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
              "te", "trailer", "transfer-encoding", "upgrade", "content-length"}
MANIFEST_PATH = re.compile(r"^/v2/.+/manifests/[^/]+$")
REFERRERS_PATH = re.compile(r"^/v2/(.+)/referrers/(sha256:[0-9a-f]{64})$")
UPLOAD_PATH = re.compile(r"^/v2/.+/blobs/uploads/([^/?]+)$")
BLOB_PATH = re.compile(r"^/v2/.+/blobs/sha256:[0-9a-f]{64}$")
PIECE = 64 * 1024


class Link:
    """--bandwidth: one link shared by every connection. Each piece of body
    reserves its transmission time on a single virtual clock (a token bucket
    whose tokens are time), so N connections share the rate, not multiply it."""

    BURST = 0.010  # seconds of credit an idle link may have saved up

    def __init__(self, mbps):
        self.rate = mbps * 1e6
        self.lock = threading.Lock()
        self.next = 0.0

    def take(self, n):
        if n <= 0:
            return
        with self.lock:
            now = time.monotonic()
            start = max(self.next, now - self.BURST)
            self.next = done = start + n / self.rate
        while True:  # bounded sleeps: wake at least every 0.25 s
            left = done - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.25))


class Config:
    """Parsed command line, shared read-only by all handler threads."""

    def __init__(self, args):
        up = urllib.parse.urlsplit(args.upstream if "://" in args.upstream
                                   else "http://" + args.upstream)
        self.up_scheme = up.scheme
        self.up_host = up.hostname
        self.up_port = up.port or (443 if up.scheme == "https" else 80)
        self.rate = args.rate
        self.faults = [f for f in args.faults.split(",") if f]
        for f in self.faults:
            if f not in FAULTS:
                sys.exit("faultproxy: unknown fault %r (known: %s)" % (f, ", ".join(FAULTS)))
        self.methods = {m.upper() for m in args.methods.split(",") if m}
        self.path_re = re.compile(args.paths) if args.paths else None
        self.skip = args.skip
        self.min_body = args.min_body
        self.connections_file = args.connections_file
        self.connections = 0
        self.max_faults = args.max_faults
        self.injected = 0
        self.retry_after = args.retry_after
        self.stall = args.stall
        self.quirks, self.max_body, self.chunk_min = set(), None, None
        self.redirect_blobs = None
        self.throttle = None
        self.digest_invalid_as = None
        self.early_commit = None
        for q in (q for q in args.quirks.split(",") if q):
            name, _, val = q.partition("=")
            if name == "max-body":
                self.max_body = int(val)
            elif name == "chunk-min":
                self.chunk_min = int(val)
            elif name == "throttle":
                self.throttle = int(val)
            elif name == "redirect-blobs":
                self.redirect_blobs = val.rstrip("/")
            elif name == "digest-invalid-as":
                self.digest_invalid_as = val
            elif name == "early-commit":
                self.early_commit = val
            elif name in ("patch201", "head403", "location-relative", "location-absolute",
                          "location-query", "warning", "stable-location", "referrers"):
                self.quirks.add(name)
            else:
                sys.exit("faultproxy: unknown quirk %r" % q)
        self.rng = random.Random(args.seed)
        self.lock = threading.Lock()
        self.referrers = {}  # referrers: (name, subject digest) -> [descriptor]
        self.sessions = {}  # stable-location: session id -> the registry's latest URL
        self.count = 0
        self.rtt = max(args.rtt, 0.0) / 1000.0
        self.link = Link(args.bandwidth) if args.bandwidth > 0 else None
        self.log = open(args.log, "a", buffering=1) if args.log else None

    def pick_fault(self, method, path, body_len=0):
        """The fault for this request, or None; decided under the lock so that
        a given seed gives the same sequence of decisions."""
        with self.lock:
            self.count += 1
            if self.count <= self.skip or not self.faults:
                return None
            if self.methods and method not in self.methods:
                return None
            if self.min_body and 0 <= body_len < self.min_body:  # chunked (-1): eligible
                return None
            if self.path_re and not self.path_re.search(path):
                return None
            if self.rng.random() >= self.rate:
                return None
            if 0 <= self.max_faults <= self.injected:
                return None
            self.injected += 1
            return self.rng.choice(self.faults)

    def connected(self):
        """Count a new client connection (--connections-file)."""
        if not self.connections_file:
            return
        with self.lock:
            self.connections += 1
            tmp = self.connections_file + ".tmp"
            with open(tmp, "w") as f:
                f.write("%d\n" % self.connections)
            os.rename(tmp, self.connections_file)

    def note(self, line):
        if self.log:
            with self.lock:
                self.log.write("%.3f %s\n" % (time.time(), line))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    cfg = None  # set in main()

    def log_message(self, fmt, *args):  # silence the default stderr log
        pass

    # -- the slow link (--rtt, --bandwidth) -----------------------------------

    def setup(self):
        super().setup()
        self.cfg.connected()
        if self.cfg.rtt:
            time.sleep(self.cfg.rtt)  # SYN, SYN-ACK: a round trip before the request

    def handle_expect_100(self):
        if self.cfg.rtt:
            time.sleep(self.cfg.rtt)  # the 100 goes back, the body comes
        return super().handle_expect_100()

    def send_response(self, code, message=None):
        if self.cfg.rtt:
            time.sleep(self.cfg.rtt / 2)  # the answer's way back
        super().send_response(code, message)

    def write_paced(self, data):
        if not self.cfg.link:
            self.wfile.write(data)
            return
        for i in range(0, len(data), PIECE):
            self.cfg.link.take(min(PIECE, len(data) - i))
            self.wfile.write(data[i:i + PIECE])

    def do_GET(self):
        self.proxy()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    # -- request body ---------------------------------------------------------

    def read_n(self, n):
        """n bytes of the request body, no faster than the throttle quirk and
        --bandwidth allow."""
        bps, link = self.cfg.throttle, self.cfg.link
        if not bps and not link:
            return self.rfile.read(n)
        out, start = io.BytesIO(), time.monotonic()
        while out.tell() < n:
            piece = self.rfile.read(min(PIECE, n - out.tell()))
            if not piece:
                break
            if link:  # --bandwidth: the link shared with every connection
                link.take(len(piece))
            out.write(piece)
            if not bps:
                continue
            ahead = out.tell() / bps - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
        return out.getvalue()

    def read_body(self, limit=None):
        """The request body (de-chunked); with limit, read at most that many bytes."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = io.BytesIO()
            while limit is None or out.tell() < limit:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                out.write(self.read_n(size))
                self.rfile.readline()
            return out.getvalue()
        n = int(self.headers.get("Content-Length") or 0)
        return self.read_n(n if limit is None else min(n, limit))

    def body_length(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return -1
        return int(self.headers.get("Content-Length") or 0)

    # -- faults ---------------------------------------------------------------

    def reset(self):
        """Abort the connection with a TCP RST."""
        sock = self.connection
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        for f in (self.rfile, self.wfile):
            try:
                f.close()
            except OSError:
                pass
        try:
            sock.close()
        except OSError:
            pass
        self.rfile, self.wfile = io.BytesIO(), io.BytesIO()
        self.close_connection = True

    def send_error_status(self, status, code, extra=None):
        body = json.dumps({"errors": [{"code": code, "message": "faultproxy: injected %d" % status,
                                       "detail": None}]}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def fault_before(self, fault):
        """Faults that replace forwarding. True when the request was answered."""
        cfg = self.cfg
        if fault in ("500", "502", "503"):
            self.read_body()
            self.send_error_status(int(fault), "UNAVAILABLE")
        elif fault == "429":
            self.read_body()
            self.send_error_status(429, "TOOMANYREQUESTS", {"Retry-After": str(cfg.retry_after)})
        elif fault == "stall":
            time.sleep(cfg.stall)
            self.close_connection = True
            self.reset()
        elif fault == "reset" and self.body_length() != 0:
            n = self.body_length()
            self.read_body(limit=(n // 2) if n > 0 else 1)
            self.reset()
        else:
            return False
        return True

    # -- forwarding -----------------------------------------------------------

    def early_commit(self, path):
        """early-commit=FROM: a PUT ?digest=D that would commit an upload is
        answered 201 before its body is read when the registry can have D by
        a mount from FROM (done upstream), as a registry that holds every
        blob once answers for one it has; then the connection closes."""
        parts = urllib.parse.urlsplit(path)
        m = re.match(r"^/v2/(.+)/blobs/uploads/[^/]+$", parts.path)
        digest = urllib.parse.parse_qs(parts.query).get("digest", [None])[0]
        if self.command != "PUT" or not m or not digest:
            return False
        conn = self.upstream()
        conn.request("POST", "/v2/%s/blobs/uploads/?mount=%s&from=%s"
                     % (m.group(1), digest, self.cfg.early_commit), headers={"Content-Length": "0"})
        resp = conn.getresponse()
        resp.read()
        conn.close()
        if resp.status != 201:
            return False
        self.close_connection = True
        self.send_response(201)
        self.send_header("Location", "/v2/%s/blobs/%s" % (m.group(1), digest))
        self.send_header("Docker-Content-Digest", digest)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()
        self.cfg.note("%s %s -> quirk early-commit 201" % (self.command, path))
        return True

    def upstream(self):
        cfg = self.cfg
        if cfg.up_scheme == "https":
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return http.client.HTTPSConnection(cfg.up_host, cfg.up_port, timeout=120, context=ctx)
        return http.client.HTTPConnection(cfg.up_host, cfg.up_port, timeout=120)

    def rewrite_location(self, value):
        q, host = self.cfg.quirks, self.headers.get("Host", "")
        parts = urllib.parse.urlsplit(value)
        if "location-relative" in q:
            parts = parts._replace(scheme="", netloc="")
        elif "location-absolute" in q and not parts.netloc:
            parts = parts._replace(scheme="http", netloc=host)
        elif parts.netloc == "%s:%d" % (self.cfg.up_host, self.cfg.up_port):
            parts = parts._replace(scheme="http", netloc=host)  # keep the client on the proxy
        if "stable-location" in q and UPLOAD_PATH.match(parts.path):
            parts = parts._replace(query="")
        if "location-query" in q:
            parts = parts._replace(query=(parts.query + "&" if parts.query else "") + "fp=1")
        return urllib.parse.urlunsplit(parts)

    def upstream_path(self, path):
        """stable-location: the registry's own URL for a session the client
        knows by its stable one (client query parameters kept)."""
        parts = urllib.parse.urlsplit(path)
        m = UPLOAD_PATH.match(parts.path)
        if "stable-location" not in self.cfg.quirks or not m:
            return path
        with self.cfg.lock:
            known = self.cfg.sessions.get(m.group(1))
        if not known:
            return path
        up = urllib.parse.urlsplit(known)
        query = "&".join(q for q in (up.query, parts.query) if q)
        return urllib.parse.urlunsplit(("", "", up.path, query, ""))

    def note_session(self, resp):
        if "stable-location" not in self.cfg.quirks:
            return
        loc = resp.getheader("Location")
        if not loc:
            return
        parts = urllib.parse.urlsplit(loc)
        m = UPLOAD_PATH.match(parts.path)
        if m:
            with self.cfg.lock:
                self.cfg.sessions[m.group(1)] = urllib.parse.urlunsplit(
                    ("", "", parts.path, parts.query, ""))

    def proxy(self):
        cfg = self.cfg
        path = self.path
        self.body_bytes = None
        if cfg.rtt:
            time.sleep(cfg.rtt / 2)  # the request's way there
        fault = cfg.pick_fault(self.command, urllib.parse.urlsplit(path).path, self.body_length())
        if fault and self.fault_before(fault):
            cfg.note("%s %s -> fault %s" % (self.command, path, fault))
            return
        if (cfg.redirect_blobs and self.command in ("GET", "HEAD")
                and BLOB_PATH.match(urllib.parse.urlsplit(path).path)):
            self.send_response(307)
            self.send_header("Location", cfg.redirect_blobs + path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            cfg.note("%s %s -> quirk 307" % (self.command, path))
            return
        m = REFERRERS_PATH.match(urllib.parse.urlsplit(path).path)
        if "referrers" in cfg.quirks and m and self.command == "GET":
            self.answer_referrers(m.group(1), m.group(2))
            return
        n = self.body_length()
        if cfg.early_commit and self.early_commit(path):
            return
        if cfg.max_body is not None and n > cfg.max_body:
            self.read_body()
            self.send_error_status(413, "SIZE_INVALID")
            cfg.note("%s %s -> quirk 413 (%d bytes)" % (self.command, path, n))
            return
        if (n != 0 and not fault and cfg.link and cfg.max_body is None
                and "referrers" not in cfg.quirks):
            # --bandwidth: the body goes on to the registry as it arrives, as
            # through a router, not stored first and forwarded at loopback speed
            try:
                resp, data = self.forward_streamed(path, n)
            except OSError as e:
                self.close_connection = True
                self.send_error_status(502, "UNAVAILABLE")
                cfg.note("%s %s -> upstream error %s" % (self.command, path, e))
                return
            self.answer(resp, data, None)
            return
        body = self.read_body() if n != 0 else None
        self.body_bytes = len(body) if body is not None else None
        method = self.command
        if fault == "cut" and body is not None:
            body = body[:len(body) // 2]
            del self.headers["Content-Range"]
            parts = urllib.parse.urlsplit(path)
            if method == "PUT" and UPLOAD_PATH.match(parts.path):
                # a PUT that would commit the whole blob never completed:
                # a registry that keeps what reached it holds the half,
                # uncommitted, as after a cut PATCH
                method = "PATCH"
                query = "&".join(q for q in parts.query.split("&") if q and not q.startswith("digest="))
                path = urllib.parse.urlunsplit(("", "", parts.path, query, ""))
        if cfg.max_body is not None and body is not None and len(body) > cfg.max_body:
            self.send_error_status(413, "SIZE_INVALID")
            cfg.note("%s %s -> quirk 413 (%d bytes)" % (self.command, path, len(body)))
            return
        try:
            conn = self.upstream()
            conn.putrequest(method, self.upstream_path(path), skip_host=True,
                            skip_accept_encoding=True)
            for k, v in self.headers.items():  # repeated headers (Accept) kept as they are
                if k.lower() not in HOP_BY_HOP:
                    conn.putheader(k, v)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            resp = conn.getresponse()
            data = resp.read()
            conn.close()
            self.note_session(resp)
        except OSError as e:
            self.send_error_status(502, "UNAVAILABLE")
            cfg.note("%s %s -> upstream error %s" % (self.command, path, e))
            return
        if "referrers" in cfg.quirks and self.command == "PUT" and body and 200 <= resp.status < 300:
            self.remember_referrer(urllib.parse.urlsplit(path).path, body)
        if fault in ("lost", "cut"):
            cfg.note("%s %s -> fault %s (upstream %d)" % (self.command, path, fault, resp.status))
            self.reset()
            return
        self.answer(resp, data, fault)

    def forward_streamed(self, path, n):
        """Forward the request with its body piece by piece (n: its length, or
        -1 when chunked); the body's size goes to self.body_bytes."""
        conn = self.upstream()
        conn.putrequest(self.command, self.upstream_path(path), skip_host=True,
                        skip_accept_encoding=True)
        for k, v in self.headers.items():
            if k.lower() not in HOP_BY_HOP:
                conn.putheader(k, v)
        if n > 0:
            conn.putheader("Content-Length", str(n))
        else:
            conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        sent = 0
        if n > 0:
            while sent < n:
                piece = self.read_n(min(PIECE, n - sent))
                if not piece:
                    raise OSError("request body cut short")
                conn.send(piece)
                sent += len(piece)
        else:
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                left = size
                while left > 0:
                    piece = self.read_n(min(PIECE, left))
                    if not piece:
                        raise OSError("request body cut short")
                    conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
                    left -= len(piece)
                    sent += len(piece)
                self.rfile.readline()
            conn.send(b"0\r\n\r\n")
        self.body_bytes = sent
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        self.note_session(resp)
        return resp, data

    def remember_referrer(self, path, body):
        """referrers quirk: keep a manifest that names a subject."""
        m = re.match(r"^/v2/(.+)/manifests/[^/]+$", path)
        try:
            doc = json.loads(body)
        except ValueError:
            return
        if not m or not isinstance(doc, dict) or not isinstance(doc.get("subject"), dict):
            return
        desc = {"mediaType": doc.get("mediaType", "application/vnd.oci.image.manifest.v1+json"),
                "digest": "sha256:" + hashlib.sha256(body).hexdigest(), "size": len(body),
                "artifactType": doc.get("artifactType") or doc.get("config", {}).get("mediaType")}
        if doc.get("annotations"):
            desc["annotations"] = doc["annotations"]
        key = (m.group(1), doc["subject"].get("digest"))
        with self.cfg.lock:
            known = self.cfg.referrers.setdefault(key, [])
            if desc["digest"] not in [d["digest"] for d in known]:
                known.append(desc)
        self.subject = doc["subject"].get("digest")

    def answer_referrers(self, name, digest):
        with self.cfg.lock:
            found = list(self.cfg.referrers.get((name, digest), []))
        data = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                           "manifests": found}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.oci.image.index.v1+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.cfg.note("%s %s -> quirk referrers (%d)" % (self.command, self.path, len(found)))

    def answer(self, resp, data, fault):
        cfg, q = self.cfg, self.cfg.quirks
        status = resp.status
        path = urllib.parse.urlsplit(self.path).path
        if "patch201" in q and self.command == "PATCH" and status == 202:
            status = 201
        if "head403" in q and self.command == "HEAD" and status == 404 and MANIFEST_PATH.match(path):
            status, data = 403, b""
        if cfg.digest_invalid_as and status == 400 and b"DIGEST_INVALID" in data:
            # a registry that reports a digest mismatch its own way
            data = json.dumps({"errors": [{"code": cfg.digest_invalid_as,
                                           "message": "upload failed"}]}).encode()
        self.send_response(status)
        length = resp.getheader("Content-Length")
        for k, v in resp.getheaders():
            kl = k.lower()
            if kl in HOP_BY_HOP or kl in ("date", "server"):
                continue
            if kl == "location":
                v = self.rewrite_location(v)
            self.send_header(k, v)
        if getattr(self, "subject", None):
            self.send_header("OCI-Subject", self.subject)
            self.subject = None
        if "warning" in q:
            self.send_header("Warning", '299 - "faultproxy: this is a test warning"')
        if cfg.chunk_min is not None and "/blobs/uploads/" in path:
            self.send_header("OCI-Chunk-Min-Length", str(cfg.chunk_min))
        if self.command == "HEAD":
            self.send_header("Content-Length", length if length is not None else "0")
            self.end_headers()
            cfg.note("%s %s -> %d" % (self.command, self.path, status))
            return
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if fault == "reset" and len(data) > 1:
            self.wfile.write(data[:len(data) // 2])
            self.reset()
            cfg.note("%s %s -> fault reset mid-response (%d)" % (self.command, self.path, status))
            return
        if fault == "reset":
            self.reset()
            cfg.note("%s %s -> fault reset (%d)" % (self.command, self.path, status))
            return
        self.write_paced(data)
        sent = " body=%d" % self.body_bytes if self.body_bytes else ""
        cfg.note("%s %s -> %d%s%s" % (self.command, self.path, status, self.ranges(resp), sent))

    def ranges(self, resp):
        """For upload requests: the Content-Range sent and the Range the
        registry answered, so tests can see where an upload resumed."""
        if "/blobs/uploads/" not in self.path:
            return ""
        out = ""
        if self.headers.get("Content-Range"):
            out += " content-range=" + self.headers["Content-Range"]
        if resp.getheader("Range"):
            out += " range=" + resp.getheader("Range")
        return out


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # clients that go away mid-request are expected here


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--upstream", required=True, help="registry URL or HOST:PORT")
    p.add_argument("--port", type=int, default=0, help="port to listen on (default: any free)")
    p.add_argument("--port-file", help="write the port here once listening")
    p.add_argument("--rate", type=float, default=0.0, help="share of requests that fail (0..1)")
    p.add_argument("--seed", type=int, default=1, help="random seed for fault decisions")
    p.add_argument("--faults", default="500,503,429,reset,stall",
                   help="comma list of: " + ",".join(FAULTS))
    p.add_argument("--methods", default="", help="only fault these methods (comma list)")
    p.add_argument("--paths", default="", help="only fault paths matching this regex")
    p.add_argument("--skip", type=int, default=0, help="never fault the first N requests")
    p.add_argument("--min-body", type=int, default=0,
                   help="only fault requests with a body of at least N bytes (chunked: always)")
    p.add_argument("--max-faults", type=int, default=-1, help="inject at most N faults")
    p.add_argument("--retry-after", type=int, default=1, help="Retry-After seconds for 429")
    p.add_argument("--stall", type=float, default=5.0, help="seconds a stall holds on")
    p.add_argument("--quirks", default="", help="comma list of quirks (see the top of this file)")
    p.add_argument("--lifetime", type=float, default=600.0, help="stop after this many seconds")
    p.add_argument("--log", help="append one line per request to this file")
    p.add_argument("--connections-file",
                   help="keep the number of client connections accepted so far in this file")
    p.add_argument("--rtt", type=float, default=0.0, help="round trip in milliseconds (see the top)")
    p.add_argument("--bandwidth", type=float, default=0.0,
                   help="one shared link of this many MB/s, both directions (see the top)")
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    Handler.cfg = Config(args)
    server = Server(("127.0.0.1", args.port), Handler)
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    print(port, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    done.wait(args.lifetime)
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
