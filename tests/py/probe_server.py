"""A Python `websockets` echo server as it ships, for the probe tests (issues 15, 16).

    (no argument)        serve(handler) with websockets' defaults: max_size 1 MiB (a larger
                         message is refused with close 1009), compression on, keepalive
                         pings on
    --subprotocol NAME   the same, with subprotocols=[NAME]: a client that does not offer
                         NAME is refused (400, "missing subprotocol")

Binds 127.0.0.1 on a port the OS picks and prints that port alone on its first stdout
line. Exits when its stdin reaches end of file, so it never outlives its test.
"""

import asyncio
import sys
import threading

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed


async def handler(ws):
    try:
        async for message in ws:
            await ws.send(message)
    except ConnectionClosed:
        pass


def exit_on_stdin_eof(loop, stop):
    sys.stdin.read()
    loop.call_soon_threadsafe(stop.set_result, None)


async def main():
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    threading.Thread(target=exit_on_stdin_eof, args=(loop, stop), daemon=True).start()
    args = sys.argv[1:]
    options = {}
    if args[:1] == ["--subprotocol"] and len(args) == 2:
        options["subprotocols"] = [args[1]]
    elif args:
        sys.exit(f"probe_server.py: unknown arguments {args!r} (expected --subprotocol NAME)")
    async with serve(handler, "127.0.0.1", 0, **options) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
