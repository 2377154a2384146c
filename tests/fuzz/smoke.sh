#!/bin/sh
# Run each fuzz target for a while on a scratch copy of its seed corpus.
#
#   tests/fuzz/smoke.sh [SECONDS] [BUILD_DIR]      (either order)
#
# SECONDS per target, 20 by default.  BUILD_DIR (default build-fuzz at the
# top of the tree) is configured with clang and -DIGNITE_FUZZ=ON and the
# targets built when they are missing.  Exits non-zero on the first crash,
# leaving the input that caused it in the scratch directory it names.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
seconds=20
build=$top/build-fuzz
targets="fuzz_frame fuzz_spec fuzz_worker fuzz_chunk"

for arg in "$@"; do
	case $arg in
	'') ;;
	*[!0-9]*) build=$arg ;;
	*) seconds=$arg ;;
	esac
done

missing=""
for t in $targets; do
	[ -x "$build/tests/fuzz/$t" ] || missing=1
done
if [ -n "$missing" ]; then
	CC=clang cmake -S "$top" -B "$build" -DIGNITE_FUZZ=ON >/dev/null
	cmake --build "$build" --target $targets >/dev/null
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/ignite-fuzz.XXXXXX")
for t in $targets; do
	mkdir -p "$scratch/$t"
	echo "== $t: ${seconds}s"
	# New inputs go to the scratch corpus; the seeds in the tree stay as
	# they are.  Crash inputs land in $scratch.
	if ! "$build/tests/fuzz/$t" -max_total_time="$seconds" -max_len=65536 \
	    -timeout=10 -print_final_stats=1 -artifact_prefix="$scratch/$t-" \
	    "$scratch/$t" "$here/corpus/$t" 2>"$scratch/$t.log"; then
		tail -n 40 "$scratch/$t.log" >&2
		echo "smoke.sh: $t failed; input and log in $scratch" >&2
		exit 1
	fi
	grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$scratch/$t.log" || true
done
rm -rf "$scratch"
