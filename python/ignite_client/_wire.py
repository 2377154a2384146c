"""The wire of docs/PROTOCOL.md: where the socket is, frames, msgpack-RPC
and the error codes.  Only python3-msgpack is needed."""

import collections
import os
import select
import socket
import struct
import time

import msgpack

VERSIONS = [1]
FRAME_MAX = 16 << 20        # IG_FRAME_MAX_DEFAULT: the daemon sends no more

CODE_NAMES = {
    0: "OK", 1: "BAD_REQUEST", 2: "UNKNOWN_METHOD", 3: "INVALID_PARAMS",
    4: "NOT_FOUND", 5: "PERMISSION_DENIED", 6: "CONFLICT", 7: "UNAVAILABLE",
    8: "INTERNAL", 9: "TOO_LARGE", 10: "VERSION_MISMATCH",
    100: "FRAME_EMPTY", 101: "FRAME_TOO_LARGE", 102: "FRAME_TRUNCATED",
    103: "FRAME_TRAILING", 104: "FRAME_INVALID", 105: "FRAME_TOO_DEEP",
    106: "FRAME_COUNT", 107: "FRAME_UTF8", 110: "MSG_NOT_ARRAY",
    111: "MSG_ARITY", 112: "MSG_TYPE", 113: "MSG_MSGID", 114: "MSG_METHOD",
    115: "MSG_PARAMS", 116: "MSG_ERROR",
}


class IgniteError(Exception):
    """An error answer of ignited: code (int), name (e.g. "NOT_FOUND") and
    message (what the daemon said).  Codes 100 and up are about frames; the
    daemon closed the connection after them."""

    def __init__(self, code, message):
        self.code = code
        self.name = CODE_NAMES.get(code, "code %d" % code)
        self.message = message
        super().__init__("%s (%s, code %d)" % (message, self.name, code))


class BadRequest(IgniteError):
    """1: well formed, but not acceptable now."""


class UnknownMethod(IgniteError):
    """2: no such method."""


class InvalidParams(IgniteError):
    """3: a param is missing, unknown, or of the wrong type or range."""


class NotFound(IgniteError):
    """4: no run with that id or name (or no checkpoint yet)."""


class PermissionDenied(IgniteError):
    """5: the run belongs to another user."""


class Conflict(IgniteError):
    """6: not possible in the run's state, or a run of that name exists."""


class Unavailable(IgniteError):
    """7: the daemon is shutting down or out of a resource: retry later."""


class Internal(IgniteError):
    """8: a fault of the daemon or worker."""


class TooLarge(IgniteError):
    """9: the answer would not fit in a frame: ask for less."""


class VersionMismatch(IgniteError):
    """10: no common protocol version."""


class FrameError(IgniteError):
    """100 and up: a frame could not be used; the connection is closed."""


_CLASSES = {1: BadRequest, 2: UnknownMethod, 3: InvalidParams, 4: NotFound,
            5: PermissionDenied, 6: Conflict, 7: Unavailable, 8: Internal,
            9: TooLarge, 10: VersionMismatch}


def error(code, message):
    """The exception for an error {code, message} of the protocol."""
    cls = _CLASSES.get(code, FrameError if code >= 100 else IgniteError)
    return cls(code, message)


def socket_path(path=None):
    """(path, where it came from), found as ignitectl finds it: the
    argument, else $IGNITE_SOCKET, else the daemon's default."""
    if path:
        return os.fspath(path), "the argument"
    env = os.environ.get("IGNITE_SOCKET")
    if env:
        return env, "IGNITE_SOCKET"
    if os.geteuid() == 0:
        return "/run/ignite/ignited.sock", "the default for root"
    run = os.environ.get("XDG_RUNTIME_DIR", "")
    if run.startswith("/"):
        return (os.path.join(run, "ignite", "ignited.sock"),
                "the default under $XDG_RUNTIME_DIR")
    return ("/tmp/ignite-%d/ignited.sock" % os.geteuid(),
            "the default without $XDG_RUNTIME_DIR")


