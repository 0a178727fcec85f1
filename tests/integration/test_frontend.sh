#!/usr/bin/env bash
# test_frontend.sh - the front end a user meets (issue 15): one line with the
# nearest name for an unknown option; every option from the environment
# (TAGSEAL_OPT_*, a flag wins, lists, exclusive options, and tagseal's own
# exported TAGSEAL_TAG never read back); help with exit codes and presets;
# errors that say what to do for the usual wrong --repo forms, a non-PEM
# --ca-file, plain HTTP to a TLS port; --username with TAGSEAL_PASSWORD; a
# --pin that finds nothing refused before the push unless --pin-optional.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/fixtures.sh"
ts_need skopeo umoci jq htpasswd openssl

# tags REPO: the repository's tags (skopeo, not tagseal), as a sorted JSON list
tags() {
	skopeo list-tags --tls-verify=false "docker://$1" 2>/dev/null | jq -c '.Tags // [] | sort' ||
		echo '[]'
}

# --- unknown options: one line, one prefix, the nearest name ---
run_ts 2 push img.tar --tga t1
assert_one_line "$T/err"
assert_contains "$T/err" "tagseal: error: unknown option '--tga'; did you mean --tag?"
run_ts 2 tag --scheem sha
assert_one_line "$T/err"
assert_contains "$T/err" "did you mean --scheme?"
run_ts 2 tag --repo
assert_one_line "$T/err"
assert_contains "$T/err" "option '--repo' needs a value"
echo "ok: unknown options"

# --- options from the environment ---
R=$T/repo
fixture_git_repo "$R" v1.2.3
(cd "$R" && TAGSEAL_OPT_TAG=from-env "$TAGSEAL" tag) >"$T/out" 2>"$T/err" || ts_fail "TAGSEAL_OPT_TAG"
assert_eq "$(cat "$T/out")" "from-env" "--tag from TAGSEAL_OPT_TAG"
(cd "$R" && TAGSEAL_OPT_TAG=from-env "$TAGSEAL" tag --tag from-flag) >"$T/out" 2>&1 || ts_fail "flag"
assert_eq "$(cat "$T/out")" "from-flag" "a flag wins over the environment"
# --tag and --scheme exclude each other: a --scheme flag silences TAGSEAL_OPT_TAG
(cd "$R" && TAGSEAL_OPT_TAG=from-env "$TAGSEAL" tag --scheme semver) >"$T/out" 2>&1 ||
	{ cat "$T/out" >&2; ts_fail "--scheme with TAGSEAL_OPT_TAG set"; }
assert_eq "$(cat "$T/out")" "1.2.3" "--scheme flag over TAGSEAL_OPT_TAG"
# a list: commas and new lines, blanks trimmed, empty items dropped
(cd "$R" && TAGSEAL_OPT_ALIAS=$'latest, {major}\n\n{major}.{minor} ,' "$TAGSEAL" tag --tag t --json) \
	>"$T/out" 2>"$T/err" || { cat "$T/err" >&2; ts_fail "TAGSEAL_OPT_ALIAS"; }
assert_eq "$(jq -c '[.aliases[] | .tag? // .]' "$T/out")" '["latest","1","1.2"]' "aliases from a list"
# what tagseal itself exports to later CI jobs is never read as an option
(cd "$R" && TAGSEAL_TAG=earlier-job TAGSEAL_DIGEST=sha256:x TAGSEAL_REFERENCE=r "$TAGSEAL" tag \
	--scheme semver) >"$T/out" 2>&1 || ts_fail "TAGSEAL_TAG set"
assert_eq "$(cat "$T/out")" "1.2.3" "TAGSEAL_TAG is not --tag"
# switches, and bad values named by their variable
(cd "$R" && TAGSEAL_OPT_JSON=yes "$TAGSEAL" tag --tag t) >"$T/out" 2>&1 || ts_fail "TAGSEAL_OPT_JSON"
jq -e '.tag == "t"' "$T/out" >/dev/null || ts_fail "TAGSEAL_OPT_JSON=yes gave: $(cat "$T/out")"
(cd "$R" && TAGSEAL_OPT_JSON=0 "$TAGSEAL" tag --tag t) >"$T/out" 2>&1 || ts_fail "TAGSEAL_OPT_JSON=0"
assert_eq "$(cat "$T/out")" "t" "TAGSEAL_OPT_JSON=0 is off"
TAGSEAL_OPT_PLAIN_HTTP=maybe run_ts 2 tag --tag t
assert_one_line "$T/err"
assert_contains "$T/err" "TAGSEAL_OPT_PLAIN_HTTP='maybe'"
TAGSEAL_OPT_JOBS=many run_ts 2 push img.tar --repo 127.0.0.1:1/a/b --tag t
assert_contains "$T/err" "TAGSEAL_OPT_JOBS 'many'"
echo "ok: options from the environment"

