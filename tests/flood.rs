//! Hostile traffic at a listening node: a SYN flood from spoofed sources
//! and a flood of garbage frames. Memory and the backlog stay bounded, and
//! real clients still connect and move data intact meanwhile.

mod common;

use common::api::*;
use common::{Rng, rss_bytes};
use parking_lot::Mutex;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::*;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use zts::ffi::node::*;
use zts::ffi::options::zts_fcntl;
use zts::ffi::socket::*;
use zts::testing::{MemPort, node_mac, settle};

/// RSS is process-wide: the floods take turns.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
const ATTACKER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0xa7, 0x01];

fn syn_frame(dst_mac: [u8; 6], src: Ipv4Addr, dst: Ipv4Addr, sport: u16, seq: u32) -> Vec<u8> {
    let tcp = TcpRepr {
        src_port: sport,
        dst_port: 80,
        control: TcpControl::Syn,
        seq_number: TcpSeqNumber(seq as i32),
        ack_number: None,
        window_len: 64240,
        window_scale: Some(7),
        max_seg_size: Some(1460),
        sack_permitted: true,
        sack_ranges: [None; 3],
        timestamp: None,
        payload: &[],
    };
    let ip = Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Tcp,
        payload_len: tcp.buffer_len(),
        hop_limit: 64,
    };
    let eth = EthernetRepr {
        src_addr: EthernetAddress(ATTACKER_MAC),
        dst_addr: EthernetAddress(dst_mac),
        ethertype: EthernetProtocol::Ipv4,
    };
    let mut buf = vec![0; eth.buffer_len() + ip.buffer_len() + tcp.buffer_len()];
    let caps = ChecksumCapabilities::default();
    let mut f = EthernetFrame::new_unchecked(&mut buf[..]);
    eth.emit(&mut f);
    let mut p = Ipv4Packet::new_unchecked(f.payload_mut());
    ip.emit(&mut p, &caps);
    let mut t = TcpPacket::new_unchecked(p.payload_mut());
    tcp.emit(&mut t, &src.into(), &dst.into(), &caps);
    buf
}

/// A thread putting frames on a segment until stopped (and at least
/// 100,000), paced to what the node can process: faster than that is a
/// link flood, which overflows any host's receive queue whatever its
/// sockets do.
struct Flood {
    flooding: Arc<AtomicBool>,
    thread: thread::JoinHandle<u64>,
}

impl Flood {
    fn start(
        node: i32,
        segment: &str,
        seed: u64,
        mut frame: impl FnMut(&mut Rng) -> Vec<u8> + Send + 'static,
    ) -> Flood {
        let port = MemPort::attach(segment, ATTACKER_MAC);
        let flooding = Arc::new(AtomicBool::new(true));
        let on = flooding.clone();
        let thread = thread::spawn(move || {
            let mut rng = Rng(seed);
            let mut sent = 0u64;
            while on.load(Ordering::Relaxed) || sent < 100_000 {
                port.send(frame(&mut rng));
                port.take();
                sent += 1;
                if sent.is_multiple_of(256) {
                    settle(node).unwrap();
                }
            }
            sent
        });
        Flood { flooding, thread }
    }

    /// Stops the flood; returns how many frames it sent.
    fn stop(self) -> u64 {
        self.flooding.store(false, Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

/// A server echoing every connection on `at`, and a client loop that
/// connects `rounds` times while `flooding` and checks each echo.
fn echo_server(node: i32, at: SocketAddr, backlog: i32) -> i32 {
    let l = listener(node, at, backlog);
    thread::spawn(move || {
        loop {
            let mut sa: libc::sockaddr_storage = unsafe_zeroed();
            let mut len = std::mem::size_of_val(&sa) as libc::socklen_t;
            // SAFETY: sa and len are valid for the call.
            let s = unsafe { zts_accept(l, &mut sa as *mut _ as *mut _, &mut len) };
            if s < 0 {
                return; // the listener was closed
            }
            thread::spawn(move || {
                let got = read_to_end_or_reset(s);
                write_all(s, &got);
                ok(zts_close(s));
            });
        }
    });
    l
}

fn unsafe_zeroed() -> libc::sockaddr_storage {
    // SAFETY: sockaddr_storage is plain old data.
    unsafe { std::mem::zeroed() }
}

fn read_to_end_or_reset(s: i32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = read(s, &mut buf);
        if n <= 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n as usize]);
    }
}

/// One real client: connect, send `size` bytes, read the echo back.
fn real_client(node: i32, at: SocketAddr, size: usize, seed: u64) {
    let c = tcp(node, libc::AF_INET);
    ok(connect(c, at));
    let data = pattern(size, seed);
    write_all(c, &data);
    ok(zts_shutdown(c, libc::SHUT_WR));
    let got = read_to_end(c);
    assert!(got == data, "echo differs under flood");
    ok(zts_close(c));
}

