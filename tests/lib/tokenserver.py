#!/usr/bin/env python3
"""tokenserver.py - a small registry token service for tests (python3 stdlib
plus the openssl CLI), speaking the distribution token protocol:

  GET  /token?service=S&scope=repository:NAME:ACTIONS[&scope=...]
       with Basic credentials (or none: anonymous, granted nothing, or pull
       with --anonymous-pull, as Docker Hub grants for public images)
  POST /token  grant_type=password|refresh_token (OAuth2 form)

It issues RS256 JWTs that Debian's docker-registry verifies (auth.token with
realm, service, issuer, rootcertbundle = --cert): the header carries the
certificate in x5c. Modes:
  full      grant what is asked for (to known users)
  reduced   grant only "pull", whatever is asked for
  post404   answer POST with 404 (a token service that knows only GET)
  get405    answer GET with 405 (one that knows only the OAuth2 POST)
--redirect URL answers every GET with a 302 there; --bind picks the address
(another loopback address, 127.0.0.2, is "another host").
Each request is logged as one line to --log: METHOD GRANT USER SCOPES, and
never a secret; every token issued goes to --issued (so tests can check
that none leaks). The port chosen is written to --port-file.
"""
import argparse
import base64
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def cert_der_b64(cert_path):
    out = subprocess.run(["openssl", "x509", "-in", cert_path, "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return base64.b64encode(out).decode()


class Issuer:
    def __init__(self, args):
        self.args = args
        self.x5c = cert_der_b64(args.cert)
        self.lock = threading.Lock()
        self.users = dict(u.split(":", 1) for u in args.user)
        self.refresh = dict(r.split(":", 1) for r in args.refresh_token)

    def sign(self, claims):
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        signing_input = (b64url(json.dumps(header).encode()) + "." +
                         b64url(json.dumps(claims).encode())).encode()
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.args.key],
                             input=signing_input, check=True, capture_output=True).stdout
        return signing_input.decode() + "." + b64url(sig)

    def grant(self, user, scopes):
        access = []
        for s in scopes:
            for one in s.split(" "):
                parts = one.split(":")
                if len(parts) < 3 or parts[0] != "repository":
                    continue
                actions = parts[-1].split(",")
                if user is None:
                    if not self.args.anonymous_pull:
                        continue
                    actions = [a for a in actions if a == "pull"]
                if self.args.mode == "reduced":
                    actions = [a for a in actions if a == "pull"]
                access.append({"type": "repository", "name": ":".join(parts[1:-1]),
                               "actions": actions})
        return access

    def token(self, user, scopes):
        now = int(time.time())
        claims = {"iss": self.args.issuer, "sub": user or "", "aud": self.args.service,
                  "exp": now + self.args.expires, "nbf": now - 10, "iat": now,
                  "jti": b64url(os.urandom(12)), "access": self.grant(user, scopes)}
        return self.sign(claims), claims["access"]

    def log(self, line):
        with self.lock, open(self.args.log, "a") as f:
            f.write(line + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def unauthorized(self, method, user):
        self.server.issuer.log("%s DENIED %s" % (method, user or "-"))
        self.reply(401, {"errors": [{"code": "UNAUTHORIZED",
                                     "message": "authentication required"}]})

    def basic_user(self):
        h = self.headers.get("Authorization", "")
        if not h.lower().startswith("basic "):
            return None, True
        try:
            user, pw = base64.b64decode(h[6:]).decode().split(":", 1)
        except Exception:
            return None, False
        iss = self.server.issuer
        if iss.users.get(user) == pw or iss.refresh.get(pw) == user:
            return user, True
        return user, False

    def issue(self, method, grant, user, scopes):
        iss = self.server.issuer
        tok, access = iss.token(user, scopes)
        iss.log("%s %s %s %s -> %s" % (method, grant, user or "-", "|".join(scopes),
                                       json.dumps(access, sort_keys=True)))
        with iss.lock, open(iss.args.issued, "a") as f:
            f.write(tok + "\n")
        key = "access_token" if method == "POST" else "token"
        self.reply(200, {key: tok, "expires_in": iss.args.expires,
                         "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        if self.server.issuer.args.mode == "get405":
            self.server.issuer.log("GET REFUSED405")
            return self.reply(405, {"errors": [{"code": "UNSUPPORTED"}]})
        if self.server.issuer.args.redirect:
            self.server.issuer.log("GET REDIRECTED")
            self.send_response(302)
            self.send_header("Location", self.server.issuer.args.redirect + "?" + url.query)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        q = urllib.parse.parse_qs(url.query)
        user, ok = self.basic_user()
        if not ok:
            return self.unauthorized("GET", user)
        self.issue("GET", "basic" if user else "anonymous", user, q.get("scope", []))

    def do_POST(self):
        iss = self.server.issuer
        n = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(n).decode())
        if iss.args.mode == "post404":
            iss.log("POST REFUSED404")
            return self.reply(404, {"errors": [{"code": "NOT_FOUND"}]})
        grant = form.get("grant_type", [""])[0]
        if form.get("client_id", [""])[0] == "":
            return self.reply(400, {"error": "invalid_request"})
        if grant == "refresh_token":
            user = iss.refresh.get(form.get("refresh_token", [""])[0])
        elif grant == "password":
            user = form.get("username", [""])[0]
            if iss.users.get(user) != form.get("password", [""])[0]:
                user = None
        else:
            return self.reply(400, {"error": "unsupported_grant_type"})
        if user is None:
            return self.unauthorized("POST", grant)
        self.issue("POST", grant, user, form.get("scope", []))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--key", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--issuer", default="tagseal-test-issuer")
    p.add_argument("--service", default="tagseal-test")
    p.add_argument("--user", action="append", default=[], help="NAME:PASSWORD")
    p.add_argument("--refresh-token", action="append", default=[], help="TOKEN:USER")
    p.add_argument("--mode", default="full",
                   choices=["full", "reduced", "post404", "get405"])
    p.add_argument("--expires", type=int, default=300)
    p.add_argument("--anonymous-pull", action="store_true",
                   help="grant anonymous requests pull (as Docker Hub does for public images)")
    p.add_argument("--redirect", help="answer GET with a 302 to this URL (plus the query)")
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--log", required=True)
    p.add_argument("--issued", required=True, help="every token issued, one a line")
    p.add_argument("--port-file", required=True)
    args = p.parse_args()
    srv = ThreadingHTTPServer((args.bind, 0), Handler)
    srv.issuer = Issuer(args)
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    open(args.log, "a").close()
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
