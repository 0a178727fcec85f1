#!/usr/bin/env bash
# test_faultproxy.sh - the fault-injecting proxy (tests/fault/faultproxy.py)
# does what tests rely on: it is transparent at rate 0, injects each fault
# kind, plays each registry quirk, and stops by itself. Does not run tagseal.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/fixtures.sh"
. "$TS_LIB_DIR/faultproxy.sh"
ts_need skopeo umoci jq curl python3

# status URL [CURL_ARGS...]: the HTTP status of one request, or "curl:RC".
status() {
	local url=$1 rc=0 code
	shift
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" "$url") || rc=$?
	if [ "$rc" -ne 0 ]; then echo "curl:$rc"; else echo "$code"; fi
}

registry_start
fixture_oci_layout "$T/img" app 2 1

# Rate 0: transparent. An image pushed through the proxy pulls back intact.
faultproxy_start --name CLEAN "$REGISTRY_URL"
skopeo copy -q --dest-tls-verify=false "oci:$T/img:app" "docker://$CLEAN/fp/app:v1"
registry_pull_verify "$REGISTRY/fp/app:v1" "$T/pulled" >/dev/null
registry_pull_verify "$CLEAN/fp/app:v1" "$T/pulled2" >/dev/null
[ "$(faultproxy_count CLEAN 'fault')" = 0 ] || ts_fail "faults at rate 0"
[ "$(faultproxy_count CLEAN 'PUT /v2/fp/app/manifests/v1 -> 201')" = 1 ] ||
	ts_fail "manifest PUT not logged: $(cat "$CLEAN_LOG")"
faultproxy_stop CLEAN

# Each fault kind at rate 1.
for f in 500 502 503; do
	faultproxy_start --name P "$REGISTRY_URL" --rate 1 --faults "$f"
	assert_eq "$(status "$P_URL/v2/")" "$f" "fault $f"
	faultproxy_stop P
done

faultproxy_start --name P "$REGISTRY_URL" --rate 1 --faults 429 --retry-after 7
curl -s -D "$T/h" -o /dev/null "$P_URL/v2/" || true
assert_contains "$T/h" " 429"
grep -i '^retry-after: 7' "$T/h" >/dev/null || ts_fail "429 without Retry-After: 7"
faultproxy_stop P

faultproxy_start --name P "$REGISTRY_URL" --rate 1 --faults reset
s=$(status "$P_URL/v2/fp/app/manifests/v1" -H 'Accept: application/vnd.oci.image.manifest.v1+json')
[[ $s == curl:* ]] || ts_fail "reset mid-response answered $s"
head -c 100000 /dev/urandom >"$T/blob"
s=$(status "$P_URL/v2/fp/app/blobs/uploads/" -X POST --data-binary @"$T/blob")
[[ $s == curl:* ]] || ts_fail "reset mid-request answered $s"
faultproxy_stop P

faultproxy_start --name P "$REGISTRY_URL" --rate 1 --faults stall --stall 3
assert_eq "$(status "$P_URL/v2/" --max-time 1)" curl:28 "stall"
faultproxy_stop P

