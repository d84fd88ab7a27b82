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


def test_asyncio_write_of_a_large_buffer_arrives_whole(pair):
    """One write() of 64 MiB of bytes and of a bytearray changed right after
    (the transport keeps its own copy of what the socket did not take)."""
    a, b, ip = pair
    import hashlib
    import random

    rng = random.Random(11)
    data = b"".join(rng.randbytes(1 << 20) for _ in range(64))
    mutable = bytearray(rng.randbytes(1 << 20))
    expected = data + bytes(mutable)

    async def main():
        got = hashlib.sha256()
        done = asyncio.get_running_loop().create_future()

        async def handle(reader, writer):
            while chunk := await reader.read(1 << 20):
                got.update(chunk)
            writer.close()
            done.set_result(None)

        server = await za.start_server(handle, a, ip, 9001)
        reader, writer = await za.open_connection(b, ip, 9001)
        writer.write(data)
        writer.write(mutable)
        mutable[:] = b"\0" * len(mutable)
        await writer.drain()
        writer.write_eof()
        await done
        writer.close()
        server.close()
        await server.wait_closed()
        return got.hexdigest()

    assert asyncio.run(asyncio.wait_for(main(), 60)) == hashlib.sha256(expected).hexdigest()
