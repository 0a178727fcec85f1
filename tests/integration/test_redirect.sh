#!/usr/bin/env bash
# test_redirect.sh - registries send blob reads to object storage on another
# host (a 307); tagseal follows the redirect but never sends its
# Authorization there. The registry needs Basic auth; the "storage" is a
# small server on 127.0.0.2 that logs every request header it gets.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/fixtures.sh"
. "$TS_LIB_DIR/faultproxy.sh"
ts_need skopeo umoci jq python3 htpasswd

PW=redirect-secret-$RANDOM
registry_htpasswd "$T/htpasswd" alice "$PW"
registry_start --htpasswd "$T/htpasswd"

# the object storage stand-in: logs headers, has no blobs (404)
cat >"$T/storage.py" <<'PY'
import http.server, sys
log = open(sys.argv[2], "a", buffering=1)
class H(http.server.BaseHTTPRequestHandler):
    def answer(self):
        log.write("%s %s %s\n" % (self.command, self.path, dict(self.headers)))
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()
    do_GET = do_HEAD = answer
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.2", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.timeout = 1
import time
end = time.time() + 300
while time.time() < end:
    s.handle_request()
PY
python3 "$T/storage.py" "$T/storage.port" "$T/storage.log" &
spid=$!
ts_defer "kill $spid"
for i in $(seq 50); do [ -s "$T/storage.port" ] && break; sleep 0.1; done
[ -s "$T/storage.port" ] || ts_skip "cannot listen on 127.0.0.2"
touch "$T/storage.log"

faultproxy_start --name P "$REGISTRY_URL" --quirks "redirect-blobs=http://127.0.0.2:$(cat "$T/storage.port")"
fixture_oci_archive "$T/oci.tar" latest 2 81
run_ts 0 push "$T/oci.tar" --repo "$P/redir/app" --tag v1 --username alice --password-stdin <<<"$PW"
[ "$(faultproxy_count P 'quirk 307')" -ge 1 ] || ts_fail "no blob read was redirected"
[ -s "$T/storage.log" ] || ts_fail "the storage host got no request: the redirect was not followed"
assert_not_contains "$T/storage.log" "Authorization"
assert_not_contains "$T/storage.log" "$PW"
skopeo inspect --raw --tls-verify=false --creds "alice:$PW" "docker://$REGISTRY/redir/app:v1" >/dev/null ||
	ts_fail "image not in the registry"
echo "test_redirect: $(wc -l <"$T/storage.log") redirected requests, none with credentials"
