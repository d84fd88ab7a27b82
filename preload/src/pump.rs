//! The copy between a zts connection and the program's end of a socket
//! pair: one thread each way, blocking. EOF each way becomes a half-close
//! the other way; an error on either side ends both.

use crate::addr::{Addr, HEADER_ADDR};
use crate::table::ZtsFd;
use libc::c_int;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once, Weak};
use std::time::{Duration, Instant};
use zts::ffi::io::*;
use zts::ffi::socket::*;

const CHUNK: usize = 256 * 1024;

/// The header in front of an accepted connection: peer, local, and the id
/// under which the accepting process keeps its zts socket.
pub const HEADER: usize = 2 * HEADER_ADDR + 8;

pub fn header(peer: &Addr, local: &Addr, id: u64) -> [u8; HEADER] {
    let mut h = [0u8; HEADER];
    h[..HEADER_ADDR].copy_from_slice(&peer.to_bytes());
    h[HEADER_ADDR..2 * HEADER_ADDR].copy_from_slice(&local.to_bytes());
    h[2 * HEADER_ADDR..].copy_from_slice(&id.to_ne_bytes());
    h
}

/// Writes all of `buf` to the Unix end; false if the program closed it.
pub fn send_all(fd: c_int, mut buf: &[u8]) -> bool {
    while !buf.is_empty() {
        // SAFETY: `buf` is readable for its length; MSG_NOSIGNAL keeps a
        // closed end from raising SIGPIPE in the program.
        let n = unsafe {
            (crate::real::REAL.sendto)(
                fd,
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_NOSIGNAL,
                std::ptr::null(),
                0,
            )
        };
        if n < 0 {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return false;
        }
        buf = &buf[n as usize..];
    }
    true
}

fn zts_write_all(fd: c_int, mut buf: &[u8]) -> bool {
    while !buf.is_empty() {
        // SAFETY: `buf` is readable for its length.
        let n = unsafe { zts_write(fd, buf.as_ptr().cast(), buf.len()) };
        if n <= 0 {
            return false;
        }
        buf = &buf[n as usize..];
    }
    true
}

/// The Unix end, closed when both directions are done; the process that
/// started the pump, and whether the peer has ended its side.
pub(crate) struct End {
    fd: c_int,
    pid: u32,
    peer_done: AtomicBool,
}

impl Drop for End {
    fn drop(&mut self) {
        // SAFETY: the pump owns this fd and closes it once.
        unsafe { (crate::real::REAL.close)(self.fd) };
    }
}

/// The pumps running, for the flush at exit.
pub(crate) static RUNNING: Mutex<Vec<Weak<End>>> = Mutex::new(Vec::new());
static AT_EXIT: Once = Once::new();
/// How long exit waits for the peers to take what the program sent.
const LINGER: Duration = Duration::from_secs(2);

/// At exit the pumps' threads die with the process, and with them what
/// the program wrote last and its FIN (a kernel socket outlives its
/// process; these cannot). So each pump here reads what is left of the
/// program's writes, sends it and a FIN, and exit waits, up to LINGER,
/// for each peer to end its side in turn (iperf3's server missed its
/// client's last message without this).
extern "C" fn flush_at_exit() {
    let me = std::process::id();
    let ends: Vec<Arc<End>> = RUNNING
        .lock()
        .iter()
        .filter_map(Weak::upgrade)
        .filter(|e| e.pid == me)
        .collect();
    for e in &ends {
        // SAFETY: our own end: its reader sees EOF once the queue is empty.
        unsafe { libc::shutdown(e.fd, libc::SHUT_RD) };
    }
    let deadline = Instant::now() + LINGER;
    for e in &ends {
        while !e.peer_done.load(Ordering::Acquire) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Starts copying between `zts` and the Unix end `unix` (owned from here).
pub fn start(zts: Arc<ZtsFd>, unix: c_int) {
    let end = Arc::new(End {
        fd: unix,
        pid: std::process::id(),
        peer_done: AtomicBool::new(false),
    });
    {
        let mut running = RUNNING.lock();
        running.retain(|w| w.strong_count() > 0);
        running.push(Arc::downgrade(&end));
    }
    AT_EXIT.call_once(|| {
        // SAFETY: registering a function that lives as long as the library.
        unsafe { libc::atexit(flush_at_exit) };
    });
    let (z, e) = (zts.clone(), end.clone());
    let spawned = std::thread::Builder::new()
        .name("zts-pump-in".into())
        .spawn(move || from_zts(&z, &e));
    if spawned.is_err() {
        return;
    }
    let _ = std::thread::Builder::new()
        .name("zts-pump-out".into())
        .spawn(move || to_zts(&zts, &end));
}

/// Peer to program; the peer is done when this returns, however it ends.
fn from_zts(z: &ZtsFd, end: &End) {
    copy_from_zts(z, end);
    end.peer_done.store(true, Ordering::Release);
}

fn copy_from_zts(z: &ZtsFd, end: &End) {
    let mut buf = vec![0u8; CHUNK];
    loop {
        // SAFETY: `buf` is writable for its length.
        let n = unsafe { zts_read(z.fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n > 0 {
            if !send_all(end.fd, &buf[..n as usize]) {
                // The program is gone: the peer hears of it.
                zts_shutdown(z.fd, libc::SHUT_RDWR);
                return;
            }
            continue;
        }
        // SAFETY: shutting down our own end.
        unsafe {
            libc::shutdown(
                end.fd,
                if n == 0 {
                    libc::SHUT_WR
                } else {
                    libc::SHUT_RDWR
                },
            )
        };
        return;
    }
}

/// Program to peer.
fn to_zts(z: &ZtsFd, end: &End) {
    let mut buf = vec![0u8; CHUNK];
    loop {
        // SAFETY: `buf` is writable for its length.
        let n = unsafe { (crate::real::REAL.read)(end.fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n > 0 {
            if !zts_write_all(z.fd, &buf[..n as usize]) {
                // The peer is gone: the program's next write fails.
                // SAFETY: shutting down our own end.
                unsafe { libc::shutdown(end.fd, libc::SHUT_RDWR) };
                return;
            }
            continue;
        }
        if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        zts_shutdown(z.fd, libc::SHUT_WR);
        if program_closed(end.fd) {
            await_peer(z, end);
        }
        return;
    }
}

/// Whether the program has closed every fd for its end (a half-close
/// leaves POLLHUP unset).
fn program_closed(fd: c_int) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    };
    // SAFETY: one pollfd, no wait.
    let ready = unsafe { libc::poll(&mut p, 1, 0) };
    ready == 1 && p.revents & libc::POLLHUP != 0
}

/// After the program closed its socket, the peer has FIN_TIMEOUT to end its
/// side, as the kernel's tcp_fin_timeout gives an orphaned socket; then the
/// connection is torn down, so a silent peer does not hold its threads
/// and buffers for ever.
fn await_peer(z: &ZtsFd, end: &End) {
    let deadline = Instant::now() + FIN_TIMEOUT;
    while !end.peer_done.load(Ordering::Acquire) {
        if Instant::now() >= deadline {
            zts_shutdown(z.fd, libc::SHUT_RDWR);
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

const FIN_TIMEOUT: Duration = Duration::from_secs(60);
