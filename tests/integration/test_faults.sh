#!/usr/bin/env bash
# test_faults.sh - with 20% of requests failing (500, 502, 503, 429 with
# Retry-After, connection resets mid-body, answers lost after the registry did
# the work, stalls), 20 consecutive pushes all succeed and every image pulls
# back intact with skopeo. Interrupted blob uploads resume from the offset the
# registry reports rather than starting over: at least one is finished in the
# session it began in after asking the registry what it holds, and none sends
# from byte 0 what the registry said it held.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/fixtures.sh"
. "$TS_LIB_DIR/faultproxy.sh"
ts_need skopeo umoci jq python3

registry_start
export TAGSEAL_CACHE_DIR=$T/cache
fixture_docker_archive "$T/big.tar" fault/app:1 3 51
fixture_oci_archive "$T/oci.tar" latest 2 52
faultproxy_start --name P "$REGISTRY_URL" --rate 0.2 --seed "${TS_FAULT_SEED:-11}" \
	--faults 500,502,503,429,reset,lost,stall --stall 1 --retry-after 1

for i in $(seq 1 20); do
	img=$T/big.tar
	[ $((i % 2)) = 0 ] && img=$T/oci.tar
	rm -rf "$T/cache"
	run_ts 0 push "$img" --repo "$P/fault/app$i" --tag "t$i" --retries 8 --timeout 10
	registry_pull_verify "$REGISTRY/fault/app$i:t$i" "$T/pull" >/dev/null
done
faults=$(faultproxy_count P ' -> fault ')
[ "$faults" -ge 20 ] || ts_fail "only $faults faults were injected; the test proves little"

# Resumption, from the proxy's log: an upload session whose request failed,
# asked how much it holds (GET), and was then finished in that same session
# (PUT 201) without a new POST counts as resumed; and whenever the registry
# said it held bytes, the next PATCH of that session must go on from there
# (Content-Range from the held offset), never from byte 0.
python3 - "$P_LOG" >"$T/resumes" <<'PY' || ts_fail "uploads started over: $(cat "$T/resumes")"
import re, sys
ev = {}
line_re = re.compile(r"^\S+ (\w+) /v2/\S+/blobs/uploads/([0-9a-f-]{36})\S* -> (fault \S+|\d+)(.*)$")
for line in open(sys.argv[1]):
    m = line_re.match(line.rstrip("\n"))
    if m:
        ev.setdefault(m.group(2), []).append((m.group(1), m.group(3), m.group(4)))
resumed, bad = 0, []
for uuid, es in ev.items():
    asked = False
    held = None
    for method, status, extra in es:
        r = re.search(r" range=0-(\d+)", extra)
        cr = re.search(r" content-range=(\d+)-", extra)
        if method == "GET" and status == "204":
            asked = True
            held = int(r.group(1)) + 1 if r and int(r.group(1)) > 0 else None
        elif method == "PATCH" and held is not None:
            if not cr or int(cr.group(1)) != held:
                bad.append("%s: held %d bytes, next PATCH %s" % (uuid, held, cr.group(0) if cr else "without Content-Range"))
            held = None
        elif method == "PUT" and status == "201" and asked:
            resumed += 1
if bad:
    print("; ".join(bad))
    sys.exit(1)
print(resumed)
PY
[ "$(cat "$T/resumes")" -ge 1 ] ||
	ts_fail "no interrupted upload was resumed in its session ($(faultproxy_count P 'GET /v2/fault/app[0-9]+/blobs/uploads/') progress queries)"