#[test]
fn syn_flood_leaves_memory_and_backlog_bounded_and_real_clients_in() {
    let _turn = ONE_AT_A_TIME.lock();
    let a = node("flood-syn", &["10.82.0.1/16"]);
    let b = node("flood-syn", &["10.82.0.2/16"]);
    let at: SocketAddr = "10.82.0.1:80".parse().unwrap();
    let l = echo_server(a, at, 16);
    real_client(b, at, 1000, 1); // everything warmed up before measuring
    let before = rss_bytes();
    let mac = node_mac(a, 0).unwrap();
    let flood = Flood::start(a, "flood-syn", 0x5eed, move |rng| {
        let r = rng.next();
        // Spoofed sources on the node's own subnet (it ARPs for them in
        // vain) and beyond it (no route back).
        let src = if r & 1 == 0 {
            Ipv4Addr::new(10, 82, 100 + (r >> 8) as u8 % 100, (r >> 16) as u8 | 1)
        } else {
            Ipv4Addr::new(198, 18, (r >> 8) as u8, (r >> 16) as u8)
        };
        let dst = Ipv4Addr::new(10, 82, 0, 1);
        syn_frame(mac, src, dst, (r >> 24) as u16 | 1024, (r >> 40) as u32)
    });
    for i in 0..50 {
        real_client(b, at, 4096, 100 + i);
    }
    let sent = flood.stop();
    let grew = rss_bytes().saturating_sub(before);
    println!(
        "SYN flood: {sent} spoofed SYNs, 50 real clients served, RSS grew {} KiB",
        grew >> 10
    );
    assert!(
        grew < 64 << 20,
        "memory grew by {} MiB under a SYN flood",
        grew >> 20
    );
    // The flood left nothing in the accept queue: every connection there
    // is a real one, and none is waiting.
    assert_eq!(zts_fcntl(l, libc::F_SETFL, libc::O_NONBLOCK), 0);
    let mut sa = unsafe_zeroed();
    let mut len = std::mem::size_of_val(&sa) as libc::socklen_t;
    // SAFETY: sa and len are valid for the call.
    let rc = unsafe { zts_accept(l, &mut sa as *mut _ as *mut _, &mut len) };
    assert_eq!(
        (rc, errno()),
        (-1, libc::EAGAIN),
        "a spoofed SYN became a connection"
    );
    real_client(b, at, 65536, 7); // and service goes on after it
    ok(zts_close(l));
    ok(zts_node_free(a));
    ok(zts_node_free(b));
}

#[test]
fn garbage_frames_are_dropped_and_the_node_keeps_serving() {
    let _turn = ONE_AT_A_TIME.lock();
    let a = node("flood-junk", &["10.83.0.1/24", "fd00:83::1/64"]);
    let b = node("flood-junk", &["10.83.0.2/24"]);
    let at: SocketAddr = "10.83.0.1:80".parse().unwrap();
    let l = echo_server(a, at, 8);
    real_client(b, at, 1000, 1);
    let before = rss_bytes();
    let mac = node_mac(a, 0).unwrap();
    let template = syn_frame(
        mac,
        Ipv4Addr::new(10, 83, 0, 9),
        Ipv4Addr::new(10, 83, 0, 1),
        999,
        1,
    );
    let flood = Flood::start(a, "flood-junk", 0xbad, move |rng| {
        let r = rng.next();
        let len = (r >> 8) as usize % 1600;
        let mut f: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        match r % 4 {
            // Addressed to the node, any EtherType.
            0 if len >= 14 => f[..6].copy_from_slice(&mac),
            // IPv4 or IPv6 to the node, random after that.
            1 if len > 14 => {
                f[..6].copy_from_slice(&mac);
                f[12..14].copy_from_slice(if r & 16 == 0 { &[8, 0] } else { &[0x86, 0xdd] });
                f[14] = if r & 16 == 0 { 0x45 } else { 0x60 };
            }
            // A well-formed SYN with a few bytes flipped.
            2 => {
                f = template.clone();
                for _ in 0..1 + r % 3 {
                    let at = 14 + rng.next() as usize % (f.len() - 14);
                    f[at] ^= 1 << (rng.next() % 8);
                }
            }
            _ => {}
        }
        f
    });
    for i in 0..20 {
        real_client(b, at, 32 << 10, 200 + i);
    }
    let sent = flood.stop();
    let grew = rss_bytes().saturating_sub(before);
    println!(
        "garbage flood: {sent} frames, 20 real clients served, RSS grew {} KiB",
        grew >> 10
    );
    assert!(
        grew < 64 << 20,
        "memory grew by {} MiB under garbage",
        grew >> 20
    );
    real_client(b, at, 65536, 8);
    ok(zts_close(l));
    ok(zts_node_free(a));
    ok(zts_node_free(b));
}
