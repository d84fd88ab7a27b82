"""The standard library's `socketserver` servers, serving on a zts node.

    server = zts.socketserver.ThreadingTCPServer(
        ("10.0.0.1", 8000), http.server.SimpleHTTPRequestHandler, node=a)
    threading.Thread(target=server.serve_forever).start()
    ...
    server.shutdown(); server.server_close()

Each class is the standard library's (an instance is a
`socketserver.TCPServer`, handlers are unchanged) with two differences:
it takes `node=`, the zts node whose socket it serves, and it waits with
`zts.selectors.ZtsSelector`, since a zts fd is not an OS fd the
standard library's selectors could poll. zts has no SO_REUSEPORT, so a
server class with `allow_reuse_port = True` fails to bind with
ENOPROTOOPT; SO_REUSEADDR (`allow_reuse_address`) works.
"""

from __future__ import annotations

import socketserver as _ss
import threading
import time

from ._node import Node
from .selectors import EVENT_READ, ZtsSelector

BaseRequestHandler = _ss.BaseRequestHandler
StreamRequestHandler = _ss.StreamRequestHandler
DatagramRequestHandler = _ss.DatagramRequestHandler


class _OnZts:
    """What differs from the standard library's servers: the node the
    socket lives on, and the selector the serving loop waits in."""

    def __init__(self, server_address, RequestHandlerClass, bind_and_activate: bool = True, *, node: Node = None) -> None:
        if not isinstance(node, Node):
            raise TypeError("zts.socketserver servers need node=, the zts.Node to serve on (got %r)" % (node,))
        _ss.BaseServer.__init__(self, server_address, RequestHandlerClass)
        self.node = node
        self.socket = node.socket(self.address_family, self.socket_type)
        self._stop_wanted = False
        self._stopped = threading.Event()
        if bind_and_activate:
            try:
                self.server_bind()
                self.server_activate()
            except BaseException:
                self.server_close()
                raise

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Handles requests until shutdown(); checks for it every
        `poll_interval` seconds, as the standard library's does."""
        self._stopped.clear()
        try:
            with ZtsSelector() as selector:
                selector.register(self.socket, EVENT_READ)
                while not self._stop_wanted:
                    ready = selector.select(poll_interval)
                    if self._stop_wanted:
                        break
                    if ready:
                        self._handle_request_noblock()
                    self.service_actions()
        finally:
            self._stop_wanted = False
            self._stopped.set()

    def shutdown(self) -> None:
        """Stops serve_forever and waits until it has returned. Call it from
        another thread, or it waits forever (as the standard library's)."""
        self._stop_wanted = True
        self._stopped.wait()

    def handle_request(self) -> None:
        """Handles one request, waiting at most self.timeout (or the
        socket's timeout, whichever is shorter) for it."""
        timeout = self.socket.gettimeout()
        if timeout is None:
            timeout = self.timeout
        elif self.timeout is not None:
            timeout = min(timeout, self.timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        with ZtsSelector() as selector:
            selector.register(self.socket, EVENT_READ)
            while True:
                if selector.select(timeout):
                    return self._handle_request_noblock()
                if deadline is not None:
                    timeout = deadline - time.monotonic()
                    if timeout < 0:
                        return self.handle_timeout()


class TCPServer(_OnZts, _ss.TCPServer):
    """socketserver.TCPServer on a zts node."""


class UDPServer(_OnZts, _ss.UDPServer):
    """socketserver.UDPServer on a zts node."""


class ThreadingTCPServer(_ss.ThreadingMixIn, TCPServer):
    """A thread per connection, as socketserver.ThreadingTCPServer."""


class ThreadingUDPServer(_ss.ThreadingMixIn, UDPServer):
    """A thread per datagram, as socketserver.ThreadingUDPServer."""


__all__ = [
    "TCPServer",
    "UDPServer",
    "ThreadingTCPServer",
    "ThreadingUDPServer",
    "BaseRequestHandler",
    "StreamRequestHandler",
    "DatagramRequestHandler",
]
