# registry.sh - throwaway Debian docker-registry instances for tests (sourced).
#
#   registry_start [--name NAME] [--htpasswd FILE] [--tls CERT KEY]
#                  [--token REALM SERVICE ISSUER ROOTCERTBUNDLE] [--extra YAML_FILE]
#     Starts `docker-registry serve` on a free 127.0.0.1 port with fresh
#     filesystem storage (deletes enabled) and waits until GET /v2/ answers.
#     Exports, for NAME (default REGISTRY):
#       $NAME      127.0.0.1:PORT          $NAME_URL  http(s)://127.0.0.1:PORT
#       $NAME_PID  the registry's pid      $NAME_DIR  config.yml, log, data/
#     e.g. `registry_start --name MIRROR` gives $MIRROR, $MIRROR_URL, ...
#     The registry is stopped when the test exits (or by registry_stop NAME).
#     --extra appends a YAML file at the top level of config.yml (for keys
#     not set above, e.g. notifications or middleware).
#   registry_stop [NAME]
#   registry_htpasswd FILE USER PASSWORD    bcrypt htpasswd entry (apache2-utils)
#   registry_pull_verify REF DIR [SKOPEO_ARGS...]  pull REF back with skopeo and
#     check every blob digest/size and every layer diff_id; echoes its digest
#   registry_tls DIR                        CA + server certificate for 127.0.0.1:
#     DIR/ca/ca.crt (give DIR/ca to skopeo --*-cert-dir), DIR/ca.key,
#     DIR/server.crt, DIR/server.key (give these to --tls).
#
# Needs common.sh.

# _registry_config PORT DIR HTPASSWD CERT KEY REALM SERVICE ISSUER BUNDLE EXTRA
_registry_config() {
	local port=$1 dir=$2 htpasswd=$3 cert=$4 key=$5 realm=$6 service=$7 issuer=$8 bundle=$9
	local extra=${10}
	cat <<-EOF
	version: 0.1
	log:
	  level: warn
	  accesslog:
	    disabled: true
	storage:
	  filesystem:
	    rootdirectory: $dir/data
	  delete:
	    enabled: true
	  maintenance:
	    uploadpurging:
	      enabled: false
	http:
	  addr: 127.0.0.1:$port
	  secret: tagseal-test-$port
	EOF
	if [ -n "$cert" ]; then
		printf '  tls:\n    certificate: %s\n    key: %s\n' "$cert" "$key"
	fi
	if [ -n "$htpasswd" ]; then
		printf 'auth:\n  htpasswd:\n    realm: tagseal-test\n    path: %s\n' "$htpasswd"
	elif [ -n "$realm" ]; then
		printf 'auth:\n  token:\n    realm: %s\n    service: %s\n    issuer: %s\n    rootcertbundle: %s\n' \
			"$realm" "$service" "$issuer" "$bundle"
	fi
	if [ -n "$extra" ]; then
		cat "$extra"
	fi
}

# _registry_wait URL PID: wait up to ~10 s for GET URL/v2/ to answer 200 or 401.
_registry_wait() {
	local url=$1 pid=$2 i code
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || return 1
		code=$(curl -sk -o /dev/null -w '%{http_code}' --max-time 2 "$url/v2/" || true)
		[[ $code == 200 || $code == 401 ]] && return 0
		sleep 0.1
	done
	return 1
}

