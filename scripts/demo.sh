#!/usr/bin/env bash
# demo.sh - the main job on an embedded default, from a fresh machine:
# install what is needed, build tagseal, start a throwaway registry on
# loopback, make a sample `docker save` image, push it under a generated
# immutable tag, pin a sample Kubernetes manifest, append a change record,
# verify it against the registry, and print the result.
#
# usage: scripts/demo.sh [--no-deps] [OUTDIR]   (default OUTDIR: ./demo-out)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
deps=1
if [ "${1:-}" = "--no-deps" ]; then
	deps=0
	shift
fi
OUT=$(mkdir -p "${1:-$PWD/demo-out}" && cd "${1:-$PWD/demo-out}" && pwd)

step() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }

if [ $deps = 1 ]; then
	step "installing build and runtime dependencies (apt-get)"
	bash "$ROOT/scripts/deps.sh"
fi

step "building tagseal in $ROOT/build"
cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTAGSEAL_TESTS=OFF >/dev/null
cmake --build "$ROOT/build" -j"$(nproc)" >/dev/null
TAGSEAL=$ROOT/build/tagseal

# The test harness's helpers start the registry and make the image; they
# clean up (registry stopped, temporary files removed) when this script ends.
export TS_SOURCE_DIR=$ROOT TAGSEAL
. "$ROOT/tests/lib/common.sh"
. "$ROOT/tests/lib/registry.sh"
. "$ROOT/tests/lib/fixtures.sh"

step "starting a throwaway registry (Debian's docker-registry) on loopback"
registry_start
echo "registry: http://$REGISTRY (storage in $REGISTRY_DIR)" >&2

step "making a sample image: a docker save tarball with two layers"
fixture_docker_archive "$OUT/app.tar" demo/app:1.0 2 1
ls -l "$OUT/app.tar" >&2

step "writing a sample Kubernetes manifest that still uses a mutable tag"
cat >"$OUT/deployment.yaml" <<EOF
# Sample deployment: tagseal rewrites only the image reference below.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: demo-app
spec:
  replicas: 2
  selector:
    matchLabels: {app: demo-app}
  template:
    metadata:
      labels: {app: demo-app}
    spec:
      containers:
        - name: app
          image: "$REGISTRY/demo/app:latest"   # pinned by tagseal push --pin
          ports:
            - containerPort: 8080
EOF
cp "$OUT/deployment.yaml" "$T/deployment.before.yaml"
rm -f "$OUT/record.jsonl"

# The tag: the default scheme from this git checkout (date and commit, plus
# the CI build number in CI); outside a git checkout, an explicit tag.
tag_args=()
git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1 || tag_args=(--tag "demo-$(date -u +%Y%m%d%H%M%S)")
step "tagseal push ${tag_args[*]:-(default tag scheme from this git checkout)}"
(cd "$ROOT" && "$TAGSEAL" push "$OUT/app.tar" --repo "$REGISTRY/demo/app" "${tag_args[@]}" \
	--alias latest \
	--pin "$OUT/deployment.yaml" \
	--record "$OUT/record.jsonl" \
	--metadata-file "$OUT/metadata.json" \
	--digest-file "$OUT/digest.txt") | tee "$OUT/reference.txt"

step "the pinned manifest (diff against the original)"
diff -u "$T/deployment.before.yaml" "$OUT/deployment.yaml" || true

step "tagseal verify: the record chain and every recorded tag in the registry"
"$TAGSEAL" verify --record "$OUT/record.jsonl"

step "pushing the same image again: same content under the same tag changes nothing"
tag=$(sed -n 's|^.*:\([^:@]*\)@sha256:.*$|\1|p' "$OUT/reference.txt" | tail -n 1)
(cd "$ROOT" && "$TAGSEAL" push -q "$OUT/app.tar" --repo "$REGISTRY/demo/app" --tag "$tag" >/dev/null) && echo "ok: idempotent" >&2

step "result"
echo "pushed and pinned: $(tail -n 1 "$OUT/reference.txt")"
echo "files in $OUT: app.tar deployment.yaml record.jsonl metadata.json digest.txt"
