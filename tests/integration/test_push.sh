#!/usr/bin/env bash
# test_push.sh - `tagseal push` of every IMAGE format to a real registry,
# pulled back and checked by skopeo (every blob, every layer's diff_id),
# plus determinism, idempotence and the refusal to overwrite a tag.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/fixtures.sh"
ts_need skopeo umoci jq zstd

registry_start

# push_ok NAME IMAGE ARGS...: push to $REGISTRY/push/NAME:t1, check the
# output line, pull back with skopeo and verify; echoes the digest.
push_ok() {
	local name=$1 image=$2 ref digest
	shift 2
	ref=$REGISTRY/push/$name
	run_ts 0 push "$image" --repo "$ref" --tag t1 --digest-file "$T/$name.digest" "$@"
	digest=$(tail -n 1 "$T/out" | sed -n "s|^$ref:t1@\(sha256:[0-9a-f]\{64\}\)$|\1|p")
	[ -n "$digest" ] || ts_fail "$name: last stdout line is not $ref:t1@sha256:...: $(tail -n 1 "$T/out")"
	assert_eq "$(cat "$T/$name.digest")" "$digest" "$name --digest-file"
	assert_eq "$(registry_pull_verify "$ref:t1" "$T/pull-$name")" "$digest" "$name pulled digest"
	echo "$digest"
}

# --- every format ---
fixture_docker_archive "$T/legacy.tar" app:v1 2 1
d_legacy=$(push_ok legacy "$T/legacy.tar")
mt=$(skopeo inspect --raw --tls-verify=false "docker://$REGISTRY/push/legacy:t1" | jq -r .mediaType)
assert_eq "$mt" application/vnd.docker.distribution.manifest.v2+json "legacy docker save keeps Docker schema 2"

fixture_docker25_archive "$T/d25.tar" app:v25 2 2
push_ok docker25 "$T/d25.tar" >/dev/null
mt=$(skopeo inspect --raw --tls-verify=false "docker://$REGISTRY/push/docker25:t1" | jq -r .mediaType)
assert_eq "$mt" application/vnd.oci.image.manifest.v1+json "Docker 25+ save (OCI layout inside) gives OCI"

fixture_oci_archive "$T/oci.tar" latest 2 3
d_oci=$(push_ok ociarchive "$T/oci.tar")
push_ok ocigz "$(fixture_compress "$T/oci.tar" gzip)" >/dev/null
push_ok ocizst "$(fixture_compress "$T/oci.tar" zstd)" >/dev/null
push_ok legacyzst "$(fixture_compress "$T/legacy.tar" zstd)" >/dev/null
# an OCI archive with compressed layers keeps its manifest byte for byte
src_digest=$(tar -xOf "$T/oci.tar" index.json | jq -r '.manifests[0].digest')
assert_eq "$d_oci" "$src_digest" "OCI archive with gzip layers keeps its manifest digest"

fixture_oci_layout "$T/layout" v1 3 4
push_ok ocidir "$T/layout" >/dev/null
# layers sent as they are go up --jobs at a time, each on its own connection
# and its own reader (whatever the machine's core count): same digests
# (--no-cache: the layers are sent, not mounted from the earlier pushes)
d_seq=$(push_ok ocidir1 "$T/layout" --jobs 1)
assert_eq "$(push_ok ocidir3 "$T/layout" --jobs 3 -vv --no-cache)" "$d_seq" "a layout pushed 3 layers at a time"
[ "$(grep -c 'uploading layer' "$T/err")" = 3 ] || ts_fail "not 3 layers uploaded: $(cat "$T/err")"
assert_eq "$(push_ok ociarchive3 "$T/oci.tar" --jobs 3 --no-cache)" "$d_oci" "an archive pushed with parallel layers"

fixture_index_layout "$T/index" latest 5
d_index=$(push_ok index "$T/index")
mt=$(skopeo inspect --raw --tls-verify=false "docker://$REGISTRY/push/index:t1" | jq -r .mediaType)
assert_eq "$mt" application/vnd.oci.image.index.v1+json "index pushed as an index"
tags=$(skopeo list-tags --tls-verify=false "docker://$REGISTRY/push/index" | jq -c .Tags)
assert_eq "$tags" '["t1"]' "children of an index are never tagged"
for arch in amd64 arm64; do
	skopeo inspect --tls-verify=false --override-arch $arch --override-os linux \
		"docker://$REGISTRY/push/index:t1" >/dev/null || ts_fail "index child $arch missing"
