//! UDP, ping and raw sockets through the exported C functions.

mod common;

use common::api::*;
use std::net::SocketAddr;
use zts::ffi::io::*;
use zts::ffi::node::*;
use zts::ffi::socket::*;

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn udp_over_ipv6_keeps_boundaries_and_reports_truncation() {
    let a = node("udp-v6", &["fd00:a::1/64"]);
    let b = node("udp-v6", &["fd00:a::2/64"]);
    let server = udp(a, libc::AF_INET6);
    ok(bind(server, sa("[fd00:a::1]:5353")));
    let client = udp(b, libc::AF_INET6);
    set_timeout(server, libc::SO_RCVTIMEO, 5000);
    set_timeout(client, libc::SO_RCVTIMEO, 5000);
    for len in [1usize, 100, 1200] {
        assert_eq!(
            sendto(client, &pattern(len, len as u64), sa("[fd00:a::1]:5353")),
            len as isize
        );
    }
    let mut buf = vec![0u8; 2000];
    let mut from = None;
    for len in [1usize, 100, 1200] {
        let (n, f) = recvfrom(server, &mut buf, 0);
        assert_eq!(n, len as isize, "one datagram per recv");
        assert!(buf[..len] == pattern(len, len as u64)[..]);
        from = f;
    }
    let from = from.unwrap();
    assert_eq!(from.ip(), sa("[fd00:a::2]:0").ip());
    // Echo back a datagram bigger than the reader's buffer.
    assert_eq!(sendto(server, &pattern(500, 9), from), 500);
    let mut small = [0u8; 64];
    let (n, _) = recvfrom(client, &mut small, libc::MSG_PEEK | libc::MSG_TRUNC);
    assert_eq!(n, 500, "MSG_TRUNC reports the whole length");
    let mut iov = libc::iovec {
        iov_base: small.as_mut_ptr() as *mut _,
        iov_len: small.len(),
    };
    // SAFETY: msghdr is plain old data.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    // SAFETY: msg and its iovec are valid for the call.
    let n = unsafe { zts_recvmsg(client, &mut msg, 0) };
    assert_eq!(n, 64);
    assert_eq!(msg.msg_flags & libc::MSG_TRUNC, libc::MSG_TRUNC);
    assert!(small[..] == pattern(500, 9)[..64]);
    // The rest of the datagram is gone.
    expect_err(
        recvfrom(client, &mut buf, libc::MSG_DONTWAIT).0,
        libc::EAGAIN,
    );
    for fd in [server, client] {
        ok(zts_close(fd));
    }
    ok(zts_node_free(a));
    ok(zts_node_free(b));
}

#[test]
fn largest_ipv4_datagram_crosses_a_1500_mtu_in_fragments() {
    let a = node("udp-frag", &["10.20.0.1/24"]);
    let b = node("udp-frag", &["10.20.0.2/24"]);
    let rx = udp(a, libc::AF_INET);
    ok(bind(rx, sa("0.0.0.0:9000")));
    set_timeout(rx, libc::SO_RCVTIMEO, 5000);
    let tx = udp(b, libc::AF_INET);
    let big = pattern(65507, 5);
    assert_eq!(sendto(tx, &big, sa("10.20.0.1:9000")), 65507);
    expect_err(
        sendto(tx, &pattern(65508, 5), sa("10.20.0.1:9000")),
        libc::EMSGSIZE,
    );
    let mut buf = vec![0u8; 70000];
    let (n, from) = recvfrom(rx, &mut buf, 0);
    assert_eq!(n, 65507);
    assert!(buf[..65507] == big[..]);
    assert_eq!(from.unwrap().ip(), sa("10.20.0.2:0").ip());
    for fd in [rx, tx] {
        ok(zts_close(fd));
    }
    ok(zts_node_free(a));
    ok(zts_node_free(b));
}

#[test]
fn connected_udp_hears_only_its_peer() {
    let a = node("udp-conn", &["10.21.0.1/24"]);
    let b = node("udp-conn", &["10.21.0.2/24"]);
    let c = node("udp-conn", &["10.21.0.3/24"]);
    let rx = udp(a, libc::AF_INET);
    ok(bind(rx, sa("10.21.0.1:7000")));
    set_timeout(rx, libc::SO_RCVTIMEO, 5000);
    let peer = udp(b, libc::AF_INET);
    ok(bind(peer, sa("10.21.0.2:7001")));
    let stranger = udp(c, libc::AF_INET);
    ok(connect(rx, sa("10.21.0.2:7001")));
    assert_eq!(sendto(stranger, b"stranger", sa("10.21.0.1:7000")), 8);
    assert_eq!(sendto(peer, b"peer", sa("10.21.0.1:7000")), 4);
    let mut buf = [0u8; 32];
    assert_eq!(read(rx, &mut buf), 4);
    assert_eq!(&buf[..4], b"peer");
    // send on the connected socket goes to the peer.
    set_timeout(peer, libc::SO_RCVTIMEO, 5000);
    write_all(rx, b"back");
    assert_eq!(read(peer, &mut buf), 4);
    // An unconnected socket needs a destination.
    let lonely = udp(c, libc::AF_INET);
    // SAFETY: buf is valid for the call.
    expect_err(
        unsafe { zts_send(lonely, buf.as_ptr() as *const _, 1, 0) },
        libc::EDESTADDRREQ,
    );
    for fd in [rx, peer, stranger, lonely] {
        ok(zts_close(fd));
    }
    for n in [a, b, c] {
        ok(zts_node_free(n));
    }
}

