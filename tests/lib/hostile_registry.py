#!/usr/bin/env python3
"""hostile_registry.py - a misbehaving registry (or a listener standing for
"another host") for tests of where credentials go and how far answers reach.

It forwards to a real registry (--upstream URL, http or https, or
--upstream-file F holding the URL, read when needed) so that pushes really
complete, and misbehaves per --mode; without --upstream it answers by
itself. Every request is logged to --log as one line

    METHOD PATH auth=yes:SCHEME|auth=no -> STATUS

(the scheme of an Authorization header, never its value). Python 3 stdlib,
threaded, bound to --bind (a loopback address; 127.0.0.2 is "another host")
on --port or a free port, written to --port-file, and gone after --lifetime
seconds.

Access control (checked here; the upstream is then asked without credentials):
  --basic-file F     every /v2 request needs exactly Basic base64(F's content,
                     "USER:PASSWORD"), else 401 with a Basic challenge
  --bearer-len N     this server is also its own token realm: GET /token with
                     the --basic-file credentials gives an N-character token, and
                     every /v2 request needs exactly that Bearer token
Without either, Authorization is passed to the upstream as it came.

Modes (--mode, repeatable):
  upload-location=URL  a POST to blobs/uploads/ answers with its Location moved
                       to URL (scheme://host:port; the path and query kept)
  link-next=URL        a first tags/list page carries Link: <URL/v2/NAME/tags/list
                       ?last=zz>; rel="next" (a next page on another origin)
  next-404             a first tags/list page links to a same-origin next page
                       that answers 404
  redirect=URL         GET and HEAD of blobs and manifests answer 307 to URL+path
  redirect-blobs=URL   the same for blobs only
  challenge=REALM      answer everything 401, Bearer realm=REALM (a redirect
                       target that wants a token of its own)
  token                answer everything 200 with a token (a realm that logs)
  swap-manifest        GET of manifests/sha256:... answers, under the digest
                       asked for (Docker-Content-Digest too), an OCI index that
                       lists another manifest (a registry that lies about
                       what a digest holds)
  tags-loop            tags/list: a page of 3 tags whose next link is itself
  tags-huge=PAGES      tags/list: 8 MiB pages of ~700k tags, each linking to the
                       next, PAGES of them, then 500 (a bound for the client
                       that does not stop by itself)
  slow-v2=RATE         GET /v2/: 200 with a 4096-byte body sent at RATE bytes/s
  endless-error        every request: 500 with a chunked body that never ends
                       (1 KiB every 10 ms)
"""
import argparse
import base64
import http.client
import http.server
import io
import json
import os
import re
import secrets
import signal
import ssl
import sys
import threading
import time
import urllib.parse

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
              "te", "trailer", "transfer-encoding", "upgrade", "content-length", "expect"}
TAGS_PATH = re.compile(r"^/v2/(.+)/tags/list$")
READ_PATH = re.compile(r"^/v2/.+/(blobs/sha256:[0-9a-f]{64}|manifests/[^/]+)$")
UPLOAD_START = re.compile(r"^/v2/.+/blobs/uploads/?$")


