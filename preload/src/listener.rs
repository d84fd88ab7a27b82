//! zts listeners as Unix listening sockets: the program's fd listens on an
//! abstract Unix address of this process, and a thread connects each
//! connection zts accepts to it, with the peer's and local addresses in
//! front. accept(2) is the kernel's, so epoll on the listener and accepts
//! in forked children (nginx's workers) need no zts thread of their own.

use crate::addr::{Addr, HEADER_ADDR};
use crate::pump::{self, HEADER};
use crate::real::REAL;
use crate::table::{Entry, Listener, ZtsFd};
use libc::{c_int, sockaddr_un, socklen_t};
use once_cell::sync::Lazy;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use zts::ffi::socket::*;

static NEXT: AtomicUsize = AtomicUsize::new(0);
static NEXT_ID: AtomicUsize = AtomicUsize::new(0);
/// The zts sockets of connections accepted and not yet taken by the
/// program's accept, by the id in their header.
pub static ACCEPTED: Lazy<Mutex<HashMap<u64, Weak<ZtsFd>>>> = Lazy::new(Default::default);

/// Whether the Unix connection `fd` came from the process that runs the
/// listener's acceptor: abstract Unix names have no permissions, and any
/// process in the namespace could otherwise forge the addresses in front.
fn from_our_acceptor(fd: c_int, listener_pid: u32) -> bool {
    // SAFETY: ucred is plain data; all-zero is valid.
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::ucred>() as socklen_t;
    // SAFETY: `cred` has room for `len` bytes.
    let r = unsafe {
        (REAL.getsockopt)(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&raw mut cred).cast(),
            &mut len,
        )
    };
    r == 0 && cred.pid as u32 == listener_pid
}

/// Puts `new` in the place of the program's `fd`, keeping its
/// O_NONBLOCK and close-on-exec; `new` is closed.
pub fn replace_fd(new: c_int, fd: c_int) -> Result<(), c_int> {
    // SAFETY: fcntl and dup3 on fds the program and this library own.
    unsafe {
        let status = libc::fcntl(fd, libc::F_GETFL);
        let fd_flags = libc::fcntl(fd, libc::F_GETFD);
        let cloexec = if fd_flags >= 0 && fd_flags & libc::FD_CLOEXEC != 0 {
            libc::O_CLOEXEC
        } else {
            0
        };
        let r = (REAL.dup3)(new, fd, cloexec);
        let e = std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO);
        (REAL.close)(new);
        if r < 0 {
            return Err(e);
        }
        if status >= 0 && status & libc::O_NONBLOCK != 0 {
            libc::fcntl(
                fd,
                libc::F_SETFL,
                libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK,
            );
        }
    }
    Ok(())
}

