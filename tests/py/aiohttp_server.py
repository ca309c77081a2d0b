"""An `aiohttp` WebSocket echo server for wsdbg's interop tests.

Every path upgrades to a WebSocket that echoes each text message as text and each binary
message as binary. aiohttp's defaults stay as they are (autoclose answers a close frame
itself, with 1000), since the tests are about how wsdbg meets real servers as they ship.
No compression, no heartbeat, messages up to 16 MiB.

Binds 127.0.0.1 on a port the OS picks and prints that port alone on its first stdout
line. Exits when its stdin reaches end of file, so it never outlives the test that
started it.
"""

import asyncio
import sys
import threading

from aiohttp import WSMsgType, web


async def websocket(request):
    ws = web.WebSocketResponse(compress=False, heartbeat=None, max_msg_size=1 << 24)
    await ws.prepare(request)
    async for msg in ws:
        if msg.type == WSMsgType.TEXT:
            await ws.send_str(msg.data)
        elif msg.type == WSMsgType.BINARY:
            await ws.send_bytes(msg.data)
    return ws


def exit_on_stdin_eof(loop, stop):
    sys.stdin.read()
    loop.call_soon_threadsafe(stop.set_result, None)


async def main():
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    threading.Thread(target=exit_on_stdin_eof, args=(loop, stop), daemon=True).start()
    app = web.Application()
    app.router.add_get("/{tail:.*}", websocket)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    print(port, flush=True)
    try:
        await stop
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
