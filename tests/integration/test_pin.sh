#!/bin/bash
# test_pin.sh - 'tagseal pin' on the corpus in tests/data/pin: byte-exact
# output, untouched files keep their inode and mtime, idempotence, --dry-run
# diffs that patch(1) applies, kubectl kustomize builds the pinned overlay,
# yamllint finds nothing new, and every bad input (unparsable, binary,
# unreadable, block scalar, alias, read-only directory, immutable file)
# exits 2 with one line naming the file and leaves every file as it was, as
# does a write that fails after others succeeded (they are put back).
set -u
: "${TAGSEAL:?TAGSEAL must name the built binary}" "${TS_SOURCE_DIR:?}"
DATA=$TS_SOURCE_DIR/tests/data/pin
SHOP=ghcr.io/acme/shop:2.0.0@sha256:0717098f1c72f8dd2b70a7683392d572480b1fb0a9171d35d215eaf64dca2b3e
NGINX=nginx:1.27.3@sha256:66bfb6281dd8ff2cf2176150530fc993dcfd1672fd9c3b405fd2a8bd80c348b4
WORK=$(mktemp -d)
IMMUTABLE=()
cleanup() {
	for p in "${IMMUTABLE[@]}"; do chattr -i "$p" 2>/dev/null; done
	chmod -R u+rwX "$WORK" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# name, inode, mtime (ns), size, mode and sha256 of every file under $1
snapshot() {
	(cd "$1" && find . -type f -print0 | sort -z |
		xargs -0 stat -c '%n %i %.9Y %s %a' && find . -type f -print0 | sort -z |
		xargs -0 sha256sum)
}

fresh() { rm -rf "$WORK/$1" && cp -a "$DATA/input" "$WORK/$1"; }

# ---- the corpus, byte for byte ----
fresh c
before_other=$(stat -c '%i %.9Y' "$WORK/c/other/other-images.yaml" "$WORK/c/helm/shop/Chart.yaml" \
	"$WORK/c/helm/shop/templates/deployment.yaml")
"$TAGSEAL" pin --image "$SHOP" "$WORK/c" 2>"$WORK/err1" || fail "pin shop: exit $? $(cat "$WORK/err1")"
"$TAGSEAL" pin --image "$NGINX" "$WORK/c" 2>"$WORK/err2" || fail "pin nginx: exit $? $(cat "$WORK/err2")"
diff -r "$DATA/expected" "$WORK/c" >"$WORK/diff" || { cat "$WORK/diff"; fail "pinned corpus differs from expected"; }
for f in $(cd "$DATA/expected" && find . -type f); do
	cmp -s "$DATA/expected/$f" "$WORK/c/$f" || fail "$f differs from expected"
done
pass "pinned corpus matches tests/data/pin/expected byte for byte"

n=$(grep -c -- ' -> ' "$WORK/err1")
[ "$n" -eq 20 ] || fail "expected 20 changes reported for shop, got $n: $(cat "$WORK/err1")"
grep -qx "tagseal: $WORK/c/k8s/cronjob.yaml:16: ghcr.io/acme/shop:1.9.0 -> ${SHOP/2.0.0/2.0.0}" "$WORK/err1" ||
	fail "change line for cronjob.yaml missing: $(cat "$WORK/err1")"
pass "each change reported as FILE:LINE: OLD -> NEW"

after_other=$(stat -c '%i %.9Y' "$WORK/c/other/other-images.yaml" "$WORK/c/helm/shop/Chart.yaml" \
	"$WORK/c/helm/shop/templates/deployment.yaml")
[ "$before_other" = "$after_other" ] || fail "files without references were rewritten"
pass "files that need no change keep inode and mtime"

s1=$(snapshot "$WORK/c")
"$TAGSEAL" pin --image "$SHOP" "$WORK/c" 2>"$WORK/err3" || fail "second pin failed"
"$TAGSEAL" pin --image "$NGINX" "$WORK/c" 2>>"$WORK/err3" || fail "second pin failed"
[ "$s1" = "$(snapshot "$WORK/c")" ] || fail "pinning twice changed files"
! grep -q -- ' -> ' "$WORK/err3" || fail "second run reported changes"
pass "pinning is idempotent (no write on the second run)"

# ---- kustomize builds the pinned overlay ----
if command -v kubectl >/dev/null; then
	kubectl kustomize "$WORK/c/kustomize/overlays/prod" >"$WORK/kust" 2>&1 || fail "kubectl kustomize: $(cat "$WORK/kust")"
	grep -q "image: $SHOP\$" "$WORK/kust" || fail "kustomize output lacks $SHOP: $(cat "$WORK/kust")"
	grep -q "image: docker.io/library/$NGINX\$" "$WORK/kust" || fail "kustomize output lacks nginx pin"
	grep -q "image: redis:7.2.4\$" "$WORK/kust" || fail "kustomize output lost redis"
	pass "kubectl kustomize builds the pinned overlay with the pinned references"
else
	echo "note: kubectl absent, kustomize build not checked"
fi

# ---- yamllint finds nothing new ----
if command -v yamllint >/dev/null; then
	printf 'extends: relaxed\nrules:\n  line-length: disable\n' >"$WORK/yl.yaml"
	lint() { (cd "$1" && yamllint -f parsable -c "$WORK/yl.yaml" . | sed 's/:[0-9]*:[0-9]*:/:/' | sort); }
	diff <(lint "$DATA/input") <(lint "$WORK/c") || fail "yamllint reports something new in pinned files"
	pass "yamllint (relaxed, no line-length) finds nothing new"
else
	echo "note: yamllint absent, not checked"
fi

# ---- --dry-run: a unified diff, nothing written ----
fresh d
fresh p
s0=$(snapshot "$WORK/d")
(cd "$WORK/d" && "$TAGSEAL" pin -n --image "$SHOP" . >"$WORK/d1.patch" 2>/dev/null) || fail "dry run failed"
[ "$s0" = "$(snapshot "$WORK/d")" ] || fail "--dry-run changed files"
grep -q '^+++ b/./k8s/cronjob.yaml' "$WORK/d1.patch" || fail "dry run printed no diff: $(head "$WORK/d1.patch")"
(cd "$WORK/p" && patch -s -p1 <"$WORK/d1.patch") || fail "patch(1) rejects the dry-run diff"
(cd "$WORK/p" && "$TAGSEAL" pin --dry-run --image "$NGINX" . >"$WORK/d2.patch" 2>/dev/null) || fail "dry run 2 failed"
(cd "$WORK/p" && patch -s -p1 <"$WORK/d2.patch") || fail "patch(1) rejects the second dry-run diff"
find "$WORK/p" -name '*.orig' -delete
diff -r "$DATA/expected" "$WORK/p" >/dev/null || fail "dry-run diffs applied do not give the expected corpus"
pass "--dry-run prints a diff that patch -p1 applies to give the expected bytes, and writes nothing"

# ---- pin form digest ----
fresh g
"$TAGSEAL" pin --pin-form digest --image "$SHOP" "$WORK/g/k8s/cronjob.yaml" 2>/dev/null || fail "--pin-form digest failed"
grep -q "image: ghcr.io/acme/shop@sha256:0717098f" "$WORK/g/k8s/cronjob.yaml" || fail "--pin-form digest did not write REPO@DIGEST"
pass "--pin-form digest writes REPO@DIGEST"

# ---- bad inputs: exit 2, one line naming the file, nothing touched ----
expect_refusal() { # name, expected message part, [runner...]
	local name=$1 want=$2 rc
	shift 2
	local s_before
	s_before=$(snapshot "$WORK/b")
	"$@" "$TAGSEAL" pin --image "$SHOP" "$WORK/b" >"$WORK/out" 2>"$WORK/err"
	rc=$?
	[ $rc -eq 2 ] || fail "$name: exit $rc, expected 2: $(cat "$WORK/err")"
	[ "$(wc -l <"$WORK/err")" -eq 1 ] || fail "$name: expected one stderr line: $(cat "$WORK/err")"
	grep -qF -- "$want" "$WORK/err" || fail "$name: message lacks '$want': $(cat "$WORK/err")"
	[ "$s_before" = "$(snapshot "$WORK/b")" ] || fail "$name: files changed"
	[ -z "$(find "$WORK/b" -name '.tmp.tagseal-*')" ] || fail "$name: temporary files left behind"
	pass "$name: exit 2, '$(cat "$WORK/err")', no file changed"
}

for bad in unparsable block-scalar alias; do
	fresh b
	mkdir -p "$WORK/b/zz"
	cp "$DATA/bad/$bad.yaml" "$WORK/b/zz/bad.yaml"
	case $bad in
	unparsable) want="$WORK/b/zz/bad.yaml:9:10: not valid YAML" ;;
	block-scalar) want="$WORK/b/zz/bad.yaml:8: the reference to ghcr.io/acme/shop is a folded block scalar" ;;
	alias) want="$WORK/b/zz/bad.yaml:10: the reference to ghcr.io/acme/shop is an alias (*shop)" ;;
	esac
	expect_refusal "$bad" "$want"
