#!/usr/bin/env bash
# test_release.sh - scripts/release.sh in a temporary git repository against
# a real registry: the docs' example as written (registry.example.com swapped
# for the local one); --dry-run changes nothing (tree, commits, registry);
# a release pushes X.Y.Z and its aliases, pins, records and commits; a dirty
# tree, a HEAD without a version tag and a detached HEAD are refused (exit 2);
# plain lines when not on a terminal, a progress display on one (script(1)),
# NO_COLOR honoured.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/fixtures.sh"
. "$TS_SOURCE_DIR/tests/ci/lib.sh"
ts_need skopeo umoci jq git
EXAMPLE=tests/ci/release/release.sh
python3 "$TS_CI_DIR/check_doc.py" "$TS_SOURCE_DIR/docs/ci.md" "$EXAMPLE" ||
	ts_fail "docs/ci.md does not show $EXAMPLE verbatim"

registry_start
repo=$REGISTRY/team/app
fixture_oci_archive "$T/image.tar" latest 2 41
mkdir -p "$T/bin" "$T/app/deploy"
ln -s "$TAGSEAL" "$T/bin/tagseal"
mkdir -p "$T/app/scripts"
cp "$TS_SOURCE_DIR/scripts/release.sh" "$T/app/scripts/release.sh"
cat >"$T/app/deploy/app.yaml" <<-YAML
apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  containers:
    - name: app
      image: $repo:dev
YAML
printf 'image.tar\n' >"$T/app/.gitignore"
ci_git_repo "$T/app"
cd "$T/app"
export GIT_AUTHOR_NAME=Maintainer GIT_AUTHOR_EMAIL=m@example.invalid
export GIT_COMMITTER_NAME=Maintainer GIT_COMMITTER_EMAIL=m@example.invalid
git init -q --bare "$T/origin.git"
git remote add origin "$T/origin.git"
cp "$T/image.tar" image.tar
export PATH=$T/bin:$PATH
unset TAGSEAL_USERNAME TAGSEAL_PASSWORD NO_COLOR

# release ARGS...: scripts/release.sh, not on a terminal; stdout $T/out,
# stderr $T/err, exit code RC.
release() {
	RC=0
	scripts/release.sh "$@" </dev/null >"$T/out" 2>"$T/err" || RC=$?
}
state() { git rev-parse HEAD; git status --porcelain; sha256sum deploy/app.yaml releases.jsonl 2>&1; ls; }

