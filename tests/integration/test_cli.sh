#!/usr/bin/env bash
# test_cli.sh - the command-line front end: --version, help, usage errors.
. "$(dirname "$0")/../lib/common.sh"
[ -x "$TAGSEAL" ] || ts_fail "TAGSEAL=$TAGSEAL is not an executable"

run_ts 0 --version
grep -Ex 'tagseal [0-9]+\.[0-9]+\.[0-9]+' "$T/out" >/dev/null ||
	ts_fail "--version printed '$(cat "$T/out")', expected 'tagseal X.Y.Z'"
assert_eq "$(wc -l <"$T/out")" 1 "--version lines"

run_ts 0 help
assert_contains "$T/out" "usage: tagseal"
for cmd in push tag pin verify lint inspect keygen sign attest; do
	assert_contains "$T/out" "$cmd"
done

run_ts 2 no-such-command
assert_one_line "$T/err"
assert_contains "$T/err" "no-such-command"
[ ! -s "$T/out" ] || ts_fail "an unknown command printed to stdout"

run_ts 2 help no-such-command
assert_one_line "$T/err"
assert_contains "$T/err" "no-such-command"

run_ts 2
echo "cli ok"