done
run_ts 0 inspect "$T/index"
assert_eq "$(jq -r .digest "$T/out")" "$d_index" "inspect predicts the index's digest"
want=$(skopeo inspect --raw --tls-verify=false "docker://$REGISTRY/push/index:t1" | jq -c '[.manifests[].digest]')
assert_eq "$(jq -c '[.manifests[].digest]' "$T/out")" "$want" "inspect predicts every platform manifest's digest"
run_ts 0 inspect --no-compute "$T/index"
assert_eq "$(jq -c '[.manifests[].digest]' "$T/out")" '[null,null]' "--no-compute leaves them out"

# --- several images in one tarball ---
fixture_multi_docker_archive "$T/multi.tar" one:1 two:2
run_ts 2 push "$T/multi.tar" --repo "$REGISTRY/push/multi" --tag t1
assert_one_line "$T/err"
assert_contains "$T/err" "--image"
assert_contains "$T/err" "one:1"
assert_contains "$T/err" "two:2"
push_ok multi "$T/multi.tar" --image two:2 >/dev/null

# --- zstd ---
push_ok zstd "$T/legacy.tar" --compression zstd --format oci >/dev/null
lt=$(skopeo inspect --raw --tls-verify=false "docker://$REGISTRY/push/zstd:t1" | jq -r '.layers[0].mediaType')
assert_eq "$lt" application/vnd.oci.image.layer.v1.tar+zstd "zstd layer media type"
run_ts 2 push "$T/legacy.tar" --repo "$REGISTRY/push/zstd2" --tag t1 --compression zstd
assert_contains "$T/err" "--format oci"

# --- determinism: same input, same digest, whatever --jobs ---
d_again=$(push_ok legacy2 "$T/legacy.tar" --jobs 1)
assert_eq "$d_again" "$d_legacy" "same docker save tarball gives the same digest (jobs 1 vs default)"
# layers of similar sizes are compressed and uploaded two at a time
# (--no-cache: compressed again): the same digest as one at a time
fixture_docker_archive "$T/legacy4.tar" app:v4 4 5
d4=$(push_ok legacy4a "$T/legacy4.tar" --jobs 1 --no-cache)
assert_eq "$(push_ok legacy4b "$T/legacy4.tar" --jobs 3 --no-cache -vv)" "$d4" \
	"same digest with layers compressed two at a time (jobs 3)"
[ "$(grep -c 'compressing and uploading layer' "$T/err")" = 4 ] || ts_fail "not 4 layers compressed: $(cat "$T/err")"
run_ts 0 inspect "$T/legacy.tar"
assert_eq "$(jq -r .digest "$T/out")" "$d_legacy" "inspect predicts the pushed digest"
run_ts 0 push --dry-run "$T/legacy.tar" --repo "$REGISTRY/push/dry" --tag t1
assert_eq "$(tail -n 1 "$T/out")" "$REGISTRY/push/dry:t1@$d_legacy" "--dry-run (layer cache warm) predicts the digest"
run_ts 0 push --dry-run --no-cache "$T/legacy.tar" --repo "$REGISTRY/push/dry" --tag t1
assert_eq "$(tail -n 1 "$T/out")" "$REGISTRY/push/dry:t1@$d_legacy" "--dry-run --no-cache predicts the digest"
if skopeo inspect --raw --tls-verify=false "docker://$REGISTRY/push/dry:t1" >/dev/null 2>&1; then
	ts_fail "--dry-run pushed a tag"
fi

# --- the metadata file names the source tarball by its SHA-256 ---
run_ts 0 push "$T/legacy.tar" --repo "$REGISTRY/push/meta" --tag t1 --metadata-file "$T/meta.json"
assert_eq "$(jq -r .source.sha256 "$T/meta.json")" "sha256:$(sha256sum "$T/legacy.tar" | cut -d' ' -f1)" "source sha256"
assert_eq "$(jq -r .digest "$T/meta.json")" "$d_legacy" "metadata digest"

# --- idempotence: same content under the same tag ---
run_ts 0 push "$T/legacy.tar" --repo "$REGISTRY/push/legacy" --tag t1
assert_contains "$T/err" "nothing changed"
assert_eq "$(tail -n 1 "$T/out")" "$REGISTRY/push/legacy:t1@$d_legacy" "re-push prints the reference"

