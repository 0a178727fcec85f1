# common.sh - shared setup and assertions for integration tests (sourced).
#
# Sourcing this file:
#   - turns on `set -euo pipefail`;
#   - makes a per-test temporary directory $T, removed on exit;
#   - runs every cleanup registered with ts_defer on exit, last first
#     (registry_start and other helpers register their own);
#   - sets TS_SOURCE_DIR and TAGSEAL when the test is run by hand
#     (defaults: the repository and build/tagseal);
#   - with TS_WRAP set (e.g. "valgrind -q --error-exitcode=99"), makes
#     $TAGSEAL a wrapper that runs tagseal under that command.
# Exit codes follow ctest's convention: 0 pass, 77 skip, anything else fail.
set -euo pipefail

TS_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${TS_SOURCE_DIR:=$(cd "$TS_LIB_DIR/../.." && pwd)}"
: "${TS_BUILD_DIR:=$TS_SOURCE_DIR/build}"
: "${TAGSEAL:=$TS_BUILD_DIR/tagseal}"
export TS_SOURCE_DIR TS_BUILD_DIR TAGSEAL
TS_TEST_NAME=$(basename "$0" .sh)

T=$(mktemp -d "${TMPDIR:-/tmp}/$TS_TEST_NAME.XXXXXX")
# every test has its own layer cache, so no test sees another's (or the user's)
export TAGSEAL_CACHE_DIR=${TAGSEAL_CACHE_DIR:-$T/cache}
TS_CLEANUPS=()

# TS_WRAP="valgrind ..." runs every tagseal of the test under that command,
# through a wrapper script that $TAGSEAL then names.
if [ -n "${TS_WRAP:-}" ]; then
	mkdir "$T/.wrap"
	printf '#!/bin/sh\nexec %s %q "$@"\n' "$TS_WRAP" "$TAGSEAL" >"$T/.wrap/tagseal"
	chmod +x "$T/.wrap/tagseal"
	TAGSEAL=$T/.wrap/tagseal
fi

# ts_defer CMD...: run CMD (one string, eval'd) when the test exits.
ts_defer() { TS_CLEANUPS+=("$*"); }

