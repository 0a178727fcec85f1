#!/usr/bin/env bash
# test_record_concurrency.sh - 8 'tagseal push --record' processes appending
# to one record at the same time (3 rounds) leave a record of whole lines
# whose chain holds: checked by 'tagseal verify' and by an independent
# reading of the chain rule in Python. (tests/unit/test_record.c does the
# same through the library with forked writers.) Each writer pushes to its
# own repository: concurrent pushes of one manifest into one repository of
# docker-registry sometimes fail with MANIFEST_BLOB_UNKNOWN, which is not
# what this test is about.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
TAGSEAL=$(realpath "$TAGSEAL") # the test changes directory
. "$TS_LIB_DIR/fixtures.sh"
ts_need skopeo umoci jq python3
IMG=$T/img.tar
fixture_docker_archive "$IMG" concurrency/app:1 2 73
"$TAGSEAL" push --help 2>&1 | grep -- '--record' >/dev/null || ts_skip "'tagseal push --record' not available"

registry_start
R=$REGISTRY/concurrency/app
REC=$T/record.jsonl
fixture_git_repo "$T/src" v1.0.0
cd "$T/src"
WRITERS=8
ROUNDS=3

for round in $(seq 1 $ROUNDS); do
	pids=()
	for w in $(seq 1 $WRITERS); do
		"$TAGSEAL" push "$IMG" --repo "$R-$w" --tag "r$round-w$w" --record "$REC" \
			>"$T/out.$round.$w" 2>"$T/err.$round.$w" &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[i]}" || {
			cat "$T/err.$round.$((i + 1))" >&2
			ts_fail "push r$round-w$((i + 1)) failed"
		}
	done
done

N=$((WRITERS * ROUNDS))
assert_eq "$(wc -l <"$REC")" "$N" "lines in the record"
[ "$(tail -c1 "$REC" | od -An -c | tr -d ' ')" = '\n' ] || ts_fail "the record does not end in a newline"

# The chain rule, read independently: prev of line 1 is null, prev of line
# n is sha256 of line n-1's bytes without its newline.
python3 - "$REC" <<-'EOF'
import hashlib, json, sys
prev = None
for n, line in enumerate(open(sys.argv[1], "rb").read().split(b"\n")[:-1], 1):
    obj = json.loads(line)
    assert obj["prev"] == prev, "line %d: prev %r, expected %r" % (n, obj["prev"], prev)
    prev = "sha256:" + hashlib.sha256(line).hexdigest()
EOF
jq -r .tag "$REC" | sort >"$T/tags"
for round in $(seq 1 $ROUNDS); do
	for w in $(seq 1 $WRITERS); do echo "r$round-w$w"; done
done | sort >"$T/want"
cmp -s "$T/tags" "$T/want" || ts_fail "recorded tags differ: $(diff "$T/want" "$T/tags")"

run_ts 0 verify --record "$REC" --jobs 8
assert_contains "$T/err" "chain intact, $N tag(s), $N checked"
echo "ok: $N concurrent appends keep one valid chain"
