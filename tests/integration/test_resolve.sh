#!/bin/bash
# test_resolve.sh - 'tagseal pin --resolve / --update' against local
# registries: HUB stands in for Docker Hub (token auth, anonymous pull,
# reached as docker.io through --mirror docker.io=HUB or a registries.conf
# location), MIRROR is a mirror of it (faithful but for one stale tag),
# PRIVATE needs htpasswd credentials, and SLOW sits behind the fault proxy
# answering 429 with Retry-After. A directory of real-world-shaped manifests
# (Deployment with init containers, CronJob, Helm values, Compose,
# kustomization) is resolved, then refreshed after tags move, with the exact
# bytes checked; kubectl kustomize still builds; --check gates; failures
# name file, line and reference and write nothing.
source "$(dirname "$0")/../lib/common.sh"
source "$TS_LIB_DIR/registry.sh"
source "$TS_LIB_DIR/fixtures.sh"
source "$TS_LIB_DIR/tokenserver.sh"
source "$TS_LIB_DIR/faultproxy.sh"
ts_need skopeo umoci jq python3 htpasswd

PW=s3cret-$RANDOM
tokenserver_keys "$T/tk"
tokenserver_start --name TOKENS "$T/tk" --user "alice:$PW" --anonymous-pull
registry_start --name HUB \
	--token "http://127.0.0.1:${TOKENS_PORT}/token" tagseal-test tagseal-test-issuer "$T/tk/token.crt"
registry_start --name MIRROR
registry_htpasswd "$T/htpasswd" bob "$PW"
registry_start --name PRIVATE --htpasswd "$T/htpasswd"
registry_start --name SLOWREG
faultproxy_start --name SLOW "$SLOWREG_URL" --faults 429 --rate 0.5 --seed 11 --retry-after 1

# ---- images ----
fixture_oci_layout "$T/img" a 1 1
fixture_oci_layout "$T/img" b 1 2
fixture_oci_layout "$T/img" c 1 3
fixture_oci_layout "$T/img" d 1 4
fixture_oci_layout "$T/img" e 1 5
fixture_oci_layout "$T/img" f 1 6
fixture_index_layout "$T/idx" multi 7
cp_to() { # SRC DEST [CREDS]
	skopeo copy -q --all --dest-tls-verify=false ${3:+--dest-creds "$3"} "$1" "docker://$2"
}
dig() { # REF [CREDS]: the digest of what REF names now (index bytes for an index)
	echo "sha256:$(skopeo inspect --raw --tls-verify=false ${2:+--creds "$2"} "docker://$1" | sha256sum | cut -d' ' -f1)"
}
cp_to "oci:$T/img:a" "$HUB/library/nginx:1.25" "alice:$PW"
cp_to "oci:$T/img:b" "$HUB/library/busybox:1.36" "alice:$PW"
cp_to "oci:$T/img:c" "$HUB/library/alpine:latest" "alice:$PW"
cp_to "oci:$T/img:d" "$HUB/library/postgres:16" "alice:$PW"
cp_to "oci:$T/idx:multi" "$HUB/bitnami/redis:7.2" "alice:$PW"
cp_to "oci:$T/img:e" "$PRIVATE/team/api:2.0" "bob:$PW"
cp_to "oci:$T/img:f" "$SLOWREG/tools/envoy:1.28"
NGINX=$(dig "$HUB/library/nginx:1.25")
BUSYBOX=$(dig "$HUB/library/busybox:1.36")
ALPINE=$(dig "$HUB/library/alpine:latest")
POSTGRES=$(dig "$HUB/library/postgres:16")
REDIS=$(dig "$HUB/bitnami/redis:7.2")
API=$(dig "$PRIVATE/team/api:2.0" "bob:$PW")
ENVOY=$(dig "$SLOWREG/tools/envoy:1.28")
[ "$(skopeo inspect --raw --tls-verify=false "docker://$HUB/bitnami/redis:7.2" | jq -r .mediaType)" = \
	application/vnd.oci.image.index.v1+json ] || ts_fail "redis:7.2 should be an image index"

# the private registry's credentials, for its host only
mkdir -p "$T/dc"
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$PRIVATE" "$(printf 'bob:%s' "$PW" | base64 -w0)" \
	>"$T/dc/config.json"
