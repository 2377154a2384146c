"""The database and the files ignited keeps beside it (issue 13): refused
when another user could change them, never opened through a link, created
0600; a run record changed outside ignited never starts code; a damaged
database is refused at start; a removed WAL stops every write.

Run as root, with uid 65534 standing for another user.
"""

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import unittest

import msgpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon import (UNDO_TO_V5, Daemon, RPCError, as_nobody, numpy_spec,  # noqa: E402
                    softmax_spec, wait_for, wait_status)

UNAVAILABLE = 7
NOBODY = 65534


class StoreCase(unittest.TestCase):
    def setUp(self):
        if os.getuid() != 0:
            self.skipTest("needs root: the daemon's files against another uid")
        self.d = Daemon(IGNITED)
        self.addCleanup(self.d.remove)

    def refused(self, d=None, extra=()):
        """Start ignited on d's paths; it must exit non-zero at once.  Its
        output."""
        d = d or self.d
        p = subprocess.run([d.binary, "--socket", d.socket, "--db", d.db] + list(extra),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=60, text=True)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertNotIn("Sanitizer", p.stdout)
        self.assertFalse(os.path.exists(d.socket) and self.answers(d), p.stdout)
        return p.stdout

    @staticmethod
    def answers(d):
        try:
            c = d.client()
        except OSError:
            return False
        c.close()
        return True

    def left_running(self, spec, as_other=False):
        """A run left running by a daemon stopped with SIGTERM: its id."""
        self.d.start()
        if as_other:
            r, w = os.pipe()

            def check(c):
                os.write(w, str(c.call("run", spec)["id"]).encode())
                return True
            self.assertEqual(as_nobody(self.d, check), 0)
            os.close(w)
            run_id = int(os.read(r, 64))
            os.close(r)
            os.chmod(os.path.dirname(self.d.socket), 0o700)
        c = self.d.client()
        self.addCleanup(c.close)
        if not as_other:
            run_id = c.call("run", spec)["id"]
        wait_for(lambda: c.call("status", {"id": run_id})["iteration"] > 0, "a first iteration")
        self.d.stop()
        return run_id

    def sql(self, query, *args):
        db = sqlite3.connect(self.d.db)
        with db:
            rows = db.execute(query, args).fetchall()
        db.close()
        return rows


class TestOwnership(StoreCase):
    """The attack: a database another user wrote, with a run of owner 0
    left running.  Root's daemon must not start on it at all."""

    def setUp(self):
        super().setUp()
        self.run_id = self.left_running(softmax_spec(epochs=100000))
        self.sql("UPDATE runs SET owner_uid = 0, status = 'running' WHERE id = ?", self.run_id)

    def test_database_of_another_user(self):
        for name in os.listdir(self.d.dir):
            if name.startswith("ignite.db"):
                os.chown(os.path.join(self.d.dir, name), NOBODY, NOBODY)
        os.chown(self.d.dir, NOBODY, NOBODY)
        out = self.refused()
        self.assertIn("is owned by uid 65534, not by ignited's uid 0", out)

    def test_database_file_of_another_user(self):
        os.chown(self.d.db, NOBODY, NOBODY)
        self.assertIn("%s is owned by uid 65534" % self.d.db, self.refused())

    def test_directory_of_another_user(self):
        os.chown(self.d.dir, NOBODY, NOBODY)
        self.assertIn("%s is owned by uid 65534" % self.d.dir, self.refused())

    def test_writable_by_others(self):
        os.chmod(self.d.db, 0o666)
        self.assertIn("writable by group or others", self.refused())
        os.chmod(self.d.db, 0o600)
        for mode in (0o777, 0o1777):
            # a directory (/tmp, say) is never to be chmod-ed: another --db
            os.chmod(self.d.dir, mode)
            out = self.refused()
            self.assertIn("writable by group or others", out)
            self.assertIn("choose another --db", out)
            self.assertNotIn("chmod", out)

    def test_planted_sidecars(self):
        for suffix in ("-wal", "-shm", ".lock", ".key"):
            path = self.d.db + suffix
            saved = None
            if os.path.exists(path):
                saved = path + ".saved"
                os.rename(path, saved)
            with open(path, "wb"):
                pass
            os.chown(path, NOBODY, NOBODY)
            out = self.refused()
            self.assertIn("%s is owned by uid 65534" % path, out)
            os.unlink(path)
            if saved:
                os.rename(saved, path)

    def test_sidecar_not_a_file(self):
        os.mkdir(self.d.db + "-shm")
        self.assertIn("is not a regular file", self.refused())


