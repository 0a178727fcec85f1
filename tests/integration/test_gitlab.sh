#!/usr/bin/env bash
# test_gitlab.sh - the GitLab CI template (gitlab/tagseal.gitlab-ci.yml): the
# sample pipeline of docs/ci.md (tests/ci/gitlab/.gitlab-ci.yml), run as
# written by gitlab-ci-local in shell mode in a temporary git repository,
# pushes to a real registry that wants CI_REGISTRY_USER/CI_REGISTRY_PASSWORD;
# the tag is in the registry, the manifest is pinned, the record written, and
# the downstream job sees TAGSEAL_TAG/TAGSEAL_DIGEST/TAGSEAL_REFERENCE from
# the dotenv report. Injection attempts through the variables are only data.
# A signed push with the key from a File variable verifies, and neither key
# nor password appears in the job log.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/fixtures.sh"
. "$TS_SOURCE_DIR/tests/ci/lib.sh"
ts_need skopeo umoci jq git rsync node openssl
GCL=$(ci_npm_bin gitlab-ci-local) ||
	ts_skip "gitlab-ci-local absent (scripts/deps.sh: npm install -g gitlab-ci-local@4.60.0)"
SAMPLE=tests/ci/gitlab/.gitlab-ci.yml
python3 "$TS_CI_DIR/check_doc.py" "$TS_SOURCE_DIR/docs/ci.md" "$SAMPLE" gitlab/tagseal.gitlab-ci.yml ||
	ts_fail "docs/ci.md does not show $SAMPLE verbatim"

registry_htpasswd "$T/htpasswd" gitlab-ci-token 'job-T0ken!x'
registry_start --htpasswd "$T/htpasswd"
PULL=(--src-tls-verify=false --src-creds 'gitlab-ci-token:job-T0ken!x')

# the tagseal under test, on PATH for the jobs (shell executor)
mkdir "$T/bin"
ln -s "$TAGSEAL" "$T/bin/tagseal"
export PATH=$T/bin:$PATH
export HOME=$T/home
mkdir -p "$HOME"

# project PIPELINE_FILE: a git repository holding the template and a
# manifest, and the image tarball as the artifact of the build job
# (image-tar, which needs a Docker engine and is not run here).
project() {
	local p=$T/project
	rm -rf "$p"
	mkdir -p "$p/gitlab" "$p/deploy"
	cp "$TS_SOURCE_DIR/gitlab/tagseal.gitlab-ci.yml" "$p/gitlab/"
	cp "$1" "$p/.gitlab-ci.yml"
	cat >"$p/deploy/app.yaml" <<-YAML
	apiVersion: v1
	kind: Pod
	metadata:
	  name: shop
	spec:
	  containers:
	    - name: shop
	      image: $REGISTRY/group/shop:dev
	YAML
	printf 'image.tar\n.gitlab-ci-local/\n' >"$p/.gitignore"
	ci_git_repo "$p"
	mkdir -p "$p/.gitlab-ci-local/artifacts/image-tar"
	cp "$T/image.tar" "$p/.gitlab-ci-local/artifacts/image-tar/image.tar"
}

# gcl ARGS...: gitlab-ci-local in $T/project as GitLab would set the job up
# (GITLAB_CI, the project's registry and job credentials); log in $T/gcl.log.
gcl() {
	RC=0
	(cd "$T/project" && "$GCL" --no-color --shell-isolation \
		--variable GITLAB_CI=true \
		--variable "CI_REGISTRY=$REGISTRY" \
		--variable "CI_REGISTRY_IMAGE=$REGISTRY/group/shop" \
		--variable CI_REGISTRY_USER=gitlab-ci-token \
		--variable 'CI_REGISTRY_PASSWORD=job-T0ken!x' \
		"$@") >"$T/gcl.log" 2>&1 || RC=$?
}

