"""A Python `websockets` server for wsdbg's session-engine tests (tests/engine_interop.rs,
issue 15): servers whose timing a script must not race. What it does depends on the path.

    /slow       echo each message 300 ms after it arrived, one at a time: the next
                message is read only after the echo of this one went out (10 messages
                take 3 s)
    /ack        answer each message M at once with "ack M", then 400 ms later with
                "result M"
    /login      the README's login-flow.ws peer: send {"type": "welcome"} on connect;
                answer {"type": "login", ...} with {"ok": true, "user": USER} and
                {"type": "subscribe", "topic": T} with {"type": "subscribed", "topic": T};
                anything else with {"type": "unexpected", "got": TEXT}; its JSON has
                no spaces ({"type":"welcome"})
    any other   echo

--log FILE: append one JSON line per data message received, {"path": PATH, "n": N (1, 2,
... per connection), "type": "text"|"binary", "text": ...|"hex": ...}, flushed at once,
so a test counts what the server got.

Binds 127.0.0.1 on a port the OS picks and prints that port alone on its first stdout
line. Exits when its stdin reaches end of file, so it never outlives the test that
started it. No compression, no keepalive pings.
"""

import argparse
import asyncio
import json
import sys
import threading

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

SLOW_S = 0.3
RESULT_S = 0.4


class Log:
    """What the server received, one JSON line per message (or nothing without --log)."""

    def __init__(self, path):
        self.file = open(path, "a", encoding="utf-8") if path else None

    def got(self, path, n, message):
        if self.file is None:
            return
        if isinstance(message, str):
            line = {"path": path, "n": n, "type": "text", "text": message}
        else:
            line = {"path": path, "n": n, "type": "binary", "hex": message.hex()}
        self.file.write(json.dumps(line) + "\n")
        self.file.flush()


async def slow(ws, received):
    async for message in ws:
        received(message)
        await asyncio.sleep(SLOW_S)
        await ws.send(message)


async def ack(ws, received):
    async def result(text):
        await asyncio.sleep(RESULT_S)
        await ws.send(f"result {text}")

    tasks = []
    async for message in ws:
        received(message)
        text = message if isinstance(message, str) else message.hex()
        await ws.send(f"ack {text}")
        tasks.append(asyncio.create_task(result(text)))
    await asyncio.gather(*tasks, return_exceptions=True)


def compact(obj):
    """JSON without spaces, as the README's `/expect text "topic":"prices"` reads it."""
    return json.dumps(obj, separators=(",", ":"))


async def login(ws, received):
    await ws.send(compact({"type": "welcome"}))
    async for message in ws:
        received(message)
        try:
            obj = json.loads(message)
        except (TypeError, ValueError):
            obj = None
        kind = obj.get("type") if isinstance(obj, dict) else None
        if kind == "login":
            await ws.send(compact({"ok": True, "user": obj.get("user")}))
        elif kind == "subscribe":
            await ws.send(compact({"type": "subscribed", "topic": obj.get("topic")}))
        else:
            got = message if isinstance(message, str) else message.hex()
            await ws.send(compact({"type": "unexpected", "got": got}))


async def echo(ws, received):
    async for message in ws:
        received(message)
        await ws.send(message)


def handler_for(log):
    async def handler(ws):
        path = ws.request.path
        count = 0

        def received(message):
            nonlocal count
            count += 1
            log.got(path, count, message)

        serve_one = {"/slow": slow, "/ack": ack, "/login": login}.get(path, echo)
        try:
            await serve_one(ws, received)
        except ConnectionClosed:
            pass  # a client may leave while an answer is pending

    return handler


def exit_on_stdin_eof(loop, stop):
    sys.stdin.read()
    loop.call_soon_threadsafe(stop.set_result, None)


async def main():
    p = argparse.ArgumentParser(description="websockets server for tests/engine_interop.rs")
    p.add_argument("--log", help="append what was received to this file, one JSON line each")
    args = p.parse_args()
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    threading.Thread(target=exit_on_stdin_eof, args=(loop, stop), daemon=True).start()
    async with serve(
        handler_for(Log(args.log)),
        "127.0.0.1",
        0,
        compression=None,
        ping_interval=None,
    ) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
