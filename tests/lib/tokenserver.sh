# shellcheck shell=bash
# tokenserver.sh - a registry token service on loopback for tests (sourced).
#
#   tokenserver_keys DIR
#     an RSA signing key and self-signed certificate: DIR/token.key,
#     DIR/token.crt (give token.crt to registry_start --token as the bundle)
#   tokenserver_start [--name NAME] DIR [tokenserver.py options...]
#     starts tests/lib/tokenserver.py with DIR's key (options: --user N:P,
#     --refresh-token TOKEN:USER, --mode full|reduced|post404|get405,
#     --expires S, --anonymous-pull, --tls-cert F --tls-key F) and exports, for NAME (default
#     TOKENS): $NAME_PORT, $NAME_PID, $NAME_LOG (one line per token request),
#     $NAME_ISSUED (every token issued, one a line).
#     Stopped when the test exits.
#
# Needs common.sh.

tokenserver_keys() {
	ts_need openssl
	mkdir -p "$1"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=tagseal test token issuer' \
		-keyout "$1/token.key" -out "$1/token.crt" 2>/dev/null
}

tokenserver_start() {
	local name=TOKENS dir pid i portfile log
	if [ "${1:-}" = --name ]; then
		name=$2
		shift 2
	fi
	dir=$1
	shift
	ts_need python3 openssl
	portfile=$(mktemp -u "$T/tokens-$name.port.XXXXXX")
	log=$(mktemp "$T/tokens-$name.log.XXXXXX")
	python3 "$TS_LIB_DIR/tokenserver.py" --key "$dir/token.key" --cert "$dir/token.crt" \
		--log "$log" --issued "$log.issued" --port-file "$portfile" "$@" </dev/null >"$log.stderr" 2>&1 &
	pid=$!
	ts_watch "$pid"
	ts_defer "ts_kill $pid"
	for ((i = 0; i < 100; i++)); do
		[ -s "$portfile" ] && break
		kill -0 "$pid" 2>/dev/null || { cat "$log.stderr" >&2; ts_fail "token service did not start"; }
		sleep 0.1
	done
	[ -s "$portfile" ] || ts_fail "token service did not start"
	export "${name}_PORT=$(cat "$portfile")" "${name}_PID=$pid" "${name}_LOG=$log" \
		"${name}_ISSUED=$log.issued"
}
