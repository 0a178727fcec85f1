# lib.sh - what the benchmarks in tests/bench/ share (sourced after
# tests/lib/common.sh and registry.sh): making the inputs, timing a command,
# medians, the parallel-curl floor, and a registry whose storage goes when it
# stops.
#
#   bench_make_inputs DIR DIRS...  DIR/dsave.tar (a docker save, one uncompressed
#                                  layer per system directory in DIRS) and
#                                  DIR/oci.tar (the same image with gzip layers,
#                                  made by skopeo); kept when already there
#   timed NAME CMD...              run CMD under /usr/bin/time after sync; appends
#                                  "wall cpu rssKB" to $T/NAME
#   median                         median of the numbers on stdin
#   col NAME N                     median of column N of $T/NAME
#   curl_floor HOST REPO BLOBDIR   every file of BLOBDIR/blobs/sha256 uploaded to
#                                  HOST/REPO at once by parallel curl (POST + PUT)
#   bench_registry_stop            registry_stop, and its storage removed

# bench_make_docker_save OUT DIR...: a legacy docker save tarball, one layer per DIR.
bench_make_docker_save() {
	local out=$1 w=$T/dsave d diff ids=() layers=()
	shift
	rm -rf "$w" && mkdir -p "$w"
	for d in "$@"; do
		tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
			--warning=no-file-changed -cf "$w/l.tar" -C / "$d" 2>/dev/null || true
		diff=$(sha256sum "$w/l.tar" | cut -d' ' -f1)
		mkdir -p "$w/$diff" && mv "$w/l.tar" "$w/$diff/layer.tar"
		ids+=("\"sha256:$diff\"")
		layers+=("\"$diff/layer.tar\"")
	done
	local IFS=,
	printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
		"${ids[*]}" >"$w/config.json"
	local cfg
	cfg=$(sha256sum "$w/config.json" | cut -d' ' -f1)
	mv "$w/config.json" "$w/$cfg.json"
	printf '[{"Config":"%s.json","RepoTags":["bench/app:1"],"Layers":[%s]}]' "$cfg" "${layers[*]}" \
		>"$w/manifest.json"
	tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$out" -C "$w" .
	rm -rf "$w"
}

bench_make_inputs() {
	local in=$1
	shift
	mkdir -p "$in"
	if [ ! -s "$in/dsave.tar" ] || [ ! -s "$in/oci.tar" ]; then
		echo "making inputs from $* ..." >&2
		bench_make_docker_save "$in/dsave.tar" "$@"
		rm -f "$in/oci.tar"
		skopeo copy -q docker-archive:"$in/dsave.tar" oci-archive:"$in/oci.tar":bench
	fi
}

# Dirty pages of earlier runs are written out first, so that no run pays
# for another's writeback.
timed() {
	local name=$1
	shift
	sync
	/usr/bin/time -f '%e %U %S %M' -o "$T/time" "$@" >"$T/cmd.out" 2>"$T/cmd.err" ||
		{ cat "$T/cmd.err" >&2; ts_fail "$name: command failed: $*"; }
	awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$T/time" >>"$T/$name"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
col() { awk -v c="$2" '{ print $c }' "$T/$1" | median; }

# The floor: POST, then PUT -T with the digest, every blob at once. No
# "Expect: 100-continue" (it would cost a round trip a client need not pay).
curl_floor() {
	local host=$1 repo=$2 dir=$3 f d pids=()
	for f in "$dir"/blobs/sha256/*; do
		d=sha256:$(basename "$f")
		(
			loc=$(curl -s -o /dev/null -w '%header{location}' -X POST "http://$host/v2/$repo/blobs/uploads/")
			case $loc in http*) ;; *) loc=http://$host$loc ;; esac
			sep='?'; [[ $loc == *\?* ]] && sep='&'
			curl -s -f -o /dev/null -T "$f" -H 'Expect:' -H 'Content-Type: application/octet-stream' "$loc${sep}digest=$d"
		) &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
}
export -f curl_floor

# A stopped registry's storage goes too: runs do not pile up data on disk.
bench_registry_stop() {
	local dir=$REGISTRY_DIR
	registry_stop
	rm -rf "$dir"
}
