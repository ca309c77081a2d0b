"""A Python `websockets` server for wsdbg's REPL tests (tests/repl.rs), which drive wsdbg
through tmux and need to know what the server got.

    repl_server.py LOG

Writes one line per thing it saw to LOG (flushed at once):

    open                    a connection was accepted
    text MESSAGE            a text message arrived (newlines shown as \\n)
    closed CODE             the connection ended; CODE is the client's close code (or None)
    tick-pong N             /tick: the pong for our ping N came back within 1 s
    tick-pong-timeout N     /tick: it did not (then the connection is closed with 1011,
                            as websockets' own keepalive does)

Paths:

    /           echo every message
    /tick       send "tick 1", "tick 2", ... every 200 ms and ping every 200 ms, each
                ping given 1 s for its pong; messages that arrive are echoed

Binds 127.0.0.1 on a port the OS picks and prints that port alone on its first stdout
line. Exits when its stdin reaches end of file. No keepalive pings of websockets' own.
"""

import asyncio
import sys
import threading

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

LOG = open(sys.argv[1], "a", encoding="utf-8")


def log(line):
    LOG.write(line.replace("\n", "\\n") + "\n")
    LOG.flush()


async def echo(ws):
    async for message in ws:
        if isinstance(message, str):
            log(f"text {message}")
        await ws.send(message)


async def tick(ws):
    n = 0
    while True:
        n += 1
        await ws.send(f"tick {n}")
        pong = await ws.ping(f"keepalive {n}")
        try:
            await asyncio.wait_for(pong, timeout=1)
            log(f"tick-pong {n}")
        except asyncio.TimeoutError:
            log(f"tick-pong-timeout {n}")
            await ws.close(1011, "keepalive ping timeout")
            return
        await asyncio.sleep(0.2)


async def handler(ws):
    log("open")
    try:
        if ws.request.path == "/tick":
            task = asyncio.create_task(tick(ws))
            try:
                await echo(ws)
            finally:
                task.cancel()
        else:
            await echo(ws)
    except ConnectionClosed:
        pass
    log(f"closed {ws.close_code}")


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
