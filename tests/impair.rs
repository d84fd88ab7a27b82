//! The impairment matrix: TCP and UDP through an impaired in-process
//! network. Every TCP byte arrives intact and every connection ends
//! cleanly; every UDP datagram delivered is one that was sent, unaltered.
//! Goodput is printed (run with --nocapture), never judged.

mod common;

use common::api::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Instant;
use zts::ffi::node::*;
use zts::ffi::socket::*;

const CONNS: usize = 16;
const PER_CONN: usize = 8 << 20;
static NEXT_SUBNET: AtomicUsize = AtomicUsize::new(1);

/// Two nodes on one segment, both directions impaired as `query` says.
fn pair(row: &str, query: &str) -> (i32, i32, String) {
    let net = NEXT_SUBNET.fetch_add(1, Ordering::Relaxed);
    let seg = format!("impair-{row}?{query}");
    let a = node(&seg, &[&format!("10.81.{net}.1/24")]);
    let b = node(&seg, &[&format!("10.81.{net}.2/24")]);
    (a, b, format!("10.81.{net}.1"))
}

/// 16 connections from b to a, each moving 8 MiB of its own pattern; a
/// echoes nothing but checks every byte, then both ends close cleanly.
fn tcp_row(row: &str, query: &str) {
    let (a, b, ip) = pair(row, query);
    let at: std::net::SocketAddr = format!("{ip}:5000").parse().unwrap();
    let l = listener(a, at, CONNS as i32);
    let start = Instant::now();
    let senders: Vec<_> = (0..CONNS)
        .map(|i| {
            thread::spawn(move || {
                let c = tcp(b, libc::AF_INET);
                ok(connect(c, at));
                // The first 8 bytes say which pattern follows.
                write_all(c, &(i as u64).to_be_bytes());
                write_all(c, &pattern(PER_CONN, i as u64));
                ok(zts_shutdown(c, libc::SHUT_WR));
                // The receiver's close: every byte was acknowledged.
                let mut one = [0u8; 1];
                assert_eq!(read(c, &mut one), 0, "connection {i} did not end cleanly");
                ok(zts_close(c));
            })
        })
        .collect();
    let receivers: Vec<_> = (0..CONNS)
        .map(|_| {
            let (s, _) = accept(l);
            thread::spawn(move || {
                let got = read_to_end(s);
                ok(zts_close(s));
                got
            })
        })
        .collect();
    let mut seen = [false; CONNS];
    for r in receivers {
        let got = r.join().unwrap();
        assert_eq!(got.len(), 8 + PER_CONN, "{row}: bytes lost or added");
        let i = u64::from_be_bytes(got[..8].try_into().unwrap()) as usize;
        assert!(i < CONNS && !seen[i], "{row}: header corrupted");
        seen[i] = true;
        assert!(
            got[8..] == pattern(PER_CONN, i as u64)[..],
            "{row}: data corrupted"
        );
    }
    for s in senders {
        s.join().unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "tcp {row} ({query}): {CONNS} x {} MiB in {secs:.1} s, goodput {:.1} Mbit/s",
        PER_CONN >> 20,
        (CONNS * PER_CONN) as f64 * 8.0 / secs / 1e6
    );
    ok(zts_close(l));
    ok(zts_node_free(a));
    ok(zts_node_free(b));
}

/// Datagrams carry (sequence, length) and a payload derived from both, so
/// the receiver can tell a sent datagram from anything else.
fn datagram(seq: u32) -> Vec<u8> {
    let len = 8 + (seq as usize * 7919) % 1200;
    let mut d = pattern(len, seq as u64);
    d[..4].copy_from_slice(&seq.to_be_bytes());
    d[4..8].copy_from_slice(&(len as u32).to_be_bytes());
    d
}

fn udp_row(row: &str, query: &str) {
    const COUNT: u32 = 20_000;
    let (a, b, ip) = pair(&format!("{row}-udp"), query);
    let at: std::net::SocketAddr = format!("{ip}:6000").parse().unwrap();
    let r = udp(a, libc::AF_INET);
    ok(bind(r, at));
    set_int(r, libc::SOL_SOCKET, libc::SO_RCVBUF, 8 << 20);
    set_timeout(r, libc::SO_RCVTIMEO, 1000);
    let s = udp(b, libc::AF_INET);
    let sender = thread::spawn(move || {
        for seq in 0..COUNT {
            let d = datagram(seq);
            // Blocking: a full send buffer waits, it does not drop.
            assert_eq!(sendto(s, &d, at), d.len() as isize, "sendto failed");
        }
        ok(zts_close(s));
    });
    let start = Instant::now();
    let (mut delivered, mut dups) = (0u32, 0u32);
    let mut seen = vec![false; COUNT as usize];
    let mut buf = vec![0u8; 2048];
    loop {
        let (n, _) = recvfrom(r, &mut buf, 0);
        if n < 0 {
            assert_eq!(errno(), libc::EAGAIN, "recvfrom failed");
            break; // a second of silence: the sender is done
        }
        let n = n as usize;
        assert!(n >= 8, "{row}: runt datagram delivered");
        let seq = u32::from_be_bytes(buf[..4].try_into().unwrap());
        assert!(seq < COUNT, "{row}: datagram that was never sent");
        assert!(
            buf[..n] == datagram(seq)[..],
            "{row}: corrupted datagram delivered"
        );
        if seen[seq as usize] {
            dups += 1;
        }
        seen[seq as usize] = true;
        delivered += 1;
    }
    sender.join().unwrap();
    let secs = start.elapsed().as_secs_f64() - 1.0;
    println!(
        "udp {row} ({query}): {delivered} of {COUNT} delivered ({dups} duplicates) in {secs:.2} s",
    );
    ok(zts_close(r));
    ok(zts_node_free(a));
    ok(zts_node_free(b));
}

macro_rules! rows {
    ($($name:ident: $query:expr;)*) => {
        mod tcp_matrix {
            $(#[test] fn $name() { super::tcp_row(stringify!($name), $query); })*
        }
        mod udp_matrix {
            $(#[test] fn $name() { super::udp_row(stringify!($name), $query); })*
        }
    };
}

rows! {
    loss_1pct: "loss=0.01&seed=1";
    loss_5pct: "loss=0.05&seed=2";
    reorder_5pct: "reorder=0.05&seed=3";
    dup_1pct: "dup=0.01&seed=4";
    corrupt_0_1pct: "corrupt=0.001&seed=5";
    delay_jitter: "delay_ms=5&jitter_ms=5&seed=6";
    everything: "loss=0.05&reorder=0.05&dup=0.01&corrupt=0.001&delay_ms=5&jitter_ms=5&seed=7";
}