#[test]
fn broadcast_needs_so_broadcast_and_reaches_every_node() {
    let a = node("udp-bcast", &["10.22.0.1/24"]);
    let b = node("udp-bcast", &["10.22.0.2/24"]);
    let c = node("udp-bcast", &["10.22.0.3/24"]);
    let rxs: Vec<i32> = [b, c]
        .iter()
        .map(|&n| {
            let fd = udp(n, libc::AF_INET);
            ok(bind(fd, sa("0.0.0.0:6000")));
            set_timeout(fd, libc::SO_RCVTIMEO, 5000);
            fd
        })
        .collect();
    let tx = udp(a, libc::AF_INET);
    for dst in ["255.255.255.255:6000", "10.22.0.255:6000"] {
        expect_err(sendto(tx, b"hi", sa(dst)), libc::EACCES);
    }
    ok(set_int(tx, libc::SOL_SOCKET, libc::SO_BROADCAST, 1));
    assert_eq!(get_int(tx, libc::SOL_SOCKET, libc::SO_BROADCAST), 1);
    assert_eq!(sendto(tx, b"hello all", sa("10.22.0.255:6000")), 9);
    for &fd in &rxs {
        let mut buf = [0u8; 32];
        let (n, from) = recvfrom(fd, &mut buf, 0);
        assert_eq!(n, 9);
        assert_eq!(from.unwrap().ip(), sa("10.22.0.1:0").ip());
    }
    for fd in rxs.into_iter().chain([tx]) {
        ok(zts_close(fd));
    }
    for n in [a, b, c] {
        ok(zts_node_free(n));
    }
}

fn echo_request(seq: u16, payload: &[u8], v6: bool) -> Vec<u8> {
    let mut m = vec![if v6 { 128 } else { 8 }, 0, 0, 0, 0, 0];
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(payload);
    m
}

#[test]
fn ping_sockets_get_echo_replies_from_another_node() {
    for (seg, a_ip, b_ip, domain, proto) in [
        (
            "ping-v4",
            "10.23.0.1/24",
            "10.23.0.2/24",
            libc::AF_INET,
            libc::IPPROTO_ICMP,
        ),
        (
            "ping-v6",
            "fd00:23::1/64",
            "fd00:23::2/64",
            libc::AF_INET6,
            libc::IPPROTO_ICMPV6,
        ),
    ] {
        let v6 = domain == libc::AF_INET6;
        let a = node(seg, &[a_ip]);
        let b = node(seg, &[b_ip]);
        let fd = ok(zts_node_socket(a, domain, libc::SOCK_DGRAM, proto));
        set_timeout(fd, libc::SO_RCVTIMEO, 5000);
        let target: SocketAddr =
            SocketAddr::new(b_ip.split('/').next().unwrap().parse().unwrap(), 0);
        for seq in 1..=3u16 {
            let req = echo_request(seq, b"zts ping", v6);
            assert_eq!(sendto(fd, &req, target), req.len() as isize);
            let mut buf = [0u8; 128];
            let (n, from) = recvfrom(fd, &mut buf, 0);
            assert_eq!(n, req.len() as isize);
            assert_eq!(from.unwrap().ip(), target.ip());
            assert_eq!(buf[0], if v6 { 129 } else { 0 }, "an echo reply");
            assert_eq!(u16::from_be_bytes([buf[6], buf[7]]), seq);
            assert_eq!(&buf[8..n as usize], b"zts ping");
        }
        expect_err(sendto(fd, &[1, 2, 3], target), libc::EINVAL);
        ok(zts_close(fd));
        ok(zts_node_free(a));
        ok(zts_node_free(b));
    }
}

