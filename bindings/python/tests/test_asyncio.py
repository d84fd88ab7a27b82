"""asyncio streams over zts, driven by the watch fd."""

import asyncio

import zts.asyncio as za


def test_asyncio_echo_with_100_clients(pair):
    a, b, ip = pair

    async def main():
        handled = []

        async def handle(reader, writer):
            while line := await reader.readline():
                writer.write(line)
                await writer.drain()
            writer.close()
            await writer.wait_closed()
            handled.append(1)

        server = await za.start_server(handle, a, ip, 9000)

        async def client(i):
            reader, writer = await za.open_connection(b, ip, 9000)
            lines = [b"client %d line %d\n" % (i, k) for k in range(20)]
            for line in lines:
                writer.write(line)
            await writer.drain()
            got = [await reader.readline() for _ in lines]
            writer.close()
            await writer.wait_closed()
            return got == lines

        results = await asyncio.gather(*(client(i) for i in range(100)))
        while len(handled) < 100:
            await asyncio.sleep(0.01)
        server.close()
        await server.wait_closed()
        return results

    assert all(asyncio.run(asyncio.wait_for(main(), 60)))
