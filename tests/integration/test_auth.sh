#!/usr/bin/env bash
# test_auth.sh - registry authentication against Debian's docker-registry:
# htpasswd Basic auth (bcrypt) and token auth with a token service on
# loopback (tests/lib/tokenserver.py): every credential source, wrong and
# missing credentials, identity tokens (OAuth2 POST and its GET fallback),
# a token service that knows only POST, a reduced grant, token refresh. Each
# case checks the exit code; at the end no password or token may appear in
# anything tagseal printed or wrote.
#
# Every case runs the real binary: `tagseal push` (each to a repository of
# its own, so blobs are uploaded every time) or `tagseal tag --repo` (which
# only lists tags). The scope composition of a single token request (read-only
# actions, a scope from the challenge) is driven by `test_auth token` (see
# tests/unit/test_auth.c), which has no command-line equivalent.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/tokenserver.sh"
. "$TS_LIB_DIR/fixtures.sh"
. "$TS_LIB_DIR/faultproxy.sh"
ts_need docker-registry htpasswd openssl python3 curl skopeo umoci jq

. "$TS_LIB_DIR/authrun.sh"
authrun_image 2 7

PW='Pa55 w0rd!:x'   # a space and a colon on purpose
JOB_TOKEN='glcbt-job-token-4711'
REFRESH='rt-identity-0815'

# docker_config DIR JSON: a Docker config directory.
docker_config() {
	mkdir -p "$1"
	printf '%s\n' "$2" >"$1/config.json"
}

b64() { printf '%s' "$1" | base64 -w0; }

# ---- Basic auth (htpasswd, bcrypt) ----
registry_htpasswd "$T/htpasswd" alice "$PW"
htpasswd -Bb "$T/htpasswd" gitlab-ci-token "$JOB_TOKEN" 2>/dev/null
registry_start --name BASIC --htpasswd "$T/htpasswd"

push 0 "$BASIC/team/app" --username alice --password-stdin -v <<<"$PW"
assert_contains "$T/err" "credentials for $BASIC from --username/--password-stdin"
assert_contains "$T/out" "@sha256:"

push 4 "$BASIC/team/app" --username alice --password-stdin <<<"wrong-password"
error_line
assert_contains "$T/err" "HTTP 401"
assert_contains "$T/err" "--password-stdin"

push 4 "$BASIC/team/app" </dev/null
error_line
assert_contains "$T/err" "$BASIC requires a username and password"
assert_contains "$T/err" "docker login $BASIC"

TAGSEAL_USERNAME=alice TAGSEAL_PASSWORD=$PW push 0 "$BASIC/team/app"
# the tag's first check and the layers' checks go out at once, each on its
# own connection, and all meet the challenge: the one answered, the others
# take its answer instead of reading their 401 as a refusal of it (a slow
# link makes the requests overlap on every run)
faultproxy_start --name SLOWB "$BASIC_URL" --rtt 40
push 0 "$SLOWB/team/app" --username alice --password-stdin --plain-http <<<"$PW"
[ "$(faultproxy_count SLOWB ' -> 401')" -ge 2 ] ||
	ts_fail "the first requests did not meet the challenge together: $(cat "$SLOWB_LOG")"
faultproxy_stop SLOWB
TAGSEAL_USERNAME=alice push 2 "$BASIC/team/app"
assert_contains "$T/err" "TAGSEAL_PASSWORD"

# GitLab CI's default for the host in CI_REGISTRY
CI_REGISTRY=$BASIC CI_JOB_TOKEN=$JOB_TOKEN push 0 "$BASIC/team/app" -v
assert_contains "$T/err" "GitLab CI (CI_JOB_TOKEN)"

# Docker config: auths, with and without a scheme
docker_config "$T/dc-auths" "{\"auths\":{\"http://$BASIC\":{\"auth\":\"$(b64 "alice:$PW")\"}}}"
DOCKER_CONFIG=$T/dc-auths push 0 "$BASIC/team/app"
docker_config "$T/dc-auths2" "{\"auths\":{\"$BASIC\":{\"auth\":\"$(b64 "alice:wrong")\"}}}"
DOCKER_CONFIG=$T/dc-auths2 push 4 "$BASIC/team/app"
# ... the command line wins over it
DOCKER_CONFIG=$T/dc-auths2 push 0 "$BASIC/team/app" --username alice --password-stdin <<<"$PW"

# Docker config: credHelpers with a real docker-credential-* program
mkdir -p "$T/bin"
cat >"$T/bin/docker-credential-tstest" <<EOF
#!/bin/sh
[ "\$1" = get ] || exit 3
server=\$(cat)
if [ "\$server" = "$BASIC" ]; then
	printf '{"ServerURL":"%s","Username":"alice","Secret":"%s"}\n' "\$server" '$PW'
else
	echo "credentials not found in native keychain"; exit 1
