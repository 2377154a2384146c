#!/usr/bin/python3
"""README.md's "Using it" commands, taken from README.md itself and run as
written: with the daemon's and ignitectl's default socket and database,
as root and as a user (uid 65534, no XDG variables), each in a private
mount namespace whose /tmp, /run and /var/lib are fresh, so the defaults
are used without touching the machine's.

usage: test_readme.py IGNITECTL IGNITED
"""
import os
import re
import subprocess
import sys
import unittest

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CTL = IGNITED = None
NOBODY = 65534

# Runs in the new mount namespace, as root: fresh /tmp, /run and /var/lib,
# the binaries on PATH, then the README's commands as uid $1.
OUTER = r'''
set -e
# The source tree and the binaries may themselves be under /tmp (CI clones
# anywhere): enter the tree and open the binaries before /tmp is covered.
cd "$4"
exec 3<"$2" 4<"$3"
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=0755 tmpfs /var/lib
mkdir -m 0755 /tmp/bin
cat <&3 >/tmp/bin/ignitectl
cat <&4 >/tmp/bin/ignited
chmod 0755 /tmp/bin/ignitectl /tmp/bin/ignited
exec 3<&- 4<&-
home=
if [ "$1" != 0 ]; then
	mkdir -m 0700 /tmp/home && chown "$1:$1" /tmp/home
	home=HOME=/tmp/home
fi
exec setpriv --reuid="$1" --regid="$1" --clear-groups env -i \
	PATH=/tmp/bin:/usr/bin:/bin $home ${ASAN_OPTIONS:+ASAN_OPTIONS=$ASAN_OPTIONS} \
	${UBSAN_OPTIONS:+UBSAN_OPTIONS=$UBSAN_OPTIONS} sh -ec "$5"
'''

# After a command put in the background (the daemon): what a user does by
# eye, wait until it answers (20 s at most).
READY = ('daemon=$!; i=0; until ignitectl ping >/dev/null 2>&1; do '
         'i=$((i+1)); [ $i -lt 400 ]; sleep 0.05; done')


def readme_commands():
    """The first code block under "## Using it", one command a line."""
    with open(os.path.join(SRC, "README.md")) as f:
        text = f.read()
    section = text.split("\n## Using it\n", 1)[1]
    block = re.search(r"((?:\n    [^\n]*)+)", section).group(1)
    return [line[4:] for line in block.strip("\n").split("\n")]


def script(commands):
    lines = []
    for cmd in commands:
        lines.append(cmd)
        if cmd.split(" #", 1)[0].rstrip().endswith("&"):
            lines.append(READY)
    lines.append('wait "$daemon"')
    return "\n".join(lines) + "\n"


class TestReadme(unittest.TestCase):
    def run_as(self, uid):
        proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             OUTER, "outer", str(uid), CTL, IGNITED, SRC,
             script(readme_commands())],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            out, _ = proc.communicate()
            self.fail("README's commands took over 300 s:\n"
                      + out.decode(errors="replace"))
        out = out.decode(errors="replace")
        self.assertEqual(proc.returncode, 0, "README's commands failed as "
                         "uid %d:\n%s" % (uid, out))
        return out

    def check(self, out, socket, db):
        self.assertIn("listening on " + socket, out)
        self.assertIn("database " + db, out)
        self.assertIn("run 1 iris: completed", out)
        self.assertRegex(out, r'"name":"digits".*"status":"terminated"')
        self.assertNotIn("ERROR: AddressSanitizer", out)

    def test_as_root(self):
        self.check(self.run_as(0), "/run/ignite/ignited.sock",
                   "/var/lib/ignite/ignite.db")

    def test_as_a_user(self):
        self.check(self.run_as(NOBODY),
                   "/tmp/ignite-%d/ignited.sock" % NOBODY,
                   "/tmp/home/.local/state/ignite/ignite.db")


def main():
    global CTL, IGNITED
    CTL, IGNITED = (os.path.abspath(p) for p in sys.argv[1:3])
    if subprocess.run(["unshare", "--mount", "true"],
                      capture_output=True).returncode != 0:
        print("skipped: no private mount namespace here (unshare --mount)")
        return 0
    r = unittest.main(argv=sys.argv[:1], exit=False, verbosity=2)
    return 0 if r.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
