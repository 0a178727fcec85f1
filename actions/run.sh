#!/usr/bin/env bash
# actions/run.sh - the push step of the tagseal GitHub Action (action.yml).
#
# Every input arrives as an environment variable set by the step's `env:`
# (never spliced into shell text). Most are tagseal's own environment form
# of its options, TAGSEAL_OPT_TAG, _SCHEME, _ALIAS, _PIN, _RECORD, _CA_FILE,
# _COMPRESSION (lists one item a line), which tagseal parses itself; this
# script handles only what is the action's own:
#
#   INPUT_IMAGE (required)  INPUT_REPOSITORY (lower-cased; default the
#   workflow's repository on ghcr.io)  INPUT_USERNAME  INPUT_PASSWORD (on
#   standard input, never argv)  INPUT_EXTRA_ARGS (split on blanks and new
#   lines; no quoting, no expansion)
#   INPUT_SIGN_KEY (a private key's PEM text from a secret: written to a
#   0600 file in RUNNER_TEMP, passed as TAGSEAL_OPT_SIGN_KEY, removed after)
#   INPUT_KEY_PASSWORD (TAGSEAL_KEY_PASSWORD for tagseal)
#   TAGSEAL_ACTION_BIN   the tagseal to run (default: tagseal on PATH)
#   TAGSEAL_ACTION_TOKEN the workflow's github.token: sent only to ghcr.io
#
# tagseal itself writes the step outputs (tag, digest, reference) to
# GITHUB_OUTPUT and a summary to GITHUB_STEP_SUMMARY. Exit code: tagseal's.
set -euo pipefail

die() {
	printf 'tagseal action: error: %s\n' "$*" >&2
	exit 2
}

bin=${TAGSEAL_ACTION_BIN:-}
if [ -z "$bin" ]; then
	bin=$(command -v tagseal) || die "tagseal is not on PATH and TAGSEAL_ACTION_BIN is not set"
fi

image=${INPUT_IMAGE:-}
[ -n "$image" ] || die "input 'image' is required (a tarball or OCI layout path)"
repo=${INPUT_REPOSITORY:-}
if [ -z "$repo" ]; then
	[ -n "${GITHUB_REPOSITORY:-}" ] || die "input 'repository' is empty and GITHUB_REPOSITORY is unset"
	repo=ghcr.io/$GITHUB_REPOSITORY
fi
# OCI repository names are lower case; GitHub owners often are not.
repo=${repo,,}

args=(push --repo "$repo")
if [ -n "${INPUT_EXTRA_ARGS:-}" ]; then
	read -r -d '' -a extra <<<"$INPUT_EXTRA_ARGS" || true
	args+=("${extra[@]}")
fi

password=${INPUT_PASSWORD:-}
host=${repo%%/*}
# The default password is the workflow's token: it is for ghcr.io only and
# is never offered to another registry.
if [ -n "$password" ] && [ -n "${TAGSEAL_ACTION_TOKEN:-}" ] &&
   [ "$password" = "$TAGSEAL_ACTION_TOKEN" ] && [ "$host" != ghcr.io ]; then
	printf 'tagseal action: not sending the workflow token to %s (set username and password for it)\n' \
		"$host" >&2
	password=
fi
unset INPUT_PASSWORD TAGSEAL_ACTION_TOKEN

# The signing key: its text goes to a private file that tagseal reads (a
# key is never a command-line value) and that is removed afterwards.
keyfile=
if [ -n "${INPUT_SIGN_KEY:-}" ]; then
	keyfile=$(umask 077 && mktemp "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/tagseal-key.XXXXXX") ||
		die "cannot create a temporary file for the signing key"
	trap 'rm -f "$keyfile"' EXIT
	printf '%s\n' "$INPUT_SIGN_KEY" >"$keyfile"
	export TAGSEAL_OPT_SIGN_KEY=$keyfile
fi
unset INPUT_SIGN_KEY
if [ -n "${INPUT_KEY_PASSWORD:-}" ]; then
	export TAGSEAL_KEY_PASSWORD=$INPUT_KEY_PASSWORD
fi
unset INPUT_KEY_PASSWORD

rc=0
if [ -z "$password" ]; then
	"$bin" "${args[@]}" -- "$image" || rc=$?
	exit $rc
fi
[ -n "${INPUT_USERNAME:-}" ] || die "input 'password' is set but 'username' is empty"
args+=(--username "$INPUT_USERNAME" --password-stdin)
printf '%s' "$password" | "$bin" "${args[@]}" -- "$image" || rc=$?
exit $rc
