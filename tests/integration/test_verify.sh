#!/usr/bin/env bash
# test_verify.sh - 'tagseal verify' against a real registry: an intact record
# passes; a tag moved behind tagseal's back (skopeo copy), a deleted tag
# (skopeo delete), an edited line and a torn last line are each named; an
# unreachable registry is exit 4; no control character from a record line or
# a hostile registry's Docker-Content-Digest is printed. Part A builds the record itself (the
# documented format, as an older tagseal might have written it); part B,
# when 'tagseal push' is available, records real pushes and checks the
# GitHub Actions and GitLab outputs the way those systems parse them.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
TAGSEAL=$(realpath "$TAGSEAL") # the test changes directory
. "$TS_LIB_DIR/fixtures.sh"
ts_need skopeo umoci jq python3
# two different images, made here (the test needs no shared fixtures)
IMG1=$T/img1.tar
IMG2=$T/img2.tar
fixture_docker_archive "$IMG1" verify/one:1 2 71
fixture_docker_archive "$IMG2" verify/two:1 2 72

registry_start
R=$REGISTRY/verify/app
sk_copy() { skopeo copy -q --src-tls-verify=false --dest-tls-verify=false "$@"; }
digest_of() { skopeo inspect --tls-verify=false --raw "docker://$1" | sha256sum | sed 's/^/sha256:/; s/ .*//'; }

# mkrecord OUT REPO:TAG@DIGEST...: a chained record in the documented format.
mkrecord() {
	python3 - "$@" <<-'EOF'
	import hashlib, json, sys
	out, refs = sys.argv[1], sys.argv[2:]
	prev, lines = None, []
	for i, r in enumerate(refs):
	    name, digest = r.split("@")
	    repo, tag = name.rsplit(":", 1)
	    obj = {"time": "2026-01-01T00:00:%02dZ" % (i % 60), "repository": repo, "tag": tag,
	           "digest": digest, "aliases": [], "git": {"commit": None},
	           "olderKey": "kept as is", "prev": prev}
	    line = json.dumps(obj, separators=(",", ":")).encode()
	    lines.append(line)
	    prev = "sha256:" + hashlib.sha256(line).hexdigest()
	open(out, "wb").write(b"".join(l + b"\n" for l in lines))
	EOF
}

# ---- part A: verify on a record made here ----
sk_copy "docker-archive:$IMG1" "docker://$R:v1"
sk_copy "docker-archive:$IMG2" "docker://$R:v2"
sk_copy "docker://$R:v1" "docker://$R:v3"
D1=$(digest_of "$R:v1")
D2=$(digest_of "$R:v2")
[ "$D1" != "$D2" ] || ts_fail "the two fixtures have one digest"
assert_eq "$(digest_of "$R:v3")" "$D1" "v3 copied from v1"

REC=$T/record.jsonl
mkrecord "$REC" "$R:v1@$D1" "$R:v2@$D2" "$R:v3@$D1"
run_ts 0 verify --record "$REC"
assert_contains "$T/err" "chain intact"
[ ! -s "$T/out" ] || ts_fail "an intact record printed findings"
run_ts 0 verify --record "$REC" --json
jq -e '.ok == true and .chainOk == true and .tags == 3 and .tagsChecked == 3 and .findings == []' \
	"$T/out" >/dev/null || ts_fail "verify --json on an intact record: $(cat "$T/out")"
echo "ok: intact record"

# Many tags, checked with bounded concurrency: the same verdict with 1 and 8 jobs.
BIG=$T/big.jsonl
refs=()
for i in $(seq 1 24); do
	sk_copy "docker://$R:v2" "docker://$R:many-$i"
	refs+=("$R:many-$i@$D2")
done
mkrecord "$BIG" "${refs[@]}"
run_ts 0 verify --record "$BIG" --jobs 8 -v
assert_contains "$T/err" "checked 24/24 tags"
run_ts 0 verify --record "$BIG" --jobs 1
echo "ok: 24 tags with --jobs 8 and 1"

