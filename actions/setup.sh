#!/usr/bin/env bash
# actions/setup.sh - the setup steps of the tagseal GitHub Action: find a
# tagseal to run, or build one from the action's own source.
#
#   setup.sh find     a tagseal already on PATH wins; writes found=true|false,
#                     bin=PATH, key=<source hash>, dir=<install dir> to GITHUB_OUTPUT
#   setup.sh build    after actions/cache restored (or not) the install dir:
#                     installs the Debian/Ubuntu build dependencies with
#                     apt-get when the cached binary is missing or cannot
#                     load its libraries, builds when it is missing, and
#                     writes bin=PATH to GITHUB_OUTPUT
#
# Environment: GITHUB_ACTION_PATH (the action's source), GITHUB_OUTPUT,
# TAGSEAL_ACTION_DIR (install dir; default ~/.cache/tagseal-action).
set -euo pipefail

src=${GITHUB_ACTION_PATH:-$(cd "$(dirname "$0")/.." && pwd)}
dir=${TAGSEAL_ACTION_DIR:-$HOME/.cache/tagseal-action}
out=${GITHUB_OUTPUT:-/dev/stdout}

# Build and run-time dependencies (the -dev packages pull in the libraries).
DEPS=(build-essential cmake pkg-config libcurl4-openssl-dev libssl-dev libarchive-dev
	libjansson-dev libyaml-dev libgit2-dev libdeflate-dev zlib1g-dev libzstd-dev libsodium-dev)

say() { printf 'tagseal action: %s\n' "$*" >&2; }

# source_key: a hash of everything the binary is built from.
source_key() {
	(cd "$src" && find CMakeLists.txt include src -type f -print0 | LC_ALL=C sort -z |
		xargs -0 sha256sum | sha256sum | cut -c1-16)
}

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

find_step() {
	local bin
	if bin=$(command -v tagseal); then
		say "using $bin ($("$bin" --version))"
		printf 'found=true\nbin=%s\n' "$bin" >>"$out"
		return
	fi
	printf 'found=false\nkey=%s\ndir=%s\n' "$(source_key)" "$dir" >>"$out"
}

build_step() {
	local bin=$dir/bin/tagseal missing=
	[ ! -x "$bin" ] || missing=$(ldd "$bin" 2>&1 | grep 'not found' || true)
	if [ ! -x "$bin" ] || [ -n "$missing" ]; then
		say "installing build dependencies with apt-get"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null >&2
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends "${DEPS[@]}" </dev/null >&2
	fi
	if [ ! -x "$bin" ]; then
		say "building tagseal from $src"
		cmake -S "$src" -B "$dir/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTAGSEAL_TESTS=OFF >&2
		cmake --build "$dir/build" -j "$(nproc)" --target tagseal >&2
		mkdir -p "$dir/bin"
		cp "$dir/build/tagseal" "$bin"
		rm -rf "$dir/build"
	fi
	say "using $bin ($("$bin" --version))"
	printf 'bin=%s\n' "$bin" >>"$out"
}

case ${1:-} in
find) find_step ;;
build) build_step ;;
*) say "usage: setup.sh find|build"; exit 2 ;;
esac
