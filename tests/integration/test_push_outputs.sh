#!/usr/bin/env bash
# test_push_outputs.sh - push's outputs around the tag: every output path is
# checked before the registry is touched (an unwritable one: exit 2, one line
# naming the option and the path, no tag); a tag that is in the registry is
# always recorded, even when a step after it fails (the digest file and the
# record line are written, the error names the tag and its digest); and a
# same-content re-run moves the requested aliases, claiming only those it
# moved.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/fixtures.sh"
. "$TS_LIB_DIR/faultproxy.sh"
ts_need skopeo umoci jq python3

registry_start
fixture_oci_layout "$T/img" v1 2 31
fixture_oci_layout "$T/img2" v1 2 32

# no_tags NAME: the repository has no tag at all (skopeo, not tagseal)
no_tags() {
	local tags=[]
	if skopeo list-tags --tls-verify=false "docker://$REGISTRY/out/$1" >"$T/tags" 2>/dev/null; then
		tags=$(jq -c '.Tags // []' "$T/tags")
	fi
	assert_eq "$tags" "[]" "$1: no tag after a refused push"
}

# resolves REF: the digest skopeo reads for REF
resolves() {
	skopeo inspect --raw --tls-verify=false "docker://$1" | sha256sum | sed 's/^\([0-9a-f]*\).*/sha256:\1/'
}

# --- preflight: each output, unwritable, is refused before the push ---
# refused NAME OPTION-NAME PATH ARGS...
refused() {
	local name=$1 what=$2 path=$3
	shift 3
	run_ts 2 push "$T/img" --repo "$REGISTRY/out/$name" --tag t1 "$@"
	assert_one_line "$T/err"
	assert_contains "$T/err" "$what '$path'"
	no_tags "$name"
}
missing=$T/nonexistent/dir
refused rec --record "$missing/r.jsonl" --record "$missing/r.jsonl"
refused dig --digest-file "$missing/d" --digest-file "$missing/d"
refused meta --metadata-file "$missing/m.json" --metadata-file "$missing/m.json"
refused env --dotenv "$missing/b.env" --dotenv "$missing/b.env"
GITHUB_OUTPUT=$missing/gh refused gh GITHUB_OUTPUT "$missing/gh"
GITHUB_STEP_SUMMARY=$missing/sum refused sum GITHUB_STEP_SUMMARY "$missing/sum"
# a file where a directory should be, a directory where a file should be,
# a symbolic link: refused the same way
echo x >"$T/plainfile"
refused notdir --metadata-file "$T/plainfile/m.json" --metadata-file "$T/plainfile/m.json"
mkdir -p "$T/adir"
refused isdir --record "$T/adir" --record "$T/adir"
ln -s "$T/elsewhere" "$T/link"
refused link --digest-file "$T/link" --digest-file "$T/link"
assert_contains "$T/err" "symbolic link"
[ ! -e "$T/elsewhere" ] || ts_fail "a symbolic link was written through"
# the same checks pass for paths that can be written (created on success)
run_ts 0 push "$T/img" --repo "$REGISTRY/out/fine" --tag t1 --record "$T/fine.jsonl" \
	--digest-file "$T/fine.d" --metadata-file "$T/fine.json" --dotenv "$T/fine.env"
[ -s "$T/fine.jsonl" ] && [ -s "$T/fine.d" ] && [ -s "$T/fine.json" ] && [ -s "$T/fine.env" ] ||
	ts_fail "outputs of a push with writable paths are missing"

# --- a step after the tag fails: the tag is still recorded ---
# The registry refuses every PUT of the alias 'latest' (through a proxy):
# the tag is in, the alias cannot move. Preflight cannot foresee this.
faultproxy_start "$REGISTRY_URL" --rate 1 --faults 500 --methods PUT --paths '/manifests/latest$'
repo=$PROXY/out/late
gh=$T/late.gh
: >"$gh"
GITHUB_OUTPUT=$gh run_ts 4 push "$T/img" --repo "$repo" --tag t1 --alias latest --retries 0 \
	--record "$T/late.jsonl" --digest-file "$T/late.d" --metadata-file "$T/late.json"
assert_one_line "$T/err"
d1=$(resolves "$REGISTRY/out/late:t1")
assert_contains "$T/err" "$repo:t1@$d1 is in the registry and in the record"
assert_contains "$T/err" "alias 'latest'"
assert_not_contains "$T/err" "alias (mutable)"
assert_eq "$(cat "$T/late.d")" "$d1" "--digest-file after a failed alias"
assert_eq "$(wc -l <"$T/late.jsonl")" 1 "one record line after a failed alias"
assert_eq "$(jq -c '[.tag, .digest, .aliases]' "$T/late.jsonl")" "[\"t1\",\"$d1\",[]]" "record line"
assert_eq "$(jq -c '.aliases' "$T/late.json")" "[]" "metadata claims no alias"
assert_contains "$gh" "digest=$d1"
assert_not_contains "$gh" "latest"
if skopeo inspect --raw --tls-verify=false "docker://$REGISTRY/out/late:latest" >/dev/null 2>&1; then
	ts_fail "latest exists though its PUT failed"
fi

# --- a same-content re-run whose alias move fails does not claim it ---
: >"$gh"
GITHUB_OUTPUT=$gh run_ts 4 push "$T/img" --repo "$repo" --tag t1 --alias latest --retries 0 \
	--record "$T/late.jsonl" --digest-file "$T/late.d"
[ ! -s "$T/out" ] || ts_fail "a failed push printed a reference: $(cat "$T/out")"
assert_contains "$T/err" "alias 'latest'"
assert_not_contains "$T/err" "alias (mutable)"
assert_eq "$(tail -n 1 "$T/late.jsonl" | jq -c '.aliases')" "[]" "re-run record claims no alias"
assert_not_contains "$gh" "latest"

# --- a same-content re-run completes what the first run left: the alias ---
: >"$gh"
GITHUB_OUTPUT=$gh run_ts 0 push "$T/img" --repo "$REGISTRY/out/late" --tag t1 --alias latest \
	--record "$T/late2.jsonl"
assert_contains "$T/err" "already holds $d1"
assert_contains "$T/err" "alias (mutable) latest -> $d1"
assert_eq "$(resolves "$REGISTRY/out/late:latest")" "$d1" "the re-run moved latest"
assert_eq "$(jq -c '.aliases' "$T/late2.jsonl")" '["latest"]' "re-run record names the alias it moved"
# a re-run that pushed nothing new says so in its line; a first push does not
assert_eq "$(jq -c '.unchanged' "$T/late2.jsonl")" 'true' "re-run record is marked unchanged"
assert_eq "$(head -n 1 "$T/late.jsonl" | jq -c '.unchanged')" 'null' "a first push is not marked"
run_ts 0 verify --record "$T/late.jsonl"
assert_contains "$gh" "latest"

# an alias moved away (to other content) is moved back by a same-content re-run
run_ts 0 push "$T/img2" --repo "$REGISTRY/out/late" --tag u1 --alias latest
d2=$(resolves "$REGISTRY/out/late:u1")
assert_eq "$(resolves "$REGISTRY/out/late:latest")" "$d2" "latest moved to the other image"
run_ts 0 push "$T/img" --repo "$REGISTRY/out/late" --tag t1 --alias latest
assert_eq "$(resolves "$REGISTRY/out/late:latest")" "$d1" "the re-run moved latest back"
assert_eq "$(resolves "$REGISTRY/out/late:t1")" "$d1" "t1 untouched"

# the record a failed step left is whole: verify accepts it
run_ts 0 verify --record "$T/late.jsonl"
