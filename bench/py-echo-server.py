#!/usr/bin/env python3
"""Compressing WebSocket echo server for the benchmark's compressed row: Python `aiohttp`,
whose WebSocketResponse accepts permessage-deflate by default (compress=True) and then
compresses every message it sends.

    python py-echo-server.py [PORT]     (default 0: pick a free port)

Listens on 127.0.0.1, prints its port on the first line of stdout, echoes every data
message back with its type, in order. aiohttp answers a close frame only when the
handler reads it, after every message before it, so a client that sends its close right
after its last message still gets every echo. (Python `websockets`' server does not:
it answers a close as soon as it parses it, before the messages that arrived with it
are echoed, and drops those echoes; see bench/README.md.) On each connection's end it
writes one line to stderr: the negotiated extension and how many messages it echoed.
"""

import asyncio
import sys

from aiohttp import WSMsgType, web


async def echo(request):
    ws = web.WebSocketResponse(compress=True, max_msg_size=0, heartbeat=None)
    await ws.prepare(request)
    n = 0
    async for msg in ws:
        if msg.type == WSMsgType.TEXT:
            await ws.send_str(msg.data)
        elif msg.type == WSMsgType.BINARY:
            await ws.send_bytes(msg.data)
        else:
            continue
        n += 1
    ext = ws.headers.get("Sec-WebSocket-Extensions", "none")
    print(f"connection: extensions: {ext}; {n} messages echoed", file=sys.stderr, flush=True)
    return ws


async def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    app = web.Application()
    app.router.add_get("/{tail:.*}", echo)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    print(runner.addresses[0][1], flush=True)
    await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
