#!/bin/bash
# test_lint.sh - 'tagseal lint' on the unpinned and the pinned corpus of
# tests/data/pin: exact findings and exit 5, --allow, --json (parsed with
# jq), 'latest' next to a digest, bad regex and bad files (exit 2).
set -u
: "${TAGSEAL:?TAGSEAL must name the built binary}" "${TS_SOURCE_DIR:?}"
DATA=$TS_SOURCE_DIR/tests/data/pin
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }
ALLOW=(--allow '^(redis|busybox|postgres|amazon/|nicolaka/|quay\.io/)'
	--allow '^ghcr\.io/acme/(billing|other|shop-worker|shop/client)[:@]'
	--allow 'nginx-prometheus-exporter')

# unpinned corpus: every finding, byte for byte, exit 5
(cd "$DATA" && "$TAGSEAL" lint input >"$WORK/out" 2>"$WORK/err")
rc=$?
[ $rc -eq 5 ] || fail "lint input: exit $rc, expected 5: $(cat "$WORK/err")"
cmp "$WORK/out" "$DATA/lint-input.expected" || { diff "$DATA/lint-input.expected" "$WORK/out"; fail "findings differ"; }
[ ! -s "$WORK/err" ] || fail "lint wrote to stderr: $(cat "$WORK/err")"
pass "unpinned corpus: $(wc -l <"$WORK/out") findings as FILE:LINE: REFERENCE: REASON, exit 5"

# the pinned corpus passes once the other teams' images are allowed
(cd "$DATA" && "$TAGSEAL" lint "${ALLOW[@]}" expected >"$WORK/out" 2>"$WORK/err")
rc=$?
[ $rc -eq 0 ] || fail "lint expected: exit $rc: $(cat "$WORK/out" "$WORK/err")"
[ ! -s "$WORK/out" ] || fail "pinned corpus has findings: $(cat "$WORK/out")"
(cd "$DATA" && "$TAGSEAL" lint expected >"$WORK/out")
[ $? -eq 5 ] || fail "without --allow the other images are findings"
grep -q '^expected/k8s/statefulset.yaml:22: busybox: not pinned by digest' "$WORK/out" || fail "busybox not reported"
! grep -q 'acme/shop:' "$WORK/out" || fail "a pinned shop reference is reported: $(grep acme/shop: "$WORK/out")"
pass "pinned corpus: no finding for pinned references; --allow exempts the rest (exit 0)"

# --json
(cd "$DATA" && "$TAGSEAL" lint --json input >"$WORK/json")
[ $? -eq 5 ] || fail "lint --json input should exit 5"
n=$(jq '.findings | length' "$WORK/json") || fail "--json is not JSON"
[ "$n" -eq "$(wc -l <"$DATA/lint-input.expected")" ] || fail "--json has $n findings"
jq -e '.findings[0] | .file and .line and .column and .kind and .reference and .reason' "$WORK/json" >/dev/null ||
	fail "--json finding lacks fields: $(jq '.findings[0]' "$WORK/json")"
jq -e '[.findings[] | select(.kind == "helm" and .reference == "ghcr.io/acme/shop:1.9.0")] | length == 1' \
	"$WORK/json" >/dev/null || fail "--json: the Helm finding is missing"
(cd "$DATA" && "$TAGSEAL" lint --json "${ALLOW[@]}" expected >"$WORK/json")
[ $? -eq 0 ] && jq -e '.findings == [] and .allowed > 0 and .references > .allowed' "$WORK/json" >/dev/null ||
	fail "--json on the pinned corpus: $(cat "$WORK/json")"
pass "--json output parses with jq and agrees with the text output"

# 'latest' next to a digest, a template that is not a reference, Compose
cat >"$WORK/mixed.yaml" <<'EOF'
services:
  a:
    image: ghcr.io/acme/a:latest@sha256:0717098f1c72f8dd2b70a7683392d572480b1fb0a9171d35d215eaf64dca2b3e
  b:
    image: ghcr.io/acme/b:1.0@sha256:0717098f1c72f8dd2b70a7683392d572480b1fb0a9171d35d215eaf64dca2b3e
  c:
    image: ${REGISTRY}/c:${TAG}
EOF
"$TAGSEAL" lint "$WORK/mixed.yaml" >"$WORK/out"
[ $? -eq 5 ] || fail "mixed: expected exit 5"
grep -qx "$WORK/mixed.yaml:3: ghcr.io/acme/a:latest@sha256:0717098f1c72f8dd2b70a7683392d572480b1fb0a9171d35d215eaf64dca2b3e: uses the tag 'latest'" "$WORK/out" ||
	fail "latest with digest: $(cat "$WORK/out")"
grep -qx "$WORK/mixed.yaml:7: \${REGISTRY}/c:\${TAG}: not a valid image reference" "$WORK/out" || fail "template: $(cat "$WORK/out")"
[ "$(wc -l <"$WORK/out")" -eq 2 ] || fail "mixed: $(cat "$WORK/out")"
pass "'latest' beside a digest and unparsable references are reported"

# bad usage and bad input: exit 2
"$TAGSEAL" lint --allow '(' "$DATA/input" >/dev/null 2>"$WORK/err"
[ $? -eq 2 ] && grep -q -- "--allow '('" "$WORK/err" || fail "bad regex: $(cat "$WORK/err")"
"$TAGSEAL" lint "$DATA/bad/unparsable.yaml" >/dev/null 2>"$WORK/err"
[ $? -eq 2 ] && grep -q "unparsable.yaml:9:10: not valid YAML" "$WORK/err" || fail "unparsable: $(cat "$WORK/err")"
"$TAGSEAL" lint 2>/dev/null
[ $? -eq 2 ] || fail "lint without PATH should exit 2"
pass "bad regex, unparsable YAML and missing PATH exit 2"
echo "all lint tests passed"
