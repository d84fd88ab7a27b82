//! A connection's buffers grow with what its path needs (stack/tune.rs):
//! over 10 ms each way, one flow's receive and send buffers grow past the
//! 512 KiB they start at, every byte arrives intact, and once the flow is
//! idle its buffers' pages go back to the kernel. A size the app set with
//! SO_RCVBUF / SO_SNDBUF before connecting stays, as on Linux; the node's
//! maximum bounds the growth. A reader that asks for more per read than
//! half its buffer gets one of twice that, once a read finds enough
//! waiting: no more than four times what a read found.

mod common;

use common::api::*;
use common::rss_bytes;
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};
use zts::ffi::node::{zts_node_free, zts_node_set_tcp_buffer_max};
use zts::ffi::socket::zts_close;

const START: usize = 512 * 1024;

/// Two nodes on a segment delaying `delay_ms` each way; (server, client).
fn pair(name: &str, n: u8, delay_ms: u32) -> (i32, i32, SocketAddr) {
    let segment = format!("{name}?delay_ms={delay_ms}");
    let s = node(&segment, &[&format!("10.9.{n}.1/24")]);
    let c = node(&segment, &[&format!("10.9.{n}.2/24")]);
    (s, c, format!("10.9.{n}.1:80").parse().unwrap())
}

/// Sends `len` patterned bytes from a new connection of `client` to a
/// listener `lfd`; returns (accepted fd, client fd) after checking every
/// byte, both still open.
fn transfer(
    lfd: i32,
    client: i32,
    to: SocketAddr,
    len: usize,
    client_opts: &[(i32, i32)],
) -> (i32, i32) {
    let fd = tcp(client, libc::AF_INET);
    for &(name, v) in client_opts {
        ok(set_int(fd, libc::SOL_SOCKET, name, v));
    }
    ok(connect(fd, to));
    let (afd, _) = accept(lfd);
    let data = pattern(len, 7);
    let sender = thread::spawn(move || {
        write_all(fd, &data);
        fd
    });
    let got = read_exact(afd, len);
    let fd = sender.join().unwrap();
    assert!(got == pattern(len, 7), "bytes arrived changed");
    (afd, fd)
}

#[test]
fn buffers_grow_on_a_long_path_and_idle_ones_give_their_pages_back() {
    let (s, c, to) = pair("tune-grow", 71, 10);
    let lfd = listener(s, to, 4);
    let (afd, fd) = transfer(lfd, c, to, 48 << 20, &[]);
    let rcvbuf = get_int(afd, libc::SOL_SOCKET, libc::SO_RCVBUF) as usize;
    let sndbuf = get_int(fd, libc::SOL_SOCKET, libc::SO_SNDBUF) as usize;
    println!("after 48 MiB over 20 ms: receive buffer {rcvbuf}, send buffer {sndbuf}");
    assert!(rcvbuf > START, "the receive buffer stayed at {rcvbuf}");
    assert!(sndbuf > START, "the send buffer stayed at {sndbuf}");
    assert!(rcvbuf <= 16 << 20 && sndbuf <= 16 << 20);

    // Both connections stay open and idle: their grown buffers' pages go
    // back within a few idle periods (one second each).
    let before = rss_bytes();
    let want = ((rcvbuf + sndbuf) / 2) as u64;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut given = 0;
    while Instant::now() < deadline {
        given = before.saturating_sub(rss_bytes());
        if given >= want {
            break;
        }
        thread::sleep(Duration::from_millis(50));
    }
    println!(
        "idle: {} KiB given back of {} KiB",
        given >> 10,
        (rcvbuf + sndbuf) >> 10
    );
    assert!(
        given >= want,
        "only {given} bytes given back, wanted {want}"
    );

    // The connection still works after its pages went.
    write_all(fd, b"again");
    assert_eq!(read_exact(afd, 5), b"again");
    for fd in [afd, fd, lfd] {
        ok(zts_close(fd));
    }
    ok(zts_node_free(s));
    ok(zts_node_free(c));
}

