#!/usr/bin/env bash
# test_bounds_tags.sh - tag-list pagination is bounded (issue 13, item 6).
# A registry (hostile, answering by itself, Basic credentials required) whose
# tags/list pages link back to themselves, and one whose pages are 8 MiB of
# ~700k tags each, linking on without end: `tagseal tag --repo` ends with
# exit 4 within a few seconds and within a memory bound (peak RSS measured
# with /usr/bin/time), where the old client looped for minutes or grew to GBs.
# The client's memory is also capped from outside (ASan's hard_rss_limit_mb,
# or ulimit -v without ASan) so a regression cannot take the machine down.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/hostile.sh"
ts_need python3 timeout
[ -x /usr/bin/time ] || ts_skip "/usr/bin/time not installed"

unset GITHUB_TOKEN GITHUB_ACTOR CI_REGISTRY CI_REGISTRY_USER CI_REGISTRY_PASSWORD CI_JOB_TOKEN
export DOCKER_CONFIG=$T/docker-none
export TAGSEAL_USERNAME=alice TAGSEAL_PASSWORD='bounds-Secret 6'
printf 'alice:%s' "$TAGSEAL_PASSWORD" >"$T/basic"

# peak RSS allowed (KiB): a sanitizer build keeps freed memory in quarantine
if grep -q __asan_init "$TAGSEAL" 2>/dev/null; then
	RSS_MAX=$((640 * 1024))
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}hard_rss_limit_mb=1200
	VMEM_CAP=unlimited
else
	RSS_MAX=$((256 * 1024))
	VMEM_CAP=$((2 * 1024 * 1024))
fi
MAX_SECONDS=20

# bounded_tag NAME: `tagseal tag --repo` against hostile registry NAME; exit 4
# within MAX_SECONDS and RSS_MAX (the run itself is cut at 30 s).
bounded_tag() {
	local host=${!1} log=${1}_LOG rc=0 start end rss elapsed bad=
	start=$(date +%s%N)
	(ulimit -v "$VMEM_CAP"; exec /usr/bin/time -f %M -o "$T/rss" timeout -k 5 30 \
		"$TAGSEAL" tag --tag 1.0.1 --repo "$host/team/app" --timeout 10) \
		>"$T/out" 2>"$T/err" </dev/null || rc=$?
	end=$(date +%s%N)
	rss=$(tail -n 1 "$T/rss")
	elapsed=$(((end - start) / 1000000))
	grep -q "tags/list.* auth=yes:Basic" "${!log}" ||
		ts_fail "$1: the tag list was never asked for with credentials"
	[ "$rc" = 4 ] || bad="$bad exit $rc (want 4);"
	[ "$rc" != 4 ] || [ "$(grep -c '^tagseal: error:' "$T/err")" = 1 ] || bad="$bad not one error line;"
	[ "$elapsed" -le $((MAX_SECONDS * 1000)) ] || bad="$bad ${elapsed} ms (limit ${MAX_SECONDS} s);"
	[ "$rss" -le "$RSS_MAX" ] || bad="$bad peak RSS ${rss} KiB (limit ${RSS_MAX} KiB);"
	[ -z "$bad" ] && return 0
	grep -v "^[[:space:]]*0x" "$T/err" | tail -n 3 >&2
	ts_fail "$1: tag --repo:$bad $(grep -c tags/list "${!log}") tags/list requests"
}

hostile_start --name LOOP --basic-file "$T/basic" --mode tags-loop
check bounded_tag LOOP

# a bounded server too: 400 pages (3 GiB) at most, then 500
hostile_start --name HUGE --basic-file "$T/basic" --mode tags-huge=400 --lifetime 90
check bounded_tag HUGE
check_done
