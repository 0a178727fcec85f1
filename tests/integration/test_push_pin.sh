#!/usr/bin/env bash
# test_push_pin.sh - `push --pin` rewrites the pinning corpus exactly as
# `tagseal pin` does with the pushed reference, reports the changes in the
# metadata file, and refuses (exit 2, nothing pushed) when a manifest does not
# parse.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/fixtures.sh"
ts_need skopeo umoci jq

registry_start
fixture_docker_archive "$T/shop.tar" acme/shop:2 2 71
REPO=$REGISTRY/acme/shop

# the corpus, pointed at the local registry
corpus() {
	rm -rf "$1" && cp -a "$TS_SOURCE_DIR/tests/data/pin/input" "$1"
	grep -rlZ 'ghcr.io/acme/shop' "$1" | xargs -0 sed -i "s|ghcr.io/acme/shop|$REPO|g"
}
corpus "$T/a"
corpus "$T/b"

run_ts 0 push "$T/shop.tar" --repo "$REPO" --tag 2.0.0 --pin "$T/a" --metadata-file "$T/meta.json"
ref=$(tail -n 1 "$T/out")
assert_contains "$T/err" "$ref"
run_ts 0 pin --image "$ref" "$T/b"
diff -r "$T/a" "$T/b" >"$T/diff" || { cat "$T/diff" >&2; ts_fail "push --pin and pin differ"; }
n=$(grep -rl "$ref" "$T/a" | wc -l)
[ "$n" -ge 5 ] || ts_fail "only $n files pinned"
assert_eq "$(jq '.pinned | length' "$T/meta.json")" "$(grep -c ' -> ' "$T/err")" "metadata lists every change"

# a manifest that does not parse: exit 2 before anything is pushed
corpus "$T/c"
printf 'image: [unclosed\n' >"$T/c/k8s/broken.yaml"
before=$(find "$T/c" -type f -exec sha256sum {} + | sort)
run_ts 2 push "$T/shop.tar" --repo "$REGISTRY/acme/other" --tag 2.0.0 --pin "$T/c"
assert_one_line "$T/err"
assert_contains "$T/err" "broken.yaml"
assert_eq "$(find "$T/c" -type f -exec sha256sum {} + | sort)" "$before" "no file changed"
if skopeo list-tags --tls-verify=false "docker://$REGISTRY/acme/other" >"$T/tags" 2>/dev/null; then
	assert_eq "$(jq -c '.Tags // []' "$T/tags")" "[]" "nothing pushed"
fi
echo "test_push_pin: push --pin equals pin, bad manifests stop the push"
