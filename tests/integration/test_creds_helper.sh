#!/usr/bin/env bash
# test_creds_helper.sh - credential helpers named in the Docker config, run
# by tagseal against a real docker-registry with htpasswd auth:
#   - a helper name that is not [a-z0-9._-]+ ("x/../evil.sh" with a
#     directory docker-credential-x in the working directory, which Docker
#     itself would run as ./evil.sh) is refused with one line naming the
#     config file and the field, and nothing runs;
#   - a helper that never answers is stopped at --timeout: one line naming
#     the helper and the timeout, exit 4, no process left behind;
#   - a helper that answers without end is stopped too.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
. "$TS_LIB_DIR/fixtures.sh"
TAGSEAL=$(realpath "$TAGSEAL") # the test changes directory
ts_need htpasswd python3 umoci timeout

PW='helper-pw-0815'
registry_htpasswd "$T/htpasswd" alice "$PW"
registry_start --name BASIC --htpasswd "$T/htpasswd"
fixture_docker_archive "$T/img.tar" helper/app:1 1 61
mkdir -p "$T/bin" "$T/dc" "$T/work/docker-credential-x"
export PATH=$T/bin:$PATH DOCKER_CONFIG=$T/dc
dc() { printf '%s\n' "$1" >"$T/dc/config.json"; }

# A record with one line, for verify.
python3 - "$T/rec.jsonl" "$BASIC/team/app" <<'PY'
import json, sys
line = json.dumps({"repository": sys.argv[2], "tag": "v1", "digest": "sha256:" + "a" * 64,
                   "prev": None}, separators=(",", ":")).encode()
open(sys.argv[1], "wb").write(line + b"\n")
PY

# ---- a helper name that names a path ----
printf '#!/bin/sh\ntouch %q\necho "{\\"Username\\":\\"alice\\",\\"Secret\\":\\"%s\\"}"\n' \
	"$T/evil-ran" "$PW" >"$T/work/evil.sh"
chmod +x "$T/work/evil.sh"
cd "$T/work"
for field in '"credsStore":"x/../evil.sh"' "\"credHelpers\":{\"$BASIC\":\"x/../evil.sh\"}"; do
	dc "{$field}"
	run_ts 2 push "$T/img.tar" --repo "$BASIC/team/app" --tag v1
	assert_one_line "$T/err"
	assert_contains "$T/err" "$T/dc/config.json"
	assert_contains "$T/err" "${field:1:10}"
	assert_contains "$T/err" "not a credential-helper name"
	[ ! -e "$T/evil-ran" ] || ts_fail "the helper path ./evil.sh was run"
	# verify reports it as the tag that could not be checked
	run_ts 4 verify --record "$T/rec.jsonl"
	assert_contains "$T/out" "not a credential-helper name"
	[ ! -e "$T/evil-ran" ] || ts_fail "the helper path ./evil.sh was run by verify"
done
cd "$T"
echo "ok: helper names that name a path are refused, nothing runs"

# ---- a helper that never answers ----
printf '#!/bin/sh\necho $$ >%q\nexec sleep 300\n' "$T/sleeper.pid" >"$T/bin/docker-credential-sleeper"
chmod +x "$T/bin/docker-credential-sleeper"
dc '{"credsStore":"sleeper"}'
ts_defer 'kill "$(cat "$T/sleeper.pid")"' # should tagseal leave it running
start=$SECONDS
TS_RC=0
timeout 60 "$TAGSEAL" push "$T/img.tar" --repo "$BASIC/team/app" --tag v1 --timeout 2 \
	>"$T/out" 2>"$T/err" || TS_RC=$?
[ "$TS_RC" = 4 ] || { cat "$T/err" >&2; ts_fail "push with a silent helper exited $TS_RC, expected 4"; }
[ $((SECONDS - start)) -lt 30 ] || ts_fail "push waited $((SECONDS - start)) s for the helper"
assert_one_line "$T/err"
assert_contains "$T/err" "docker-credential-sleeper"
assert_contains "$T/err" "within 2 s"
pid=$(cat "$T/sleeper.pid")
! kill -0 "$pid" 2>/dev/null || ts_fail "the silent helper ($pid) is still running"
TS_RC=0
timeout 60 "$TAGSEAL" verify --record "$T/rec.jsonl" --timeout 2 >"$T/out" 2>"$T/err" || TS_RC=$?
[ "$TS_RC" = 4 ] || { cat "$T/out" "$T/err" >&2; ts_fail "verify with a silent helper exited $TS_RC, expected 4"; }
assert_contains "$T/out" "docker-credential-sleeper gave no answer"
echo "ok: a helper that never answers is stopped at --timeout"

# ---- a helper that answers without end ----
printf '#!/bin/sh\nexec yes "{}"\n' >"$T/bin/docker-credential-chatter"
chmod +x "$T/bin/docker-credential-chatter"
dc '{"credsStore":"chatter"}'
TS_RC=0
timeout 60 "$TAGSEAL" push "$T/img.tar" --repo "$BASIC/team/app" --tag v1 --timeout 30 \
	>"$T/out" 2>"$T/err" || TS_RC=$?
[ "$TS_RC" = 4 ] || { cat "$T/err" >&2; ts_fail "push with an endless helper exited $TS_RC, expected 4"; }
assert_one_line "$T/err"
assert_contains "$T/err" "docker-credential-chatter answered more than"
echo "ok: a helper that answers without end is stopped"

# ---- a good helper still works ----
printf '#!/bin/sh\ncat >/dev/null\necho "{\\"Username\\":\\"alice\\",\\"Secret\\":\\"%s\\"}"\n' "$PW" \
	>"$T/bin/docker-credential-good.v2"
chmod +x "$T/bin/docker-credential-good.v2"
dc "{\"credHelpers\":{\"$BASIC\":\"good.v2\"}}"
run_ts 0 push "$T/img.tar" --repo "$BASIC/team/app" --tag v1
assert_not_contains "$T/err" "$PW"
echo "ok: a well-named helper answers"
