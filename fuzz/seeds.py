#!/usr/bin/env python3
"""Writes the seed corpus (corpus/<target>/<name>): well-formed examples of
what each target takes, so fuzzing starts past the first checks.
Deterministic; run from this directory after changing it."""

import ipaddress
import os
import struct

NODE4, PEER4 = "10.99.0.1", "10.99.0.2"
NODE6, PEER6 = "fd00:99::1", "fd00:99::2"
PORT_MAC = bytes([0x02, 0, 0, 0, 0xF0, 0x01])
# Unicast destinations are rewritten to the node's MAC by the harness.
NODE_MAC = bytes([0x02, 0, 0, 0, 0, 0x01])
BCAST = b"\xff" * 6


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def a4(s):
    return ipaddress.IPv4Address(s).packed


def a6(s):
    return ipaddress.IPv6Address(s).packed


def eth(dst, ethertype, payload):
    return dst + PORT_MAC + struct.pack("!H", ethertype) + payload


def ipv4(proto, payload, src=PEER4, dst=NODE4, frag=0x4000, ident=1, options=b""):
    ihl = 5 + len(options) // 4
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 4 * ihl + len(payload), ident, frag,
                    64, proto, 0, a4(src), a4(dst)) + options
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def ipv6(nh, payload, src=PEER6, dst=NODE6):
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), nh, 64, a6(src), a6(dst)) + payload


def l4sum(proto, seg, src, dst):
    if len(src) == 4:
        pseudo = src + dst + struct.pack("!BBH", 0, proto, len(seg))
    else:
        pseudo = src + dst + struct.pack("!IxxxB", len(seg), proto)
    return csum(pseudo + seg)


def tcp(sport, dport, flags, seq=1000, ack=0, payload=b"", options=b"", v6=False):
    off = (20 + len(options)) // 4
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, 65535, 0, 0)
    seg += options + payload
    src, dst = (a6(PEER6), a6(NODE6)) if v6 else (a4(PEER4), a4(NODE4))
    c = l4sum(6, seg, src, dst)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def udp(sport, dport, payload, v6=False):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    src, dst = (a6(PEER6), a6(NODE6)) if v6 else (a4(PEER4), a4(NODE4))
    c = l4sum(17, seg, src, dst) or 0xFFFF
    return seg[:6] + struct.pack("!H", c) + seg[8:]


def icmp(typ, code, rest):
    m = struct.pack("!BBH", typ, code, 0) + rest
    return m[:2] + struct.pack("!H", csum(m)) + m[4:]


def icmp6(typ, code, rest, dst=NODE6):
    m = struct.pack("!BBH", typ, code, 0) + rest
    c = l4sum(58, m, a6(PEER6), a6(dst))
    return m[:2] + struct.pack("!H", c) + m[4:]


SYN, ACK, PSH, FIN, RST = 0x02, 0x10, 0x08, 0x01, 0x04
TCP_OPTS = bytes([2, 4, 0x05, 0xB4, 1, 3, 3, 7, 4, 2, 8, 10]) + b"\0" * 8 + b"\0\0"
DNS_QUERY = bytes.fromhex("123401000001000000000000") + b"\x03zts\x04test\x00\x00\x01\x00\x01"
SOLICITED = "ff02::1:ff00:1"

frames = {
    "arp-request": eth(BCAST, 0x0806, struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1,
                                                  PORT_MAC, a4(PEER4), b"\0" * 6, a4(NODE4))),
    "tcp4-syn": eth(NODE_MAC, 0x0800, ipv4(6, tcp(40000, 80, SYN, options=TCP_OPTS))),
    "tcp4-syn-closed-port": eth(NODE_MAC, 0x0800, ipv4(6, tcp(40001, 81, SYN))),
    "tcp4-ack-data": eth(NODE_MAC, 0x0800, ipv4(6, tcp(40000, 80, ACK | PSH, 1001, 1, b"hello"))),
    "tcp4-fin": eth(NODE_MAC, 0x0800, ipv4(6, tcp(40000, 80, ACK | FIN, 1001, 1))),
    "tcp4-rst": eth(NODE_MAC, 0x0800, ipv4(6, tcp(40000, 80, RST, 1001))),
    "udp4-dns": eth(NODE_MAC, 0x0800, ipv4(17, udp(5353, 53, DNS_QUERY))),
    "icmp4-echo": eth(NODE_MAC, 0x0800, ipv4(1, icmp(8, 0, struct.pack("!HH", 7, 1) + b"ping" * 8))),
    "ipv4-options": eth(NODE_MAC, 0x0800, ipv4(17, udp(1, 53, b"x"), options=b"\x01\x01\x01\x00")),
    "ipv4-first-fragment": eth(NODE_MAC, 0x0800, ipv4(17, udp(7, 53, b"A" * 64)[:40], frag=0x2000, ident=9)),
    "ipv4-last-fragment": eth(NODE_MAC, 0x0800, ipv4(17, b"A" * 32, frag=5, ident=9)),
    "ipv6-neighbour-solicit": eth(bytes.fromhex("3333ff000001"), 0x86DD, ipv6(58, icmp6(
        135, 0, b"\0" * 4 + a6(NODE6) + bytes([1, 1]) + PORT_MAC, dst=SOLICITED), dst=SOLICITED)),
    "ipv6-echo": eth(NODE_MAC, 0x86DD, ipv6(58, icmp6(128, 0, struct.pack("!HH", 3, 1) + b"ping"))),
    "tcp6-syn": eth(NODE_MAC, 0x86DD, ipv6(6, tcp(40002, 80, SYN, options=TCP_OPTS, v6=True))),
    "udp6-dns": eth(NODE_MAC, 0x86DD, ipv6(17, udp(5353, 53, DNS_QUERY, v6=True))),
    "ipv6-fragment-header": eth(NODE_MAC, 0x86DD, ipv6(44, struct.pack("!BBHI", 17, 0, 1, 77) + b"B" * 24)),
}