# --- refusal: other content under an existing tag, registry untouched ---
# (the tag's first check goes out alongside the layers' checks; nothing may be
# written before it: no blob, no upload session, no layer link, no mount)
repo_files() { find "$REGISTRY_DIR/data/docker/registry/v2/repositories/$1" -type f | sort; }
repo_files push/legacy >"$T/files-before"
blobs_before=$(find "$REGISTRY_DIR" -path '*blobs*' -name data | wc -l)
fixture_docker_archive "$T/other.tar" app:v2 2 9
run_ts 3 push "$T/other.tar" --repo "$REGISTRY/push/legacy" --tag t1
assert_one_line "$T/err"
assert_contains "$T/err" "t1"
assert_contains "$T/err" "$d_legacy"
blobs_after=$(find "$REGISTRY_DIR" -path '*blobs*' -name data | wc -l)
assert_eq "$blobs_after" "$blobs_before" "a refused push uploads nothing"
repo_files push/legacy >"$T/files-after"
cmp -s "$T/files-before" "$T/files-after" ||
	ts_fail "a refused push wrote to the repository: $(diff "$T/files-before" "$T/files-after")"
# an OCI archive whose layers another repository holds (the cache knows it):
# refused without a mount
fixture_oci_archive "$T/oci-a.tar" latest 2 91
fixture_oci_archive "$T/oci-b.tar" latest 2 92
run_ts 0 push "$T/oci-a.tar" --repo "$REGISTRY/push/ocitag" --tag t1
run_ts 0 push "$T/oci-b.tar" --repo "$REGISTRY/push/ocisrc" --tag t1
repo_files push/ocitag >"$T/files-before"
run_ts 3 push "$T/oci-b.tar" --repo "$REGISTRY/push/ocitag" --tag t1
assert_one_line "$T/err"
repo_files push/ocitag >"$T/files-after"
cmp -s "$T/files-before" "$T/files-after" ||
	ts_fail "a refused OCI push wrote to the repository: $(diff "$T/files-before" "$T/files-after")"
# and the same content under the tag: a success that changes nothing
run_ts 0 push "$T/oci-a.tar" --repo "$REGISTRY/push/ocitag" --tag t1
assert_contains "$T/err" "nothing changed"
repo_files push/ocitag >"$T/files-after"
cmp -s "$T/files-before" "$T/files-after" || ts_fail "a same-content re-push wrote to the repository"
now=$(skopeo inspect --raw --tls-verify=false "docker://$REGISTRY/push/legacy:t1" | sha256sum | cut -d' ' -f1)
assert_eq "sha256:$now" "$d_legacy" "refused tag still points at the first push"

# --- the real tarballs from go-containerregistry, where ../shared is present ---
if [ -d "$TS_SOURCE_DIR/../shared/fixtures/ggcr" ]; then
	G=$TS_SOURCE_DIR/../shared/fixtures/ggcr
	push_ok ggcr1 "$G/test_image_1.tar" >/dev/null
	push_ok ggcrv25 "$G/hello-world-v25.tar" >/dev/null
	push_ok ggcrload "$G/test_load_manifest.tar" >/dev/null
	push_ok ggcrbundle "$G/test_bundle.tar" --image test_image_2 >/dev/null
	push_ok ggcrlink "$G/test_link.tar" --image bazel/v1/tarball:test_image_3 >/dev/null
	for i in 1 2; do
		d=$(push_ok "ggcridx$i" "$G/oci-layout-test_index" --image "$i")
		want=$(jq -r ".manifests[$((i - 1))].digest" "$G/oci-layout-test_index/index.json")
		assert_eq "$d" "$want" "OCI layout entry $i keeps its digest"
	done
	# entries 3 and 4 are indexes of Docker manifests, which skopeo will not
	# write to an OCI layout unchanged: check them by digest and by child
	for i in 3 4; do
		run_ts 0 push "$G/oci-layout-test_index" --image "$i" --repo "$REGISTRY/push/ggcridx$i" --tag t1
		want=$(jq -r ".manifests[$((i - 1))].digest" "$G/oci-layout-test_index/index.json")
		assert_eq "$(tail -n 1 "$T/out")" "$REGISTRY/push/ggcridx$i:t1@$want" "OCI layout entry $i keeps its digest"
		got=$(skopeo inspect --raw --tls-verify=false "docker://$REGISTRY/push/ggcridx$i:t1" | sha256sum | cut -d' ' -f1)
		assert_eq "sha256:$got" "$want" "entry $i bytes in the registry"
		registry_pull_verify "$REGISTRY/push/ggcridx$i@sha256:eebff607b1628d67459b0596643fc07de70d702eccf030f0bc7bb6fc2b278650" \
			"$T/pull-idx$i" >/dev/null
	done
	run_ts 2 push "$G/test_bundle.tar" --repo "$REGISTRY/push/bundle" --tag t1
	assert_contains "$T/err" "test_image_1"
	assert_contains "$T/err" "test_image_2"
else
	ts_skip_part "../shared absent, go-containerregistry tarballs not pushed"
fi
echo "test_push: all formats pushed and verified"
