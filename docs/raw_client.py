#!/usr/bin/python3
"""A raw ignited client: hello, then list, printed as they come back."""
import os
import socket
import struct
import sys

import msgpack


def default_socket():
    if os.geteuid() == 0:
        return "/run/ignite/ignited.sock"
    run = os.environ.get("XDG_RUNTIME_DIR")
    if run:
        return os.path.join(run, "ignite", "ignited.sock")
    return "/tmp/ignite-%d/ignited.sock" % os.geteuid()


class Client:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.msgid = 0

    def _read_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError("ignited closed the connection")
            buf += chunk
        return buf

    def _read_frame(self):
        (length,) = struct.unpack(">I", self._read_exact(4))
        return msgpack.unpackb(self._read_exact(length), raw=False)

    def call(self, method, params):
        self.msgid += 1
        body = msgpack.packb([0, self.msgid, method, params], use_bin_type=True)
        self.sock.sendall(struct.pack(">I", len(body)) + body)
        while True:
            msg = self._read_frame()
            if msg[0] == 2:                     # a notification: show it
                print("notification", msg[1], msg[2])
                continue
            _, msgid, error, result = msg
            if msgid != self.msgid:
                continue
            if error is not None:
                raise RuntimeError("%s (code %d)" % (error["message"], error["code"]))
            return result


def main():
    client = Client(sys.argv[1] if len(sys.argv) > 1 else default_socket())
    print("hello:", client.call("hello", {"versions": [1]}))
    page = {"next": 1}
    while page["next"] is not None:
        page = client.call("list", {"from": page["next"]})
        for run in page["runs"]:
            print("%(id)5d %(status)-10s epoch %(epoch)s iteration %(iteration)s" % run,
                  repr(run["name"] or ""))


if __name__ == "__main__":
    main()
