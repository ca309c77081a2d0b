"""A Python `websockets` echo server on a Unix socket (`unix_serve`), for wsdbg's
`ws+unix://` test: the socket path is the first argument. Prints "1" alone on its first
stdout line once it listens (the peers' convention: a line that is not a port of 0),
echoes every message with the request path prepended ("/chat hello"), and exits when
its stdin reaches end of file.
"""

import asyncio
import sys
import threading

from websockets.asyncio.server import unix_serve


async def echo(ws):
    path = ws.request.path
    async for msg in ws:
        await ws.send(f"{path} {msg}" if isinstance(msg, str) else msg)


async def main(path):
    stop = asyncio.get_running_loop().create_future()
    loop = asyncio.get_running_loop()

    def wait_stdin():
        sys.stdin.read()
        loop.call_soon_threadsafe(stop.set_result, None)

    threading.Thread(target=wait_stdin, daemon=True).start()
    async with unix_serve(echo, path):
        print(1, flush=True)
        await stop


asyncio.run(main(sys.argv[1]))