#[test]
fn raw_icmp_socket_sees_the_ip_header() {
    let a = node("raw-v4", &["10.24.0.1/24"]);
    let b = node("raw-v4", &["10.24.0.2/24"]);
    let fd = ok(zts_node_socket(
        a,
        libc::AF_INET,
        libc::SOCK_RAW,
        libc::IPPROTO_ICMP,
    ));
    set_timeout(fd, libc::SO_RCVTIMEO, 5000);
    let mut req = echo_request(7, b"raw", false);
    req[4..6].copy_from_slice(&0x4242u16.to_be_bytes());
    let sum = checksum(&req);
    req[2..4].copy_from_slice(&sum.to_be_bytes());
    assert_eq!(sendto(fd, &req, sa("10.24.0.2:0")), req.len() as isize);
    let mut buf = [0u8; 256];
    loop {
        let (n, from) = recvfrom(fd, &mut buf, 0);
        assert!(n >= 20 + 8, "got {n}");
        assert_eq!(buf[0] >> 4, 4, "an IPv4 header first");
        let icmp = &buf[20..n as usize];
        if icmp[0] == 0 {
            assert_eq!(from.unwrap().ip(), sa("10.24.0.2:0").ip());
            assert_eq!(&icmp[4..6], &0x4242u16.to_be_bytes());
            assert_eq!(&icmp[8..], b"raw");
            break;
        }
    }
    ok(zts_close(fd));
    ok(zts_node_free(a));
    ok(zts_node_free(b));
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32)
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn ip_mreq(group: &str) -> libc::ip_mreq {
    let g: std::net::Ipv4Addr = group.parse().unwrap();
    libc::ip_mreq {
        imr_multiaddr: libc::in_addr {
            s_addr: u32::from(g).to_be(),
        },
        imr_interface: libc::in_addr { s_addr: 0 },
    }
}

fn set_struct<T>(fd: i32, level: i32, name: i32, v: &T) -> i32 {
    // SAFETY: v is valid for its size during the call.
    unsafe {
        zts::ffi::options::zts_setsockopt(
            fd,
            level,
            name,
            v as *const T as *const _,
            std::mem::size_of::<T>() as u32,
        )
    }
}

#[test]
fn multicast_members_receive_until_they_leave() {
    let a = node("udp-mcast", &["10.25.0.1/24"]);
    let b = node("udp-mcast", &["10.25.0.2/24"]);
    let c = node("udp-mcast", &["10.25.0.3/24"]);
    let members: Vec<i32> = [b, c]
        .iter()
        .map(|&n| {
            let fd = udp(n, libc::AF_INET);
            ok(bind(fd, sa("0.0.0.0:7100")));
            set_timeout(fd, libc::SO_RCVTIMEO, 5000);
            ok(set_struct(
                fd,
                libc::IPPROTO_IP,
                libc::IP_ADD_MEMBERSHIP,
                &ip_mreq("239.1.2.3"),
            ));
            fd
        })
        .collect();
    expect_err(
        set_struct(
            members[0],
            libc::IPPROTO_IP,
            libc::IP_ADD_MEMBERSHIP,
            &ip_mreq("239.1.2.3"),
        ) as isize,
        libc::EADDRINUSE,
    );
    expect_err(
        set_struct(
            members[0],
            libc::IPPROTO_IP,
            libc::IP_ADD_MEMBERSHIP,
            &ip_mreq("10.25.0.9"),
        ) as isize,
        libc::EINVAL,
    );
    let tx = udp(a, libc::AF_INET);
    assert_eq!(sendto(tx, b"to the group", sa("239.1.2.3:7100")), 12);
    let mut buf = [0u8; 64];
    for &fd in &members {
        let (n, from) = recvfrom(fd, &mut buf, 0);
        assert_eq!(&buf[..n as usize], b"to the group");
        assert_eq!(from.unwrap().ip(), sa("10.25.0.1:0").ip());
    }
    ok(set_struct(
        members[1],
        libc::IPPROTO_IP,
        libc::IP_DROP_MEMBERSHIP,
        &ip_mreq("239.1.2.3"),
    ));
    assert_eq!(sendto(tx, b"members only", sa("239.1.2.3:7100")), 12);
    // Sent after the group datagram on the same path: arrives after it.
    assert_eq!(sendto(tx, b"marker", sa("10.25.0.3:7100")), 6);
    let (n, _) = recvfrom(members[0], &mut buf, 0);
    assert_eq!(&buf[..n as usize], b"members only");
    let (n, _) = recvfrom(members[1], &mut buf, 0);
    assert_eq!(
        &buf[..n as usize],
        b"marker",
        "a socket that left hears nothing more"
    );
    for fd in members.into_iter().chain([tx]) {
        ok(zts_close(fd));
    }
    for n in [a, b, c] {
        ok(zts_node_free(n));
    }
}

#[test]
fn datagrams_sent_just_before_close_still_leave() {
    let a = node("udp-close", &["10.26.0.1/24"]);
    let b = node("udp-close", &["10.26.0.2/24"]);
    let rx = udp(a, libc::AF_INET);
    ok(bind(rx, sa("10.26.0.1:7200")));
    set_timeout(rx, libc::SO_RCVTIMEO, 5000);
    for i in 0..20u8 {
        let tx = udp(b, libc::AF_INET);
        assert_eq!(sendto(tx, &[i], sa("10.26.0.1:7200")), 1);
        ok(zts_close(tx));
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 4];
    for _ in 0..20 {
        let (n, _) = recvfrom(rx, &mut buf, 0);
        assert_eq!(n, 1, "all 20 datagrams arrive");
        got.push(buf[0]);
    }
    got.sort_unstable();
    assert_eq!(got, (0..20).collect::<Vec<u8>>());
    ok(zts_close(rx));
    ok(zts_node_free(a));
    ok(zts_node_free(b));
}
