"""Peers for wsdbg's --proto tests, on Python `websockets`, by path:

    /chathub?id=...   a SignalR JSON hub protocol server written from the published
                      protocol description (no SignalR server can run here: it needs
                      .NET): answers the handshake {"protocol":"json","version":1} with
                      {}; pings ({"type":6}) every 0.3 s; an Invocation of "SendMessage"
                      (user, text) is broadcast back as an Invocation of "ReceiveMessage"
                      and completed with the result "sent"; any other target completes
                      with an error. Every record ends with 0x1E.
    /rpc              JSON-RPC 2.0 by the `jsonrpcserver` package: subtract(a, b) and
                      echo(x); an unknown method is its -32601 error.

Binds 127.0.0.1 on a port the OS picks, prints it alone on its first stdout line, and
exits when its stdin reaches end of file.
"""

import asyncio
import json
import sys
import threading

from jsonrpcserver import Success, async_dispatch, method
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

RS = "\x1e"


@method
async def subtract(a, b):
    return Success(a - b)


@method
async def echo(x):
    return Success(x)


async def hub(ws):
    buf = ""
    handshaken = False

    async def pinger():
        while True:
            await asyncio.sleep(0.3)
            await ws.send(json.dumps({"type": 6}) + RS)

    task = None
    try:
        async for message in ws:
            buf += message
            while RS in buf:
                record, buf = buf.split(RS, 1)
                m = json.loads(record)
                if not handshaken:
                    handshaken = True
                    await ws.send("{}" + RS)
                    task = asyncio.create_task(pinger())
                    continue
                if m.get("type") == 1:
                    inv = m.get("invocationId")
                    if m.get("target") == "SendMessage":
                        await ws.send(
                            json.dumps({"type": 1, "target": "ReceiveMessage", "arguments": m.get("arguments", [])}) + RS
                        )
                        if inv is not None:
                            await ws.send(json.dumps({"type": 3, "invocationId": inv, "result": "sent"}) + RS)
                    elif inv is not None:
                        await ws.send(
                            json.dumps({"type": 3, "invocationId": inv, "error": f"no method {m.get('target')}"}) + RS
                        )
    finally:
        if task:
            task.cancel()


async def rpc(ws):
    async for message in ws:
        response = await async_dispatch(message)
        if response:
            await ws.send(response)


async def handler(ws):
    try:
        if ws.request.path.startswith("/rpc"):
            await rpc(ws)
        else:
            await hub(ws)
    except ConnectionClosed:
        pass


def exit_on_stdin_eof(loop, stop):
    sys.stdin.read()
    loop.call_soon_threadsafe(stop.set_result, None)


async def main():
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    threading.Thread(target=exit_on_stdin_eof, args=(loop, stop), daemon=True).start()
    async with serve(handler, "127.0.0.1", 0, ping_interval=None, compression=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
