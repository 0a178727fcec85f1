#!/usr/bin/env bash
# test_tag.sh - 'tagseal tag' on real repositories built here with the git
# CLI: linear history, merges, annotated and lightweight tags, prerelease
# tags, tags off HEAD's history, detached HEAD, shallow clones, each CI's
# environment as that CI sets it, templates, sanitising, errors; and with
# --repo against a real docker-registry: collisions, bumping, alias rule.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
ts_need git
[ -x "$TAGSEAL" ] || ts_fail "TAGSEAL=$TAGSEAL is not an executable"

export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
R=$T/repo
TICK=1714979289 # 2024-05-06T07:08:09Z

# g ARGS...: git in $R with a fixed identity and a clock that advances.
g() {
	TICK=$((TICK + 60))
	GIT_AUTHOR_NAME=T GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=T \
		GIT_COMMITTER_EMAIL=t@example.com GIT_AUTHOR_DATE="@$TICK +0000" \
		GIT_COMMITTER_DATE="@$TICK +0000" git -C "$R" "$@"
}
commit() { echo "$1" >"$R/f-$1"; g add "f-$1"; g commit -q -m "$1"; }
sha() { git -C "${2:-$R}" rev-parse "${1:-HEAD}"; }
short() { sha "$@" | cut -c1-12; }

# tg EXPECTED_EXIT [VAR=VALUE...] -- ARGS...: 'tagseal tag ARGS' in a clean
# environment (no CI variables leak in from the machine running the tests)
# plus the given variables; stdout in $T/out, stderr in $T/err.
tg() {
	local want=$1 envs=()
	shift
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	TS_RC=0
	env -i PATH="$PATH" HOME="$T" "${envs[@]}" "$TAGSEAL" tag "$@" >"$T/out" 2>"$T/err" || TS_RC=$?
	if [ "$TS_RC" != "$want" ]; then
		{ echo "tagseal tag $*"; echo "exit $TS_RC, expected $want"; echo "--- stdout";
		  cat "$T/out"; echo "--- stderr"; cat "$T/err"; } >&2
		ts_fail "tagseal tag $* exited $TS_RC, expected $want"
	fi
}
out() { cat "$T/out"; }
jq_out() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$T/out" "$1"; }

# ---- linear history, annotated tag ----
git init -q -b main "$R"
commit one
g tag -a v1.0.0 -m "release 1.0.0"
commit two
commit three
tg 0 -- --git-dir "$R"
assert_eq "$(out)" "1.0.0-g$(short)" "default outside CI"
(cd "$R" && tg 0 -- ) # discovered from the working directory
assert_eq "$(out)" "1.0.0-g$(short)" "default, discovered repository"
tg 0 -- --git-dir "$R" --scheme describe
assert_eq "$(out)" "1.0.0-2-g$(short)" "describe preset"
tg 0 -- --git-dir "$R" --scheme sha
assert_eq "$(out)" "$(short)" "sha preset"
tg 0 -- --git-dir "$R" --scheme '{fullsha}'
assert_eq "$(out)" "$(sha)" "fullsha"
tg 0 -- --git-dir "$R" --scheme 'v{major}.{minor}.{patch}-{sha:8}'
assert_eq "$(out)" "v1.0.0-$(sha | cut -c1-8)" "parts"
tg 0 -- --git-dir "$R" --scheme '{date:%Y.%m.%d}-{time}' --build 7
assert_eq "$(out)" "2024.05.06-$(date -u -d "@$TICK" +%Y%m%d%H%M%S)" "commit date, UTC"
tg 0 -- --git-dir "$R" --scheme date-build --build 7
assert_eq "$(out)" "20240506-7" "date-build preset"
tg 0 -- --git-dir "$R" --scheme semver-sha
assert_eq "$(out)" "1.0.0-g$(short)" "semver-sha preset"

# ---- lightweight tag at HEAD, no 'v' ----
g tag 1.1.0
tg 0 -- --git-dir "$R" --scheme describe
assert_eq "$(out)" "1.1.0-0-g$(short)" "lightweight tag at HEAD"

