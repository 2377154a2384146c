#!/usr/bin/python3
"""The documents against the binaries: every option of `ignited --help` is
in docs/ignited.8 (synopsis and OPTIONS) and no other; every builtin and
param the daemon accepts, with its type, is in `ignitectl help builtins`
and in ignited.8's BUILTINS, and nothing more.

usage: test_docs.py IGNITECTL IGNITED
"""
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CTL = IGNITED = None


def man_sections(path):
    """{".SH title": text} of a man page."""
    with open(path) as f:
        parts = re.split(r"^\.SH (.*)$", f.read(), flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def man_option(word):
    return word.replace("\\-", "-")


class TestIgnitedOptions(unittest.TestCase):
    def test_help_and_man_page_agree(self):
        out = subprocess.run([IGNITED, "--help"], capture_output=True, text=True,
                             check=True).stdout
        usage = out.split("\n\n", 1)[0]
        helped = set(re.findall(r"\[(--[a-z-]+)", usage))
        described = set(re.findall(r"^  (--[a-z-]+)", out, flags=re.M))
        self.assertGreater(len(helped), 10)
        self.assertEqual(described | {"--help", "--version"}, helped)

        sec = man_sections(os.path.join(SRC, "docs", "ignited.8"))
        synopsis = {man_option(w) for w in
                    re.findall(r"^\.RB \[ (\\-\\-[a-z\\-]+)", sec["SYNOPSIS"], flags=re.M)}
        options = {man_option(w) for w in
                   re.findall(r"^\.TP\n\.BI? (\\-\\-[a-z\\-]+)", sec["OPTIONS"], flags=re.M)}
        self.assertEqual(synopsis, helped, "SYNOPSIS of ignited.8 vs --help")
        self.assertEqual(options, helped, "OPTIONS of ignited.8 vs --help")


class TestBuiltins(unittest.TestCase):
    """The daemon is the truth: its refusals name the builtins and each
    builtin's params, and a string where a number is due names the type."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ignite-docs-")
        cls.socket = os.path.join(cls.dir, "run", "ignited.sock")
        cls.log = open(os.path.join(cls.dir, "log"), "wb")
        cls.proc = subprocess.Popen([IGNITED, "--socket", cls.socket, "--db",
                                     os.path.join(cls.dir, "db")],
                                    stdout=cls.log, stderr=cls.log)
        deadline = time.time() + 30
        while cls.ctl("ping").returncode != 0:
            if time.time() > deadline or cls.proc.poll() is not None:
                raise RuntimeError("ignited did not come up")
            time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(60)
        cls.log.close()

    @classmethod
    def ctl(cls, *args):
        return subprocess.run([CTL, "--socket", cls.socket] + list(args),
                              capture_output=True, text=True, timeout=60)

    def refusal(self, engine, param):
        p = self.ctl("run", "--engine", engine, "--epoch-length", "1",
                     "--param", param)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        return p.stderr

    def daemon_builtins(self):
        """{builtin: {param: "int" or "float"}} as the daemon says."""
        err = self.refusal("builtin:no-such-builtin", "x=1")
        names = re.search(r"\(builtins: ([^)]*)\)", err).group(1).split(", ")
        out = {}
        for name in names:
            err = self.refusal("builtin:" + name, "no_such_param=1")
            m = re.search(r"\(known: ([^)]*)\)", err)
            if m is None:
                self.assertIn("(it takes none)", err)
            params = m.group(1).split(", ") if m else []
            out[name] = {}
            for param in params:
                err = self.refusal("builtin:" + name, param + ":str=x")
                m = re.search(r"param %s must be (a number|an integer)" % param, err)
                self.assertIsNotNone(m, err)
                out[name][param] = "float" if m.group(1) == "a number" else "int"
        return out

    def test_help_builtins(self):
        text = self.ctl("help", "builtins").stdout
        listed, builtin = {}, None
        for line in text.split("\n\n")[1].splitlines():
            if re.match(r"\S", line):
                builtin = line.split()[0]
                listed[builtin] = {}
            elif re.match(r"  \S", line):
                param, kind = line.split()[:2]
                listed[builtin][param] = kind
        self.assertEqual(listed, self.daemon_builtins())

    def test_man_page_builtins(self):
        text = man_sections(os.path.join(SRC, "docs", "ignited.8"))["BUILTINS"]
        listed = {}
        for sub in re.split(r"^\.SS ", text, flags=re.M)[1:]:
            name = sub.split("\n", 1)[0]
            listed[name] = {p: k for p, k in
                            re.findall(r"^\.TP\n\.B (\S+)\n(int|float)", sub, flags=re.M)}
        self.assertEqual(listed, self.daemon_builtins())


def main():
    global CTL, IGNITED
    CTL, IGNITED = (os.path.abspath(p) for p in sys.argv[1:3])
    r = unittest.main(argv=sys.argv[:1], exit=False, verbosity=2)
    return 0 if r.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