# lost: the registry does the work, the client sees a reset.
faultproxy_start --name P "$REGISTRY_URL" --rate 1 --faults lost --methods DELETE
digest=$(skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/fp/app:v1" | sha256sum | cut -d' ' -f1)
s=$(status "$P_URL/v2/fp/app/manifests/sha256:$digest" -X DELETE)
[[ $s == curl:* ]] || ts_fail "lost DELETE answered $s"
assert_eq "$(status "$REGISTRY_URL/v2/fp/app/manifests/v1" -I)" 404 "manifest after lost DELETE"
faultproxy_stop P

# A seeded rate faults some requests and not others, the same way each time.
for run in 1 2; do
	faultproxy_start --name P "$REGISTRY_URL" --rate 0.5 --seed 42 --faults 500
	for ((i = 0; i < 20; i++)); do status "$P_URL/v2/"; done >"$T/seq$run"
	faultproxy_stop P
done
cmp -s "$T/seq1" "$T/seq2" || ts_fail "same seed, different faults"
grep -qx 500 "$T/seq1" && grep -qx 200 "$T/seq1" || ts_fail "rate 0.5 gave $(sort "$T/seq1" | uniq -c)"

# Quirks.
faultproxy_start --name Q "$REGISTRY_URL" --quirks patch201,head403,location-relative,warning,chunk-min=1024
curl -s -D "$T/h" -o /dev/null -X POST "$Q_URL/v2/fp/blob/blobs/uploads/"
loc=$(tr -d '\r' <"$T/h" | sed -n 's/^[Ll]ocation: //p')
[[ $loc == /v2/fp/blob/blobs/uploads/* ]] || ts_fail "location-relative gave '$loc'"
grep -i '^warning: 299' "$T/h" >/dev/null || ts_fail "no Warning header"
grep -i '^oci-chunk-min-length: 1024' "$T/h" >/dev/null || ts_fail "no OCI-Chunk-Min-Length"
assert_eq "$(status "$Q_URL$loc" -X PATCH --data-binary @"$T/blob" -H 'Content-Type: application/octet-stream')" 201 "PATCH with patch201"
assert_eq "$(status "$Q_URL/v2/fp/app/manifests/nope" -I)" 403 "HEAD of a missing manifest with head403"
assert_eq "$(status "$Q_URL/v2/fp/app/blobs/sha256:$(printf %064d 0)" -I)" 404 "HEAD of a blob with head403"
faultproxy_stop Q

faultproxy_start --name Q "$REGISTRY_URL" --quirks location-absolute,location-query,max-body=1000
curl -s -D "$T/h" -o /dev/null -X POST "$Q_URL/v2/fp/blob/blobs/uploads/"
loc=$(tr -d '\r' <"$T/h" | sed -n 's/^[Ll]ocation: //p')
[[ $loc == "$Q_URL/v2/fp/blob/blobs/uploads/"*'&fp=1' ]] || ts_fail "location-absolute/query gave '$loc'"
assert_eq "$(status "$loc" -X PATCH --data-binary @"$T/blob")" 413 "PATCH over max-body"
faultproxy_stop Q

# The slow link (generous bounds: the machine may be loaded). --bandwidth 8:
# a 4 MB body takes at least 0.5 s; --rtt 100: five requests, one after
# another, at least 0.5 s (each one a round trip, a new connection another).
now_ms() { date +%s%3N; }
head -c 4000000 /dev/urandom >"$T/4mb"
faultproxy_start --name S "$REGISTRY_URL" --bandwidth 8
t0=$(now_ms)
curl -s -o /dev/null -X POST --data-binary @"$T/4mb" "$S_URL/v2/fp/slow/blobs/uploads/"
t1=$(now_ms)
[ $((t1 - t0)) -ge 400 ] || ts_fail "4 MB through --bandwidth 8 took only $((t1 - t0)) ms"
grep -qE 'POST /v2/fp/slow/blobs/uploads/ -> 202.* body=4000000$' "$S_LOG" ||
	ts_fail "no body size in the log: $(cat "$S_LOG")"
faultproxy_stop S
faultproxy_start --name S "$REGISTRY_URL" --rtt 100
t0=$(now_ms)
for ((i = 0; i < 5; i++)); do assert_eq "$(status "$S_URL/v2/")" 200 "GET /v2/ with --rtt"; done
t1=$(now_ms)
[ $((t1 - t0)) -ge 500 ] || ts_fail "5 requests through --rtt 100 took only $((t1 - t0)) ms"
faultproxy_stop S

# The proxy ends by itself after --lifetime.
faultproxy_start --name L "$REGISTRY_URL" --lifetime 1
sleep 2.5
! kill -0 "$L_PID" 2>/dev/null || ts_fail "faultproxy outlived --lifetime"
echo "faultproxy ok"
