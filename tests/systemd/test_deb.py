#!/usr/bin/python3
"""The .deb that `cpack -G DEB` makes from this build: what it holds, what
it declares, and that it installs into (and is removed from) a clean root
with dpkg, where `ignited --version` runs and libignite's pkg-config file
builds the embedding example.

The root is an empty dpkg database (dpkg --root, maintainer scripts run
chrootless with DPKG_ROOT set, which they honour by doing nothing), not a
debootstrapped Debian: that needs a mirror and minutes.  Dependencies are
checked instead against the binaries' NEEDED entries and with apt's
resolver (apt-get --simulate) on this machine.

usage: test_deb.py BUILD_DIR SOURCE_DIR INSTALL_PREFIX
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

BUILD = SOURCE = PREFIX = None
# Sanitizer runtimes appear only in a sanitized build's binaries.
IGNORED_NEEDED = re.compile(r"^lib(asan|ubsan|lsan|tsan)\.so")


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(cmd), r.returncode,
                                                    r.stdout, r.stderr))
    return r.stdout


class Deb(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("cpack", "dpkg", "dpkg-deb"):
            if shutil.which(tool) is None:
                raise unittest.SkipTest(tool + " not installed")
        cls.tmp = tempfile.mkdtemp(prefix="ignite-deb-")
        run(["cpack", "-G", "DEB", "--config", os.path.join(BUILD, "CPackConfig.cmake"),
             "-B", cls.tmp])
        debs = glob.glob(os.path.join(cls.tmp, "ignite_*.deb"))
        assert len(debs) == 1, debs
        cls.deb = debs[0]
        cls.root = os.path.join(cls.tmp, "root")
        admin = os.path.join(cls.root, "var", "lib", "dpkg")
        for d in ("info", "updates"):
            os.makedirs(os.path.join(admin, d))
        open(os.path.join(admin, "status"), "w").close()
        # --force-depends: the empty root has no libc6 & co.; they are
        # checked below against NEEDED and with apt.
        run(["dpkg", "--root=" + cls.root, "--log=/dev/null", "--force-script-chrootless",
             "--force-depends", "--install", cls.deb])
        cls.usr = cls.root + PREFIX

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, True)

    def field(self, name):
        return run(["dpkg-deb", "--field", self.deb, name]).strip()

    def depends(self):
        return {re.split(r"[ (]", d.strip())[0] for d in self.field("Depends").split(",")}

    def installed(self, rel):
        return os.path.join(self.usr, rel)

    def test_control(self):
        self.assertEqual(self.field("Package"), "ignite")
        self.assertTrue(self.field("Maintainer"))
        self.assertTrue(self.field("Section"))
        self.assertTrue(self.field("Description"))
        status = run(["dpkg", "--root=" + self.root, "--status", "ignite"])
        self.assertIn("Status: install ok installed", status)

    def test_ignited_runs_from_the_root(self):
        out = run([self.installed("bin/ignited"), "--version"])
        self.assertRegex(out, r"^ignited \d+\.\d+\.\d+ \(protocol \d+\)")
        if os.path.exists(self.installed("bin/ignitectl")):
            run([self.installed("bin/ignitectl"), "--version"])

    def test_contents(self):
        want = ["bin/ignited", "lib/systemd/system/ignited.service",
                "lib/systemd/system/ignited.socket", "lib/systemd/user/ignited.service",
                "lib/systemd/user/ignited.socket"]
        want += ["include/ignite/" + h
                 for h in os.listdir(os.path.join(SOURCE, "include", "ignite"))]
        for src, dst in (("docs/ignitectl.1", "share/man/man1/ignitectl.1"),
                         ("docs/ignited.8", "share/man/man8/ignited.8"),
                         ("completion/ignitectl.bash",
                          "share/bash-completion/completions/ignitectl")):
            if os.path.exists(os.path.join(SOURCE, src)):
                want.append(dst)
        for rel in want:
            self.assertTrue(os.path.isfile(self.installed(rel)), rel)
        for lib in ("ignite", "ignite_proto"):
            found = glob.glob(self.installed("lib*/**/lib%s.[as]*" % lib), recursive=True)
            self.assertTrue(found, "lib%s not installed" % lib)

    def test_units_name_the_installed_daemon(self):
        for kind in ("system", "user"):
            with open(self.installed("lib/systemd/%s/ignited.service" % kind)) as f:
                execs = re.findall(r"^ExecStart=(\S+)", f.read(), re.M)
            self.assertEqual(execs, [PREFIX + "/bin/ignited"])
        analyze = shutil.which("systemd-analyze")
        if analyze is None:
            self.skipTest("systemd-analyze not installed: the units were not verified "
                          "(scripts/deps.sh installs it with systemd)")
        # As installed, but with ExecStart in this root; Documentation= must
        # find the man pages this package installed.
        units = os.path.join(self.tmp, "verify")
        os.makedirs(units, exist_ok=True)
        paths = []
        for name in ("ignited.socket", "ignited.service"):
            with open(self.installed("lib/systemd/system/" + name)) as f:
                text = f.read().replace("ExecStart=" + PREFIX + "/bin/ignited",
                                        "ExecStart=" + self.installed("bin/ignited"))
            paths.append(os.path.join(units, name))
            with open(paths[-1], "w") as f:
                f.write(text)
        env = dict(os.environ, MANPATH=self.installed("share/man"))
        r = subprocess.run([analyze, "verify"] + paths, env=env, cwd=units,
                           capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))

    def test_depends_covers_what_the_binaries_link(self):
        declared = self.depends()
        libs = {}
        for line in run(["ldconfig", "-p"]).splitlines()[1:]:
            m = re.match(r"\s*(\S+) \(libc6,x86-64\) => (\S+)", line)
            if m:
                libs.setdefault(m.group(1), m.group(2))
        for exe in glob.glob(self.installed("bin/*")):
            dyn = run(["readelf", "-d", exe])
            for needed in re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", dyn):
                if IGNORED_NEEDED.match(needed):
                    continue
                self.assertIn(needed, libs, "%s needs %s, not found" % (exe, needed))
                path = os.path.realpath(libs[needed])
                candidates = {path, libs[needed]}
                candidates |= {p[4:] for p in candidates if p.startswith("/usr/")}
                candidates |= {"/usr" + p for p in candidates if not p.startswith("/usr/")}
                owner = None
                for p in candidates:
                    r = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
                    if r.returncode == 0:
                        owner = r.stdout.split(":")[0]
                        break
                self.assertIsNotNone(owner, "no package owns " + path)
                self.assertIn(owner, declared, "%s needs %s from %s" %
                              (os.path.basename(exe), needed, owner))

    def test_apt_can_resolve_the_dependencies(self):
        if shutil.which("apt-get") is None:
            self.skipTest("no apt-get")
        out = run(["apt-get", "--simulate", "--no-install-recommends", "install", self.deb])
        self.assertRegex(out, r"Inst ignite ")
        self.assertNotRegex(out, r"Remv ")

    def test_pkg_config_builds_the_embedding_example(self):
        if shutil.which("pkg-config") is None or shutil.which("cc") is None:
            self.skipTest("no pkg-config or cc")
        pcdirs = glob.glob(self.installed("lib*/**/pkgconfig"), recursive=True)
        self.assertTrue(pcdirs)
        env = dict(os.environ, PKG_CONFIG_SYSROOT_DIR=self.root,
                   PKG_CONFIG_PATH=":".join(pcdirs))
        flags = run(["pkg-config", "--cflags", "--libs", "ignite"], env=env).split()
        exe = os.path.join(self.tmp, "embed")
        run(["cc", "-std=c11", "-o", exe,
             os.path.join(SOURCE, "examples", "embed", "embed.c")] + flags)
        run([exe])

    def test_z_removal_leaves_nothing(self):
        run(["dpkg", "--root=" + self.root, "--log=/dev/null", "--force-script-chrootless",
             "--remove", "ignite"])
        left = [os.path.join(d, f) for d, _, fs in os.walk(self.root) for f in fs
                if not d.startswith(os.path.join(self.root, "var", "lib", "dpkg"))]
        self.assertEqual(left, [])


if __name__ == "__main__":
    BUILD, SOURCE, PREFIX = (os.path.abspath(a) for a in sys.argv[1:4])
    del sys.argv[1:4]
    unittest.main(verbosity=2)
