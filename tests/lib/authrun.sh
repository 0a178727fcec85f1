# shellcheck shell=bash
# authrun.sh - running tagseal for the auth and TLS tests (sourced): every
# credential source cleared from the environment (so only what a test gives
# counts), a transcript of every run to grep for secrets, and:
#   authrun_image LAYERS SEED  make $T/img.tar, the image pushed
#   push EXPECTED REPO [ARGS...]  push it to REPO+a fresh suffix, tag v1
#   tags EXPECTED REPO [ARGS...]  `tagseal tag --tag v1 --repo REPO ARGS`
#   error_line                 the last run's one error line (verbose aside)
# Output of each run in $T/out and $T/err, both also appended to $TRANSCRIPT.
# Needs common.sh and fixtures.sh.
unset TAGSEAL_USERNAME TAGSEAL_PASSWORD GITHUB_TOKEN GITHUB_ACTOR CI_REGISTRY \
	CI_REGISTRY_USER CI_REGISTRY_PASSWORD CI_JOB_TOKEN
export DOCKER_CONFIG=$T/docker-none
TRANSCRIPT=$T/transcript
: >"$TRANSCRIPT"
N=0

authrun_image() {
	fixture_oci_archive "$T/img.tar" v1 "$1" "$2" >/dev/null
}

# _authrun EXPECTED WHAT ARGS...: run tagseal ARGS, check its exit code
_authrun() {
	local want=$1 what=$2 rc=0
	shift 2
	"$TAGSEAL" "$@" >"$T/out" 2>"$T/err" || rc=$?
	cat "$T/out" "$T/err" >>"$TRANSCRIPT"
	if [ "$rc" != "$want" ]; then
		{ echo "tagseal $*"; echo "exit $rc, expected $want"; cat "$T/err"; } >&2
		ts_fail "$what exited $rc, expected $want"
	fi
}

push() {
	local want=$1 repo=$2
	shift 2
	N=$((N + 1))
	_authrun "$want" "push to $repo$N" push "$T/img.tar" --repo "$repo$N" --tag v1 "$@"
}

tags() {
	local want=$1 repo=$2
	shift 2
	_authrun "$want" "tag --repo $repo" tag --tag v1 --repo "$repo" "$@"
}

error_line() {
	grep '^tagseal: error:' "$T/err" >"$T/errline" || true
	assert_one_line "$T/errline"
}
