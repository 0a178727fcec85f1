# faultproxy.sh - start tests/fault/faultproxy.py in front of a registry (sourced).
#
#   faultproxy_start [--name NAME] UPSTREAM_URL [FAULTPROXY_ARGS...]
#     Starts the proxy on a free 127.0.0.1 port, in front of UPSTREAM_URL
#     (e.g. "$REGISTRY_URL"), and waits until it listens. Exports, for NAME
#     (default PROXY): $NAME (127.0.0.1:PORT), $NAME_URL, $NAME_PID, and
#     $NAME_LOG (one line per request: "TIME METHOD PATH -> STATUS|fault KIND"),
#     $NAME_CONNS (a file with the number of client connections so far; absent
#     before the first).
#     Stopped when the test exits, or by faultproxy_stop NAME. Arguments after
#     UPSTREAM_URL go to faultproxy.py: --rate 0.2 --seed 7
#     --faults 500,503,429,reset,stall,lost --quirks patch201,head403 ...
#     (see the top of tests/fault/faultproxy.py). Default --lifetime is 600 s.
#   faultproxy_stop [NAME]
#   faultproxy_count [NAME] PATTERN   number of log lines matching PATTERN (grep -E)
#
# Needs common.sh.

faultproxy_start() {
	local name=PROXY dir pid i
	if [ "${1:-}" = --name ]; then
		name=$2
		shift 2
	fi
	[[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || ts_fail "faultproxy_start: bad --name '$name'"
	[ $# -ge 1 ] || ts_fail "faultproxy_start: no upstream"
	ts_need python3
	dir=$(mktemp -d "$T/faultproxy-$name.XXXXXX")
	python3 "$TS_SOURCE_DIR/tests/fault/faultproxy.py" --upstream "$1" \
		--port-file "$dir/port" --log "$dir/log" --connections-file "$dir/connections" \
		"${@:2}" </dev/null >"$dir/out" 2>&1 &
	pid=$!
	ts_watch "$pid"
	for ((i = 0; i < 100; i++)); do
		[ -s "$dir/port" ] && break
		kill -0 "$pid" 2>/dev/null || { cat "$dir/out" >&2; ts_fail "faultproxy did not start"; }
		sleep 0.1
	done
	[ -s "$dir/port" ] || ts_fail "faultproxy did not listen within 10 s"
	touch "$dir/log"
	export "$name=127.0.0.1:$(cat "$dir/port")" "${name}_URL=http://127.0.0.1:$(cat "$dir/port")" \
		"${name}_PID=$pid" "${name}_LOG=$dir/log" "${name}_CONNS=$dir/connections"
	ts_defer "faultproxy_stop $name"
}

faultproxy_stop() {
	local v=${1:-PROXY}_PID
	[ -n "${!v:-}" ] || return 0
	ts_kill "${!v}"
	export "$v="
}

faultproxy_count() {
	local name=PROXY v
	[ $# -lt 2 ] || { name=$1; shift; }
	v=${name}_LOG
	grep -cE -- "$1" "${!v}" || true
}
