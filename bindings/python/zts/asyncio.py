"""asyncio over zts: `open_connection` and `start_server` returning the
standard library's StreamReader / StreamWriter.

One zts watch per event loop (an OS fd readable while a watched zts socket
is ready) sits in the loop with `add_reader`; no thread per socket and no
polling.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno as _errno
import socket as _s
from typing import Callable, Dict, Optional

from ._buffer import Buffer
from ._errors import check, error
from ._lib import lib, pollfd
from ._socket import POLLIN, POLLOUT, Socket

POLLERR, POLLHUP = 8, 16
_HIGH_WATER = 256 * 1024


class _Watcher:
    """Dispatches zts readiness for one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.wfd = check(lib.zts_watch_new())
        self.handlers: Dict[int, Callable[[int], None]] = {}
        self.ready = (pollfd * 64)()
        loop.add_reader(self.wfd, self._on_ready)

    def watch(self, fd: int, events: int, handler: Callable[[int], None]) -> None:
        self.handlers[fd] = handler
        check(lib.zts_watch_add(self.wfd, fd, events))

    def forget(self, fd: int) -> None:
        if self.handlers.pop(fd, None) is not None:
            lib.zts_watch_del(self.wfd, fd)

    def _on_ready(self) -> None:
        while True:
            n = lib.zts_watch_ready(self.wfd, self.ready, len(self.ready))
            for i in range(max(n, 0)):
                handler = self.handlers.get(self.ready[i].fd)
                if handler is not None:
                    handler(self.ready[i].revents)
            if n < len(self.ready):
                return


_watchers: Dict[asyncio.AbstractEventLoop, _Watcher] = {}


def _watcher() -> _Watcher:
    loop = asyncio.get_running_loop()
    w = _watchers.get(loop)
    if w is None or w.loop.is_closed():
        w = _watchers[loop] = _Watcher(loop)
    return w


class _Transport(asyncio.Transport):
    """A stream transport over a zts socket."""

    def __init__(self, watcher: _Watcher, sock: Socket, protocol: asyncio.Protocol) -> None:
        super().__init__({"socket": sock})
        self._w, self._sock, self._protocol = watcher, sock, protocol
        self._fd = sock.fileno()
        self._buf = bytearray()
        self._closing = self._eof_wanted = self._paused = self._writing_paused = False
        self._rbuf = ctypes.create_string_buffer(65536)
        self._w.watch(self._fd, POLLIN, self._on_event)
        protocol.connection_made(self)

    def get_extra_info(self, name, default=None):
        try:
            if name == "peername":
                return self._sock.getpeername()
            if name == "sockname":
                return self._sock.getsockname()
        except OSError:
            return default
        return super().get_extra_info(name, default)

    def _interest(self) -> int:
        return (0 if self._paused else POLLIN) | (POLLOUT if self._buf else 0)

    def _on_event(self, revents: int) -> None:
        if revents & POLLOUT:
            self._flush()
        if not self._paused and revents & (POLLIN | POLLHUP | POLLERR):
            self._read()

    def _read(self) -> None:
        while self._fd >= 0 and not self._paused:
            n = lib.zts_recv(self._fd, self._rbuf, len(self._rbuf), 0)
            if n > 0:
                self._protocol.data_received(self._rbuf.raw[:n])
                continue
            if n == 0:
                keep_open = self._protocol.eof_received()
                self._paused = True
                self._w.watch(self._fd, self._interest(), self._on_event)
                if not keep_open:
                    self.close()
                return
            code = lib.zts_errno()
            if code != _errno.EAGAIN:
                self._fatal(error(code))
            return

    def _send(self, data) -> int:
        """Sends what the socket takes of `data` without copying it; -1
        after a fatal error."""
        with Buffer(data) as b:
            n = lib.zts_send(self._fd, b.address, b.size, 0)
        if n >= 0:
            return n
        code = lib.zts_errno()
        if code != _errno.EAGAIN:
            self._fatal(error(code))
            return -1
        return 0

    def _flush(self) -> None:
        while self._buf and self._fd >= 0:
            n = self._send(self._buf)
            if n <= 0:
                break
            del self._buf[:n]
        if self._writing_paused and len(self._buf) < _HIGH_WATER // 4:
            self._writing_paused = False
            self._protocol.resume_writing()
        if self._fd < 0:
            return
        if not self._buf:
            if self._eof_wanted:
                lib.zts_shutdown(self._fd, _s.SHUT_WR)
                self._eof_wanted = False
            if self._closing:
                self._finish(None)
                return
        self._w.watch(self._fd, self._interest(), self._on_event)

    def write(self, data) -> None:
        if self._closing or self._fd < 0:
            return
        view = memoryview(data).cast("B")
        if not self._buf:
            # Straight from the caller's buffer; only what the socket does
            # not take now is copied into ours.
            n = self._send(view)
            if n < 0 or n == len(view):
                return
            view = view[n:]
        self._buf += view
        self._flush()
        if not self._writing_paused and len(self._buf) > _HIGH_WATER:
            self._writing_paused = True
            self._protocol.pause_writing()

    def write_eof(self) -> None:
        self._eof_wanted = True
        self._flush()

    def can_write_eof(self) -> bool:
        return True

    def get_write_buffer_size(self) -> int:
        return len(self._buf)

    def pause_reading(self) -> None:
        self._paused = True
        if self._fd >= 0:
            self._w.watch(self._fd, self._interest(), self._on_event)

    def resume_reading(self) -> None:
        self._paused = False
        if self._fd >= 0:
            self._w.watch(self._fd, self._interest(), self._on_event)

    def is_reading(self) -> bool:
        return not self._paused

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        if not self._buf:
            self._w.loop.call_soon(self._finish, None)

    def abort(self) -> None:
        self._buf.clear()
        self._finish(None)

    def _fatal(self, exc: Exception) -> None:
        self._buf.clear()
        self._finish(exc)

    def _finish(self, exc: Optional[Exception]) -> None:
        if self._fd < 0:
            return
        self._w.forget(self._fd)
        self._fd = -1
        self._closing = True
        self._sock.close()
        self._w.loop.call_soon(self._protocol.connection_lost, exc)


