"""Bulk transfers: sending from the caller's buffer without copying it,
whatever kind of buffer it is, at a rate printed beside the C API's."""

import array
import mmap
import random
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

import zts

ROOT = Path(__file__).resolve().parents[3]
# Fails only when something is badly wrong; the rates are printed, not judged.
BOUND_S = 60


def receive_checked(conn, expected):
    """Reads until EOF into one 256 KiB buffer, comparing each read with
    `expected` at that offset (as examples-c/transfer.c does); returns the
    count, or raises at the first byte that differs."""
    want = memoryview(expected).cast("B")
    buf = bytearray(256 << 10)
    got = 0
    while True:
        n = conn.recv_into(buf)
        if n == 0:
            return got
        # bytearray == memoryview compares with memcmp, without copying.
        chunk = buf if n == len(buf) else buf[:n]
        assert got + n <= len(want) and chunk == want[got : got + n], "bytes differ at offset %d" % got
        got += n


def move(a, b, ip, port, payload, expected):
    """Sends `payload` (any buffer) with one sendall from b to a; returns
    (bytes received and checked against `expected`, seconds)."""
    server = a.create_server((ip, port))
    result = {}

    def serve():
        conn, _ = server.accept()
        with conn:
            try:
                result["got"] = receive_checked(conn, expected)
            except AssertionError as e:
                result["error"] = e

    t = threading.Thread(target=serve)
    t.start()
    try:
        # The timeout bounds the whole sendall, as the standard library's.
        with b.create_connection((ip, port), timeout=BOUND_S) as s:
            start = time.monotonic()
            s.sendall(payload)
    finally:
        t.join(BOUND_S)
        server.close()
    elapsed = time.monotonic() - start
    assert not t.is_alive(), "receiver still running after %d s" % BOUND_S
    if "error" in result:
        raise result["error"]
    return result["got"], elapsed


def c_rate(tmp_path, mib):
    """Runs examples-c/transfer.c (the same transfer through the C API)."""
    cc = shutil.which("cc")
    if cc is None:
        pytest.fail("no C compiler: the C side of the comparison needs cc")
    libdir = Path(zts._lib.lib._name).resolve().parent
    exe = tmp_path / "transfer"
    subprocess.run(
        [cc, "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-O2", "-pthread",
         "-I", str(ROOT / "include"), str(ROOT / "examples-c" / "transfer.c"), "-o", str(exe),
         "-L", str(libdir), "-lzts", "-Wl,-rpath," + str(libdir)],
        check=True,
    )
    out = subprocess.run([str(exe), str(mib)], check=True, capture_output=True, text=True, timeout=BOUND_S).stdout
    m = re.search(r"in ([0-9.]+) s, ([0-9.]+) MiB/s", out)
    assert m, out
    return float(m.group(2))


def test_sendall_of_256_mib_of_bytes_in_one_call(pair, tmp_path):
    a, b, ip = pair
    size = 256 << 20
    rng = random.Random(7)
    data = b"".join(rng.randbytes(1 << 20) for _ in range(size >> 20))
    got, secs = move(a, b, ip, 7100, data, data)
    assert got == size
    py = size / secs / (1 << 20)
    c = c_rate(tmp_path, 256)
    print("\npython sendall: 256 MiB in %.3f s, %.0f MiB/s; c: %.0f MiB/s; python/c %.2f" % (secs, py, c, py / c))


@pytest.mark.parametrize("kind", ["bytes", "bytearray", "memoryview-slice", "array", "mmap"])
def test_sendall_takes_every_buffer_kind(pair, kind, tmp_path):
    a, b, ip = pair
    size = 4 << 20
    raw = random.Random(kind).randbytes(size + 4096)
    expected = raw[4096:] if kind == "memoryview-slice" else raw[:size]
    if kind == "bytes":
        payload = raw[:size]
    elif kind == "bytearray":
        payload = bytearray(raw[:size])
    elif kind == "memoryview-slice":
        # A read-only view that starts inside its object.
        payload = memoryview(raw)[4096:]
    elif kind == "array":
        payload = array.array("I", raw[:size])
    else:
        path = tmp_path / "blob"
        path.write_bytes(raw[:size])
        with open(path, "rb") as f:
            payload = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    got, _ = move(a, b, ip, 7101, payload, expected)
    assert got == size


def test_send_sendto_and_recv_into_refuse_what_they_must(pair):
    a, b, ip = pair
    r = a.socket(zts.AF_INET, zts.SOCK_DGRAM)
    r.bind((ip, 7102))
    s = b.socket(zts.AF_INET, zts.SOCK_DGRAM)
    # sendto from a read-only slice of a view, straight from its memory.
    s.sendto(memoryview(b"..hello..")[2:7], (ip, 7102))
    buf = bytearray(16)
    n, _ = r.recvfrom_into(buf)
    assert bytes(buf[:n]) == b"hello"
    # Receiving needs a writable buffer; a non-contiguous one is refused.
    with pytest.raises(TypeError):
        r.recv_into(b"read-only")
    with pytest.raises((BufferError, TypeError, ValueError)):
        s.sendto(memoryview(bytearray(8))[::2], (ip, 7102))
    # A bytearray is not held once a call returns: it can be resized.
    grow = bytearray(b"abc")
    s.sendto(grow, (ip, 7102))
    grow.extend(b"def")
    assert r.recv(16) == b"abc"
    # Sizes as the standard library checks them.
    with pytest.raises(ValueError):
        r.recv_into(bytearray(4), 8)
    with pytest.raises(ValueError):
        r.recv_into(bytearray(4), -1)
    r.close()
    s.close()
