#!/usr/bin/env python3
"""Round-trip latency client for bench/relay.py: Python `websockets` (sync client).

    python rtt-client.py URL COUNT [SIZE] [WARMUP]
    python rtt-client.py --check URL [COUNT]

Connects to URL (no permessage-deflate, TCP_NODELAY on its socket), sends WARMUP (100)
text messages of SIZE (32) bytes one at a time, each after the echo of the one before,
uncounted; then COUNT more, timing each from just before `send` to just after `recv`
returned its echo (time.perf_counter_ns). Every echo must equal what was sent (same
text, same type), or it exits 1 saying which. Prints one JSON object on stdout:
{"rtt_us": [...COUNT round trips in microseconds, in order...]}; then closes.

--check: is the far end a faithful echo, message by message? Sends text and binary
messages of 1 B, 100 KiB and 1 MiB back to back (no waiting), then reads: each must come
back once, in order, the same bytes and the same type; exits 1 saying what differed.
Then, told apart because some hops treat them specially, an empty text, an empty
binary and a text message starting `b:` (websocat's binary prefix in relay.py), each
followed by a 1-byte text: the result goes in the JSON
({"check": "ok", "special": "ok" or what happened}), not in the exit status.
"""

import json
import os
import socket
import sys
import time
from urllib.parse import urlsplit

from websockets.sync.client import connect


def describe(m):
    kind = "binary" if isinstance(m, bytes) else "text"
    return f"{kind} of {len(m)} B starting {m[:16]!r}"


def check(url, sock):
    rnd = os.urandom(1 << 20)
    text = "".join(chr(0x41 + b % 26) for b in rnd[: 100 * 1024])
    msgs = ["t", b"\x00", text, rnd[: 100 * 1024], "é" * (1 << 19), rnd]
    with connect(url, sock=sock, compression=None, max_size=None, ping_interval=None,
                 open_timeout=10, close_timeout=10) as ws:
        for m in msgs:
            ws.send(m)
        for i, m in enumerate(msgs):
            got = ws.recv(timeout=10)
            if got != m:
                print(f"check: message {i + 1}: sent {describe(m)}, got {describe(got)}", file=sys.stderr)
                sys.exit(1)
        empty = []
        try:
            for m in ("", b"", "b:x"):
                ws.send(m)
                ws.send("z")
                got = [ws.recv(timeout=3), ws.recv(timeout=3)]
                if got != [m, "z"]:
                    empty.append(f"sent {describe(m)} then text 'z', got " + ", ".join(describe(g) for g in got))
                    break
        except Exception as e:  # the hop closed, or nothing came
            empty.append(f"{type(e).__name__}: {e}")
    json.dump({"check": "ok", "special": "; ".join(empty) or "ok"}, sys.stdout)
    sys.stdout.write("\n")


def main():
    if sys.argv[1] == "--check":
        url = sys.argv[2]
        u = urlsplit(url)
        sock = socket.create_connection((u.hostname, u.port), timeout=10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            check(url, sock)
        except SystemExit:
            raise
        except Exception as e:
            print(f"check: {type(e).__name__}: {e}", file=sys.stderr)
            sys.exit(1)
        return
    url = sys.argv[1]
    count = int(sys.argv[2])
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 32
    warmup = int(sys.argv[4]) if len(sys.argv) > 4 else 100
    u = urlsplit(url)
    sock = socket.create_connection((u.hostname, u.port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    filler = "abcdefghijklmnopqrstuvwxyz" * (size // 26 + 1)
    rtts = []
    with connect(url, sock=sock, compression=None, max_size=None, ping_interval=None, open_timeout=10,
                 close_timeout=10) as ws:
        for i in range(warmup + count):
            head = f"r{i:09d}-"
            msg = head + filler[: size - len(head)]
            t0 = time.perf_counter_ns()
            ws.send(msg)
            got = ws.recv(timeout=10)
            t1 = time.perf_counter_ns()
            if got != msg:
                kind = "binary" if isinstance(got, bytes) else "text"
                print(f"message {i + 1}: sent text {msg!r}, got {kind} {got[:60]!r}", file=sys.stderr)
                sys.exit(1)
            if i >= warmup:
                rtts.append((t1 - t0) / 1000)
    json.dump({"rtt_us": rtts}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
