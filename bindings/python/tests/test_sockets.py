"""The socket interface: threads, files, timeouts, errors, HTTP."""

import errno
import hashlib
import http.client
import http.server
import os
import re
import socketserver
import threading
from pathlib import Path

import pytest

import zts


def test_every_header_function_is_declared():
    header = Path(__file__).resolve().parents[3] / "include" / "zts.h"
    names = set(re.findall(r"\b(zts_[a-z_]+)\(", header.read_text()))
    from zts._lib import SIGNATURES

    assert names, "no functions found in zts.h"
    assert names <= set(SIGNATURES), sorted(names - set(SIGNATURES))


def test_constants_are_the_platforms():
    import socket

    for name in ("AF_INET", "AF_INET6", "SOCK_STREAM", "SOCK_DGRAM", "SOL_SOCKET", "SO_REUSEADDR", "IPPROTO_TCP", "TCP_NODELAY", "SHUT_WR"):
        assert getattr(zts, name) == getattr(socket, name)


def test_threaded_echo_with_32_clients(pair):
    a, b, ip = pair
    server = a.create_server((ip, 7000), backlog=32)

    def serve(conn):
        with conn:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                conn.sendall(data)

    def acceptor():
        for _ in range(32):
            conn, _ = server.accept()
            threading.Thread(target=serve, args=(conn,)).start()

    threading.Thread(target=acceptor).start()
    results = [None] * 32

    def client(i):
        payload = os.urandom(200_000 + i)
        with b.create_connection((ip, 7000)) as s:
            got = bytearray()
            reader = threading.Thread(target=lambda: [got.extend(c) for c in iter_recv(s)])
            reader.start()
            s.sendall(payload)
            s.shutdown(zts.SHUT_WR)
            reader.join()
        results[i] = hashlib.sha256(got).digest() == hashlib.sha256(payload).digest()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    server.close()
    assert all(results)


def iter_recv(s):
    while True:
        data = s.recv(65536)
        if not data:
            return
        yield from [data]


def test_makefile_line_protocol(pair):
    a, b, ip = pair
    server = a.create_server((ip, 7001))

    def serve():
        conn, _ = server.accept()
        with conn, conn.makefile("rw", encoding="utf-8", newline="\n") as f:
            for line in f:
                f.write(line.upper())
                f.flush()

    t = threading.Thread(target=serve)
    t.start()
    with b.create_connection((ip, 7001)) as s, s.makefile("rw", encoding="utf-8", newline="\n") as f:
        for word in ("hello", "zts", "lines"):
            f.write(word + "\n")
            f.flush()
            assert f.readline() == word.upper() + "\n"
        s.shutdown(zts.SHUT_WR)
    t.join()
    server.close()


def test_timeouts_and_blocking_modes(pair):
    a, b, ip = pair
    server = a.create_server((ip, 7002))
    s = b.create_connection((ip, 7002))
    conn, peer = server.accept()
    assert peer[0] == "10.77.0.2"
    s.settimeout(0.2)
    assert s.gettimeout() == 0.2
    with pytest.raises(TimeoutError):
        s.recv(10)
    with pytest.raises(zts.timeout):
        s.recv(10)
    s.setblocking(False)
    assert not s.getblocking()
    with pytest.raises(BlockingIOError):
        s.recv(10)
    s.setblocking(True)
    assert s.getblocking() and s.gettimeout() is None
    conn.sendall(b"x")
    assert s.recv(1) == b"x"
    for sock in (s, conn, server):
        sock.close()


