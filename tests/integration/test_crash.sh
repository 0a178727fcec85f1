#!/usr/bin/env bash
# test_crash.sh - `kill -9` at random moments of a push never leaves a tag on
# an incomplete image, never leaves a half-written output file, and a re-run
# completes the push.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/fixtures.sh"
ts_need skopeo umoci jq python3

registry_start
fixture_docker_archive "$T/img.tar" crash/app:1 3 31
export TAGSEAL_CACHE_DIR=$T/cache
# how long a whole push takes here, to spread the kills over it
start=$(date +%s%N)
"$TAGSEAL" push -q "$T/img.tar" --repo "$REGISTRY/crash/probe" --tag p >/dev/null
full_ms=$(( ($(date +%s%N) - start) / 1000000 + 1 ))
echo "a full push takes ${full_ms} ms"

for round in $(seq 1 12); do
	repo=$REGISTRY/crash/r$round
	rm -rf "$T/cache"
	delay=$(python3 -c "import random; random.seed($round); print(random.uniform(0, $full_ms) / 1000)")
	"$TAGSEAL" push -q "$T/img.tar" --repo "$repo" --tag t --digest-file "$T/d$round" \
		--metadata-file "$T/m$round.json" --record "$T/rec.jsonl" >/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	# the tag is absent, or the complete image is under it
	if skopeo inspect --raw --tls-verify=false "docker://$repo:t" >/dev/null 2>&1; then
		registry_pull_verify "$repo:t" "$T/pull$round" >/dev/null
		state=tagged
	else
		state=untagged
	fi
	# outputs are whole or absent
	[ ! -e "$T/d$round" ] || grep -qxE 'sha256:[0-9a-f]{64}' "$T/d$round" || ts_fail "round $round: torn digest file"
	[ ! -e "$T/m$round.json" ] || jq -e .digest "$T/m$round.json" >/dev/null || ts_fail "round $round: torn metadata"
	# a re-run completes
	run_ts 0 push "$T/img.tar" --repo "$repo" --tag t --record "$T/rec.jsonl"
	registry_pull_verify "$repo:t" "$T/pull$round" >/dev/null
	echo "round $round: killed after ${delay}s: $state; re-run completed"
done
run_ts 0 verify --record "$T/rec.jsonl"
