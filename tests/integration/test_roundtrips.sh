#!/usr/bin/env bash
# test_roundtrips.sh - what a push costs on the wire, counted by the proxy in
# front of a real registry: the requests and the connections. On a real
# network every request is a round trip and every new connection one more
# (two or three with TLS), so these counts are what tests/bench/net.sh
# measures in seconds. A layer whose digest is known goes up in HEAD, POST
# and one PUT with its bytes; the connections of the checks, the uploads,
# the configs and the manifest are opened once; the tag is checked once
# before anything is uploaded, once alongside the manifest's PUT, and read
# back once; with the scheme known (here --plain-http) no GET /v2/ goes
# first.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/fixtures.sh"
. "$TS_LIB_DIR/faultproxy.sh"
ts_need skopeo umoci jq python3

registry_start
export TAGSEAL_CACHE_DIR=$T/cache
fixture_oci_archive "$T/oci.tar" latest 6 81
faultproxy_start --name P "$REGISTRY_URL"

count() { faultproxy_count P "$1"; }

# ---- an OCI archive of 6 layers to a new repository ----
run_ts 0 push --plain-http "$T/oci.tar" --repo "$P/rt/app" --tag v1
registry_pull_verify "$REGISTRY/rt/app:v1" "$T/pull1" >/dev/null
assert_eq "$(count 'PATCH ')" 0 "no PATCH: each layer's bytes go in the PUT that commits it"
assert_eq "$(count 'HEAD /v2/rt/app/blobs/sha256:[0-9a-f]+ -> 404')" 7 "one HEAD per layer and the config"
assert_eq "$(count 'POST /v2/rt/app/blobs/uploads/ -> 202')" 7 "one session per blob"
assert_eq "$(count 'PUT /v2/rt/app/blobs/uploads/.*digest=sha256:[0-9a-f]+ -> 201 body=[1-9]')" 7 \
	"one PUT with its bytes per blob"
assert_eq "$(count 'HEAD /v2/rt/app/manifests/v1 -> 404')" 2 \
	"the tag checked before anything is uploaded and alongside the manifest's PUT"
assert_eq "$(count 'HEAD /v2/rt/app/manifests/v1 -> 200')" 1 "the tag read back once"
assert_eq "$(count 'PUT /v2/rt/app/manifests/')" 2 "the manifest by digest, then the tag"
assert_eq "$(count 'GET /v2/ ->')" 0 "no GET /v2/: the tag's HEAD is the first request"
assert_eq "$(wc -l <"$P_LOG")" 26 "26 requests in all: $(cat "$P_LOG")"
conns=$(cat "$P_CONNS")
# the first, the tag check's (then the configs'), three more for the uploads;
# one more when the uploads start after the tag check is back and take its
[ "$conns" -le 6 ] || ts_fail "$conns connections for one push (at most 6: the first, the tag check's, the configs', three more uploads)"
echo "ok: a 6-layer OCI archive: 26 requests on $conns connections"

# ---- the same image to a second repository: mounted, nothing sent ----
: >"$P_LOG"
run_ts 0 push --plain-http "$T/oci.tar" --repo "$P/rt/prod" --tag v1
registry_pull_verify "$REGISTRY/rt/prod:v1" "$T/pull2" >/dev/null
assert_eq "$(count 'POST /v2/rt/prod/blobs/uploads/\?mount=sha256:[0-9a-f]+&from=rt/app -> 201')" 6 \
	"the layers mounted from rt/app"
assert_eq "$(count '(PATCH|PUT) /v2/rt/prod/blobs/uploads/.* body=[0-9]{5,}')" 0 "no layer bytes sent"
echo "ok: the second repository: layers mounted, no layer bytes sent"

# ---- the same image again under another tag: nothing uploaded ----
: >"$P_LOG"
run_ts 0 push --plain-http "$T/oci.tar" --repo "$P/rt/app" --tag v2
assert_eq "$(count 'POST ')" 0 "no upload session for blobs the repository has"
assert_eq "$(count 'HEAD /v2/rt/app/blobs/sha256:[0-9a-f]+ -> 200')" 7 "each blob checked once"
echo "ok: a new tag of the same image: $(wc -l <"$P_LOG") requests, no upload"

# ---- a manifest PUT that takes long (429, Retry-After: 1): the tag is checked
# again before its PUT, so that the check stays one request before it ----
faultproxy_start --name S "$REGISTRY_URL" --faults 429 --methods PUT --paths '/manifests/sha256:' \
	--rate 1 --max-faults 1 --retry-after 1
run_ts 0 push --plain-http "$T/oci.tar" --repo "$S/rt/slow" --tag v1
registry_pull_verify "$REGISTRY/rt/slow:v1" "$T/pull3" >/dev/null
assert_eq "$(faultproxy_count S 'PUT /v2/rt/slow/manifests/sha256:.* fault 429')" 1 "the manifest's PUT was held up"
assert_eq "$(faultproxy_count S 'HEAD /v2/rt/slow/manifests/v1 -> 404')" 3 \
	"the tag checked before the uploads, alongside the manifest, and again after the manifest's wait"
echo "ok: a slow manifest PUT: the tag is checked again just before its PUT"