export DOCKER_CONFIG=$T/dc
mkdir -p "$T/empty"

# ---- the manifests ----
mkdir -p "$T/src/k8s" "$T/src/helm"
cat >"$T/src/k8s/deployment.yaml" <<EOF
# the web tier
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  template:
    spec:
      initContainers:
        - name: wait
          image: busybox:1.36   # waits for the database
          command: ["sh", "-c", "true"]
        - name: fetch
          image: alpine
      containers:
        - name: web
          image: "nginx:1.25"
          ports:
            - containerPort: 80
        - name: api
          image: '$PRIVATE/team/api:2.0'
        - name: proxy
          image: $SLOW/tools/envoy:1.28
EOF
cat >"$T/src/k8s/cronjob.yaml" <<EOF
apiVersion: batch/v1
kind: CronJob
metadata:
  name: backup
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: dump
              image: 'postgres:16'
---
apiVersion: v1
kind: Pod
metadata:
  name: already
spec:
  containers:
    - name: pinned
      image: nginx:1.25@$NGINX
EOF
cat >"$T/src/helm/values.yaml" <<'EOF'
replicaCount: 1
cache:
  image:
    registry: docker.io
    repository: bitnami/redis
    tag: "7.2"
    pullPolicy: IfNotPresent
EOF
cat >"$T/src/compose.yaml" <<'EOF'
services:
  web:
    image: nginx:1.25
    ports: ["8080:80"]
  db:
    image: "postgres:16"   # the database
EOF
cat >"$T/src/kustomization.yaml" <<'EOF'
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - k8s/deployment.yaml
  - k8s/cronjob.yaml
images:
  - name: nginx
    newTag: "1.25"
EOF

# what each file must read as once resolved (pinned: the name as written)
expect_resolved() { # DIR NGINX POSTGRES
	local d=$1 n=$2 p=$3
	cat >"$d/k8s/deployment.yaml" <<EOF
# the web tier
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  template:
    spec:
      initContainers:
        - name: wait
          image: busybox:1.36@$BUSYBOX   # waits for the database
          command: ["sh", "-c", "true"]
        - name: fetch
          image: alpine:latest@$ALPINE
      containers:
        - name: web
          image: "nginx:1.25@$n"
          ports:
            - containerPort: 80
        - name: api
          image: '$PRIVATE/team/api:2.0@$API'
        - name: proxy
          image: $SLOW/tools/envoy:1.28@$ENVOY
EOF
	cat >"$d/k8s/cronjob.yaml" <<EOF
apiVersion: batch/v1
kind: CronJob
metadata:
  name: backup
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: dump
              image: 'postgres:16@$p'
---
apiVersion: v1
kind: Pod
metadata:
  name: already
spec:
  containers:
    - name: pinned
      image: nginx:1.25@$4
EOF
	cat >"$d/helm/values.yaml" <<EOF
replicaCount: 1
cache:
  image:
    registry: docker.io
    repository: bitnami/redis
    tag: "7.2@$REDIS"
    pullPolicy: IfNotPresent
EOF
	cat >"$d/compose.yaml" <<EOF
services:
  web:
    image: nginx:1.25@$n
    ports: ["8080:80"]
  db:
    image: "postgres:16@$p"   # the database
EOF
	cat >"$d/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - k8s/deployment.yaml
  - k8s/cronjob.yaml
images:
  - name: nginx
    newTag: "1.25"
    digest: $n
EOF
}
snapshot() { (cd "$1" && find . -type f | sort | xargs sha256sum); }
fresh() { rm -rf "$T/$1" && cp -a "$T/src" "$T/$1"; }
# Docker Hub is HUB: through --mirror (the mirror answers; the real Hub is
# never asked, as --no-mirror-check takes the first answer), or, where a tag
# may be missing (a mirror without it falls back to the registry itself),
# as docker.io's location in a registries.conf.
HUBMAP=(--mirror "docker.io=$HUB" --no-registries-conf --no-mirror-check)
printf '[[registry]]\nprefix = "docker.io"\nlocation = "%s"\n' "$HUB" >"$T/hub.conf"
HUBLOC=(--registries-conf "$T/hub.conf")