fi
EOF
chmod +x "$T/bin/docker-credential-tstest"
docker_config "$T/dc-helper" "{\"credHelpers\":{\"$BASIC\":\"tstest\"}}"
PATH=$T/bin:$PATH DOCKER_CONFIG=$T/dc-helper push 0 "$BASIC/team/app" -v
assert_contains "$T/err" "credential helper docker-credential-tstest"
docker_config "$T/dc-store" '{"credsStore":"tstest"}'
PATH=$T/bin:$PATH DOCKER_CONFIG=$T/dc-store push 0 "$BASIC/team/app"

# ---- token auth ----
tokenserver_keys "$T/tk"
# token_registry NAME TOKENS-NAME: a registry trusting that token service
token_registry() {
	local port=${2}_PORT
	registry_start --name "$1" \
		--token "http://127.0.0.1:${!port}/token" tagseal-test tagseal-test-issuer "$T/tk/token.crt"
}

tokenserver_start --name TOKENS "$T/tk" --user "alice:$PW" --refresh-token "$REFRESH:alice"
token_registry TOKREG TOKENS

push 0 "$TOKREG/team/app" --username alice --password-stdin -v <<<"$PW"
assert_contains "$TOKENS_LOG" "GET basic alice repository:team/app$N:pull,push ->"
assert_contains "$T/err" "token for $TOKREG from 127.0.0.1:$TOKENS_PORT"
SRC=team/app$N   # holds the image's blobs now

push 4 "$TOKREG/team/app" --username alice --password-stdin <<<"wrong-password"
error_line
assert_contains "$T/err" "authentication to $TOKREG failed: token service 127.0.0.1:$TOKENS_PORT answered HTTP 401 UNAUTHORIZED"

# anonymous: the token grants nothing, the registry refuses
push 4 "$TOKREG/team/app"
error_line
assert_contains "$T/err" "HTTP 401"

# a mount source: its pull scope is added after the first token, which is
# then fetched anew with both scopes
push 0 "$TOKREG/team/app" --mount-from "$TOKREG/$SRC" -v --username alice --password-stdin <<<"$PW"
assert_contains "$T/err" "lacks a scope; fetching a new one"
assert_contains "$TOKENS_LOG" "GET basic alice repository:team/app$N:pull,push|repository:$SRC:pull ->"
grep -Eq "blob sha256:[0-9a-f]{64} mounted from $SRC" "$T/err" || ts_fail "no blob mounted from $SRC"

# scopes of one token request: read-only actions, a mount source, a scope
# from the challenge, a scope added after the token (ts_auth alone, through
# test_auth's token mode: no command asks for exactly these)
TOKEN_PROBE=${TS_AUTH_PROBE:-$TS_BUILD_DIR/tests/test_auth}
[ -x "$TOKEN_PROBE" ] || ts_fail "$TOKEN_PROBE not built"
"$TOKEN_PROBE" token "$TOKREG" team/app "Bearer realm=\"http://127.0.0.1:$TOKENS_PORT/token\",service=\"tagseal-test\",scope=\"registry:catalog:*\"" \
	--actions pull --scope team/base:pull --username alice --password-stdin \
	<<<"$PW" >"$T/out" 2>"$T/err" || { cat "$T/err" >&2; ts_fail "token probe failed"; }
cat "$T/out" "$T/err" >>"$TRANSCRIPT"
assert_contains "$T/out" "token probe ok: Bearer header"
assert_contains "$TOKENS_LOG" "GET basic alice repository:team/app:pull|repository:team/base:pull|registry:catalog:* ->"
assert_contains "$TOKENS_LOG" "GET basic alice repository:team/app:pull|repository:team/base:pull|repository:late/added:pull|registry:catalog:* ->"

# an identity token (refresh token) from the Docker config: the OAuth2 POST
docker_config "$T/dc-idtok" \
	"{\"auths\":{\"$TOKREG\":{\"auth\":\"$(b64 "alice:")\",\"identitytoken\":\"$REFRESH\"}}}"
DOCKER_CONFIG=$T/dc-idtok push 0 "$TOKREG/team/app"
assert_contains "$TOKENS_LOG" "POST refresh_token alice repository:team/app$N:pull,push"
docker_config "$T/dc-idtok-bad" \
	"{\"auths\":{\"$TOKREG\":{\"auth\":\"$(b64 "alice:")\",\"identitytoken\":\"revoked\"}}}"
DOCKER_CONFIG=$T/dc-idtok-bad push 4 "$TOKREG/team/app"
assert_contains "$T/err" "HTTP 401"

# a token service without the POST form: fall back to GET
tokenserver_start --name TOK404 "$T/tk" --mode post404 --user "alice:$PW" --refresh-token "$REFRESH:alice"
token_registry REG404 TOK404
docker_config "$T/dc-idtok404" \
	"{\"auths\":{\"$REG404\":{\"auth\":\"$(b64 "alice:")\",\"identitytoken\":\"$REFRESH\"}}}"