_ts_on_exit() {
	local rc=$? i
	set +e
	for ((i = ${#TS_CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${TS_CLEANUPS[i]}" >/dev/null 2>&1
	done
	if [ -n "${TS_KEEP:-}" ]; then
		echo "kept test directory $T" >&2
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap _ts_on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ts_skip WHY: skip this test (ctest shows it as skipped).
ts_skip() {
	echo "SKIP: $*" >&2
	exit 77
}

# ts_skip_part WHY: this test could not run a part of itself (a tool or
# ../shared absent); it goes on with the rest. The reason is logged and,
# when scripts/test.sh runs the suite (TS_SKIP_LOG set), counted in its
# summary line as skipped.
ts_skip_part() {
	echo "SKIP (part): $*" >&2
	if [ -n "${TS_SKIP_LOG:-}" ]; then
		printf '%s: %s\n' "$(basename "$0" .sh)" "$*" >>"$TS_SKIP_LOG"
	fi
}

# ts_fail WHY: fail this test, naming the test's line that led here (the
# first caller outside tests/lib).
ts_fail() {
	local j=1
	while [ $j -lt $((${#BASH_SOURCE[@]} - 1)) ] && [[ ${BASH_SOURCE[j]} == *lib/*.sh ]] &&
	      [ -f "$TS_LIB_DIR/${BASH_SOURCE[j]##*/}" ]; do
		j=$((j + 1))
	done
	echo "FAIL ($(basename "${BASH_SOURCE[j]:-$0}"):${BASH_LINENO[j - 1]}): $*" >&2
	exit 1
}

# ts_need CMD...: skip unless every CMD is on PATH.
ts_need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || ts_skip "$c not installed"
	done
}

# ts_shared_dir: echo the shared test data directory (../shared), or skip.
ts_shared_dir() {
	local d=$TS_SOURCE_DIR/../shared
	[ -d "$d" ] || ts_skip "../shared absent"
	(cd "$d" && pwd)
}

# ts_free_port: echo a TCP port on 127.0.0.1 that was free a moment ago.
ts_free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# ts_watch PID: kill PID when this test's shell is gone, even if it was
# killed without running its exit trap (ctest timeout, kill -9).
ts_watch() {
	local pid=$1 owner=$$
	(
		trap '' TERM INT
		while kill -0 "$owner" 2>/dev/null && kill -0 "$pid" 2>/dev/null; do
			sleep 2
		done
		kill "$pid" 2>/dev/null
	) </dev/null >/dev/null 2>&1 &
	disown $! 2>/dev/null || true
}

# ts_kill PID: stop PID (TERM, then KILL after 5 s) and reap it.
ts_kill() {
	local pid=$1 i
	kill "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# run_ts EXPECTED_EXIT ARGS...: run "$TAGSEAL" ARGS with stdout in $T/out and
# stderr in $T/err; fail (showing both) unless it exits with EXPECTED_EXIT.
# Stdin is passed through, so `run_ts 0 push ... --password-stdin <<<"$pw"`
# works. The exit code is left in $TS_RC.
run_ts() {
	local want=$1
	shift
	TS_RC=0
	"$TAGSEAL" "$@" >"$T/out" 2>"$T/err" || TS_RC=$?
	if [ "$TS_RC" != "$want" ]; then
		{
			echo "tagseal $*"
			echo "exit $TS_RC, expected $want"
			echo "--- stdout"; cat "$T/out"
			echo "--- stderr"; cat "$T/err"
		} >&2
		ts_fail "tagseal $1 exited $TS_RC, expected $want"
	fi
}

# assert_contains FILE TEXT: FILE contains TEXT (a fixed string).
assert_contains() {
	grep -qF -- "$2" "$1" && return 0
	{ echo "--- $1"; cat "$1"; } >&2
	ts_fail "$1 does not contain '$2'"
}

# assert_not_contains FILE TEXT: FILE does not contain TEXT (a fixed string).
assert_not_contains() {
	grep -qF -- "$2" "$1" || return 0
	{ echo "--- $1"; cat "$1"; } >&2
	ts_fail "$1 contains '$2'"
}

# assert_eq A B [WHAT]: A and B are the same string.
assert_eq() {
	[ "$1" = "$2" ] || ts_fail "${3:-values differ}: '$1' != '$2'"
}

# TS_PROGRESS_ERE: the plain lines of push's and verify's progress display
# (src/cli/progress.c) on stderr - the image's layers and their state, configs,
# manifests, the summary - which precede an error that comes after a push began.
TS_PROGRESS_ERE='^tagseal: (image: [0-9]+ layer\(s\), |layer [0-9]+/[0-9]+ [0-9a-f?]{1,12} \(|(config|manifest) [0-9]+/[0-9]+ [0-9a-f?]{1,12} \(|sent [0-9.]+ [kMGT]?B in .*; layers: |nothing sent: [0-9]+ layer\(s\) read |checking [0-9]+ tag\(s\) in their registries$|checked [0-9]+/[0-9]+ tags)'

# assert_one_line FILE: FILE is exactly one non-empty line (an error message),
# apart from progress lines (TS_PROGRESS_ERE).
assert_one_line() {
	local n
	n=$(grep -vE -- "$TS_PROGRESS_ERE" "$1" | awk 'END { print NR }')
	if [ "$n" != 1 ] || [ -z "$(grep -vE -- "$TS_PROGRESS_ERE" "$1" | tr -d '[:space:]')" ]; then
		{ echo "--- $1"; cat "$1"; } >&2
		ts_fail "$1 has $n lines, expected exactly one"
	fi
}
