#!/usr/bin/env bash
# test_bounds_time.sh - --timeout bounds each request, not only transfers
# below 1 byte/s (issue 13, item 7, the request part). A hostile registry
# sending its /v2/ answer at 2.5 bytes/s, and one answering every request
# with an error body that never ends (chunked, read past any cap): `tagseal
# push --timeout 3` ends with exit 4 within 20 s, one error line.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/hostile.sh"
. "$TS_LIB_DIR/fixtures.sh"
ts_need python3 timeout skopeo umoci jq

unset GITHUB_TOKEN GITHUB_ACTOR CI_REGISTRY CI_REGISTRY_USER CI_REGISTRY_PASSWORD CI_JOB_TOKEN
export DOCKER_CONFIG=$T/docker-none
export TAGSEAL_USERNAME=alice TAGSEAL_PASSWORD='time-Secret 7'
printf 'alice:%s' "$TAGSEAL_PASSWORD" >"$T/basic"
fixture_oci_archive "$T/img.tar" v1 1 71 >/dev/null
MAX_SECONDS=20

# bounded_push NAME [ARGS...]: push to hostile registry NAME with --timeout 3
# and no retries; exit 4 within MAX_SECONDS (the run itself is cut at 25 s).
bounded_push() {
	local host=${!1} log=${1}_LOG rc=0 start elapsed bad=
	start=$(date +%s%N)
	timeout -k 5 25 "$TAGSEAL" push "$T/img.tar" --repo "$host/team/app" --tag v1 \
		--timeout 3 --retries 0 "${@:2}" >"$T/out" 2>"$T/err" </dev/null || rc=$?
	elapsed=$((($(date +%s%N) - start) / 1000000))
	[ -s "${!log}" ] || ts_fail "$1: the push never reached the hostile registry"
	[ "$rc" = 4 ] || bad="$bad exit $rc (want 4);"
	[ "$rc" != 4 ] || [ "$(grep -c '^tagseal: error:' "$T/err")" = 1 ] || bad="$bad not one error line;"
	[ "$elapsed" -le $((MAX_SECONDS * 1000)) ] || bad="$bad ${elapsed} ms (limit ${MAX_SECONDS} s);"
	[ -z "$bad" ] && return 0
	tail -n 3 "$T/err" | cut -c1-300 >&2
	ts_fail "$1: push --timeout 3:$bad"
}

hostile_start --name SLOW --basic-file "$T/basic" --mode slow-v2=2.5 --lifetime 90
check bounded_push SLOW
hostile_start --name ENDLESS --basic-file "$T/basic" --mode endless-error --lifetime 90
check bounded_push ENDLESS
check_done