# ---- resolve ----
fresh w
run_ts 0 pin --resolve "${HUBMAP[@]}" --report "$T/report.json" -v "$T/w"
mkdir -p "$T/want/k8s" "$T/want/helm"
expect_resolved "$T/want" "$NGINX" "$POSTGRES" "$NGINX"
diff -ru "$T/want" "$T/w" >&2 || ts_fail "resolved manifests differ from the expected bytes"
assert_contains "$T/err" "$T/w/k8s/deployment.yaml:12: busybox:1.36 -> @$BUSYBOX"
assert_contains "$T/err" "$T/w/compose.yaml:6: postgres:16 -> @$POSTGRES"
assert_contains "$T/err" "nginx:1.25 answered by $HUB/library/nginx (mirror)"
assert_contains "$T/err" "answered by $PRIVATE/team/api"
assert_contains "$T/err" "(7 distinct resolved): 10 pinned"
assert_not_contains "$T/err" "$PW"
[ "$(faultproxy_count SLOW 'fault 429')" -ge 1 ] || ts_fail "the proxy never answered 429"
jq -e --arg f "$T/w/k8s/deployment.yaml" --arg d "$ENVOY" --arg h "$SLOW" \
	'.references[] | select(.file == $f and .line == 24) |
	 .status == "pinned" and .newDigest == $d and .host == $h and .oldDigest == null and
	 .reference == ($h + "/tools/envoy:1.28")' "$T/report.json" >/dev/null ||
	ts_fail "report entry for the envoy sidecar is wrong: $(cat "$T/report.json")"
jq -e '.references[] | select(.canonical == "docker.io/bitnami/redis:7.2") | .kind == "helm"' \
	"$T/report.json" >/dev/null || ts_fail "report lacks the Helm reference"
echo "ok: resolved byte for byte (index digest, anonymous tokens, htpasswd, 429 with Retry-After)"

# the HUB's token service saw only anonymous pulls: no credential went there
grep -q 'anonymous' "$TOKENS_LOG" || ts_fail "no anonymous token was asked for"
! grep -q 'basic bob' "$TOKENS_LOG" || ts_fail "PRIVATE's credentials went to the HUB's token service"

if command -v kubectl >/dev/null; then
	kubectl kustomize "$T/w" >"$T/kout" || ts_fail "kubectl kustomize fails on the pinned files"
	assert_contains "$T/kout" "image: nginx:1.25@$NGINX"
	assert_contains "$T/kout" "busybox:1.36@$BUSYBOX"
	echo "ok: kubectl kustomize builds the pinned overlay"
else
	ts_skip_part "kubectl absent: the kustomize build of the pinned files is not checked"
fi

# idempotent: a second resolve changes nothing
s1=$(snapshot "$T/w")
run_ts 0 pin --resolve "${HUBMAP[@]}" "$T/w"
[ "$s1" = "$(snapshot "$T/w")" ] || ts_fail "a second --resolve changed files"
run_ts 0 pin --update --check "${HUBMAP[@]}" "$T/w"
echo "ok: idempotent; --update --check passes on current pins"

# ---- --check gates ----
fresh c
s0=$(snapshot "$T/c")
run_ts 5 pin --update --check "${HUBMAP[@]}" "$T/c"
assert_contains "$T/err" "$T/c/compose.yaml:3: nginx:1.25 is not pinned"
assert_contains "$T/err" "--check: 0 references would change and 10 are not pinned"
run_ts 5 pin --resolve --check "${HUBMAP[@]}" "$T/c"
assert_contains "$T/err" "(would be pinned)"
[ "$s0" = "$(snapshot "$T/c")" ] || ts_fail "--check wrote"
run_ts 0 pin --resolve --dry-run "${HUBMAP[@]}" "$T/c"
assert_contains "$T/out" "+          image: \"nginx:1.25@$NGINX\""
[ "$s0" = "$(snapshot "$T/c")" ] || ts_fail "--dry-run wrote"
echo "ok: --check exits 5 and writes nothing; --dry-run prints the diff"

# ---- --only / --exclude ----
fresh o
run_ts 0 pin --resolve "${HUBMAP[@]}" --only 'docker.io/library/*' --exclude 'postgres*' \
	--report "$T/o.json" "$T/o"