fixture_oci_archive "$T/image.tar" latest 2 21
project "$TS_SOURCE_DIR/$SAMPLE"
gcl --variable CI_PIPELINE_IID=17 release deploy
[ "$RC" = 0 ] || { cat "$T/gcl.log" >&2; ts_fail "gitlab-ci-local exited $RC"; }
line=$(grep -F 'deploying ' "$T/gcl.log" | grep -v '\$ echo' | tail -n 1)
ref=$(sed -n 's/.*deploying \([^ ]*\) (tag \([^ ]*\), digest \([^)]*\)).*/\1/p' <<<"$line")
tag=$(sed -n 's/.*deploying \([^ ]*\) (tag \([^ ]*\), digest \([^)]*\)).*/\2/p' <<<"$line")
digest=$(sed -n 's/.*deploying \([^ ]*\) (tag \([^ ]*\), digest \([^)]*\)).*/\3/p' <<<"$line")
[[ $digest =~ ^sha256:[0-9a-f]{64}$ ]] || { cat "$T/gcl.log" >&2; ts_fail "deploy job did not see TAGSEAL_DIGEST: '$line'"; }
assert_eq "$ref" "$REGISTRY/group/shop:$tag@$digest" "TAGSEAL_REFERENCE seen downstream"
[[ $tag == *-17.g* ]] || ts_fail "tag '$tag' is not tagseal's default scheme with build CI_PIPELINE_IID 17"
assert_eq "$(registry_pull_verify "$REGISTRY/group/shop:$tag" "$T/pull" "${PULL[@]}")" "$digest" "pulled digest"
assert_eq "$(registry_pull_verify "$REGISTRY/group/shop:latest" "$T/pull2" "${PULL[@]}")" "$digest" "alias latest"
arts=$T/project/.gitlab-ci-local/artifacts/release
pinned=$(find "$T/project" -path '*release*' -name app.yaml | head -n 1)
[ -n "$pinned" ] || pinned=$T/project/deploy/app.yaml
assert_contains "$pinned" "image: $ref"
rec=$(find "$T/project" -path '*release*' -name releases.jsonl | head -n 1)
[ -n "$rec" ] || ts_fail "release job left no releases.jsonl artifact (looked under $arts)"
assert_eq "$(jq -r .digest "$rec")" "$digest" "record digest"
assert_not_contains "$T/gcl.log" 'job-T0ken!x'

# --- the pipeline IID is the build number: a second pipeline, another tag ---
# (a new pipeline starts from a clean checkout: the first one's pin is undone,
# or the tag would rightly say -dirty)
git -C "$T/project" checkout -q -- deploy
gcl --variable CI_PIPELINE_IID=18 release
[ "$RC" = 0 ] || { cat "$T/gcl.log" >&2; ts_fail "second pipeline exited $RC"; }
grep -qF "$REGISTRY/group/shop:${tag/-17.g/-18.g}@$digest" "$T/gcl.log" ||
	{ cat "$T/gcl.log" >&2; ts_fail "second pipeline did not push ${tag/-17.g/-18.g}"; }
n=$(skopeo list-tags --tls-verify=false --creds 'gitlab-ci-token:job-T0ken!x' \
	"docker://$REGISTRY/group/shop" | jq '.Tags | length')
assert_eq "$n" 3 "two immutable tags and latest after two pipelines"

# --- variables are data: an injection attempt fails the job, runs nothing ---
cat >"$T/evil.yml" <<-YAML
include:
  - local: gitlab/tagseal.gitlab-ci.yml
evil:
  extends: .tagseal
  variables:
    TAGSEAL_SCHEME: 'x; touch $T/pwned'
    TAGSEAL_ALIASES: '\$(touch $T/pwned)'
    TAGSEAL_ARGS: '\`touch $T/pwned\`'
