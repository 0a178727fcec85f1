#!/usr/bin/env bash
# gen-docs.sh - write the documents made from the option tables: the man page
# docs/tagseal.1, the CLI reference docs/cli.md and the bash completion
# docs/tagseal.bash (`tagseal help --man`, `--markdown`, `--bash-completion`). Run it after changing an option, a command's
# help text or its exit codes; tests/integration/test_docs.sh fails while
# either file differs from what the binary says.
#
# usage: scripts/gen-docs.sh [TAGSEAL]   (default: build/tagseal)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${1:-$ROOT/build/tagseal}
[ -x "$bin" ] || { echo "gen-docs.sh: $bin is not built (cmake --build build)" >&2; exit 2; }
"$bin" help --man >"$ROOT/docs/tagseal.1.tmp"
"$bin" help --markdown >"$ROOT/docs/cli.md.tmp"
"$bin" help --bash-completion >"$ROOT/docs/tagseal.bash.tmp"
mv "$ROOT/docs/tagseal.1.tmp" "$ROOT/docs/tagseal.1"
mv "$ROOT/docs/cli.md.tmp" "$ROOT/docs/cli.md"
mv "$ROOT/docs/tagseal.bash.tmp" "$ROOT/docs/tagseal.bash"
echo "gen-docs.sh: wrote docs/tagseal.1, docs/cli.md and docs/tagseal.bash"
