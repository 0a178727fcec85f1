#!/usr/bin/env bash
# test_push_bad_input.sh - every kind of bad input to `tagseal push` ends with
# the contract's exit code, one stderr line naming the thing at fault, and no
# tag in the registry.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/fixtures.sh"
. "$TS_LIB_DIR/faultproxy.sh"
ts_need skopeo umoci jq python3

registry_start

# refused CODE NAME TEXT IMAGE ARGS...: push exits CODE with one stderr line
# containing TEXT, and the repository has no tag afterwards.
refused() {
	local code=$1 name=$2 text=$3 image=$4
	shift 4
	run_ts "$code" push "$image" --repo "$REGISTRY/bad/$name" --tag t1 "$@"
	assert_one_line "$T/err"
	assert_contains "$T/err" "$text"
	if skopeo list-tags --tls-verify=false "docker://$REGISTRY/bad/$name" >"$T/tags" 2>/dev/null; then
		assert_eq "$(jq -c '.Tags // []' "$T/tags")" "[]" "$name: no tag after a failed push"
	fi
}

fixture_docker_archive "$T/good.tar" app:v1 2 1

# missing file, not a tarball, a directory that is not a layout
refused 2 missing "$T/nope.tar" "$T/nope.tar"
echo "just text" >"$T/text.tar"
refused 2 text "$T/text.tar" "$T/text.tar"
mkdir -p "$T/emptydir"
refused 2 emptydir "$T/emptydir" "$T/emptydir"

# truncated tarball
size=$(stat -c %s "$T/good.tar")
head -c $((size / 2)) "$T/good.tar" >"$T/truncated.tar"
refused 2 truncated "truncated" "$T/truncated.tar"

# manifest.json that lies: a layer that is not in the tarball
mkdir -p "$T/lie" && tar -xf "$T/good.tar" -C "$T/lie"
jq '.[0].Layers[0] = "no/such/layer.tar"' "$T/lie/manifest.json" >"$T/m" && mv "$T/m" "$T/lie/manifest.json"
fixture_tar "$T/lie" "$T/lie.tar"
refused 2 lie-missing "no/such/layer.tar" "$T/lie.tar"

# manifest.json that lies: fewer layers than the config's diff_ids
tar -xf "$T/good.tar" -C "$T/lie" manifest.json
jq '.[0].Layers |= .[:1]' "$T/lie/manifest.json" >"$T/m" && mv "$T/m" "$T/lie/manifest.json"
fixture_tar "$T/lie" "$T/lie2.tar"
refused 2 lie-count "diff_ids" "$T/lie2.tar"

# manifest.json that lies: layers swapped, so contents do not match diff_ids
tar -xf "$T/good.tar" -C "$T/lie" manifest.json
jq '.[0].Layers |= reverse' "$T/lie/manifest.json" >"$T/m" && mv "$T/m" "$T/lie/manifest.json"
fixture_tar "$T/lie" "$T/lie3.tar"
refused 2 lie-order "diff_id" "$T/lie3.tar"

# null manifest.json
mkdir -p "$T/null" && echo null >"$T/null/manifest.json"
fixture_tar "$T/null" "$T/null.tar"
refused 2 null "manifest.json is null" "$T/null.tar"

# an OCI layout whose layer blob does not match its digest (same size)
fixture_oci_layout "$T/corrupt" v1 1 3
man=$(jq -r '.manifests[0].digest' "$T/corrupt/index.json")
layer=$(jq -r '.layers[0].digest' "$T/corrupt/blobs/sha256/${man#sha256:}")
f=$T/corrupt/blobs/sha256/${layer#sha256:}
python3 - "$f" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[len(b) // 2] ^= 0xff
open(p, 'wb').write(bytes(b))
EOF
refused 2 corrupt "$layer" "$T/corrupt"
# the same through a registry that reports the mismatch with another code:
# the layer goes up in the PUT that commits it, and whatever the registry
# says, our own hash of what was sent names the bytes as the fault
faultproxy_start --name D "$REGISTRY_URL" --quirks digest-invalid-as=BLOB_UPLOAD_INVALID
run_ts 2 push "$T/corrupt" --repo "$D/bad/corrupt-other-code" --tag t1
assert_one_line "$T/err"
assert_contains "$T/err" "$layer: its bytes have digest"
assert_eq "$(faultproxy_count D 'PUT .*/blobs/uploads/.* -> 400')" 1 "the registry refused the commit once"
faultproxy_stop D

# an OCI layout whose manifest blob does not match its digest
fixture_oci_layout "$T/corrupt2" v1 1 4
man=$(jq -r '.manifests[0].digest' "$T/corrupt2/index.json")
sed -i 's/"schemaVersion":2/"schemaVersion": 2/' "$T/corrupt2/blobs/sha256/${man#sha256:}"
refused 2 corrupt-manifest "$man" "$T/corrupt2"

# invalid tag and repository names
refused 2 badtag "-bad" "$T/good.tar" --tag=-bad
run_ts 2 push "$T/good.tar" --repo "$REGISTRY/Bad/Name" --tag t1
assert_one_line "$T/err"
assert_contains "$T/err" "--repo"
run_ts 2 push "$T/good.tar" --repo "$REGISTRY/ok/name:tag" --tag t1
assert_contains "$T/err" "--repo"
run_ts 2 push "$T/good.tar" --repo "$REGISTRY/ok/name" --tag 'a+b'
assert_contains "$T/err" "a+b"

# the go-containerregistry broken tarballs
if [ -d "$TS_SOURCE_DIR/../shared/fixtures/ggcr" ]; then
	G=$TS_SOURCE_DIR/../shared/fixtures/ggcr
	refused 2 ggcr-null "manifest.json is null" "$G/null_manifest.tar"
	refused 2 ggcr-nomanifest "neither manifest.json" "$G/no_manifest.tar"
else
	ts_skip_part "../shared absent, broken go-containerregistry tarballs not tried"
fi

# a registry that is not there: exit 4 naming the host
port=$(ts_free_port)
run_ts 4 push "$T/good.tar" --repo "127.0.0.1:$port/x/y" --tag t1 --retries 0
assert_one_line "$T/err"
assert_contains "$T/err" "127.0.0.1:$port"
echo "test_push_bad_input: every bad input refused cleanly"
