"""A Python `websockets` echo server for wsdbg's interop tests.

Binds 127.0.0.1 on a port the OS picks and prints that port alone on its first stdout
line. Echoes every message on any path; on /close-me it closes at once with 4001; on
/ping-me it sends a ping, waits for the pong, says "pong received", and echoes on.
Exits when its stdin reaches end of file, so it never outlives the test that started it.
"""

import asyncio
import sys
import threading

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed


async def handler(ws):
    try:
        await serve_one(ws)
    except ConnectionClosed:
        pass  # the tests break connections on purpose


async def serve_one(ws):
    path = ws.request.path
    if path == "/close-me":
        await ws.close(4001, "closing as asked")
        return
    if path == "/ping-me":
        pong = await ws.ping(b"from python")
        await asyncio.wait_for(pong, timeout=5)
        await ws.send("pong received")
    async for message in ws:
        await ws.send(message)


def exit_on_stdin_eof(loop, stop):
    sys.stdin.read()
    loop.call_soon_threadsafe(stop.set_result, None)


async def main():
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    threading.Thread(target=exit_on_stdin_eof, args=(loop, stop), daemon=True).start()
    async with serve(
        handler, "127.0.0.1", 0, compression=None, max_size=1 << 24, ping_interval=None
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
