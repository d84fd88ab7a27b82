//! A seeded storm of calls from many threads: random calls on random fds
//! (open, closed, never opened, negative), double closes, closes racing
//! blocked reads, writes, accepts and connects, a node stopped and freed
//! under its sockets' feet, NULL pointers, absurd lengths. Every call
//! returns within a bound with -1 and a plausible errno or a result; the
//! connections nobody abuses move their data intact throughout.

mod common;

use common::Rng;
use common::api::*;
use parking_lot::Mutex;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};
use zts::ffi::io::*;
use zts::ffi::node::*;
use zts::ffi::options::*;
use zts::ffi::poll::zts_poll;
use zts::ffi::socket::*;

const SEED: u64 = 0x5157_2e55;
const CHAOS_THREADS: u64 = 6;
const CALLS_PER_THREAD: u64 = 50_000;
/// No call may take longer (sockets carry 10 ms timeouts).
const BOUND: Duration = Duration::from_secs(10);
const ERRNOS: &[i32] = &[
    libc::EBADF,
    libc::EINVAL,
    libc::EFAULT,
    libc::EAGAIN,
    libc::ENOTCONN,
    libc::EISCONN,
    libc::EALREADY,
    libc::EINPROGRESS,
    libc::ECONNREFUSED,
    libc::ECONNRESET,
    libc::ETIMEDOUT,
    libc::EPIPE,
    libc::ENETDOWN,
    libc::ENETUNREACH,
    libc::EHOSTUNREACH,
    libc::EADDRINUSE,
    libc::EADDRNOTAVAIL,
    libc::EAFNOSUPPORT,
    libc::EPROTONOSUPPORT,
    libc::EPROTOTYPE,
    libc::ENOPROTOOPT,
    libc::EOPNOTSUPP,
    libc::ENOTSOCK,
    libc::EMSGSIZE,
    libc::EDESTADDRREQ,
    libc::ENODEV,
    libc::ENOBUFS,
    libc::EACCES,
    libc::ENOTTY,
];

/// What the chaos threads share: the node they abuse (replaced now and
/// then) and the fds they made (open or not).
struct Arena {
    node: AtomicI32,
    fds: Mutex<Vec<i32>>,
    calls: AtomicU64,
}

impl Arena {
    fn pick_fd(&self, rng: &mut Rng) -> i32 {
        match rng.below(10) {
            0 | 1 => -(rng.below(1000) as i32) - 1,
            2 => 2_000_000 + rng.below(1000) as i32,
            _ => {
                let fds = self.fds.lock();
                if fds.is_empty() {
                    -1
                } else {
                    fds[rng.below(fds.len() as u64) as usize]
                }
            }
        }
    }

    fn remember(&self, fd: i32, rng: &mut Rng) {
        let mut fds = self.fds.lock();
        if fds.len() < 256 {
            fds.push(fd);
        } else {
            let i = rng.below(256) as usize;
            fds[i] = fd;
        }
    }
}

fn addr(rng: &mut Rng) -> SocketAddr {
    match rng.below(6) {
        0 => "10.87.0.1:7001".parse().unwrap(), // the chaos echo server
        1 => "10.87.0.3:7002".parse().unwrap(), // the chaos node itself
        2 => "10.87.0.99:7003".parse().unwrap(), // nobody (ARP unanswered)
        3 => "0.0.0.0:0".parse().unwrap(),
        4 => "[fd00:87::1]:7001".parse().unwrap(),
        _ => format!("10.87.0.{}:{}", rng.below(5), rng.below(65536))
            .parse()
            .unwrap(),
    }
}

/// Any level and name but the ones that make later calls block for long
/// (timeouts, linger): every call must stay within the bound.
fn random_option(rng: &mut Rng) -> (i32, i32) {
    loop {
        let (level, name) = (rng.below(300) as i32, rng.below(300) as i32);
        let slow = [libc::SO_RCVTIMEO, libc::SO_SNDTIMEO, libc::SO_LINGER];
        if level != libc::SOL_SOCKET || !slow.contains(&name) {
            return (level, name);
        }
    }
}

