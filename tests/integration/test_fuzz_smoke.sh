#!/usr/bin/env bash
# test_fuzz_smoke.sh - build the libFuzzer targets (tests/fuzz) with clang and
# run each one briefly on its seed corpus: every seed must pass, and a short
# bounded run (TS_FUZZ_SECONDS, default 10 s per target, 512 MiB RSS) must
# find nothing. Skips when clang or libFuzzer is missing.
#
# The fuzz build lives in $TS_BUILD_DIR/fuzz-smoke (kept between runs, so
# only the first run compiles the library; ~1.5 min on 2 cores), or in
# TS_FUZZ_BUILD_DIR when set.
. "$(dirname "$0")/../lib/common.sh"
ts_need clang cmake
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
	>"$T/probe.c"
clang -fsanitize=fuzzer,address,undefined "$T/probe.c" -o "$T/probe" >/dev/null 2>&1 ||
	ts_skip "clang cannot link libFuzzer (install libclang-rt-14-dev or clang's compiler-rt)"

build=${TS_FUZZ_BUILD_DIR:-$TS_BUILD_DIR/fuzz-smoke}
secs=${TS_FUZZ_SECONDS:-10}
if ! cmake -S "$TS_SOURCE_DIR" -B "$build" -DCMAKE_C_COMPILER=clang -DTAGSEAL_FUZZ=ON \
	-DTAGSEAL_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$T/cmake.log" 2>&1 ||
	! cmake --build "$build" -j2 --target fuzz_all >>"$T/cmake.log" 2>&1; then
	tail -40 "$T/cmake.log" >&2
	ts_fail "building the fuzz targets failed"
fi

if ! bash "$TS_SOURCE_DIR/tests/fuzz/run_fuzz.sh" "$build" "$secs" "$T/work" >"$T/summary" 2>&1; then
	cat "$T/summary" >&2
	for log in "$T"/work/*/log; do
		grep -q -E 'ERROR|SUMMARY' "$log" || continue
		echo "--- $log" >&2
		grep -m1 -A30 -E '==[0-9]+== ?ERROR' "$log" >&2
	done
	ts_fail "a fuzz target failed (crash inputs are in the logs above)"
fi
cat "$T/summary"
echo "test_fuzz_smoke: $(wc -l <"$T/summary") targets, ${secs}s each, nothing found"
