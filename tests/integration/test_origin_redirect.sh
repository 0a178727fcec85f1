#!/usr/bin/env bash
# test_origin_redirect.sh - a 401 from a redirect target is not the registry's
# (issue 13, item 3). The registry (a hostile front on an htpasswd
# docker-registry) answers GET/HEAD of manifests, or of blobs only, with 307 to
# another host; that host answers 401 with a Bearer challenge whose realm is on
# a third host. tagseal must not send the registry's credentials to that realm
# (nor to the redirect target), and its error names the origin that refused,
# not the registry.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/hostile.sh"
. "$TS_LIB_DIR/fixtures.sh"
ts_need docker-registry htpasswd python3 curl skopeo umoci jq

unset TAGSEAL_USERNAME TAGSEAL_PASSWORD GITHUB_TOKEN GITHUB_ACTOR CI_REGISTRY \
	CI_REGISTRY_USER CI_REGISTRY_PASSWORD CI_JOB_TOKEN
export DOCKER_CONFIG=$T/docker-none
PW='redir-Secret 77'
TRANSCRIPT=$T/transcript
: >"$TRANSCRIPT"
fixture_oci_archive "$T/img.tar" v1 1 51 >/dev/null
registry_htpasswd "$T/htpasswd" alice "$PW"
registry_start --htpasswd "$T/htpasswd"

hostile_start --name REALM --bind 127.0.0.3 --mode token
hostile_start --name STORE --bind 127.0.0.2 --mode "challenge=$REALM_URL/token"

# push_redirected REPO: push with credentials; exit 4, naming the redirect
# target and not blaming the registry; nothing reached the realm or the target.
push_redirected() {
	TS_RC=0
	"$TAGSEAL" push "$T/img.tar" -v --repo "$1" --tag 1.0.0 --username alice --password-stdin \
		<<<"$PW" >"$T/out" 2>"$T/err" || TS_RC=$?
	cat "$T/out" "$T/err" >>"$TRANSCRIPT"
	grep '^tagseal: error:' "$T/err" >"$T/errline" || true
	check assert_eq "$TS_RC" 4 "push to $1 (redirected to a host that wants a token)"
	check assert_no_auth REALM
	check assert_no_auth STORE
	check assert_contains "$T/errline" "$STORE"
	check assert_not_contains "$T/errline" "registry ${1%%/*} answered HTTP 401"
}

# manifests and blobs redirected (the first HEAD of the tag goes there)
hostile_start --name FRONT --upstream "$REGISTRY_URL" --mode "redirect=$STORE_URL"
push_redirected "$FRONT/team/app"
grep -q '^HEAD .*/manifests/.* -> 307' "$FRONT_LOG" || ts_fail "no redirected manifest HEAD"

# blobs only (the blob HEADs before the upload go there)
: >"$REALM_LOG"
: >"$STORE_LOG"
hostile_start --name FRONTB --upstream "$REGISTRY_URL" --mode "redirect-blobs=$STORE_URL"
push_redirected "$FRONTB/team/blobs"
grep -q '^HEAD .*/blobs/sha256:.* -> 307' "$FRONTB_LOG" || ts_fail "no redirected blob HEAD"

for s in "$PW" "$(printf 'alice:%s' "$PW" | base64 -w0)"; do
	assert_not_contains "$TRANSCRIPT" "$s"
done
check_done
