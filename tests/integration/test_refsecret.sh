#!/usr/bin/env bash
# test_refsecret.sh - credentials typed into a reference (user:password@host/
# repo) are refused and never repeated: push (--repo, --mount-from, --image),
# tag --repo, pin --image exit 2 with one line that says to use
# --username/--password-stdin or docker login; verify of a record line and
# lint of a manifest holding such a reference report it without the secret.
# No registry is contacted: the refusal comes before any request.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/fixtures.sh"
ts_need python3 umoci

SECRET='S3cret-in-ref'
H=127.0.0.1:$(ts_free_port) # nothing listens there
D=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
fixture_docker_archive "$T/img.tar" refsecret/app:1 1 91
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers:\n  - name: a\n    image: %s\n' \
	"$H/app:1@$D" >"$T/pod.yaml"

# secret_free: nothing tagseal printed holds the secret.
secret_free() {
	assert_not_contains "$T/out" "$SECRET"
	assert_not_contains "$T/err" "$SECRET"
}

# refused ARGS...: exit 2, one line, the advice, no secret.
refused() {
	run_ts 2 "$@"
	secret_free
	assert_one_line "$T/err"
	assert_contains "$T/err" "must not carry credentials (user:password@)"
	assert_contains "$T/err" "--username/--password-stdin or docker login"
}

for ref in "alice:$SECRET@$H/app" "https://alice:$SECRET@$H/team/app" "alice:pa/$SECRET@$H/app" \
	"alice:p@$SECRET@$H/app"; do
	refused push "$T/img.tar" --repo "$ref" --tag v1 -v
	refused push "$T/img.tar" --repo "$H/app" --mount-from "$ref" --tag v1
	refused push "$T/img.tar" --repo "$H/app" --image "$ref:1" --tag v1
	refused tag --tag v1 --repo "$ref"
	refused pin --image "$ref:1@$D" "$T/pod.yaml"
	refused pin --image "$ref@$D" "$T/pod.yaml"
done
# no '/' after the '@': not a digest either, still not repeated
run_ts 2 pin --image "alice:$SECRET@app" "$T/pod.yaml"
secret_free
run_ts 2 push "$T/img.tar" --repo "alice:$SECRET@$H" --tag v1
secret_free
echo "ok: push, tag and pin refuse references with credentials without repeating them"

# A record line naming such a repository: a finding, without the secret.
python3 - "$T/rec.jsonl" "alice:$SECRET@$H/app" "$D" <<'PY'
import json, sys
out, repo, digest = sys.argv[1:]
line = json.dumps({"repository": repo, "tag": "v1", "digest": digest, "prev": None},
                  separators=(",", ":")).encode()
open(out, "wb").write(line + b"\n")
PY
run_ts 5 verify --record "$T/rec.jsonl" -vv
secret_free
assert_contains "$T/out" "must not carry credentials"
run_ts 5 verify --record "$T/rec.jsonl" --json
secret_free
run_ts 2 verify --record "$T/rec.jsonl" --registry-for-credentials "alice:$SECRET@$H"
secret_free
echo "ok: verify reports such a record line without the secret"

# A manifest holding one: a lint finding, without the secret.
sed "s|image: .*|image: alice:$SECRET@$H/app:1@$D|" "$T/pod.yaml" >"$T/bad.yaml"
run_ts 5 lint "$T/bad.yaml"
secret_free
assert_contains "$T/out" "carries credentials"
run_ts 5 lint "$T/bad.yaml" --json
secret_free
run_ts 0 pin --image "$H/app:2@$D" "$T/bad.yaml" -v
secret_free
echo "ok: lint reports such a reference without the secret"
