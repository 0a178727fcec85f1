#!/usr/bin/env bash
# test_deps_lock.sh - scripts/deps.sh (README's commands run it first) waits
# for the apt/dpkg lock that another apt-get holds (unattended upgrades on a
# fresh machine) instead of failing at once. A process here holds dpkg's
# frontend lock for a few seconds while deps.sh runs apt-get.
. "$(dirname "$0")/../lib/common.sh"
ts_need apt-get dpkg-query python3
[ "$(id -u)" = 0 ] || ts_skip "not root: the dpkg lock cannot be taken"
lock=/var/lib/dpkg/lock-frontend
[ -e "$lock" ] || ts_skip "$lock absent"

python3 - "$lock" "$T/locked" <<'PY' &
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX)   # dpkg and apt use fcntl locks
open(sys.argv[2], "w").close()
time.sleep(4)
PY
holder=$!
ts_watch "$holder"
for _ in $(seq 50); do [ -e "$T/locked" ] && break; sleep 0.1; done
[ -e "$T/locked" ] || ts_fail "could not take the dpkg lock for the test"
start=$(date +%s)
TAGSEAL_DEPS_FORCE=1 bash "$TS_SOURCE_DIR/scripts/deps.sh" >"$T/deps.log" 2>&1 ||
	{ tail -n 20 "$T/deps.log" >&2; ts_fail "deps.sh failed while another process held the apt lock"; }
elapsed=$(($(date +%s) - start))
wait "$holder" || true
[ "$elapsed" -ge 2 ] || { cat "$T/deps.log" >&2; ts_fail "deps.sh did not wait for the lock (${elapsed}s)"; }
echo "ok: deps.sh waited ${elapsed}s for the apt lock"