registry_start() {
	local name=REGISTRY htpasswd='' cert='' key='' realm='' service='' issuer='' bundle=''
	local extra='' dir port pid url scheme=http try
	while [ $# -gt 0 ]; do
		case $1 in
		--name) name=$2; shift 2 ;;
		--htpasswd) htpasswd=$2; shift 2 ;;
		--tls) cert=$2 key=$3 scheme=https; shift 3 ;;
		--token) realm=$2 service=$3 issuer=$4 bundle=$5; shift 5 ;;
		--extra) extra=$2; shift 2 ;;
		*) ts_fail "registry_start: unknown option '$1'" ;;
		esac
	done
	[[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || ts_fail "registry_start: bad --name '$name'"
	ts_need docker-registry curl
	dir=$(mktemp -d "$T/registry-$name.XXXXXX")
	for ((try = 1; try <= 5; try++)); do
		port=$(ts_free_port)
		_registry_config "$port" "$dir" "$htpasswd" "$cert" "$key" \
			"$realm" "$service" "$issuer" "$bundle" "$extra" >"$dir/config.yml"
		docker-registry serve "$dir/config.yml" </dev/null >"$dir/log" 2>&1 &
		pid=$!
		ts_watch "$pid"
		url=$scheme://127.0.0.1:$port
		_registry_wait "$url" "$pid" && break
		ts_kill "$pid"
		grep -q 'address already in use' "$dir/log" && continue
		{ echo "--- $dir/config.yml"; cat "$dir/config.yml"; echo "--- $dir/log"; cat "$dir/log"; } >&2
		ts_fail "registry_start: docker-registry did not come up on $url"
	done
	[ "$try" -le 5 ] || ts_fail "registry_start: no free port after 5 tries"
	export "$name=127.0.0.1:$port" "${name}_URL=$url" "${name}_PID=$pid" "${name}_DIR=$dir"
	ts_defer "registry_stop $name"
}

registry_stop() {
	local name=${1:-REGISTRY} v
	v=${name}_PID
	[ -n "${!v:-}" ] || return 0
	ts_kill "${!v}"
	export "$v="
}

registry_htpasswd() {
	ts_need htpasswd
	htpasswd -Bbc "$1" "$2" "$3" 2>/dev/null
}

registry_tls() {
	local dir=$1
	ts_need openssl
	mkdir -p "$dir/ca"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=tagseal test CA' \
		-keyout "$dir/ca.key" -out "$dir/ca/ca.crt" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj '/CN=127.0.0.1' \
		-keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
		>"$dir/server.ext"
	openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca/ca.crt" -CAkey "$dir/ca.key" \
		-CAcreateserial -days 2 -extfile "$dir/server.ext" -out "$dir/server.crt" 2>/dev/null
}

# _registry_unpack MEDIATYPE FILE: write FILE's uncompressed bytes to stdout.
_registry_unpack() {
	case $1 in
	*gzip) gzip -dc "$2" ;;
	*zstd) zstd -q -dc "$2" ;;
	*) cat "$2" ;;
	esac
}

# _registry_check_blob DIR DIGEST SIZE: the blob exists with that digest and size.
_registry_check_blob() {
	local f=$1/blobs/sha256/${2#sha256:}
	[ -f "$f" ] || ts_fail "blob $2 missing after pull"
	[ "$(sha256sum "$f" | cut -d' ' -f1)" = "${2#sha256:}" ] || ts_fail "blob $2 has other bytes"
	[ -z "$3" ] || [ "$(stat -c %s "$f")" = "$3" ] || ts_fail "blob $2 is not $3 bytes"
}

# _registry_check_manifest DIR DIGEST: every blob of one image manifest is
# intact and every layer's uncompressed digest is the config's diff_id.
_registry_check_manifest() {
	local dir=$1 man=$1/blobs/sha256/${2#sha256:} cfg i n mt d want got
	cfg=$(jq -r .config.digest "$man")
	_registry_check_blob "$dir" "$cfg" "$(jq -r .config.size "$man")"
	cfg=$dir/blobs/sha256/${cfg#sha256:}
	n=$(jq '.layers | length' "$man")
	[ "$n" = "$(jq '.rootfs.diff_ids | length' "$cfg")" ] ||
		ts_fail "manifest $2 has $n layers but its config lists other diff_ids"
	for ((i = 0; i < n; i++)); do
		mt=$(jq -r ".layers[$i].mediaType" "$man")
		d=$(jq -r ".layers[$i].digest" "$man")
		_registry_check_blob "$dir" "$d" "$(jq -r ".layers[$i].size" "$man")"
		want=$(jq -r ".rootfs.diff_ids[$i]" "$cfg")
		got=sha256:$(_registry_unpack "$mt" "$dir/blobs/sha256/${d#sha256:}" | sha256sum | cut -d' ' -f1)
		[ "$got" = "$want" ] || ts_fail "layer $d ($mt): diff_id $got, config says $want"
	done
}

# registry_pull_verify REF DIR [SKOPEO_ARGS...]: pull REF (host:port/repo:tag
# or @digest) with skopeo, every platform and unchanged, into the OCI layout
# DIR; fail unless every blob matches its digest and size and every layer's
# diff_id matches its config. Echoes the pulled manifest (or index) digest.
# Default SKOPEO_ARGS: --src-tls-verify=false (plain HTTP on loopback).
registry_pull_verify() {
	local ref=$1 dir=$2 top mt d
	shift 2
	[ $# -gt 0 ] || set -- --src-tls-verify=false
	rm -rf "$dir"
	skopeo copy -q --all --preserve-digests "$@" "docker://$ref" "oci:$dir:pulled" >&2 ||
		ts_fail "skopeo could not pull $ref"
	top=$(jq -r '.manifests[0].digest' "$dir/index.json")
	mt=$(jq -r '.manifests[0].mediaType' "$dir/index.json")
	_registry_check_blob "$dir" "$top" ""
	case $mt in
	*index*|*manifest.list*)
		for d in $(jq -r '.manifests[].digest' "$dir/blobs/sha256/${top#sha256:}"); do
			_registry_check_blob "$dir" "$d" ""
			_registry_check_manifest "$dir" "$d"
		done ;;
	*) _registry_check_manifest "$dir" "$top" ;;
	esac
	echo "$top"
}
