#!/usr/bin/env bash
# test_sign_interop.sh - the bundles tagseal writes, checked by another
# implementation: @sigstore/verify 3.x (npm, installed into the build
# directory) verifies a signature bundle and a provenance bundle fetched
# from the registry, key-based with log and timestamp thresholds at 0; the
# same tool rejects a bundle whose statement was changed and another key.
# Skipped when npm is absent or cannot fetch the package.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
TAGSEAL=$(realpath "$TAGSEAL") # the test changes directory
. "$TS_LIB_DIR/fixtures.sh"
ts_need skopeo umoci openssl python3 jq node npm curl

MOD=$TS_BUILD_DIR/npm-sigstore-verify
if [ ! -d "$MOD/node_modules/@sigstore/verify" ]; then
	npm install --silent --no-audit --no-fund --prefix "$MOD" '@sigstore/verify@3' >"$T/npm.log" 2>&1 ||
		{ cat "$T/npm.log" >&2; ts_skip "npm could not install @sigstore/verify@3"; }
fi
VERIFY="node $TS_SOURCE_DIR/tests/interop/sigstore_verify.js $MOD"

registry_start
cd "$T"
unset TAGSEAL_KEY_PASSWORD COSIGN_PASSWORD
for k in a b; do
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $k.key 2>/dev/null
	chmod 600 $k.key
	openssl pkey -in $k.key -pubout -out $k.pub
done
openssl genpkey -algorithm ED25519 -out ed.key 2>/dev/null
chmod 600 ed.key
openssl pkey -in ed.key -pubout -out ed.pub

fixture_oci_layout "$T/lay" img 1 60
skopeo copy -q --dest-tls-verify=false "oci:$T/lay:img" "docker://$REGISTRY/interop/app:v1"
D=$(skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/interop/app:v1" | sha256sum |
	sed 's/^/sha256:/; s/ .*//')

"$TAGSEAL" sign "$REGISTRY/interop/app:v1" --key a.key --signature-format bundle >/dev/null 2>&1
"$TAGSEAL" attest "$REGISTRY/interop/app:v1" --key ed.key --signature-format bundle >/dev/null 2>&1

# bundle N: the N-th referrer's bundle, fetched from the fallback index
bundle() {
	local idx m l
	idx=$(curl -sf -H 'Accept: application/vnd.oci.image.index.v1+json' \
		"$REGISTRY_URL/v2/interop/app/manifests/sha256-${D#sha256:}")
	m=$(jq -r ".manifests[$1].digest" <<<"$idx")
	l=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		"$REGISTRY_URL/v2/interop/app/manifests/$m" | jq -r '.layers[0].digest')
	curl -sf "$REGISTRY_URL/v2/interop/app/blobs/$l"
}
bundle 0 >sign.json
bundle 1 >prov.json
jq -e '.mediaType == "application/vnd.dev.sigstore.bundle.v0.3+json" and
       .dsseEnvelope.signatures[0].keyid == ""' sign.json >/dev/null || ts_fail "bundle shape: $(cat sign.json)"

$VERIFY sign.json a.pub "$D" >v.out || { cat v.out >&2; ts_fail "@sigstore/verify rejected tagseal's signature bundle"; }
$VERIFY prov.json ed.pub "$D" >v.out || { cat v.out >&2; ts_fail "@sigstore/verify rejected tagseal's provenance bundle"; }
jq -r .dsseEnvelope.payload prov.json | base64 -d | jq -e '.predicateType == "https://slsa.dev/provenance/v1"' >/dev/null ||
	ts_fail "provenance bundle's predicate type"

# the independent verifier can fail: another key, a changed statement
$VERIFY sign.json b.pub >v.out && ts_fail "@sigstore/verify accepted another key"
jq '.dsseEnvelope.payload |= (@base64d | fromjson | .predicate = {"x":1} | tojson | @base64)' sign.json >bad.json
$VERIFY bad.json a.pub >v.out && ts_fail "@sigstore/verify accepted a changed statement"
grep -q 'not verified' v.out || ts_fail "unexpected output: $(cat v.out)"
echo PASS