assert_contains "$T/o/compose.yaml" "nginx:1.25@$NGINX"
assert_contains "$T/o/compose.yaml" '"postgres:16"   # the database'
assert_contains "$T/o/helm/values.yaml" 'tag: "7.2"'
[ "$(jq '[.references[] | select(.status == "excluded")] | length' "$T/o.json")" = 5 ] ||
	ts_fail "expected 5 excluded references: $(cat "$T/o.json")"
echo "ok: --only and --exclude"

# ---- tags move: --update ----
cp_to "oci:$T/img:e" "$HUB/library/nginx:1.25" "alice:$PW"
cp_to "oci:$T/img:f" "$HUB/library/postgres:16" "alice:$PW"
NGINX2=$(dig "$HUB/library/nginx:1.25")
POSTGRES2=$(dig "$HUB/library/postgres:16")
[ "$NGINX2" != "$NGINX" ] || ts_fail "the nginx tag did not move"
s1=$(snapshot "$T/w")
run_ts 5 pin --update --check "${HUBMAP[@]}" "$T/w"
assert_contains "$T/err" "$T/w/compose.yaml:3: nginx:1.25 $NGINX -> $NGINX2 (would change)"
assert_contains "$T/err" "--check: 6 references would change and 0 are not pinned"
[ "$s1" = "$(snapshot "$T/w")" ] || ts_fail "--update --check wrote"
run_ts 0 pin --update "${HUBMAP[@]}" --report "$T/u.json" "$T/w"
expect_resolved "$T/want" "$NGINX2" "$POSTGRES2" "$NGINX2"
diff -ru "$T/want" "$T/w" >&2 || ts_fail "updated manifests differ from the expected bytes"
assert_contains "$T/err" "$T/w/k8s/cronjob.yaml:14: postgres:16 $POSTGRES -> $POSTGRES2"
jq -e --arg o "$NGINX" --arg n "$NGINX2" \
	'[.references[] | select(.status == "updated" and .oldDigest == $o and .newDigest == $n)] |
	 length == 4' "$T/u.json" >/dev/null || ts_fail "report of the update is wrong: $(cat "$T/u.json")"
run_ts 0 pin --update --check "${HUBMAP[@]}" "$T/w"
echo "ok: --update replaces moved digests, byte for byte, and reports old -> new"

# ---- mirrors from registries.conf: first source answers, disagreement warned ----
cp_to "oci:$T/img:e" "$MIRROR/library/nginx:1.25"        # faithful (the new nginx)
cp_to "oci:$T/img:d" "$MIRROR/library/postgres:16"       # stale: the old postgres
cat >"$T/registries.conf" <<EOF
unqualified-search-registries = ["docker.io"]

[[registry]]
prefix = "docker.io"
location = "$HUB"   # Docker Hub, for this test

[[registry.mirror]]
location = "$MIRROR"
EOF
mkdir -p "$T/m"
printf 'services:\n  web:\n    image: nginx:1.25\n  db:\n    image: postgres:16\n' >"$T/m/compose.yaml"
cp "$T/m/compose.yaml" "$T/m.orig"
run_ts 5 pin --resolve --registries-conf "$T/registries.conf" --strict-mirrors "$T/m"
assert_one_line "$T/err"
assert_contains "$T/err" "mirrors disagree"
assert_contains "$T/err" "docker.io/library/postgres:16: $MIRROR/library/postgres answered $POSTGRES but $HUB/library/postgres answers $POSTGRES2"
cmp -s "$T/m/compose.yaml" "$T/m.orig" || ts_fail "--strict-mirrors wrote"
run_ts 0 pin --resolve --registries-conf "$T/registries.conf" -v "$T/m"
assert_contains "$T/err" "warning"
assert_contains "$T/err" "nginx:1.25 answered by $MIRROR/library/nginx (mirror)"
assert_contains "$T/m/compose.yaml" "nginx:1.25@$NGINX2"
echo "ok: registries.conf mirrors answer first; a stale mirror is a warning, exit 5 with --strict-mirrors"

