#!/usr/bin/env bash
# release.sh - cut a release from a maintainer's laptop (docs/ci.md).
#
# On a clean work tree whose HEAD carries a version tag vX.Y.Z, on a branch:
#   1. checks the change record's hash chain (`tagseal verify --offline`), so
#      nothing is appended to a record that was edited;
#   2. pushes the image with `tagseal push --scheme semver --version X.Y.Z`
#      (tag X.Y.Z, immutable), moves the aliases, pins REPO:X.Y.Z@DIGEST into
#      the manifests and appends the record (only after the tag is verified);
#   3. commits the pinned files and the record: "release X.Y.Z: pin REF".
# Nothing is pushed to the git remote; the last line says what to run.
# --dry-run computes the digest, shows the manifest diff, and changes nothing.
#
# On a terminal: a progress display (spinner, colours unless NO_COLOR is
# set or TERM=dumb). Otherwise: one plain line per step.
# Exit: 0 released; 2 bad usage, no version tag on HEAD, dirty tree, detached
# HEAD; other codes are tagseal's (3 refused, 4 registry, 5 verification:
# also a record whose chain is broken) or
# 1 for a failed commit.
set -euo pipefail

PROG=release.sh
usage() {
	cat <<-USAGE
	usage: scripts/release.sh --repo REPO [OPTIONS]

	  --repo REPO       repository to push to (default: \$RELEASE_REPO)
	  --image FILE      image tarball or OCI layout (default: image.tar)
	  --pin PATH        manifest file or directory to pin (repeatable; default: deploy/ if present)
	  --record FILE     change record to append to (default: releases.jsonl)
	  --alias TAG       alias to move (repeatable; default: latest, {major}, {major}.{minor})
	  --no-alias        move no alias
	  --dry-run         push nothing, change nothing: print the reference and the manifest diff
	  -h, --help        this help
	Environment: TAGSEAL (the tagseal to run, default: tagseal on PATH), NO_COLOR.
	USAGE
}

# ---- display ----
TTY=0
[ -t 2 ] && [ "${TERM:-}" != dumb ] && TTY=1
C_OK='' C_ERR='' C_DIM='' C_OFF=''
if [ "$TTY" = 1 ] && [ -z "${NO_COLOR:-}" ]; then
	C_OK=$'\033[32m' C_ERR=$'\033[31m' C_DIM=$'\033[2m' C_OFF=$'\033[0m'
fi
STEP=0 STEPS=3

die() { # die CODE MESSAGE
	local code=$1
	shift
	printf '%s%s: error: %s%s\n' "$C_ERR" "$PROG" "$*" "$C_OFF" >&2
	exit "$code"
}

# run_step TITLE CMD...: run CMD as the next step. On a terminal a spinner
# turns while it runs and its stderr is kept in a log shown on failure;
# otherwise plain lines and CMD's stderr as it comes. CMD's stdout goes to
# $OUT (shown, indented, when CMD fails). Exits with CMD's code when it fails.
run_step() {
	# shellcheck disable=SC1003 # a backslash frame, not an escape
	local title=$1 rc=0 pid i=0 frames='|/-\'
	shift
	STEP=$((STEP + 1))
	if [ "$TTY" = 0 ]; then
		printf '%s: [%d/%d] %s\n' "$PROG" "$STEP" "$STEPS" "$title" >&2
		"$@" >"$OUT" || rc=$?
		if [ "$rc" != 0 ]; then
			sed 's/^/    /' "$OUT" >&2
			die "$rc" "step $STEP/$STEPS failed (exit $rc): $title"
		fi
		printf '%s: [%d/%d] done\n' "$PROG" "$STEP" "$STEPS" >&2
		return 0
	fi
	"$@" >"$OUT" 2>"$LOG" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		printf '\r\033[K%s%s%s [%d/%d] %s' "$C_DIM" "${frames:i++%4:1}" "$C_OFF" "$STEP" "$STEPS" "$title" >&2
		sleep 0.1
	done
	wait "$pid" || rc=$?
	if [ "$rc" != 0 ]; then
		printf '\r\033[K%s✗%s [%d/%d] %s\n' "$C_ERR" "$C_OFF" "$STEP" "$STEPS" "$title" >&2
		sed 's/^/    /' "$LOG" "$OUT" >&2
		die "$rc" "step $STEP/$STEPS failed (exit $rc)"
	fi
	printf '\r\033[K%s✓%s [%d/%d] %s\n' "$C_OK" "$C_OFF" "$STEP" "$STEPS" "$title" >&2
	[ ! -s "$LOG" ] || sed "s/^/    $C_DIM/; s/\$/$C_OFF/" "$LOG" >&2
}

