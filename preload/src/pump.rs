//! The copy between a zts connection and the program's end of a socket
//! pair: one thread each way, blocking. EOF each way becomes a half-close
//! the other way; an error on either side ends both.

use crate::addr::{Addr, HEADER_ADDR};
use crate::table::ZtsFd;
use libc::c_int;
use std::sync::Arc;
use zts::ffi::io::*;
use zts::ffi::socket::*;

const CHUNK: usize = 256 * 1024;

/// The header in front of an accepted connection: peer, then local.
pub const HEADER: usize = 2 * HEADER_ADDR;

pub fn header(peer: &Addr, local: &Addr) -> [u8; HEADER] {
    let mut h = [0u8; HEADER];
    h[..HEADER_ADDR].copy_from_slice(&peer.to_bytes());
    h[HEADER_ADDR..].copy_from_slice(&local.to_bytes());
    h
}

/// Writes all of `buf` to the Unix end; false if the program closed it.
pub fn send_all(fd: c_int, mut buf: &[u8]) -> bool {
    while !buf.is_empty() {
        // SAFETY: `buf` is readable for its length; MSG_NOSIGNAL keeps a
        // closed end from raising SIGPIPE in the program.
        let n = unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) };
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

/// The Unix end, closed when both directions are done.
struct End(c_int);

impl Drop for End {
    fn drop(&mut self) {
        // SAFETY: the pump owns this fd and closes it once.
        unsafe { (crate::real::REAL.close)(self.0) };
    }
}

/// Starts copying between `zts` and the Unix end `unix` (owned from here).
pub fn start(zts: Arc<ZtsFd>, unix: c_int) {
    let end = Arc::new(End(unix));
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

/// Peer to program.
fn from_zts(z: &ZtsFd, end: &End) {
    let mut buf = vec![0u8; CHUNK];
    loop {
        // SAFETY: `buf` is writable for its length.
        let n = unsafe { zts_read(z.fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n > 0 {
            if !send_all(end.0, &buf[..n as usize]) {
                // The program is gone: the peer hears of it.
                zts_shutdown(z.fd, libc::SHUT_RDWR);
                return;
            }
            continue;
        }
        // SAFETY: shutting down our own end.
        unsafe {
            libc::shutdown(
                end.0,
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
        let n = unsafe { (crate::real::REAL.read)(end.0, buf.as_mut_ptr().cast(), buf.len()) };
        if n > 0 {
            if !zts_write_all(z.fd, &buf[..n as usize]) {
                // The peer is gone: the program's next write fails.
                // SAFETY: shutting down our own end.
                unsafe { libc::shutdown(end.0, libc::SHUT_RDWR) };
                return;
            }
            continue;
        }
        if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        zts_shutdown(z.fd, libc::SHUT_WR);
        return;
    }
}
