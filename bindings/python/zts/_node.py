"""Nodes: virtual hosts with their own networks, addresses and stack."""

from __future__ import annotations

import ctypes
import socket as _s
from typing import List, Optional, Tuple

from . import _addr
from ._errors import check
from ._lib import addrinfo, lib, sockaddr_storage, zts_net_stats
from ._socket import Socket


def _b(text) -> Optional[bytes]:
    if text is None:
        return None
    return str(text).encode()


class Node:
    """A zts node. Use as a context manager: the node is freed on exit.

    >>> with zts.Node() as n:
    ...     net = n.join("mem:lab"); n.add_address(net, "10.0.0.1/24"); n.start()
    """

    def __init__(self) -> None:
        self.id = check(lib.zts_node_new())
        self._nets: List[int] = []

    def __repr__(self) -> str:
        return "<zts.Node %d>" % self.id

    def __enter__(self) -> "Node":
        return self

    def __exit__(self, *exc) -> None:
        self.free()

    def free(self) -> None:
        """Stops the node if it runs and forgets it."""
        if self.id >= 0:
            lib.zts_node_free(self.id)
            self.id = -1

    def join(self, uri: str) -> int:
        """Joins the network `uri` names ("mem:lab", "vxlan://...", "tap:zt0")."""
        net = check(lib.zts_net_join(self.id, _b(uri)))
        self._nets.append(net)
        return net

    def add_address(self, net: int, cidr: str) -> None:
        """Adds "10.0.0.1/24", "fd00::1/64" or "dhcp" to network `net`."""
        check(lib.zts_addr_add(self.id, net, _b(cidr)))

    def add_route(self, cidr: str, via: str) -> None:
        check(lib.zts_route_add(self.id, _b(cidr), _b(via)))

    def add_dns(self, server: str) -> None:
        check(lib.zts_dns_add(self.id, _b(server)))

    def add_host(self, name: str, address: str) -> None:
        check(lib.zts_hosts_add(self.id, _b(name), _b(address)))

    def start(self) -> None:
        check(lib.zts_node_start(self.id))

    def stop(self) -> None:
        check(lib.zts_node_stop(self.id))

    def set_default(self) -> None:
        check(lib.zts_node_set_default(self.id))

    def set_tcp_buffer_max(self, nbytes: int) -> None:
        """How far the buffers of TCP sockets made from now on may grow by
        themselves, each way (16 MiB by default; 4 KiB to 32 MiB)."""
        check(lib.zts_node_set_tcp_buffer_max(self.id, nbytes))

    def net_port(self, net: int) -> int:
        """The local UDP port of an overlay network."""
        return check(lib.zts_net_get_port(self.id, net))

    def net_stats(self, net: int) -> dict:
        st = zts_net_stats()
        check(lib.zts_net_stats(self.id, net, ctypes.byref(st)))
        return {name: getattr(st, name) for name, _ in zts_net_stats._fields_}

    def addresses(self) -> List[Tuple[int, str]]:
        """(network, address) for the first IPv4 and IPv6 address of each network."""
        found = []
        for net in self._nets:
            for family in (_s.AF_INET, _s.AF_INET6):
                st = sockaddr_storage()
                if lib.zts_addr_get(self.id, net, family, ctypes.byref(st)) == 0:
                    found.append((net, _addr.from_sockaddr(bytes(st))[0]))
        return found

    def socket(self, family: int = _s.AF_INET, type: int = _s.SOCK_STREAM, proto: int = 0) -> Socket:
        return Socket(self, family, type, proto)

    def getaddrinfo(self, host, port, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0):
        """As `socket.getaddrinfo`, resolved on this node."""
        hints = addrinfo()
        hints.ai_flags, hints.ai_family, hints.ai_socktype, hints.ai_protocol = flags, family, type, proto
        res = ctypes.POINTER(addrinfo)()
        rc = lib.zts_node_getaddrinfo(self.id, _b(host), _b(port), ctypes.byref(hints), ctypes.byref(res))
        if rc != 0:
            raise _s.gaierror(rc, lib.zts_gai_strerror(rc).decode())
        out = []
        p = res
        try:
            while p:
                ai = p.contents
                raw = ctypes.string_at(ai.ai_addr, ai.ai_addrlen)
                canon = ai.ai_canonname.decode() if ai.ai_canonname else ""
                out.append(
                    (
                        _s.AddressFamily(ai.ai_family),
                        _s.SocketKind(ai.ai_socktype),
                        ai.ai_protocol,
                        canon,
                        _addr.from_sockaddr(raw),
                    )
                )
                p = ai.ai_next
        finally:
            lib.zts_freeaddrinfo(res)
        return out

    def create_connection(self, address, timeout=None, source_address=None) -> Socket:
        """As `socket.create_connection`, on this node."""
        host, port = address[0], address[1]
        last = None
        for family, type_, proto, _, sa in self.getaddrinfo(host, port, 0, _s.SOCK_STREAM):
            sock = None
            try:
                sock = Socket(self, family, type_, proto)
                sock.settimeout(timeout)
                if source_address:
                    sock.bind(source_address)
                sock.connect(sa)
                return sock
            except OSError as e:
                last = e
                if sock is not None:
                    sock.close()
        raise last if last else OSError("getaddrinfo returns an empty list")

    def create_server(self, address, *, family: int = _s.AF_INET, backlog: Optional[int] = None, reuse_port: bool = False, dualstack_ipv6: bool = False) -> Socket:
        """As `socket.create_server`, on this node."""
        sock = Socket(self, family, _s.SOCK_STREAM)
        try:
            sock.setsockopt(_s.SOL_SOCKET, _s.SO_REUSEADDR, 1)
            if family == _s.AF_INET6:
                sock.setsockopt(_s.IPPROTO_IPV6, _s.IPV6_V6ONLY, 0 if dualstack_ipv6 else 1)
            sock.bind(address)
            sock.listen(backlog if backlog is not None else 128)
            return sock
        except BaseException:
            sock.close()
            raise