class Config:
    def __init__(self, a):
        self.a = a
        self.lock = threading.Lock()
        self.log = open(a.log, "a", buffering=1)
        self.modes = {}
        for m in a.mode:
            k, _, v = m.partition("=")
            self.modes[k] = v
        self.basic = None
        if a.basic_file:
            with open(a.basic_file, "rb") as f:
                self.basic = "Basic " + base64.b64encode(f.read().rstrip(b"\n")).decode()
        self.token = None
        if a.bearer_len:
            alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
            self.token = "".join(secrets.choice(alphabet) for _ in range(a.bearer_len))
            if a.issued:
                with open(a.issued, "w") as f:
                    f.write(self.token + "\n")
        self.huge_page = None
        self.huge_served = 0

    def upstream(self):
        """(scheme, host, port) of the upstream, or None. --upstream-file is
        read when needed, so a listener can start before its upstream exists."""
        url = self.a.upstream
        if not url and self.a.upstream_file and os.path.exists(self.a.upstream_file):
            with open(self.a.upstream_file) as f:
                url = f.read().strip()
        if not url:
            return None
        up = urllib.parse.urlsplit(url)
        return up.scheme, up.hostname, up.port or (443 if up.scheme == "https" else 80)

    def note(self, line):
        with self.lock:
            self.log.write(line + "\n")

    def page(self):
        """One 8 MiB tags/list body (built once; about 700k tags)."""
        with self.lock:
            if self.huge_page is None:
                tags = ",".join('"t%07d"' % i for i in range(700000))
                body = '{"name":"hostile","tags":[' + tags + "]}"
                self.huge_page = body.encode()
            return self.huge_page


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    cfg = None

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        try:
            self.handle_one()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    # -- helpers --------------------------------------------------------------

    def auth_note(self):
        """Whether the request came with Authorization, and its scheme (taken
        before the header is dropped for the upstream)."""
        h = self.headers.get("Authorization")
        if not h:
            return "auth=no"
        return "auth=yes:" + (h.split(" ", 1)[0] or "?")

    def note(self, status):
        self.cfg.note("%s %s %s -> %s" % (self.command, self.path, self.auth, status))

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = io.BytesIO()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out.getvalue()
                out.write(self.rfile.read(size))
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def reply(self, status, body=b"", headers=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if body and not any(k.lower() == "content-type" for k, _ in headers):
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.note(status)

    def origin(self):
        return "http://%s" % self.headers.get("Host", "%s:%d" % self.server.server_address)

    def unauthorized(self):
        if self.cfg.token:
            ch = 'Bearer realm="%s/token",service="hostile"' % self.origin()
        else:
            ch = 'Basic realm="hostile"'
        self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
                   [("WWW-Authenticate", ch)])

    # -- the request ----------------------------------------------------------

    def handle_one(self):
        cfg, modes = self.cfg, self.cfg.modes
        self.auth = self.auth_note()
        url = urllib.parse.urlsplit(self.path)
        path, query = url.path, urllib.parse.parse_qs(url.query)
        if "endless-error" in modes:
            return self.endless()
        if "challenge" in modes:
            self.read_body()
            return self.reply(401, {"errors": [{"code": "UNAUTHORIZED"}]}, [(
                "WWW-Authenticate",
                'Bearer realm="%s",service="elsewhere",scope="repository:x:pull"' % modes["challenge"])])
        if "token" in modes:
            self.read_body()
            return self.reply(200, {"token": "hostile-realm-token", "expires_in": 300})
        if cfg.token and path == "/token":
            if cfg.basic and self.headers.get("Authorization") != cfg.basic:
                return self.reply(401, {"errors": [{"code": "UNAUTHORIZED"}]},
                                  [("WWW-Authenticate", 'Basic realm="hostile-token"')])
            return self.reply(200, {"token": cfg.token, "expires_in": 300})
        if "slow-v2" in modes and path.rstrip("/") == "/v2":
            return self.slow(float(modes["slow-v2"]))
        if path.startswith("/v2"):
            want = ("Bearer " + cfg.token) if cfg.token else cfg.basic
            if want is not None:
                if self.headers.get("Authorization") != want:
                    self.read_body()
                    return self.unauthorized()
                del self.headers["Authorization"]
        m = TAGS_PATH.match(path)
        if m and self.command == "GET":
            if "tags-loop" in modes:
                return self.reply(200, {"name": m.group(1), "tags": ["a", "b", "c"]},
                                  [("Link", '<%s>; rel="next"' % self.path)])
            if "tags-huge" in modes:
                return self.huge(m.group(1), int(modes["tags-huge"]), query)
            if "next-404" in modes and query.get("last") == ["~page2"]:
                return self.reply(404, {"errors": [{"code": "NAME_UNKNOWN"}]})
        rm = READ_PATH.match(path) if self.command in ("GET", "HEAD") else None
        if (rm and "swap-manifest" in modes and self.command == "GET"
                and "/manifests/sha256:" in path):
            asked = path.rsplit("/", 1)[1]
            lie = json.dumps({"schemaVersion": 2,
                              "mediaType": "application/vnd.oci.image.index.v1+json",
                              "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                             "digest": "sha256:" + "e" * 64, "size": 1234}]}).encode()
            return self.reply(200, lie, [("Content-Type", "application/vnd.oci.image.index.v1+json"),
                                         ("Docker-Content-Digest", asked)])
        if rm and "redirect" in modes:
            return self.reply(307, b"", [("Location", modes["redirect"] + self.path)])
        if rm and "redirect-blobs" in modes and rm.group(1).startswith("blobs/"):
            return self.reply(307, b"", [("Location", modes["redirect-blobs"] + self.path)])
        if not cfg.upstream():
            self.read_body()
            if path.rstrip("/") == "/v2":
                return self.reply(200, {})
            if m:
                return self.reply(200, {"name": m.group(1), "tags": []})
            return self.reply(404, {"errors": [{"code": "NOT_FOUND"}]})
        self.forward(path, m)

    def forward(self, path, tags_match):
        cfg, modes = self.cfg, self.cfg.modes
        body = self.read_body()
        scheme, host, port = cfg.upstream()
        try:
            if scheme == "https":
                ctx = ssl.create_default_context(cafile=cfg.a.upstream_ca)
                conn = http.client.HTTPSConnection(host, port, timeout=60, context=ctx)
            else:
                conn = http.client.HTTPConnection(host, port, timeout=60)
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in self.headers.items():
                if k.lower() not in HOP_BY_HOP:
                    conn.putheader(k, v)
            if body or self.command in ("POST", "PUT", "PATCH"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body or None)
            resp = conn.getresponse()
            data = resp.read()
            conn.close()
        except OSError as e:
            return self.reply(502, {"errors": [{"code": "UNAVAILABLE", "message": str(e)}]})
        headers = []
        for k, v in resp.getheaders():
            kl = k.lower()
            if kl in HOP_BY_HOP or kl in ("date", "server"):
                continue
            if (kl == "location" and "upload-location" in modes and self.command == "POST"
                    and UPLOAD_START.match(path)):
                u = urllib.parse.urlsplit(v)
                v = modes["upload-location"].rstrip("/") + urllib.parse.urlunsplit(
                    ("", "", u.path, u.query, ""))
            headers.append((k, v))
        if tags_match and self.command == "GET" and "last" not in self.path:
            name = tags_match.group(1)
            if "link-next" in modes:
                headers.append(("Link", '<%s/v2/%s/tags/list?last=zz>; rel="next"'
                                % (modes["link-next"].rstrip("/"), name)))
            elif "next-404" in modes:
                headers.append(("Link", '</v2/%s/tags/list?last=~page2>; rel="next"' % name))
        self.send_response(resp.status)
        for k, v in headers:
            self.send_header(k, v)
        if self.command == "HEAD":
            self.send_header("Content-Length", resp.getheader("Content-Length") or "0")
            self.end_headers()
        else:
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        self.note(resp.status)

    # -- answers that do not end (soon) ---------------------------------------

    def huge(self, name, pages, query):
        cfg = self.cfg
        n = int(query.get("last", ["p0"])[0].lstrip("p") or 0)
        with cfg.lock:
            cfg.huge_served += 1
            served = cfg.huge_served
        if served > pages:
            return self.reply(500, {"errors": [{"code": "UNKNOWN", "message": "enough pages"}]})
        body = cfg.page()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Link", '</v2/%s/tags/list?last=p%d>; rel="next"' % (name, n + 1))
        self.end_headers()
        for i in range(0, len(body), 1 << 16):
            self.wfile.write(body[i:i + (1 << 16)])
        self.note("200 (page %d, %d bytes)" % (n, len(body)))

    def slow(self, rate):
        self.read_body()
        n = 4096
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(n))
        self.end_headers()
        self.wfile.flush()
        self.note("200 (slow body, %g B/s)" % rate)
        for _ in range(n):
            if self.cfg.stop.is_set():
                break
            self.wfile.write(b" ")
            self.wfile.flush()
            time.sleep(1.0 / rate)
        self.close_connection = True

    def endless(self):
        self.read_body()
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.note("500 (endless chunked body)")
        chunk = b"x" * 1024
        self.wfile.write(b'400\r\n{"errors":[{"code":"UNKNOWN","message":"' + chunk[40:] + b"\r\n")
        while not self.cfg.stop.is_set():
            self.wfile.write(b"400\r\n" + chunk + b"\r\n")
            self.wfile.flush()
            time.sleep(0.01)
        self.close_connection = True


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="default: any free port")
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--lifetime", type=float, default=120.0)
    p.add_argument("--upstream")
    p.add_argument("--upstream-file", help="a file holding the upstream URL, read when needed")
    p.add_argument("--upstream-ca")
    p.add_argument("--basic-file")
    p.add_argument("--bearer-len", type=int, default=0)
    p.add_argument("--issued", help="write the token issued (--bearer-len) here")
    p.add_argument("--mode", action="append", default=[])
    a = p.parse_args(argv)
    if not (a.bind.startswith("127.") or a.bind == "::1"):
        sys.exit("hostile_registry: loopback addresses only")
    Handler.cfg = cfg = Config(a)
    cfg.stop = threading.Event()
    srv = Server((a.bind, a.port), Handler)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    signal.signal(signal.SIGTERM, lambda *_: cfg.stop.set())
    signal.signal(signal.SIGINT, lambda *_: cfg.stop.set())
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    cfg.stop.wait(a.lifetime)
    cfg.stop.set()
    srv.shutdown()
    srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
