//! Callers that push the library to its limits: a panic inside a call,
//! the fd table running out, a peer that never reads.

mod common;

use common::api::*;
use common::rss_bytes;
use std::net::SocketAddr;
use zts::ffi::io::*;
use zts::ffi::node::*;
use zts::ffi::options::zts_fcntl;
use zts::ffi::socket::*;

/// RSS is process-wide: the tests that measure it or move it take turns.
static ONE_AT_A_TIME: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

/// A connected pair (client on b, accepted server end on a).
fn pair(a: i32, b: i32, at: SocketAddr) -> (i32, i32) {
    let l = listener(a, at, 1);
    let c = tcp(b, libc::AF_INET);
    ok(connect(c, at));
    let (s, _) = accept(l);
    ok(zts_close(l));
    (c, s)
}

fn echo_once(c: i32, s: i32, seed: u64) {
    let data = pattern(10_000, seed);
    write_all(c, &data);
    let mut got = vec![0u8; data.len()];
    let mut have = 0;
    while have < got.len() {
        let n = read(s, &mut got[have..]);
        assert!(n > 0, "read failed");
        have += n as usize;
    }
    assert!(got == data);
}

#[test]
fn a_panic_inside_a_call_is_eio_and_everything_keeps_working() {
    // Printing the panic's backtrace loads debug info: RSS jumps.
    let _turn = ONE_AT_A_TIME.lock();
    let a = node("robust-panic", &["10.84.0.1/24"]);
    let b = node("robust-panic", &["10.84.0.2/24"]);
    let (c1, s1) = pair(a, b, "10.84.0.1:7001".parse().unwrap());
    let (c2, s2) = pair(a, b, "10.84.0.1:7002".parse().unwrap());
    // The panic strikes in the middle of a send, with the socket's lock held.
    zts::fault::arm("stream_send");
    // SAFETY: the buffer is valid for its length.
    let rc = unsafe { zts_write(c1, b"boom".as_ptr() as *const _, 4) };
    assert_eq!(
        (rc, errno()),
        (-1, libc::EIO),
        "a panic is -1/EIO at the boundary"
    );
    // The same socket and another both still work, the lock was released
    // and the fd is not stuck in a call.
    echo_once(c1, s1, 1);
    echo_once(c2, s2, 2);
    for fd in [c1, s1, c2, s2] {
        ok(zts_close(fd));
    }
    ok(zts_node_free(a));
    ok(zts_node_free(b));
}

#[test]
fn opening_sockets_until_emfile_then_closing_restores_service() {
    let _turn = ONE_AT_A_TIME.lock();
    let a = node("robust-fds", &["10.85.0.1/24"]);
    let b = node("robust-fds", &["10.85.0.2/24"]);
    let mut fds = Vec::new();
    let err = loop {
        let fd = zts_node_socket(b, libc::AF_INET, libc::SOCK_STREAM, 0);
        if fd < 0 {
            break errno();
        }
        fds.push(fd);
    };
    println!("{} sockets open when the table said no", fds.len());
    assert!(
        err == libc::EMFILE || err == libc::ENOBUFS,
        "running out is EMFILE or ENOBUFS, not {err}"
    );
    assert!(fds.len() >= 65_536, "only {} sockets", fds.len());
    for fd in fds.drain(..) {
        ok(zts_close(fd));
    }
    let (c, s) = pair(a, b, "10.85.0.1:7000".parse().unwrap());
    echo_once(c, s, 3);
    ok(zts_close(c));
    ok(zts_close(s));
    ok(zts_node_free(a));
    ok(zts_node_free(b));
}

#[test]
fn a_peer_that_never_reads_bounds_the_sender() {
    let _turn = ONE_AT_A_TIME.lock();
    let a = node("robust-stall", &["10.86.0.1/24"]);
    let b = node("robust-stall", &["10.86.0.2/24"]);
    let (c, s) = pair(a, b, "10.86.0.1:7000".parse().unwrap());
    let before = rss_bytes();
    // Non-blocking: writes stop with EAGAIN once the sender's buffer and
    // the peer's window are full.
    assert_eq!(zts_fcntl(c, libc::F_SETFL, libc::O_NONBLOCK), 0);
    let chunk = vec![7u8; 64 << 10];
    let mut written = 0usize;
    loop {
        // SAFETY: chunk is valid for its length.
        let n = unsafe { zts_write(c, chunk.as_ptr() as *const _, chunk.len()) };
        if n >= 0 {
            written += n as usize;
            continue;
        }
        assert_eq!(errno(), libc::EAGAIN);
        // Full once no room appears for a while (the stack may still be
        // moving bytes into the peer's window).
        let mut p = libc::pollfd {
            fd: c,
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: p is one valid pollfd.
        if unsafe { zts::ffi::poll::zts_poll(&mut p, 1, 300) } == 0 {
            // POLLOUT waits for a third of the buffer free, as on Linux:
            // room short of that may have appeared meanwhile.
            loop {
                // SAFETY: chunk is valid for its length.
                let n = unsafe { zts_write(c, chunk.as_ptr() as *const _, chunk.len()) };
                if n < 0 {
                    break;
                }
                written += n as usize;
            }
            break;
        }
    }
    let sndbuf = get_int(c, libc::SOL_SOCKET, libc::SO_SNDBUF) as usize;
    let rcvbuf = get_int(s, libc::SOL_SOCKET, libc::SO_RCVBUF) as usize;
    println!("a stalled peer took {written} bytes (sndbuf {sndbuf}, peer rcvbuf {rcvbuf})");
    assert!(
        written <= 2 * (sndbuf + rcvbuf),
        "{written} bytes accepted for a peer that never reads"
    );
    // A zero-length write to the full buffer is 0, not EAGAIN.
    // SAFETY: a zero-length write reads nothing.
    let n = unsafe { zts_write(c, chunk.as_ptr() as *const _, 0) };
    assert_eq!(n, 0, "write: {}", errno());
    // Blocking with a send timeout: EAGAIN after the timeout, not forever.
    assert_eq!(zts_fcntl(c, libc::F_SETFL, 0), 0);
    set_timeout(c, libc::SO_SNDTIMEO, 200);
    // SAFETY: chunk is valid for its length.
    let n = unsafe { zts_write(c, chunk.as_ptr() as *const _, chunk.len()) };
    assert_eq!((n, errno()), (-1, libc::EAGAIN));
    let grew = rss_bytes().saturating_sub(before);
    assert!(grew < 32 << 20, "memory grew {} MiB", grew >> 20);
    // The peer reads at last: everything written arrives.
    let mut got = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    while got < written {
        let n = read(s, &mut buf);
        assert!(n > 0);
        assert!(buf[..n as usize].iter().all(|&b| b == 7));
        got += n as usize;
    }
    for fd in [c, s] {
        ok(zts_close(fd));
    }
    ok(zts_node_free(a));
    ok(zts_node_free(b));
}
