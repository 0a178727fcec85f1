# tests/ci/lib.sh - helpers for the CI-integration tests (sourced after
# tests/lib/common.sh).
#
#   ci_npm_module NAME   echo the directory of the npm package NAME installed
#                        globally (scripts/deps.sh installs the pinned ones),
#                        or in $TS_NPM_PREFIX; fail (return 1) when absent
#   ci_npm_bin NAME      echo the path of the npm command NAME, likewise
#   ci_git_repo DIR      make DIR a git repository on branch main with one
#                        commit of whatever DIR holds

TS_CI_DIR=$TS_SOURCE_DIR/tests/ci

ci_npm_module() {
	local d
	for d in ${TS_NPM_PREFIX:+"$TS_NPM_PREFIX/node_modules"} \
		"$(npm root -g 2>/dev/null || true)" /usr/local/lib/node_modules /usr/lib/node_modules; do
		[ -n "$d" ] && [ -f "$d/$1/package.json" ] && { echo "$d/$1"; return 0; }
	done
	return 1
}

ci_npm_bin() {
	local d
	for d in ${TS_NPM_PREFIX:+"$TS_NPM_PREFIX/node_modules/.bin"} \
		"$(npm prefix -g 2>/dev/null || true)/bin" /usr/local/bin /usr/bin; do
		[ -x "$d/$1" ] && { echo "$d/$1"; return 0; }
	done
	return 1
}

ci_git_repo() {
	git -C "$1" init -q -b main
	git -C "$1" add -A
	git -C "$1" -c user.name=test -c user.email=test@example.invalid \
		commit -q --allow-empty -m "initial"
}

# ci_dev_packages: the Debian packages that provide the pkg-config modules
# CMakeLists.txt asks for (one per line); needs dpkg and pkg-config.
ci_dev_packages() {
	local mod pc
	for mod in $(sed -n '/pkg_check_modules(DEPS/,/)/p' "$TS_SOURCE_DIR/CMakeLists.txt" |
		tr -d '()' | tr ' ' '\n' | grep -v -e '^$' -e pkg_check_modules -e DEPS -e REQUIRED -e IMPORTED_TARGET); do
		pc=$(pkg-config --variable=pcfiledir "$mod" 2>/dev/null)/$mod.pc || continue
		dpkg -S "$pc" 2>/dev/null | head -n 1 | cut -d: -f1
	done | sort -u
}
