#!/usr/bin/env bash
# test_resume.sh - a blob goes up in one streamed PATCH (or, its digest and
# size known, in the PUT that commits it); when the connection
# dies after the registry kept part of it, tagseal asks how much it holds,
# reads the layer again (compressing it again, byte for byte the same),
# skips what the registry has and sends only the rest in the same session.
# Also: a re-push of the very same, unchanged tarball reads none of its
# layers; a changed or copied tarball is read and checked again.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/fixtures.sh"
. "$TS_LIB_DIR/faultproxy.sh"
ts_need skopeo umoci jq python3

registry_start
export TAGSEAL_CACHE_DIR=$T/cache
fixture_docker_archive "$T/dsave.tar" resume/app:1 2 61
fixture_oci_archive "$T/oci.tar" latest 2 62

# resume_case NAME IMAGE METHOD: the first METHOD with a layer's bytes
# reaches the registry cut in half.
resume_case() {
	local name=$1 img=$2 method=$3 held
	faultproxy_start --name C "$REGISTRY_URL" --quirks stable-location --faults cut --methods "$method" \
		--paths '/blobs/uploads/' --min-body 4096 --rate 1 --max-faults 1
	rm -rf "$T/cache"
	run_ts 0 push -vv "$img" --repo "$C/resume/$name" --tag v1
	assert_eq "$(faultproxy_count C "$method .*fault cut")" 1 "$name: one $method was cut"
	held=$(sed -n 's/.*the registry holds \([0-9]*\) bytes of the upload.*/\1/p' "$T/err" | head -n 1)
	[ -n "$held" ] && [ "$held" -gt 0 ] || ts_fail "$name: the registry's share was not asked for: $(cat "$T/err")"
	assert_contains "$T/err" "resuming the upload at byte $held"
	# the same session finished: one POST per blob, none started over
	assert_eq "$(faultproxy_count C "POST /v2/resume/$name/blobs/uploads/")" \
		"$(faultproxy_count C "PUT /v2/resume/$name/blobs/uploads/.* -> 201")" "$name: no session was started over"
	registry_pull_verify "$REGISTRY/resume/$name:v1" "$T/pull-$name" >/dev/null
	faultproxy_stop C
	echo "ok: $name: resumed at byte $held of a cut upload, pulled back intact"
}
resume_case dsave "$T/dsave.tar" PATCH # compressed on the way: length unknown, chunked
resume_case oci "$T/oci.tar" PUT       # sent as it is: in the PUT that commits it

# the PUT that commits a layer lands, but its answer is lost: the layer is
# found in the registry (HEAD) and not sent again
faultproxy_start --name L "$REGISTRY_URL" --quirks stable-location --faults lost --methods PUT \
	--paths '/blobs/uploads/' --min-body 4096 --rate 1 --max-faults 1
rm -rf "$T/cache"
run_ts 0 push -vv "$T/oci.tar" --repo "$L/resume/lost" --tag v1
assert_eq "$(faultproxy_count L 'PUT .*fault lost')" 1 "lost: one PUT's answer was lost"
assert_contains "$T/err" "is in the registry after all (the PUT landed): not sent again"
assert_eq "$(faultproxy_count L 'PUT /v2/resume/lost/blobs/uploads/')" \
	"$(faultproxy_count L 'POST /v2/resume/lost/blobs/uploads/')" "lost: one PUT per session, no layer sent twice"
registry_pull_verify "$REGISTRY/resume/lost:v1" "$T/pull-lost" >/dev/null
faultproxy_stop L
echo "ok: a commit PUT whose answer was lost is found in the registry, not sent again"

# ---- re-push of the same file reads no layer ----
# (a file changed in the last two seconds, ctime included, is not trusted to
# stay unchanged)
cp "$T/dsave.tar" "$T/copy.tar"
sleep 2.1
rm -rf "$T/cache"
run_ts 0 push -v "$T/dsave.tar" --repo "$REGISTRY/seen/app" --tag t1
run_ts 0 push -v "$T/dsave.tar" --repo "$REGISTRY/seen/app" --tag t2
assert_eq "$(grep -c 'unchanged since it was last checked' "$T/err")" 2 "both layers taken as checked"
if grep -q 'checking layer\|compressing' "$T/err"; then ts_fail "a layer was read again: $(cat "$T/err")"; fi
registry_pull_verify "$REGISTRY/seen/app:t2" "$T/pull-seen" >/dev/null

# a copy is another file: read and checked again (not compressed: the registry has the blobs)
run_ts 0 push -v "$T/copy.tar" --repo "$REGISTRY/seen/app" --tag t3
assert_eq "$(grep -c 'checking layer' "$T/err")" 2 "a copy's layers are read again"
run_ts 0 push -v "$T/copy.tar" --repo "$REGISTRY/seen/app" --tag t4
assert_eq "$(grep -c 'unchanged since it was last checked' "$T/err")" 2 "then the copy is known too"

# the same file changed in place (same size, mtime put back): the layer is
# read again and the change is caught against the config's diff_id
layer=$(tar -xOf "$T/copy.tar" manifest.json | jq -r '.[0].Layers[-1]')
off=$(python3 - "$T/copy.tar" "$layer" <<'EOF'
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    m = t.getmember(sys.argv[2])
    print(m.offset_data + m.size // 2)
EOF
)
python3 - "$T/copy.tar" "$off" <<'EOF'
import os, sys
st = os.stat(sys.argv[1])
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2]))
    b = f.read(1)
    f.seek(int(sys.argv[2]))
    f.write(bytes([b[0] ^ 0xFF]))
os.utime(sys.argv[1], ns=(st.st_atime_ns, st.st_mtime_ns))
EOF
sleep 2.1 # out of the racy window, so that only the ctime tells
run_ts 2 push "$T/copy.tar" --repo "$REGISTRY/seen/app" --tag t5
assert_one_line "$T/err"
assert_contains "$T/err" "diff_id"
echo "test_resume: cut uploads resume in their session; unchanged files are not read twice"

# a registry that holds every blob once answers the PUT of one it has before
# reading its body, and closes: the layer is taken as there (HEAD confirms it
# when the answer itself is lost in the closing), not sent again, and the
# push completes
fixture_random_docker_archive "$T/big.tar" 30000000
skopeo copy -q docker-archive:"$T/big.tar" oci-archive:"$T/big-oci.tar":latest
run_ts 0 push "$T/big-oci.tar" --repo "$REGISTRY/resume/source" --tag v1
faultproxy_start --name E "$REGISTRY_URL" --quirks early-commit=resume/source
run_ts 0 push -vv "$T/big-oci.tar" --repo "$E/resume/early" --tag v1 --no-cache
assert_eq "$(faultproxy_count E 'quirk early-commit 201')" 2 "the layer's and the config's PUTs were answered early, once each"
assert_eq "$(faultproxy_count E 'POST /v2/resume/early/blobs/uploads/ ')" 2 "one session each: nothing sent again"
registry_pull_verify "$REGISTRY/resume/early:v1" "$T/pull-early" >/dev/null
faultproxy_stop E
echo "ok: a commit answered before its bytes were all sent: the layer is there, not sent again"
