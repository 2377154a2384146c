#!/bin/sh
# Every benchmark in bench/, built in Release, each printing its table of
# figures against the targets in ../shared/DESIGN.md ("Targets").  Run on
# an otherwise idle machine; the whole run takes about a minute on 2 cores.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
dir=build/release

echo "== build: Release in $dir"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$dir" -j "$jobs" >/dev/null 2>&1 || cmake --build "$dir" -j 1

status=0
for b in engine_overhead proto_codec store_ingest daemon_bench worker_roundtrip; do
	echo
	echo "== $b"
	"$dir/bench/$b" || { echo "bench: $b failed (exit $?)"; status=1; }
done
exit $status
