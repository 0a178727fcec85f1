#!/usr/bin/env bash
# push.sh - benchmark `tagseal push` against skopeo on the same inputs, each
# run against a fresh registry (Debian's docker-registry on loopback).
#
# Makes its inputs from files on this machine: a `docker save` tarball whose
# four uncompressed layers are tars of system directories, and the same image
# as an OCI archive with gzip layers (made by skopeo). Runs tagseal and skopeo
# alternately RUNS times per case and prints a table of medians: wall time,
# user+sys CPU, peak RSS (/usr/bin/time), bytes of layers in the pushed
# manifest, and the ratio of tagseal to skopeo (and to the floor: the same
# blobs uploaded by parallel curl).
#
# usage: tests/bench/push.sh [--small|--large] [--runs N] [--inputs DIR] [--only CASES]
#   --small       a ~20 MB image (what CI runs, to check the script works)
#   --large       a ~2 GB image (peak memory must not grow with the image)
#   --runs N      runs per case and tool (default 3)
#   --inputs DIR  keep the inputs in DIR and reuse them when they are there
#   --only CASES  a comma list of dsave (with re-push), oci (with the floor), zstd
# Not a test: it prints figures and only fails when a push fails.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export TS_SOURCE_DIR=$ROOT
: "${TAGSEAL:=$ROOT/build/tagseal}"
export TAGSEAL
size=normal runs=3 inputs= only=dsave,oci,zstd
while [ $# -gt 0 ]; do
	case $1 in
	--small) size=small ;;
	--large) size=large ;;
	--runs) runs=$2; shift ;;
	--inputs) inputs=$2; shift ;;
	--only) only=$2; shift ;;
	*) echo "usage: tests/bench/push.sh [--small|--large] [--runs N] [--inputs DIR] [--only CASES]" >&2; exit 2 ;;
	esac
	shift
done
. "$ROOT/tests/lib/common.sh"
. "$ROOT/tests/lib/registry.sh"
. "$ROOT/tests/bench/lib.sh"
ts_need skopeo jq curl /usr/bin/time
[ -x "$TAGSEAL" ] || ts_fail "build tagseal first ($TAGSEAL)"

if [ $size = small ]; then
	dirs=(usr/share/doc/bash usr/share/man/man1 usr/share/perl5 usr/lib/python3/dist-packages)
elif [ $size = large ]; then
	dirs=(usr/lib/x86_64-linux-gnu usr/lib/jvm usr/lib/llvm-14 usr/bin usr/share)
	for d in "${dirs[@]}"; do [ -d "/$d" ] || ts_fail "--large needs /$d"; done
else
	dirs=(usr/bin usr/lib/gcc usr/libexec usr/share/locale)
fi

IN=${inputs:-$T/in}
bench_make_inputs "$IN" "${dirs[@]}"
mkdir -p "$T/ociblobs" && tar -xf "$IN/oci.tar" -C "$T/ociblobs"

# layer_bytes REF: sum of layer sizes in the pushed manifest.
layer_bytes() {
	skopeo inspect --raw --tls-verify=false "docker://$1" | jq '[.layers[].size] | add'
}

export T

want() { [[ ,$only, == *,$1,* ]]; }