class TestLinks(StoreCase):
    def setUp(self):
        super().setUp()
        self.elsewhere = tempfile.mkdtemp(prefix="ignite-elsewhere-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", self.elsewhere]))

    def test_lock_symlink_does_not_clobber(self):
        secret = os.path.join(self.elsewhere, "shadow")
        with open(secret, "w") as f:
            f.write("root only\n")
        os.chmod(secret, 0o600)
        os.symlink(secret, self.d.db + ".lock")
        self.assertIn("%s.lock is a symbolic link" % self.d.db, self.refused())
        with open(secret) as f:
            self.assertEqual(f.read(), "root only\n")
        self.assertFalse(os.path.exists(self.d.db))

    def test_database_symlink_creates_nothing(self):
        os.symlink(os.path.join(self.elsewhere, "ignite.db"), self.d.db)
        self.assertIn("is a symbolic link", self.refused())
        self.assertEqual(os.listdir(self.elsewhere), [])

    def test_database_directory_symlink(self):
        link = os.path.join(self.d.dir, "state")
        os.symlink(self.elsewhere, link)
        self.d.db = os.path.join(link, "ignite.db")
        self.assertIn("%s is a symbolic link" % link, self.refused())
        self.assertEqual(os.listdir(self.elsewhere), [])

    def test_socket_directory_symlink(self):
        os.symlink(self.elsewhere, os.path.dirname(self.d.socket))
        self.assertIn("is a symbolic link", self.refused())
        self.assertEqual(os.listdir(self.elsewhere), [])

    def test_log_file_symlink(self):
        target = os.path.join(self.elsewhere, "target")
        with open(target, "w") as f:
            f.write("untouched\n")
        link = os.path.join(self.d.dir, "log")
        os.symlink(target, link)
        self.assertIn("symbolic link", self.refused(extra=["--log-file", link]))
        with open(target) as f:
            self.assertEqual(f.read(), "untouched\n")


class TestModes(StoreCase):
    def test_files_created_0600(self):
        old = os.umask(0o022)
        try:
            self.d.start()
        finally:
            os.umask(old)
        c = self.d.client()
        c.call("run", softmax_spec(epochs=1))
        for suffix in ("", "-wal", "-shm", ".lock", ".key"):
            mode = stat.S_IMODE(os.lstat(self.d.db + suffix).st_mode)
            self.assertEqual(mode, 0o600, "%s%s has mode %o" % (self.d.db, suffix, mode))


class TestIntegrity(StoreCase):
    """A root-owned database whose run record was changed by sqlite3: the
    changed run fails with the reason and its worker never runs."""

    def tamper_and_restart(self, run_id, **change):
        marker = os.path.join(self.d.dir, "marker")
        (blob,) = self.sql("SELECT spec FROM runs WHERE id = ?", run_id)[0]
        spec = msgpack.unpackb(blob, raw=False)
        if change.get("argv"):
            spec["engine"] = ["/bin/sh", "-c", "touch " + marker]
        self.sql("UPDATE runs SET spec = ?, owner_uid = ? WHERE id = ?",
                 msgpack.packb(spec, use_bin_type=True), change.get("owner", NOBODY), run_id)
        self.d.start()
        c = self.d.client()
        self.addCleanup(c.close)
        st = wait_status(c, run_id, ("failed",), 30)
        self.assertIn("failed the integrity check", st["reason"])
        self.assertIn(run_id, [r["id"] for r in c.call("list")["runs"]])
        self.assertIn("failed the integrity check", self.d.logtext())
        # resume would start it: refused
        with self.assertRaises(RPCError):
            c.call("resume", {"id": run_id, "max_epochs": 100000})
        self.assertFalse(os.path.exists(marker))

    def test_owner_changed_to_root(self):
        run_id = self.left_running(numpy_spec(epochs=100000), as_other=True)
        self.tamper_and_restart(run_id, owner=0)

    def test_argv_changed(self):
        run_id = self.left_running(numpy_spec(epochs=100000), as_other=True)
        self.tamper_and_restart(run_id, argv=True)

    def test_untampered_run_resumes(self):
        run_id = self.left_running(softmax_spec(epochs=100000))
        self.d.start()
        c = self.d.client()
        self.addCleanup(c.close)
        wait_status(c, run_id, ("running",), 30)
        self.assertNotIn("integrity", self.d.logtext())

    def test_runs_of_older_databases_are_tagged(self):
        """A database from before the tags (schema 2, no key) migrates with
        its runs vouched for: they resume."""
        run_id = self.left_running(softmax_spec(epochs=100000))
        db = sqlite3.connect(self.d.db)
        db.executescript(UNDO_TO_V5)  # schema 5's history, without points
        db.close()
        self.sql("ALTER TABLE runs DROP COLUMN tag")
        self.sql("ALTER TABLE runs DROP COLUMN queue_seq")
        for col in ("file", "file_size", "file_sum", "score"):
            self.sql("ALTER TABLE checkpoints DROP COLUMN " + col)
        self.sql("PRAGMA user_version = 2")
        os.unlink(self.d.db + ".key")
        self.d.start()
        c = self.d.client()
        self.addCleanup(c.close)
        wait_status(c, run_id, ("running",), 30)
        self.assertEqual(self.sql("PRAGMA user_version")[0][0], 7)
        self.assertNotIn("integrity", self.d.logtext())


