//! TCP through the exported C functions over in-process nodes.

mod common;

use common::api::*;
use std::net::SocketAddr;
use std::thread;
use zts::ffi::errno::zts_errno;
use zts::ffi::io::*;
use zts::ffi::node::*;
use zts::ffi::options::zts_fcntl;
use zts::ffi::poll::zts_poll;
use zts::ffi::socket::*;

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn echo_roundtrip(segment: &str, a: &str, b: &str, server: SocketAddr, size: usize) {
    let na = node(segment, &[a]);
    let nb = node(segment, &[b]);
    let l = listener(na, server, 4);
    let data = pattern(size, 7);
    let expect = data.clone();
    let srv = thread::spawn(move || {
        let (c, _) = accept(l);
        let got = read_to_end(c);
        write_all(c, &got);
        ok(zts_close(c));
        got.len()
    });
    let c = tcp(nb, domain_of(&server));
    ok(connect(c, server));
    let local = sockname(c, false);
    assert_eq!(sockname(c, true), server);
    assert_eq!(
        local.ip(),
        b.split('/')
            .next()
            .unwrap()
            .parse::<std::net::IpAddr>()
            .unwrap()
    );
    write_all(c, &data);
    ok(zts_shutdown(c, libc::SHUT_WR));
    let back = read_to_end(c);
    assert_eq!(srv.join().unwrap(), size);
    assert!(back == expect, "echo differs");
    ok(zts_close(c));
    ok(zts_close(l));
    ok(zts_node_free(na));
    ok(zts_node_free(nb));
}

#[test]
fn echo_ipv4() {
    echo_roundtrip(
        "tcp-v4",
        "10.9.0.1/24",
        "10.9.0.2/24",
        sa("10.9.0.1:80"),
        1 << 20,
    );
}

#[test]
fn echo_ipv6() {
    echo_roundtrip(
        "tcp-v6",
        "fd00:9::1/64",
        "fd00:9::2/64",
        sa("[fd00:9::1]:80"),
        1 << 20,
    );
}

#[test]
fn jumbo_and_max_mtu_segments_carry_data() {
    for mtu in [9000, 65535] {
        let seg = format!("tcp-mtu-{mtu}?mtu={mtu}");
        echo_roundtrip(
            &seg,
            "10.9.1.1/24",
            "10.9.1.2/24",
            sa("10.9.1.1:81"),
            4 << 20,
        );
    }
}

/// Large segments are read from the frames they came in (the receiving
/// stack keeps them instead of copying them into its buffer): whatever
/// the read sizes, peeks and MSG_WAITALL, the stream reads back exact, and
/// SHUT_RD drops what is held.
#[test]
fn large_segments_read_back_exactly_through_peeks_and_odd_reads() {
    let seg = "tcp-held?mtu=65535";
    let na = node(seg, &["10.9.16.1/24"]);
    let nb = node(seg, &["10.9.16.2/24"]);
    let l = listener(na, sa("10.9.16.1:82"), 1);
    let data = pattern(12 << 20, 11);
    let sent = data.clone();
    let c = tcp(nb, libc::AF_INET);
    ok(connect(c, sa("10.9.16.1:82")));
    let (s, _) = accept(l);
    let writer = thread::spawn(move || {
        let mut at = 0;
        let mut size = 1000;
        while at < sent.len() {
            let end = (at + size).min(sent.len());
            write_all(c, &sent[at..end]);
            at = end;
            size = size * 7 % 300_000 + 1;
        }
        c
    });
    let (mut at, mut size, mut turn) = (0, 999, 0);
    let mut buf = vec![0u8; 400_000];
    let mut peeked = vec![0u8; 400_000];
    while at < 8 << 20 {
        size = size * 13 % 390_000 + 1;
        turn += 1;
        let want = size.min((8 << 20) - at);
        let (flags, n) = match turn % 3 {
            0 => {
                // A peek shows what the read then takes.
                // SAFETY: peeked is valid for `want` bytes.
                let p = unsafe { zts_recv(s, peeked.as_mut_ptr().cast(), want, libc::MSG_PEEK) };
                assert!(p > 0, "peek: errno {}", errno());
                // SAFETY: buf is valid for `p` bytes.
                let n = unsafe { zts_recv(s, buf.as_mut_ptr().cast(), p as usize, 0) };
                assert_eq!(n, p, "a read after a peek takes what it showed");
                assert!(peeked[..p as usize] == buf[..p as usize], "peek at {at}");
                (0, n)
            }
            1 => {
                // SAFETY: buf is valid for `want` bytes.
                let n = unsafe { zts_recv(s, buf.as_mut_ptr().cast(), want, libc::MSG_WAITALL) };
                assert_eq!(n as usize, want, "MSG_WAITALL at {at}");
                (libc::MSG_WAITALL, n)
            }
            _ => (0, read(s, &mut buf[..want])),
        };
        assert!(n > 0, "read (flags {flags}) at {at}: errno {}", errno());
        let n = n as usize;
        assert!(buf[..n] == data[at..at + n], "bytes at {at}..{}", at + n);
        at += n;
    }
    // The rest is dropped unread, held or not; the writer finishes.
    ok(zts_shutdown(s, libc::SHUT_RD));
    let c = writer.join().unwrap();
    ok(zts_shutdown(c, libc::SHUT_WR));
    assert_eq!(read(s, &mut buf), 0);
    for fd in [c, s, l] {
        ok(zts_close(fd));
    }
    ok(zts_node_free(na));
    ok(zts_node_free(nb));
}

