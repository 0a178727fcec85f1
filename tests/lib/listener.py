#!/usr/bin/env python3
"""listener.py - a registry impostor for tests, on 127.0.0.1 (never a mock
of a real registry: it stands for a host that must not be trusted).

    listener.py PORTFILE LOG MODE

Binds a free loopback port and writes it to PORTFILE. Every request is
logged to LOG as one line: METHOD PATH AUTHORIZATION (or "-"). MODE:
  challenge  every request answers 401 with a Basic challenge unless it
             carries an Authorization header (which it logs): a host that
             asks for the credentials of whoever talks to it
  digest-esc GET/HEAD /v2/ answer 200; a manifest answers 200 with a
             Docker-Content-Digest holding terminal escape sequences
"""
import http.server
import sys

portfile, log, mode = sys.argv[1], sys.argv[2], sys.argv[3]
MANIFEST = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}'
EVIL_DIGEST = "sha256:\x1b]0;pwned\x07\x1b[31mRED\x1b[0m"


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def note(self):
        with open(log, "a") as f:
            f.write("%s %s %s\n" % (self.command, self.path,
                                    self.headers.get("Authorization", "-")))

    def answer(self, body):
        self.note()
        if mode == "challenge":
            if self.headers.get("Authorization"):
                self.send_response(200)
            else:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="impostor"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path.rstrip("/") == "/v2":
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        self.send_header("Docker-Content-Digest", EVIL_DIGEST)
        self.send_header("Content-Length", str(len(MANIFEST)))
        self.end_headers()
        if body:
            self.wfile.write(MANIFEST)

    def do_GET(self):
        self.answer(True)

    def do_HEAD(self):
        self.answer(False)


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
