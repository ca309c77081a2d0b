#!/usr/bin/env python3
"""A compressing WebSocket client for the benchmark, used the way websocat -t is: Python
`websockets` (permessage-deflate offered by default, `client_max_window_bits`).

    cat lines.txt | python py-client.py ws://127.0.0.1:PORT/

Sends each stdin line (without its newline) as a text message while printing each
received message and a newline on stdout, concurrently: one task reads stdin in 64 KiB
chunks (in a worker thread) and sends, the other receives and writes to a buffered
stdout; text is neither decoded nor encoded on the way (bytes sent with text=True,
received with decode=False). At the end of stdin it sends a close frame and waits for
the reply; every echo arrives before it. Exits 0 after a clean close, 1 otherwise. With
WS_CLIENT_INFO=1 it writes the negotiated extensions to stderr.
"""

import asyncio
import os
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedOK


async def main(url):
    loop = asyncio.get_running_loop()
    out = sys.stdout.buffer
    # proxy=None: no proxy from the environment; max_size=None: no limit on a message;
    # close_timeout=None: after its close, wait for the reply however long the server
    # takes to echo its backlog (the default, 10 s, gives up on a slow server).
    async with connect(url, proxy=None, max_size=None, ping_interval=None, close_timeout=None) as ws:
        if os.environ.get("WS_CLIENT_INFO"):
            ext = ws.response.headers.get("Sec-WebSocket-Extensions", "none")
            print(f"extensions: {ext}", file=sys.stderr, flush=True)

        async def send():
            rest = b""
            # stdin read in a worker thread: works for a pipe and a file alike.
            while chunk := await loop.run_in_executor(None, os.read, 0, 1 << 16):
                lines = (rest + chunk).split(b"\n")
                rest = lines.pop()
                for line in lines:
                    await ws.send(line, text=True)
            if rest:
                await ws.send(rest, text=True)
            await ws.close()

        sender = asyncio.create_task(send())
        try:
            while True:
                out.write(await ws.recv(decode=False))
                out.write(b"\n")
        except ConnectionClosedOK:
            pass
        await sender
    out.flush()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: py-client.py ws://HOST:PORT/")
    try:
        asyncio.run(main(sys.argv[1]))
    except Exception as e:  # a refused connection, a close that was not clean
        sys.exit(f"py-client: {type(e).__name__}: {e}")