/// Large payloads cross between nodes of one process lent from the
/// sender's buffer (tap/lent.rs): they read back exact after the sender
/// reset and dropped its connection, and while another connection of its
/// node writes (it does not get the buffer the loans read).
#[test]
fn lent_payloads_read_back_after_their_sender_is_gone() {
    let seg = "tcp-lent?mtu=65535";
    let na = node(seg, &["10.9.18.1/24"]);
    let nb = node(seg, &["10.9.18.2/24"]);
    let l = listener(na, sa("10.9.18.1:84"), 2);
    let data = pattern(192 << 10, 12);
    let c = tcp(nb, libc::AF_INET);
    ok(connect(c, sa("10.9.18.1:84")));
    let (s, _) = accept(l);
    write_all(c, &data);
    // Every byte queued at the receiver, none read.
    for _ in 0..10_000 {
        if queued(s) == data.len() {
            break;
        }
        zts::testing::settle(na).unwrap();
    }
    assert_eq!(queued(s), data.len());
    linger_zero(c);
    ok(zts_close(c));
    // The reset went and the connection is gone.
    zts::testing::settle(nb).unwrap();
    // Another connection from the same node writes meanwhile, into the
    // send buffer storage the pool has (a receive buffer of another size
    // leaves it to the send buffer).
    let other = pattern(192 << 10, 14);
    let c2 = tcp(nb, libc::AF_INET);
    ok(set_int(c2, libc::SOL_SOCKET, libc::SO_RCVBUF, 64 << 10));
    ok(connect(c2, sa("10.9.18.1:84")));
    let (s2, _) = accept(l);
    write_all(c2, &other);
    let mut got = read_exact(s, data.len());
    assert!(got == data, "the lent bytes read back as sent");
    expect_err(read(s, &mut got), libc::ECONNRESET);
    ok(zts_close(c2));
    assert_eq!(read_to_end(s2), other);
    for fd in [s, s2, l] {
        ok(zts_close(fd));
    }
    ok(zts_node_free(na));
    ok(zts_node_free(nb));
}