# ---- prereleases ordered by semver, not by string ----
commit four
g tag -a v2.0.0-rc.2 -m rc2
g tag v2.0.0-rc.10
g tag v2.0.0-beta
tg 0 -- --git-dir "$R" --scheme semver
assert_eq "$(out)" "2.0.0-rc.10" "highest prerelease at one commit"
tg 0 -- --git-dir "$R" --scheme '{prerelease}'
assert_eq "$(out)" "rc.10" "prerelease"

# ---- a tag not on HEAD's history is ignored ----
g checkout -q -b side HEAD~1
commit side-one
g tag v9.0.0
g checkout -q main
tg 0 -- --git-dir "$R" --scheme semver
assert_eq "$(out)" "2.0.0-rc.10" "tag on another branch ignored"

# ---- merges: merging a lower maintenance release does not lower the version ----
g tag -d v9.0.0 >/dev/null
g checkout -q side
g tag v1.1.1
g checkout -q main
g merge -q --no-ff -m merge side
tg 0 -- --git-dir "$R" --scheme describe
assert_eq "$(out)" "2.0.0-rc.10-$(git -C "$R" rev-list --count v2.0.0-rc.10..HEAD)-g$(short)" \
	"highest reachable version after a merge"
g tag v2.0.0
tg 0 -- --git-dir "$R" --scheme semver
assert_eq "$(out)" "2.0.0" "release outranks its prereleases"

# ---- dirty: tracked changes count, untracked files do not ----
echo scratch >"$R/untracked"
tg 0 -- --git-dir "$R" --scheme 'x{dirty}' --json
assert_eq "$(out | python3 -c 'import json,sys; print(json.load(sys.stdin)["tag"])')" "x" "untracked"
echo change >>"$R/f-one"
tg 0 -- --git-dir "$R" --scheme 'x{dirty}'
assert_eq "$(out)" "x-dirty" "tracked change is dirty"
# a dirty tree never gets the clean commit's tag from a preset or the default
tg 0 -- --git-dir "$R" --scheme semver-sha
assert_eq "$(out)" "2.0.0-g$(short)-dirty" "semver-sha on a dirty tree"
tg 0 -- --git-dir "$R" --scheme sha
assert_eq "$(out)" "$(short)-dirty" "sha on a dirty tree"
tg 0 -- --git-dir "$R"
[[ $(out) == *-g$(short)-dirty ]] || ts_fail "the default scheme on a dirty tree gave '$(out)'"
g checkout -q -- f-one
tg 0 -- --git-dir "$R" --scheme semver-sha
assert_eq "$(out)" "2.0.0-g$(short)" "semver-sha on the clean tree"
rm "$R/untracked"

# ---- branches: sanitised; detached HEAD needs the CI's branch ----
g checkout -q -b 'feature/Login+SSO'
tg 0 -- --git-dir "$R" --scheme '{branch}-{sha:7}'
assert_eq "$(out)" "feature-login-sso-$(sha | cut -c1-7)" "branch sanitised"
g checkout -q main
g checkout -q --detach HEAD~1
tg 2 -- --git-dir "$R" --scheme '{branch}'
assert_one_line "$T/err"
assert_contains "$T/err" "detached"
tg 0 GITHUB_ACTIONS=true GITHUB_HEAD_REF=feature/Pay -- --git-dir "$R" --scheme '{branch}'
assert_eq "$(out)" "feature-pay" "GITHUB_HEAD_REF in a detached checkout"
tg 0 GITLAB_CI=true CI_COMMIT_REF_NAME=Release/2.x -- --git-dir "$R" --scheme '{branch}'
assert_eq "$(out)" "release-2.x" "CI_COMMIT_REF_NAME in a detached checkout"
g checkout -q main

# ---- CI environments, set as each CI sets them ----
HEADSHA=$(sha)
gh=(CI=true GITHUB_ACTIONS=true GITHUB_RUN_NUMBER=17 GITHUB_RUN_ID=9876543210 GITHUB_RUN_ATTEMPT=1
    GITHUB_SERVER_URL=https://github.com GITHUB_REPOSITORY=org/app GITHUB_ACTOR=octocat
    GITHUB_EVENT_NAME=push GITHUB_REF=refs/heads/main GITHUB_REF_NAME=main GITHUB_REF_TYPE=branch
    GITHUB_HEAD_REF= GITHUB_SHA="$HEADSHA")
