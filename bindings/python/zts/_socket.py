"""zts sockets with the standard library's `socket.socket` interface.

Every zts socket is non-blocking underneath; blocking and timeouts are
done here by waiting in zts_poll in slices of at most half a second, so
other Python threads run meanwhile (ctypes releases the GIL) and Ctrl-C
interrupts a wait promptly.
"""

from __future__ import annotations

import ctypes
import errno as _errno
import io
import socket as _s
import time
from typing import Optional

from . import _addr
from ._buffer import Buffer
from ._errors import BLOCKING, check, error
from ._lib import lib, pollfd

_SLICE_MS = 500
POLLIN, POLLOUT = 1, 4


def _into_size(room: int, nbytes: int, call: str) -> int:
    """How much recv_into may write, refusing what the standard library
    refuses."""
    if nbytes < 0:
        raise ValueError("negative buffersize in %s" % call)
    if nbytes > room:
        raise ValueError("buffer too small for requested bytes")
    return nbytes or room


class Socket:
    """A zts socket; the methods and semantics of `socket.socket`."""

    def __init__(self, node, family: int = _s.AF_INET, type: int = _s.SOCK_STREAM, proto: int = 0, fileno: Optional[int] = None):
        self._node = node
        if fileno is None:
            fileno = check(lib.zts_node_socket(node.id, family, type, proto))
        self._fd = fileno
        self.family = _s.AddressFamily(family)
        self.type = _s.SocketKind(type & ~(_s.SOCK_NONBLOCK | _s.SOCK_CLOEXEC))
        self.proto = proto
        self._timeout = _s.getdefaulttimeout()
        self._io_refs = 0
        self._closed = False
        check(lib.zts_fcntl(self._fd, 4, 0o4000))  # F_SETFL, O_NONBLOCK

    # -- plumbing ---------------------------------------------------------

    def __repr__(self) -> str:
        return "<zts.Socket fd=%d family=%s type=%s>" % (self._fd, self.family.name, self.type.name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        if not getattr(self, "_closed", True) and getattr(self, "_fd", -1) >= 0:
            lib.zts_close(self._fd)

    def _deadline(self) -> Optional[float]:
        return None if self._timeout is None else time.monotonic() + self._timeout

    def _wait(self, events: int, deadline: Optional[float]) -> None:
        fds = (pollfd * 1)(pollfd(self._fd, events, 0))
        while True:
            if deadline is None:
                slice_ms = _SLICE_MS
            else:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("timed out")
                slice_ms = min(_SLICE_MS, int(left * 1000) + 1)
            n = check(lib.zts_poll(fds, 1, slice_ms))
            if n > 0:
                return

    def _retry(self, call, events: int):
        """Runs `call` until it does not block, as the timeout allows."""
        deadline = self._deadline()
        while True:
            r = call()
            if r >= 0:
                return r
            code = lib.zts_errno()
            if code not in BLOCKING:
                raise error(code)
            if self._timeout == 0:
                raise BlockingIOError(code, "Resource temporarily unavailable")
            self._wait(events, deadline)

    def _sockaddr(self, address):
        host = address[0]
        try:
            _s.inet_pton(self.family, host or ("0.0.0.0" if self.family == _s.AF_INET else "::"))
            return _addr.to_sockaddr(self.family, address)
        except OSError:
            pass
        infos = self._node.getaddrinfo(host, address[1], self.family, self.type)
        if not infos:
            raise _s.gaierror(_s.EAI_NONAME, "Name or service not known")
        return _addr.to_sockaddr(self.family, infos[0][4])

    # -- the socket interface ------------------------------------------------

    def fileno(self) -> int:
        """The zts fd (for zts calls; it is not an OS file descriptor)."""
        return self._fd

    def bind(self, address) -> None:
        sa = self._sockaddr(address)
        check(lib.zts_bind(self._fd, sa, len(sa)))

    def listen(self, backlog: int = 128) -> None:
        check(lib.zts_listen(self._fd, backlog))

    def accept(self):
        st, length = _addr.storage()

        def attempt():
            length.value = ctypes.sizeof(st)
            return lib.zts_accept(self._fd, ctypes.byref(st), ctypes.byref(length))

        fd = self._retry(attempt, POLLIN)
        # As Python's: the new socket blocks (or has the default timeout).
        conn = Socket(self._node, self.family, self.type, self.proto, fileno=fd)
        return conn, _addr.from_sockaddr(bytes(st)[: length.value])

    def connect_ex(self, address) -> int:
        try:
            self.connect(address)
            return 0
        except TimeoutError:
            return _errno.EAGAIN
        except OSError as e:
            return e.errno or _errno.EIO

    def connect(self, address) -> None:
        sa = self._sockaddr(address)
        if lib.zts_connect(self._fd, sa, len(sa)) == 0:
            return
        code = lib.zts_errno()
        if code != _errno.EINPROGRESS:
            raise error(code)
        if self._timeout == 0:
            raise BlockingIOError(code, "Operation now in progress")
        self._wait(POLLOUT, self._deadline())
        err = self.getsockopt(_s.SOL_SOCKET, _s.SO_ERROR)
        if err:
            raise error(err)

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        buf = ctypes.create_string_buffer(max(bufsize, 1))
        n = self._retry(lambda: lib.zts_recv(self._fd, buf, bufsize, flags), POLLIN)
        return buf.raw[:n]

    def recv_into(self, buffer, nbytes: int = 0, flags: int = 0) -> int:
        with Buffer(buffer, writable=True) as b:
            size = _into_size(b.size, nbytes, "recv_into")
            return self._retry(lambda: lib.zts_recv(self._fd, b.address, size, flags), POLLIN)

    def recvfrom(self, bufsize: int, flags: int = 0):
        buf = ctypes.create_string_buffer(max(bufsize, 1))
        n, address = self._recvfrom(buf, bufsize, flags)
        return buf.raw[:n], address

    def recvfrom_into(self, buffer, nbytes: int = 0, flags: int = 0):
        with Buffer(buffer, writable=True) as b:
            size = _into_size(b.size, nbytes, "recvfrom_into")
            return self._recvfrom(b.address, size, flags)

    def _recvfrom(self, ptr, size: int, flags: int):
        st, length = _addr.storage()

        def attempt():
            length.value = ctypes.sizeof(st)
            return lib.zts_recvfrom(self._fd, ptr, size, flags, ctypes.byref(st), ctypes.byref(length))

        n = self._retry(attempt, POLLIN)
        return n, _addr.from_sockaddr(bytes(st)[: length.value]) if length.value else None

    def send(self, data, flags: int = 0) -> int:
        with Buffer(data) as b:
            return self._retry(lambda: lib.zts_send(self._fd, b.address, b.size, flags), POLLOUT)

    def sendall(self, data, flags: int = 0) -> None:
        # One pinned view of the caller's buffer; each pass sends from an
        # offset into it (no copy of what is left).
        with Buffer(data) as b:
            deadline = self._deadline()
            sent = 0
            while sent < b.size:
                n = lib.zts_send(self._fd, b.address + sent, b.size - sent, flags)
                if n >= 0:
                    sent += n
                    continue
                code = lib.zts_errno()
                if code not in BLOCKING:
                    raise error(code)
                if self._timeout == 0:
                    raise BlockingIOError(code, "Resource temporarily unavailable")
                self._wait(POLLOUT, deadline)

    def sendto(self, data, flags_or_address, address=None) -> int:
        flags, address = (0, flags_or_address) if address is None else (flags_or_address, address)
        sa = self._sockaddr(address)
        with Buffer(data) as b:
            return self._retry(lambda: lib.zts_sendto(self._fd, b.address, b.size, flags, sa, len(sa)), POLLOUT)

    def shutdown(self, how: int) -> None:
        check(lib.zts_shutdown(self._fd, how))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._io_refs <= 0:
            self._real_close()

    def _real_close(self) -> None:
        if self._fd >= 0:
            lib.zts_close(self._fd)
            self._fd = -1

    def _decref_socketios(self) -> None:
        if self._io_refs > 0:
            self._io_refs -= 1
        if self._closed and self._io_refs <= 0:
            self._real_close()

    def settimeout(self, value: Optional[float]) -> None:
        if value is not None and value < 0:
            raise ValueError("Timeout value out of range")
        self._timeout = value

    def gettimeout(self) -> Optional[float]:
        return self._timeout

    def setblocking(self, flag: bool) -> None:
        self._timeout = None if flag else 0.0

    def getblocking(self) -> bool:
        return self._timeout != 0.0

    def setsockopt(self, level: int, optname: int, value) -> None:
        if isinstance(value, int):
            raw = ctypes.c_int(value)
            check(lib.zts_setsockopt(self._fd, level, optname, ctypes.byref(raw), 4))
        else:
            with Buffer(value) as b:
                check(lib.zts_setsockopt(self._fd, level, optname, b.address, b.size))

    def getsockopt(self, level: int, optname: int, buflen: int = 0):
        size = ctypes.c_uint(buflen or 4)
        buf = ctypes.create_string_buffer(size.value)
        check(lib.zts_getsockopt(self._fd, level, optname, buf, ctypes.byref(size)))
        if buflen:
            return buf.raw[: size.value]
        return int.from_bytes(buf.raw[:4], "little", signed=True)

    def getsockname(self):
        st, length = _addr.storage()
        check(lib.zts_getsockname(self._fd, ctypes.byref(st), ctypes.byref(length)))
        return _addr.from_sockaddr(bytes(st)[: length.value])

    def getpeername(self):
        st, length = _addr.storage()
        check(lib.zts_getpeername(self._fd, ctypes.byref(st), ctypes.byref(length)))
        return _addr.from_sockaddr(bytes(st)[: length.value])

    def makefile(self, mode: str = "r", buffering: Optional[int] = None, *, encoding=None, errors=None, newline=None):
        """A file object over the socket, as `socket.socket.makefile`."""
        if not set(mode) <= {"r", "w", "b"}:
            raise ValueError("invalid mode %r (only r, w, b allowed)" % (mode,))
        writing, reading, binary = "w" in mode, "r" in mode or "w" not in mode, "b" in mode
        rawmode = ("r" if reading else "") + ("w" if writing else "")
        raw = _s.SocketIO(self, rawmode)  # needs only recv_into, send, _decref_socketios
        self._io_refs += 1
        if buffering is None:
            buffering = -1
        if buffering < 0:
            buffering = io.DEFAULT_BUFFER_SIZE
        if buffering == 0:
            if not binary:
                raise ValueError("unbuffered streams must be binary")
            return raw
        if reading and writing:
            buffer = io.BufferedRWPair(raw, raw, buffering)
        elif reading:
            buffer = io.BufferedReader(raw, buffering)
        else:
            buffer = io.BufferedWriter(raw, buffering)
        if binary:
            return buffer
        text = io.TextIOWrapper(buffer, encoding, errors, newline)
        text.mode = mode
        return text
