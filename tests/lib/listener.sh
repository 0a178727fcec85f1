# listener.sh - start tests/lib/listener.py, a loopback registry impostor
# that logs every request's Authorization header (sourced; needs common.sh).
#
#   listener_start NAME MODE
#     Exports $NAME (127.0.0.1:PORT) and ${NAME}_LOG (one line per request:
#     METHOD PATH AUTHORIZATION-or-"-"). Stopped when the test exits.

listener_start() {
	local name=$1 mode=$2 pid i portfile log
	ts_need python3
	portfile=$(mktemp -u "$T/listener-$name.port.XXXXXX")
	log=$T/listener-$name.log
	: >"$log"
	python3 "$TS_LIB_DIR/listener.py" "$portfile" "$log" "$mode" </dev/null >"$log.stderr" 2>&1 &
	pid=$!
	ts_watch "$pid"
	ts_defer "ts_kill $pid"
	for ((i = 0; i < 100; i++)); do
		[ -s "$portfile" ] && break
		kill -0 "$pid" 2>/dev/null || { cat "$log.stderr" >&2; ts_fail "listener did not start"; }
		sleep 0.1
	done
	[ -s "$portfile" ] || ts_fail "listener did not start"
	export "$name=127.0.0.1:$(cat "$portfile")" "${name}_LOG=$log"
}
