//! The watch (zts_watch_*): an app asleep on its OS fd is woken for every
//! socket that becomes ready, however wakes and looks interleave.

mod common;

use common::api::*;
use std::net::SocketAddr;
use std::thread;
use zts::ffi::io::zts_read;
use zts::ffi::node::zts_node_free;
use zts::ffi::options::zts_fcntl;
use zts::ffi::socket::zts_close;
use zts::ffi::watch::*;

const CONNS: usize = 8;
const ROUNDS: usize = 5_000;
const CHUNK: usize = 16;

/// Waits up to 10 s for the watch's OS fd to become readable.
fn wait_readable(wfd: i32) -> bool {
    let mut p = libc::pollfd {
        fd: wfd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: p is one valid pollfd for the call.
    unsafe { libc::poll(&mut p, 1, 10_000) == 1 }
}

/// Clients on other threads make the server's sockets readable tens of
/// thousands of times (request/response) while this thread sleeps on the
/// watch, looks, and echoes: the watch must never go quiet while a request
/// waits. (A wake that landed while a look was emptying the eventfd used
/// to be swallowed for good.)
#[test]
fn watch_never_sleeps_through_a_wake() {
    let srv = node("watch-storm", &["10.61.0.1/24"]);
    let cli = node("watch-storm", &["10.61.0.2/24"]);
    let at: SocketAddr = "10.61.0.1:7000".parse().unwrap();
    let l = listener(srv, at, CONNS as i32);
    let wfd = ok(zts_watch_new());
    let mut readers = Vec::new();
    let mut writers = Vec::new();
    for _ in 0..CONNS {
        let c = tcp(cli, libc::AF_INET);
        ok(connect(c, at));
        ok(set_int(c, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1));
        let (a, _) = accept(l);
        ok(zts_fcntl(a, libc::F_SETFL, libc::O_NONBLOCK));
        ok(zts_watch_add(wfd, a, libc::POLLIN));
        readers.push(a);
        writers.push(thread::spawn(move || {
            let mut back = [0u8; CHUNK];
            for i in 0..ROUNDS {
                let msg = [i as u8; CHUNK];
                write_all(c, &msg);
                let mut have = 0;
                while have < CHUNK {
                    let r = read(c, &mut back[have..]);
                    assert!(r > 0, "echo ended early");
                    have += r as usize;
                }
                assert_eq!(back, msg);
            }
            c
        }));
    }

    let want = CONNS * ROUNDS * CHUNK;
    let mut got = 0;
    let mut looks = 0;
    let mut ready = vec![
        libc::pollfd {
            fd: 0,
            events: 0,
            revents: 0
        };
        CONNS
    ];
    let mut buf = [0u8; 4096];
    while got < want {
        assert!(
            wait_readable(wfd),
            "watch asleep for 10 s with {} of {want} bytes read after {looks} looks",
            got
        );
        // SAFETY: ready holds CONNS pollfds.
        let n = unsafe { zts_watch_ready(wfd, ready.as_mut_ptr(), CONNS as i32) };
        looks += 1;
        for p in &ready[..ok(n) as usize] {
            loop {
                // SAFETY: buf is valid for its length.
                let r = unsafe { zts_read(p.fd, buf.as_mut_ptr() as *mut _, buf.len()) };
                if r <= 0 {
                    assert!(r < 0 && errno() == libc::EAGAIN, "read {r}");
                    break;
                }
                write_all(p.fd, &buf[..r as usize]);
                got += r as usize;
            }
        }
    }
    assert_eq!(got, want);
    println!("{got} bytes through {looks} looks at the watch");
    for w in writers {
        zts_close(w.join().unwrap());
    }
    for a in readers {
        zts_close(a);
    }
    ok(zts_watch_free(wfd));
    zts_close(l);
    zts_node_free(srv);
    zts_node_free(cli);
}