/// A round that finds a connection held by an app thread's copy passes
/// it over (stack/backlog.rs): what arrives meanwhile waits, in order,
/// and the connection takes it once let go. Held as a reader, no byte
/// reaches it before then and every byte reads back after; held as a
/// writer, the ACKs and returned loans that free its buffer wait too.
#[test]
fn a_held_connection_takes_what_arrived_once_let_go() {
    let seg = "tcp-held-conn?mtu=65535";
    let na = node(seg, &["10.9.19.1/24"]);
    let nb = node(seg, &["10.9.19.2/24"]);
    let l = listener(na, sa("10.9.19.1:85"), 1);
    // A window of 64 KiB: reading a full one sends its update at once.
    ok(set_int(l, libc::SOL_SOCKET, libc::SO_RCVBUF, 64 << 10));
    let c = tcp(nb, libc::AF_INET);
    ok(set_int(c, libc::SOL_SOCKET, libc::SO_SNDBUF, 64 << 10));
    ok(set_int(c, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1));
    ok(connect(c, sa("10.9.19.1:85")));
    let (s, _) = accept(l);
    let writable = |ms| {
        let mut fd = libc::pollfd {
            fd: c,
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { zts_poll(&mut fd, 1, ms) == 1 }
    };
    let settle = || {
        zts::testing::settle(nb).unwrap();
        zts::testing::settle(na).unwrap();
    };

    // Held as a reader: three lent segments (one per write, no Nagle)
    // wait for it, and arrive in order.
    let data = pattern(48 << 10, 21);
    zts::testing::with_connection_held(s, || {
        for part in data.chunks(16 << 10) {
            write_all(c, part);
        }
        settle();
        assert_eq!(queued(s), 0, "nothing reaches a held connection");
    })
    .unwrap();
    settle();
    assert_eq!(queued(s), data.len(), "all of it once let go");
    assert!(read_exact(s, data.len()) == data);

    // Held as a writer with a full buffer and window: the window update
    // that reading them sends waits for it, and so does its room.
    ok(zts_fcntl(c, libc::F_SETFL, libc::O_NONBLOCK));
    let more = pattern(256 << 10, 23);
    let mut sent = 0;
    loop {
        // SAFETY: the rest of `more` is valid for its length.
        let n = unsafe { zts_write(c, more[sent..].as_ptr().cast(), more.len() - sent) };
        if n < 0 {
            assert_eq!(errno(), libc::EAGAIN);
            break;
        }
        sent += n as usize;
    }
    assert!(sent > 0 && sent < more.len(), "the buffer filled at {sent}");
    settle();
    assert_eq!(queued(s), sent);
    zts::testing::with_connection_held(c, || {
        assert!(read_exact(s, sent) == more[..sent]);
        settle();
        assert!(!writable(0), "a held writer's room waits for it");
    })
    .unwrap();
    assert!(writable(10_000), "room once let go");
    ok(zts_fcntl(c, libc::F_SETFL, 0));
    let rest = &more[sent..sent + (32 << 10)];
    write_all(c, rest);
    assert!(read_exact(s, rest.len()) == rest);
    for fd in [c, s, l] {
        ok(zts_close(fd));
    }
    ok(zts_node_free(na));
    ok(zts_node_free(nb));
}

/// SO_BUSY_POLL: set and read back, refused when negative, inherited by
/// accepted sockets; a polling read still gets its data, a request and
/// its reply still cross, and a read timeout still ends the wait.
#[test]
fn busy_polling_sockets_read_reply_and_time_out_as_others() {
    let n = node("tcp-busy", &["10.9.17.1/24", "10.9.17.2/24"]);
    let l = listener(n, sa("10.9.17.1:83"), 1);
    expect_err(
        set_int(l, libc::SOL_SOCKET, libc::SO_BUSY_POLL, -1) as isize,
        libc::EINVAL,
    );
    ok(set_int(l, libc::SOL_SOCKET, libc::SO_BUSY_POLL, 200));
    assert_eq!(get_int(l, libc::SOL_SOCKET, libc::SO_BUSY_POLL), 200);
    let c = tcp(n, libc::AF_INET);
    ok(set_int(c, libc::SOL_SOCKET, libc::SO_BUSY_POLL, 50));
    ok(connect(c, sa("10.9.17.1:83")));
    let (s, _) = accept(l);
    assert_eq!(get_int(s, libc::SOL_SOCKET, libc::SO_BUSY_POLL), 200);
    let echo = thread::spawn(move || {
        let mut b = [0u8; 64];
        for _ in 0..200 {
            let got = read(s, &mut b);
            assert!(got > 0, "errno {}", errno());
            write_all(s, &b[..got as usize]);
        }
        s
    });
    let mut b = [0u8; 64];
    for i in 0..200u32 {
        write_all(c, &i.to_be_bytes());
        let mut have = 0;
        while have < 4 {
            let got = read(c, &mut b[have..4]);
            assert!(got > 0, "errno {}", errno());
            have += got as usize;
        }
        assert_eq!(b[..4], i.to_be_bytes());
    }
    let s = echo.join().unwrap();
    // Nothing comes: the timeout ends the wait, polling or not.
    set_timeout(c, libc::SO_RCVTIMEO, 30);
    let t = std::time::Instant::now();
    expect_err(read(c, &mut b), libc::EAGAIN);
    assert!(t.elapsed() >= std::time::Duration::from_millis(30));
    for fd in [c, s, l] {
        ok(zts_close(fd));
    }
    ok(zts_node_free(n));
}

#[test]
fn partial_reads_return_what_is_there() {
    let n = node("tcp-partial", &["10.9.2.1/24", "10.9.2.2/24"]);
    let l = listener(n, sa("10.9.2.1:90"), 1);
    let c = tcp(n, libc::AF_INET);
    ok(connect(c, sa("10.9.2.1:90")));
    let (s, peer) = accept(l);
    assert_eq!(peer, sockname(c, false));
    write_all(c, b"ten bytes!");
    let mut buf = [0u8; 100];
    // A zero-length read returns 0 at once, also with bytes queued.
    // SAFETY: buf is valid for 1 byte.
    let peeked = unsafe { zts_recv(s, buf.as_mut_ptr().cast(), 1, libc::MSG_PEEK) };
    assert_eq!(peeked, 1);
    assert_eq!(read(s, &mut buf[..0]), 0);
    let got = read(s, &mut buf);
    assert!((1..=10).contains(&got));
    let mut total = got as usize;
    while total < 10 {
        total += read(s, &mut buf[total..]) as usize;
    }
    assert_eq!(&buf[..10], b"ten bytes!");
    for fd in [c, s, l] {
        ok(zts_close(fd));
    }
    ok(zts_node_free(n));
}

#[test]
fn nonblocking_accept_and_connect_through_poll() {
    let n = node("tcp-nb", &["10.9.3.1/24"]);
    let m = node("tcp-nb", &["10.9.3.2/24"]);
    let l = listener(n, sa("10.9.3.1:91"), 8);
    ok(zts_fcntl(l, libc::F_SETFL, libc::O_NONBLOCK));
    // SAFETY: NULL address with NULL length is allowed.
    expect_err(
        unsafe { zts_accept(l, std::ptr::null_mut(), std::ptr::null_mut()) } as isize,
        libc::EAGAIN,
    );
    let c = ok(zts_node_socket(
        m,
        libc::AF_INET,
        libc::SOCK_STREAM | libc::SOCK_NONBLOCK,
        0,
    ));
    expect_err(connect(c, sa("10.9.3.1:91")) as isize, libc::EINPROGRESS);
    // The calling thread may have finished the handshake on its way out
    // of the first call (the peer is in this process), as loopback does.
    assert_eq!(connect(c, sa("10.9.3.1:91")), -1);
    let again = zts_errno();
    assert!(
        again == libc::EALREADY || again == libc::EISCONN,
        "second connect: errno {again}"
    );
    let mut fds = [
        libc::pollfd {
            fd: c,
            events: libc::POLLOUT,
            revents: 0,
        },
        libc::pollfd {
            fd: l,
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    let mut seen = 0;
    while seen != 3 {
        // SAFETY: fds is valid for its length.
        let r = unsafe { zts_poll(fds.as_mut_ptr(), 2, 10_000) };
        assert!(r > 0, "poll timed out or failed");
        if fds[0].revents & libc::POLLOUT != 0 {
            seen |= 1;
            fds[0].events = 0;
        }
        if fds[1].revents & libc::POLLIN != 0 {
            seen |= 2;
            fds[1].events = 0;
        }
    }
    assert_eq!(get_int(c, libc::SOL_SOCKET, libc::SO_ERROR), 0);
    expect_err(connect(c, sa("10.9.3.1:91")) as isize, libc::EISCONN);
    let (s, _) = accept(l);
    // The accepted socket does not inherit O_NONBLOCK.
    assert_eq!(zts_fcntl(s, libc::F_GETFL, 0) & libc::O_NONBLOCK, 0);
    for fd in [c, s, l] {
        ok(zts_close(fd));
    }
    ok(zts_node_free(n));
    ok(zts_node_free(m));
}

#[test]
fn node_restarts_and_old_sockets_report_enetdown() {
    let a = node("tcp-restart", &["10.9.4.1/24"]);
    let b = node("tcp-restart", &["10.9.4.2/24"]);
    let l = listener(a, sa("10.9.4.1:92"), 4);
    ok(zts_node_stop(a));
    expect_err(zts_listen(l, 4) as isize, libc::ENETDOWN);
    expect_err(zts_node_stop(a) as isize, libc::ENETDOWN);
    ok(zts_node_start(a));
    expect_err(zts_node_start(a) as isize, libc::EALREADY);
    ok(zts_close(l));
    for round in 0..3 {
        let l = listener(a, sa("10.9.4.1:92"), 4);
        let c = tcp(b, libc::AF_INET);
        ok(connect(c, sa("10.9.4.1:92")));
        let (s, _) = accept(l);
        write_all(c, b"x");
        let mut one = [0u8; 1];
        assert_eq!(read(s, &mut one), 1, "round {round}");
        for fd in [c, s, l] {
            ok(zts_close(fd));
        }
    }
    ok(zts_node_free(a));
    ok(zts_node_free(b));
    expect_err(zts_node_start(a) as isize, libc::ENODEV);
}

#[test]
fn several_nodes_all_reach_each_other() {
    let ids: Vec<i32> = (1..=4)
        .map(|i| node("tcp-many", &[&format!("10.9.5.{i}/24")]))
        .collect();
    let ls: Vec<i32> = (1..=4)
        .map(|i| listener(ids[i - 1], sa(&format!("10.9.5.{i}:93")), 8))
        .collect();
    for (i, &from) in ids.iter().enumerate() {
        for j in 1..=4 {
            if j == i + 1 {
                continue;
            }
            let c = tcp(from, libc::AF_INET);
            ok(connect(c, sa(&format!("10.9.5.{j}:93"))));
            let (s, peer) = accept(ls[j - 1]);
            assert_eq!(peer.ip().to_string(), format!("10.9.5.{}", i + 1));
            write_all(c, &[i as u8]);
            let mut b = [0u8; 1];
            assert_eq!(read(s, &mut b), 1);
            assert_eq!(b[0], i as u8);
            ok(zts_close(c));
            ok(zts_close(s));
        }
    }
    for fd in ls {
        ok(zts_close(fd));
    }
    for n in ids {
        ok(zts_node_free(n));
    }
}

#[test]
fn separate_segments_do_not_hear_each_other() {
    let a = node("tcp-iso-a", &["10.9.6.1/24"]);
    let b = node("tcp-iso-b", &["10.9.6.2/24"]);
    let l = listener(a, sa("10.9.6.1:94"), 1);
    let c = tcp(b, libc::AF_INET);
    set_timeout(c, libc::SO_SNDTIMEO, 300);
    expect_err(connect(c, sa("10.9.6.1:94")) as isize, libc::ETIMEDOUT);
    // A failed connect leaves the socket usable for another try.
    expect_err(connect(c, sa("10.9.6.1:94")) as isize, libc::ETIMEDOUT);
    for fd in [c, l] {
        ok(zts_close(fd));
    }
    ok(zts_node_free(a));
    ok(zts_node_free(b));
}

#[test]
fn reuseaddr_shares_a_port_but_not_a_listener() {
    let n = node("tcp-reuse", &["10.9.7.1/24"]);
    let a = tcp(n, libc::AF_INET);
    let b = tcp(n, libc::AF_INET);
    for fd in [a, b] {
        ok(set_int(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1));
        ok(bind(fd, sa("10.9.7.1:95")));
    }
    ok(zts_listen(a, 1));
    expect_err(zts_listen(b, 1) as isize, libc::EADDRINUSE);
    ok(zts_close(a));
    ok(zts_listen(b, 1));
    ok(zts_close(b));
    // Binding an address the node does not have.
    let c = tcp(n, libc::AF_INET);
    expect_err(bind(c, sa("10.9.7.9:95")) as isize, libc::EADDRNOTAVAIL);
    ok(zts_close(c));
    ok(zts_node_free(n));
}

#[test]
fn reset_by_peer_gives_econnreset_then_epipe() {
    let n = node("tcp-rst", &["10.9.8.1/24", "10.9.8.2/24"]);
    let l = listener(n, sa("10.9.8.1:96"), 1);
    let c = tcp(n, libc::AF_INET);
    ok(connect(c, sa("10.9.8.1:96")));
    let (s, _) = accept(l);
    linger_zero(s);
    ok(zts_close(s));
    let mut buf = [0u8; 8];
    expect_err(read(c, &mut buf), libc::ECONNRESET);
    assert_eq!(read(c, &mut buf), 0);
    // SAFETY: buf is valid for its length.
    expect_err(
        unsafe { zts_write(c, buf.as_ptr() as *const _, 8) },
        libc::EPIPE,
    );
    ok(zts_close(c));
    ok(zts_close(l));
    ok(zts_node_free(n));
}

#[test]
fn net_join_rejects_bad_uris_and_running_nodes() {
    let n = ok(zts_node_new());
    for (uri, e) in [
        ("mem:", libc::EINVAL),
        ("mem:x?mtu=99999", libc::EINVAL),
        ("nope:x", libc::EPROTONOSUPPORT),
    ] {
        let u = std::ffi::CString::new(uri).unwrap();
        // SAFETY: u is a valid C string.
        expect_err(unsafe { zts_net_join(n, u.as_ptr()) } as isize, e);
    }
    // SAFETY: NULL is rejected with EFAULT.
    expect_err(
        unsafe { zts_net_join(n, std::ptr::null()) } as isize,
        libc::EFAULT,
    );
    let bad = std::ffi::CString::new("10.0.0.1/33").unwrap();
    // SAFETY: bad is a valid C string.
    expect_err(
        unsafe { zts_addr_add(n, 0, bad.as_ptr()) } as isize,
        libc::EINVAL,
    );
    ok(zts_node_free(n));
    expect_err(zts_node_free(n) as isize, libc::ENODEV);
}

#[test]
fn default_node_serves_zts_socket() {
    let n = node("tcp-default", &["10.9.9.1/24"]);
    ok(zts_node_set_default(n));
    let fd = ok(zts_socket(libc::AF_INET, libc::SOCK_STREAM, 0));
    assert_eq!(
        get_int(fd, libc::SOL_SOCKET, libc::SO_TYPE),
        libc::SOCK_STREAM
    );
    ok(zts_close(fd));
    ok(zts_node_free(n));
    expect_err(
        zts_socket(libc::AF_INET, libc::SOCK_STREAM, 0) as isize,
        libc::ENETDOWN,
    );
    expect_err(
        zts_socket(libc::AF_INET, libc::SOCK_DGRAM + 100, 0) as isize,
        libc::ENETDOWN,
    );
}

#[test]
fn close_wakes_a_blocked_accept_with_ebadf() {
    let n = node("tcp-fdreuse", &["10.9.10.1/24"]);
    let l = listener(n, sa("10.9.10.1:97"), 1);
    let waiter = thread::spawn(move || {
        // SAFETY: NULL address with NULL length is allowed.
        let r = unsafe { zts_accept(l, std::ptr::null_mut(), std::ptr::null_mut()) };
        (r, errno())
    });
    // The pause only makes it likely the accept is blocked; either way it
    // must end in EBADF.
    thread::sleep(std::time::Duration::from_millis(20));
    ok(zts_close(l));
    assert_eq!(waiter.join().unwrap(), (-1, libc::EBADF));
    ok(zts_node_free(n));
}

#[test]
fn loopback_works_inside_a_node_without_networks() {
    let n = ok(zts_node_new());
    ok(zts_node_start(n));
    for server in [sa("127.0.0.1:98"), sa("[::1]:98")] {
        let l = listener(n, server, 2);
        let c = tcp(n, domain_of(&server));
        ok(connect(c, server));
        let (s, peer) = accept(l);
        assert_eq!(peer, sockname(c, false));
        assert_eq!(peer.ip(), server.ip());
        let data = pattern(300_000, 3);
        let writer = thread::spawn(move || {
            write_all(c, &data);
            ok(zts_shutdown(c, libc::SHUT_WR));
            c
        });
        let got = read_to_end(s);
        let c = writer.join().unwrap();
        assert!(got == pattern(300_000, 3));
        for fd in [c, s, l] {
            ok(zts_close(fd));
        }
    }
    ok(zts_node_free(n));
}

#[test]
fn a_node_on_two_networks_routes_binds_and_listens_on_both() {
    let left = node("multi-left", &["10.70.1.1/24"]);
    let right = node("multi-right", &["10.70.2.1/24", "10.70.9.1/24"]);
    let m = ok(zts_node_new());
    for (seg, cidr) in [
        ("mem:multi-left", "10.70.1.2/24"),
        ("mem:multi-right", "10.70.2.2/24"),
    ] {
        let uri = std::ffi::CString::new(seg).unwrap();
        let cidr = std::ffi::CString::new(cidr).unwrap();
        // SAFETY: both are valid C strings.
        unsafe {
            let net = ok(zts_net_join(m, uri.as_ptr()));
            ok(zts_addr_add(m, net, cidr.as_ptr()));
        }
    }
    let (dst, via) = (
        std::ffi::CString::new("10.70.9.0/24").unwrap(),
        std::ffi::CString::new("10.70.2.1").unwrap(),
    );
    // SAFETY: both are valid C strings.
    ok(unsafe { zts_route_add(m, dst.as_ptr(), via.as_ptr()) });
    ok(zts_node_start(m));

    // Outgoing: each host is reached over its own network, and through a route.
    for (host, server) in [
        (left, "10.70.1.1:80"),
        (right, "10.70.2.1:80"),
        (right, "10.70.9.1:80"),
    ] {
        let l = listener(host, sa(server), 1);
        let c = tcp(m, libc::AF_INET);
        ok(connect(c, sa(server)));
        let (s, peer) = accept(l);
        let expect_src = if server.starts_with("10.70.1.") {
            "10.70.1.2"
        } else {
            "10.70.2.2"
        };
        assert_eq!(peer.ip().to_string(), expect_src, "to {server}");
        for fd in [c, s, l] {
            ok(zts_close(fd));
        }
    }
    // Binding to an address picks its network.
    let l = listener(right, sa("10.70.2.1:81"), 1);
    let c = tcp(m, libc::AF_INET);
    ok(bind(c, sa("10.70.2.2:0")));
    ok(connect(c, sa("10.70.2.1:81")));
    let (s, peer) = accept(l);
    assert_eq!(peer.ip().to_string(), "10.70.2.2");
    for fd in [c, s, l] {
        ok(zts_close(fd));
    }
    // A wildcard listener accepts on both networks.
    let l = listener(m, sa("0.0.0.0:90"), 4);
    for (host, target) in [(left, "10.70.1.2:90"), (right, "10.70.2.2:90")] {
        let c = tcp(host, libc::AF_INET);
        ok(connect(c, sa(target)));
        let (s, _) = accept(l);
        assert_eq!(sockname(s, false), sa(target));
        ok(zts_close(c));
        ok(zts_close(s));
    }
    ok(zts_close(l));
    for n in [left, right, m] {
        ok(zts_node_free(n));
    }
}

#[test]
fn a_wildcard_listener_keeps_accepting_one_connection_after_another() {
    let a = node("tcp-wild-seq", &["10.9.11.1/24"]);
    let b = node("tcp-wild-seq", &["10.9.11.2/24"]);
    let l = listener(a, sa("0.0.0.0:99"), 1);
    for i in 0..6u8 {
        let c = tcp(b, libc::AF_INET);
        set_timeout(c, libc::SO_SNDTIMEO, 5000);
        ok(connect(c, sa("10.9.11.1:99")));
        let (s, _) = accept(l);
        write_all(c, &[i]);
        let mut one = [0u8; 1];
        assert_eq!(read(s, &mut one), 1, "connection {i}");
        assert_eq!(one[0], i);
        ok(zts_close(c));
        ok(zts_close(s));
    }
    ok(zts_close(l));
    ok(zts_node_free(a));
    ok(zts_node_free(b));
}

/// Connects to several new neighbours at once each send their own ARP
/// request at once: smoltcp limited requests to one a second per
/// interface, so the fourth peer waited three seconds (and a peer that
/// never answers could hold the others back for good).
#[test]
fn connects_to_new_neighbours_resolve_them_all_at_once() {
    let segment = "tcp-arp";
    let from = node(segment, &["10.9.8.1/24"]);
    let peers: Vec<i32> = (2..=5)
        .map(|i| node(segment, &[&format!("10.9.8.{i}/24")]))
        .collect();
    let listeners: Vec<i32> = (2..=5)
        .map(|i| listener(peers[i - 2], sa(&format!("10.9.8.{i}:96")), 1))
        .collect();
    let port = zts::testing::MemPort::attach(segment, [0x02, 0, 0, 0, 0x08, 0x99]);
    let mac = zts::testing::node_mac(from, 0).unwrap();
    let clients: Vec<i32> = (2..=5)
        .map(|i| {
            let c = ok(zts_node_socket(
                from,
                libc::AF_INET,
                libc::SOCK_STREAM | libc::SOCK_NONBLOCK,
                0,
            ));
            expect_err(
                connect(c, sa(&format!("10.9.8.{i}:96"))) as isize,
                libc::EINPROGRESS,
            );
            c
        })
        .collect();
    zts::testing::settle(from).unwrap();
    // ARP requests from `from`: ethertype 0x0806, operation 1, target
    // protocol address at bytes 38..42.
    let mut asked: Vec<[u8; 4]> = port
        .take()
        .iter()
        .filter(|f| f.len() >= 42 && f[6..12] == mac && f[12..14] == [8, 6] && f[21] == 1)
        .map(|f| f[38..42].try_into().unwrap())
        .collect();
    asked.sort();
    asked.dedup();
    assert_eq!(
        asked,
        [[10, 9, 8, 2], [10, 9, 8, 3], [10, 9, 8, 4], [10, 9, 8, 5]]
    );
    for l in &listeners {
        let (s, _) = accept(*l);
        ok(zts_close(s));
    }
    for fd in clients.into_iter().chain(listeners) {
        ok(zts_close(fd));
    }
    for n in peers.into_iter().chain([from]) {
        ok(zts_node_free(n));
    }
}

/// A request/response exchange is carried by the app threads' own calls
/// (each runs its node's rounds and the peer node's): the stack threads,
/// which used to be woken for every message on both nodes, sleep through
/// it but for timers.
#[test]
fn request_response_is_carried_by_the_app_threads() {
    const ROUNDS: u64 = 2000;
    let a = node("tcp-inline", &["10.9.9.1/24"]);
    let b = node("tcp-inline", &["10.9.9.2/24"]);
    let l = listener(b, sa("10.9.9.2:98"), 1);
    let c = tcp(a, libc::AF_INET);
    ok(connect(c, sa("10.9.9.2:98")));
    let (s, _) = accept(l);
    ok(set_int(c, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1));
    ok(set_int(s, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1));
    let wakes = || {
        zts::testing::stack_thread_wakes(a).unwrap() + zts::testing::stack_thread_wakes(b).unwrap()
    };
    let before = wakes();
    let server = thread::spawn(move || {
        let mut b = [0u8; 1];
        for _ in 0..ROUNDS {
            assert_eq!(read(s, &mut b), 1, "server read: {}", errno());
            write_all(s, &b);
        }
        s
    });
    let mut byte = [0u8; 1];
    for i in 0..ROUNDS {
        write_all(c, &[i as u8]);
        assert_eq!(read(c, &mut byte), 1, "client read: {}", errno());
        assert_eq!(byte[0], i as u8);
    }
    let s = server.join().unwrap();
    let woken = wakes() - before;
    // Four wakeups per round trip before (8,000 here); now a few for
    // retransmission timers armed while the stack threads slept (8 here).
    assert!(
        woken < ROUNDS,
        "stack threads woken {woken} times for {ROUNDS} round trips"
    );
    println!("stack threads woken {woken} times for {ROUNDS} round trips");
    for fd in [c, s, l] {
        ok(zts_close(fd));
    }
    ok(zts_node_free(a));
    ok(zts_node_free(b));
}