tg 0 "${gh[@]}" -- --git-dir "$R"
assert_eq "$(out)" "2.0.0-17.g$(short)" "GitHub default"
first=$(out)
tg 0 "${gh[@]}" GITHUB_RUN_ATTEMPT=2 -- --git-dir "$R" --json
assert_eq "$(jq_out 'd["tag"]')" "$first" "a re-run (attempt 2) gives the same tag"
assert_eq "$(jq_out 'd["ci"]["attempt"]')" "2" "attempt recorded"
assert_eq "$(jq_out 'd["ci"]["runUrl"]')" "https://github.com/org/app/actions/runs/9876543210/attempts/2" "run URL"
assert_eq "$(jq_out 'd["ci"]["actor"]')" "octocat" "actor"
tg 0 "${gh[@]}" -- --git-dir "$R" --build 99
assert_eq "$(out)" "2.0.0-99.g$(short)" "--build overrides the CI"
tg 0 "${gh[@]}" -- --git-dir "$R" --scheme '{build}.{attempt}'
assert_eq "$(out)" "17.1" "attempt placeholder"

tg 0 CI=true GITLAB_CI=true CI_PIPELINE_IID=311 CI_PIPELINE_ID=99999 CI_COMMIT_REF_NAME=main \
	CI_COMMIT_BRANCH=main CI_COMMIT_SHA="$HEADSHA" GITLAB_USER_LOGIN=dev \
	CI_PIPELINE_URL=https://gitlab.example.com/org/app/-/pipelines/99999 -- --git-dir "$R"
assert_eq "$(out)" "2.0.0-311.g$(short)" "GitLab CI_PIPELINE_IID"
tg 0 JENKINS_URL=https://ci.example.com/ JENKINS_HOME=/var/jenkins BUILD_NUMBER=88 \
	BUILD_ID=88 GIT_BRANCH=origin/main GIT_COMMIT="$HEADSHA" -- --git-dir "$R"
assert_eq "$(out)" "2.0.0-88.g$(short)" "Jenkins BUILD_NUMBER"
tg 0 CI=true BUILDKITE=true BUILDKITE_BUILD_NUMBER=1024 BUILDKITE_BRANCH=main \
	BUILDKITE_COMMIT="$HEADSHA" BUILDKITE_RETRY_COUNT=0 -- --git-dir "$R"
assert_eq "$(out)" "2.0.0-1024.g$(short)" "Buildkite"
tg 0 CI=woodpecker CI_PIPELINE_NUMBER=77 CI_COMMIT_BRANCH=main CI_COMMIT_SHA="$HEADSHA" \
	-- --git-dir "$R"
assert_eq "$(out)" "2.0.0-77.g$(short)" "Woodpecker"
tg 0 CI=true DRONE=true DRONE_BUILD_NUMBER=9 DRONE_BRANCH=main DRONE_COMMIT_SHA="$HEADSHA" \
	-- --git-dir "$R"
assert_eq "$(out)" "2.0.0-9.g$(short)" "Drone"

# GitHub pull_request: HEAD is the synthetic merge; the tag names the PR head
g checkout -q -b pr HEAD~1
commit pr-change
PRSHA=$(sha)
g checkout -q --detach main
g merge -q --no-ff -m "Merge $PRSHA into main" pr
MERGESHA=$(sha)
printf '{"number":7,"pull_request":{"head":{"ref":"pr","sha":"%s"}}}\n' "$PRSHA" >"$T/event.json"
tg 0 "${gh[@]}" GITHUB_EVENT_NAME=pull_request GITHUB_EVENT_PATH="$T/event.json" \
	GITHUB_REF=refs/pull/7/merge GITHUB_REF_NAME=7/merge GITHUB_HEAD_REF=pr \
	GITHUB_SHA="$MERGESHA" -- --git-dir "$R" --scheme '{branch}-{sha}' --json
assert_eq "$(jq_out 'd["tag"]')" "pr-$(short "$PRSHA")" "PR head SHA, not the merge"
assert_eq "$(jq_out 'd["git"]["head"]')" "$MERGESHA" "HEAD still reported"
g checkout -q main

