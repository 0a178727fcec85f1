#!/usr/bin/env bash
# test_sign_push.sh - push --sign-key [--attest] against a real
# docker-registry, in each PEM key format (keygen's, PKCS#8, SEC1, RSA,
# Ed25519, encrypted PKCS#8), checked with verify IMAGE --key; the
# metadata file and the record name the signature and attestation
# manifests; an unusable key is exit 2 with nothing pushed; signed record
# lines: verify --record --key passes, and fails (exit 5) for a line edited
# and re-chained without the key, a line appended without "sig" and a
# recorded digest whose signature was removed; lint --key passes for signed
# pinned references, fails for an unsigned one (5) and for an unreachable
# registry (4); flag/environment credentials reach a registry only through
# lint --registry-for-credentials; no key or password in any output.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
TAGSEAL=$(realpath "$TAGSEAL") # the test changes directory
. "$TS_LIB_DIR/fixtures.sh"
ts_need skopeo umoci openssl python3 jq

registry_start
cd "$T"
unset TAGSEAL_KEY_PASSWORD COSIGN_PASSWORD
ALL=$T/all-output # every stdout and stderr, checked for secrets at the end
: >"$ALL"
t() {
	local rc=0
	run_ts "$@" || rc=$?
	cat "$T/out" "$T/err" >>"$ALL"
	return $rc
}
last_line() { tail -n 1 "$T/out"; }
raw() { skopeo inspect --tls-verify=false --raw "docker://$1"; }
mdigest() { raw "$1" | sha256sum | sed 's/^/sha256:/; s/ .*//'; }

