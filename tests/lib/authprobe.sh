# authprobe.sh - the registry-access probe for auth and TLS tests (sourced).
#
# The probe is test_auth's test-only mode that drives registry.c and auth.c
# directly. Sourcing this file skips the test when the probe is not built,
# clears every credential source from the environment (so only what a test
# gives counts), and defines:
#   probe EXPECTED ARGS...   run the probe; output in $T/out and $T/err, both
#                            also appended to $TRANSCRIPT (grep it for secrets)
# Needs common.sh.
PROBE=${TS_AUTH_PROBE:-$TS_BUILD_DIR/tests/test_auth}
[ -x "$PROBE" ] || ts_skip "probe $PROBE not built"

unset TAGSEAL_USERNAME TAGSEAL_PASSWORD GITHUB_TOKEN GITHUB_ACTOR CI_REGISTRY \
	CI_REGISTRY_USER CI_REGISTRY_PASSWORD CI_JOB_TOKEN
export DOCKER_CONFIG=$T/docker-none
TRANSCRIPT=$T/transcript
: >"$TRANSCRIPT"

probe() {
	local want=$1 rc=0
	shift
	"$PROBE" probe "$@" >"$T/out" 2>"$T/err" || rc=$?
	cat "$T/out" "$T/err" >>"$TRANSCRIPT"
	if [ "$rc" != "$want" ]; then
		{ echo "probe $*"; echo "exit $rc, expected $want"; cat "$T/out" "$T/err"; } >&2
		ts_fail "probe $1 exited $rc, expected $want"
	fi
}
