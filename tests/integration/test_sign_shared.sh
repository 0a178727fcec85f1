#!/usr/bin/env bash
# test_sign_shared.sh - signatures where several writers meet: two signers
# of one digest at the same moment both end up in the sha256-<hex> fallback
# index and in the sha256-<hex>.sig manifest (read-modify-write with a
# read-back); and a registry with the OCI 1.1 referrers API (faultproxy's
# referrers quirk in front of docker-registry) gets no fallback tag, and
# verify finds the bundle through the API.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/faultproxy.sh"
TAGSEAL=$(realpath "$TAGSEAL") # the test changes directory
. "$TS_LIB_DIR/fixtures.sh"
ts_need skopeo umoci openssl python3 jq

registry_start
cd "$T"
unset TAGSEAL_KEY_PASSWORD COSIGN_PASSWORD

push_img() {
	fixture_oci_layout "$T/lay-$1" img 1 "$2"
	skopeo copy -q --dest-tls-verify=false "oci:$T/lay-$1:img" "docker://$3/sign/$1:v1"
	skopeo inspect --tls-verify=false --raw "docker://$3/sign/$1:v1" |
		sha256sum | sed 's/^/sha256:/; s/ .*//'
}
raw() { skopeo inspect --tls-verify=false --raw "docker://$1"; }

for k in a b; do
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $k.key 2>/dev/null
	chmod 600 $k.key
	openssl pkey -in $k.key -pubout -out $k.pub
done

# --- two signers at once, three rounds ---
for round in 1 2 3; do
	D=$(push_img race$round $((40 + round)) "$REGISTRY")
	"$TAGSEAL" sign "$REGISTRY/sign/race$round:v1" --key a.key >a.out 2>a.err & pa=$!
	"$TAGSEAL" sign "$REGISTRY/sign/race$round:v1" --key b.key >b.out 2>b.err & pb=$!
	rca=0; rcb=0
	wait $pa || rca=$?
	wait $pb || rcb=$?
	[ $rca = 0 ] && [ $rcb = 0 ] || { cat a.err b.err >&2; ts_fail "round $round: signers exited $rca, $rcb"; }
	n=$(raw "$REGISTRY/sign/race$round:sha256-${D#sha256:}.sig" | jq '.layers | length')
	assert_eq "$n" 2 "round $round: .sig layers"
	n=$(raw "$REGISTRY/sign/race$round:sha256-${D#sha256:}" | jq '.manifests | length')
	assert_eq "$n" 2 "round $round: fallback index entries"
	for k in a b; do
		run_ts 0 verify "$REGISTRY/sign/race$round:v1" --key $k.pub
		# both formats hold a valid signature by each key
		[ "$(grep -c ': valid' "$T/err")" = 2 ] || { cat "$T/err" >&2; ts_fail "round $round key $k"; }
	done
done

# --- the referrers API ---
faultproxy_start "$REGISTRY_URL" --quirks referrers
D=$(push_img api 50 "$REGISTRY")
run_ts 0 sign "$PROXY/sign/api:v1" --key a.key --signature-format bundle
assert_contains "$T/err" "referrers API"
[ "$(faultproxy_count 'quirk referrers')" -ge 1 ] || ts_fail "the referrers API was not asked"
# no fallback tag: the registry itself lists the referrer
raw "$REGISTRY/sign/api:sha256-${D#sha256:}" >/dev/null 2>&1 &&
	ts_fail "a fallback tag was written although the registry has the referrers API"
run_ts 0 verify "$PROXY/sign/api:v1" --key a.pub
assert_contains "$T/err" "referrer sha256:"
assert_eq "$(tail -n 1 "$T/out")" "$PROXY/sign/api@$D"
run_ts 5 verify "$PROXY/sign/api:v1" --key b.pub
# without the API (the registry directly) nothing is found
run_ts 5 verify "$REGISTRY/sign/api:v1" --key a.pub
assert_contains "$T/err" "found 0 attachment"
echo PASS