# --- keys ---
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out p256.key 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out sec1.key 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key 2>/dev/null
openssl genpkey -algorithm ED25519 -out ed.key 2>/dev/null
PASS='push-pass-5d1a-not-for-output'
openssl pkcs8 -topk8 -in p256.key -v2 aes-256-cbc -passout "pass:$PASS" -out enc.key
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out stranger.key 2>/dev/null
for k in p256 sec1 rsa ed stranger; do openssl pkey -in $k.key -pubout -out $k.pub; done
cp p256.pub enc.pub
chmod 600 ./*.key
t 0 keygen gen
KEYTEXT=$(sed -n 2p p256.key) # a line of key material, never to be printed

# --- every key format: push --sign-key --attest, verify with the key ---
seed=10
for k in gen p256 sec1 rsa ed enc; do
	seed=$((seed + 1))
	fixture_oci_archive "img-$k.tar" latest 1 $seed
	[ $k = enc ] && export TAGSEAL_KEY_PASSWORD=$PASS
	t 0 push "img-$k.tar" --repo "$REGISTRY/sp/$k" --tag v1 --sign-key $k.key --attest \
		--metadata-file "meta-$k.json" --record "rec-$k.jsonl"
	unset TAGSEAL_KEY_PASSWORD
	D=$(last_line | sed 's/.*@//')
	assert_contains "$T/err" "signed $D"
	t 0 verify "$REGISTRY/sp/$k:v1" --key $k.pub --require signature --require provenance
	assert_eq "$(last_line)" "$REGISTRY/sp/$k@$D" "verify after push --sign-key ($k)"
	t 5 verify "$REGISTRY/sp/$k:v1" --key stranger.pub
	# the metadata names the artifacts: the .sig/.att manifests as they are now,
	# the bundles as entries of the referrers fallback index
	m=meta-$k.json
	assert_eq "$(jq -r '.signatures | length' $m)" 1 "$k: one signature"
	assert_eq "$(jq -r '.signatures[0].digest' $m)" "$D" "$k: signature subject"
	assert_eq "$(jq -r '.signatures[0].classic' $m)" "$(mdigest "$REGISTRY/sp/$k:sha256-${D#sha256:}.sig")" "$k: .sig manifest"
	assert_eq "$(jq -r '.attestations[0].classic' $m)" "$(mdigest "$REGISTRY/sp/$k:sha256-${D#sha256:}.att")" "$k: .att manifest"
	assert_eq "$(jq -r '.attestations[0].predicateType' $m)" https://slsa.dev/provenance/v1 "$k: predicate type"
	raw "$REGISTRY/sp/$k:sha256-${D#sha256:}" >fallback.json
	for b in "$(jq -r '.signatures[0].bundle' $m)" "$(jq -r '.attestations[0].bundle' $m)"; do
		jq -e --arg b "$b" '[.manifests[].digest] | index($b)' fallback.json >/dev/null ||
			ts_fail "$k: bundle $b is not in the referrers fallback index"
	done
	# the record line carries the same, and its own signature as the last member
	jq -e --slurpfile m $m '.signatures == $m[0].signatures and .attestations == $m[0].attestations' \
		"rec-$k.jsonl" >/dev/null || ts_fail "$k: record and metadata disagree on the artifacts"
	grep -q ',"sig":"[A-Za-z0-9+/=]*"}$' "rec-$k.jsonl" || ts_fail "$k: record line has no sig as its last member"
	t 0 verify --record "rec-$k.jsonl" --key $k.pub
done

# a same-content re-run signs again (one more signature; both verify)
t 0 push img-p256.tar --repo "$REGISTRY/sp/p256" --tag v1 --sign-key p256.key \
	--signature-format classic --record rec-p256.jsonl --metadata-file meta-rerun.json
D=$(last_line | sed 's/.*@//')
assert_eq "$(raw "$REGISTRY/sp/p256:sha256-${D#sha256:}.sig" | jq '.layers | length')" 2 "re-run adds a signature"
assert_eq "$(jq -r '.signatures[0].bundle' meta-rerun.json)" null "classic only: no bundle"
assert_eq "$(jq -r '.attestations | length' meta-rerun.json)" 0 "no --attest: no attestation"
t 0 verify --record rec-p256.jsonl --key p256.pub

# --sign-recursive: an index and each manifest it lists
fixture_index_layout lay-index img 30
fixture_tar lay-index index.tar
t 0 push index.tar --repo "$REGISTRY/sp/index" --tag v1 --sign-key p256.key --sign-recursive \
	--metadata-file meta-index.json
assert_eq "$(jq -r '.signatures | length' meta-index.json)" 3 "index and its two manifests signed"
for d in $(jq -r '.signatures[].digest' meta-index.json); do
	t 0 verify "$REGISTRY/sp/index@$d" --key p256.pub
done

# --predicate
echo '{"spdxVersion":"SPDX-2.3","name":"app"}' >sbom.json
fixture_oci_archive img-pred.tar latest 1 40
t 0 push img-pred.tar --repo "$REGISTRY/sp/pred" --tag v1 --sign-key p256.key \
	--predicate sbom.json --predicate-type https://spdx.dev/Document --signature-format bundle \
	--metadata-file meta-pred.json
t 0 verify "$REGISTRY/sp/pred:v1" --key p256.pub --require https://spdx.dev/Document
assert_eq "$(jq -r '.attestations[0].predicateType' meta-pred.json)" https://spdx.dev/Document "predicate type in metadata"
assert_eq "$(jq -r '.attestations[0].classic' meta-pred.json)" null "bundle only: no .att"

# --- an unusable key is exit 2 before anything is pushed ---
fixture_oci_archive img-bad.tar latest 1 50
cp p256.key loose.key
chmod 644 loose.key
t 2 push img-bad.tar --repo "$REGISTRY/sp/bad" --tag v1 --sign-key loose.key
assert_contains "$T/err" loose.key
export TAGSEAL_KEY_PASSWORD=wrong-password-3e1f
t 2 push img-bad.tar --repo "$REGISTRY/sp/bad" --tag v1 --sign-key enc.key
unset TAGSEAL_KEY_PASSWORD
assert_contains "$T/err" enc.key
echo 'not json' >bad-pred.json
t 2 push img-bad.tar --repo "$REGISTRY/sp/bad" --tag v1 --sign-key p256.key \
	--predicate bad-pred.json --predicate-type https://example.com/p
t 2 push img-bad.tar --repo "$REGISTRY/sp/bad" --tag v1 --attest
if skopeo list-tags --tls-verify=false "docker://$REGISTRY/sp/bad" >tags.json 2>/dev/null; then
	assert_eq "$(jq '.Tags | length' tags.json)" 0 "an unusable key pushed something"
fi
REPOS=$REGISTRY_DIR/data/docker/registry/v2/repositories
[ -d "$REPOS/sp/p256" ] || ts_fail "registry storage is not where the test looks ($REPOS)"
[ ! -d "$REPOS/sp/bad" ] || ts_fail "an unusable key left sp/bad in the registry"

# --- verify --record --key ---
R=chain.jsonl
fixture_oci_archive img-c1.tar latest 1 61
fixture_oci_archive img-c2.tar latest 1 62
t 0 push img-c1.tar --repo "$REGISTRY/sp/chain" --tag c1 --sign-key p256.key --record $R
t 0 push img-c2.tar --repo "$REGISTRY/sp/chain" --tag c2 --sign-key p256.key --record $R
t 0 verify --record $R --key p256.pub --require signature
t 0 verify --record $R # without --key: as before
t 5 verify --record $R --key rsa.pub
assert_contains "$T/out" "$R:1: "
# rechain FILE: recompute every "prev" after an edit (what anyone can do)
rechain() {
	python3 - "$1" <<-'EOF'
	import hashlib, json, sys
	lines = open(sys.argv[1], 'rb').read().split(b'\n')[:-1]
	out, prev = [], None
	for l in lines:
	    o = json.loads(l)
	    if out:
	        o['prev'] = prev
	        l = json.dumps(o, separators=(',', ':')).encode()
	    out.append(l)
	    prev = 'sha256:' + hashlib.sha256(l).hexdigest()
	open(sys.argv[1], 'wb').write(b'\n'.join(out) + b'\n')
	EOF
}
# line 1 edited (its size), the chain recomputed: intact without the key
python3 - $R edited.jsonl <<-'EOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
o = json.loads(lines[0]); o['size'] = o['size'] + 1
lines[0] = json.dumps(o, separators=(',', ':'))
open(sys.argv[2], 'w').write('\n'.join(lines) + '\n')
EOF
rechain edited.jsonl
t 0 verify --record edited.jsonl
t 5 verify --record edited.jsonl --key p256.pub
assert_contains "$T/out" 'edited.jsonl:1: its "sig" is not a valid signature'
# a line appended, correctly chained, without "sig"
cp $R appended.jsonl
tail -n 1 $R | python3 -c '
import hashlib, json, sys
l = sys.stdin.read().rstrip("\n"); o = json.loads(l); del o["sig"]
o["prev"] = "sha256:" + hashlib.sha256(l.encode()).hexdigest()
print(json.dumps(o, separators=(",", ":")))' >>appended.jsonl
t 0 verify --record appended.jsonl
t 5 verify --record appended.jsonl --key p256.pub
assert_contains "$T/out" 'appended.jsonl:3: has no "sig"'
# a recorded digest whose signatures were removed from the registry
fixture_oci_archive img-c3.tar latest 1 63
t 0 push img-c3.tar --repo "$REGISTRY/sp/chain" --tag c3 --sign-key p256.key --record $R
D3=$(last_line | sed 's/.*@//')
t 0 verify --record $R --key p256.pub
skopeo delete --tls-verify=false "docker://$REGISTRY/sp/chain:sha256-${D3#sha256:}.sig"
skopeo delete --tls-verify=false "docker://$REGISTRY/sp/chain:sha256-${D3#sha256:}"
t 0 verify --record $R
t 5 verify --record $R --key p256.pub
assert_contains "$T/out" "$R:3: "
assert_contains "$T/out" "sp/chain@$D3"
# --json names the new kinds
t 5 verify --record appended.jsonl --key p256.pub --json
jq -e '.findings[0].kind == "line-signature"' "$T/out" >/dev/null || ts_fail "verify --json: kind"

# --- lint --key ---
mkdir -p k8s
DS=$(jq -r .digest meta-p256.json)
DU=$(skopeo copy -q --dest-tls-verify=false "oci-archive:img-bad.tar:latest" \
	"docker://$REGISTRY/sp/unsigned:u1" && mdigest "$REGISTRY/sp/unsigned:u1")
cat >k8s/ok.yaml <<EOF
apiVersion: v1
kind: Pod
metadata: {name: ok}
spec:
  containers:
  - name: a
    image: $REGISTRY/sp/p256:v1@$DS
  - name: b
    image: $REGISTRY/sp/p256@$DS
EOF
t 0 lint k8s --key p256.pub
t 0 lint k8s --key p256.pub --require signature --require provenance
t 5 lint k8s --key rsa.pub
cat >k8s/bad.yaml <<EOF
apiVersion: v1
kind: Pod
metadata: {name: bad}
spec:
  containers:
  - name: c
    image: $REGISTRY/sp/unsigned:u1@$DU
EOF
t 5 lint k8s --key p256.pub
assert_contains "$T/out" "k8s/bad.yaml:7: $REGISTRY/sp/unsigned:u1@$DU: "
assert_not_contains "$T/out" "ok.yaml"
t 0 lint k8s # without --key: as before
PORT=$(ts_free_port)
cat >k8s/bad.yaml <<EOF
apiVersion: v1
kind: Pod
metadata: {name: gone}
spec:
  containers:
  - name: c
    image: 127.0.0.1:$PORT/sp/x@$DU
EOF
t 4 lint k8s --key p256.pub --retries 0
assert_contains "$T/out" "k8s/bad.yaml:7: "
assert_contains "$T/out" "could not be checked"

# flag/environment credentials go only to --registry-for-credentials
registry_htpasswd "$T/htpasswd" lint-bot 'lint-Pw-0c7e'
registry_start --name AUTHREG --htpasswd "$T/htpasswd"
printf '%s' 'lint-Pw-0c7e' | "$TAGSEAL" push img-c1.tar --repo "$AUTHREG/sp/priv" --tag p1 \
	--sign-key p256.key --username lint-bot --password-stdin >"$T/out" 2>"$T/err" ||
	{ cat "$T/err" >&2; ts_fail "push to the registry with a password"; }
DP=$(last_line | sed 's/.*@//')
rm -f k8s/bad.yaml
printf 'services:\n  a:\n    image: %s/sp/priv@%s\n' "$AUTHREG" "$DP" >k8s/priv.yaml
export TAGSEAL_USERNAME=lint-bot TAGSEAL_PASSWORD='lint-Pw-0c7e'
t 4 lint k8s --key p256.pub --retries 0
assert_contains "$T/err" "credentials are not used"
assert_contains "$T/out" "k8s/priv.yaml:3: "
t 0 lint k8s --key p256.pub --registry-for-credentials "$AUTHREG"
t 4 lint k8s --key p256.pub --registry-for-credentials "$REGISTRY" --retries 0
unset TAGSEAL_USERNAME TAGSEAL_PASSWORD
assert_not_contains "$ALL" 'lint-Pw-0c7e'

# --- nothing secret in any output ---
assert_not_contains "$ALL" "$PASS"
assert_not_contains "$ALL" "$KEYTEXT"
assert_not_contains "$ALL" "wrong-password-3e1f"
echo "test_sign_push: ok"
