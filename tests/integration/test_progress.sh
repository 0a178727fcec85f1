#!/usr/bin/env bash
# test_progress.sh - the progress display of push and verify (src/cli/progress.c)
# against a real registry: through a pipe, plain lines (one as each layer starts
# and one as it finishes, named by index/count, short digest and size; a
# summary with bytes sent, layers skipped or mounted, time and rate); on a real
# terminal (util-linux `script` gives tagseal a pty), live lines redrawn in
# place with bytes, percentage, rate and ETA, then the same summary; TERM=dumb
# gives the plain lines; a long layer (a slow uplink: the fault proxy's
# throttle) gets a line at most every 10 s in a pipe; -q silences it all; stdout only ever holds the
# reference (push) or the findings (verify); no colour, NO_COLOR or not.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/fixtures.sh"
. "$TS_LIB_DIR/faultproxy.sh"
ts_need skopeo umoci jq script

registry_start

# a docker save tarball (uncompressed layers, compressed on the way) whose
# first layer is big enough (80 MiB) for the rate and ETA to show
TS_FIXTURE_BIG_MIB=80 fixture_docker_archive "$T/big.tar" app:v1 3 41
fixture_oci_layout "$T/layout" v1 3 42
cfg=$(tar -xOf "$T/big.tar" manifest.json | jq -r '.[0].Config')
mapfile -t diff_ids < <(tar -xOf "$T/big.tar" "$cfg" | jq -r '.rootfs.diff_ids[]')
[ "${#diff_ids[@]}" = 3 ] || ts_fail "fixture: expected 3 layers, got ${#diff_ids[@]}"
short() { local h=${1#sha256:}; echo "${h:0:12}"; }

# push_pipe NAME ARGS...: push with stdout and stderr both pipes; check that
# stdout is only the reference and that stderr has no terminal control.
push_pipe() {
	local name=$1
	shift
	"$TAGSEAL" push "$@" --repo "$REGISTRY/prog/$name" --tag t1 2>&1 >"$T/$name.out" |
		cat >"$T/$name.err"
	[ "$(wc -l <"$T/$name.out")" = 1 ] && grep -qE "^$REGISTRY/prog/$name:t1@sha256:[0-9a-f]{64}\$" "$T/$name.out" ||
		ts_fail "$name: stdout is not just the reference: $(cat "$T/$name.out")"
	if LC_ALL=C grep -q $'[\r\x1b]' "$T/$name.err"; then
		cat -A "$T/$name.err" >&2
		ts_fail "$name: terminal control characters in a pipe"
	fi
}

# count FILE ERE: lines of FILE matching ERE
count() { grep -cE -- "$2" "$1" || true; }

# ---- (a) a pipe: plain lines ----
push_pipe big "$T/big.tar" --record "$T/rec.jsonl"
E=$T/big.err
for i in 1 2 3; do
	d=$(short "${diff_ids[$((i - 1))]}")
	start="^tagseal: layer $i/3 $d \\([0-9.]+ [kM]?B\\): compressing\$"
	finish="^tagseal: layer $i/3 $d \\([0-9.]+ [kM]?B\\): compressed and uploaded in [0-9.]+s.*, as [0-9a-f]{12} \\([0-9.]+ [kM]?B\\)\$"
	[ "$(count "$E" "$start")" = 1 ] || { cat "$E" >&2; ts_fail "layer $i: not one start line"; }
	[ "$(count "$E" "$finish")" = 1 ] || { cat "$E" >&2; ts_fail "layer $i: not one finish line"; }
	[ "$(count "$E" "^tagseal: layer $i/3 ")" = 2 ] || { cat "$E" >&2; ts_fail "layer $i: more than start and finish"; }
done
# the big layer: its size and its rate
grep -qE "^tagseal: layer 1/3 $(short "${diff_ids[0]}") \\(8[0-9] MB\\): compressing$" "$E" || ts_fail "the big layer's size"
grep -qE "^tagseal: layer 1/3 .*: compressed and uploaded in [0-9.]+s \\([0-9.]+ [kM]B/s\\)" "$E" ||
	{ cat "$E" >&2; ts_fail "the big layer's finish line has no rate"; }
grep -qE '^tagseal: config 1/1 [0-9a-f]{12} \([0-9]+ B\): in the registry$' "$E" || ts_fail "no config line"
grep -qE '^tagseal: manifest 1/1 [0-9a-f]{12} \([0-9]+ B\): in the registry$' "$E" || ts_fail "no manifest line"
grep -qE '^tagseal: sent [0-9.]+ MB in [0-9.]+s \([0-9.]+ [kM]B/s\); layers: 3 uploaded, 0 skipped \(already in the registry\)$' "$E" ||
	{ cat "$E" >&2; ts_fail "no summary line with bytes, time and rate"; }
echo "ok: a pipe gets a start and a finish line per layer and a summary"

# the same image under another tag: every layer is skipped (the layer cache
# knows the file and its digests; the registry has the blobs)
"$TAGSEAL" push "$T/big.tar" --repo "$REGISTRY/prog/big" --tag t2 2>"$T/t2.err" >/dev/null
assert_eq "$(count "$T/t2.err" '^tagseal: layer [1-3]/3 [0-9a-f]{12} \(.*\): skipped, already in the registry$')" 3 \
	"skipped layers"
assert_contains "$T/t2.err" "layers: 0 uploaded, 3 skipped (already in the registry)"
# into another repository of the same registry, mounted from the first
push_pipe big2 "$T/big.tar" --mount-from "$REGISTRY/prog/big"
assert_eq "$(count "$T/big2.err" '^tagseal: layer [1-3]/3 [0-9a-f]{12} .*: mounted from another repository, not sent$')" 3 \
	"mounted layers"
assert_contains "$T/big2.err" "layers: 0 uploaded, 0 skipped (already in the registry), 3 mounted"
echo "ok: skipped and mounted layers are named and counted"

# layers already compressed go up in parallel: each still gets its two lines
push_pipe layout "$T/layout" --jobs 3
assert_eq "$(count "$T/layout.err" '^tagseal: layer [1-3]/3 [0-9a-f]{12} \(.*\): uploading$')" 3 "parallel start lines"
assert_eq "$(count "$T/layout.err" '^tagseal: layer [1-3]/3 [0-9a-f]{12} \(.*\): uploaded in ')" 3 "parallel finish lines"
echo "ok: parallel layers"

# --dry-run: layers read to compute their digests, and a summary saying nothing was sent
"$TAGSEAL" push "$T/big.tar" --repo "$REGISTRY/prog/dry" --tag t1 --dry-run --no-cache 2>"$T/dry.err" >/dev/null
assert_eq "$(count "$T/dry.err" '^tagseal: layer [1-3]/3 [0-9a-f]{12} \(.*\): compressed \(not sent\) in ')" 3 "dry-run layers"
grep -qE '^tagseal: nothing sent: 3 layer\(s\) read to compute their digests in [0-9.]+s$' "$T/dry.err" ||
	{ cat "$T/dry.err" >&2; ts_fail "dry run: no summary saying nothing was sent"; }

# a long layer through a pipe: a line with its figures at most every 10 s
# (a 16 MiB layer through a 1.2 MB/s uplink takes about 14 s)
TS_FIXTURE_BIG_MIB=16 fixture_oci_layout "$T/slow" v1 1 43
faultproxy_start "$REGISTRY_URL" --quirks throttle=1200000
start=$SECONDS
"$TAGSEAL" push "$T/slow" --repo "$PROXY/prog/slow" --tag t1 2>"$T/slow.err" >/dev/null
took=$((SECONDS - start))
faultproxy_stop
mid='^tagseal: layer 1/1 [0-9a-f]{12} \([0-9.]+ MB\): uploading [0-9.]+ [kM]?B of [0-9.]+ MB \([0-9]+%\), [0-9.]+ [kM]B/s, ETA [0-9.ms]+$'
n=$(count "$T/slow.err" "$mid")
# (the running line follows the bytes read from the image, which run a few
# MB ahead of the wire: when the reading ends early there may be none)
if [ "$n" -gt $((took / 10)) ]; then
	cat "$T/slow.err" >&2
	ts_fail "a ${took}s layer got $n running lines, expected at most $((took / 10))"
fi
assert_eq "$(count "$T/slow.err" '^tagseal: layer 1/1 ')" $((n + 2)) "start, running and finish lines"
echo "ok: a long layer gets $n running line(s) in ${took}s"

# ---- (b) a real terminal ----
# script runs tagseal on a pty; stdout goes to a file, stderr stays on the pty
# and reaches script's output (typescript /dev/null).
on_tty() {
	local out=$1
	shift
	script -q -e -c "$(printf '%q ' "$@") >$(printf '%q' "$out")" /dev/null </dev/null
}
TERM=xterm on_tty "$T/tty.out" "$TAGSEAL" push "$T/big.tar" --repo "$REGISTRY/prog/tty" --tag t1 --no-cache \
	>"$T/tty.err"
grep -qE "^$REGISTRY/prog/tty:t1@sha256:[0-9a-f]{64}\$" "$T/tty.out" && [ "$(wc -l <"$T/tty.out")" = 1 ] ||
	ts_fail "terminal: stdout is not just the reference: $(cat "$T/tty.out")"
# the live line of layer 1, redrawn in place: carriage return, cursor up,
# bytes, percentage, rate, ETA
redraws=$(LC_ALL=C grep -c $'\x1b\\[1A\r  layer 1/3 [0-9a-f]\\{12\\} (8[0-9] MB) compressing  *[0-9.]* [kM]\\?B [0-9]*%' "$T/tty.err" || true)
[ "$redraws" -ge 2 ] || { cat -A "$T/tty.err" >&2; ts_fail "terminal: layer 1 not redrawn in place ($redraws)"; }
LC_ALL=C grep -qE $'\r  layer 1/3 .* [0-9]+% [0-9.]+ [kM]B/s ETA [0-9.]+s' "$T/tty.err" ||
	{ cat -A "$T/tty.err" >&2; ts_fail "terminal: no rate and ETA on the live line"; }
LC_ALL=C grep -qE $'\rtagseal: sent [0-9.]+ MB in [0-9.]+s \\([0-9.]+ [kM]B/s\\); layers: 3 uploaded, 0 skipped \\(already in the registry\\)' "$T/tty.err" ||
	{ cat -A "$T/tty.err" >&2; ts_fail "terminal: no closing summary"; }
LC_ALL=C grep -qE $'\rtagseal: layer 3/3 [0-9a-f]{12} .*: compressed and uploaded in' "$T/tty.err" ||
	ts_fail "terminal: no finished line for layer 3"
if LC_ALL=C grep -qE $'\x1b\\[[0-9;]*m' "$T/tty.err"; then ts_fail "terminal: colour used"; fi
NO_COLOR=1 TERM=xterm on_tty "$T/nc.out" "$TAGSEAL" push "$T/layout" --repo "$REGISTRY/prog/nc" --tag t1 --no-cache >"$T/nc.err"
if LC_ALL=C grep -qE $'\x1b\\[[0-9;]*m' "$T/nc.err"; then ts_fail "NO_COLOR: colour used"; fi
assert_contains "$T/nc.err" "layers: 3 uploaded"
echo "ok: a terminal gets live lines redrawn in place and the summary"

# TERM=dumb: a terminal that cannot move the cursor gets the plain lines
TERM=dumb on_tty "$T/dumb.out" "$TAGSEAL" push "$T/layout" --repo "$REGISTRY/prog/dumb" --tag t1 --no-cache >"$T/dumb.err"
if LC_ALL=C grep -q $'\x1b' "$T/dumb.err"; then cat -A "$T/dumb.err" >&2; ts_fail "TERM=dumb: escape sequences"; fi
assert_eq "$(count "$T/dumb.err" 'tagseal: layer [1-3]/3 [0-9a-f]{12} \(.*\): uploaded in ')" 3 "TERM=dumb finish lines"
echo "ok: TERM=dumb gets plain lines"

# ---- (c) -q: no progress at all, on a pipe or a terminal ----
"$TAGSEAL" push "$T/big.tar" --repo "$REGISTRY/prog/quiet" --tag t1 --no-cache -q 2>"$T/q.err" >"$T/q.out"
[ ! -s "$T/q.err" ] || ts_fail "-q printed on stderr: $(cat "$T/q.err")"
TERM=xterm on_tty "$T/qt.out" "$TAGSEAL" push "$T/layout" --repo "$REGISTRY/prog/quiet2" --tag t1 -q >"$T/qt.err"
[ -z "$(tr -d '\r\n' <"$T/qt.err")" ] || { cat -A "$T/qt.err" >&2; ts_fail "-q printed on a terminal"; }
echo "ok: -q silences progress"

# ---- (d) stdout: only the reference, whatever stderr is ----
"$TAGSEAL" push "$T/layout" --repo "$REGISTRY/prog/split" --tag t1 -v 2>/dev/null >"$T/split.out"
assert_eq "$(cat "$T/split.out")" "$(grep -E "^$REGISTRY/prog/split:t1@sha256:[0-9a-f]{64}\$" "$T/split.out")" \
	"stdout with -v"
[ "$(wc -l <"$T/split.out")" = 1 ] || ts_fail "stdout has more than the reference: $(cat "$T/split.out")"
echo "ok: progress never on stdout"

# ---- verify: the same display ----
"$TAGSEAL" verify --record "$T/rec.jsonl" 2>"$T/v.err" >"$T/v.out"
[ ! -s "$T/v.out" ] || ts_fail "verify of an intact record printed on stdout: $(cat "$T/v.out")"
assert_contains "$T/v.err" "tagseal: checking 1 tag(s) in their registries"
grep -qE '^tagseal: checked 1/1 tags in [0-9.]+s' "$T/v.err" || { cat "$T/v.err" >&2; ts_fail "verify: no summary"; }
TERM=xterm on_tty "$T/vt.out" "$TAGSEAL" verify --record "$T/rec.jsonl" >"$T/vt.err"
[ ! -s "$T/vt.out" ] || ts_fail "verify on a terminal printed on stdout: $(cat "$T/vt.out")"
LC_ALL=C grep -q $'\r  checked [01]/1 tags' "$T/vt.err" || { cat -A "$T/vt.err" >&2; ts_fail "verify: no live line"; }
LC_ALL=C grep -qE $'\rtagseal: checked 1/1 tags in' "$T/vt.err" || { cat -A "$T/vt.err" >&2; ts_fail "verify: no summary on a terminal"; }
"$TAGSEAL" verify --record "$T/rec.jsonl" -q 2>"$T/vq.err" >/dev/null
[ ! -s "$T/vq.err" ] || ts_fail "verify -q printed: $(cat "$T/vq.err")"
echo "ok: verify shows the same display"
