#!/usr/bin/env bash
# test_long_auth.sh - Authorization values of any accepted length go out
# whole (issue 13, item 8). A hostile registry in front of a real one, which
# is its own token realm and issues a 20,000-character Bearer token, accepts
# only that exact token; another accepts only the exact Basic value of a
# 9,000-character password given with --password-stdin. Both pushes succeed
# and pull back intact; neither secret is printed.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/hostile.sh"
. "$TS_LIB_DIR/fixtures.sh"
ts_need docker-registry python3 curl skopeo umoci jq

unset TAGSEAL_USERNAME TAGSEAL_PASSWORD GITHUB_TOKEN GITHUB_ACTOR CI_REGISTRY \
	CI_REGISTRY_USER CI_REGISTRY_PASSWORD CI_JOB_TOKEN
export DOCKER_CONFIG=$T/docker-none
TRANSCRIPT=$T/transcript
: >"$TRANSCRIPT"
fixture_oci_archive "$T/img.tar" v1 2 81 >/dev/null
registry_start

# ---- a 20,000-character Bearer token ----
PW='long-Secret 8'
printf 'alice:%s' "$PW" >"$T/basic"
hostile_start --name BEARER --upstream "$REGISTRY_URL" --basic-file "$T/basic" \
	--bearer-len 20000 --issued "$T/issued"
TS_RC=0
"$TAGSEAL" push "$T/img.tar" --repo "$BEARER/team/bearer" --tag v1 --username alice \
	--password-stdin <<<"$PW" >"$T/out" 2>"$T/err" || TS_RC=$?
cat "$T/out" "$T/err" >>"$TRANSCRIPT"
grep -q '^GET /token.* auth=yes:Basic -> 200' "$BEARER_LOG" || ts_fail "no token was issued"
check assert_eq "$TS_RC" 0 "push with a 20,000-character token (stderr: $(head -c 300 "$T/err"))"
[ "$TS_RC" != 0 ] || check registry_pull_verify "$REGISTRY/team/bearer:v1" "$T/pull1" >/dev/null

# ---- a 9,000-character password (Basic) ----
LONGPW=$(head -c 6750 /dev/urandom | base64 -w0)
[ "${#LONGPW}" = 9000 ] || ts_fail "made a password of ${#LONGPW} characters"
printf 'alice:%s' "$LONGPW" >"$T/basic-long"
hostile_start --name BASIC --upstream "$REGISTRY_URL" --basic-file "$T/basic-long"
TS_RC=0
"$TAGSEAL" push "$T/img.tar" --repo "$BASIC/team/basic" --tag v1 --username alice \
	--password-stdin <<<"$LONGPW" >"$T/out" 2>"$T/err" || TS_RC=$?
cat "$T/out" "$T/err" >>"$TRANSCRIPT"
check assert_eq "$TS_RC" 0 "push with a 9,000-character password (stderr: $(head -c 300 "$T/err"))"
[ "$TS_RC" != 0 ] || check registry_pull_verify "$REGISTRY/team/basic:v1" "$T/pull2" >/dev/null

for s in "$PW" "$LONGPW" "$(head -c 200 "$T/issued")" "$(printf 'alice:%s' "$LONGPW" | base64 -w0 | head -c 200)"; do
	assert_not_contains "$TRANSCRIPT" "$s"
done
check_done