/// One random call, its result checked; returns which call it was.
fn one_call(arena: &Arena, rng: &mut Rng) -> u64 {
    let fd = arena.pick_fd(rng);
    let mut buf = vec![0u8; 1 + rng.below(65536) as usize];
    let len = buf.len();
    let null_or = |p: *mut u8, rng: &mut Rng| {
        if rng.below(8) == 0 {
            std::ptr::null_mut()
        } else {
            p
        }
    };
    let op = rng.below(18);
    // SAFETY: every pointer passed is NULL or valid for the length passed
    // with it; NULL with a length is what the library must refuse.
    let rc: isize = unsafe {
        match op {
            0 => {
                let domain = [libc::AF_INET, libc::AF_INET6, 99][rng.below(3) as usize];
                let ty = [libc::SOCK_STREAM, libc::SOCK_DGRAM, libc::SOCK_RAW, 77]
                    [rng.below(4) as usize];
                let node = if rng.below(10) == 0 {
                    12345
                } else {
                    arena.node.load(Ordering::Acquire)
                };
                let fd = zts_node_socket(node, domain, ty, 0);
                if fd >= 0 {
                    set_timeouts(fd);
                    arena.remember(fd, rng);
                }
                fd as isize
            }
            1 | 2 => zts_close(fd) as isize,
            3 => {
                let a = raw(addr(rng));
                let l = if rng.below(8) == 0 { 3 } else { a.len };
                zts_bind(fd, null_or(a.ptr() as *mut u8, rng) as *const _, l) as isize
            }
            4 => zts_listen(fd, [-5, 0, 1, 16, i32::MAX][rng.below(5) as usize]) as isize,
            5 => {
                let a = raw(addr(rng));
                zts_connect(fd, a.ptr(), a.len) as isize
            }
            6 => {
                let s = zts_accept(fd, std::ptr::null_mut(), std::ptr::null_mut());
                if s >= 0 {
                    set_timeouts(s);
                    arena.remember(s, rng);
                }
                s as isize
            }
            7 => zts_read(fd, null_or(buf.as_mut_ptr(), rng) as *mut _, len),
            8 => zts_write(fd, null_or(buf.as_mut_ptr(), rng) as *const _, len),
            9 => zts_write(fd, std::ptr::null(), usize::MAX),
            10 => {
                let flags = [0, libc::MSG_DONTWAIT, libc::MSG_PEEK, libc::MSG_WAITALL, -1]
                    [rng.below(5) as usize];
                zts_recv(fd, buf.as_mut_ptr() as *mut _, len, flags)
            }
            11 => {
                let a = raw(addr(rng));
                zts_sendto(
                    fd,
                    buf.as_ptr() as *const _,
                    len.min(2000),
                    0,
                    a.ptr(),
                    a.len,
                )
            }
            12 => {
                let (level, name) = [
                    (libc::SOL_SOCKET, libc::SO_RCVBUF),
                    (libc::SOL_SOCKET, libc::SO_REUSEADDR),
                    (libc::SOL_SOCKET, libc::SO_KEEPALIVE),
                    (libc::IPPROTO_TCP, libc::TCP_NODELAY),
                    (libc::IPPROTO_IP, libc::IP_TTL),
                    (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY),
                    random_option(rng),
                ][rng.below(7) as usize];
                let v = rng.next() as i32;
                let vlen = [0, 1, 4, 8, 64][rng.below(5) as usize];
                let p = if vlen > 4 {
                    buf.as_ptr()
                } else {
                    &v as *const i32 as *const u8
                };
                zts_setsockopt(
                    fd,
                    level,
                    name,
                    null_or(p as *mut u8, rng) as *const _,
                    vlen,
                ) as isize
            }
            13 => {
                let mut l = [0u32, 2, 4, 1000][rng.below(4) as usize];
                zts_getsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    [libc::SO_ERROR, libc::SO_TYPE, libc::SO_RCVTIMEO, 999][rng.below(4) as usize],
                    null_or(buf.as_mut_ptr(), rng) as *mut _,
                    &mut l,
                ) as isize
            }
            14 => {
                let mut p = libc::pollfd {
                    fd,
                    events: libc::POLLIN | libc::POLLOUT,
                    revents: 0,
                };
                zts_poll(&mut p, 1, rng.below(10) as i32) as isize
            }
            15 => zts_shutdown(fd, rng.below(4) as i32) as isize,
            16 => {
                let mut l = len.min(128) as u32;
                let p = null_or(buf.as_mut_ptr(), rng) as *mut libc::sockaddr;
                if rng.below(2) == 0 {
                    zts_getsockname(fd, p, &mut l) as isize
                } else {
                    zts_getpeername(fd, p, &mut l) as isize
                }
            }
            _ => {
                let cmd = [libc::F_GETFL, libc::F_SETFL, 12345][rng.below(3) as usize];
                let on = if rng.below(2) == 0 {
                    libc::O_NONBLOCK
                } else {
                    0
                };
                zts_fcntl(fd, cmd, on) as isize
            }
        }
    };
    if rc < 0 {
        let e = errno();
        assert_eq!(rc, -1, "op {op}: a failure is -1");
        assert!(
            ERRNOS.contains(&e),
            "op {op} on fd {fd}: unexpected errno {e}"
        );
    }
    arena.calls.fetch_add(1, Ordering::Relaxed);
    op
}

