"""A Python `websockets` server for wsdbg's interop tests; what it does depends on the path.

    /           echo every message (text stays text, binary stays binary)
    /delay      echo every message 200 ms after it arrived; the delays run concurrently
                (1000 messages come back after about 200 ms, not 200 s), in order
    /greet      send "welcome" on connect, then echo
    /twenty     send "m1" .. "m20", then close with 1000
    /tick       send "tick 1", "tick 2", ... every 100 ms until the connection ends
    /close-me   close at once with 4001 "closing as asked"
    /ping-me    send a ping, wait for its pong, say "pong received", then echo
    /orders     answer each JSON text {"q": X} with {"answer": X, "n": N, "id": a fresh
                random id, "ts": the time}: id and ts change from run to run
    /orders-differ   the same, but the second answer is "something else"
    any other   echo

Binds 127.0.0.1 on a port the OS picks and prints that port alone on its first stdout
line. Exits when its stdin reaches end of file, so it never outlives the test that
started it. No keepalive pings, messages up to 16 MiB.

Compression (permessage-deflate, RFC 7692), by the first argument:

    (none)          no compression (the extension is never accepted)
    --deflate       websockets' default: accepts permessage-deflate and answers
                    server_max_window_bits=12 (and client_max_window_bits=12 when the
                    client offers it), as a websockets server ships
    --deflate-any   accepts permessage-deflate with whatever window bits (9-15) and
                    context takeover the client asks for (no limits of its own)
"""

import asyncio
import json
import sys
import threading
import time
import uuid

from websockets.asyncio.server import serve
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.exceptions import ConnectionClosed

DELAY_S = 0.2


async def handler(ws):
    try:
        await serve_one(ws)
    except ConnectionClosed:
        pass  # the tests break connections on purpose


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def delayed_echo(ws):
    """Each message gets its own task that sleeps 200 ms; a task sends only after the
    one before it has sent, so the echoes keep their order."""
    previous = None
    tasks = []

    async def later(message, before):
        await asyncio.sleep(DELAY_S)
        if before is not None:
            await asyncio.gather(before, return_exceptions=True)
        await ws.send(message)

    async for message in ws:
        previous = asyncio.create_task(later(message, previous))
        tasks.append(previous)
    # The client closed; the echoes still pending fail with ConnectionClosed.
    await asyncio.gather(*tasks, return_exceptions=True)


async def tick(ws):
    n = 0
    while True:
        n += 1
        await ws.send(f"tick {n}")
        await asyncio.sleep(0.1)


async def orders(ws, differ):
    n = 0
    async for message in ws:
        n += 1
        q = json.loads(message).get("q")
        answer = "something else" if differ and n == 2 else q
        await ws.send(
            json.dumps({"answer": answer, "n": n, "id": uuid.uuid4().hex, "ts": time.time()})
        )


async def serve_one(ws):
    path = ws.request.path
    if path in ("/orders", "/orders-differ"):
        await orders(ws, path == "/orders-differ")
        return
    if path == "/close-me":
        await ws.close(4001, "closing as asked")
    elif path == "/ping-me":
        pong = await ws.ping(b"from python")
        await asyncio.wait_for(pong, timeout=5)
        await ws.send("pong received")
        await echo(ws)
    elif path == "/delay":
        await delayed_echo(ws)
    elif path == "/greet":
        await ws.send("welcome")
        await echo(ws)
    elif path == "/twenty":
        for i in range(1, 21):
            await ws.send(f"m{i}")
        await ws.close(1000)
    elif path == "/tick":
        await tick(ws)
    else:
        await echo(ws)


def exit_on_stdin_eof(loop, stop):
    sys.stdin.read()
    loop.call_soon_threadsafe(stop.set_result, None)


async def main():
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    threading.Thread(target=exit_on_stdin_eof, args=(loop, stop), daemon=True).start()
    mode = sys.argv[1] if len(sys.argv) > 1 else None
    if mode is None:
        compression = {"compression": None}
    elif mode == "--deflate":
        compression = {"compression": "deflate"}
    elif mode == "--deflate-any":
        compression = {
            "compression": None,
            "extensions": [ServerPerMessageDeflateFactory()],
        }
    else:
        sys.exit(f"echo_server.py: unknown argument {mode!r} (expected --deflate or --deflate-any)")
    async with serve(
        handler,
        "127.0.0.1",
        0,
        max_size=1 << 24,
        ping_interval=None,
        **compression,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