# Move v1 behind tagseal's back, delete v3.
sk_copy "docker://$R:v2" "docker://$R:v1"
skopeo delete --tls-verify=false "docker://$R:v3"
run_ts 5 verify --record "$REC"
assert_contains "$T/out" "$REC:1: $R:v1 moved: recorded $D1, the registry now has $D2"
assert_contains "$T/out" "$REC:3: $R:v3 is gone: recorded $D1"
assert_not_contains "$T/out" ":v2"
assert_contains "$T/err" "verification failed"
run_ts 5 verify --record "$REC" --json
jq -e --arg d1 "$D1" --arg d2 "$D2" '.ok == false and .exitCode == 5 and
	(.findings | length) == 2 and
	(.findings[0] | .kind == "moved" and .line == 1 and .tag == "v1" and .recorded == $d1 and .current == $d2) and
	(.findings[1] | .kind == "gone" and .line == 3 and .tag == "v3" and .current == null)' \
	"$T/out" >/dev/null || ts_fail "verify --json drift report: $(cat "$T/out")"
echo "ok: moved and deleted tags named"

# An edited line: caught on the line after it, without asking a registry.
ED=$T/edited.jsonl
sed '1s/"olderKey":"kept as is"/"olderKey":"kept as it"/' "$REC" >"$ED"
run_ts 5 verify --record "$ED" --offline
assert_contains "$T/out" "$ED:2: prev does not match line 1"
# A removed line.
sed '2d' "$REC" >"$ED"
run_ts 5 verify --record "$ED" --offline
assert_contains "$T/out" "$ED:2: prev does not match line 1"
# Re-ordered lines.
(sed -n 1p "$REC"; sed -n 3p "$REC"; sed -n 2p "$REC") >"$ED"
run_ts 5 verify --record "$ED" --offline
assert_contains "$T/out" "$ED:2: prev does not match line 1"
echo "ok: edited, removed and re-ordered lines named"

# A torn last line.
TR=$T/torn.jsonl
cp "$REC" "$TR"
truncate -s -7 "$TR"
run_ts 5 verify --record "$TR" --offline
assert_contains "$T/out" "$TR:3: the last line is torn"
echo "ok: torn last line named"

# Lines cut from the end: only an anchor (a head digest saved earlier) shows it.
HEAD=$(jq -r .head <("$TAGSEAL" verify --record "$REC" --offline --json 2>/dev/null))
[[ $HEAD == sha256:* ]] || ts_fail "verify --json gave no head"
sed '$d' "$REC" >"$ED"
run_ts 0 verify --record "$ED" --offline
run_ts 5 verify --record "$ED" --offline --anchor "$HEAD"
assert_contains "$T/out" "$ED:2: no line hashes to the anchor $HEAD"
run_ts 0 verify --record "$REC" --offline --anchor "$HEAD"
run_ts 2 verify --record "$REC" --anchor sha256:nothex
echo "ok: anchor catches lines cut from the end"

# All at once: one run names each finding.
python3 - "$REC" "$T/all.jsonl" <<-'EOF'
import sys
lines = open(sys.argv[1], "rb").read().split(b"\n")[:-1]
lines[1] = lines[1].replace(b"kept as is", b"KEPT AS IS")
open(sys.argv[2], "wb").write(lines[0] + b"\n" + lines[1] + b"\n" + lines[2][:-9])
EOF
run_ts 5 verify --record "$T/all.jsonl"
assert_contains "$T/out" "$T/all.jsonl:1: $R:v1 moved"
assert_contains "$T/out" "$T/all.jsonl:3: the last line is torn"
echo "ok: findings reported together"

# Usage errors and a missing record are exit 2.
run_ts 2 verify
run_ts 2 verify --record "$T/absent.jsonl"
run_ts 2 verify --record "$REC" --jobs 0

# An unreachable registry: exit 4, named.
DEAD=127.0.0.1:$(ts_free_port)
mkrecord "$T/dead.jsonl" "$DEAD/x/y:v1@$D1" "$DEAD/x/y:v2@$D2"
run_ts 4 verify --record "$T/dead.jsonl"
assert_contains "$T/out" "2 tag(s) of $DEAD/x/y could not be checked"
echo "ok: unreachable registry is exit 4"

