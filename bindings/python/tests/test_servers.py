"""zts.selectors and zts.socketserver: what a standard-library user reaches
for, over zts sockets; and the submodules reachable from `import zts`."""

import hashlib
import http.client
import http.server
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import zts

EVENT_READ, EVENT_WRITE = zts.selectors.EVENT_READ, zts.selectors.EVENT_WRITE


def serving(server):
    """Starts serve_forever on a thread; returns the thread."""
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.5})
    t.start()
    return t


def stop(server, thread):
    """shutdown() from this thread; returns how long it took."""
    start = time.monotonic()
    server.shutdown()
    took = time.monotonic() - start
    thread.join(5)
    assert not thread.is_alive()
    server.server_close()
    return took


class ZtsHTTPConnection(http.client.HTTPConnection):
    """http.client over a zts node."""

    def __init__(self, node, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.node = node

    def connect(self):
        self.sock = self.node.create_connection((self.host, self.port), self.timeout)


def test_simple_http_server_serves_50_concurrent_fetches(pair, tmp_path):
    a, b, ip = pair
    files = {}
    for i in range(10):
        body = hashlib.sha256(b"file %d" % i).digest() * (2000 * (i + 1))
        (tmp_path / ("f%d.bin" % i)).write_bytes(body)
        files["f%d.bin" % i] = body

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, *args):
            pass

    server = zts.socketserver.ThreadingTCPServer((ip, 8000), Quiet, node=a)
    assert server.server_address == (ip, 8000)
    thread = serving(server)

    def fetch(i):
        name = "f%d.bin" % (i % 10)
        conn = ZtsHTTPConnection(b, ip, 8000, timeout=30)
        try:
            conn.request("GET", "/" + name)
            resp = conn.getresponse()
            return resp.status, name, resp.read()
        finally:
            conn.close()

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(fetch, range(50)))
    took = stop(server, thread)
    assert len(results) == 50
    for status, name, body in results:
        assert status == 200
        assert body == files[name], name
    print("\nshutdown() after 50 fetches took %.3f s" % took)
    assert took < 5


def test_stream_request_handler_echo(pair):
    a, b, ip = pair

    class Echo(zts.socketserver.StreamRequestHandler):
        def handle(self):
            for line in self.rfile:
                self.wfile.write(line.upper())

    server = zts.socketserver.ThreadingTCPServer((ip, 8001), Echo, node=a)
    thread = serving(server)
    try:
        clients = [b.create_connection((ip, 8001), timeout=10) for _ in range(4)]
        for i, c in enumerate(clients):
            c.sendall(b"hello %d\nworld %d\n" % (i, i))
        for i, c in enumerate(clients):
            with c.makefile("rb") as f:
                assert f.readline() == b"HELLO %d\n" % i
                assert f.readline() == b"WORLD %d\n" % i
            c.close()
    finally:
        took = stop(server, thread)
    print("\nshutdown() took %.3f s" % took)
    assert took < 5


def test_udp_server_answers_datagrams(pair):
    a, b, ip = pair

    class Reverse(zts.socketserver.DatagramRequestHandler):
        def handle(self):
            self.wfile.write(self.rfile.read()[::-1])

    server = zts.socketserver.ThreadingUDPServer((ip, 8002), Reverse, node=a)
    thread = serving(server)
    try:
        s = b.socket(zts.AF_INET, zts.SOCK_DGRAM)
        s.settimeout(10)
        for word in (b"abc", b"zts", b"datagram"):
            s.sendto(word, (ip, 8002))
            data, addr = s.recvfrom(100)
            assert (data, addr) == (word[::-1], (ip, 8002))
        s.close()
    finally:
        stop(server, thread)


def test_handle_request_times_out_and_serves_one(pair):
    a, b, ip = pair
    seen = []

    class Once(zts.socketserver.BaseRequestHandler):
        def handle(self):
            seen.append(self.request.recv(10))

    class Server(zts.socketserver.TCPServer):
        timeout = 0.2

        def handle_timeout(self):
            seen.append("timeout")

    server = Server((ip, 8003), Once, node=a)
    server.handle_request()
    assert seen == ["timeout"]
    with b.create_connection((ip, 8003), timeout=10) as c:
        c.sendall(b"one")
        server.timeout = 10
        server.handle_request()
    assert seen == ["timeout", b"one"]
    server.server_close()


