#!/usr/bin/env bash
# test_plugin.sh - the CI plugin (plugin/): the Woodpecker example of
# docs/ci.md, its settings turned into PLUGIN_* variables as Woodpecker does,
# run through plugin/entrypoint against a registry with a password (pulled
# back and verified, pinned, recorded); bad settings and injection attempts;
# a signed push with sign_key/key_password from secrets verifies, neither in
# any output;
# plugin/Dockerfile (hadolint when installed, else: every COPY source exists,
# the runtime stage installs every library tagseal links); the Docker CLI
# plugin's metadata, and the docs' `docker tagseal` example run as written
# with the docker CLI (no engine needed) and credentials from its config.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/fixtures.sh"
. "$TS_SOURCE_DIR/tests/ci/lib.sh"
ts_need skopeo umoci jq python3 git openssl
python3 -c 'import yaml' 2>/dev/null || ts_skip "python3 module yaml absent (Debian: python3-yaml)"
WOODPECKER=tests/ci/woodpecker/.woodpecker.yml
DOCKER_EXAMPLE=tests/ci/docker/plugin.sh
python3 "$TS_CI_DIR/check_doc.py" "$TS_SOURCE_DIR/docs/ci.md" "$WOODPECKER" "$DOCKER_EXAMPLE" ||
	ts_fail "docs/ci.md does not show the plugin examples verbatim"

# --- plugin/Dockerfile ---
DF=$TS_SOURCE_DIR/plugin/Dockerfile
if command -v hadolint >/dev/null 2>&1; then
	hadolint "$DF" || ts_fail "hadolint finds problems in plugin/Dockerfile"
else
	echo "note: hadolint not installed (not in Debian or npm): static checks of plugin/Dockerfile only" >&2
fi
[ "$(grep -c '^FROM debian:' "$DF")" -ge 2 ] || ts_fail "plugin/Dockerfile is not a multi-stage Debian build"
while read -r src; do
	[ -e "$TS_SOURCE_DIR/$src" ] || ts_fail "plugin/Dockerfile copies '$src', which does not exist"
