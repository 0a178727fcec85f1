#!/usr/bin/env bash
# tag.sh - benchmark 'tagseal tag' on a repository with thousands of commits
# and tags (the target is well under 100 ms). Not a timed test: prints the
# figures. Usage: tests/bench/tag.sh [COMMITS=5000] [TAG_EVERY=2] [RUNS=10]
# (TAGSEAL=path/to/tagseal; default build/tagseal).
set -euo pipefail
COMMITS=${1:-5000}
TAG_EVERY=${2:-2}
RUNS=${3:-10}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
TAGSEAL=${TAGSEAL:-$SRC/build/tagseal}
[ -x "$TAGSEAL" ] || { echo "TAGSEAL=$TAGSEAL is not an executable" >&2; exit 2; }
T=$(mktemp -d "${TMPDIR:-/tmp}/tagbench.XXXXXX")
trap 'rm -rf "$T"' EXIT
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1

# History made with fast-import: a main line with a side branch merged in
# every 50 commits, a lightweight semver tag every TAG_EVERY commits and an
# annotated prerelease every 10; the highest version is on an old commit's
# side branch that is never merged, so the walk cannot stop early.
gen() {
	local i t=1700000000 mark
	echo "reset refs/heads/main"
	for ((i = 1; i <= COMMITS; i++)); do
		t=$((t + 60))
		printf 'commit refs/heads/main\nmark :%d\ncommitter B <b@example.com> %d +0000\n' "$i" "$t"
		printf 'data <<E\nc%d\nE\n' "$i"
		[ "$i" -gt 1 ] && printf 'from :%d\n' $((i - 1))
		if ((i % 50 == 0 && i > 100)); then
			printf 'merge :%d\n' $((i - 75))
		fi
		printf 'M 644 inline f%d\ndata <<E\n%d\nE\n\n' $((i % 100)) "$i"
		if ((i % TAG_EVERY == 0)); then
			printf 'reset refs/tags/v0.%d.%d\nfrom :%d\n\n' $((i / 100)) $((i % 100)) "$i"
		fi
		if ((i % 10 == 0)); then
			printf 'tag 1.%d.0-rc.%d\nfrom :%d\ntagger B <b@example.com> %d +0000\ndata 2\nrc\n' \
				"$i" $((i % 7)) "$i" "$t"
		fi
	done
	mark=$((COMMITS + 1))
	printf 'commit refs/heads/old\nmark :%d\ncommitter B <b@example.com> %d +0000\n' "$mark" "$t"
	printf 'data 4\nold\nfrom :1\n\n'
	printf 'reset refs/tags/v99.0.0\nfrom :%d\n\n' "$mark"
}
git init -q -b main "$T/repo"
gen | git -C "$T/repo" fast-import --quiet
git -C "$T/repo" checkout -q main
echo "repository: $(git -C "$T/repo" rev-list --count HEAD) commits, $(git -C "$T/repo" tag | wc -l) tags"
echo "tag: $("$TAGSEAL" tag --git-dir "$T/repo" --scheme describe)"

# time_runs LABEL: RUNS timed runs of the default scheme.
time_runs() {
	local best=999999 total=0 r s e ms
	for ((r = 0; r < RUNS; r++)); do
		s=$(date +%s%N)
		"$TAGSEAL" tag --git-dir "$T/repo" >/dev/null
		e=$(date +%s%N)
		ms=$(((e - s) / 1000000))
		total=$((total + ms))
		((ms < best)) && best=$ms
	done
	echo "tagseal tag ($1): best ${best} ms, mean $((total / RUNS)) ms over $RUNS runs (target < 100 ms)"
}
time_runs "loose tag refs"
git -C "$T/repo" pack-refs --all
time_runs "packed refs, as after a clone or gc"
s=$(date +%s%N)
"$TAGSEAL" --version >/dev/null
e=$(date +%s%N)
echo "(process start-up alone, tagseal --version: $(((e - s) / 1000000)) ms)"