fn set_timeouts(fd: i32) {
    let tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 10_000,
    };
    for name in [libc::SO_RCVTIMEO, libc::SO_SNDTIMEO] {
        // SAFETY: tv is valid for the call; a failure (a raw socket that
        // takes no timeout) is fine.
        unsafe {
            zts_setsockopt(
                fd,
                libc::SOL_SOCKET,
                name,
                &tv as *const _ as *const _,
                std::mem::size_of::<libc::timeval>() as u32,
            )
        };
    }
}

fn chaos_node() -> i32 {
    node("stress", &["10.87.0.3/24", "fd00:87::3/64"])
}

/// Echoes whatever connects to `l` until the listener goes away; any
/// error on a connection just ends that connection.
fn tolerant_echo(l: i32) {
    thread::spawn(move || {
        loop {
            // SAFETY: NULL address pointers are allowed.
            let s = unsafe { zts_accept(l, std::ptr::null_mut(), std::ptr::null_mut()) };
            if s < 0 {
                if errno() == libc::EAGAIN {
                    continue;
                }
                return;
            }
            thread::spawn(move || {
                let mut buf = [0u8; 4096];
                loop {
                    let n = read(s, &mut buf);
                    // SAFETY: buf holds n bytes.
                    if n <= 0 || unsafe { zts_write(s, buf.as_ptr() as *const _, n as usize) } < 0 {
                        break;
                    }
                }
                zts_close(s);
            });
        }
    });
}

