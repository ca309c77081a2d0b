"""A python-socketio server (Socket.IO v5 over Engine.IO v4, on aiohttp) for wsdbg's
--proto tests: a ping every second (ping_timeout 1 s), so a client that does not answer
Engine.IO's ping with a pong is dropped within about 2 s.

    on "chat" DATA      emits "chat" with {"echo": DATA} back
    on "ask" with ack   answers the ack with ["answer", DATA]
    on "upload" BYTES   emits "got" with the number of bytes (a binary event)

Binds 127.0.0.1 on a port the OS picks, prints it alone on its first stdout line, and
exits when its stdin reaches end of file.
"""

import asyncio
import sys
import threading

import socketio
from aiohttp import web

sio = socketio.AsyncServer(async_mode="aiohttp", ping_interval=1, ping_timeout=1)
app = web.Application()
sio.attach(app)


@sio.on("chat")
async def chat(sid, data):
    await sio.emit("chat", {"echo": data}, to=sid)


@sio.on("ask")
async def ask(sid, data):
    return ["answer", data]


@sio.on("upload")
async def upload(sid, data):
    await sio.emit("got", len(data), to=sid)


def exit_on_stdin_eof(loop, stop):
    sys.stdin.read()
    loop.call_soon_threadsafe(stop.set_result, None)


async def main():
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    threading.Thread(target=exit_on_stdin_eof, args=(loop, stop), daemon=True).start()
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    print(port, flush=True)
    await stop
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
