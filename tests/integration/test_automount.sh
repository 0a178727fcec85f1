#!/usr/bin/env bash
# test_automount.sh - automatic cross-repository mounts: the cache remembers
# which repositories of a registry hold each blob (pushed there, or found
# there by HEAD), and a push to another repository of that registry mounts
# the blobs (POST ?mount=&from=) instead of sending them, without
# --mount-from. A stale entry (the repository deleted) costs one refused
# mount, then the upload, and is forgotten; the image still pulls back intact.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/fixtures.sh"
. "$TS_LIB_DIR/faultproxy.sh"
ts_need skopeo umoci jq python3

registry_start
export TAGSEAL_CACHE_DIR=$T/cache
fixture_oci_archive "$T/oci.tar" latest 3 71
fixture_docker_archive "$T/dsave.tar" auto/app:1 2 72
faultproxy_start --name P "$REGISTRY_URL"

# compressed layers (OCI archive): pushed to team/a, then mounted into team/b
run_ts 0 push "$T/oci.tar" --repo "$P/team/a" --tag v1
run_ts 0 push "$T/oci.tar" --repo "$P/team/b" --tag v1
registry_pull_verify "$REGISTRY/team/b:v1" "$T/pull1" >/dev/null
assert_eq "$(faultproxy_count P 'POST /v2/team/b/blobs/uploads/\?mount=sha256:[0-9a-f]+&from=team/a -> 201')" 3 \
	"three layers mounted from team/a"
assert_eq "$(faultproxy_count P '(PATCH|PUT) /v2/team/b/blobs/uploads/')" 1 \
	"no layer bytes sent to team/b (one upload: the config, in its PUT)"

# uncompressed layers (docker save) through the layer cache: mounted too
run_ts 0 push "$T/dsave.tar" --repo "$P/team/c" --tag v1
run_ts 0 push "$T/dsave.tar" --repo "$P/team/d" --tag v1
registry_pull_verify "$REGISTRY/team/d:v1" "$T/pull2" >/dev/null
assert_eq "$(faultproxy_count P 'POST /v2/team/d/blobs/uploads/\?mount=.*&from=team/c -> 201')" 2 \
	"two cached layers mounted from team/c"
assert_eq "$(faultproxy_count P '(PATCH|PUT) /v2/team/d/blobs/uploads/')" 1 \
	"no layer bytes sent to team/d (one upload: the config, in its PUT)"

# found by HEAD: another cache sees team/a hold the layers, then mounts from it
export TAGSEAL_CACHE_DIR=$T/cache2
run_ts 0 push "$T/oci.tar" --repo "$P/team/a" --tag v2
run_ts 0 push "$T/oci.tar" --repo "$P/team/e" --tag v1
assert_eq "$(faultproxy_count P 'POST /v2/team/e/blobs/uploads/\?mount=.*&from=team/a -> 201')" 3 \
	"layers found by HEAD in team/a are mounted"

# stale: the repository the cache names is gone from the registry
export TAGSEAL_CACHE_DIR=$T/cache3
fixture_oci_archive "$T/oci2.tar" latest 2 73
run_ts 0 push "$T/oci2.tar" --repo "$P/stale/one" --tag v1
rm -rf "$REGISTRY_DIR/data/docker/registry/v2/repositories/stale/one"
run_ts 0 push "$T/oci2.tar" --repo "$P/stale/two" --tag v1
registry_pull_verify "$REGISTRY/stale/two:v1" "$T/pull3" >/dev/null
assert_eq "$(faultproxy_count P 'POST /v2/stale/two/blobs/uploads/\?mount=.*&from=stale/one -> 202')" 2 \
	"one refused mount per layer"
[ "$(faultproxy_count P '(PATCH|PUT) /v2/stale/two/blobs/uploads/.* body=[1-9]')" -ge 2 ] ||
	ts_fail "the layers were not uploaded to stale/two"
# the stale entry is forgotten; stale/two, which holds the layers now, is used
run_ts 0 push "$T/oci2.tar" --repo "$P/stale/three" --tag v1
assert_eq "$(faultproxy_count P 'from=stale/one')" 2 "a forgotten entry is not tried again"
assert_eq "$(faultproxy_count P 'POST /v2/stale/three/blobs/uploads/\?mount=.*&from=stale/two -> 201')" 2 \
	"mounted from the repository that holds the layers now"
registry_pull_verify "$REGISTRY/stale/three:v1" "$T/pull4" >/dev/null

# --no-cache: nothing remembered, nothing mounted
run_ts 0 push "$T/oci.tar" --repo "$P/team/f" --tag v1 --no-cache
assert_eq "$(faultproxy_count P 'POST /v2/team/f/blobs/uploads/\?mount=')" 0 "no mount with --no-cache"
echo "test_automount: automatic mounts, stale entries ok"