async def _wait_writable(watcher: _Watcher, fd: int) -> None:
    done = watcher.loop.create_future()

    def ready(_revents: int) -> None:
        watcher.forget(fd)
        if not done.done():
            done.set_result(None)

    watcher.watch(fd, POLLOUT, ready)
    await done


async def open_connection(node, host: str, port: int, *, limit: int = 2**16):
    """As `asyncio.open_connection`, over node `node`: (reader, writer)."""
    w = _watcher()
    infos = node.getaddrinfo(host, port, 0, _s.SOCK_STREAM)
    last = None
    for family, type_, proto, _, address in infos:
        sock = Socket(node, family, type_, proto)
        sock.setblocking(False)
        try:
            try:
                sock.connect(address)
            except BlockingIOError:
                await _wait_writable(w, sock.fileno())
                err = sock.getsockopt(_s.SOL_SOCKET, _s.SO_ERROR)
                if err:
                    raise error(err)
        except OSError as e:
            sock.close()
            last = e
            continue
        reader = asyncio.StreamReader(limit=limit)
        protocol = asyncio.StreamReaderProtocol(reader)
        transport = _Transport(w, sock, protocol)
        return reader, asyncio.StreamWriter(transport, protocol, reader, w.loop)
    raise last if last else OSError("no address for %r" % (host,))


class Server:
    """What `start_server` returns: close(), wait_closed(), sockets, and use
    as an async context manager."""

    def __init__(self, watcher: _Watcher, sock: Socket, connected, limit: int) -> None:
        self._w, self._sock, self._cb, self._limit = watcher, sock, connected, limit
        self._closed = watcher.loop.create_future()
        self.sockets = [sock]
        watcher.watch(sock.fileno(), POLLIN, self._accept)

    def _accept(self, _revents: int) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            conn.setblocking(False)
            reader = asyncio.StreamReader(limit=self._limit)
            protocol = asyncio.StreamReaderProtocol(reader, self._cb)
            _Transport(self._w, conn, protocol)

    def is_serving(self) -> bool:
        return not self._closed.done()

    def close(self) -> None:
        if self._closed.done():
            return
        self._w.forget(self._sock.fileno())
        self._sock.close()
        self._closed.set_result(None)

    async def wait_closed(self) -> None:
        await self._closed

    async def serve_forever(self) -> None:
        await self._closed

    async def __aenter__(self) -> "Server":
        return self

    async def __aexit__(self, *exc) -> None:
        self.close()
        await self.wait_closed()


async def start_server(client_connected_cb, node, host: str, port: int, *, backlog: int = 100, limit: int = 2**16) -> Server:
    """As `asyncio.start_server`, listening on node `node`."""
    w = _watcher()
    family = _s.AF_INET6 if ":" in (host or "") else _s.AF_INET
    sock = node.create_server((host, port), family=family, backlog=backlog)
    sock.setblocking(False)
    return Server(w, sock, client_connected_cb, limit)
