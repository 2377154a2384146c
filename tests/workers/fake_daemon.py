"""The daemon's side of the TCP transport of workers that dial back
(docs/PROTOCOL.md, "Workers that dial back"), for tests until ignited
serves it: tests/workers/test_ignite_worker.py, and tests/slurm for a
worker in a Slurm job."""

import socket
import struct

import msgpack


class FakeDaemon:
    """The daemon's side of the TCP transport: a listening socket, and
    connections spoken to with the frames the daemon would send."""

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


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.msgid = 0

    def _read_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError("the worker closed the connection")
            buf += chunk
        return buf

    def read(self):
        (n,) = struct.unpack(">I", self._read_exact(4))
        return msgpack.unpackb(self._read_exact(n), raw=False)

    def send(self, obj):
        body = msgpack.packb(obj, use_bin_type=True)
        self.sock.sendall(struct.pack(">I", len(body)) + body)

    def hello(self, error=None):
        """The worker's hello, answered (with error, if given)."""
        msg = self.read()
        self.send([1, msg[1], error, None if error else {"version": 1, "daemon": "fake"}])
        return msg

    def ok(self, method, params):
        self.msgid += 1
        self.send([0, self.msgid, method, params])
        msg = self.read()
        assert msg[:3] == [1, self.msgid, None], msg
        return msg[3]

    def close(self):
        self.sock.close()