# A registry that needs credentials: refused without them (exit 4), checked
# with --password-stdin or TAGSEAL_USERNAME/TAGSEAL_PASSWORD; never echoed.
if command -v htpasswd >/dev/null; then
	PW=verify-s3cret-pw
	registry_htpasswd "$T/htpasswd" alice "$PW"
	registry_start --name AUTHREG --htpasswd "$T/htpasswd"
	A=$AUTHREG/verify/private
	sk_copy --dest-creds "alice:$PW" "docker-archive:$IMG1" "docker://$A:v1"
	AD=$(skopeo inspect --tls-verify=false --creds "alice:$PW" --raw "docker://$A:v1" | sha256sum | sed 's/^/sha256:/; s/ .*//')
	mkrecord "$T/auth.jsonl" "$A:v1@$AD"
	run_ts 4 verify --record "$T/auth.jsonl"
	run_ts 0 verify --record "$T/auth.jsonl" --username alice --password-stdin -vv <<<"$PW"
	assert_not_contains "$T/err" "$PW"
	TAGSEAL_USERNAME=alice TAGSEAL_PASSWORD=$PW run_ts 0 verify --record "$T/auth.jsonl" --json
	assert_not_contains "$T/out" "$PW"
	echo "ok: credentials"
else
	ts_skip_part "htpasswd not installed: credentials part not run"
fi

# Terminal escapes: a record's repository or tag, and a registry's
# Docker-Content-Digest, never reach stdout or stderr raw.
. "$TS_LIB_DIR/listener.sh"
no_controls() {
	local f
	for f in "$@"; do
		if LC_ALL=C grep -q '[[:cntrl:]]' <(tr -d '\n' <"$f"); then
			{ echo "--- $f"; cat -v "$f"; } >&2
			ts_fail "$f holds a control character"
		fi
	done
}
python3 - "$T/esc.jsonl" "$R" "$D1" <<-'EOF'
	import hashlib, json, sys
	out, repo, digest = sys.argv[1:]
	prev, data = None, b""
	for r, t in ((repo + "\x1b]0;owned\x07", "v1"), (repo, "v1\x1b[2J\x1b[31m"), (repo, "v1")):
	    line = json.dumps({"repository": r, "tag": t, "digest": digest, "prev": prev},
	                      separators=(",", ":"), ensure_ascii=False).encode()
	    data += line + b"\n"
	    prev = "sha256:" + hashlib.sha256(line).hexdigest()
	open(out, "wb").write(data)
	EOF
run_ts 5 verify --record "$T/esc.jsonl"
assert_contains "$T/out" "$T/esc.jsonl:1: "
assert_contains "$T/out" "$T/esc.jsonl:2: "
no_controls "$T/out" "$T/err"
run_ts 5 verify --record "$T/esc.jsonl" --offline -v
no_controls "$T/out" "$T/err"
listener_start HOSTILE digest-esc
mkrecord "$T/hostile.jsonl" "$HOSTILE/evil/app:v1@$D1"
# a Docker-Content-Digest that is not a digest is no answer: the registry
# client computes the digest of the manifest it serves instead, which is not
# the recorded one (drift, exit 5); the header's bytes are never shown
run_ts 5 verify --record "$T/hostile.jsonl" -vv
no_controls "$T/out" "$T/err"
run_ts 5 verify --record "$T/hostile.jsonl" --json
no_controls "$T/out" "$T/err"
jq -e '.findings[0].current | test("^sha256:[0-9a-f]{64}$")' "$T/out" >/dev/null ||
	ts_fail "hostile digest: $(cat "$T/out")"
echo "ok: no control characters from a record or a registry's digest"

# ---- part B: records written by 'tagseal push' ----
if ! "$TAGSEAL" push --help 2>&1 | grep -- '--record' >/dev/null; then
	ts_skip_part "'tagseal push --record' not available: part B not run"
	exit 0
fi
P=$REGISTRY/verify/pushed
PREC=$T/pushed.jsonl
# Push from a git repository made here, so the record's git facts are known.
fixture_git_repo "$T/src" v1.2.3
cd "$T/src"
COMMIT=$(git rev-parse HEAD)
export GITHUB_OUTPUT=$T/github_output GITHUB_STEP_SUMMARY=$T/github_summary
run_ts 0 push "$IMG1" --repo "$P" --tag p1 --record "$PREC" --alias latest --alias 1 \
	--metadata-file "$T/meta.json" --dotenv "$T/build.env"