done

fresh b
mkdir -p "$WORK/b/zz"
printf 'apiVersion: v1\nkind: Pod\n\0\0\0\x01binary' >"$WORK/b/zz/bad.yaml"
expect_refusal binary "$WORK/b/zz/bad.yaml: binary file"

fresh b
mkdir -p "$WORK/b/zz"
cp "$DATA/input/k8s/cronjob.yaml" "$WORK/b/zz/bad.yaml"
chmod 000 "$WORK/b/zz/bad.yaml"
if [ "$(id -u)" -eq 0 ] && ! command -v setpriv >/dev/null; then
	echo "note: running as root without setpriv; unreadable file not checked"
elif [ "$(id -u)" -eq 0 ]; then
	# root reads anything: run tagseal as nobody on a tree nobody owns
	chmod 755 "$WORK"
	chown -R 65534:65534 "$WORK/b"
	expect_refusal unreadable "$WORK/b/zz/bad.yaml': Permission denied" setpriv --reuid=65534 --regid=65534 --clear-groups
else
	expect_refusal unreadable "$WORK/b/zz/bad.yaml': Permission denied"
fi
chmod 644 "$WORK/b/zz/bad.yaml"

# a directory that cannot take a new file: markers/ sorts after the other
# changed files, so a writer that did not check first would have renamed them
fresh b
if [ "$(id -u)" -eq 0 ]; then
	if chattr +i "$WORK/b/markers" 2>/dev/null; then
		IMMUTABLE+=("$WORK/b/markers")
		expect_refusal read-only-directory "$WORK/b/markers/settings.yaml: cannot write in directory"
		chattr -i "$WORK/b/markers"
		fresh b
		chattr +i "$WORK/b/markers/settings.yaml" && IMMUTABLE+=("$WORK/b/markers/settings.yaml")
		expect_refusal immutable-file "$WORK/b/markers/settings.yaml is immutable"
		chattr -i "$WORK/b/markers/settings.yaml"
	else
		echo "note: chattr +i unsupported here; read-only directory not checked as root"
	fi