# ---- shallow clones: a clear answer, never a wrong version ----
commit five
S=$T/shallow
git clone -q --depth 1 "file://$R" "$S"
tg 2 -- --git-dir "$S" --scheme semver
assert_one_line "$T/err"
assert_contains "$T/err" "shallow"
assert_contains "$T/err" "--version"
tg 0 -- --git-dir "$S" --version 3.1.4 --scheme semver
assert_eq "$(out)" "3.1.4" "--version in a shallow clone"
tg 0 -- --git-dir "$S"
assert_eq "$(out)" "$(date -u -d "@$TICK" +%Y%m%d)-g$(short HEAD "$S")" "default falls back to the date"
assert_contains "$T/err" "shallow"
S2=$T/shallow-tagged
git clone -q --depth 1 --branch v2.0.0 "file://$R" "$S2" 2>/dev/null
tg 0 -- --git-dir "$S2" --scheme describe
assert_eq "$(out)" "2.0.0-0-g$(short v2.0.0 "$R")" "shallow clone of the tagged commit"
S3=$T/shallow-deep
git clone -q --depth 3 --no-single-branch "file://$R" "$S3"
git -C "$S3" fetch -q --depth 3 --tags origin 2>/dev/null || true
tg 0 -- --git-dir "$S3" --scheme semver
assert_eq "$(out)" "2.0.0" "tag within the shallow depth"

# ---- --tag, --version, sanitising and errors ----
tg 0 -- --git-dir "$R" --tag v1.2.3_rc
assert_eq "$(out)" "v1.2.3_rc" "--tag"
(cd "$T" && tg 0 -- --tag plain) # no repository needed for --tag
tg 2 -- --git-dir "$R" --tag 'bad/tag'
assert_one_line "$T/err"
assert_contains "$T/err" "'bad/tag'"
tg 2 -- --git-dir "$R" --tag '-lead'
tg 0 -- --git-dir "$R" --version 1.2.3+build.5 --scheme semver
assert_eq "$(out)" "1.2.3_build.5" "'+' becomes '_'"
tg 2 -- --git-dir "$R" --version 1.2
assert_contains "$T/err" "--version"
tg 2 -- --git-dir "$R" --build 'a b'
assert_contains "$T/err" "--build"
tg 0 BUILD_NUMBER='odd value' -- --git-dir "$R" --tag ok # a CI value not needed is no error
tg 2 -- --git-dir "$R" --scheme 'app-{sha}-{nope}'
assert_one_line "$T/err"
assert_contains "$T/err" "column 11"
tg 2 -- --git-dir "$R" --scheme '{sha'
assert_contains "$T/err" "column 1"
tg 2 -- --git-dir "$R" --scheme 'semvr'
assert_contains "$T/err" "preset"
tg 2 -- --git-dir "$R" --scheme '.{sha}'
assert_contains "$T/err" "start with '.'"
tg 2 -- --git-dir "$R" --tag x --scheme sha
tg 2 -- --git-dir "$T/nowhere"
assert_contains "$T/err" "--git-dir"
(cd "$T" && tg 2 -- --scheme sha)
assert_contains "$T/err" "git"
tg 2 -- --git-dir "$R" --scheme '{build}'
assert_contains "$T/err" "--build"
long=$(printf 'x%.0s' {1..140})
tg 0 -- --git-dir "$R" --scheme "$long-{sha}"
[ "$(out | tr -d '\n' | wc -c)" = 128 ] || ts_fail "long tag not shortened to 128: $(out)"
tg 0 -- --git-dir "$R" --scheme "$long-{fullsha}"
[ "$(out)" != "$(tg 0 -- --git-dir "$R" --scheme "$long-{sha}"; out)" ] || ts_fail "hash suffix"

# ---- aliases ----
tg 0 -- --git-dir "$R" --alias latest --alias '{major}.{minor}' --alias '{major}' --json
assert_eq "$(jq_out '[a["tag"] for a in d["aliases"]]')" "['latest', '2.0', '2']" "aliases"
tg 2 -- --git-dir "$R" --scheme semver --alias '{version}'
assert_contains "$T/err" "immutable tag itself"

