#!/usr/bin/env python3
"""A TCP relay on loopback: tcp-relay.py LISTEN_PORT TARGET_PORT [BYTES_PER_SECOND]. Killing it is a real
network outage for whoever connects through it (connection refused, open connections cut); starting it
again on the same port ends the outage. LISTEN_PORT 0 lets the kernel choose a free port. Prints
"ready PORT" once it listens. BYTES_PER_SECOND throttles each direction of each connection (a slow
link, so a test can watch a transfer under way). Used by the SSH tests."""
import asyncio
import sys


CHUNK_BYTES = 65536


async def pipe(reader, writer, rate):
    # A throttled relay moves a tenth of a second's worth at a time, then waits that long.
    chunk = max(1, min(CHUNK_BYTES, rate // 10)) if rate else CHUNK_BYTES
    try:
        while data := await reader.read(chunk):
            writer.write(data)
            await writer.drain()
            if rate:
                await asyncio.sleep(len(data) / rate)
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def main(listen, target, rate):
    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, server_writer, rate), pipe(server_reader, client_writer, rate))

    server = await asyncio.start_server(handle, "127.0.0.1", listen, reuse_address=True)
    print("ready", server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 0))
