#!/usr/bin/env bash
# test_creds_verify.sh - 'tagseal verify' sends flag and environment
# credentials (--username/--password-stdin, TAGSEAL_USERNAME/PASSWORD) to one
# registry only: --registry-for-credentials HOST, by default the registry of
# the record's line 1. A correctly chained line appended for another host
# (a loopback impostor that asks for Basic credentials and logs every
# Authorization header) never sees them, while the first registry (a real
# docker-registry with htpasswd auth) is still checked with them.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/fixtures.sh"
. "$TS_LIB_DIR/listener.sh"
ts_need skopeo umoci htpasswd python3

PW='S3cret-pw-4711'
registry_htpasswd "$T/htpasswd" alice "$PW"
registry_start --name BASIC --htpasswd "$T/htpasswd"
listener_start EVIL challenge

fixture_docker_archive "$T/img.tar" creds/one:1 1 81
skopeo copy -q --dest-tls-verify=false --dest-creds "alice:$PW" \
	"docker-archive:$T/img.tar" "docker://$BASIC/team/app:v1"
D=$(skopeo inspect --tls-verify=false --creds "alice:$PW" --raw "docker://$BASIC/team/app:v1" |
	sha256sum | sed 's/^/sha256:/; s/ .*//')

# mkrecord OUT REPO:TAG@DIGEST...: a correctly chained record.
mkrecord() {
	python3 - "$@" <<-'PY'
	import hashlib, json, sys
	out, refs = sys.argv[1], sys.argv[2:]
	prev, data = None, b""
	for r in refs:
	    name, digest = r.split("@")
	    repo, tag = name.rsplit(":", 1)
	    line = json.dumps({"repository": repo, "tag": tag, "digest": digest, "prev": prev},
	                      separators=(",", ":")).encode()
	    data += line + b"\n"
	    prev = "sha256:" + hashlib.sha256(line).hexdigest()
	open(out, "wb").write(data)
	PY
}

# no Authorization ever reached the impostor, and no secret was printed
evil_saw_nothing() {
	if grep -v ' -$' "$EVIL_LOG" | grep -q .; then
		{ echo "--- $EVIL_LOG"; cat "$EVIL_LOG"; } >&2
		ts_fail "the impostor $EVIL received credentials"
	fi
	assert_not_contains "$T/out" "$PW"
	assert_not_contains "$T/err" "$PW"
}

REC=$T/record.jsonl
mkrecord "$REC" "$BASIC/team/app:v1@$D" "$EVIL/evil/app:v1@$D"

# Environment credentials: line 1's registry checked with them; the appended
# line's host asked, but without them (it answers 401: exit 4).
: >"$EVIL_LOG"
TAGSEAL_USERNAME=alice TAGSEAL_PASSWORD=$PW run_ts 4 verify --record "$REC" -v
grep -q '^GET /v2/' "$EVIL_LOG" || ts_fail "the impostor was never asked (test is void)"
evil_saw_nothing
assert_contains "$T/err" "credentials are for $BASIC, the registry of line 1"
assert_contains "$T/err" "line 2: $EVIL/evil/app is not on $BASIC: checked without the TAGSEAL_USERNAME/TAGSEAL_PASSWORD credentials"
assert_contains "$T/out" "$REC:2: "
assert_not_contains "$T/out" "$REC:1: "
echo "ok: TAGSEAL_* credentials go to line 1's registry only"

# The same with --username/--password-stdin.
: >"$EVIL_LOG"
run_ts 4 verify --record "$REC" --username alice --password-stdin <<<"$PW"
evil_saw_nothing
assert_not_contains "$T/out" "$REC:1: "
echo "ok: --username/--password-stdin go to line 1's registry only"

# Line 1 names the impostor: --registry-for-credentials keeps them off it.
REC2=$T/record2.jsonl
mkrecord "$REC2" "$EVIL/evil/app:v1@$D" "$BASIC/team/app:v1@$D"
: >"$EVIL_LOG"
TAGSEAL_USERNAME=alice TAGSEAL_PASSWORD=$PW \
	run_ts 4 verify --record "$REC2" --registry-for-credentials "$BASIC" -v
evil_saw_nothing
assert_not_contains "$T/out" "$REC2:2: "
assert_contains "$T/out" "$REC2:1: "
assert_not_contains "$T/err" "the registry of line 1"
echo "ok: --registry-for-credentials names the one registry"

# The registry of the first registry alone: all good with the credentials.
REC3=$T/record3.jsonl
mkrecord "$REC3" "$BASIC/team/app:v1@$D"
TAGSEAL_USERNAME=alice TAGSEAL_PASSWORD=$PW run_ts 0 verify --record "$REC3"
TAGSEAL_USERNAME=alice TAGSEAL_PASSWORD=$PW \
	run_ts 0 verify --record "$REC3" --registry-for-credentials "$BASIC"
# ... and only with them
run_ts 4 verify --record "$REC3"
echo "ok: verify of the first registry works with its credentials"

# A bad --registry-for-credentials is a usage error that repeats no secret.
run_ts 2 verify --record "$REC3" --registry-for-credentials "alice:$PW@$BASIC"
assert_not_contains "$T/err" "$PW"
run_ts 2 verify --record "$REC3" --registry-for-credentials "https://$BASIC"
assert_contains "$T/err" "--registry-for-credentials"
assert_one_line "$T/err"
echo "ok: --registry-for-credentials checked"
