#!/usr/bin/env python3
"""githttp.py - git's smart HTTP protocol on loopback for tests: a small
HTTP/1.1 server (python3 stdlib) that runs `git http-backend` as a CGI for
every request, with chunked request bodies understood (libgit2 sends them).

  githttp.py --root DIR --port-file FILE --log FILE [--user NAME:PASSWORD]

Repositories under --root are served at /NAME.git (GIT_HTTP_EXPORT_ALL); with
--user every request needs that Basic credential (401 otherwise), and a
request carrying another one is logged as "auth=bad". One line per request
goes to --log: "METHOD PATH -> STATUS auth=none|ok|bad" (never a secret).
"""
import argparse
import base64
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def log_line(self, status, auth):
        with self.server.lock, open(self.server.args.log, "a") as f:
            f.write("%s %s -> %d auth=%s\n" % (self.command, self.path.split("?")[0], status, auth))

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def auth(self):
        want = self.server.args.user
        got = self.headers.get("Authorization")
        if not got:
            return "none"
        if want and got == "Basic " + base64.b64encode(want.encode()).decode():
            return "ok"
        return "bad"

    def reply(self, status, headers, body):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def cgi(self):
        body = self.read_body() if self.command == "POST" else b""
        auth = self.auth()
        if self.server.args.user and auth != "ok":
            self.log_line(401, auth)
            return self.reply(401, [("WWW-Authenticate", 'Basic realm="git"')], b"")
        path, _, query = self.path.partition("?")
        env = dict(os.environ, GIT_PROJECT_ROOT=self.server.args.root, GIT_HTTP_EXPORT_ALL="1",
                   PATH_INFO=path, QUERY_STRING=query, REQUEST_METHOD=self.command,
                   CONTENT_TYPE=self.headers.get("Content-Type", ""),
                   CONTENT_LENGTH=str(len(body)), REMOTE_ADDR="127.0.0.1",
                   REMOTE_USER="tester", GATEWAY_INTERFACE="CGI/1.1")
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        out = subprocess.run(["git", "http-backend"], input=body, env=env,
                             capture_output=True, timeout=60).stdout
        sep = out.find(b"\r\n\r\n")
        head, rest = (out[:sep], out[sep + 4:]) if sep >= 0 else out.split(b"\n\n", 1)
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            k, _, v = line.partition(":")
            if k.lower() == "status":
                status = int(v.strip().split()[0])
            elif k:
                headers.append((k, v.strip()))
        self.log_line(status, auth)
        self.reply(status, headers, rest)

    do_GET = cgi
    do_POST = cgi


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--user")
    args = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.args = args
    srv.lock = threading.Lock()
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
