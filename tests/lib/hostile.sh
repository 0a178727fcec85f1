# shellcheck shell=bash
# hostile.sh - hostile registries and "other host" listeners for tests
# (tests/lib/hostile_registry.py), and assertions on what reached them (sourced).
#
#   hostile_start [--name NAME] [--bind ADDR] [hostile_registry.py options...]
#     starts a hostile registry or listener on a free port of ADDR (default
#     127.0.0.1; 127.0.0.2 stands for another host) and waits for its port
#     file. Exports, for NAME (default HOSTILE): $NAME (ADDR:PORT),
#     $NAME_URL (http://ADDR:PORT), $NAME_PID, $NAME_LOG (one line per
#     request: "METHOD PATH auth=yes:SCHEME|auth=no -> STATUS"). Options:
#     --port P, --upstream URL | --upstream-file F [--upstream-ca F], --basic-file F,
#     --bearer-len N
#     [--issued F], --mode MODE (repeatable), --lifetime S (default 120);
#     see the top of hostile_registry.py. Stopped when the test exits.
#   assert_no_auth NAME      fail if NAME's log shows any Authorization header
#   check ASSERTION...       run an assertion, count its failure and go on;
#   check_done               then fail if any check failed
#
# Needs common.sh.

hostile_start() {
	local name=HOSTILE bind=127.0.0.1 dir pid i
	while [ $# -gt 0 ]; do
		case $1 in
		--name) name=$2; shift 2 ;;
		--bind) bind=$2; shift 2 ;;
		*) break ;;
		esac
	done
	[[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || ts_fail "hostile_start: bad --name '$name'"
	ts_need python3
	dir=$(mktemp -d "$T/hostile-$name.XXXXXX")
	: >"$dir/log"
	python3 "$TS_LIB_DIR/hostile_registry.py" --bind "$bind" --port-file "$dir/port" \
		--log "$dir/log" "$@" </dev/null >"$dir/out" 2>&1 &
	pid=$!
	ts_watch "$pid"
	ts_defer "ts_kill $pid"
	for ((i = 0; i < 100; i++)); do
		[ -s "$dir/port" ] && break
		kill -0 "$pid" 2>/dev/null || { cat "$dir/out" >&2; ts_fail "hostile_start: $name did not start"; }
		sleep 0.1
	done
	[ -s "$dir/port" ] || ts_fail "hostile_start: $name did not start"
	local port
	port=$(tr -d '[:space:]' <"$dir/port")
	export "$name=$bind:$port" "${name}_URL=http://$bind:$port" "${name}_PID=$pid" \
		"${name}_LOG=$dir/log"
}

# assert_no_auth NAME: NAME's listener never received an Authorization header.
assert_no_auth() {
	local v=${1}_LOG
	if grep -q ' auth=yes' "${!v}"; then
		{ echo "--- ${1}'s request log (head)"; head -n 4 "${!v}" | cut -c1-200; } >&2
		ts_fail "credentials reached ${!1} (${1}), another origin than the registry"
	fi
}

# check ASSERTION...: run one assertion (an assert_* or any command that fails
# with ts_fail) in a subshell; when it fails, count it and go on, so that one
# run shows every defect of a test. check_done fails the test if any did.
TS_CHECKS_FAILED=0
check() {
	("$@") || TS_CHECKS_FAILED=$((TS_CHECKS_FAILED + 1))
}
check_done() {
	[ "$TS_CHECKS_FAILED" = 0 ] || ts_fail "$TS_CHECKS_FAILED check(s) failed (see above)"
}
