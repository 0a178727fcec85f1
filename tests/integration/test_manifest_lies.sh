#!/usr/bin/env bash
# test_manifest_lies.sh - a registry that answers a request for a manifest by
# digest with other bytes (and the asked digest in Docker-Content-Digest) is
# caught: the bytes are hashed and must be what was asked for. Without that,
# `sign --recursive` would sign the children of a manifest the registry made
# up (found in review). The hostile registry forwards everything else to a
# real docker-registry.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/fixtures.sh"
. "$TS_LIB_DIR/hostile.sh"
ts_need skopeo umoci jq python3

registry_start
fixture_index_layout "$T/idx" v1 81
run_ts 0 push "$T/idx" --repo "$REGISTRY/lies/app" --tag v1
digest=$(tail -n 1 "$T/out" | sed 's/.*@//')
(cd "$T" && "$TAGSEAL" keygen "$T/k") >/dev/null 2>&1 || ts_fail "keygen failed"
hostile_start --upstream "$REGISTRY_URL" --mode swap-manifest
run_ts 4 sign "$HOSTILE/lies/app@$digest" --key "$T/k.key" --recursive
assert_contains "$T/err" "for a manifest whose bytes have"
# the made-up child was not signed (the index, asked for by the user, may be)
skopeo list-tags --tls-verify=false "docker://$REGISTRY/lies/app" >"$T/tags" 2>/dev/null || true
assert_not_contains "$T/tags" "sha256-eeee"
# straight to the registry, the same command signs the index and its children
run_ts 0 sign "$REGISTRY/lies/app@$digest" --key "$T/k.key" --recursive
echo "ok: a manifest asked for by digest must hash to it"