def test_servers_need_a_node():
    with pytest.raises(TypeError, match="node="):
        zts.socketserver.TCPServer(("10.0.0.1", 1), zts.socketserver.BaseRequestHandler)


def test_selector_register_select_modify_unregister(pair):
    a, b, ip = pair
    server = a.create_server((ip, 8004))
    with zts.selectors.ZtsSelector() as sel:
        key = sel.register(server, EVENT_READ, "listener")
        assert key.fd == server.fileno() and sel.get_key(server).data == "listener"
        with pytest.raises(KeyError):
            sel.register(server, EVENT_READ)
        with pytest.raises(ValueError):
            sel.register(server.fileno(), 0)
        start = time.monotonic()
        assert sel.select(0.1) == []
        assert time.monotonic() - start >= 0.09
        assert sel.select(0) == []

        client = b.create_connection((ip, 8004), timeout=10)
        ready = sel.select(10)
        assert [(k.data, ev) for k, ev in ready] == [("listener", EVENT_READ)]
        conn, _ = server.accept()
        assert sel.select(0) == []  # level-triggered: nothing left to accept

        sel.register(conn, EVENT_WRITE, "conn")
        assert [(k.data, ev) for k, ev in sel.select(10)] == [("conn", EVENT_WRITE)]
        sel.modify(conn, EVENT_READ, "conn-r")
        assert sel.select(0) == []
        client.sendall(b"x")
        assert [(k.data, ev) for k, ev in sel.select(10)] == [("conn-r", EVENT_READ)]
        # Still ready until read: reported again.
        assert [(k.data, ev) for k, ev in sel.select(0)] == [("conn-r", EVENT_READ)]
        assert conn.recv(1) == b"x"
        assert sel.select(0) == []

        assert set(sel.get_map()) == {server.fileno(), conn.fileno()}
        assert sel.unregister(conn).data == "conn-r"
        with pytest.raises(KeyError):
            sel.unregister(conn)
        # A socket closed while registered: modify forgets it and says so.
        other = b.create_connection((ip, 8004), timeout=10)
        sel.register(other, EVENT_READ)
        other_fd = other.fileno()
        other.close()
        with pytest.raises(OSError):
            sel.modify(other_fd, EVENT_WRITE)
        assert other_fd not in sel.get_map()
        server.accept()[0].close()
        client.sendall(b"y")
        assert sel.select(0.05) == []
        conn.close()
        client.close()
    assert sel.get_map() is None
    server.close()


def test_selector_wakes_another_thread_and_reports_hundreds(pair):
    a, b, ip = pair
    receivers = []
    for i in range(300):
        r = a.socket(zts.AF_INET, zts.SOCK_DGRAM)
        r.bind((ip, 20000 + i))
        receivers.append(r)
    sel = zts.selectors.DefaultSelector()
    for r in receivers:
        sel.register(r, EVENT_READ)
    s = b.socket(zts.AF_INET, zts.SOCK_DGRAM)
    got = []
    waiter = threading.Thread(target=lambda: got.extend(sel.select(10)))
    waiter.start()
    # With nothing ready, select keeps waiting (it does not return early).
    waiter.join(0.05)
    assert waiter.is_alive()
    s.sendto(b"first", (ip, 20007))
    waiter.join(10)
    assert [k.fd for k, _ in got] == [receivers[7].fileno()]
    for i in range(300):
        s.sendto(b"%d" % i, (ip, 20000 + i))
    deadline = time.monotonic() + 10
    seen = set()
    while len(seen) < 300 and time.monotonic() < deadline:
        seen = {k.fd for k, _ in sel.select(1)}
    assert seen == {r.fileno() for r in receivers}
    sel.close()
    for r in receivers:
        r.close()
    s.close()


def test_submodules_come_with_import_zts_and_asyncio_only_when_used():
    code = (
        "import sys, zts\n"
        "assert 'asyncio' not in sys.modules, 'import zts pulled in asyncio'\n"
        "assert callable(zts.asyncio.open_connection)\n"
        "assert zts.selectors.ZtsSelector and zts.socketserver.ThreadingTCPServer\n"
        "print('ok')\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(zts.__file__).resolve().parents[1]))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
