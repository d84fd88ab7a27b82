"""Socket addresses: Python tuples to and from the C sockaddr structures."""

from __future__ import annotations

import ctypes
import socket as _s
import struct

from ._lib import sockaddr_storage

SIZE_IN = 16
SIZE_IN6 = 28


def to_sockaddr(family: int, address) -> ctypes.Array:
    """A tuple ('10.0.0.1', 80) / ('fd00::1', 80[, flowinfo, scope_id])
    with a numeric host, packed as the C struct."""
    if family == _s.AF_INET:
        host, port = address
        raw = struct.pack("=H", _s.AF_INET) + struct.pack("!H", port) + _s.inet_pton(_s.AF_INET, host or "0.0.0.0") + bytes(8)
    elif family == _s.AF_INET6:
        host, port = address[0], address[1]
        flow = address[2] if len(address) > 2 else 0
        scope = address[3] if len(address) > 3 else 0
        raw = (
            struct.pack("=H", _s.AF_INET6)
            + struct.pack("!HI", port, flow)
            + _s.inet_pton(_s.AF_INET6, host or "::")
            + struct.pack("=I", scope)
        )
    else:
        raise OSError(97, "Address family not supported by protocol")
    return (ctypes.c_char * len(raw)).from_buffer_copy(raw)


def from_sockaddr(buf: bytes):
    """The tuple for a packed sockaddr (the stdlib's shapes)."""
    (family,) = struct.unpack_from("=H", buf)
    if family == _s.AF_INET:
        (port,) = struct.unpack_from("!H", buf, 2)
        return (_s.inet_ntop(_s.AF_INET, buf[4:8]), port)
    if family == _s.AF_INET6:
        port, flow = struct.unpack_from("!HI", buf, 2)
        (scope,) = struct.unpack_from("=I", buf, 24)
        return (_s.inet_ntop(_s.AF_INET6, buf[8:24]), port, flow, scope)
    return None


def storage():
    """An empty sockaddr_storage and its length, for calls that fill one."""
    st = sockaddr_storage()
    return st, ctypes.c_uint(ctypes.sizeof(st))
