#!/usr/bin/python3
"""A worker that misbehaves at iteration 3, as argv[1] says: crash (exit 3),
hang (sleeps), garbage (junk on stdout), early (exit 0); slow answers each
request after SLOW_S until it hangs at 3, saying when it began to hang."""
import os
import struct
import sys
import time

import msgpack

MODE = sys.argv[1]
SLOW_S = 0.2


def read():
    head = sys.stdin.buffer.read(4)
    if len(head) < 4:
        sys.exit(0)
    return msgpack.unpackb(sys.stdin.buffer.read(struct.unpack(">I", head)[0]), raw=False)


def reply(msgid, result):
    body = msgpack.packb([1, msgid, None, result], use_bin_type=True)
    sys.stdout.buffer.write(struct.pack(">I", len(body)) + body)
    sys.stdout.buffer.flush()


while True:
    _, msgid, method, params = read()
    if method == "process" and params["iteration"] == 3 and MODE == "slow":
        print("bad_worker: going slow, hung at %.3f" % time.time(), file=sys.stderr, flush=True)
        time.sleep(3600)
    if MODE == "slow":
        time.sleep(SLOW_S)
    if method == "process" and params["iteration"] == 3:
        print("bad_worker: going %s" % MODE, file=sys.stderr, flush=True)
        if MODE == "crash":
            sys.exit(3)
        if MODE == "hang":
            time.sleep(3600)
        if MODE == "garbage":
            sys.stdout.buffer.write(b"\x00\x00\x00\x02\xc1\xc1")
            sys.stdout.buffer.flush()
            time.sleep(3600)
        if MODE == "early":
            os._exit(0)
    if method == "process":
        reply(msgid, {"output": {"loss": 1.0}})
    elif method == "state_dict":
        reply(msgid, {"state": b""})
    else:
        reply(msgid, None)