VXLAN = bytes([0x08, 0, 0, 0, 0, 0, 42, 0])
vxlan = {f"peer-{k}": b"\x01" + VXLAN + v for k, v in list(frames.items())[:6]}
vxlan["stranger-arp"] = b"\x00" + VXLAN + frames["arp-request"]
vxlan["truncated-header"] = b"\x01" + VXLAN[:5]
vxlan["wrong-vni"] = b"\x01" + bytes([0x08, 0, 0, 0, 0, 0, 7, 0]) + frames["tcp4-syn"]

uris = {
    "mem": "mem:lan", "mem-mtu": "mem:lan?mtu=9000",
    "mem-impaired": "mem:x?loss=0.01&dup=0.01&reorder=0.05&corrupt=0.001&delay_ms=5&jitter_ms=2&seed=3",
    "vxlan": "vxlan://127.0.0.1:4789?vni=42&peer=127.0.0.2:4789&learn=1",
    "vxlan6": "vxlan://[::1]:0?vni=7&peer=[::1]:4790", "tap": "tap:zts0?mtu=1500",
    "pcap": "mem:a?pcap=/tmp/x.pcap",
}
cidrs = {"v4": "10.0.0.1/24", "v6": "fd00::1/64", "v4-host": "192.168.1.1/32",
         "v6-full": "2001:db8::1/128", "zero": "0.0.0.0/0", "dhcp": "dhcp"}


def sockaddr_in(ip, port):
    return struct.pack("<H", 2) + struct.pack("!H4s8x", port, a4(ip))


def sockaddr_in6(ip, port):
    return struct.pack("<H", 10) + struct.pack("!HI16sI", port, 0, a6(ip), 0)


sockaddrs = {}
for op, name in enumerate(["bind", "connect", "sendto", "getsockname"]):
    sockaddrs[f"{name}-v4"] = bytes([op, 0, 16]) + sockaddr_in(NODE4, 7000 + op)
    sockaddrs[f"{name}-v6"] = bytes([op, 1, 28]) + sockaddr_in6(NODE6, 7000 + op)
    sockaddrs[f"{name}-tcp-v4"] = bytes([op | 0x80, 0, 16]) + sockaddr_in(PEER4, 80)
sockaddrs["short"] = bytes([0, 0, 4]) + sockaddr_in(NODE4, 1)
sockaddrs["null"] = bytes([0x41, 0, 16]) + sockaddr_in(NODE4, 1)


def opt(kind, level, name, out_len, value):
    return bytes([kind, level, name, out_len]) + value


I = lambda v: struct.pack("<i", v)
sockopts = {
    "rcvbuf": opt(0, 0, 8, 4, I(1 << 20)), "sndbuf": opt(2, 0, 7, 4, I(4096)),
    "reuseaddr": opt(0, 0, 2, 4, I(1)), "linger": opt(0, 0, 13, 8, I(1) + I(0)),
    "rcvtimeo": opt(2, 0, 20, 16, struct.pack("<qq", 1, 500000)),
    "nodelay": opt(0, 1, 1, 4, I(1)), "keepidle": opt(1, 1, 4, 4, I(30)),
    "maxseg": opt(0, 1, 2, 4, I(1200)), "ttl": opt(2, 2, 2, 4, I(9)),
    "tos": opt(2, 2, 1, 1, b"\x10"), "add-membership": opt(2, 2, 35, 8, a4("239.1.2.3") + a4(NODE4)),
    "v6only": opt(3, 3, 26, 4, I(1)), "join-group": opt(3, 3, 20, 20, a6("ff15::9") + I(0)),
    "hops": opt(3, 3, 16, 4, I(3)), "broadcast": opt(2, 0, 6, 4, I(1)),
}

for target, seeds in [("frame", frames), ("vxlan", vxlan), ("uri", uris), ("cidr", cidrs),
                      ("sockaddr", sockaddrs), ("sockopt", sockopts)]:
    d = os.path.join("corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