#[test]
fn a_seeded_storm_of_calls_breaks_nothing() {
    let srv = node("stress", &["10.87.0.1/24", "fd00:87::1/64"]);
    let cli = node("stress", &["10.87.0.2/24"]);
    // The connections nobody abuses, set up before the storm.
    let at: SocketAddr = "10.87.0.1:7000".parse().unwrap();
    let l = listener(srv, at, 4);
    let clean: Vec<(i32, i32)> = (0..4)
        .map(|_| {
            let c = tcp(cli, libc::AF_INET);
            ok(connect(c, at));
            (c, accept(l).0)
        })
        .collect();
    ok(zts_close(l));
    let chaos_l = listener(srv, "10.87.0.1:7001".parse().unwrap(), 64);
    set_timeouts(chaos_l);
    tolerant_echo(chaos_l);

    let arena = Arc::new(Arena {
        node: AtomicI32::new(chaos_node()),
        fds: Mutex::new(Vec::new()),
        calls: AtomicU64::new(0),
    });
    let storming = Arc::new(AtomicBool::new(true));
    // Data on the clean connections the whole time, checked byte for byte.
    let clean_threads: Vec<_> = clean
        .iter()
        .enumerate()
        .map(|(i, &(c, s))| {
            thread::spawn(move || {
                let mut moved = 0usize;
                let mut round = 0u64;
                // A fixed amount, so the storm gets the CPU too.
                while round < 3000 {
                    let data = pattern(
                        4096 + (round as usize * 977) % 60_000,
                        i as u64 * 1000 + round,
                    );
                    write_all(c, &data);
                    let mut got = vec![0u8; data.len()];
                    let mut have = 0;
                    while have < got.len() {
                        let n = read(s, &mut got[have..]);
                        assert!(n > 0, "a clean connection failed: errno {}", errno());
                        have += n as usize;
                    }
                    assert!(got == data, "a clean connection corrupted data");
                    moved += data.len();
                    round += 1;
                }
                moved
            })
        })
        .collect();
    // Now and then the chaos node is stopped and freed under its sockets,
    // and a new one takes its place.
    let reaper = {
        let arena = arena.clone();
        let storming = storming.clone();
        thread::spawn(move || {
            let mut cycles = 0;
            let mut next = 5_000;
            while storming.load(Ordering::Relaxed) {
                if arena.calls.load(Ordering::Relaxed) < next {
                    thread::yield_now();
                    continue;
                }
                next += 5_000;
                let old = arena.node.swap(chaos_node(), Ordering::AcqRel);
                let t = Instant::now();
                if cycles % 2 == 0 {
                    ok(zts_node_stop(old));
                }
                ok(zts_node_free(old));
                assert!(
                    t.elapsed() < BOUND,
                    "stopping a node took {:?}",
                    t.elapsed()
                );
                cycles += 1;
            }
            cycles
        })
    };
    let start = Instant::now();
    let chaos: Vec<_> = (0..CHAOS_THREADS)
        .map(|i| {
            let arena = arena.clone();
            thread::spawn(move || {
                let mut rng = Rng(SEED ^ (i + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                let mut slowest = (Duration::ZERO, 0);
                for _ in 0..CALLS_PER_THREAD {
                    let t = Instant::now();
                    let op = one_call(&arena, &mut rng);
                    slowest = slowest.max((t.elapsed(), op));
                }
                slowest
            })
        })
        .collect();
    let slowest = chaos.into_iter().map(|t| t.join().unwrap()).max().unwrap();
    storming.store(false, Ordering::Relaxed);
    let node_cycles = reaper.join().unwrap();
    let moved: usize = clean_threads.into_iter().map(|t| t.join().unwrap()).sum();
    let calls = arena.calls.load(Ordering::Relaxed);
    println!(
        "stress: {calls} calls from {CHAOS_THREADS} threads in {:.1} s (slowest: call {} took {:?}), \
         {node_cycles} chaos nodes freed under their sockets, {moved} bytes intact on 4 clean \
         connections",
        start.elapsed().as_secs_f64(),
        slowest.1,
        slowest.0,
    );
    assert!(slowest.0 < BOUND, "call {} took {:?}", slowest.1, slowest.0);
    // Nothing is left stuck: every fd the storm made closes or is gone.
    for fd in arena.fds.lock().drain(..) {
        let rc = zts_close(fd);
        assert!(rc == 0 || errno() == libc::EBADF);
    }
    ok(zts_node_free(arena.node.load(Ordering::Acquire)));
    for (c, s) in clean {
        ok(zts_close(c));
        ok(zts_close(s));
    }
    ok(zts_close(chaos_l));
    ok(zts_node_free(srv));
    ok(zts_node_free(cli));
}