YAML
project "$T/evil.yml"
gcl evil
[ "$RC" != 0 ] || { cat "$T/gcl.log" >&2; ts_fail "the evil job passed"; }
[ ! -e "$T/pwned" ] || ts_fail "a variable's value ran a command"
# --- the template's script is POSIX sh (job images such as Debian's dash):
# list variables go to tagseal's environment mapping (commas or new lines),
# and what an earlier job published (TAGSEAL_TAG, ...) is never an option ---
if command -v dash >/dev/null 2>&1; then
	python3 - "$TS_SOURCE_DIR/gitlab/tagseal.gitlab-ci.yml" >"$T/script.sh" <<-'PY'
	import sys, yaml
	print("\n".join(yaml.safe_load(open(sys.argv[1]))[".tagseal"]["script"]))
	PY
	mkdir -p "$T/sh/deploy" "$T/sh/m"
	printf 'services:\n  a:\n    image: %s/group/sh:x\n' "$REGISTRY" >"$T/sh/deploy/c.yaml"
	cp "$T/sh/deploy/c.yaml" "$T/sh/m/d.yaml"
	RC=0
	(cd "$T/sh" && env GITLAB_CI=true CI_PIPELINE_IID=30 CI_REGISTRY="$REGISTRY" \
		CI_REGISTRY_USER=gitlab-ci-token 'CI_REGISTRY_PASSWORD=job-T0ken!x' \
		TAGSEAL_TAG=earlier-job TAGSEAL_DIGEST=sha256:0 TAGSEAL_REFERENCE=x/y:earlier-job \
		TAGSEAL_IMAGE="$T/image.tar" TAGSEAL_REPO="$REGISTRY/group/sh" TAGSEAL_SCHEME='v{build}' \
		TAGSEAL_ALIASES='latest, stable' TAGSEAL_PIN="deploy/c.yaml,m/d.yaml" TAGSEAL_RECORD=rec.jsonl \
		TAGSEAL_ARGS='--compression zstd  --format oci' dash -e "$T/script.sh") >"$T/sh.log" 2>&1 || RC=$?
	[ "$RC" = 0 ] || { cat "$T/sh.log" >&2; ts_fail "the template's script under dash exited $RC"; }
	grep -q "^TAGSEAL_REFERENCE=$REGISTRY/group/sh:v30@sha256:" "$T/sh/tagseal.env" ||
		ts_fail "dash: dotenv report $(cat "$T/sh/tagseal.env")"
	assert_contains "$T/sh/deploy/c.yaml" "image: $REGISTRY/group/sh:v30@sha256:"
	assert_contains "$T/sh/m/d.yaml" "image: $REGISTRY/group/sh:v30@sha256:"
	tags=$(skopeo list-tags --tls-verify=false --creds 'gitlab-ci-token:job-T0ken!x' \
		"docker://$REGISTRY/group/sh" | jq -c '.Tags | sort')
	assert_eq "$tags" '["latest","stable","v30"]' "dash: tags"
	[ -s "$T/sh/rec.jsonl" ] || ts_fail "dash: no record"
	# a signed push: TAGSEAL_SIGN_KEY is a File variable (GitLab sets it to a
	# path; the file may be readable by others), its password masked
	KPASS='gl-key-Pw-4be0-not-for-logs'
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null |
		openssl pkcs8 -topk8 -v2 aes-256-cbc -passout "pass:$KPASS" -out "$T/gl.key"
	openssl pkey -in "$T/gl.key" -passin "pass:$KPASS" -pubout -out "$T/gl.pub"
	chmod 644 "$T/gl.key"
	mkdir "$T/gltmp"
	RC=0
	(cd "$T/sh" && env GITLAB_CI=true CI_PIPELINE_IID=31 CI_REGISTRY="$REGISTRY" \
		CI_REGISTRY_USER=gitlab-ci-token 'CI_REGISTRY_PASSWORD=job-T0ken!x' TMPDIR="$T/gltmp" \
		TAGSEAL_IMAGE="$T/image.tar" TAGSEAL_REPO="$REGISTRY/group/signed" TAGSEAL_SCHEME='v{build}' \
		TAGSEAL_SIGN_KEY="$T/gl.key" TAGSEAL_KEY_PASSWORD="$KPASS" TAGSEAL_OPT_ATTEST=true \
		TAGSEAL_ALIASES= TAGSEAL_PIN= TAGSEAL_ARGS= TAGSEAL_RECORD=signed.jsonl \
		dash -e "$T/script.sh") >"$T/sh.log" 2>&1 || RC=$?
	[ "$RC" = 0 ] || { cat "$T/sh.log" >&2; ts_fail "signed push through the template exited $RC"; }
	RC=0
	printf '%s' 'job-T0ken!x' | "$TAGSEAL" verify "$REGISTRY/group/signed:v31" --key "$T/gl.pub" \
		--require provenance --username gitlab-ci-token --password-stdin >"$T/v.log" 2>&1 || RC=$?
	[ "$RC" = 0 ] || { cat "$T/v.log" >&2; ts_fail "the template's signed push does not verify"; }
	grep -q ',"sig":"' "$T/sh/signed.jsonl" || ts_fail "the template's record line is not signed"
	assert_eq "$(ls -A "$T/gltmp")" "" "the key's private copy is removed"
	assert_not_contains "$T/sh.log" "$KPASS"
	assert_not_contains "$T/sh.log" "$(sed -n 2p "$T/gl.key")"
fi
echo "ok: gitlab"