# registries.conf errors name the line; a blocked prefix is refused
printf '[[registry]]\nprefix = "docker.io"\nlocaton = "x"\n' >"$T/bad.conf"
run_ts 2 pin --resolve --registries-conf "$T/bad.conf" "$T/m"
assert_one_line "$T/err"
assert_contains "$T/err" "$T/bad.conf:3: unknown key 'locaton' in [[registry]]"
printf '[[registry]]\nlocation = "%s"\nblocked = true\n' "$PRIVATE" >"$T/blocked.conf"
fresh b
run_ts 2 pin --resolve "${HUBMAP[@]/--no-registries-conf/--registries-conf=$T/blocked.conf}" "$T/b"
assert_contains "$T/err" "is blocked"
echo "ok: registries.conf errors name FILE:LINE; blocked prefixes refused"

# ---- failures name file, line and reference; nothing is written ----
fresh f
printf 'services:\n  old:\n    image: nginx:9.99\n' >"$T/f/missing.yaml"
s0=$(snapshot "$T/f")
run_ts 4 pin --resolve "${HUBLOC[@]}" "$T/f"
assert_one_line "$T/err"
assert_contains "$T/err" "$T/f/missing.yaml:3: nginx:9.99: docker.io/library/nginx:9.99: tag not found ($HUB/library/nginx: no such tag)"
[ "$s0" = "$(snapshot "$T/f")" ] || ts_fail "a failed resolution wrote files"
printf 'services:\n  bad:\n    image: NGINX:Latest\n' >"$T/f/missing.yaml"
s0=$(snapshot "$T/f")
run_ts 2 pin --resolve "${HUBMAP[@]}" "$T/f"
assert_one_line "$T/err"
assert_contains "$T/err" "$T/f/missing.yaml:3: 'NGINX:Latest' is not an image reference"
[ "$s0" = "$(snapshot "$T/f")" ] || ts_fail "a malformed reference let files be written"
run_ts 0 pin --resolve "${HUBMAP[@]}" --exclude 'NGINX*' "$T/f"
echo "ok: exit 4 naming FILE:LINE: REFERENCE for a missing tag, exit 2 for a malformed one; nothing written"

# no credentials: PRIVATE refuses (exit 4), naming the reference
fresh n
DOCKER_CONFIG=$T/empty run_ts 4 pin --resolve "${HUBMAP[@]}" "$T/n"
assert_contains "$T/err" "$T/n/k8s/deployment.yaml:22: $PRIVATE/team/api:2.0:"
# flag credentials must name their registry, and then go there only
run_ts 2 pin --resolve "${HUBMAP[@]}" --username bob --password-stdin "$T/n" <<<"$PW"
assert_contains "$T/err" "--registry-for-credentials"
DOCKER_CONFIG=$T/empty run_ts 0 pin --resolve "${HUBMAP[@]}" --username bob --password-stdin \
	--registry-for-credentials "$PRIVATE" "$T/n" <<<"$PW"
! grep -q 'basic bob' "$TOKENS_LOG" || ts_fail "--username credentials went to the HUB's token service"
assert_not_contains "$T/err" "$PW"
echo "ok: credentials per registry (Docker config, or flags bound by --registry-for-credentials)"

# ---- --key: a digest is taken only with a valid signature ----
run_ts 0 keygen "$T/signer"
cp_to "oci:$T/img:a" "$MIRROR/acme/app:1"
cp_to "oci:$T/img:b" "$MIRROR/acme/app:2"
run_ts 0 sign "$MIRROR/acme/app:1" --key "$T/signer.key"
mkdir -p "$T/k"
printf 'services:\n  a:\n    image: %s/acme/app:1\n  b:\n    image: %s/acme/app:2\n' "$MIRROR" "$MIRROR" \
	>"$T/k/compose.yaml"
cp "$T/k/compose.yaml" "$T/k.orig"
run_ts 5 pin --resolve --no-registries-conf --key "$T/signer.pub" "$T/k"
assert_one_line "$T/err"
assert_contains "$T/err" "$T/k/compose.yaml:5: $MIRROR/acme/app:2: $(dig "$MIRROR/acme/app:2") is not taken:"
cmp -s "$T/k/compose.yaml" "$T/k.orig" || ts_fail "an unsigned digest let files be written"
run_ts 0 sign "$MIRROR/acme/app:2" --key "$T/signer.key"
run_ts 0 pin --resolve --no-registries-conf --key "$T/signer.pub" "$T/k"
assert_contains "$T/k/compose.yaml" "$MIRROR/acme/app:2@$(dig "$MIRROR/acme/app:2")"
echo "ok: --key takes only digests with a valid signature"