for ((r = 1; r <= runs; r++)); do
	echo "run $r/$runs ..." >&2
	if want dsave; then
	# docker save, uncompressed layers: default settings on both sides
	registry_start; timed ts_dsave "$TAGSEAL" push -q "$IN/dsave.tar" --repo "$REGISTRY/b/ts" --tag t
	layer_bytes "$REGISTRY/b/ts:t" >>"$T/bytes_ts_dsave"
	# re-push of the unchanged image to a new tag in the same repository
	timed ts_repush "$TAGSEAL" push -q "$IN/dsave.tar" --repo "$REGISTRY/b/ts" --tag t2
	bench_registry_stop
	registry_start; timed sk_dsave skopeo copy -q --dest-tls-verify=false docker-archive:"$IN/dsave.tar" "docker://$REGISTRY/b/sk:t"
	layer_bytes "$REGISTRY/b/sk:t" >>"$T/bytes_sk_dsave"
	timed sk_repush skopeo copy -q --dest-tls-verify=false docker-archive:"$IN/dsave.tar" "docker://$REGISTRY/b/sk:t2"
	bench_registry_stop
	fi
	if want oci; then
	# OCI archive, compressed layers
	registry_start; timed ts_oci "$TAGSEAL" push -q "$IN/oci.tar" --repo "$REGISTRY/b/ts" --tag t; bench_registry_stop
	registry_start; timed sk_oci skopeo copy -q --dest-tls-verify=false oci-archive:"$IN/oci.tar":bench "docker://$REGISTRY/b/sk:t"; bench_registry_stop
	registry_start; timed floor_oci bash -c 'curl_floor "$REGISTRY" b/floor "$T/ociblobs"'; bench_registry_stop
	fi
	if want zstd; then
	# zstd
	registry_start; timed ts_zstd "$TAGSEAL" push -q "$IN/dsave.tar" --repo "$REGISTRY/b/ts" --tag t --compression zstd --format oci
	layer_bytes "$REGISTRY/b/ts:t" >>"$T/bytes_ts_zstd"; bench_registry_stop
	registry_start; timed sk_zstd skopeo copy -q --dest-tls-verify=false --dest-compress-format zstd --format oci docker-archive:"$IN/dsave.tar" "docker://$REGISTRY/b/sk:t"
	layer_bytes "$REGISTRY/b/sk:t" >>"$T/bytes_sk_zstd"; bench_registry_stop
	fi
done

in_mb=$(( $(stat -c %s "$IN/dsave.tar") / 1000000 ))
oci_mb=$(( $(stat -c %s "$IN/oci.tar") / 1000000 ))
printf '\ntagseal %s vs %s; %s runs each, medians; docker save %s MB (%d layers), OCI archive %s MB\n' \
	"$("$TAGSEAL" --version | cut -d' ' -f2)" "$(skopeo --version)" "$runs" "$in_mb" "${#dirs[@]}" "$oci_mb"
printf 'machine: %s cores, %s\n\n' "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
printf '%-28s %9s %9s %9s %14s %9s\n' case wall_s cpu_s rss_MB layer_bytes ratio
row() { # NAME LABEL REF_NAME [BYTES_NAME]
	local w c m b ratio='-'
	[ -s "$T/$1" ] || return 0
	w=$(col "$1" 1); c=$(col "$1" 2); m=$(col "$1" 3)
	b='-'; [ -z "${4:-}" ] || b=$(median <"$T/bytes_$4")
	[ -z "$3" ] || ratio=$(awk -v a="$w" -v b="$(col "$3" 1)" 'BEGIN { printf "%.2fx", a / b }')
	printf '%-28s %9s %9s %9d %14s %9s\n' "$2" "$w" "$c" $((m / 1024)) "$b" "$ratio"
}
row ts_dsave "tagseal docker-save" sk_dsave ts_dsave
row sk_dsave "skopeo docker-save" "" sk_dsave
row ts_oci "tagseal oci-archive" sk_oci
row sk_oci "skopeo oci-archive" ""
row floor_oci "floor: parallel curl" ""
row ts_repush "tagseal re-push new tag" sk_repush
row sk_repush "skopeo re-push new tag" ""
row ts_zstd "tagseal zstd" sk_zstd ts_zstd
row sk_zstd "skopeo zstd" "" sk_zstd
if want oci; then
	awk -v a="$(col ts_oci 1)" -v b="$(col floor_oci 1)" 'BEGIN { printf "\ntagseal oci-archive / floor: %.2fx\n", a / b }'
fi
if want dsave; then
	awk -v a="$(median <"$T/bytes_ts_dsave")" -v b="$(median <"$T/bytes_sk_dsave")" \
		'BEGIN { printf "docker-save compressed bytes, tagseal / skopeo: %.3fx\n", a / b }'
fi
if want zstd; then
	awk -v a="$(median <"$T/bytes_ts_zstd")" -v b="$(median <"$T/bytes_sk_zstd")" \
		'BEGIN { printf "zstd compressed bytes, tagseal / skopeo: %.3fx\n", a / b }'
fi
printf '\nwall seconds of each run:\n'
for f in ts_dsave sk_dsave ts_repush sk_repush ts_oci sk_oci floor_oci ts_zstd sk_zstd; do
	if [ -s "$T/$f" ]; then printf '  %-10s %s\n' "$f" "$(awk '{ printf "%s ", $1 }' "$T/$f")"; fi
done
