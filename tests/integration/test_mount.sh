#!/usr/bin/env bash
# test_mount.sh - cross-repository mounts (--mount-from): layers the registry
# already has in another repository are mounted (201), not uploaded; a
# registry that answers 202 gets the bytes instead. Also the upload size
# quirks: a request body limit (413 halves the PATCH) and
# OCI-Chunk-Min-Length.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/fixtures.sh"
. "$TS_LIB_DIR/faultproxy.sh"
ts_need skopeo umoci jq python3

registry_start
export TAGSEAL_CACHE_DIR=$T/cache
fixture_oci_archive "$T/oci.tar" latest 3 61
fixture_docker_archive "$T/dsave.tar" mount/app:1 2 62
faultproxy_start --name P "$REGISTRY_URL"

# compressed layers (OCI archive): mounted from the first repository
run_ts 0 push "$T/oci.tar" --repo "$P/team/base" --tag v1
run_ts 0 push "$T/oci.tar" --repo "$P/team/app" --tag v1 --mount-from "$P/team/base"
registry_pull_verify "$REGISTRY/team/app:v1" "$T/pull1" >/dev/null
mounts=$(faultproxy_count P 'POST /v2/team/app/blobs/uploads/\?mount=.* -> 201')
assert_eq "$mounts" 3 "three layers mounted"
patches=$(faultproxy_count P 'PATCH /v2/team/app/')
assert_eq "$patches" 0 "no layer bytes sent"
assert_eq "$(faultproxy_count P 'PUT /v2/team/app/blobs/uploads/.* -> 201')" 1 \
	"only the config was uploaded (POST + PUT with its bytes)"

# uncompressed layers (docker save) with the layer cache: mounted too
run_ts 0 push "$T/dsave.tar" --repo "$P/team/base2" --tag v1
run_ts 0 push "$T/dsave.tar" --repo "$P/team/app2" --tag v1 --mount-from "$P/team/base2"
registry_pull_verify "$REGISTRY/team/app2:v1" "$T/pull2" >/dev/null
assert_eq "$(faultproxy_count P 'POST /v2/team/app2/blobs/uploads/\?mount=.* -> 201')" 2 "cached layers mounted"

# a source that does not have the blobs: uploaded instead
run_ts 0 push "$T/oci.tar" --repo "$P/team/app3" --tag v1 --mount-from "$P/team/nothing"
registry_pull_verify "$REGISTRY/team/app3:v1" "$T/pull3" >/dev/null

# another registry's repository is refused
run_ts 2 push "$T/oci.tar" --repo "$P/team/app4" --tag v1 --mount-from "ghcr.io/x/y"
assert_contains "$T/err" "--mount-from"

# an image with a 12 MB incompressible layer, as docker save writes it
fixture_random_docker_archive "$T/big.tar" 12000000

# a request body limit of 1 MiB (GHCR-like): the streamed PATCH gets 413, the
# layer is sent again in 3 MiB pieces, and 413 halves them until they fit
faultproxy_start --name L "$REGISTRY_URL" --quirks max-body=1048576
run_ts 0 push "$T/big.tar" --repo "$L/limit/app" --tag v1 --no-cache
registry_pull_verify "$REGISTRY/limit/app:v1" "$T/pull4" >/dev/null
[ "$(faultproxy_count L 'quirk 413')" -ge 2 ] || ts_fail "the body limit was not hit by the stream and a piece"
# with --chunk-size 1 the limit is never hit: 12 PATCHes of 1 MiB for the layer
run_ts 0 push "$T/big.tar" --repo "$L/limit2/app" --tag v1 --no-cache --chunk-size 1
registry_pull_verify "$REGISTRY/limit2/app:v1" "$T/pull4b" >/dev/null
assert_eq "$(faultproxy_count L 'PATCH /v2/limit2/app/.* quirk 413')" 0 "no 413 with --chunk-size 1"
assert_eq "$(faultproxy_count L 'PATCH /v2/limit2/app/blobs/uploads/')" 12 \
	"12 1-MiB PATCHes (the config goes up in its PUT)"
# a layer sent as it is (OCI archive) goes up in the PUT that commits it:
# 413 there too, then pieces
skopeo copy -q docker-archive:"$T/big.tar" oci-archive:"$T/big-oci.tar":latest
run_ts 0 push "$T/big-oci.tar" --repo "$L/limit4/app" --tag v1 --no-cache
registry_pull_verify "$REGISTRY/limit4/app:v1" "$T/pull4c" >/dev/null
[ "$(faultproxy_count L 'PUT /v2/limit4/app/blobs/uploads/.* quirk 413')" -ge 1 ] ||
	ts_fail "the layer's PUT did not meet the body limit"
[ "$(faultproxy_count L 'PATCH /v2/limit4/app/blobs/uploads/.* -> 202')" -ge 4 ] ||
	ts_fail "the layer was not sent in pieces after the 413"
run_ts 2 push "$T/big.tar" --repo "$L/limit3/app" --tag v1 --chunk-size 0
assert_contains "$T/err" "--chunk-size"
# a minimum chunk size of 10 MiB (ECR-like): a streamed PATCH is one request
# for the whole layer; in pieces, every PATCH but the last is at least that
faultproxy_start --name C "$REGISTRY_URL" --quirks chunk-min=10485760
run_ts 0 push "$T/big.tar" --repo "$C/chunk/app" --tag v1 --no-cache
registry_pull_verify "$REGISTRY/chunk/app:v1" "$T/pull5" >/dev/null
assert_eq "$(faultproxy_count C 'PATCH /v2/chunk/app/blobs/uploads/')" 1 \
	"1 streamed PATCH for the 12 MB layer (the config goes up in its PUT)"
run_ts 0 push "$T/big.tar" --repo "$C/chunk2/app" --tag v1 --no-cache --chunk-size 3
registry_pull_verify "$REGISTRY/chunk2/app:v1" "$T/pull6" >/dev/null
assert_eq "$(faultproxy_count C 'PATCH /v2/chunk2/app/blobs/uploads/')" 2 \
	"2 PATCHes of >= 10 MiB for the 12 MB layer (the config in its PUT)"
echo "test_mount: mounts, fallbacks and upload size quirks ok"