class Connection:
    """One msgpack-RPC connection to ignited, after hello.  Requests are
    matched to answers by msgid; notifications are queued for next_note().
    A connection the daemon closed while idle (--client-timeout) is opened
    again before the next request."""

    def __init__(self, path, how, timeout, client):
        self.path, self.how, self.timeout, self.client = path, how, timeout, client
        self.sock = None
        self.msgid = 0
        self.waiting = set()        # msgids sent, not answered yet
        self.answers = {}           # msgid -> (error, result), come early
        self.notes = collections.deque()
        self.hello = None
        self._open()

    def _open(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self.path)
        except OSError as e:
            sock.close()
            raise ConnectionError(
                "cannot connect to ignited at %s (%s): %s.  Is ignited running?  "
                "Pass its socket to Client() or set IGNITE_SOCKET"
                % (self.path, self.how, e.strerror or e)) from e
        self.sock = sock
        self.buf = bytearray()
        self.waiting.clear()
        self.answers.clear()
        self.hello = self.call("hello", {"versions": VERSIONS, "client": self.client})

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _closed(self, why):
        self.close()
        raise ConnectionError("ignited closed the connection at %s: %s" % (self.path, why))

    def _fill(self, timeout):
        """Read what is there into buf, waiting at most timeout seconds
        (None: self.timeout).  False when nothing came in time."""
        wait = self.timeout if timeout is None else timeout
        if not select.select([self.sock], [], [], wait)[0]:
            return False
        try:
            data = self.sock.recv(1 << 20)
        except ConnectionResetError:
            data = b""
        if not data:
            self._closed("end of stream")
        self.buf += data
        return True

    def _frame(self):
        """The next whole message in buf, or None."""
        if len(self.buf) < 4:
            return None
        (n,) = struct.unpack(">I", self.buf[:4])
        if n == 0 or n > FRAME_MAX:
            self._closed("a frame of %d bytes" % n)
        if len(self.buf) < 4 + n:
            return None
        body = bytes(self.buf[4:4 + n])
        del self.buf[:4 + n]
        return msgpack.unpackb(body, raw=False, strict_map_key=False)

    def _dispatch(self, msg):
        if msg[0] == 1:
            _, msgid, err, result = msg
            if msgid in self.waiting:
                self.waiting.discard(msgid)
                self.answers[msgid] = (err, result)
        elif msg[0] == 2 and msg[1] == "error":
            # the stream closes next (a limit, the idle timeout): say why
            self.close()
            p = msg[2] or {}
            raise error(p.get("code", 8), p.get("message", ""))
        elif msg[0] == 2:
            self.notes.append((msg[1], msg[2]))

    def _pump(self, timeout):
        """Handle the whole messages in buf, else read more; False when
        nothing came within timeout."""
        msg = self._frame()
        if msg is None:
            if not self._fill(timeout):
                return False
            msg = self._frame()
        if msg is not None:
            self._dispatch(msg)
        return True

    def _revive(self):
        """Open again a connection the daemon closed while it was idle
        (--client-timeout): nothing was in progress, so nothing is lost."""
        if self.sock is not None and not self.waiting:
            try:
                while self._pump(0):
                    pass
            except (OSError, IgniteError):
                if self.sock is not None:
                    raise
        if self.sock is None:
            self._open()

    def send(self, method, params):
        """Send a request; its msgid."""
        if method != "hello":
            self._revive()
        self.msgid = (self.msgid + 1) & 0xFFFFFFFF
        body = msgpack.packb([0, self.msgid, method, params], use_bin_type=True)
        self.sock.sendall(struct.pack(">I", len(body)) + body)
        self.waiting.add(self.msgid)
        return self.msgid

    def wait(self, msgid):
        """The result of request msgid, or its error raised."""
        deadline = time.monotonic() + self.timeout
        try:
            while msgid not in self.answers:
                left = deadline - time.monotonic()
                if left <= 0 or not self._pump(left):
                    raise TimeoutError("ignited did not answer within %g s" % self.timeout)
        finally:
            self.waiting.discard(msgid)     # given up (or interrupted): drop it
        err, result = self.answers.pop(msgid)
        if err is not None:
            raise error(err.get("code", 8), err.get("message", ""))
        return result

    def call(self, method, params=None):
        return self.wait(self.send(method, params if params is not None else {}))

    def next_note(self, timeout):
        """(method, params) of the next notification, or None when none
        came within timeout seconds."""
        deadline = time.monotonic() + timeout
        while not self.notes:
            left = deadline - time.monotonic()
            if left <= 0 or not self._pump(left):
                return None
        return self.notes.popleft()