# --- the docs' example, as written ---
sed "s/registry\.example\.com/$REGISTRY/g" "$TS_SOURCE_DIR/$EXAMPLE" >"$T/example.sh"
RC=0
bash -eo pipefail "$T/example.sh" </dev/null >"$T/out" 2>"$T/err" || RC=$?
[ "$RC" = 0 ] || { cat "$T/out" "$T/err" >&2; ts_fail "the release example exited $RC"; }
ref=$(tail -n 1 "$T/out")
[[ $ref =~ ^$repo:1\.2\.3@sha256:[0-9a-f]{64}$ ]] || ts_fail "release printed '$ref'"
digest=${ref##*@}
for t in 1.2.3 latest 1 1.2; do
	assert_eq "$(registry_pull_verify "$repo:$t" "$T/pull-$t")" "$digest" "tag $t"
done
assert_contains deploy/app.yaml "image: $ref"
assert_eq "$(wc -l <releases.jsonl)" 1 "record lines"
assert_eq "$(jq -r .digest releases.jsonl)" "$digest" "record digest"
assert_eq "$(git log -1 --format=%s)" "release 1.2.3: pin $ref" "commit subject"
assert_eq "$(git rev-parse HEAD~1)" "$(git rev-parse 'v1.2.3^{commit}')" "release commit is on top of the tag"
assert_eq "$(git show --name-only --format= HEAD | sort | tr '\n' ' ')" "deploy/app.yaml releases.jsonl " \
	"files committed"
assert_eq "$(git status --porcelain --untracked-files=no)" "" "tree clean after the release"
for n in 1 2 3; do assert_contains "$T/err" "release.sh: [$n/3]"; done
if grep -q $'\033\|\r' "$T/err"; then
	cat -A "$T/err" >&2
	ts_fail "escape sequences or carriage returns when not on a terminal"
fi
assert_contains "$T/err" "git push --follow-tags origin main"
assert_eq "$(git -C "$T/origin.git" rev-parse main)" "$(git rev-parse HEAD)" "origin has the release commit"
git -C "$T/origin.git" rev-parse -q --verify refs/tags/v1.2.3 >/dev/null || ts_fail "origin lacks v1.2.3"

# --- refusals ---
release --repo "$repo"
assert_eq "$RC" 2 "HEAD without a version tag: exit"
assert_contains "$T/err" "no version tag"
git tag -a v1.2.4 -m v1.2.4
# --- dry run: nothing changes ---
before=$(state)
release --repo "$repo" --dry-run
[ "$RC" = 0 ] || { cat "$T/err" >&2; ts_fail "dry run exited $RC"; }
ref=$(tail -n 1 "$T/out")
[[ $ref =~ ^$repo:1\.2\.4@sha256:[0-9a-f]{64}$ ]] || ts_fail "dry run printed '$ref'"
assert_contains "$T/out" "+      image: $ref"
assert_eq "$(state)" "$before" "dry run changed the repository"
tags=$(skopeo list-tags --tls-verify=false "docker://$repo" | jq -c '.Tags | sort')
assert_eq "$tags" '["1","1.2","1.2.3","latest"]' "registry tags after a dry run"
assert_contains "$T/err" "release.sh: [1/2]"

echo "# dirty" >>deploy/app.yaml
release --repo "$repo"
assert_eq "$RC" 2 "dirty tree: exit"
assert_contains "$T/err" "uncommitted changes"
git checkout -q -- deploy/app.yaml
git checkout -q --detach v1.2.4
release --repo "$repo"
assert_eq "$RC" 2 "detached HEAD: exit"
assert_contains "$T/err" "detached"
git checkout -q main
release
assert_eq "$RC" 2 "no --repo: exit"
release --repo "$repo" --bogus
assert_eq "$RC" 2 "unknown option: exit"
[ "$(git rev-parse HEAD)" = "$(git rev-parse 'v1.2.4^{commit}')" ] || ts_fail "a refused release committed"

# --- on a terminal: a progress display, colours unless NO_COLOR ---
if command -v script >/dev/null 2>&1; then
	RC=0
	TERM=xterm script -qefc "scripts/release.sh --repo $repo" /dev/null </dev/null >"$T/tty" 2>&1 || RC=$?
	[ "$RC" = 0 ] || { cat "$T/tty" >&2; ts_fail "release on a terminal exited $RC"; }
	grep -q $'\r\033\[K' "$T/tty" || ts_fail "no progress display on a terminal"
	grep -q $'\033\[32m✓' "$T/tty" || ts_fail "no coloured check marks on a terminal"
	grep -qF "release 1.2.4: pin $repo:1.2.4@" <(git log -1 --format=%s) || ts_fail "tty release did not commit"
	git commit -q --allow-empty -m next && git tag -a v1.2.5 -m v1.2.5
	RC=0
	NO_COLOR=1 TERM=xterm script -qefc "scripts/release.sh --repo $repo" /dev/null </dev/null >"$T/tty" 2>&1 || RC=$?
	[ "$RC" = 0 ] || { cat "$T/tty" >&2; ts_fail "release with NO_COLOR exited $RC"; }
	grep -q '✓' "$T/tty" || ts_fail "no progress display with NO_COLOR"
	if grep -q $'\033\[[0-9;]*m' "$T/tty"; then
		cat -A "$T/tty" >&2
		ts_fail "colours despite NO_COLOR"
	fi
else
	echo "note: script(1) absent: terminal display not checked" >&2
fi

# --- a tag that exists with other content is refused, nothing committed ---
git commit -q --allow-empty -m again && git tag -f -a v1.2.5 -m v1.2.5 >/dev/null
fixture_oci_archive image.tar latest 2 42
head=$(git rev-parse HEAD)
release --repo "$repo"
assert_eq "$RC" 3 "1.2.5 again with other content: exit"
assert_eq "$(git rev-parse HEAD)" "$head" "a refused push committed"
# --- an edited record is refused before anything is pushed ---
fixture_oci_archive image.tar latest 2 41
git commit -q --allow-empty -m more && git tag -a v1.2.6 -m v1.2.6
sed -i '1s/"sha256:/"sha256:0/' releases.jsonl
git commit -q -am "edit history"
git tag -f -a v1.2.6 -m v1.2.6 >/dev/null
release --repo "$repo"
assert_eq "$RC" 5 "edited record: exit"
assert_contains "$T/err" "step 1/3 failed (exit 5): checking the chain of releases.jsonl"
assert_contains "$T/err" "line 1"
skopeo inspect --tls-verify=false "docker://$repo:1.2.6" >/dev/null 2>&1 &&
	ts_fail "1.2.6 pushed despite an edited record"
echo "ok: release"
