"""Loads libzts and declares every function of zts.h for ctypes.

The library is found, in order: $ZTS_LIBRARY; the copy bundled in this
package by `pip install`; a cargo build in the source tree this package
lives in (for working on zts itself).
"""

from __future__ import annotations

import ctypes
import os
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_char_p,
    c_int,
    c_short,
    c_size_t,
    c_ssize_t,
    c_uint,
    c_uint16,
    c_uint64,
    c_ulong,
    c_void_p,
)
from pathlib import Path

socklen_t = c_uint
nfds_t = c_ulong


class sockaddr_storage(Structure):
    # 128 bytes, 8-byte aligned, as glibc's (which ends in an unsigned long).
    _fields_ = [("ss_family", c_uint16), ("_data", ctypes.c_ubyte * 6), ("_rest", c_uint64 * 15)]


class pollfd(Structure):
    _fields_ = [("fd", c_int), ("events", c_short), ("revents", c_short)]


class zts_event(Structure):
    _fields_ = [("type", c_int), ("node", c_int), ("net", c_int), ("addr", sockaddr_storage)]


class zts_net_stats(Structure):
    _fields_ = [
        (name, c_uint64)
        for name in (
            "rx_frames",
            "rx_bytes",
            "tx_frames",
            "tx_bytes",
            "drop_queue_full",
            "drop_not_peer",
            "drop_malformed",
            "drop_oversize",
            "drop_impaired",
            "drop_send_failed",
        )
    ]


class addrinfo(Structure):
    pass


addrinfo._fields_ = [
    ("ai_flags", c_int),
    ("ai_family", c_int),
    ("ai_socktype", c_int),
    ("ai_protocol", c_int),
    ("ai_addrlen", socklen_t),
    ("ai_addr", c_void_p),
    ("ai_canonname", c_char_p),
    ("ai_next", POINTER(addrinfo)),
]

EVENT_HANDLER = CFUNCTYPE(None, POINTER(zts_event), c_void_p)


def _candidates() -> list[Path]:
    env = os.environ.get("ZTS_LIBRARY")
    if env:
        return [Path(env)]
    here = Path(__file__).resolve().parent
    found = [here / "_lib" / "libzts.so"]
    root = here.parent.parent.parent
    for profile in ("release", "debug"):
        found.append(root / "target" / profile / "libzts.so")
    return found


def _load() -> ctypes.CDLL:
    tried = _candidates()
    for path in tried:
        if path.exists():
            return ctypes.CDLL(str(path), use_errno=True)
    raise ImportError(
        "libzts not found (tried: %s); pip install the package, or set ZTS_LIBRARY"
        % ", ".join(str(p) for p in tried)
    )


lib = _load()

_P = c_void_p
# name: (restype, argtypes)
SIGNATURES = {
    "zts_errno": (c_int, []),
    "zts_errmsg": (c_char_p, []),
    "zts_version": (c_char_p, []),
    "zts_node_new": (c_int, []),
    "zts_net_join": (c_int, [c_int, c_char_p]),
    "zts_addr_add": (c_int, [c_int, c_int, c_char_p]),
    "zts_addr_get": (c_int, [c_int, c_int, c_int, POINTER(sockaddr_storage)]),
    "zts_route_add": (c_int, [c_int, c_char_p, c_char_p]),
    "zts_net_stats": (c_int, [c_int, c_int, POINTER(zts_net_stats)]),
    "zts_net_get_port": (c_int, [c_int, c_int]),
    "zts_node_start": (c_int, [c_int]),
    "zts_node_stop": (c_int, [c_int]),
    "zts_node_free": (c_int, [c_int]),
    "zts_node_set_default": (c_int, [c_int]),
    "zts_node_set_tcp_buffer_max": (c_int, [c_int, c_size_t]),
    "zts_node_socket": (c_int, [c_int, c_int, c_int, c_int]),
    "zts_socket": (c_int, [c_int, c_int, c_int]),
    "zts_bind": (c_int, [c_int, _P, socklen_t]),
    "zts_listen": (c_int, [c_int, c_int]),
    "zts_accept": (c_int, [c_int, _P, POINTER(socklen_t)]),
    "zts_connect": (c_int, [c_int, _P, socklen_t]),
    "zts_shutdown": (c_int, [c_int, c_int]),
    "zts_close": (c_int, [c_int]),
    "zts_getsockname": (c_int, [c_int, _P, POINTER(socklen_t)]),
    "zts_getpeername": (c_int, [c_int, _P, POINTER(socklen_t)]),
    "zts_read": (c_ssize_t, [c_int, _P, c_size_t]),
    "zts_write": (c_ssize_t, [c_int, _P, c_size_t]),
    "zts_recv": (c_ssize_t, [c_int, _P, c_size_t, c_int]),
    "zts_send": (c_ssize_t, [c_int, _P, c_size_t, c_int]),
    "zts_recvfrom": (c_ssize_t, [c_int, _P, c_size_t, c_int, _P, POINTER(socklen_t)]),
    "zts_sendto": (c_ssize_t, [c_int, _P, c_size_t, c_int, _P, socklen_t]),
    "zts_readv": (c_ssize_t, [c_int, _P, c_int]),
    "zts_writev": (c_ssize_t, [c_int, _P, c_int]),
    "zts_recvmsg": (c_ssize_t, [c_int, _P, c_int]),
    "zts_sendmsg": (c_ssize_t, [c_int, _P, c_int]),
    "zts_setsockopt": (c_int, [c_int, c_int, c_int, _P, socklen_t]),
    "zts_getsockopt": (c_int, [c_int, c_int, c_int, _P, POINTER(socklen_t)]),
    "zts_fcntl": (c_int, [c_int, c_int, c_int]),
    "zts_ioctl": (c_int, [c_int, c_ulong, _P]),
    "zts_poll": (c_int, [POINTER(pollfd), nfds_t, c_int]),
    "zts_select": (c_int, [c_int, _P, _P, _P, _P]),
    "zts_getaddrinfo": (c_int, [c_char_p, c_char_p, POINTER(addrinfo), POINTER(POINTER(addrinfo))]),
    "zts_node_getaddrinfo": (
        c_int,
        [c_int, c_char_p, c_char_p, POINTER(addrinfo), POINTER(POINTER(addrinfo))],
    ),
    "zts_freeaddrinfo": (None, [POINTER(addrinfo)]),
    "zts_gai_strerror": (c_char_p, [c_int]),
    "zts_hosts_add": (c_int, [c_int, c_char_p, c_char_p]),
    "zts_dns_add": (c_int, [c_int, c_char_p]),
    "zts_set_event_handler": (c_int, [EVENT_HANDLER, c_void_p]),
    "zts_watch_new": (c_int, []),
    "zts_watch_add": (c_int, [c_int, c_int, c_short]),
    "zts_watch_del": (c_int, [c_int, c_int]),
    "zts_watch_ready": (c_int, [c_int, POINTER(pollfd), c_int]),
    "zts_watch_free": (c_int, [c_int]),
}

for _name, (_restype, _argtypes) in SIGNATURES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _restype
    _fn.argtypes = _argtypes
