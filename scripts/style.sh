#!/bin/sh
# style.sh - check every C file of the tree against .clang-format, or with
# -i put it right.  The style test of the suite runs the check.
set -eu
cd "$(dirname "$0")/.."
mode="--dry-run --Werror"
[ "${1:-}" != -i ] || mode=-i
git ls-files -z -co --exclude-standard '*.c' '*.h' | xargs -0 clang-format $mode
