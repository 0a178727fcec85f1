#!/bin/bash
# test_pin_scale.sh - 'tagseal pin' and 'tagseal lint' stay linear in the
# number of YAML documents: one multi-document file of 200,000 small Pods
# (about 14 MB; a few with anchors reached twice, one Helm values block, one
# marker, one Pod to pin) is pinned and linted each within a wall bound
# (60 s, twice that under ASan; the quadratic finder took over a minute) and
# a peak-RSS bound in proportion to the file, lint's counts and findings are
# exact, and the pinned file is byte for byte the input with only the three
# pinned scalars changed. No registry needed.
source "$(dirname "$0")/../lib/common.sh"

ts_need awk timeout cmp jq
[ -x /usr/bin/time ] || ts_skip "/usr/bin/time not installed"

N=200000
WALL=60
DIG=sha256:0717098f1c72f8dd2b70a7683392d572480b1fb0a9171d35d215eaf64dca2b3e
IMAGE=ghcr.io/acme/app:v1.1@$DIG
if [ -n "${TS_WRAP:-}" ]; then
	N=5000 # under valgrind: what is checked is the output, not the speed
	WALL=150
fi

# gen PINNED: the manifest on stdout, before (0) or after (1) pinning; the
# lines of the three references to pin go to $T/lines.
gen() {
	awk -v n="$N" -v pinned="$1" -v dig="$DIG" -v lines="$T/lines" '
	function out(s) { print s; ln++ }
	BEGIN {
		pod = pinned ? "ghcr.io/acme/app:v1.1@" dig : "ghcr.io/acme/app:v1.0"
		tag = pinned ? "v1.1@" dig : "v1.0"
		mark = pinned ? "v1.1" : "v1.0"
		for (i = 0; i < n; i++) {
			out("---")
			if (i == 1000) {
				out("kind: Pod"); out("spec:"); out("  containers:")
				out("  - name: app"); out("    image: " pod)
				printf "pod %d\n", ln > lines
			} else if (i == n / 2) {
				out("app:"); out("  image:")
				out("    repository: ghcr.io/acme/app")
				printf "helm %d\n", ln > lines
				out("    tag: \"" tag "\"")
			} else if (i == n - 2) {
				out("deploy:")
				out("  tag: " mark " # tagseal: ghcr.io/acme/app:tag")
				printf "marker %d\n", ln > lines
			} else if (i % 100 == 50) { # one scalar reached twice: found once
				out("kind: Pod"); out("spec:")
				out("  containers: [&b {name: c, image: nginx:1." i % 30 "}]")
				out("  initContainers: [*b]")
			} else {
				out("kind: Pod"); out("spec:"); out("  containers:")
				out("  - name: c" i); out("    image: nginx:1." i % 30)
			}
		}
	}'
}

gen 0 >"$T/pods.yaml"
gen 1 >"$T/expected.yaml"
pod_line=$(awk '$1 == "pod" { print $2 }' "$T/lines")
helm_line=$(awk '$1 == "helm" { print $2 }' "$T/lines")
marker_line=$(awk '$1 == "marker" { print $2 }' "$T/lines")
size_kib=$(($(stat -c %s "$T/pods.yaml") / 1024))

# Peak RSS bound: 24 bytes per byte of the file plus 64 MiB (measured: about
# 12 for lint and 14 for pin; the old finder took 44). ASan adds redzones and
# shadow to every allocation, keeps up to 256 MiB of freed memory and runs
# about five times slower; valgrind and TSan are not bounded in memory.
RSS_LIMIT=$((24 * size_kib + 64 * 1024))
libs=$(ldd "$TAGSEAL" 2>/dev/null || true) # (not ldd | grep -q: SIGPIPE under pipefail)
if [ -n "${TS_WRAP:-}" ] || [[ $libs == *libtsan* ]]; then
	RSS_LIMIT=
	WALL=$((WALL * 4))
elif [[ $libs == *libasan* ]]; then
	RSS_LIMIT=$((3 * 24 * size_kib + 256 * 1024 + 64 * 1024))
	WALL=$((WALL * 2))
fi

# bounded EXPECTED_EXIT WHAT ARGS...: run tagseal within $WALL seconds and
# RSS_LIMIT KiB, stdout in $T/out, stderr in $T/err.
bounded() {
	local want=$1 what=$2 rc=0 rss t0 t1
	shift 2
	t0=$(date +%s.%N)
	/usr/bin/time -f %M -o "$T/rss" timeout -k 5 "$WALL" "$TAGSEAL" "$@" >"$T/out" 2>"$T/err" || rc=$?
	t1=$(date +%s.%N)
	[ "$rc" != 124 ] && [ "$rc" != 137 ] || ts_fail "$what: still running after $WALL s ($N documents)"
	if [ "$rc" != "$want" ]; then
		{ echo "--- stdout"; head -20 "$T/out"; echo "--- stderr"; head -20 "$T/err"; } >&2
		ts_fail "$what: exit $rc, expected $want"
	fi
	rss=$(tail -1 "$T/rss")
	if [ -n "$RSS_LIMIT" ] && [ "$rss" -gt "$RSS_LIMIT" ]; then
		ts_fail "$what: peak RSS $rss KiB over $RSS_LIMIT KiB (file: $size_kib KiB)"
	fi
	echo "ok: $what: $N documents ($size_kib KiB) in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s, peak RSS $rss KiB"
}

# lint before pinning: the Pod and the Helm values are unpinned (the marker
# names just a tag); every nginx Pod is allowed. One reference per document.
bounded 5 "lint" lint --json --allow '^nginx:' "$T/pods.yaml"
jq -r '"\(.files) \(.references) \(.allowed)", (.findings[] | "\(.line): \(.reference): \(.reason)")' \
	"$T/out" >"$T/got" || ts_fail "lint --json is not JSON: $(head -c 300 "$T/out")"
printf '%s\n' "1 $N $((N - 3))" "$pod_line: ghcr.io/acme/app:v1.0: not pinned by digest" \
	"$helm_line: ghcr.io/acme/app:v1.0: not pinned by digest" >"$T/want"
cmp "$T/want" "$T/got" || { diff "$T/want" "$T/got" | head >&2; ts_fail "lint's counts or findings differ"; }

# pin: exactly the three scalars change, reported in file order
bounded 0 "pin" pin --image "$IMAGE" "$T/pods.yaml"
cmp "$T/expected.yaml" "$T/pods.yaml" ||
	{ diff "$T/expected.yaml" "$T/pods.yaml" | head >&2; ts_fail "the pinned file differs from the expected bytes"; }
printf 'tagseal: %s\n' "$T/pods.yaml:$pod_line: ghcr.io/acme/app:v1.0 -> ghcr.io/acme/app:v1.1@$DIG" \
	"$T/pods.yaml:$helm_line: ghcr.io/acme/app:v1.0 -> ghcr.io/acme/app:v1.1@$DIG" \
	"$T/pods.yaml:$marker_line: ghcr.io/acme/app:v1.0 -> ghcr.io/acme/app:v1.1" >"$T/want"
cmp "$T/want" "$T/err" || { diff "$T/want" "$T/err" >&2; ts_fail "pin's report differs"; }