def test_errors_are_the_standard_classes(pair):
    a, b, ip = pair
    with pytest.raises(ConnectionRefusedError):
        b.create_connection((ip, 7999))
    server = a.create_server((ip, 7003))
    with pytest.raises(OSError) as info:
        a.create_server((ip, 7003))
    assert info.value.errno == errno.EADDRINUSE
    s = b.create_connection((ip, 7003))
    conn, _ = server.accept()
    conn.setsockopt(zts.SOL_SOCKET, zts.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    conn.close()
    with pytest.raises(ConnectionResetError):
        s.recv(10)
    with pytest.raises(BrokenPipeError):
        s.sendall(b"after the reset")
    s.close()
    with pytest.raises(OSError) as info:
        s.recv(1)
    assert info.value.errno == errno.EBADF
    with pytest.raises(zts.gaierror):
        b.getaddrinfo("no.such.name", 80)
    fresh = b.socket()
    with pytest.raises(OSError) as info:
        fresh.getpeername()
    assert info.value.errno == errno.ENOTCONN
    fresh.close()
    server.close()


def test_tcp_buffers_grow_within_the_nodes_bound(pair):
    a, b, ip = pair
    with pytest.raises(OSError) as info:
        a.set_tcp_buffer_max(1024)
    assert info.value.errno == errno.EINVAL
    a.set_tcp_buffer_max(1 << 20)
    server = a.create_server((ip, 7004))
    s = b.create_connection((ip, 7004))
    conn, _ = server.accept()
    # A connection starts at 512 KiB each way; SO_RCVBUF reports its size now.
    assert conn.getsockopt(zts.SOL_SOCKET, zts.SO_RCVBUF) == 512 * 1024
    for sock in (s, conn, server):
        sock.close()


def test_udp_sendto_recvfrom(pair):
    a, b, ip = pair
    r = a.socket(zts.AF_INET, zts.SOCK_DGRAM)
    r.bind((ip, 7004))
    s = b.socket(zts.AF_INET, zts.SOCK_DGRAM)
    s.sendto(b"datagram", (ip, 7004))
    data, addr = r.recvfrom(100)
    assert data == b"datagram" and addr[0] == "10.77.0.2"
    buf = bytearray(4)
    s.sendto(b"truncated", (ip, 7004))
    n, _ = r.recvfrom_into(buf)
    assert n == 4 and bytes(buf) == b"trun"
    r.close()
    s.close()


def test_http_server_over_zts_fetched_by_http_client(pair, tmp_path):
    a, b, ip = pair
    (tmp_path / "hello.txt").write_text("hello over zts\n")

    class Server(socketserver.TCPServer):
        def server_bind(self):
            self.socket = a.socket()
            self.socket.setsockopt(zts.SOL_SOCKET, zts.SO_REUSEADDR, 1)
            self.socket.bind(self.server_address)
            self.server_address = self.socket.getsockname()

    handler = lambda *args: http.server.SimpleHTTPRequestHandler(*args, directory=str(tmp_path))  # noqa: E731
    httpd = Server((ip, 8080), handler)
    # One request, without socketserver's selector (zts fds are not OS fds).
    t = threading.Thread(target=httpd._handle_request_noblock)
    t.start()

    class Conn(http.client.HTTPConnection):
        def connect(self):
            self.sock = b.create_connection((self.host, self.port), self.timeout)

    c = Conn(ip, 8080, timeout=10)
    c.request("GET", "/hello.txt")
    resp = c.getresponse()
    assert resp.status == 200
    assert resp.read() == b"hello over zts\n"
    c.close()
    t.join()
    httpd.server_close()


def test_events_reach_python_and_exceptions_are_reported(capfd):
    seen = []
    done = threading.Event()

    def callback(ev):
        seen.append(ev)
        if ev.type == "ADDR_ADDED":
            done.set()
        raise ValueError("reported, not fatal")

    zts.on_event(callback)
    try:
        with zts.Node() as n:
            n.add_address(n.join("mem:py-events"), "10.78.0.1/24")
            n.start()
            assert done.wait(10)
    finally:
        zts.on_event(None)
    types = [e.type for e in seen]
    assert types[:3] == ["NODE_UP", "NET_UP", "ADDR_ADDED"]
    assert seen[2].address == "10.78.0.1"
    assert "reported, not fatal" in capfd.readouterr().err


def test_blocking_calls_release_the_gil(pair):
    a, b, ip = pair
    server = a.create_server((ip, 7005))
    s = b.create_connection((ip, 7005))
    conn, _ = server.accept()
    counted = []
    stop = threading.Event()

    def count():
        n = 0
        while not stop.is_set():
            n += 1
        counted.append(n)

    t = threading.Thread(target=count)
    t.start()
    s.settimeout(0.3)
    with pytest.raises(TimeoutError):
        s.recv(1)  # blocks in zts for 0.3 s
    stop.set()
    t.join()
    assert counted[0] > 1000, "the other thread ran while recv waited"
    for sock in (s, conn, server):
        sock.close()


def test_ctrl_c_interrupts_a_blocking_accept_within_a_second(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "block.py"
    script.write_text(
        # A shell started in the background may pass SIGINT on ignored;
        # an interactive Python has this handler.
        "import signal, zts, sys\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "n = zts.Node(); n.add_address(n.join('mem:ctrlc'), '10.79.0.1/24'); n.start()\n"
        "s = n.create_server(('10.79.0.1', 1))\n"
        # 'waiting' is printed inside the try: a signal that lands while
        # print is still returning must not escape it.
        "try:\n    print('waiting', flush=True)\n    s.accept()\n"
        "except KeyboardInterrupt:\n    print('interrupted', flush=True); sys.exit(3)\n"
    )
    p = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=os.environ)
    assert p.stdout.readline().strip() == "waiting"
    start = time.monotonic()
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=10)
    assert p.returncode == 3 and "interrupted" in out
    assert time.monotonic() - start < 2.0