# ---- push uses the same tag for the same inputs ----
if command -v umoci >/dev/null && command -v skopeo >/dev/null; then
	. "$TS_LIB_DIR/fixtures.sh"
	fixture_oci_layout "$T/layout" img 1 3 >/dev/null 2>&1
	for args in "" "--scheme describe" "--scheme {branch}-{sha:9} --build 5"; do
		# shellcheck disable=SC2086
		tg 0 "${gh[@]}" -- --git-dir "$R" $args
		want=$(out)
		TS_RC=0
		# shellcheck disable=SC2086
		env -i PATH="$PATH" HOME="$T" "${gh[@]}" "$TAGSEAL" push "$T/layout" \
			--repo 127.0.0.1:1/team/app --dry-run --git-dir "$R" $args >"$T/out" 2>"$T/err" || TS_RC=$?
		[ "$TS_RC" = 0 ] || { cat "$T/err" >&2; ts_fail "push --dry-run $args exited $TS_RC"; }
		assert_eq "$(tail -n 1 "$T/out" | sed 's/^[^:]*:[^:]*:\([^@]*\)@.*/\1/')" "$want" \
			"push and tag agree ($args)"
	done
else
	ts_skip_part "umoci or skopeo not installed: push comparison not run"
fi

# ---- with --repo: collisions and the alias rule against a real registry ----
if command -v docker-registry >/dev/null && command -v curl >/dev/null; then
	registry_start
	# put_tag TAG: a minimal image under TAG (config blob + empty manifest)
	put_tag() {
		local d loc sep m
		d=$(printf '{}' | sha256sum | cut -d' ' -f1)
		loc=$(curl -sf -D - -o /dev/null -X POST "$REGISTRY_URL/v2/team/app/blobs/uploads/" |
			tr -d '\r' | awk 'tolower($1)=="location:"{print $2}')
		case $loc in http*) ;; *) loc=$REGISTRY_URL$loc ;; esac
		case $loc in *\?*) sep='&' ;; *) sep='?' ;; esac
		curl -sf -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' \
			--data-binary '{}' "$loc${sep}digest=sha256:$d"
		m='{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:'$d'","size":2},"layers":[]}'
		curl -sf -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
			--data-binary "$m" "$REGISTRY_URL/v2/team/app/manifests/$1"
	}
	tg 0 -- --tag 1.0.0 --repo "$REGISTRY/team/app" # repository does not exist yet
	for t in 1.0.0 1.0.0.2 2.1.0 2.0.0; do put_tag "$t"; done
	tg 3 -- --tag 1.0.0 --repo "$REGISTRY/team/app"
	assert_one_line "$T/err"
	assert_contains "$T/err" "'1.0.0'"
	tg 0 -- --tag 1.0.0 --repo "$REGISTRY/team/app" --on-collision bump
	assert_eq "$(out)" "1.0.0.3" "bumped past .2"
	tg 0 -- --tag 1.0.1 --repo "$REGISTRY/team/app"
	assert_eq "$(out)" "1.0.1" "free tag"
	# a backport (2.0.1 < 2.1.0) moves '2.0' but not 'latest' nor '2'
	tg 0 -- --tag 2.0.1 --version 2.0.1 --repo "$REGISTRY/team/app" --json \
		--alias latest --alias '{major}' --alias '{major}.{minor}'
	assert_eq "$(jq_out '[(a["tag"], a["moves"]) for a in d["aliases"]]')" \
		"[('latest', False), ('2', False), ('2.0', True)]" "alias rule on a backport"
	tg 0 -- --tag 2.2.0-rc.1 --version 2.2.0-rc.1 --repo "$REGISTRY/team/app" --json --alias latest
	assert_eq "$(jq_out 'd["aliases"][0]["moves"]')" "False" "prerelease never moves latest"
	tg 0 -- --tag 2.2.0 --version 2.2.0 --repo "$REGISTRY/team/app" --json --alias latest
	assert_eq "$(jq_out 'd["aliases"][0]["moves"]')" "True" "a new highest release moves latest"
	tg 0 -- --tag 2.2.0 --version 2.2.0 --repo "$REGISTRY/team/app" --alias latest
	assert_contains "$T/err" "alias latest"
	tg 2 -- --tag x --repo 'Bad/Repo'
else
	ts_skip_part "docker-registry or curl not installed: registry part not run"
fi
echo "tag ok"
