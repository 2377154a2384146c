#!/bin/sh
# valgrind memcheck of ignited end to end: run softmax 2 epochs, status,
# metrics, watch, terminate another run, shutdown.  Fails on any memcheck
# error or a definite leak.
#
#   tests/valgrind.sh [IGNITED]
#
# Without IGNITED, builds a non-sanitized Debug build in build-valgrind at
# the top of the tree first.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind not installed (scripts/deps.sh)" >&2; exit 1; }

if [ $# -ge 1 ]; then
	ignited=$1
else
	build=$top/build-valgrind
	cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DIGNITE_SANITIZE=OFF >/dev/null
	cmake --build "$build" --target ignited -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
	ignited=$build/daemon/ignited
fi

exec /usr/bin/python3 - "$ignited" "$top" <<'PY'
import os, shutil, subprocess, sys, tempfile, time
ignited, top = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(top, "tests", "e2e"))
from daemon import Client, history, softmax_spec, wait_status

d = tempfile.mkdtemp(prefix="ignite-valgrind-")
sock, db = os.path.join(d, "run", "ignited.sock"), os.path.join(d, "ignite.db")
vlog, dlog = os.path.join(d, "valgrind.log"), os.path.join(d, "ignited.log")
cmd = ["valgrind", "--leak-check=full", "--error-exitcode=99",
       "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite",
       "--track-fds=no", "--log-file=" + vlog,
       ignited, "--socket", sock, "--db", db, "--log-level", "debug"]
t0 = time.time()
with open(dlog, "wb") as out:
    p = subprocess.Popen(cmd, stdout=out, stderr=out)

def fail(why):
    if p.poll() is None:
        p.kill()
        p.wait()
    for f in (dlog, vlog):
        if os.path.exists(f):
            print("--- %s" % f); print(open(f, errors="replace").read()[-6000:])
    print("valgrind.sh: FAILED: %s (kept %s)" % (why, d))
    sys.exit(1)

c = None
deadline = time.time() + 120
while c is None:
    try:
        c = Client(sock, timeout=120)
    except OSError:
        if p.poll() is not None or time.time() > deadline:
            fail("ignited did not come up")
        time.sleep(0.2)
try:
    w = Client(sock, timeout=120)
    sleeper = c.call("run", {"engine": "builtin:sleep", "params": {"ms": 20},
                             "data": "range:1000", "max_epochs": 5, "name": "sleeper"})["id"]
    rid = c.call("run", softmax_spec(name="vg", epochs=2, every=20))["id"]
    w.call("watch", {"id": rid})
    notes = 0
    while True:
        n = w.next_note()
        notes += 1
        if n[1] == "status" and n[2]["status"] in ("completed", "failed"):
            break
    st = wait_status(c, rid, ("completed", "failed"), timeout=300)
    assert st["status"] == "completed", st
    h = history(c, rid)
    assert len(h["loss_avg"]) == 2 * 45, {k: len(v) for k, v in h.items()}
    history(c, rid, max_points=10)
    c.call("logs", {"id": rid, "tail": 5})
    c.call("state_dict", {"id": rid})
    c.call("list")
    assert c.call("terminate", {"id": sleeper})["id"] == sleeper
    wait_status(c, sleeper, ("terminated",), timeout=120)
    w.close()
    c.call("shutdown")
    c.close()
except Exception as e:
    fail("%s: %s" % (type(e).__name__, e))
try:
    rc = p.wait(180)
except subprocess.TimeoutExpired:
    fail("ignited did not exit after shutdown")
text = open(vlog, errors="replace").read()
summary = [l for l in text.splitlines() if "ERROR SUMMARY" in l or "definitely lost" in l]
print("\n".join(summary))
if rc != 0:
    fail("ignited under valgrind exited %d (99: memcheck errors or definite leaks)" % rc)
print("valgrind.sh: ok: %d notifications watched, %.0f s" % (notes, time.time() - t0))
shutil.rmtree(d, ignore_errors=True)
PY
