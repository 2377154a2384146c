#!/bin/sh
# Every benchmark in bench/, built in Release, printed as one table: what,
# figure, floor or reference (measured in the same run), ratio, target
# (../shared/DESIGN.md, "Targets") and verdict.  Run on an otherwise idle
# machine; the whole run takes about three minutes on 2 cores (daemon_bench
# checkpoints 256 MiB; IGNITE_BENCH_CKPT_MIB=1024 for the issue's 1 GiB, about
# two minutes more on a disk of 200 MB/s).  Exits 1 when
# a benchmark failed or a figure could not be measured, not when one falls
# short of its target.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh test # python3-torch, for the hosted torch step

jobs=$(nproc 2>/dev/null || echo 2)
dir=build/release

echo "bench: building in Release in $dir" >&2
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$dir" -j "$jobs" >/dev/null 2>&1 || cmake --build "$dir" -j 1

# Each benchmark prints its rows tab-separated (--rows); they are gathered
# here and aligned at the end, under one header.
rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
trap 'exit 130' INT TERM

status=0
for b in engine_overhead proto_codec store_ingest chunk_codec sched_decision daemon_bench worker_roundtrip store_backpressure; do
	echo "bench: running $b" >&2
	echo "== $b" >>"$rows"
	"$dir/bench/$b" --rows >>"$rows" ||
		{ echo "== $b failed (exit $?)" >>"$rows"; status=1; }
done
echo "bench: running torch_step" >&2
echo "== torch_step" >>"$rows"
/usr/bin/python3 bench/torch_step.py --rows "$dir/daemon/ignited" >>"$rows" ||
	{ echo "== torch_step failed (exit $?)" >>"$rows"; status=1; }

awk -F '\t' '
	BEGIN {
		n = split("what\tfigure\tfloor/reference\tratio\ttarget\tverdict", head, "\t")
		for (i = 1; i <= n; i++)
			w[i] = length(head[i])
	}
	{ line[NR] = $0 }
	NF == n { for (i = 1; i <= n; i++) if (length($i) > w[i]) w[i] = length($i) }
	function row(cell,    i, s) {
		s = ""
		for (i = 1; i < n; i++)
			s = s sprintf("%-" w[i] "s  ", cell[i])
		print s cell[n]
	}
	END {
		row(head)
		for (r = 1; r <= NR; r++) {
			if (split(line[r], cell, "\t") == n)
				row(cell)
			else
				print line[r]       # a section line
		}
	}
' "$rows"
exit $status
