//! Network counters and the overlay's peer filter, without root.

mod common;

use common::api::*;
use std::ffi::CString;
use std::net::UdpSocket;
use zts::ffi::node::*;
use zts::ffi::socket::*;

fn stats(node: i32, net: i32) -> zts_net_stats {
    // SAFETY: zts_net_stats is plain old data.
    let mut s: zts_net_stats = unsafe { std::mem::zeroed() };
    // SAFETY: s is valid for the call.
    ok(unsafe { zts_net_stats(node, net, &mut s) });
    s
}

/// Checks `f` until it gives a value, at most 10 s; the pause between
/// checks only spares the CPU.
fn eventually<T>(mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "condition not met within 10 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

fn join(node: i32, uri: &str) -> i32 {
    let u = CString::new(uri).unwrap();
    // SAFETY: u is a valid C string.
    unsafe { zts_net_join(node, u.as_ptr()) }
}

#[test]
fn counters_count_frames_bytes_and_impairment_drops() {
    let a = node("wires-count?loss=0.5&seed=3", &["10.90.0.1/24"]);
    let b = node("wires-count", &["10.90.0.2/24"]);
    let rx = udp(b, libc::AF_INET);
    ok(bind(rx, "10.90.0.2:9".parse().unwrap()));
    let tx = udp(a, libc::AF_INET);
    for _ in 0..200 {
        sendto(tx, &[7u8; 100], "10.90.0.2:9".parse().unwrap());
    }
    // The stack sends what the socket queued on its own time: wait
    // (bounded) until all of it went out or was dropped.
    let sa = eventually(|| {
        let s = stats(a, 0);
        (s.tx_frames >= 200).then_some(s)
    });
    assert!(sa.tx_frames >= 200, "{}", sa.tx_frames);
    assert!(sa.tx_bytes >= 200 * 100);
    assert!(
        (50..=150).contains(&sa.drop_impaired),
        "about half of what a sends is lost: {}",
        sa.drop_impaired
    );
    let sb = stats(b, 0);
    assert_eq!(sb.drop_impaired, 0);
    for fd in [rx, tx] {
        ok(zts_close(fd));
    }
    ok(zts_node_free(a));
    ok(zts_node_free(b));
}

#[test]
fn overlay_drops_and_counts_strangers_and_garbage() {
    // The peer: a plain UDP socket on another loopback address.
    let peer = UdpSocket::bind("127.0.0.2:0").unwrap();
    peer.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let peer_uri = format!(
        "vxlan://127.0.0.1:0?vni=5&peer={}",
        peer.local_addr().unwrap()
    );
    let n = ok(zts_node_new());
    let net = ok(join(n, &peer_uri));
    let port = ok(zts_net_get_port(n, net));
    assert!(port > 0);
    let addr = CString::new("10.91.0.1/24").unwrap();
    // SAFETY: addr is a valid C string.
    ok(unsafe { zts_addr_add(n, net, addr.as_ptr()) });
    ok(zts_node_start(n));
    assert_eq!(
        zts_net_get_port(n, net),
        port,
        "the port outlives the start"
    );
    let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut frame = vec![0x08, 0, 0, 0, 0, 0, 5, 0];
    frame.extend_from_slice(&[0xff; 6]);
    frame.extend_from_slice(&[2, 0, 0, 0, 0, 9, 0x08, 0x06]);
    frame.extend_from_slice(&[0; 28]);
    let to = format!("127.0.0.1:{port}");
    stranger.send_to(&frame, &to).unwrap();
    stranger.send_to(&[1, 2, 3], &to).unwrap();
    // From the peer: garbage, then an ARP request for the node's address,
    // which the node answers to the peer. The tap thread takes datagrams
    // in order, so once the answer is back, all before it were counted.
    let mut wrong_vni = frame.clone();
    wrong_vni[6] = 6;
    peer.send_to(&wrong_vni, &to).unwrap();
    // No I flag; a header with a runt frame; a frame past the MTU.
    let mut no_flag = frame.clone();
    no_flag[0] = 0;
    peer.send_to(&no_flag, &to).unwrap();
    peer.send_to(&frame[..8 + 10], &to).unwrap();
    let mut giant = frame.clone();
    giant.resize(8 + 3000, 0);
    peer.send_to(&giant, &to).unwrap();
    let mut arp = vec![0x08, 0, 0, 0, 0, 0, 5, 0];
    arp.extend_from_slice(&[0xff; 6]);
    arp.extend_from_slice(&[2, 0, 0, 0, 0, 9, 0x08, 0x06]);
    arp.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 9, 10, 91, 0, 9]);
    arp.extend_from_slice(&[0, 0, 0, 0, 0, 0, 10, 91, 0, 1]);
    peer.send_to(&arp, &to).unwrap();
    let mut reply = [0u8; 128];
    let (len, _) = peer
        .recv_from(&mut reply)
        .expect("the node answers the peer's ARP");
    assert!(
        len >= 8 + 42 && reply[8 + 12..8 + 14] == [0x08, 0x06],
        "an ARP reply"
    );
    let s = stats(n, net);
    assert_eq!(s.drop_not_peer, 1, "a valid frame from a non-peer");
    assert_eq!(
        s.drop_malformed, 4,
        "a short datagram, a wrong VNI, no I flag, a runt frame"
    );
    assert_eq!(s.drop_oversize, 1, "a frame past the MTU");
    assert_eq!(s.rx_frames, 1, "the ARP request");
    expect_err(join(n, &peer_uri) as isize, libc::EISCONN);
    ok(zts_node_free(n));
    // The port is free again once the node is gone.
    let again = ok(zts_node_new());
    ok(join(
        again,
        &format!("vxlan://127.0.0.1:{port}?vni=5&learn=1"),
    ));
    ok(zts_node_free(again));
}

#[test]
fn a_learning_overlay_serves_two_peers_on_one_address() {
    let server = ok(zts_node_new());
    let net = ok(join(server, "vxlan://127.0.0.1:0?vni=8&learn=1"));
    let port = ok(zts_net_get_port(server, net));
    let addr = CString::new("10.92.0.1/24").unwrap();
    // SAFETY: addr is a valid C string.
    ok(unsafe { zts_addr_add(server, net, addr.as_ptr()) });
    ok(zts_node_start(server));
    let l = listener(server, "10.92.0.1:80".parse().unwrap(), 4);
    let mut clients = Vec::new();
    for i in 2..4 {
        let c = ok(zts_node_new());
        let n = ok(join(
            c,
            &format!("vxlan://127.0.0.1:0?vni=8&peer=127.0.0.1:{port}"),
        ));
        let a = CString::new(format!("10.92.0.{i}/24")).unwrap();
        // SAFETY: a is a valid C string.
        ok(unsafe { zts_addr_add(c, n, a.as_ptr()) });
        ok(zts_node_start(c));
        clients.push(c);
    }
    // Both clients share 127.0.0.1 and differ only by UDP port.
    for &c in &clients {
        let fd = tcp(c, libc::AF_INET);
        set_timeout(fd, libc::SO_SNDTIMEO, 5000);
        ok(connect(fd, "10.92.0.1:80".parse().unwrap()));
        let (s, _) = accept(l);
        write_all(fd, b"hi");
        let mut buf = [0u8; 2];
        assert_eq!(read(s, &mut buf), 2);
        ok(zts_close(fd));
        ok(zts_close(s));
    }
    ok(zts_close(l));
    for n in clients.into_iter().chain([server]) {
        ok(zts_node_free(n));
    }
}
