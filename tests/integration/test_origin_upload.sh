#!/usr/bin/env bash
# test_origin_upload.sh - credentials go to the registry's origin and nowhere
# else when an upload's Location points elsewhere (issue 13, item 1):
#  - a real docker-registry over HTTPS, with htpasswd, misconfigured with
#    http.host on plain HTTP at another port, where a forwarder that logs
#    Authorization presence passes requests on to it;
#  - a hostile registry whose upload POST answers Location: on 127.0.0.2
#    (another host), for Basic (htpasswd) and Bearer (token service) registries.
# Whatever the push's outcome, no Authorization header reaches the other
# origin, no secret is printed, and each -v line of a request sent there
# names the origin it went to (host:port), not the registry's.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/tokenserver.sh"
. "$TS_LIB_DIR/hostile.sh"
. "$TS_LIB_DIR/fixtures.sh"
ts_need docker-registry htpasswd openssl python3 curl skopeo umoci jq

unset TAGSEAL_USERNAME TAGSEAL_PASSWORD GITHUB_TOKEN GITHUB_ACTOR CI_REGISTRY \
	CI_REGISTRY_USER CI_REGISTRY_PASSWORD CI_JOB_TOKEN
export DOCKER_CONFIG=$T/docker-none
PW='up-Secret 4711:x'
TRANSCRIPT=$T/transcript
: >"$TRANSCRIPT"
fixture_oci_archive "$T/img.tar" v1 2 31 >/dev/null
registry_htpasswd "$T/htpasswd" alice "$PW"

# push_any ARGS...: push with -v; exit 0 or 4 only (one error line), since
# the fix may refuse the other origin or go there without credentials.
push_any() {
	TS_RC=0
	"$TAGSEAL" push "$T/img.tar" -v "$@" >"$T/out" 2>"$T/err" || TS_RC=$?
	cat "$T/out" "$T/err" >>"$TRANSCRIPT"
	case $TS_RC in
	0 | 4) ;;
	*) cat "$T/err" >&2; ts_fail "push exited $TS_RC (want 0, or 4 naming the other origin)" ;;
	esac
	[ "$TS_RC" = 0 ] || [ "$(grep -c '^tagseal: error:' "$T/err")" = 1 ] ||
		{ cat "$T/err" >&2; ts_fail "push exited $TS_RC without exactly one error line"; }
}

# assert_v_names NAME: if NAME's listener got requests, the -v lines for them
# name NAME's host:port (the origin the request really went to).
assert_v_names() {
	local v=${1}_LOG hostport=${!1} m
	while read -r m _; do
		grep -Eq "(^|[^A-Z])$m [a-z]*:?/?/?$hostport/" "$T/err" && continue
		{ echo "--- ${1}'s request log (head)"; head -n 4 "${!v}" | cut -c1-200; echo "--- tagseal -v (grep $m)"; grep " $m " "$T/err" | head -n 4; } >&2
		ts_fail "-v has no '$m ... $hostport/...' line for the $m that went to $hostport"
	done < <(awk '{ print $1 }' "${!v}" | sort -u)
}

# ---- 1. a real registry over HTTPS whose http.host is plain HTTP elsewhere ----
# (the forwarder listens first; it learns the registry's URL once that runs)
registry_tls "$T/tls"
hostile_start --name FWD --upstream-file "$T/fwd-upstream" --upstream-ca "$T/tls/ca/ca.crt"
REGISTRY_HTTP_HOST=http://$FWD registry_start --name TLSREG \
	--htpasswd "$T/htpasswd" --tls "$T/tls/server.crt" "$T/tls/server.key"
echo "$TLSREG_URL" >"$T/fwd-upstream"
push_any --repo "$TLSREG/team/app" --tag v1 --ca-file "$T/tls/ca/ca.crt" \
	--username alice --password-stdin <<<"$PW"
[ -s "$FWD_LOG" ] || [ "$TS_RC" = 4 ] || ts_fail "push exited 0 but never used the upload Location"
check assert_no_auth FWD
check assert_v_names FWD

# ---- 2. a hostile registry moving the upload to another host: Basic ----
registry_start --name BASIC --htpasswd "$T/htpasswd"
hostile_start --name OTHER --bind 127.0.0.2 --upstream "$BASIC_URL"
hostile_start --name FRONT --upstream "$BASIC_URL" --mode "upload-location=$OTHER_URL"
TAGSEAL_USERNAME=alice TAGSEAL_PASSWORD=$PW push_any --repo "$FRONT/team/app" --tag v1
grep -q '^POST .*blobs/uploads' "$FRONT_LOG" || ts_fail "the push never started an upload"
check assert_no_auth OTHER
check assert_v_names OTHER

# ---- 3. the same with Bearer tokens ----
tokenserver_keys "$T/tk"
tokenserver_start --name TOKENS "$T/tk" --user "alice:$PW"
registry_start --name TOKREG \
	--token "http://127.0.0.1:$TOKENS_PORT/token" tagseal-test tagseal-test-issuer "$T/tk/token.crt"
hostile_start --name OTHERB --bind 127.0.0.2 --upstream "$TOKREG_URL"
hostile_start --name FRONTB --upstream "$TOKREG_URL" --mode "upload-location=$OTHERB_URL"
push_any --repo "$FRONTB/team/app" --tag v1 --username alice --password-stdin <<<"$PW"
grep -q '^POST .*blobs/uploads.* auth=yes:Bearer' "$FRONTB_LOG" || ts_fail "no Bearer upload at the registry"
check assert_no_auth OTHERB
check assert_v_names OTHERB

# ---- nothing secret printed ----
for s in "$PW" "$(printf 'alice:%s' "$PW" | base64 -w0)"; do
	assert_not_contains "$TRANSCRIPT" "$s"
done
while read -r tok; do
	[ -z "$tok" ] || assert_not_contains "$TRANSCRIPT" "$tok"
done <"$TOKENS_ISSUED"
check_done
