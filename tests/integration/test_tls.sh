#!/usr/bin/env bash
# test_tls.sh - HTTPS to the registry and to its token service, with a CA
# and certificates the test makes with openssl: --ca-file makes a private
# CA trusted; without it (or with another CA) the certificate is refused with
# exit 4 and a message saying what failed and how to fix it; an untrusted
# registry on loopback is never retried in plain HTTP. No secret in output.
# Every case runs `tagseal push` (each to a repository of its own).
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/tokenserver.sh"
. "$TS_LIB_DIR/fixtures.sh"
ts_need docker-registry htpasswd openssl python3 curl skopeo umoci jq

. "$TS_LIB_DIR/authrun.sh"
authrun_image 1 11

PW='tls-Secret 99'

registry_tls "$T/tls"
CA=$T/tls/ca/ca.crt
registry_tls "$T/other"   # another CA, not the registry's
registry_htpasswd "$T/htpasswd" alice "$PW"

# ---- Basic auth over HTTPS ----
registry_start --name TLSREG --htpasswd "$T/htpasswd" --tls "$T/tls/server.crt" "$T/tls/server.key"
PORT=${TLSREG##*:}

push 0 "$TLSREG/team/app" --ca-file "$CA" --username alice --password-stdin -v <<<"$PW"
assert_contains "$T/err" "reached over https"
push 0 "localhost:$PORT/team/app" --ca-file "$CA" --username alice --password-stdin <<<"$PW"

# not trusted: exit 4, what failed and how to fix it, and no plain-HTTP retry
for ca in "" "$T/other/ca/ca.crt"; do
	push 4 "$TLSREG/team/app" ${ca:+--ca-file "$ca"} --username alice --password-stdin -v <<<"$PW"
	assert_contains "$T/err" "certificate"
	assert_contains "$T/err" "--ca-file"
	assert_not_contains "$T/err" "reached over http"
	error_line
done

# ---- token auth, registry and realm both over HTTPS ----
tokenserver_keys "$T/tk"
tokenserver_start --name TOKENS "$T/tk" --user "alice:$PW" \
	--tls-cert "$T/tls/server.crt" --tls-key "$T/tls/server.key"
registry_start --name TOKREG --tls "$T/tls/server.crt" "$T/tls/server.key" \
	--token "https://127.0.0.1:$TOKENS_PORT/token" tagseal-test tagseal-test-issuer "$T/tk/token.crt"
push 0 "$TOKREG/team/app" --ca-file "$CA" --username alice --password-stdin <<<"$PW"
assert_contains "$TOKENS_LOG" "GET basic alice repository:team/app$N:pull,push"

# a realm whose certificate is not trusted: the token request fails, exit 4
tokenserver_start --name BADTLS "$T/tk" --user "alice:$PW" \
	--tls-cert "$T/other/server.crt" --tls-key "$T/other/server.key"
registry_start --name BADREG --tls "$T/tls/server.crt" "$T/tls/server.key" \
	--token "https://127.0.0.1:$BADTLS_PORT/token" tagseal-test tagseal-test-issuer "$T/tk/token.crt"
push 4 "$BADREG/team/app" --ca-file "$CA" --username alice --password-stdin <<<"$PW"
error_line
assert_contains "$T/err" "TLS with token service 127.0.0.1:$BADTLS_PORT failed"
assert_contains "$T/err" "--ca-file"
[ ! -s "$BADTLS_LOG" ] || ts_fail "the password reached a token service that was not trusted"

# ---- a push over HTTPS, pulled back; the CA is needed every time ----
run_ts 0 push "$T/img.tar" --repo "$TLSREG/team/pushed" --tag v1 --ca-file "$CA" \
	--username alice --password-stdin -v <<<"$PW"
cat "$T/out" "$T/err" >>"$TRANSCRIPT"
# the registry offers HTTP/2 over TLS (Go's server does): it is used
assert_contains "$T/err" "(HTTP/2)"
registry_pull_verify "$TLSREG/team/pushed:v1" "$T/pulled" --src-cert-dir "$T/tls/ca" \
	--src-creds "alice:$PW" >/dev/null
run_ts 4 push "$T/img.tar" --repo "$TLSREG/team/pushed" --tag v2 \
	--username alice --password-stdin <<<"$PW"
cat "$T/out" "$T/err" >>"$TRANSCRIPT"
error_line
assert_contains "$T/err" "--ca-file"

for s in "$PW" "$(printf 'alice:%s' "$PW" | base64 -w0)"; do
	assert_not_contains "$TRANSCRIPT" "$s"
done
while read -r tok; do
	[ -z "$tok" ] || assert_not_contains "$TRANSCRIPT" "$tok"
done <"$TOKENS_ISSUED"
echo "ok: test_tls"
