"""The daemon's side of the TCP transport of workers that dial back
(docs/PROTOCOL.md, "Workers that dial back"), for tests until ignited
serves it: tests/workers/test_ignite_worker.py, and tests/slurm for a
worker in a Slurm job."""

import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "e2e"))
from daemon import Client  # noqa: E402


class FakeDaemon:
    """A listening socket; each connection a worker makes is spoken to
    with the frames the daemon would send."""

    def __init__(self):
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen()
        self.lsock.settimeout(30)
        self.port = self.lsock.getsockname()[1]

    def accept(self):
        sock, _ = self.lsock.accept()
        sock.settimeout(30)
        return Conn(sock)

    def close(self):
        self.lsock.close()


class Conn(Client):
    """A worker's connection: call() sends the daemon's requests (setup,
    process, shutdown...) and returns the worker's answers."""

    def __init__(self, sock):
        self.sock = sock
        self.msgid = 0
        self.notes = []

    def hello(self, error=None):
        """The worker's hello, answered (with error, if given)."""
        msg = self.read()
        self.send([1, msg[1], error, None if error else {"version": 1, "daemon": "fake"}])
        return msg