else
	chmod 555 "$WORK/b/markers"
	expect_refusal read-only-directory "$WORK/b/markers/settings.yaml: cannot write in directory"
	chmod 755 "$WORK/b/markers"
fi

# a symbolic link named explicitly is refused up front, not written through
fresh b
ln -s k8s/cronjob.yaml "$WORK/b/link.yaml"
s_before=$(snapshot "$WORK/b")
"$TAGSEAL" pin --image "$SHOP" "$WORK/b/k8s/statefulset.yaml" "$WORK/b/link.yaml" 2>"$WORK/err"
[ $? -eq 2 ] && grep -q "symbolic link" "$WORK/err" || fail "symlink: $(cat "$WORK/err")"
[ "$s_before" = "$(snapshot "$WORK/b")" ] || fail "symlink: files changed"
pass "an explicit symlink is refused before anything is written"

# a write that fails after earlier files were replaced puts those back: the
# second file is over the file-size limit (EFBIG; SIGXFSZ ignored), and its
# name carries an escape character that the one-line error must not print
mkdir "$WORK/w"
printf 'kind: Pod\nspec:\n  containers:\n  - image: ghcr.io/acme/shop:1.0\n' >"$WORK/w/a.yaml"
big=$WORK/w/$'b\e[31m.yaml'
{ cat "$WORK/w/a.yaml"; for i in $(seq 3000); do echo "# padding line $i ......................"; done; } >"$big"
s_before=$(cat "$WORK/w/a.yaml" "$big" | sha256sum)
(trap '' XFSZ; ulimit -f 64; exec "$TAGSEAL" pin --image "$SHOP" "$WORK/w") 2>"$WORK/err"
rc=$?
[ $rc -eq 2 ] || fail "write failure: exit $rc, expected 2: $(cat -v "$WORK/err")"
[ "$(wc -l <"$WORK/err")" -eq 1 ] && grep -q "cannot write: File too large (files written before it were restored)" "$WORK/err" ||
	fail "write failure message: $(cat -v "$WORK/err")"
! grep -q $'\e' "$WORK/err" || fail "write failure message has a raw escape: $(cat -v "$WORK/err")"
grep -qF "w/b?[31m.yaml" "$WORK/err" || fail "write failure does not name the file: $(cat -v "$WORK/err")"
[ "$s_before" = "$(cat "$WORK/w/a.yaml" "$big" | sha256sum)" ] || fail "write failure: a.yaml not restored"
pass "a write failing midway restores the files written before it, in a one-line error"

# -q silences the change lines; a run that finds nothing warns and succeeds
fresh q
"$TAGSEAL" pin -q --image "$SHOP" "$WORK/q/k8s" 2>"$WORK/err" || fail "pin -q failed"
[ ! -s "$WORK/err" ] || fail "pin -q printed: $(cat "$WORK/err")"
"$TAGSEAL" pin --image "ghcr.io/acme/absent:1@${SHOP#*@}" "$WORK/q" 2>"$WORK/err" || fail "no-match run failed"
grep -q "warning: no reference to the repository of 'ghcr.io/acme/absent:1@sha256:.*' found in 18 YAML files" "$WORK/err" ||
	fail "no-match warning: $(cat "$WORK/err")"
"$TAGSEAL" pin --help | grep -- '--pin-form' >/dev/null || fail "pin --help"
pass "-q is quiet, a run without matches warns and exits 0, --help"

# usage errors
"$TAGSEAL" pin --image ghcr.io/acme/shop:2.0.0 "$WORK/b" 2>"$WORK/err"
[ $? -eq 2 ] && grep -q "has no digest" "$WORK/err" || fail "--image without digest: $(cat "$WORK/err")"
"$TAGSEAL" pin --image "$SHOP" 2>/dev/null
[ $? -eq 2 ] || fail "pin without PATH should exit 2"
"$TAGSEAL" pin --image "$SHOP" "$WORK/nonexistent" 2>"$WORK/err"
[ $? -eq 2 ] && grep -q "nonexistent: No such file" "$WORK/err" || fail "missing path: $(cat "$WORK/err")"
pass "usage errors exit 2"
echo "all pin tests passed"
