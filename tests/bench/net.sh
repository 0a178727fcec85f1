#!/usr/bin/env bash
# net.sh - benchmark `tagseal push` against skopeo over a slow link: every
# request goes through tests/fault/faultproxy.py with a round trip of --rtt
# milliseconds and one --rate MB/s link shared by all connections (a fresh
# registry and proxy per push; skopeo's blob-info cache cleared before each
# first push, tagseal's cache directory fresh per run).
#
# Cases (the inputs are made by tests/bench/lib.sh from system directories:
# five layers, the sizes of the issue that asked for this benchmark; with
# --compressible, seven layers of text and code that compress three times):
#   oci     an OCI archive with gzip layers (~84 MB; --compressible ~57 MB)
#           to a new repository
#   dsave   the same image as a `docker save` (~184 MB; --compressible ~179 MB)
#   second  the OCI archive pushed to one repository (not timed), then to a
#           second repository of the same registry (timed)
#   floor   the OCI archive's blobs uploaded by parallel curl through the same
#           proxy: what the link allows
# Prints, per case and tool, medians of: wall time, requests sent (lines in
# the proxy's log), bytes sent in upload requests (from the log's body sizes),
# and the ratios to skopeo and to the floor.
#
# usage: tests/bench/net.sh [--small|--compressible] [--rtt MS] [--rate MBPS]
#                           [--runs N] [--inputs DIR] [--only CASES]
#   --small       a ~15 MB image, one run (what CI runs, to check the script works)
#   --compressible  the seven-layer image that compresses to a third
#   --rtt MS      round trip (default 50)
#   --rate MBPS   the shared link, MB/s (default 40)
#   --runs N      runs per case and tool (default 3)
#   --inputs DIR  keep the inputs in DIR and reuse them when they are there
#   --only CASES  a comma list of oci, dsave, second (the floor comes with oci)
# Not a test: it prints figures and only fails when a push fails.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export TS_SOURCE_DIR=$ROOT
: "${TAGSEAL:=$ROOT/build/tagseal}"
export TAGSEAL
size=normal runs=3 inputs= only=oci,dsave,second rtt=50 rate=40
usage() { echo "usage: tests/bench/net.sh [--small|--compressible] [--rtt MS] [--rate MBPS] [--runs N] [--inputs DIR] [--only CASES]" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--small) size=small runs=1 ;;
	--compressible) size=compressible ;;
	--rtt) rtt=$2; shift ;;
	--rate) rate=$2; shift ;;
	--runs) runs=$2; shift ;;
	--inputs) inputs=$2; shift ;;
	--only) only=$2; shift ;;
	*) usage ;;
	esac
	shift
done
. "$ROOT/tests/lib/common.sh"
. "$ROOT/tests/lib/registry.sh"
. "$ROOT/tests/lib/faultproxy.sh"
. "$ROOT/tests/bench/lib.sh"
ts_need skopeo jq curl python3 /usr/bin/time
[ -x "$TAGSEAL" ] || ts_fail "build tagseal first ($TAGSEAL)"

case $size in
small) dirs=(usr/share/doc/bash usr/share/man/man1 usr/share/perl5 usr/share/zoneinfo) ;;
compressible) dirs=(usr/libexec usr/lib/python3 usr/share/perl usr/lib/x86_64-linux-gnu/perl usr/include/c++ usr/share/i18n usr/sbin) ;;
*) dirs=(usr/share/doc usr/lib/x86_64-linux-gnu/perl usr/share/i18n usr/sbin usr/include/c++) ;;
esac
IN=${inputs:-$T/in}
bench_make_inputs "$IN" "${dirs[@]}"
mkdir -p "$T/ociblobs" && tar -xf "$IN/oci.tar" -C "$T/ociblobs"
export T

want() { [[ ,$only, == *,$1,* ]]; }

# skopeo's blob-info cache (where it remembers which repositories hold a
# blob): /var/lib/containers/cache for root, else under XDG_DATA_HOME or
# ~/.local/share.
skopeo_forget() {
	local d
	if [ "$(id -u)" = 0 ]; then d=/var/lib/containers/cache
	else d=${XDG_DATA_HOME:-$HOME/.local/share}/containers/cache; fi
	rm -f "$d/blob-info-cache-v1.boltdb"
}

# link_up: a fresh registry and the slow proxy in front of it ($P).
link_up() {
	registry_start
	faultproxy_start --name P "$REGISTRY_URL" --rtt "$rtt" --bandwidth "$rate" --lifetime 3600
}
link_down() {
	faultproxy_stop P
	bench_registry_stop
}

