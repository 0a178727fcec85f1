#!/usr/bin/env bash
# test_sign.sh - tagseal keygen, sign, attest and verify IMAGE against a real
# docker-registry (which has no referrers API, so bundles go through the
# sha256-<hex> fallback tag): every key format signs and verifies; wrong
# keys, tampered payloads, signatures moved to other digests, swapped blobs
# and missing annotations are each rejected (exit 5); unusable keys are exit
# 2 before anything is pushed; sign --recursive signs an index's manifests;
# no key or password appears in any output.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
TAGSEAL=$(realpath "$TAGSEAL") # the test changes directory
. "$TS_LIB_DIR/fixtures.sh"
ts_need skopeo umoci openssl python3 jq

registry_start
cd "$T"
TAMPER="python3 $TS_LIB_DIR/sigtamper.py $REGISTRY_URL"
export TAGSEAL_KEY_PASSWORD=
unset TAGSEAL_KEY_PASSWORD COSIGN_PASSWORD
ALL=$T/all-output # every stdout and stderr, checked for secrets at the end
: >"$ALL"

# push_img NAME SEED: an image at $REGISTRY/sign/NAME:v1; echoes its digest.
push_img() {
	fixture_oci_layout "$T/lay-$1" img 1 "$2"
	skopeo copy -q --dest-tls-verify=false "oci:$T/lay-$1:img" "docker://$REGISTRY/sign/$1:v1"
	skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/sign/$1:v1" |
		sha256sum | sed 's/^/sha256:/; s/ .*//'
}
# t EXPECTED ARGS...: run_ts, keeping the output for the secrets check.
t() {
	local rc=0
	run_ts "$@" || rc=$?
	cat "$T/out" "$T/err" >>"$ALL"
	return $rc
}
last_line() { tail -n 1 "$T/out"; }

# --- keygen ---
t 0 keygen gen
assert_eq "$(last_line)" gen.pub "keygen prints the public key path"
assert_eq "$(stat -c %a gen.key)" 600 "private key mode"
grep -q 'BEGIN PRIVATE KEY' gen.key || ts_fail "keygen: not PKCS#8"
t 2 keygen gen
assert_contains "$T/err" "gen.key"
export TAGSEAL_KEY_PASSWORD='pw-7f3c1e-not-for-output'
t 0 keygen genenc
grep -q 'BEGIN ENCRYPTED PRIVATE KEY' genenc.key || ts_fail "keygen: not encrypted"
unset TAGSEAL_KEY_PASSWORD

