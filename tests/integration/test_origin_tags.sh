#!/usr/bin/env bash
# test_origin_tags.sh - a tags/list page whose Link next page is on another
# host (issue 13, item 2): reached from `tag --repo`, `push --alias` and
# `push --on-collision bump` against an htpasswd registry, that host never
# sees the registry's credentials; and a same-origin next page answering 404
# is an error (exit 4), not a silently shorter tag list.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/hostile.sh"
. "$TS_LIB_DIR/fixtures.sh"
ts_need docker-registry htpasswd python3 curl skopeo umoci jq

unset GITHUB_TOKEN GITHUB_ACTOR CI_REGISTRY CI_REGISTRY_USER CI_REGISTRY_PASSWORD CI_JOB_TOKEN
export DOCKER_CONFIG=$T/docker-none
PW='tags-Secret 0815'
export TAGSEAL_USERNAME=alice TAGSEAL_PASSWORD=$PW
TRANSCRIPT=$T/transcript
: >"$TRANSCRIPT"
fixture_oci_archive "$T/img.tar" v1 1 41 >/dev/null
fixture_oci_archive "$T/img2.tar" v1 1 42 >/dev/null
registry_htpasswd "$T/htpasswd" alice "$PW"
registry_start --htpasswd "$T/htpasswd"
# the repository exists, with tag 1.0.0, so that tags/list answers a page
"$TAGSEAL" push -q "$T/img.tar" --repo "$REGISTRY/team/app" --tag 1.0.0 >/dev/null

# ts_any EXPECTED... -- ARGS: run tagseal ARGS; fail unless it exits with one
# of EXPECTED (output in $T/out, $T/err and the transcript).
ts_any() {
	local want=()
	while [ "$1" != -- ]; do want+=("$1"); shift; done
	shift
	TS_RC=0
	"$TAGSEAL" "$@" >"$T/out" 2>"$T/err" </dev/null || TS_RC=$?
	cat "$T/out" "$T/err" >>"$TRANSCRIPT"
	[[ " ${want[*]} " == *" $TS_RC "* ]] ||
		{ cat "$T/err" >&2; ts_fail "tagseal $1 exited $TS_RC, expected one of: ${want[*]}"; }
}

# ---- a next page on another host ----
hostile_start --name OTHER --bind 127.0.0.2
hostile_start --name FRONT --upstream "$REGISTRY_URL" --mode "link-next=$OTHER_URL"

check ts_any 0 3 4 -- tag --tag 1.0.1 --repo "$FRONT/team/app"
grep -q '^GET /v2/team/app/tags/list.* auth=yes:Basic' "$FRONT_LOG" ||
	ts_fail "tag --repo never listed the tags with credentials"
check assert_no_auth OTHER

: >"$OTHER_LOG"
check ts_any 0 4 -- push "$T/img2.tar" --repo "$FRONT/team/app" --tag 2.0.0 --alias latest
check assert_no_auth OTHER

: >"$OTHER_LOG"
check ts_any 0 4 -- push "$T/img2.tar" --repo "$FRONT/team/app" --tag 1.0.0 --on-collision bump
check assert_no_auth OTHER

# ---- a next page that answers 404: an error, not a shorter list ----
hostile_start --name F404 --upstream "$REGISTRY_URL" --mode next-404
check ts_any 4 -- tag --tag 1.0.1 --repo "$F404/team/app"
check ts_any 4 -- tag --tag 1.0.0 --repo "$F404/team/app" --on-collision bump
check ts_any 4 -- push "$T/img2.tar" --repo "$F404/team/app" --tag 3.0.0 --alias latest
check ts_any 4 -- push "$T/img2.tar" --repo "$F404/team/app" --tag 1.0.0 --on-collision bump
grep -q 'tags/list?last=~page2 .* -> 404' "$F404_LOG" || ts_fail "the 404 next page was never asked for"

for s in "$PW" "$(printf 'alice:%s' "$PW" | base64 -w0)"; do
	assert_not_contains "$TRANSCRIPT" "$s"
done
check_done