PD1=$(tail -n1 "$T/out" | sed 's/.*@//')
run_ts 0 push "$IMG2" --repo "$P" --tag p2 --record "$PREC"
PD2=$(tail -n1 "$T/out" | sed 's/.*@//')
unset GITHUB_OUTPUT GITHUB_STEP_SUMMARY
[ "$(wc -l <"$PREC")" = 2 ] || ts_fail "two pushes did not append two lines"
jq -e -s --arg p "$P" '.[0].prev == null and .[0].tag == "p1" and .[0].repository == $p and
	.[0].aliases == ["latest", "1"] and (.[0].time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$")) and
	(.[1].prev | test("^sha256:[0-9a-f]{64}$")) and .[0].git.commit == $c and .[0].git.dirty == false' \
	--arg c "$COMMIT" "$PREC" >/dev/null ||
	ts_fail "record lines: $(cat "$PREC")"
assert_eq "$(jq -s -r '.[1].prev' "$PREC")" \
	"sha256:$(head -n1 "$PREC" | tr -d '\n' | sha256sum | cut -d' ' -f1)" "prev of line 2"

# GITHUB_OUTPUT, read as the Actions runner reads it (name=value, or
# name<<DELIM ... DELIM); the second push's values win.
python3 - "$T/github_output" >"$T/gh.json" <<-'EOF'
import json, sys
out, lines, i = {}, open(sys.argv[1], encoding="utf-8").read().split("\n"), 0
while i < len(lines):
    line = lines[i]; i += 1
    if not line:
        continue
    eq, hd = line.find("="), line.find("<<")
    if eq >= 0 and (hd < 0 or eq < hd):
        out[line[:eq]] = line[eq + 1:]
    else:
        assert hd > 0, "invalid line %r" % line
        name, delim, value = line[:hd], line[hd + 2:], []
        while lines[i] != delim:
            value.append(lines[i]); i += 1
        i += 1
        out[name] = "\n".join(value)
json.dump(out, sys.stdout)
EOF
jq -e --arg r "$P:p2@$PD2" --arg d "$PD2" \
	'.tag == "p2" and .digest == $d and .reference == $r and .aliases == ""' "$T/gh.json" >/dev/null ||
	ts_fail "GITHUB_OUTPUT: $(cat "$T/github_output")"
grep -q "^aliases<<ghadelimiter_" "$T/github_output" || ts_fail "multi-line aliases not in heredoc form"
assert_contains "$T/github_summary" "| Tag (immutable) | \`p1\` |"
assert_contains "$T/github_summary" "| Tag (immutable) | \`p2\` |"

# The GitLab dotenv report, checked against GitLab's rules.
python3 - "$T/build.env" <<-'EOF'
import re, sys
data = open(sys.argv[1], "rb").read()
assert len(data) < 5120, "dotenv over 5 KiB"
lines = data.decode("utf-8").split("\n")
assert lines[-1] == "", "no final newline"
assert len(lines) - 1 <= 20, "over 20 variables"
for l in lines[:-1]:
    assert re.fullmatch(r"[A-Za-z0-9_]+=\S(.*\S)?", l), "bad dotenv line %r" % l
EOF
grep -qx "TAGSEAL_TAG=p1" "$T/build.env" || ts_fail "dotenv: $(cat "$T/build.env")"
grep -qx "TAGSEAL_DIGEST=$PD1" "$T/build.env" || ts_fail "dotenv digest"
grep -qx "TAGSEAL_REFERENCE=$P:p1@$PD1" "$T/build.env" || ts_fail "dotenv reference"
jq -e --arg d "$PD1" --arg p "$P" '.repository == $p and .tag == "p1" and .digest == $d and
	.["containerimage.digest"] == $d and .["containerimage.descriptor"].digest == $d and
	.["image.name"] == ($p + ":p1," + $p + ":latest," + $p + ":1")' "$T/meta.json" >/dev/null ||
	ts_fail "metadata file: $(cat "$T/meta.json")"
echo "ok: push outputs"

run_ts 0 verify --record "$PREC"
sk_copy "docker://$P:p2" "docker://$P:p1"
sk_copy "docker://$P:p2" "docker://$P:latest" # an alias moving is not drift
run_ts 5 verify --record "$PREC"
assert_contains "$T/out" "$PREC:1: $P:p1 moved: recorded $PD1, the registry now has $PD2"
assert_not_contains "$T/out" "latest"
echo "ok: drift after real pushes"

# A torn record is never extended.
truncate -s -3 "$PREC"
cp "$PREC" "$T/torn-before"
run_ts 2 push "$IMG1" --repo "$P" --tag p3 --record "$PREC"
assert_contains "$T/err" "$PREC:2: the last line is torn"
cmp -s "$PREC" "$T/torn-before" || ts_fail "a torn record was changed"
echo "ok: torn record refused by push"