DOCKER_CONFIG=$T/dc-idtok404 push 0 "$REG404/team/app"
assert_contains "$TOK404_LOG" "POST REFUSED404"
assert_contains "$TOK404_LOG" "GET basic alice repository:team/app$N:pull,push"

# a token service that knows only the OAuth2 POST: password grant
tokenserver_start --name TOK405 "$T/tk" --mode get405 --user "alice:$PW"
token_registry REG405 TOK405
push 0 "$REG405/team/app" --username alice --password-stdin <<<"$PW"
assert_contains "$TOK405_LOG" "GET REFUSED405"
assert_contains "$TOK405_LOG" "POST password alice repository:team/app$N:pull,push"

# a token realm redirecting to another host: the credentials stay behind
tokenserver_start --name TOKOTHER "$T/tk" --bind 127.0.0.2 --user "alice:$PW"
tokenserver_start --name TOKREDIR "$T/tk" --user "alice:$PW" \
	--redirect "http://127.0.0.2:$TOKOTHER_PORT/token"
token_registry REGREDIR TOKREDIR
push 4 "$REGREDIR/team/app" --username alice --password-stdin <<<"$PW"
assert_contains "$TOKREDIR_LOG" "GET REDIRECTED"
assert_contains "$TOKOTHER_LOG" "GET anonymous - repository:team/app$N:pull,push"
assert_not_contains "$TOKOTHER_LOG" "alice"

# a reduced grant: reading works, the push is refused by the registry
tokenserver_start --name TOKRED "$T/tk" --mode reduced --user "alice:$PW"
token_registry REGRED TOKRED
tags 0 "$REGRED/team/app" --username alice --password-stdin <<<"$PW"
push 4 "$REGRED/team/app" --username alice --password-stdin <<<"$PW"
error_line
assert_contains "$T/err" "HTTP 401"
assert_contains "$TOKRED_LOG" '"actions": ["pull"]'

# tokens that live 2 s are fetched again before they expire (a proxy holds
# the first manifest PUT 3 s, so the push outlives its first token)
tokenserver_start --name TOKSHORT "$T/tk" --expires 2 --user "alice:$PW"
token_registry REGSHORT TOKSHORT
faultproxy_start --name SLOWP "$REGSHORT_URL" --faults stall --stall 3 --methods PUT \
	--paths /manifests/ --rate 1 --max-faults 1
push 0 "$SLOWP/team/app" -v --username alice --password-stdin <<<"$PW"
assert_eq "$(faultproxy_count SLOWP 'fault stall')" 1 "the manifest PUT was held"
assert_contains "$T/err" "is about to expire; fetching a new one"
[ "$(grep -c '^GET basic alice' "$TOKSHORT_LOG")" -ge 2 ] || ts_fail "token not refreshed"

# ---- every output of a push, pulled back; refusals ----
for reg in BASIC TOKREG; do
	repo=${!reg}/team/pushed
	run_ts 0 push "$T/img.tar" --repo "$repo" --tag v1 --username alice --password-stdin \
		--digest-file "$T/digest-$reg" --metadata-file "$T/meta-$reg.json" \
		--record "$T/record-$reg.jsonl" <<<"$PW"
	cat "$T/out" "$T/err" "$T/digest-$reg" "$T/meta-$reg.json" "$T/record-$reg.jsonl" >>"$TRANSCRIPT"
	registry_pull_verify "$repo:v1" "$T/pulled-$reg" --src-tls-verify=false \
		--src-creds "alice:$PW" >/dev/null
	run_ts 4 push "$T/img.tar" --repo "$repo" --tag v2 --username alice --password-stdin \
		<<<"wrong-password"
	cat "$T/out" "$T/err" >>"$TRANSCRIPT"
	error_line
	assert_contains "$T/err" "401"
	TS_RC=0
	"$TAGSEAL" push "$T/img.tar" --repo "$repo" --tag v3 -v \
		>>"$TRANSCRIPT" 2>&1 </dev/null || TS_RC=$?
	assert_eq "$TS_RC" 4 "anonymous push to $reg"
done

# ---- nothing secret anywhere ----
for s in "$PW" "$(b64 "alice:$PW")" "$JOB_TOKEN" "$REFRESH" wrong-password; do
	assert_not_contains "$TRANSCRIPT" "$s"
done
while read -r tok; do
	[ -z "$tok" ] || assert_not_contains "$TRANSCRIPT" "$tok"
done < <(cat "$TOKENS_ISSUED" "$TOK404_ISSUED" "$TOK405_ISSUED" "$TOKRED_ISSUED" \
	"$TOKSHORT_ISSUED" "$TOKOTHER_ISSUED" 2>/dev/null)
echo "ok: test_auth"
