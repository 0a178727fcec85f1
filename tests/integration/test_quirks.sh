#!/usr/bin/env bash
# test_quirks.sh - what real registries do differently, played by the fault
# proxy in front of a real registry: PATCH answered 201 (ECR), 403 instead of
# 404 on a manifest HEAD (JFrog: never read as "absent"), relative, absolute
# and query-carrying Location headers, Warning headers (shown once). Each
# push must succeed and pull back intact with skopeo.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/fixtures.sh"
. "$TS_LIB_DIR/faultproxy.sh"
ts_need skopeo umoci jq python3

registry_start
fixture_docker_archive "$T/img.tar" quirk/app:1 2 41
fixture_oci_archive "$T/oci.tar" latest 2 43
export TAGSEAL_CACHE_DIR=$T/cache

for quirk in patch201 head403 location-relative location-absolute location-query warning \
	patch201,head403,location-query,warning; do
	faultproxy_start --name Q "$REGISTRY_URL" --quirks "$quirk"
	name=${quirk//[,=]/-}
	run_ts 0 push "$T/img.tar" --repo "$Q/quirk/$name" --tag t1
	registry_pull_verify "$REGISTRY/quirk/$name:t1" "$T/pull-$name" >/dev/null
	# layers sent as they are: each in the PUT that commits its session
	run_ts 0 push "$T/oci.tar" --repo "$Q/quirk/oci-$name" --tag t1
	registry_pull_verify "$REGISTRY/quirk/oci-$name:t1" "$T/pull-oci-$name" >/dev/null
	case $quirk in
	*warning*)
		n=$(grep -c "warning" "$T/err" || true)
		assert_eq "$n" 1 "$quirk: a Warning header is shown once" ;;
	esac
	case $quirk in
	*head403*)
		# the tag exists now: the same content is a no-op, other content exit 3
		run_ts 0 push "$T/img.tar" --repo "$Q/quirk/$name" --tag t1
		assert_contains "$T/err" "nothing changed"
		fixture_docker_archive "$T/other.tar" quirk/app:2 1 42
		run_ts 3 push "$T/other.tar" --repo "$Q/quirk/$name" --tag t1 ;;
	esac
	faultproxy_stop Q
	echo "quirk $quirk: ok"
done

# --- fewer round trips: a small blob (the config) goes up in POST + PUT with
# its bytes, no PATCH; layers (2 here) still stream in one PATCH each ---
faultproxy_start --name C "$REGISTRY_URL"
run_ts 0 push "$T/img.tar" --repo "$C/quirk/count" --tag t1
registry_pull_verify "$REGISTRY/quirk/count:t1" "$T/pull-count" >/dev/null
assert_eq "$(faultproxy_count C 'PATCH /v2/quirk/count/blobs/uploads/')" 2 "PATCHes: one per layer"
assert_eq "$(faultproxy_count C 'PUT /v2/quirk/count/blobs/uploads/.* -> 201')" 3 "PUTs: two layers, one config"
faultproxy_stop C
echo "round trips: ok"