# --- every key format signs (both formats) and verifies ---
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out p256.key 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out sec1.key 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key 2>/dev/null
openssl genpkey -algorithm ED25519 -out ed.key 2>/dev/null
PASS='enc-pass-91be4d-not-for-output'
openssl pkcs8 -topk8 -in p256.key -v2 aes-256-cbc -passout "pass:$PASS" -out enc.key
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa1024.key 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out p384.key 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out stranger.key 2>/dev/null
for k in p256 sec1 rsa ed rsa1024 p384 stranger; do openssl pkey -in $k.key -pubout -out $k.pub; done
cp p256.pub enc.pub
cp gen.pub genenc.pub.copy
chmod 600 ./*.key

D=$(push_img formats 11)
for k in gen p256 sec1 rsa ed enc genenc; do
	case $k in enc) export TAGSEAL_KEY_PASSWORD=$PASS ;;
	genenc) export TAGSEAL_KEY_PASSWORD='pw-7f3c1e-not-for-output' ;;
	*) unset TAGSEAL_KEY_PASSWORD ;; esac
	t 0 sign "$REGISTRY/sign/formats:v1" --key $k.key
	assert_eq "$(last_line)" "$REGISTRY/sign/formats@$D" "sign $k: last line"
	unset TAGSEAL_KEY_PASSWORD
	pub=$k.pub
	[ $k = genenc ] && pub=genenc.pub
	t 0 verify "$REGISTRY/sign/formats:v1" --key $pub
	assert_eq "$(last_line)" "$REGISTRY/sign/formats@$D" "verify $k: last line"
done
# every signature is kept: 7 layers in .sig, 7 referrers in the fallback index
n=$(skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/sign/formats:sha256-${D#sha256:}.sig" | jq '.layers | length')
assert_eq "$n" 7 ".sig layers after 7 signers"
n=$(skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/sign/formats:sha256-${D#sha256:}" | jq '.manifests | length')
assert_eq "$n" 7 "fallback index entries after 7 signers"
# the digest form verifies too; a key that signed nothing does not
t 0 verify "$REGISTRY/sign/formats@$D" --key rsa.pub
t 5 verify "$REGISTRY/sign/formats:v1" --key stranger.pub
assert_contains "$T/err" "does not verify with this key"

# --- an index, --recursive: the index and each platform manifest signed ---
fixture_index_layout "$T/lay-index" img 30
skopeo copy -q --all --dest-tls-verify=false "oci:$T/lay-index:img" "docker://$REGISTRY/sign/index:v1"
t 0 sign "$REGISTRY/sign/index:v1" --key p256.key --recursive
t 0 verify "$REGISTRY/sign/index:v1" --key p256.pub
for child in $(skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/sign/index:v1" | jq -r '.manifests[].digest'); do
	t 0 verify "$REGISTRY/sign/index@$child" --key p256.pub
done
t 0 sign "$REGISTRY/sign/index:v1" --key sec1.key
t 5 verify "$REGISTRY/sign/index@$child" --key sec1.pub

# --- keys that cannot be used: exit 2, one line naming the file, nothing pushed ---
D2=$(push_img unusable 12)
t 2 sign "$REGISTRY/sign/unusable:v1" --key rsa1024.key
assert_contains "$T/err" "rsa1024.key"
t 2 sign "$REGISTRY/sign/unusable:v1" --key p384.key
assert_contains "$T/err" "p384.key"
t 2 sign "$REGISTRY/sign/unusable:v1" --key enc.key
assert_contains "$T/err" "TAGSEAL_KEY_PASSWORD"
TAGSEAL_KEY_PASSWORD=wrong t 2 sign "$REGISTRY/sign/unusable:v1" --key enc.key
assert_contains "$T/err" "wrong password"
assert_one_line "$T/err"
chmod 644 p256.key
t 2 sign "$REGISTRY/sign/unusable:v1" --key p256.key
assert_contains "$T/err" "accessible by group or others"
chmod 600 p256.key
t 2 sign "$REGISTRY/sign/unusable:v1" --key p256.pub
t 2 verify "$REGISTRY/sign/unusable:v1" --key p256.key
t 2 sign "$REGISTRY/sign/unusable:v1"
t 2 sign "$REGISTRY/sign/unusable:v1" --key p256.key --signature-format pgp
skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/sign/unusable:sha256-${D2#sha256:}.sig" \
	>/dev/null 2>&1 && ts_fail "an unusable key pushed a signature"
t 5 verify "$REGISTRY/sign/unusable:v1" --key p256.pub
assert_contains "$T/err" "found 0 attachment"

# --- attest: SLSA provenance (default) and a predicate from a file ---
D3=$(push_img attest 13)
t 5 verify "$REGISTRY/sign/attest:v1" --key p256.pub --require provenance
t 0 attest "$REGISTRY/sign/attest:v1" --key p256.key
echo '{"spdxVersion":"SPDX-2.3"}' >sbom.json
t 0 attest "$REGISTRY/sign/attest:v1" --key p256.key --predicate sbom.json \
	--predicate-type https://spdx.dev/Document --signature-format classic
t 0 verify "$REGISTRY/sign/attest:v1" --key p256.pub --require provenance --require https://spdx.dev/Document
# attestations alone are not an image signature
t 5 verify "$REGISTRY/sign/attest:v1" --key p256.pub
assert_contains "$T/err" "no valid signature"
t 0 sign "$REGISTRY/sign/attest:v1" --key p256.key
t 0 verify "$REGISTRY/sign/attest:v1" --key p256.pub --require signature --require provenance
# the .att layer as cosign needs it: empty signature annotation, predicateType
skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/sign/attest:sha256-${D3#sha256:}.att" >att.json
jq -e '.layers[0].annotations["dev.cosignproject.cosign/signature"] == "" and
       .layers[0].mediaType == "application/vnd.dsse.envelope.v1+json" and
       (.layers | map(.annotations.predicateType) | sort) ==
         ["https://slsa.dev/provenance/v1", "https://spdx.dev/Document"]' att.json >/dev/null ||
	ts_fail ".att manifest: $(cat att.json)"

# --- tampering: each on its own image, signed with one format ---
# (a) a changed payload with the original signature
Da=$(push_img tamper-a 21)
t 0 sign "$REGISTRY/sign/tamper-a:v1" --key p256.key --signature-format classic
$TAMPER sign/tamper-a payload "$Da" sig
t 5 verify "$REGISTRY/sign/tamper-a:v1" --key p256.pub
assert_contains "$T/err" "does not verify"
Da2=$(push_img tamper-a2 22)
t 0 attest "$REGISTRY/sign/tamper-a2:v1" --key p256.key --signature-format classic
$TAMPER sign/tamper-a2 payload "$Da2" att
t 5 verify "$REGISTRY/sign/tamper-a2:v1" --key p256.pub --require provenance
Da3=$(push_img tamper-a3 23)
t 0 sign "$REGISTRY/sign/tamper-a3:v1" --key p256.key --signature-format bundle
$TAMPER sign/tamper-a3 bundle-payload "$Da3"
t 5 verify "$REGISTRY/sign/tamper-a3:v1" --key p256.pub
assert_contains "$T/err" "no DSSE signature verifies"
# (b) valid signatures of another image moved to this one
Db=$(push_img tamper-b 24)
t 0 sign "$REGISTRY/sign/tamper-a3:v1" --key p256.key --signature-format classic
skopeo copy -q --src-tls-verify=false --dest-tls-verify=false \
	"docker://$REGISTRY/sign/tamper-a3:v1" "docker://$REGISTRY/sign/tamper-b:other"
skopeo copy -q --src-tls-verify=false --dest-tls-verify=false \
	"docker://$REGISTRY/sign/tamper-a3:sha256-${Da3#sha256:}.sig" \
	"docker://$REGISTRY/sign/tamper-b:sha256-${Db#sha256:}.sig"
t 5 verify "$REGISTRY/sign/tamper-b:v1" --key p256.pub
assert_contains "$T/err" "names another digest"
t 0 sign "$REGISTRY/sign/tamper-b:other" --key p256.key --signature-format bundle
$TAMPER sign/tamper-b move-referrers "$Da3" "$Db"
t 5 verify "$REGISTRY/sign/tamper-b:v1" --key p256.pub
assert_contains "$T/err" "subject is another digest"
# (c) a layer pointed at another blob (the payload of another signature)
Dc=$(push_img tamper-c 26)
t 0 sign "$REGISTRY/sign/tamper-c:v1" --key p256.key --signature-format classic
Dc2=$(push_img tamper-c 27) # a second image in the same repository, tag v1 moved
skopeo copy -q --src-tls-verify=false --dest-tls-verify=false \
	"docker://$REGISTRY/sign/tamper-c@$Dc" "docker://$REGISTRY/sign/tamper-c:first"
t 0 sign "$REGISTRY/sign/tamper-c:v1" --key p256.key --signature-format classic
other_blob=$(skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/sign/tamper-c:sha256-${Dc2#sha256:}.sig" | jq -r '.layers[0].digest')
$TAMPER sign/tamper-c swap "$Dc" sig "$other_blob"
t 5 verify "$REGISTRY/sign/tamper-c:first" --key p256.pub
t 0 verify "$REGISTRY/sign/tamper-c:v1" --key p256.pub
# (d) missing signature annotations (.sig and .att)
Dd=$(push_img tamper-d 28)
t 0 sign "$REGISTRY/sign/tamper-d:v1" --key p256.key --signature-format classic
t 0 attest "$REGISTRY/sign/tamper-d:v1" --key p256.key --signature-format classic
$TAMPER sign/tamper-d drop-annotation "$Dd" sig
$TAMPER sign/tamper-d drop-annotation "$Dd" att
t 5 verify "$REGISTRY/sign/tamper-d:v1" --key p256.pub
assert_contains "$T/err" "no dev.cosignproject.cosign/signature annotation"
t 5 verify "$REGISTRY/sign/tamper-d:v1" --key p256.pub --require provenance
assert_contains "$T/err" "cosign rejects it"

# (e) control characters from the registry never reach the terminal
$TAMPER sign/tamper-d annotate "$Dd" att predicateType '"https://evil/\u001b]0;owned\u0007\u001b[31m"'
t 5 verify "$REGISTRY/sign/tamper-d:v1" --key p256.pub --require provenance
grep -q $'\x1b' "$T/err" && ts_fail "a control character from the registry reached stderr"
assert_contains "$T/err" "https://evil/?]0;owned??[31m"

# --- no key or password in any output ---
for secret in "$PASS" pw-7f3c1e-not-for-output; do
	grep -qF -- "$secret" "$ALL" && ts_fail "a password appears in the output"
done
for k in gen p256 sec1 rsa ed enc; do
	sed -n '2p' $k.key | cut -c1-40 >needle
	grep -qF -f needle "$ALL" && ts_fail "private key $k.key appears in the output"
done
echo "PASS"