fn last_errno() -> c_int {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// An abstract Unix address unique to this process and listener.
fn unix_name() -> (sockaddr_un, socklen_t) {
    // SAFETY: sockaddr_un is plain bytes; all-zero is valid.
    let mut sun: sockaddr_un = unsafe { std::mem::zeroed() };
    sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let name = format!(
        "zts-preload/{}/{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    // sun_path[0] stays 0: the abstract namespace, gone with the socket.
    for (i, b) in name.bytes().enumerate() {
        sun.sun_path[i + 1] = b as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + 1 + name.len();
    (sun, len as socklen_t)
}

/// The zts socket `z` listens; the program's `fd` becomes the Unix
/// listener its connections arrive on.
pub fn listen(fd: c_int, domain: c_int, z: Arc<ZtsFd>, backlog: c_int) -> Result<Entry, c_int> {
    if zts_listen(z.fd, backlog) < 0 {
        return Err(zts::ffi::errno::zts_errno());
    }
    let mut local = Addr::empty();
    // SAFETY: `local` is a sockaddr_storage with its length.
    unsafe { zts_getsockname(z.fd, local.ptr_mut(), &mut local.len) };
    let (sun, len) = unix_name();
    // SAFETY: plain socket calls on a new fd this library owns.
    let u = unsafe { (REAL.socket)(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if u < 0 {
        return Err(last_errno());
    }
    // SAFETY: `sun` is a valid sockaddr_un of `len` bytes.
    let ok = unsafe {
        (REAL.bind)(u, (&raw const sun).cast(), len) == 0
            && (REAL.listen)(u, backlog.clamp(16, 4096)) == 0
    };
    if !ok {
        let e = last_errno();
        // SAFETY: closing our own fd.
        unsafe { (REAL.close)(u) };
        return Err(e);
    }
    replace_fd(u, fd)?;
    let open = Arc::new(AtomicBool::new(true));
    let listener = Arc::new(Listener {
        domain,
        zts: z.clone(),
        local,
        open: open.clone(),
    });
    let zfd = z.fd;
    std::thread::Builder::new()
        .name("zts-acceptor".into())
        .spawn(move || acceptor(zfd, &open, sun, len))
        .map_err(|_| libc::EAGAIN)?;
    Ok(Entry::Listener(listener))
}

/// Accepts on zts and connects each connection to the Unix listener,
/// until the listener is closed by the program.
fn acceptor(zfd: c_int, open: &AtomicBool, sun: sockaddr_un, len: socklen_t) {
    while open.load(Ordering::Acquire) {
        let mut peer = Addr::empty();
        // SAFETY: `peer` is a sockaddr_storage with its length.
        let c = unsafe { zts_accept(zfd, peer.ptr_mut(), &mut peer.len) };
        if c < 0 {
            match zts::ffi::errno::zts_errno() {
                libc::EINTR | libc::ECONNABORTED | libc::EAGAIN => continue,
                _ => return,
            }
        }
        let mut local = Addr::empty();
        // SAFETY: as above.
        unsafe { zts_getsockname(c, local.ptr_mut(), &mut local.len) };
        // SAFETY: a new fd of this library's, connected to the listener's
        // address.
        let u = unsafe { (REAL.socket)(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
        // SAFETY: `sun` is a valid sockaddr_un of `len` bytes.
        if u < 0 || unsafe { (REAL.connect)(u, (&raw const sun).cast(), len) } < 0 {
            zts_close(c);
            if u >= 0 {
                // SAFETY: closing our own fd.
                unsafe { (REAL.close)(u) };
            }
            // The program's listener is gone (closed, or its process).
            return;
        }
        let z = ZtsFd::new(c);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed) as u64;
        {
            let mut accepted = ACCEPTED.lock();
            if accepted.len() >= 1024 {
                accepted.retain(|_, w| w.strong_count() > 0);
            }
            accepted.insert(id, Arc::downgrade(&z));
        }
        if !pump::send_all(u, &pump::header(&peer, &local, id)) {
            // SAFETY: closing our own fd; `z` closes the zts one.
            unsafe { (REAL.close)(u) };
            continue;
        }
        pump::start(z, u);
    }
}

/// After the kernel's accept on a zts listener: reads the addresses in
/// front of the connection (waiting for them on a non-blocking socket),
/// and its zts socket when this process accepted it on zts (options set on
/// the program's fd then reach it).
pub fn read_header(
    fd: c_int,
    listener_pid: u32,
) -> Result<(Addr, Addr, Option<Arc<ZtsFd>>), c_int> {
    if !from_our_acceptor(fd, listener_pid) {
        return Err(libc::ECONNABORTED);
    }
    let mut h = [0u8; HEADER];
    let mut got = 0;
    while got < HEADER {
        // SAFETY: reading into the rest of `h`.
        let n = unsafe {
            (crate::real::REAL.recvfrom)(
                fd,
                h[got..].as_mut_ptr().cast(),
                HEADER - got,
                0,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        if n > 0 {
            got += n as usize;
            continue;
        }
        if n == 0 {
            return Err(libc::ECONNABORTED);
        }
        match last_errno() {
            libc::EINTR => {}
            libc::EAGAIN => {
                let mut p = libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd. The header is written right
                // after the connect, so this waits for a moment only.
                if unsafe { libc::poll(&mut p, 1, 10_000) } <= 0 {
                    return Err(libc::ECONNABORTED);
                }
            }
            e => return Err(e),
        }
    }
    let a = HEADER_ADDR;
    let id = u64::from_ne_bytes(h[2 * a..].try_into().expect("8 bytes"));
    let zts = ACCEPTED.lock().remove(&id).and_then(|w| w.upgrade());
    Ok((
        Addr::from_bytes(&h[..a]),
        Addr::from_bytes(&h[a..2 * a]),
        zts,
    ))
}