#[test]
fn a_size_the_app_set_stays_and_the_node_bounds_growth() {
    let (s, c, to) = pair("tune-fixed", 72, 5);
    // Accepted connections take the listener's SO_RCVBUF.
    let lfd = tcp(s, libc::AF_INET);
    ok(set_int(lfd, libc::SOL_SOCKET, libc::SO_RCVBUF, 128 * 1024));
    ok(bind(lfd, to));
    ok(zts::ffi::socket::zts_listen(lfd, 4));
    let (afd, fd) = transfer(lfd, c, to, 8 << 20, &[(libc::SO_SNDBUF, 96 * 1024)]);
    assert_eq!(get_int(afd, libc::SOL_SOCKET, libc::SO_RCVBUF), 128 * 1024);
    assert_eq!(get_int(fd, libc::SOL_SOCKET, libc::SO_SNDBUF), 96 * 1024);
    for fd in [afd, fd] {
        ok(zts_close(fd));
    }

    // A node maximum of 1 MiB: growth stops there.
    ok(zts_node_set_tcp_buffer_max(s, 1 << 20));
    ok(zts_node_set_tcp_buffer_max(c, 1 << 20));
    let to2: SocketAddr = "10.9.72.1:81".parse().unwrap();
    let l2 = listener(s, to2, 4);
    let (afd, fd) = transfer(l2, c, to2, 16 << 20, &[]);
    let rcvbuf = get_int(afd, libc::SOL_SOCKET, libc::SO_RCVBUF) as usize;
    let sndbuf = get_int(fd, libc::SOL_SOCKET, libc::SO_SNDBUF) as usize;
    assert!(rcvbuf <= 1 << 20 && sndbuf <= 1 << 20, "{rcvbuf} {sndbuf}");
    expect_err(zts_node_set_tcp_buffer_max(s, 1024) as isize, libc::EINVAL);
    expect_err(
        zts_node_set_tcp_buffer_max(s, 64 << 20) as isize,
        libc::EINVAL,
    );
    expect_err(
        zts_node_set_tcp_buffer_max(9999, 1 << 20) as isize,
        libc::ENODEV,
    );
    for fd in [afd, fd, lfd, l2] {
        ok(zts_close(fd));
    }
    ok(zts_node_free(s));
    ok(zts_node_free(c));
}

#[test]
fn a_reader_asking_for_large_reads_gets_a_buffer_of_two() {
    let s = node("tune-reads", &["10.9.73.1/24"]);
    let c = node("tune-reads", &["10.9.73.2/24"]);
    let to: SocketAddr = "10.9.73.1:80".parse().unwrap();
    let lfd = listener(s, to, 4);
    let fd = tcp(c, libc::AF_INET);
    ok(connect(fd, to));
    let (afd, _) = accept(lfd);
    let rcvbuf = || get_int(afd, libc::SOL_SOCKET, libc::SO_RCVBUF) as usize;
    let data = pattern(512 << 10, 9);
    let mut got = Vec::new();
    // (read size, the buffer after it): 256 KiB waits each time, and a
    // read of 2 MiB finds it (its buffer's worth would be 4 MiB).
    for (i, (asked, after)) in [(64 << 10, START), (2 << 20, 1 << 20)]
        .into_iter()
        .enumerate()
    {
        let chunk = &data[i * (256 << 10)..(i + 1) * (256 << 10)];
        write_all(fd, chunk);
        for n in [c, s] {
            zts::testing::settle(n).unwrap();
        }
        let mut buf = vec![0u8; asked];
        let n = read(afd, &mut buf);
        assert!(n > 0, "read: {}", errno());
        got.extend_from_slice(&buf[..n as usize]);
        assert_eq!(rcvbuf(), after, "after a read of up to {asked}");
        got.extend(read_exact(afd, (i + 1) * (256 << 10) - got.len()));
    }
    assert!(got == data, "bytes arrived changed");
    for fd in [afd, fd, lfd] {
        ok(zts_close(fd));
    }
    ok(zts_node_free(s));
    ok(zts_node_free(c));
}
