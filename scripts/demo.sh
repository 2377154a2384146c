#!/bin/sh
# The demo: ignited on a temporary socket and database, a real training job
# (softmax regression on the 8x8 digits) through ignitectl, the daemon
# killed with -9 mid-run and restarted, the run resuming where its last
# checkpoint left it, the live view, the metric history as a table and a
# chart, and the daemon stopped.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j "$(nproc 2>/dev/null || echo 2)" --target ignited ignitectl >/dev/null

bin=$(pwd)/build/release
tmp=$(mktemp -d /tmp/ignite-demo.XXXXXX)
export IGNITE_SOCKET="$tmp/run/ignited.sock"
ctl="$bin/client/ignitectl"
pid=""

stop() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap stop EXIT INT TERM

start() {
	"$bin/daemon/ignited" --socket "$IGNITE_SOCKET" --db "$tmp/ignite.db" \
		--log-file "$tmp/ignited.log" &
	pid=$!
	until "$ctl" ping >/dev/null 2>&1; do sleep 0.05; done
}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "start ignited on $IGNITE_SOCKET"
start
"$ctl" version

say "train: ignitectl run --spec examples/specs/digits.json --name digits"
"$ctl" run --spec examples/specs/digits.json --name digits
# let it train a while (200 of its 3000 epochs)
while [ "$("$ctl" --json status digits | sed -n 's/.*"epoch":\([0-9]*\).*/\1/p')" -lt 200 ]; do
	sleep 0.05
done
"$ctl" status digits

say "kill -9 the daemon mid-run, then start it again"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
start
"$ctl" status digits

say "the run resumed from its last checkpoint: watch it to the end"
"$ctl" watch digits

say "metric history, per epoch (the last 10)"
"$ctl" metrics digits --epochs --name val_acc --name loss | tail -n 11

say "loss and validation accuracy by epoch"
"$ctl" metrics digits --epochs --name loss --name val_acc --plot

say "runs"
"$ctl" ls

say "stop the daemon"
"$ctl" shutdown
wait "$pid" 2>/dev/null || true
pid=""
grep -E "resumed|completed|killed|started" "$tmp/ignited.log" || true
