"""zts for Python: virtual network hosts with sockets shaped like the
standard library's `socket` module.

    import zts
    with zts.Node() as a, zts.Node() as b:
        for n, ip in ((a, "10.0.0.1/24"), (b, "10.0.0.2/24")):
            n.add_address(n.join("mem:lab"), ip); n.start()
        server = a.create_server(("10.0.0.1", 8000))
        client = b.create_connection(("10.0.0.1", 8000))

Errors are the standard library's (ConnectionRefusedError, TimeoutError,
BlockingIOError, OSError with errno); constants are the platform's.

Submodules load on first use, so `import zts` alone does not import
asyncio: `zts.asyncio` (open_connection, start_server), `zts.selectors`
(a selectors.BaseSelector for zts sockets) and `zts.socketserver`
(socketserver's servers on a node).
"""

from __future__ import annotations

import importlib as _importlib
import socket as _stdsocket

from ._events import Event, on_event
from ._lib import lib
from ._node import Node
from ._socket import Socket

__all__ = ["Node", "Socket", "Event", "on_event", "version", "timeout", "gaierror"]

# The standard library's constants, with the platform's values.
for _name in dir(_stdsocket):
    if _name.isupper() and _name[:3] in ("AF_", "SOC", "SOL", "SO_", "IPP", "TCP", "SHU", "MSG", "IP_", "IPV", "AI_", "EAI", "INA", "NI_"):
        globals()[_name] = getattr(_stdsocket, _name)
        __all__.append(_name)

timeout = TimeoutError
gaierror = _stdsocket.gaierror


def version() -> str:
    """The library's version."""
    return lib.zts_version().decode()


_SUBMODULES = ("asyncio", "selectors", "socketserver")


def __getattr__(name: str):
    # PEP 562: `zts.asyncio` and the others import on first access.
    if name in _SUBMODULES:
        return _importlib.import_module("." + name, __name__)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES))
