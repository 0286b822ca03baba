#!/usr/bin/env python3
"""A TCP relay on loopback: tcp-relay.py LISTEN_PORT TARGET_PORT. Killing it is a real network outage
for whoever connects through it (connection refused, open connections cut); starting it again on the
same port ends the outage. LISTEN_PORT 0 lets the kernel choose a free port. Prints "ready PORT" once it
listens. Used by the daemon-over-SSH test."""
import asyncio
import sys


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def main(listen, target):
    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))

    server = await asyncio.start_server(handle, "127.0.0.1", listen, reuse_address=True)
    print("ready", server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
