#!/bin/bash
# test_resolve_git.sh - 'pin --resolve/--update --commit --push': the pin
# commit holds exactly the changed files (other edits stay out), its message
# lists each change with Image-Digest: trailers, the author is --author or
# the CI's identity; --push reaches a bare repository by local path and by
# smart HTTP (git http-backend behind tests/lib/githttp.py), rebases once
# after a non-fast-forward, and sends a CI token or git's credentials only
# to the server they belong to. History is inspected with git log.
source "$(dirname "$0")/../lib/common.sh"
source "$TS_LIB_DIR/registry.sh"
source "$TS_LIB_DIR/fixtures.sh"
ts_need skopeo umoci jq python3 git
# libgit2 1.5's remotes leak PCRE2 match data (see tests/lib/lsan.supp)
export LSAN_OPTIONS=suppressions=$TS_LIB_DIR/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}

registry_start --name HUB
fixture_oci_layout "$T/img" a 1 1
fixture_oci_layout "$T/img" b 1 2
fixture_oci_layout "$T/img" c 1 3
cp_to() { skopeo copy -q --dest-tls-verify=false "$1" "docker://$2"; }
dig() { echo "sha256:$(skopeo inspect --raw --tls-verify=false "docker://$1" | sha256sum | cut -d' ' -f1)"; }
cp_to "oci:$T/img:a" "$HUB/library/nginx:1.25"
cp_to "oci:$T/img:b" "$HUB/library/redis:7"
NGINX=$(dig "$HUB/library/nginx:1.25")
REDIS=$(dig "$HUB/library/redis:7")
HUBMAP=(--mirror "docker.io=$HUB" --no-registries-conf --no-mirror-check)
export GIT_CONFIG_NOSYSTEM=1 HOME=$T/home
mkdir -p "$HOME"
git config --global user.name "Git User"
git config --global user.email git@example.com
git config --global init.defaultBranch main
unset GITHUB_ACTIONS GITLAB_CI GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL

# a deployment repository, pushed to a bare remote
git init -q --bare "$T/remote.git"
git init -q "$T/work"
mkdir -p "$T/work/deploy"
printf 'services:\n  web:\n    image: nginx:1.25\n  cache:\n    image: redis:7\n' >"$T/work/deploy/compose.yaml"
printf 'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: w\n      image: nginx:1.25\n' \
	>"$T/work/deploy/pod.yaml"
printf 'notes\n' >"$T/work/README"
printf 'staged\n' >"$T/work/other.txt"
git -C "$T/work" add -A
git -C "$T/work" commit -q -m "initial"
git -C "$T/work" remote add origin "$T/remote.git"
git -C "$T/work" push -q origin main

# unrelated edits: one unstaged, one staged; neither may enter the pin commit
echo "edited" >>"$T/work/README"
echo "more" >>"$T/work/other.txt"
git -C "$T/work" add other.txt

# ---- --commit ----
(cd "$T/work" && run_ts 0 pin --resolve "${HUBMAP[@]}" --commit --author "Pin Bot <pin@example.com>" deploy)
assert_contains "$T/err" "committed "
[ "$(git -C "$T/work" log -1 --format='%an <%ae>')" = "Pin Bot <pin@example.com>" ] ||
	ts_fail "author is $(git -C "$T/work" log -1 --format='%an <%ae>')"
[ "$(git -C "$T/work" show --name-only --format= HEAD | sort | tr '\n' ' ')" = \
	"deploy/compose.yaml deploy/pod.yaml " ] || ts_fail "the pin commit holds $(git -C "$T/work" show --name-only --format= HEAD)"
git -C "$T/work" log -1 --format=%B >"$T/msg"
assert_contains "$T/msg" "pin: 3 image references to digests"
assert_contains "$T/msg" "deploy/compose.yaml:3: nginx:1.25 -> @$NGINX"
assert_contains "$T/msg" "Image-Digest: docker.io/library/nginx:1.25@$NGINX"
assert_contains "$T/msg" "Image-Digest: docker.io/library/redis:7@$REDIS"
[ "$(grep -c '^Image-Digest:' "$T/msg")" = 2 ] || ts_fail "one trailer per distinct digest: $(cat "$T/msg")"
[ "$(git -C "$T/work" interpret-trailers --parse <"$T/msg" | grep -c '^Image-Digest:')" = 2 ] ||
	ts_fail "git does not read the trailers"
git -C "$T/work" diff --quiet HEAD -- deploy || ts_fail "the pinned files differ from the commit"
git -C "$T/work" diff --cached --quiet -- other.txt && ts_fail "other.txt is no longer staged"
git -C "$T/work" diff --quiet -- README && ts_fail "README's edit was lost"
git -C "$T/work" show HEAD:README | grep -q edited && ts_fail "README's edit was committed"
echo "ok: --commit stages exactly the changed files, with Image-Digest: trailers and --author"

# ---- --push to a local path; nothing to pin is no commit ----
(cd "$T/work" && run_ts 0 pin --update "${HUBMAP[@]}" --push origin deploy)
assert_contains "$T/err" "nothing changed: no commit"
git -C "$T/work" push -q origin main
[ "$(git -C "$T/remote.git" rev-parse main)" = "$(git -C "$T/work" rev-parse HEAD)" ] || ts_fail "remote not at HEAD"

# ---- a non-fast-forward: someone else pushed first; the tag moved ----
git clone -q "$T/remote.git" "$T/other"
echo "theirs" >"$T/other/CHANGELOG"
git -C "$T/other" add CHANGELOG
git -C "$T/other" commit -q -m "their change"
git -C "$T/other" push -q origin main
THEIRS=$(git -C "$T/other" rev-parse HEAD)
cp_to "oci:$T/img:c" "$HUB/library/nginx:1.25"
NGINX2=$(dig "$HUB/library/nginx:1.25")
GIT_AUTHOR_NAME="Env Author" GIT_AUTHOR_EMAIL=env@example.com \
	bash -c 'cd "$0" && "$TAGSEAL" pin --update "$@" --push origin:main deploy' "$T/work" "${HUBMAP[@]}" \
	>"$T/out" 2>"$T/err" || { cat "$T/err" >&2; ts_fail "pin --update --push after a concurrent push failed"; }
assert_contains "$T/err" "rebased once onto the new remote head"
git -C "$T/remote.git" log --format='%s|%an' main >"$T/log"
[ "$(sed -n 1p "$T/log")" = "pin: update 2 image references to new digests|Env Author" ] ||
	ts_fail "remote head is not the pin commit: $(cat "$T/log")"
[ "$(git -C "$T/remote.git" rev-parse main~1)" = "$THEIRS" ] || ts_fail "the pin commit is not on top of theirs"
[ "$(git -C "$T/work" rev-parse HEAD)" = "$(git -C "$T/remote.git" rev-parse main)" ] ||
	ts_fail "the local branch did not follow the rebase"
[ -f "$T/work/CHANGELOG" ] || ts_fail "the work tree was not moved to the rebased commit"
git -C "$T/remote.git" show main:deploy/pod.yaml | grep -qF "nginx:1.25@$NGINX2" || ts_fail "remote lacks the new digest"
git -C "$T/remote.git" log -1 --format=%B main | grep -qF "deploy/pod.yaml:6: nginx:1.25: $NGINX -> $NGINX2" ||
	ts_fail "message lacks the change: $(git -C "$T/remote.git" log -1 --format=%B main)"
git -C "$T/work" show-ref | grep -q refs/tagseal && ts_fail "temporary refs left behind"
echo "ok: --push to a path; a non-fast-forward is fetched, rebased once and pushed"

# ---- smart HTTP through git http-backend, with credentials ----
# http_start NAME [--user U:P]: githttp.py over $T/srv, exports NAME_URL and NAME_LOG
mkdir -p "$T/srv"
git clone -q --bare "$T/remote.git" "$T/srv/deploy.git"
git -C "$T/srv/deploy.git" config http.receivepack true
http_start() {
	local name=$1 dir i
	shift
	dir=$(mktemp -d "$T/http-$name.XXXXXX")
	python3 "$TS_LIB_DIR/githttp.py" --root "$T/srv" --port-file "$dir/port" --log "$dir/log" "$@" \
		</dev/null >"$dir/out" 2>&1 &
	ts_watch $!
	ts_defer "ts_kill $!"
	for ((i = 0; i < 100; i++)); do [ -s "$dir/port" ] && break; sleep 0.1; done
	[ -s "$dir/port" ] || ts_fail "githttp.py did not start: $(cat "$dir/out")"
	touch "$dir/log"
	export "${name}_URL=http://127.0.0.1:$(cat "$dir/port")" "${name}_LOG=$dir/log"
}
http_start OPEN
git clone -q "$OPEN_URL/deploy.git" "$T/h"
cp_to "oci:$T/img:a" "$HUB/library/redis:7"
REDIS2=$(dig "$HUB/library/redis:7")
(cd "$T/h" && run_ts 0 pin --update "${HUBMAP[@]}" --author "Pin Bot <pin@example.com>" --push origin -v deploy)
[ "$(git -C "$T/srv/deploy.git" rev-parse main)" = "$(git -C "$T/h" rev-parse HEAD)" ] || ts_fail "HTTP push did not land"
git -C "$T/srv/deploy.git" log -1 --format=%B main | grep -qF "Image-Digest: docker.io/library/redis:7@$REDIS2" ||
	ts_fail "HTTP-pushed commit lacks the trailer"
grep -q 'POST /deploy.git/git-receive-pack -> 200' "$OPEN_LOG" || ts_fail "no receive-pack over HTTP: $(cat "$OPEN_LOG")"
# someone pushes over HTTP first: the same one rebase
git clone -q "$OPEN_URL/deploy.git" "$T/h2"
echo "notes" >"$T/h2/NOTES"
git -C "$T/h2" add NOTES
git -C "$T/h2" commit -q -m "their notes"
git -C "$T/h2" push -q origin main
cp_to "oci:$T/img:a" "$HUB/library/nginx:1.25"
(cd "$T/h" && run_ts 0 pin --update "${HUBMAP[@]}" --author "Pin Bot <pin@example.com>" --push origin deploy)
assert_contains "$T/err" "rebased once onto the new remote head"
[ "$(git -C "$T/srv/deploy.git" rev-parse main~1)" = "$(git -C "$T/h2" rev-parse HEAD)" ] ||
	ts_fail "over HTTP, the pin commit is not on top of theirs"
[ -f "$T/h/NOTES" ] || ts_fail "the work tree did not follow the rebase"
echo "ok: --push over smart HTTP (git http-backend), with one rebase after a non-fast-forward"

# a server that wants credentials: a CI token goes only to the CI's own server
TOK=ghs_tok$RANDOM$RANDOM
http_start AUTH --user "x-access-token:$TOK"
git -C "$T/h" remote add auth "$AUTH_URL/deploy.git"
PINBOT=(--author "Pin Bot <pin@example.com>")
cp_to "oci:$T/img:b" "$HUB/library/nginx:1.25"
(cd "$T/h" && GITHUB_ACTIONS=true GITHUB_TOKEN=$TOK GITHUB_SERVER_URL=http://127.0.0.1:1 \
	run_ts 4 pin --update "${HUBMAP[@]}" "${PINBOT[@]}" --push auth:main deploy)
assert_contains "$T/err" "--push"
assert_not_contains "$T/err" "$TOK"
grep -vq 'auth=none' "$AUTH_LOG" && ts_fail "credentials reached a server they were not for: $(cat "$AUTH_LOG")"
git -C "$T/h" reset -q --hard HEAD~1 # the pin commit that could not be pushed
(cd "$T/h" && GITHUB_ACTIONS=true GITHUB_TOKEN=$TOK GITHUB_SERVER_URL=$AUTH_URL \
	run_ts 0 pin --update "${HUBMAP[@]}" "${PINBOT[@]}" --push auth:main deploy)
grep -q 'POST /deploy.git/git-receive-pack -> 200 auth=ok' "$AUTH_LOG" || ts_fail "token push: $(cat "$AUTH_LOG")"
assert_not_contains "$T/err" "$TOK"
echo "ok: a CI token goes to the CI's own server only"

# git's credential configuration (a helper) for that server
cp_to "oci:$T/img:c" "$HUB/library/redis:7"
git -C "$T/h" config credential.helper "!f() { echo username=x-access-token; echo password=$TOK; }; f"
(cd "$T/h" && run_ts 0 pin --update "${HUBMAP[@]}" "${PINBOT[@]}" --push auth:main -v deploy)
assert_contains "$T/err" "push: git credentials for $AUTH_URL"
[ "$(git -C "$T/srv/deploy.git" rev-parse main)" = "$(git -C "$T/h" rev-parse HEAD)" ] ||
	ts_fail "credential-helper push did not land"
git -C "$T/srv/deploy.git" log -3 --format=%s main >"$T/hlog"
[ "$(grep -c '^pin: update' "$T/hlog")" = 3 ] || ts_fail "history: $(cat "$T/hlog")"
assert_not_contains "$T/err" "$TOK"
echo "ok: git's credential helpers answer for the push"
