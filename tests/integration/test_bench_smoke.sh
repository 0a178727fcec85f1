#!/usr/bin/env bash
# test_bench_smoke.sh - the push benchmarks (tests/bench/push.sh, and net.sh
# through the slow proxy) run end to end on a small input
# (its figures are not checked: speed is measured by tests/bench/push.sh, not
# by timed tests).
. "$(dirname "$0")/../lib/common.sh"
ts_need skopeo jq curl /usr/bin/time
bash "$TS_SOURCE_DIR/tests/bench/push.sh" --small --runs 1 >"$T/bench.out" 2>"$T/bench.err" ||
	{ cat "$T/bench.err" "$T/bench.out" >&2; ts_fail "tests/bench/push.sh --small failed"; }
cat "$T/bench.out"
assert_contains "$T/bench.out" "tagseal docker-save"
assert_contains "$T/bench.out" "floor: parallel curl"
bash "$TS_SOURCE_DIR/tests/bench/net.sh" --small >"$T/net.out" 2>"$T/net.err" ||
	{ cat "$T/net.err" "$T/net.out" >&2; ts_fail "tests/bench/net.sh --small failed"; }
cat "$T/net.out"
assert_contains "$T/net.out" "tagseal second repository"
assert_contains "$T/net.out" "floor: parallel curl"
