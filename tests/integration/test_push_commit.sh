#!/usr/bin/env bash
# test_push_commit.sh - push --pin ... --commit --git-push: the files the pin
# changed land as one commit (its message lists each change, an
# Image-Digest: trailer names the pushed reference), pushed to the remote
# (a bare repository on a local path); nothing else in the work tree is
# committed; --commit without --pin is a usage error.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/fixtures.sh"
ts_need skopeo umoci jq git

registry_start
fixture_oci_layout "$T/img" v1 1 71
g() { git -C "$T/work" -c user.name=t -c user.email=t@example.com "$@"; }
git init -q --bare "$T/remote.git"
git init -q "$T/work"
mkdir -p "$T/work/deploy"
cat >"$T/work/deploy/app.yaml" <<EOF2
apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  containers:
  - name: app
    image: $REGISTRY/land/app:dev
EOF2
echo draft >"$T/work/notes.txt"
g add deploy notes.txt
g commit -q -m init
g branch -M main
g remote add origin "$T/remote.git"
g push -q origin main
echo "unrelated edit" >>"$T/work/notes.txt"

run_ts 2 push "$T/img" --repo "$REGISTRY/land/app" --tag t1 --commit
assert_contains "$T/err" "--commit commits what --pin changed"
(cd "$T/work" && GIT_AUTHOR_NAME= "$TAGSEAL" push "$T/img" --repo "$REGISTRY/land/app" --tag 1.0.0 \
	--pin deploy --commit --git-push origin:main --author 'Release Bot <bot@example.com>') \
	>"$T/out" 2>"$T/err" || { cat "$T/err" >&2; ts_fail "push --pin --commit --git-push failed"; }
ref=$(tail -n 1 "$T/out")
[[ $ref =~ ^$REGISTRY/land/app:1\.0\.0@sha256:[0-9a-f]{64}$ ]] || ts_fail "push printed '$ref'"
assert_contains "$T/err" "committed the pin as"
git -C "$T/remote.git" log -1 --format='%an <%ae>%n%B' main >"$T/log"
assert_contains "$T/log" "Release Bot <bot@example.com>"
assert_contains "$T/log" "Image-Digest: $REGISTRY/land/app:1.0.0@${ref##*@}"
assert_eq "$(git -C "$T/remote.git" show main:deploy/app.yaml | grep 'image:' | sed 's/^ *image: //')" \
	"$ref" "the pinned manifest in the pushed commit"
assert_eq "$(git -C "$T/remote.git" diff --name-only main~1 main)" "deploy/app.yaml" \
	"only the pinned file is in the commit"
assert_contains "$T/work/notes.txt" "unrelated edit"
echo "ok: push --pin --commit --git-push"