# measured NAME CMD...: timed, then the requests and upload bytes the proxy
# saw during CMD appended to $T/NAME.req and $T/NAME.bytes.
measured() {
	local name=$1 before
	shift
	before=$(wc -l <"$P_LOG")
	timed "$name" "$@"
	tail -n +$((before + 1)) "$P_LOG" >"$T/seg"
	wc -l <"$T/seg" >>"$T/$name.req"
	awk '/\/blobs\/uploads\// { for (i = 1; i <= NF; i++) if ($i ~ /^body=/) s += substr($i, 6) }
		END { print s + 0 }' "$T/seg" >>"$T/$name.bytes"
}


for ((r = 1; r <= runs; r++)); do
	echo "run $r/$runs ..." >&2
	export TAGSEAL_CACHE_DIR=$T/tscache.$r
	if want oci; then
		rm -rf "$TAGSEAL_CACHE_DIR"
		link_up; measured ts_oci "$TAGSEAL" push -q --plain-http "$IN/oci.tar" --repo "$P/b/ts" --tag t; link_down
		skopeo_forget
		link_up; measured sk_oci skopeo copy -q --dest-tls-verify=false oci-archive:"$IN/oci.tar":bench "docker://$P/b/sk:t"; link_down
		link_up; measured floor bash -c 'curl_floor "$P" b/floor "$T/ociblobs"'; link_down
	fi
	if want dsave; then
		rm -rf "$TAGSEAL_CACHE_DIR"
		link_up; measured ts_dsave "$TAGSEAL" push -q --plain-http "$IN/dsave.tar" --repo "$P/b/ts" --tag t; link_down
		skopeo_forget
		link_up; measured sk_dsave skopeo copy -q --dest-tls-verify=false docker-archive:"$IN/dsave.tar" "docker://$P/b/sk:t"; link_down
	fi
	if want second; then
		rm -rf "$TAGSEAL_CACHE_DIR"
		link_up
		"$TAGSEAL" push -q --plain-http "$IN/oci.tar" --repo "$P/staging/ts" --tag t >/dev/null
		measured ts_second "$TAGSEAL" push -q --plain-http "$IN/oci.tar" --repo "$P/prod/ts" --tag t
		link_down
		skopeo_forget
		link_up
		skopeo copy -q --dest-tls-verify=false oci-archive:"$IN/oci.tar":bench "docker://$P/staging/sk:t"
		measured sk_second skopeo copy -q --dest-tls-verify=false oci-archive:"$IN/oci.tar":bench "docker://$P/prod/sk:t"
		link_down
	fi
done

in_mb=$(( $(stat -c %s "$IN/dsave.tar") / 1000000 ))
oci_mb=$(( $(stat -c %s "$IN/oci.tar") / 1000000 ))
printf '\ntagseal %s vs %s; link: %s ms round trip, %s MB/s shared; %s runs each, medians\n' \
	"$("$TAGSEAL" --version | cut -d' ' -f2)" "$(skopeo --version)" "$rtt" "$rate" "$runs"
printf 'docker save %s MB (%d layers), OCI archive %s MB; machine: %s cores, load %s\n\n' \
	"$in_mb" "${#dirs[@]}" "$oci_mb" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-30s %8s %9s %12s %10s %9s\n' case wall_s requests upload_bytes vs_skopeo vs_floor
row() { # NAME LABEL SKOPEO_NAME
	local w ratio='-' fl='-'
	[ -s "$T/$1" ] || return 0
	w=$(col "$1" 1)
	[ -z "$3" ] || [ ! -s "$T/$3" ] || ratio=$(awk -v a="$w" -v b="$(col "$3" 1)" 'BEGIN { printf "%.2fx", a / b }')
	[ ! -s "$T/floor" ] || fl=$(awk -v a="$w" -v b="$(col floor 1)" 'BEGIN { printf "%.2fx", a / b }')
	printf '%-30s %8s %9s %12s %10s %9s\n' "$2" "$w" "$(median <"$T/$1.req")" "$(median <"$T/$1.bytes")" "$ratio" "$fl"
}
row ts_oci "tagseal oci-archive" sk_oci
row sk_oci "skopeo oci-archive" ""
row floor "floor: parallel curl" ""
row ts_dsave "tagseal docker-save" sk_dsave
row sk_dsave "skopeo docker-save" ""
row ts_second "tagseal second repository" sk_second
row sk_second "skopeo second repository" ""
printf '\nwall seconds of each run:\n'
for f in ts_oci sk_oci floor ts_dsave sk_dsave ts_second sk_second; do
	if [ -s "$T/$f" ]; then printf '  %-10s %s\n' "$f" "$(awk '{ printf "%s ", $1 }' "$T/$f")"; fi
done