class TestDamaged(StoreCase):
    def test_corrupt_database_refused(self):
        self.d.start()
        c = self.d.client()
        self.addCleanup(c.close)
        for i in range(4):
            wait_status(c, c.call("run", softmax_spec(epochs=1))["id"], ("completed",), 60)
        self.d.stop()
        (page_size,) = self.sql("PRAGMA page_size")[0]
        size = os.path.getsize(self.d.db)
        self.assertGreater(size, 4 * page_size)
        # pages 2.. onward: the tables' b-trees; page 1 (header, schema)
        # stays, so the file is still an ignite database, only damaged
        with open(self.d.db, "r+b") as f:
            f.seek(page_size)
            f.write(bytes([0xa5]) * (size - page_size))
        with open(self.d.db, "rb") as f:
            before = f.read()
        out = self.refused()
        self.assertIn("is damaged", out)
        self.assertIn(".recover", out)
        with open(self.d.db, "rb") as f:
            self.assertEqual(f.read(), before)


class TestWalRemoved(StoreCase):
    def test_writes_stop(self):
        self.d.start()
        c = self.d.client()
        self.addCleanup(c.close)
        run_id = c.call("run", softmax_spec(epochs=100000))["id"]
        wait_for(lambda: c.call("status", {"id": run_id})["iteration"] > 0, "a first iteration")
        os.unlink(self.d.db + "-wal")
        st = wait_status(c, run_id, ("paused",), 60)
        self.assertIn("write-ahead log", st["reason"])
        for method, params in (("run", softmax_spec(epochs=1)), ("resume", {"id": run_id}),
                               ("delete", {"id": run_id})):
            with self.assertRaises(RPCError) as e:
                c.call(method, params)
            self.assertEqual(e.exception.code, UNAVAILABLE)
            self.assertIn("write-ahead log %s-wal was removed" % self.d.db, e.exception.message)
            self.assertIn("restart ignited", e.exception.message)
        self.assertIn("write-ahead log", self.d.logtext())
        # what was acknowledged before is in the database itself
        self.d.signal(signal.SIGKILL)
        self.d.wait()
        db = sqlite3.connect(self.d.db)
        self.assertEqual(db.execute("SELECT count(*) FROM runs WHERE id = ?",
                                    (run_id,)).fetchone()[0], 1)
        db.close()

    def test_another_connection_leaves_the_wal(self):
        """sqlite3 opened on the live database and closed again (an admin's
        look) must not take the WAL with it: SQLite deletes it when it
        believes it is the last connection, which it does if ignited lost
        its locks on the file (a close of another descriptor of it)."""
        self.d.start()
        c = self.d.client()
        self.addCleanup(c.close)
        run_id = c.call("run", softmax_spec(epochs=100000))["id"]
        wait_for(lambda: c.call("status", {"id": run_id})["iteration"] > 0, "a first iteration")
        self.assertEqual(self.sql("SELECT count(*) FROM runs WHERE id = ?", run_id), [(1,)])
        self.assertTrue(os.path.exists(self.d.db + "-wal"))
        done = c.call("run", softmax_spec(epochs=1))["id"]
        wait_status(c, done, ("completed",), 60)
        self.assertEqual(c.call("status", {"id": run_id})["status"], "running")
        self.assertNotIn("write-ahead log", self.d.logtext())


if __name__ == "__main__":
    IGNITED = os.path.abspath(sys.argv.pop(1))
    unittest.main()