done < <(awk '$1 == "COPY" && $2 !~ /^--/ { for (i = 2; i < NF; i++) print $i }' "$DF")
grep -q '^ENTRYPOINT \["/usr/local/bin/tagseal-plugin"\]' "$DF" || ts_fail "plugin/Dockerfile entrypoint"
grep -qF 'COPY plugin/entrypoint /usr/local/bin/tagseal-plugin' "$DF" || ts_fail "entrypoint not copied"
if command -v dpkg >/dev/null 2>&1 && command -v readelf >/dev/null 2>&1; then
	runtime=$(awk '/^FROM/ { n++ } n == 2' "$DF")
	for lib in $(readelf -d "$TAGSEAL" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p'); do
		[[ $lib == libc.so.* || $lib == libm.so.* || $lib == ld-linux* || $lib == libasan* ||
		   $lib == libubsan* || $lib == libtsan* || $lib == libgcc_s* || $lib == libpthread* ]] && continue
		pkg=$(dpkg -S "*/$lib" 2>/dev/null | head -n 1 | cut -d: -f1) || pkg=
		[ -n "$pkg" ] || continue
		grep -qw -- "$pkg" <<<"$runtime" ||
			ts_fail "plugin/Dockerfile's runtime stage lacks $pkg (for $lib)"
	done
fi

if command -v dpkg >/dev/null 2>&1 && command -v pkg-config >/dev/null 2>&1; then
	buildstage=$(awk '/^FROM/ { n++ } n == 1' "$DF")
	for pkg in $(ci_dev_packages); do
		grep -qw -- "$pkg" <<<"$buildstage" || ts_fail "plugin/Dockerfile's build stage lacks $pkg"
	done
fi

# the build stage, without Docker: its COPYs into a fresh context, then its
# cmake RUN line (installing into the context instead of /usr/local/bin)
ctx=$T/dockerctx/src
mkdir -p "$ctx" "$T/dockerctx/out"
while read -r from to; do
	[[ $to != */ ]] || to=$to$(basename "$from")
	mkdir -p "$(dirname "$ctx/$to")"
	cp -r "$TS_SOURCE_DIR/$from" "$ctx/$to"
done < <(awk '/^FROM/ { n++ } n == 1 && $1 == "COPY" { print $2, $3 }' "$DF")
buildrun=$(awk '/^FROM/ { n++ } n == 1' "$DF" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' |
	sed -n 's/^RUN \(cmake .*\)$/\1/p' | sed "s|/usr/local/bin/tagseal|$T/dockerctx/out/tagseal|")
[ -n "$buildrun" ] || ts_fail "plugin/Dockerfile: no cmake RUN line in the build stage"
(cd "$ctx" && bash -ec "$buildrun") >"$T/dockerbuild.log" 2>&1 ||
	{ tail -n 30 "$T/dockerbuild.log" >&2; ts_fail "plugin/Dockerfile's build stage does not build"; }
"$T/dockerctx/out/tagseal" --version >/dev/null || ts_fail "plugin/Dockerfile's build gives no working tagseal"

# --- a registry with a password; a project tagged v1.4.0 ---
registry_htpasswd "$T/htpasswd" ci-bot 'plug-S3cret'
registry_start --htpasswd "$T/htpasswd"
PULL=(--src-tls-verify=false --src-creds 'ci-bot:plug-S3cret')
fixture_oci_archive "$T/image.tar" latest 2 31
mkdir -p "$T/work/deploy"
cat >"$T/work/deploy/app.yaml" <<-YAML
services:
  app:
    image: $REGISTRY/team/app:dev
YAML
ci_git_repo "$T/work"
git -C "$T/work" tag v1.4.0
cp "$T/image.tar" "$T/work/image.tar"
cd "$T/work"

# woodpecker_env FILE STEP: the step's settings as Woodpecker passes them
# (PLUGIN_<UPPER>, lists comma-joined, from_secret resolved from $SECRETS_JSON),
# one NAME=VALUE per NUL-terminated item, with the hosted registry and its
# credentials swapped for the local ones.
woodpecker_env() {
	python3 - "$1" "$2" "$REGISTRY" <<-'PY'
	import json, os, sys, yaml
	wf = yaml.safe_load(open(sys.argv[1]))
	step = next(s for s in wf["steps"] if s["name"] == sys.argv[2])
	secrets = json.loads(os.environ["SECRETS_JSON"])
	for k, v in step["settings"].items():
	    if isinstance(v, dict) and "from_secret" in v:
	        v = secrets[v["from_secret"]]
	    elif isinstance(v, list):
	        v = ",".join(str(x) for x in v)
	    v = str(v).replace("registry.example.com", sys.argv[3])
	    sys.stdout.write(f"PLUGIN_{k.upper()}={v}\0")
	PY
}

mapfile -d '' penv < <(SECRETS_JSON='{"registry_token": "plug-S3cret"}' \
	woodpecker_env "$TS_SOURCE_DIR/$WOODPECKER" release)
[ "${#penv[@]}" -ge 8 ] || ts_fail "woodpecker settings not read: ${penv[*]}"
RC=0
env CI=woodpecker CI_PIPELINE_NUMBER=7 TAGSEAL_BIN="$TAGSEAL" "${penv[@]}" \
	"$TS_SOURCE_DIR/plugin/entrypoint" >"$T/out" 2>"$T/err" || RC=$?
[ "$RC" = 0 ] || { cat "$T/out" "$T/err" >&2; ts_fail "plugin entrypoint exited $RC"; }
ref=$(tail -n 1 "$T/out")
repo=$REGISTRY/team/app
[[ $ref =~ ^$repo:1\.4\.0-g[0-9a-f]{12}@sha256:[0-9a-f]{64}$ ]] || ts_fail "last stdout line '$ref'"
digest=${ref##*@}
tag=${ref#"$repo:"}; tag=${tag%@*}
assert_eq "$(registry_pull_verify "$repo:$tag" "$T/pull" "${PULL[@]}")" "$digest" "pulled digest"
for a in latest 1.4; do
	assert_eq "$(registry_pull_verify "$repo:$a" "$T/pull-$a" "${PULL[@]}")" "$digest" "alias $a"
done
assert_contains deploy/app.yaml "image: $ref"
assert_eq "$(jq -r .digest releases.jsonl)" "$digest" "record digest"
assert_eq "$(jq -r .reference push.json)" "$ref" "metadata reference"
assert_not_contains "$T/err" plug-S3cret
assert_not_contains "$T/out" plug-S3cret

# plugin ARGS...: run the entrypoint with NAME=VALUE ARGS; exit code in RC
plugin() {
	RC=0
	env TAGSEAL_BIN="$TAGSEAL" "$@" "$TS_SOURCE_DIR/plugin/entrypoint" >"$T/out" 2>"$T/err" || RC=$?
}
plugin PLUGIN_REPO="$repo"
assert_eq "$RC" 2 "no image: exit"
assert_contains "$T/err" "PLUGIN_IMAGE"
plugin PLUGIN_IMAGE=image.tar
assert_eq "$RC" 2 "no repo: exit"
plugin PLUGIN_IMAGE=image.tar PLUGIN_REPO="$repo" PLUGIN_DRY_RUN=maybe
assert_eq "$RC" 2 "PLUGIN_DRY_RUN=maybe: exit"
plugin PLUGIN_IMAGE=image.tar PLUGIN_REPO="$repo" PLUGIN_PASSWORD=x
assert_eq "$RC" 2 "password without username: exit"
for bad in "x; touch $T/pwned" "\$(touch $T/pwned)" "\`touch $T/pwned\`"; do
	plugin PLUGIN_IMAGE=image.tar PLUGIN_REPO="$repo" PLUGIN_TAG="$bad" PLUGIN_ALIASES="$bad" \
		PLUGIN_USERNAME=ci-bot PLUGIN_PASSWORD=plug-S3cret
	assert_eq "$RC" 2 "tag '$bad': exit"
	[ ! -e "$T/pwned" ] || ts_fail "setting '$bad' ran a command"
done
plugin PLUGIN_IMAGE=image.tar PLUGIN_REPO="$repo" PLUGIN_TAG=2.0.0 PLUGIN_DRY_RUN=true \
	PLUGIN_USERNAME=ci-bot PLUGIN_PASSWORD=plug-S3cret
assert_eq "$RC" 0 "dry run: exit"
tags=$(skopeo list-tags --tls-verify=false --creds ci-bot:plug-S3cret "docker://$repo" | jq -c '.Tags | sort')
[[ $tags != *'"2.0.0"'* ]] || ts_fail "PLUGIN_DRY_RUN=true pushed 2.0.0"
# a signed push: sign_key and key_password from_secret (the key's PEM text)
KPASS='wp-key-Pw-97d3-not-for-logs'
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null |
	openssl pkcs8 -topk8 -v2 aes-256-cbc -passout "pass:$KPASS" -out "$T/wp.key"
openssl pkey -in "$T/wp.key" -passin "pass:$KPASS" -pubout -out "$T/wp.pub"
mkdir "$T/wptmp"
plugin TMPDIR="$T/wptmp" PLUGIN_IMAGE=image.tar PLUGIN_REPO="$repo" PLUGIN_TAG=3.0.0 \
	PLUGIN_USERNAME=ci-bot PLUGIN_PASSWORD=plug-S3cret PLUGIN_SIGN_KEY="$(cat "$T/wp.key")" \
	PLUGIN_KEY_PASSWORD="$KPASS" PLUGIN_ATTEST=true
[ "$RC" = 0 ] || { cat "$T/out" "$T/err" >&2; ts_fail "signed plugin push exited $RC"; }
printf '%s' plug-S3cret | "$TAGSEAL" verify "$repo:3.0.0" --key "$T/wp.pub" --require provenance \
	--username ci-bot --password-stdin >"$T/v.log" 2>&1 ||
	{ cat "$T/v.log" >&2; ts_fail "the plugin's signed push does not verify"; }
assert_eq "$(ls -A "$T/wptmp")" "" "the key's temporary file is removed"
for f in "$T/out" "$T/err"; do
	assert_not_contains "$f" "$KPASS"
	assert_not_contains "$f" "$(sed -n 2p "$T/wp.key")"
done

# --- the Docker CLI plugin ---
meta=$(TAGSEAL_BIN=$TAGSEAL "$TS_SOURCE_DIR/plugin/docker-tagseal" docker-cli-plugin-metadata)
jq -e '.SchemaVersion == "0.1.0" and (.Vendor | length > 0) and (.ShortDescription | length > 0)
	and (.URL | startswith("https://"))' <<<"$meta" >/dev/null || ts_fail "plugin metadata: $meta"
assert_eq "tagseal $(jq -r .Version <<<"$meta")" "$("$TAGSEAL" --version)" "plugin metadata Version"
if ! command -v docker >/dev/null 2>&1; then
	ts_skip_part "docker CLI absent: 'docker tagseal' not run"
	echo "ok: plugin (without the docker CLI)"
	exit 0
fi
# the docs' example, as written, with HOME in the test directory, a tagseal
# checkout's plugin/ at hand, and registry.example.com swapped for the local one
mkdir -p "$T/home/.docker" "$T/bin" "$T/dk"
ln -s "$TAGSEAL" "$T/bin/tagseal"
ln -s "$TS_SOURCE_DIR/plugin" "$T/dk/plugin"
cp "$T/image.tar" "$T/dk/image.tar"
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$REGISTRY" "$(printf 'ci-bot:plug-S3cret' | base64)" \
	>"$T/home/.docker/config.json"
sed "s/registry\.example\.com/$REGISTRY/g" "$TS_SOURCE_DIR/$DOCKER_EXAMPLE" >"$T/docker-example.sh"
RC=0
(cd "$T/dk" && env -u DOCKER_CONFIG HOME="$T/home" PATH="$T/bin:$PATH" \
	bash -eo pipefail "$T/docker-example.sh") >"$T/out" 2>"$T/err" || RC=$?
[ "$RC" = 0 ] || { cat "$T/out" "$T/err" >&2; ts_fail "the docker tagseal example exited $RC"; }
[ -x "$T/home/.docker/cli-plugins/docker-tagseal" ] || ts_fail "plugin not installed by the example"
assert_contains "$T/out" "usage: tagseal COMMAND"
ref=$(tail -n 1 "$T/out")
[[ $ref =~ ^$REGISTRY/team/app:1\.0\.0@sha256:[0-9a-f]{64}$ ]] || ts_fail "docker tagseal push printed '$ref'"
assert_eq "$(registry_pull_verify "$REGISTRY/team/app:1.0.0" "$T/pull-docker" "${PULL[@]}")" "${ref##*@}" \
	"docker tagseal push: pulled digest"
(cd "$T/dk" && HOME="$T/home" PATH="$T/bin:$PATH" docker --help) 2>&1 | grep 'tagseal\*' >/dev/null ||
	ts_fail "docker --help does not list the tagseal plugin"

# Docker's global options before the plugin's name reach the plugin first
# (`docker --config DIR tagseal ...` runs `docker-tagseal --config DIR tagseal ...`):
# --config is where the credentials are (HOME's config has none now),
# --debug is -v, engine options are ignored with a note.
mkdir -p "$T/cfg/cli-plugins" "$T/home2"
cp "$T/home/.docker/config.json" "$T/cfg/config.json"
cp "$T/home/.docker/cli-plugins/docker-tagseal" "$T/cfg/cli-plugins/"
dk() { (cd "$T/dk" && env -u DOCKER_CONFIG HOME="$T/home2" PATH="$T/bin:$PATH" docker "$@"); }
RC=0
dk --config "$T/cfg" --debug tagseal push image.tar --repo "$REGISTRY/team/app" --tag 1.0.1 \
	>"$T/out" 2>"$T/err" || RC=$?
[ "$RC" = 0 ] || { cat "$T/out" "$T/err" >&2; ts_fail "docker --config DIR --debug tagseal push exited $RC"; }
assert_contains "$T/err" "credentials for $REGISTRY from Docker config $T/cfg/config.json"
[[ $(tail -n 1 "$T/out") =~ ^$REGISTRY/team/app:1\.0\.1@sha256:[0-9a-f]{64}$ ]] ||
	ts_fail "docker --config tagseal push printed '$(tail -n 1 "$T/out")'"
RC=0
dk --config="$T/cfg" --context default -l info tagseal --version >"$T/out" 2>"$T/err" || RC=$?
[ "$RC" = 0 ] || { cat "$T/out" "$T/err" >&2; ts_fail "docker --context/-l tagseal --version exited $RC"; }
assert_eq "$(cat "$T/out")" "$("$TAGSEAL" --version)" "docker --context -l tagseal --version"
assert_contains "$T/err" "ignoring docker's --context"
# without a tagseal binary the plugin says so
RC=0
(cd "$T/dk" && env -u DOCKER_CONFIG HOME="$T/home" PATH="/usr/local/bin:/usr/bin:/bin" \
	TAGSEAL_BIN= docker tagseal --version) >"$T/out" 2>"$T/err" || RC=$?
if command -v tagseal >/dev/null 2>&1 && [ "$(command -v tagseal)" != "$T/bin/tagseal" ]; then
	ts_skip_part "a tagseal on PATH: the missing-binary message is not checked"
else
	[ "$RC" != 0 ] || ts_fail "the plugin without a tagseal binary exited 0"
	assert_contains "$T/err" "the tagseal binary was not found"
fi
echo "ok: plugin"