# --- help ---
for c in push tag pin verify lint inspect; do
	run_ts 0 "$c" --help
	assert_contains "$T/out" "exit codes:"
	assert_contains "$T/out" "TAGSEAL_OPT_"
done
run_ts 0 push --help
assert_contains "$T/out" "semver-sha"
assert_contains "$T/out" "--alias TEMPLATE"
assert_contains "$T/out" "--pin-optional"
run_ts 0 tag --help
assert_contains "$T/out" "--alias TEMPLATE"
echo "ok: help"

# --- --repo as people write it wrongly ---
bad_repo() {
	run_ts 2 push img.tar --repo "$1" --tag t
	assert_one_line "$T/err"
	assert_contains "$T/err" "$2"
}
bad_repo http://127.0.0.1:17010/acme/shop "write the repository as host[:port]/path ('127.0.0.1:17010/acme/shop')"
bad_repo 127.0.0.1:17010 "names a registry but no repository in it: add the path"
bad_repo "127.0.0.1:17010/acme/shop@sha256:abc" "has no '@'"
bad_repo "127.0.0.1:17010/acme/shop@sha256:$(printf '%064d' 0)" "names a digest"
bad_repo 127.0.0.1:17010/acme/shop:v1 "and the tag with --tag v1"
echo "ok: --repo errors"

# --- registry access ---
fixture_oci_layout "$T/img" v1 1 41
registry_tls "$T/tls"
registry_htpasswd "$T/htpasswd" fe-user fe-S3cret
registry_start --name TLSREG --htpasswd "$T/htpasswd" --tls "$T/tls/server.crt" "$T/tls/server.key"
# a --ca-file that holds no certificate: exit 2 before any request
printf 'not a certificate\n' >"$T/bad-ca.pem"
run_ts 2 tag --tag t --repo "$TLSREG/fe/app" --ca-file "$T/bad-ca.pem"
assert_one_line "$T/err"
assert_contains "$T/err" "--ca-file: '$T/bad-ca.pem' holds no PEM certificate"
# plain HTTP to the TLS port: said so, not a bare HTTP 400
run_ts 4 tag --tag t --repo "$TLSREG/fe/app" --plain-http
assert_one_line "$T/err"
assert_contains "$T/err" "speaks HTTPS on that port, not plain HTTP: drop --plain-http"
# push sends no GET /v2/ first (its first request is the tag's HEAD): said so all the same
run_ts 4 push -q "$T/img" --tag t --repo "$TLSREG/fe/app" --plain-http
assert_one_line "$T/err"
assert_contains "$T/err" "speaks HTTPS on that port, not plain HTTP: drop --plain-http"
# --username with TAGSEAL_PASSWORD (no --password-stdin)
TAGSEAL_PASSWORD=fe-S3cret run_ts 0 tag --tag t --repo "$TLSREG/fe/app" --ca-file "$T/tls/ca/ca.crt" \
	--username fe-user
run_ts 2 tag --tag t --repo "$TLSREG/fe/app" --username fe-user
assert_contains "$T/err" "--username needs the password"
! grep -q 'fe-S3cret' "$T/out" "$T/err" || ts_fail "the password was printed"
# -v names the TLS probe of a plain-HTTP loopback registry, and never shows -1
registry_start
run_ts 0 tag --tag t --repo "$REGISTRY/fe/app" -vv
assert_contains "$T/err" "TLS probe:"
assert_contains "$T/err" "speaks plain HTTP (loopback: allowed)"
assert_not_contains "$T/err" "-> -1"
echo "ok: registry access errors"

# --- a --pin that matches nothing ---
mkdir -p "$T/deploy"
cat >"$T/deploy/app.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  containers:
  - name: app
    image: $REGISTRY/fe/other:1
EOF
cp "$T/deploy/app.yaml" "$T/app.yaml.orig"
run_ts 2 push "$T/img" --repo "$REGISTRY/fe/typo" --tag t1 --pin "$T/deploy"
assert_one_line "$T/err"
assert_contains "$T/err" "--pin: no reference to $REGISTRY/fe/typo"
assert_contains "$T/err" "--pin-optional"
assert_eq "$(tags "$REGISTRY/fe/typo")" "[]" "nothing pushed for a --pin that matches nothing"
run_ts 0 push "$T/img" --repo "$REGISTRY/fe/typo" --tag t1 --pin "$T/deploy" --pin-optional
assert_contains "$T/err" "no reference to"
cmp -s "$T/deploy/app.yaml" "$T/app.yaml.orig" || ts_fail "a manifest changed"
assert_eq "$(tags "$REGISTRY/fe/typo")" '["t1"]' "--pin-optional pushes"
echo "ok: --pin that matches nothing"
