#!/usr/bin/python3
"""A WebSocket echo server for zhttpd's proxy tests, on python3-websockets (not zhttpd's code):

    /usr/bin/python3 ws_echo.py --port PORT

Prints "ws-echo listening on PORT" once it accepts. Every message (text or binary) on any path is
sent back as it came; a text message "path?" is answered with the request path instead. SIGTERM
stops it with exit code 0.
"""
import argparse
import asyncio
import signal

import websockets


async def echo(ws, path=None):
    if path is None:  # websockets >= 10.1 also passes it as ws.path
        path = ws.path
    async for message in ws:
        await ws.send(path if message == "path?" else message)


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with websockets.serve(echo, "127.0.0.1", args.port, ping_interval=None,
                                max_size=2 ** 20):
        print("ws-echo listening on %d" % args.port, flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
