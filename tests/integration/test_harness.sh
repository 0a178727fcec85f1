#!/usr/bin/env bash
# test_harness.sh - proves the shared test harness itself works: a throwaway
# registry starts and stops, every fixture builder makes a valid image, and
# each image round-trips through the registry with skopeo with its layer
# diff_ids intact. Does not run tagseal.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/fixtures.sh"
ts_need skopeo umoci jq zstd

# diff_ids SKOPEO_REF [ARCH]: the config's diff_ids of one image, one line.
diff_ids() {
	skopeo inspect --config ${2:+--override-arch "$2"} "$1" | jq -c .rootfs.diff_ids
}

# pulled_diff_ids DIR [ARCH]: the same, read with jq from a layout written by
# registry_pull_verify (skopeo's oci: reader refuses Docker media types there).
pulled_diff_ids() {
	local b=$1/blobs/sha256 top mt
	top=$(jq -r '.manifests[0].digest' "$1/index.json")
	mt=$(jq -r '.manifests[0].mediaType' "$1/index.json")
	if [[ $mt == *index* || $mt == *list* ]]; then
		top=$(jq -r --arg a "$2" '.manifests[] | select(.platform.architecture == $a) | .digest' \
			"$b/${top#sha256:}")
	fi
	top=$(jq -r .config.digest "$b/${top#sha256:}")
	jq -c .rootfs.diff_ids "$b/${top#sha256:}"
}

# roundtrip NAME SKOPEO_SRC [ARCH...]: push SRC to the registry as harness/NAME,
# pull it back, check it, and compare diff_ids (per ARCH for an index).
roundtrip() {
	local name=$1 src=$2 ref=$REGISTRY/harness/$1:t arch
	shift 2
	skopeo copy -q --all --dest-tls-verify=false "$src" "docker://$ref" ||
		ts_fail "$name: skopeo could not push $src"
	registry_pull_verify "$ref" "$T/pulled-$name" >/dev/null
	if [ $# -eq 0 ]; then
		assert_eq "$(pulled_diff_ids "$T/pulled-$name")" "$(diff_ids "$src")" "$name diff_ids"
	fi
	for arch in "$@"; do
		assert_eq "$(pulled_diff_ids "$T/pulled-$name" "$arch")" "$(diff_ids "$src" "$arch")" \
			"$name/$arch diff_ids"
	done
	echo "ok: $name"
}

registry_start
registry_start --name OTHER
[ "$REGISTRY" != "$OTHER" ] || ts_fail "two registries share $REGISTRY"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "$REGISTRY_URL/v2/")" 200 "GET /v2/"

cd "$T"
fixture_oci_layout layout app 3 1
roundtrip oci-layout oci:layout:app

fixture_oci_layout plain app 2 2
fixture_uncompress_layout plain app
skopeo inspect --raw oci:plain:app | jq -e '[.layers[].mediaType] | unique == ["application/vnd.oci.image.layer.v1.tar"]' >/dev/null ||
	ts_fail "fixture_uncompress_layout left compressed layers"
roundtrip oci-uncompressed oci:plain:app

fixture_oci_archive image.oci.tar v1 2 3
roundtrip oci-archive oci-archive:image.oci.tar:v1

TS_FIXTURE_BIG_MIB=2 fixture_oci_archive big.oci.tar v1 1 9
[ "$(gzip -c big.oci.tar | wc -c)" -gt 2000000 ] || ts_fail "TS_FIXTURE_BIG_MIB data compresses"
roundtrip big-oci-archive oci-archive:big.oci.tar:v1

fixture_docker_archive image.docker.tar app:v1 2 4
roundtrip docker-archive docker-archive:image.docker.tar

fixture_docker25_archive image.docker25.tar app:v25 2 5
tar -tf image.docker25.tar | grep -x oci-layout >/dev/null || ts_fail "docker25 archive has no oci-layout"
mkdir d25 && tar -xf image.docker25.tar -C d25
roundtrip docker25-archive docker-archive:image.docker25.tar
roundtrip docker25-layout oci:d25:v25

fixture_multi_docker_archive multi.tar one:1 two:2
assert_eq "$(tar -xOf multi.tar manifest.json | jq length)" 2 "images in multi.tar"
roundtrip multi-one docker-archive:multi.tar:docker.io/library/one:1
roundtrip multi-two docker-archive:multi.tar:docker.io/library/two:2
[ "$(diff_ids docker-archive:multi.tar:docker.io/library/one:1)" != \
  "$(diff_ids docker-archive:multi.tar:docker.io/library/two:2)" ] ||
	ts_fail "the two images of multi.tar are the same"

fixture_index_layout index multi 7
skopeo inspect --raw oci:index:multi | jq -e '.manifests | length == 2' >/dev/null ||
	ts_fail "index fixture does not list two manifests"
roundtrip index oci:index:multi amd64 arm64

# Compressed tarballs are byte-exact wrappers of the tarball.
for c in gzip zstd; do
	f=$(fixture_compress image.docker.tar "$c")
	case $c in gzip) gzip -dc "$f" ;; zstd) zstd -q -dc "$f" ;; esac | cmp - image.docker.tar ||
		ts_fail "$f does not decompress to image.docker.tar"
done

# Same arguments, same bytes; another seed, another image.
fixture_oci_archive again.oci.tar v1 2 3
cmp image.oci.tar again.oci.tar || ts_fail "fixture_oci_archive is not deterministic"
fixture_docker_archive again.docker.tar app:v1 2 4
cmp image.docker.tar again.docker.tar || ts_fail "fixture_docker_archive is not deterministic"
fixture_oci_archive other.oci.tar v1 2 8
! cmp -s image.oci.tar other.oci.tar || ts_fail "different seeds gave the same image"

other_pid=$OTHER_PID
registry_stop OTHER
! kill -0 "$other_pid" 2>/dev/null || ts_fail "registry_stop left pid $other_pid running"
curl -s --max-time 2 "http://$OTHER/v2/" >/dev/null && ts_fail "registry_stop left $OTHER answering"
echo "harness ok"

# a part a test could not run is logged for scripts/test.sh's summary
cat >"$T/partial.sh" <<EOS
. "$TS_LIB_DIR/common.sh"
ts_skip_part "frobnicator absent: frobbing not run"
echo rest-ran
EOS
out=$(TS_SKIP_LOG="$T/skipped.log" TAGSEAL=$TAGSEAL bash "$T/partial.sh" 2>"$T/partial.err") ||
	ts_fail "a test with a skipped part failed"
assert_eq "$out" "rest-ran" "the rest of a test with a skipped part runs"
assert_eq "$(cat "$T/skipped.log")" "partial: frobnicator absent: frobbing not run" "skipped-part log"
assert_contains "$T/partial.err" "SKIP (part): frobnicator absent"
# and scripts/test.sh counts each line as one skipped in its summary
grep -q 'count_skipped_parts' "$TS_SOURCE_DIR/scripts/test.sh" ||
	ts_fail "scripts/test.sh does not count skipped parts"
echo "ok: skipped parts are logged"