# ---- options ----
repo=${RELEASE_REPO:-} image=image.tar record=releases.jsonl dry_run=0 no_alias=0
pins=() aliases=()
while [ $# -gt 0 ]; do
	case $1 in
	--repo) repo=${2:?--repo needs a value}; shift 2 ;;
	--image) image=${2:?--image needs a value}; shift 2 ;;
	--pin) pins+=("${2:?--pin needs a value}"); shift 2 ;;
	--record) record=${2:?--record needs a value}; shift 2 ;;
	--alias) aliases+=("${2:?--alias needs a value}"); shift 2 ;;
	--no-alias) no_alias=1; shift ;;
	--dry-run | -n) dry_run=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die 2 "unknown argument '$1'" ;;
	esac
done
[ -n "$repo" ] || { usage >&2; die 2 "--repo REPO (or RELEASE_REPO) is required"; }
if [ -n "${TAGSEAL:-}" ]; then
	ts=$TAGSEAL
else
	ts=$(command -v tagseal) || die 2 "tagseal is not on PATH (set TAGSEAL to its path)"
fi
[ "${#aliases[@]}" -gt 0 ] || [ "$no_alias" = 1 ] || aliases=(latest '{major}' '{major}.{minor}')
[ "$no_alias" = 0 ] || aliases=()
[ "${#pins[@]}" -gt 0 ] || [ ! -d deploy ] || pins=(deploy/)

# ---- the tree ----
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || die 2 "not inside a git work tree"
vtag=$(git tag --points-at HEAD --list 'v[0-9]*' | grep -E '^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$' |
	sort -V | tail -n 1) || true
[ -n "$vtag" ] || die 2 "HEAD ($(git rev-parse --short HEAD)) has no version tag vX.Y.Z: tag it first (git tag -a v1.2.3)"
version=${vtag#v}
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
	die 2 "the work tree has uncommitted changes to tracked files: commit or stash them first"
fi
branch=$(git symbolic-ref --quiet --short HEAD) ||
	die 2 "HEAD is detached at $vtag: check out the release branch (the pinned files are committed on it)"
[ -e "$image" ] || die 2 "image '$image' not found (build it first, e.g. docker buildx build --output type=oci,dest=$image .)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/release.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
OUT=$WORK/out LOG=$WORK/log
args=(push "$image" --repo "$repo" --scheme semver --version "$version")
for a in "${aliases[@]}"; do args+=(--alias "$a"); done
mode=
[ "$dry_run" = 0 ] || mode=' - dry run'
printf '%s: releasing %s (%s, branch %s) to %s%s\n' "$PROG" "$version" "$vtag" "$branch" "$repo" "$mode" >&2

# ---- dry run: the digest and the diff, nothing changed ----
if [ "$dry_run" = 1 ]; then
	STEPS=2
	run_step "computing the digest of $image" "$ts" "${args[@]}" --dry-run
	ref=$(tail -n 1 "$OUT")
	if [ "${#pins[@]}" -gt 0 ]; then
		run_step "diff of pinning ${pins[*]}" "$ts" pin --dry-run --image "$ref" "${pins[@]}"
		cat "$OUT"
	else
		run_step "no manifests to pin" true
	fi
	printf '%s: dry run: would push, pin, record and commit %s\n' "$PROG" "$ref" >&2
	echo "$ref"
	exit 0
fi

# ---- release ----
for p in "${pins[@]}"; do args+=(--pin "$p"); done
args+=(--record "$record")
if [ -e "$record" ]; then
	run_step "checking the chain of $record" "$ts" verify --offline --record "$record"
else
	run_step "no record yet: $record will be created" true
fi
run_step "pushing $image as $repo:$version, pinning ${pins[*]:-nothing}, recording in $record" "$ts" "${args[@]}"
ref=$(tail -n 1 "$OUT")
commit() {
	git add -- "${pins[@]}" "$record" &&
	if git diff --cached --quiet; then
		echo "nothing to commit: the manifests and record already hold $ref"
	else
		git commit -q -m "release $version: pin $ref" -m "Pushed by scripts/release.sh from $vtag." -- "${pins[@]}" "$record"
	fi
}
run_step "committing the pinned files and the record" commit
printf '%s%s: released %s%s\n' "$C_OK" "$PROG" "$ref" "$C_OFF" >&2
printf '%s: now: git push --follow-tags origin %s\n' "$PROG" "$branch" >&2
echo "$ref"
