#!/usr/bin/env bash
# run_fuzz.sh - run libFuzzer targets on their seed corpora for a bounded time.
#
#   tests/fuzz/run_fuzz.sh BUILD_DIR SECONDS WORK_DIR [TARGET...]
#
# BUILD_DIR is a build configured with -DCMAKE_C_COMPILER=clang -DTAGSEAL_FUZZ=ON
# (targets in BUILD_DIR/tests/fuzz). Each target runs SECONDS seconds
# (-max_total_time) with TS_FUZZ_RSS_MB (512) MiB RSS and 25 s per input, and
# ASan's quarantine at 32 MiB (fast targets otherwise grow past 512 MiB on
# freed memory ASan holds back, not on anything tagseal keeps), starting from
# tests/fuzz/corpus/<target> (read only) plus, for the image targets, the
# ../shared fixtures when present; new inputs go to WORK_DIR/<target>/corpus,
# crashes to WORK_DIR/<target>/crash-*, the log to WORK_DIR/<target>/log.
# Prints one summary line per target; exits 1 if any target found a crash.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?BUILD_DIR}
secs=${2:?SECONDS}
work=${3:?WORK_DIR}
shift 3
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for s in "$here"/fuzz_*.c; do targets+=("$(basename "$s" .c)"); done
fi
shared=$here/../../../shared/fixtures/ggcr
rss=${TS_FUZZ_RSS_MB:-512}
# A small quarantine even when the caller set ASAN_OPTIONS (scripts/test.sh
# does): at ~100k runs a second ASan's default 256 MiB of freed memory fills
# and takes the process past the RSS limit without any leak.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=32"
fail=0
for t in "${targets[@]}"; do
	bin=$build/tests/fuzz/$t
	[ -x "$bin" ] || { echo "$t: not built ($bin)"; fail=1; continue; }
	mkdir -p "$work/$t/corpus"
	seeds=("$here/corpus/$t")
	if [ "$t" = fuzz_image_tar ] && [ -d "$shared" ]; then
		mkdir -p "$work/$t/shared"
		find "$shared" -maxdepth 1 -name '*.tar' -size -2M -exec cp {} "$work/$t/shared/" \;
		seeds+=("$work/$t/shared")
	fi
	rc=0
	"$bin" -max_total_time="$secs" -rss_limit_mb="$rss" -timeout=25 -print_final_stats=1 \
		-artifact_prefix="$work/$t/" "$work/$t/corpus" "${seeds[@]}" >"$work/$t/log" 2>&1 || rc=$?
	last=$(grep -E '^#[0-9]+' "$work/$t/log" | tail -1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t/log")
	if [ "$rc" != 0 ]; then
		fail=1
		echo "$t: FAILED (exit $rc) after ${execs:-?} execs: $(grep -m1 -E 'ERROR|SUMMARY|==[0-9]+==' "$work/$t/log")"
		ls "$work/$t"/crash-* "$work/$t"/leak-* "$work/$t"/timeout-* "$work/$t"/oom-* 2>/dev/null
	else
		echo "$t: ok, ${execs:-?} execs in ${secs}s; ${last#* }"
	fi
done
exit $fail
