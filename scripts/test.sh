#!/usr/bin/env bash
# test.sh - the one test command: install dependencies, build, run every test.
#
# Builds and tests twice: build/ (RelWithDebInfo) and build-asan/ (Debug with
# AddressSanitizer + UndefinedBehaviorSanitizer, where any finding fails the
# test); then builds once more with clang (build-clang/) and runs the unit
# tests there, so the code stays warning-free with both compilers. Every build
# has warnings as errors (-DTAGSEAL_WERROR=ON). Prints ctest's own summaries,
# then one combined line "N passed, N failed, N skipped". Exit status is
# non-zero when any build or test fails.
#
# usage: scripts/test.sh [--quick] [--valgrind] [--tsan] [--no-deps] [--build-dir DIR] [-- CTEST_ARGS...]
#   --quick          only the normal build
#   --valgrind       only the normal build, integration tests with tagseal under valgrind
#   --tsan           only a ThreadSanitizer build (DIR-tsan): any data race fails its test
#   --no-deps        do not run scripts/deps.sh
#   --build-dir DIR  build in DIR and DIR-asan (default: <repo>/build)
#   -- ARGS          extra arguments for ctest, e.g. -- -R integration/test_cli
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JOBS=${TS_JOBS:-2}
quick=0
valgrind=0
tsan=0
deps=1
build_dir=$ROOT/build
ctest_args=()

usage() {
	cat <<'USAGE'
usage: scripts/test.sh [--quick] [--valgrind] [--tsan] [--no-deps] [--build-dir DIR] [-- CTEST_ARGS...]
  --quick          only the normal build
  --valgrind       only the normal build; integration tests run tagseal under valgrind
  --tsan           only a ThreadSanitizer build (DIR-tsan); any data race fails its test
  --no-deps        do not run scripts/deps.sh
  --build-dir DIR  build in DIR and DIR-asan (default: <repo>/build)
  -- ARGS          extra arguments for ctest, e.g. -- -R integration/test_cli
USAGE
}

while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--valgrind) quick=1 valgrind=1 ;;
	--tsan) tsan=1 ;;
	--no-deps) deps=0 ;;
	--build-dir) [ $# -ge 2 ] || { usage >&2; exit 2; }; build_dir=$2; shift ;;
	--build-dir=*) build_dir=${1#*=} ;;
	--) shift; ctest_args=("$@"); break ;;
	-h|--help) usage; exit 0 ;;
	*) printf 'test.sh: unknown option %s\n' "$1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done

# Any sanitizer finding ends the process with a failure and a stack trace.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=0:print_stacktrace=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export CTEST_OUTPUT_ON_FAILURE=1

total_pass=0 total_fail=0 total_skip=0 status=0

# run_build NAME DIR CMAKE_ARGS...: configure, build and test one build tree,
# adding its counts to the totals.
run_build() {
	local name=$1 dir=$2 log
	shift 2
	printf '\n=== %s build in %s ===\n' "$name" "$dir"
	if ! cmake -S "$ROOT" -B "$dir" "$@" ||
	   ! cmake --build "$dir" -j "$JOBS"; then
		printf 'test.sh: %s build failed\n' "$name" >&2
		total_fail=$((total_fail + 1)); status=1
		return
	fi
	log=$dir/ctest-summary.log
	# tests that could not run a part of themselves log it here (ts_skip_part)
	export TS_SKIP_LOG=$dir/skipped-parts.log
	: >"$TS_SKIP_LOG"
	(cd "$dir" && ctest --output-on-failure -j "$JOBS" "${ctest_args[@]}") 2>&1 | tee "$log"
	[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
	count_results "$name" "$log"
	count_skipped_parts "$name" "$TS_SKIP_LOG"
}

# count_skipped_parts NAME LOG: each part a test could not run counts as one
# skipped, and its reason is shown.
count_skipped_parts() {
	local name=$1 log=$2 n
	n=$(grep -c . "$log" 2>/dev/null || true)
	[ "${n:-0}" -gt 0 ] || return 0
	printf '%s build: %s part(s) of tests skipped:\n' "$name" "$n"
	sed 's/^/  /' "$log"
	total_skip=$((total_skip + n))
}

# count_results NAME LOG: parse ctest's summary from LOG into the totals.
count_results() {
	local name=$1 log=$2 line failed=0 total=0 skipped
	line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n1)
	if [ -n "$line" ]; then
		failed=$(sed -E 's/.* ([0-9]+) tests? failed.*/\1/' <<<"$line")
		total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
	elif ! grep -q 'No tests were found' "$log"; then
		printf 'test.sh: no ctest summary for the %s build\n' "$name" >&2
		failed=1; status=1
	elif [ "${#ctest_args[@]}" -eq 0 ]; then
		printf 'test.sh: the %s build has no tests\n' "$name" >&2
		failed=1; status=1
	fi
	skipped=$(grep -cE '^[[:space:]]*[0-9]+ - .*\(Skipped\)' "$log" || true)
	total_fail=$((total_fail + failed))
	total_skip=$((total_skip + skipped))
	total_pass=$((total_pass + total - failed - skipped))
}

if [ "$valgrind" -eq 1 ]; then
	command -v valgrind >/dev/null 2>&1 ||
		{ echo "test.sh: --valgrind needs valgrind (apt-get install valgrind)" >&2; exit 2; }
	# Any valgrind error or definite leak makes tagseal exit 99: a failed test.
	export TS_WRAP="valgrind -q --error-exitcode=99 --suppressions=$ROOT/tests/lib/valgrind.supp --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite"
	[ "${#ctest_args[@]}" -gt 0 ] || ctest_args=(-R '^integration/')
fi

if [ "$deps" -eq 1 ]; then
	bash "$ROOT/scripts/deps.sh" || { echo "test.sh: dependency installation failed" >&2; exit 1; }
fi

if [ "$tsan" -eq 1 ]; then
	# a race report makes tagseal exit 66: a failed test
	export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
	run_build tsan "$build_dir-tsan" -DCMAKE_BUILD_TYPE=Debug -DTAGSEAL_TESTS=ON -DTAGSEAL_WERROR=ON -DTAGSEAL_SANITIZE=OFF -DTAGSEAL_TSAN=ON
	quick=2
else
	run_build normal "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTAGSEAL_TESTS=ON -DTAGSEAL_WERROR=ON -DTAGSEAL_SANITIZE=OFF -DTAGSEAL_TSAN=OFF
fi
if [ "$quick" -eq 0 ]; then
	run_build asan "$build_dir-asan" -DCMAKE_BUILD_TYPE=Debug -DTAGSEAL_TESTS=ON -DTAGSEAL_WERROR=ON -DTAGSEAL_SANITIZE=ON -DTAGSEAL_TSAN=OFF
	# the second compiler: the whole tree must build warning-free with clang
	# too; its unit tests run (the integration tests ran twice above)
	saved_args=("${ctest_args[@]}")
	[ "${#ctest_args[@]}" -gt 0 ] || ctest_args=(-R '^unit/')
	run_build clang "$build_dir-clang" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DTAGSEAL_TESTS=ON -DTAGSEAL_WERROR=ON -DTAGSEAL_SANITIZE=OFF -DTAGSEAL_TSAN=OFF
	ctest_args=("${saved_args[@]}")
fi

summary="$total_pass passed, $total_fail failed, $total_skip skipped"
printf '\n%s\n' "$summary"
[ "$total_fail" -eq 0 ] || status=1
exit "$status"
