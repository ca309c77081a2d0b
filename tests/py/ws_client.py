"""A Python `websockets` CLIENT for wsdbg's tests of `wsdbg listen` (tests/listen_drive.rs).

    ws_client.py [--subprotocol NAME]... [--timeout SECS] URL

Connects to URL (no compression, no keepalive pings, no proxy) and prints one JSON line
per event on stdout, each with "event" first and "t" (seconds since start):

    {"event": "open", "status": 101, "protocol": NAME|null, "headers": [[name, value], ...]}
    {"event": "message", "type": "text", "text": "..."}      (or "type": "binary", "hex")
    {"event": "sent", "type": "text", "text": "..."}         (a message we sent)
    {"event": "pong", "hex": "..."}                           (the answer to our /ping)
    {"event": "rejected", "exception": "InvalidStatus", "status": 401, "body": "..."}
    {"event": "error", "message": "..."}
    {"event": "close", "received": {"code", "reason"}|null, "sent": {...}|null,
     "clean": bool, "exception": "ConnectionClosedError: ..."|null}   (the last line)

"received" and "sent" are the close frames that crossed the wire; "clean" is true when
both did (the closing handshake completed), whatever the codes; "exception" is what
websockets raised at the end (ConnectionClosedOK or ConnectionClosedError and its text),
or null when the message loop ended without one.

Each stdin line is a command; stdin's end changes nothing (the client stays until the
connection ends):

    TEXT               a text message (any line not starting with "/")
    /binary HEX        a binary message
    /ping [TEXT]       a ping; its pong is printed as a "pong" event
    /close CODE [REASON]   start the closing handshake
    /drop              drop the TCP connection without a close frame
    /wait N            wait until N data messages were received in all (at most 10 s)
    /sleep MS          wait

Exit status: 0 the connection ended with a completed closing handshake, 3 it did not
(lost, or failed by one side), 1 the handshake was refused or the connect failed, 4 the
--timeout (default 20 s) ran out first.
"""

import argparse
import asyncio
import json
import os
import sys
import threading
import time

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

START = time.monotonic()


def emit(event, **fields):
    line = {"event": event, "t": round(time.monotonic() - START, 6)}
    line.update(fields)
    print(json.dumps(line), flush=True)


def close_of(frame):
    if frame is None:
        return None
    return {"code": frame.code, "reason": frame.reason}


def stdin_lines(loop, queue):
    for line in sys.stdin:
        loop.call_soon_threadsafe(queue.put_nowait, line.rstrip("\r\n"))


async def commands(ws, queue, received):
    while True:
        line = await queue.get()
        if not line.startswith("/"):
            await ws.send(line)
            emit("sent", type="text", text=line)
            continue
        word, _, rest = line.partition(" ")
        if word == "/binary":
            data = bytes.fromhex(rest)
            await ws.send(data)
            emit("sent", type="binary", hex=data.hex())
        elif word == "/ping":
            waiter = await ws.ping(rest.encode())
            payload = rest.encode()

            def said(_fut, payload=payload):
                emit("pong", hex=payload.hex())

            waiter.add_done_callback(
                lambda fut: None if fut.cancelled() or fut.exception() else said(fut)
            )
        elif word == "/close":
            code, _, reason = rest.partition(" ")
            await ws.close(int(code), reason)
        elif word == "/drop":
            ws.transport.abort()
        elif word == "/wait":
            deadline = time.monotonic() + 10
            while received[0] < int(rest) and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        elif word == "/sleep":
            await asyncio.sleep(int(rest) / 1000)
        else:
            emit("error", message=f"unknown command {line!r}")


async def session(args):
    try:
        ws = await connect(
            args.url,
            subprotocols=args.subprotocol or None,
            compression=None,
            ping_interval=None,
            proxy=None,
            max_size=1 << 24,
            close_timeout=5,
        )
    except InvalidStatus as e:
        body = e.response.body.decode("utf-8", "replace") if e.response.body else ""
        emit(
            "rejected",
            exception=type(e).__name__,
            status=e.response.status_code,
            body=body,
        )
        return 1
    except Exception as e:  # refused, reset, bad handshake
        emit("error", message=f"{type(e).__name__}: {e}")
        return 1
    emit(
        "open",
        status=ws.response.status_code,
        protocol=ws.subprotocol,
        headers=[[k, v] for k, v in ws.response.headers.raw_items()],
    )
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()
    threading.Thread(target=stdin_lines, args=(loop, queue), daemon=True).start()
    received = [0]
    driver = asyncio.create_task(commands(ws, queue, received))
    try:
        async for message in ws:
            received[0] += 1
            if isinstance(message, str):
                emit("message", type="text", text=message)
            else:
                emit("message", type="binary", hex=message.hex())
        exception = None
    except ConnectionClosed as e:
        exception = f"{type(e).__name__}: {e}"
    driver.cancel()
    await ws.wait_closed()
    p = ws.protocol
    clean = p.close_rcvd is not None and p.close_sent is not None
    emit(
        "close",
        received=close_of(p.close_rcvd),
        sent=close_of(p.close_sent),
        clean=clean,
        exception=exception,
    )
    return 0 if clean else 3


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--subprotocol", action="append")
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("url")
    args = ap.parse_args()
    try:
        return await asyncio.wait_for(session(args), args.timeout)
    except asyncio.TimeoutError:
        emit("error", message=f"timeout: still connected after {args.timeout} s")
        return 4


if __name__ == "__main__":
    status = asyncio.run(main())
    sys.stdout.flush()
    # Not sys.exit: the thread reading stdin may hold its lock, which would stall the
    # interpreter's shutdown.
    os._exit(status)
