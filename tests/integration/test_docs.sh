#!/usr/bin/env bash
# test_docs.sh - the documents made from the option tables are current (the
# man page docs/tagseal.1, the CLI reference docs/cli.md, the bash completion
# docs/tagseal.bash: scripts/gen-docs.sh rewrites them), the man page renders
# without a warning, no user-facing text points outside the project, and
# `cpack -G DEB` makes a Debian package with the binary, the man page and
# the completion, its library dependencies declared.
. "$(dirname "$0")/../lib/common.sh"
ts_need groff man

D=$TS_SOURCE_DIR/docs
for kind in man:tagseal.1 markdown:cli.md bash-completion:tagseal.bash; do
	"$TAGSEAL" help "--${kind%%:*}" >"$T/${kind#*:}" || ts_fail "help --${kind%%:*} failed"
	cmp -s "$T/${kind#*:}" "$D/${kind#*:}" ||
		{ diff -u "$D/${kind#*:}" "$T/${kind#*:}" | head -n 20 >&2
		  ts_fail "docs/${kind#*:} is not what the binary says: run scripts/gen-docs.sh"; }
done
groff -man -Tutf8 -ww -z "$D/tagseal.1" 2>"$T/groff.err" || ts_fail "groff failed on docs/tagseal.1"
[ ! -s "$T/groff.err" ] || { cat "$T/groff.err" >&2; ts_fail "groff warns about docs/tagseal.1"; }
MANWIDTH=80 man -l "$D/tagseal.1" >"$T/man.txt" 2>"$T/man.err" || ts_fail "man -l docs/tagseal.1 failed"
assert_contains "$T/man.txt" "EXIT STATUS"
assert_contains "$T/man.txt" "TAGSEAL_OPT_LONG_NAME"
bash -n "$D/tagseal.bash" || ts_fail "docs/tagseal.bash is not valid bash"
# the completion completes a command's options
out=$(bash -c ". '$D/tagseal.bash'; COMP_WORDS=(tagseal push --pin-o); COMP_CWORD=2; _tagseal; echo \${COMPREPLY[*]}")
assert_eq "$out" "--pin-optional" "bash completion of 'tagseal push --pin-o'"
# user-facing text never points to ../shared
! grep -rn '\.\./shared' "$TS_SOURCE_DIR/README.md" "$D" >"$T/shared" ||
	{ cat "$T/shared" >&2; ts_fail "README.md or docs/ point to ../shared"; }
echo "ok: documents current"

if ! command -v cpack >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1 ||
   ! command -v dpkg-shlibdeps >/dev/null 2>&1; then
	ts_skip_part "cpack, dpkg-deb or dpkg-shlibdeps absent: the Debian package is not built"
	exit 0
fi
(cd "$T" && cpack -G DEB --config "$TS_BUILD_DIR/CPackConfig.cmake" -B "$T/pkg") >"$T/cpack.log" 2>&1 ||
	{ tail -n 20 "$T/cpack.log" >&2; ts_fail "cpack -G DEB failed"; }
deb=$(ls "$T"/pkg/*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || ts_fail "cpack made no .deb"
dpkg-deb -c "$deb" >"$T/contents"
assert_contains "$T/contents" "./usr/bin/tagseal"
assert_contains "$T/contents" "./usr/share/man/man1/tagseal.1"
assert_contains "$T/contents" "./usr/share/bash-completion/completions/tagseal"
dpkg-deb -f "$deb" Depends >"$T/depends"
for lib in libcurl libssl libarchive libjansson libyaml libgit2 libdeflate libzstd; do
	assert_contains "$T/depends" "$lib"
done
echo "ok: Debian package ($(basename "$deb"))"
