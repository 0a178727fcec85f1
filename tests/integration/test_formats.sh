#!/usr/bin/env bash
# test_formats.sh - what push writes is truthful about its format: layers
# labelled compressed whose bytes are an uncompressed tar (podman save
# --uncompressed writes them) are compressed and labelled as what they are,
# with a note; a label that names another compression than the bytes is
# exit 2 naming the layer; --format docker says which annotations it drops
# and writes no OCI-only field into Docker manifests or lists.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/fixtures.sh"
ts_need skopeo umoci jq gzip zstd

registry_start
PULL=(--src-tls-verify=false)

# raw REF: the manifest bytes skopeo reads for REF
raw() { skopeo inspect --raw --tls-verify=false "docker://$1"; }

# --- uncompressed bytes labelled +gzip ---
fixture_oci_layout "$T/mis" v1 2 51
fixture_uncompress_layout "$T/mis" v1 application/vnd.oci.image.layer.v1.tar+gzip
run_ts 0 push "$T/mis" --repo "$REGISTRY/fmt/mis" --tag t1
assert_contains "$T/err" "holds an uncompressed tar: it is compressed and labelled as what it is"
# skopeo pulls it back and checks every layer against its diff_id (which
# decompresses each one as its label says)
registry_pull_verify "$REGISTRY/fmt/mis:t1" "$T/pull-mis" "${PULL[@]}" >/dev/null
raw "$REGISTRY/fmt/mis:t1" >"$T/mis.json"
for d in $(jq -r '.layers[].digest' "$T/mis.json"); do
	curl -sfL -o "$T/blob" "http://$REGISTRY/v2/fmt/mis/blobs/$d" || ts_fail "cannot read blob $d"
	[ "$(head -c 2 "$T/blob" | od -An -tx1 | tr -d ' ')" = 1f8b ] ||
		ts_fail "layer $d is labelled gzip but is not"
done
echo "ok: uncompressed layers labelled +gzip are compressed"

# --- gzip bytes labelled +zstd: refused, naming the layer ---
fixture_oci_layout "$T/wrong" v1 1 52
m=$(_fixture_manifest_digest "$T/wrong" v1)
jq -c '.layers[0].mediaType = "application/vnd.oci.image.layer.v1.tar+zstd"' \
	"$T/wrong/blobs/sha256/${m#sha256:}" >"$T/wrong.man"
new=$(_fixture_blob "$T/wrong" "$T/wrong.man")
_fixture_retag "$T/wrong" v1 "$new" application/vnd.oci.image.manifest.v1+json
run_ts 2 push "$T/wrong" --repo "$REGISTRY/fmt/wrong" --tag t1
assert_one_line "$T/err"
assert_contains "$T/err" "is labelled application/vnd.oci.image.layer.v1.tar+zstd but its bytes are gzip"
echo "ok: a label naming another compression is refused"

# --- --format docker: annotations dropped with a note, no OCI-only fields ---
fixture_index_layout "$T/idx" v1 53
i=$(_fixture_manifest_digest "$T/idx" v1)
idx=$T/idx/blobs/sha256/${i#sha256:}
c=$(jq -r '.manifests[0].digest' "$idx")
jq -c '.layers[0].annotations = {"org.example.layer": "x"}
	| .annotations = {"org.opencontainers.image.source": "https://example.com/app"}' \
	"$T/idx/blobs/sha256/${c#sha256:}" >"$T/child.man"
c2=$(_fixture_blob "$T/idx" "$T/child.man")
jq -c --arg o "$c" --arg n "$c2" --argjson s "$(stat -c %s "$T/idx/blobs/sha256/${c2#sha256:}")" '
	.annotations = {"org.opencontainers.image.created": "2026-01-01T00:00:00Z"}
	| .manifests |= map(if .digest == $o then .digest = $n | .size = $s
	                    | .annotations = {"org.example.entry": "y"} else . end)' "$idx" >"$T/idx.man"
i2=$(_fixture_blob "$T/idx" "$T/idx.man")
_fixture_retag "$T/idx" v1 "$i2" application/vnd.oci.image.index.v1+json
run_ts 0 push "$T/idx" --repo "$REGISTRY/fmt/docker" --tag t1 --format docker
for k in org.opencontainers.image.source org.example.layer org.opencontainers.image.created \
	org.example.entry; do
	assert_contains "$T/err" "dropped $k"
done
raw "$REGISTRY/fmt/docker:t1" >"$T/list.json"
assert_eq "$(jq -r .mediaType "$T/list.json")" application/vnd.docker.distribution.manifest.list.v2+json \
	"--format docker: a manifest list"
jq -e '[.. | objects | (has("annotations") or has("artifactType") or has("subject"))] | any | not' \
	"$T/list.json" >/dev/null || ts_fail "OCI-only fields in the Docker list: $(cat "$T/list.json")"
for d in $(jq -r '.manifests[].digest' "$T/list.json"); do
	raw "$REGISTRY/fmt/docker@$d" >"$T/child.json"
	jq -e '.mediaType == "application/vnd.docker.distribution.manifest.v2+json"
		and ([.. | objects | has("annotations")] | any | not)' "$T/child.json" >/dev/null ||
		ts_fail "OCI-only fields in a Docker manifest: $(cat "$T/child.json")"
done
echo "ok: --format docker writes Docker manifests only and names what it drops"
