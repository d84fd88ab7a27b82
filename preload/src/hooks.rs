//! The interposed calls. Each looks the fd up (`table.rs`); what this
//! library does not manage goes to the C library unchanged.

// Each hook's safety contract is that of the C library function it stands
// for (socket(2), bind(2), ...), which its callers already meet.
#![allow(clippy::missing_safety_doc)]

use crate::addr::Addr;
use crate::config::Setting;
use crate::dgram;
use crate::listener;
use crate::node::{self, config, log};
use crate::pump;
use crate::real::REAL;
use crate::table::{self, Candidate, Conn, ConnectState, Dgram, Entry, ZtsFd};
use libc::{c_int, c_void, sockaddr, socklen_t};
use parking_lot::{Condvar, Mutex};
use std::sync::Arc;
use zts::ffi::errno::zts_errno;
use zts::ffi::options::*;
use zts::ffi::socket::*;

fn fail(e: c_int) -> c_int {
    // SAFETY: this thread's errno slot.
    unsafe { *libc::__errno_location() = e };
    -1
}

fn errno() -> c_int {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// A zts socket of the candidate's domain and kind with the options set
/// so far.
fn new_zts_socket(c: &Candidate) -> Result<Arc<ZtsFd>, c_int> {
    node::node()?;
    let z = zts_socket(c.domain, c.kind, 0);
    if z < 0 {
        return Err(zts_errno());
    }
    for (level, name, value) in &c.options {
        // SAFETY: `value` holds the option as the program passed it.
        unsafe {
            zts_setsockopt(
                z,
                *level,
                *name,
                value.as_ptr().cast(),
                value.len() as socklen_t,
            )
        };
    }
    Ok(ZtsFd::new(z))
}

/// The zts fd behind `z`, or ENETDOWN in a forked child: the node's
/// threads stayed in the parent.
fn usable(z: &ZtsFd) -> Result<c_int, c_int> {
    z.here().ok_or(libc::ENETDOWN)
}

/// The program's socket-level options (timeouts, buffer sizes) on the fd
/// that now stands in for its socket, as they were on the one it replaced.
pub(crate) fn replay_socket_options(fd: c_int, options: &[(c_int, c_int, Vec<u8>)]) {
    for (level, name, value) in options.iter().filter(|o| o.0 == libc::SOL_SOCKET) {
        // SAFETY: the option as the program passed it; one the new fd
        // lacks is not the program's concern.
        unsafe {
            (REAL.setsockopt)(
                fd,
                *level,
                *name,
                value.as_ptr().cast(),
                value.len() as socklen_t,
            )
        };
    }
}

/// socket(2): AF_INET and AF_INET6 stream and datagram sockets are noted,
/// to be placed at bind, connect or (datagrams) the first send; until then
/// they are the kernel's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int {
    let inet = domain == libc::AF_INET || domain == libc::AF_INET6;
    if inet && matches!(*node::SETTING, Setting::Bad) {
        return fail(libc::ENETDOWN);
    }
    // SAFETY: the C library's socket with the program's arguments.
    let fd = unsafe { (REAL.socket)(domain, ty, protocol) };
    if fd < 0 {
        return fd;
    }
    let kind = ty & 0xf;
    let known = match kind {
        libc::SOCK_STREAM => protocol == 0 || protocol == libc::IPPROTO_TCP,
        libc::SOCK_DGRAM => protocol == 0 || protocol == libc::IPPROTO_UDP,
        _ => false,
    };
    if inet && known && config().is_some() && !node::making_node() {
        let c = Candidate {
            domain,
            kind,
            options: vec![],
            zts: None,
            bound: None,
        };
        table::set(fd, Entry::Candidate(c));
    } else {
        table::remove(fd);
    }
    fd
}

/// bind(2): an address of a zts network (or the wildcard) binds a zts
/// socket; anything else binds the kernel's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bind(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    // SAFETY: the program vouches for `len` bytes at `addr`.
    let a = unsafe { Addr::read(addr, len) };
    let (Some(Entry::Candidate(mut c)), Some(conf), Some(a)) = (table::get(fd), config(), a) else {
        // SAFETY: the C library's bind with the program's arguments.
        return unsafe { (REAL.bind)(fd, addr, len) };
    };
    let ip = a.ip().expect("an inet address");
    if !node::binds_on_zts(conf, ip) {
        log(format_args!("fd {fd}: bind {ip} on the kernel"));
        table::remove(fd);
        // SAFETY: as above.
        return unsafe { (REAL.bind)(fd, addr, len) };
    }
    let z = match c.zts.clone().map_or_else(|| new_zts_socket(&c), Ok) {
        Ok(z) => z,
        Err(e) => return fail(e),
    };
    if let Err(e) = usable(&z) {
        return fail(e);
    }
    c.zts = Some(z.clone());
    table::set(fd, Entry::Candidate(c.clone()));
    // SAFETY: `a` is a valid address of its length.
    if unsafe { zts_bind(z.fd, a.ptr(), a.len) } < 0 {
        return fail(zts_errno());
    }
    c.bound = Some(a);
    log(format_args!("fd {fd}: bind {ip} on zts"));
    if c.kind == libc::SOCK_DGRAM {
        return match dgram::convert(fd, &c, z) {
            Ok(_) => 0,
            Err(e) => fail(e),
        };
    }
    table::set(fd, Entry::Candidate(c));
    0
}

/// A datagram socket not yet placed, sending to `addr`: placed on zts if
/// that is where `addr` is (None if it stays the kernel's).
///
/// # Safety
/// `addr` is NULL or points to `len` readable bytes.
pub unsafe fn place_for_send(
    fd: c_int,
    addr: *const sockaddr,
    len: socklen_t,
) -> Option<Result<Arc<Dgram>, c_int>> {
    // The address first: every send of every datagram socket comes here,
    // zts's own overlay's among them, and most are not for zts.
    // SAFETY: the program vouches for `len` bytes at `addr`.
    let ip = unsafe { Addr::read(addr, len) }?.ip()?;
    if !node::routes_to_zts(config()?, ip) {
        return None;
    }
    let Some(Entry::Candidate(c)) = table::get(fd) else {
        return None;
    };
    if c.kind != libc::SOCK_DGRAM {
        return None;
    }
    log(format_args!("fd {fd}: datagrams to {ip} on zts"));
    Some(new_zts_socket(&c).and_then(|z| dgram::convert(fd, &c, z)))
}

/// listen(2): a socket bound on zts listens there.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn listen(fd: c_int, backlog: c_int) -> c_int {
    match table::get(fd) {
        Some(Entry::Candidate(Candidate {
            domain,
            zts: Some(z),
            bound: Some(_),
            ..
        })) => match usable(&z).and_then(|_| listener::listen(fd, domain, z, backlog)) {
            Ok(e) => {
                if let Some(Entry::Candidate(c)) = table::get(fd) {
                    replay_socket_options(fd, &c.options);
                }
                table::set(fd, e);
                log(format_args!("fd {fd}: listening on zts"));
                0
            }
            Err(e) => fail(e),
        },
        Some(Entry::Listener(_)) => 0,
        Some(Entry::Candidate(_)) => {
            table::remove(fd);
            // SAFETY: the C library's listen with the program's arguments.
            unsafe { (REAL.listen)(fd, backlog) }
        }
        // SAFETY: as above.
        _ => unsafe { (REAL.listen)(fd, backlog) },
    }
}

/// connect(2): a destination on a zts network (or routed there) connects
/// a zts socket, and the program's fd becomes its end of a socket pair.
/// A non-blocking connect returns EINPROGRESS, and the fd turns writable
/// when the connect is decided (`connect_zts`), as a kernel socket does.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    let c = match table::get(fd) {
        Some(Entry::Conn(c)) => {
            return match *c.state.lock() {
                ConnectState::Connecting => fail(libc::EALREADY),
                ConnectState::Connected => fail(libc::EISCONN),
                ConnectState::Failed(e) => {
                    *c.reported.lock() = true;
                    fail(e)
                }
            };
        }
        Some(Entry::Dgram(d)) => return connect_dgram(&d, addr, len),
        Some(Entry::Candidate(c)) => c,
        // SAFETY: the C library's connect with the program's arguments.
        _ => return unsafe { (REAL.connect)(fd, addr, len) },
    };
    // SAFETY: the program vouches for `len` bytes at `addr`.
    let a = unsafe { Addr::read(addr, len) };
    let to_zts = match (config(), a.and_then(|a| a.ip())) {
        (Some(conf), Some(ip)) => {
            let bound_here = c
                .bound
                .and_then(|b| b.ip())
                .is_some_and(|b| !b.is_unspecified());
            node::routes_to_zts(conf, ip) || bound_here
        }
        _ => false,
    };
    let Some(a) = a.filter(|_| to_zts) else {
        table::remove(fd);
        if let Some(b) = c.bound {
            // A wildcard bind kept for zts: the kernel's socket takes it.
            // SAFETY: `b` is a valid address of its length.
            if unsafe { (REAL.bind)(fd, b.ptr(), b.len) } < 0 {
                return -1;
            }
        }
        // SAFETY: as above.
        return unsafe { (REAL.connect)(fd, addr, len) };
    };
    if c.kind == libc::SOCK_DGRAM {
        let placed = c
            .zts
            .clone()
            .map_or_else(|| new_zts_socket(&c), Ok)
            .and_then(|z| dgram::convert(fd, &c, z));
        return match placed {
            Ok(d) => connect_dgram(&d, addr, len),
            Err(e) => fail(e),
        };
    }
    // SAFETY: F_GETFL on the program's fd.
    let nonblock = unsafe { libc::fcntl(fd, libc::F_GETFL) } & libc::O_NONBLOCK != 0;
    match connect_zts(fd, &c, a, nonblock) {
        Ok(_) if nonblock => fail(libc::EINPROGRESS),
        Ok(conn) => match conn.outcome() {
            0 => 0,
            e => {
                *conn.reported.lock() = true;
                fail(e)
            }
        },
        Err(e) => fail(e),
    }
}

/// A zts datagram socket's peer: the only source it receives from and the
/// destination of sends without an address.
fn connect_dgram(d: &Dgram, addr: *const sockaddr, len: socklen_t) -> c_int {
    let z = match usable(&d.zts) {
        Ok(z) => z,
        Err(e) => return fail(e),
    };
    // SAFETY: the program's address, as connect(2) takes it.
    if unsafe { zts_connect(z, addr, len) } < 0 {
        return fail(zts_errno());
    }
    // SAFETY: the program vouches for `len` bytes at `addr`.
    *d.peer.lock() = unsafe { Addr::read(addr, len) };
    0
}

/// Fills the program's end of a new pair until it is not writable; how
/// many bytes that took. The pump drops them once the connect succeeds,
/// and only then does the fd poll writable (a failed connect closes the
/// pair: writable with an error, and SO_ERROR says which).
fn hold_unwritable(fd: c_int) -> usize {
    // Static: this runs on the program's thread, whose stack may be small.
    static FILLER: [u8; 64 * 1024] = [0; 64 * 1024];
    let filler = &FILLER;
    let mut held = 0;
    loop {
        // SAFETY: our buffer; MSG_DONTWAIT stops at a full pair.
        let n = unsafe {
            (REAL.sendto)(
                fd,
                filler.as_ptr().cast(),
                filler.len(),
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                std::ptr::null(),
                0,
            )
        };
        if n <= 0 {
            return held;
        }
        held += n as usize;
    }
}

/// Reads and drops `n` bytes from the pump's end.
fn drop_filler(end: c_int, mut n: usize) {
    let mut buf = [0u8; 64 * 1024];
    while n > 0 {
        // SAFETY: reading into our buffer.
        let got = unsafe { (REAL.read)(end, buf.as_mut_ptr().cast(), buf.len().min(n)) };
        if got <= 0 {
            return;
        }
        n -= got as usize;
    }
}

fn connect_zts(fd: c_int, c: &Candidate, a: Addr, nonblock: bool) -> Result<Arc<Conn>, c_int> {
    let z = match c.zts.clone() {
        Some(z) => z,
        None => new_zts_socket(c)?,
    };
    usable(&z)?;
    let mut pair = [0; 2];
    // SAFETY: `pair` has room for two fds.
    if unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            pair.as_mut_ptr(),
        )
    } < 0
    {
        return Err(errno());
    }
    if let Err(e) = listener::replace_fd(pair[0], fd) {
        // SAFETY: closing our own end.
        unsafe { (REAL.close)(pair[1]) };
        return Err(e);
    }
    replay_socket_options(fd, &c.options);
    let conn = Arc::new(Conn {
        domain: c.domain,
        zts: Some(z.clone()),
        local: Mutex::new(Addr::empty()),
        peer: a,
        state: Mutex::new(ConnectState::Connecting),
        changed: Condvar::new(),
        reported: Mutex::new(false),
    });
    table::set(fd, Entry::Conn(conn.clone()));
    log(format_args!("fd {fd}: connect {:?} on zts", a.ip()));
    let held = if nonblock { hold_unwritable(fd) } else { 0 };
    let (theirs, end) = (conn.clone(), pair[1]);
    let spawned = std::thread::Builder::new()
        .name("zts-connect".into())
        .spawn(move || {
            // SAFETY: `a` is a valid address of its length.
            if unsafe { zts_connect(z.fd, a.ptr(), a.len) } == 0 {
                let mut local = Addr::empty();
                // SAFETY: `local` is a sockaddr_storage with its length.
                unsafe { zts_getsockname(z.fd, local.ptr_mut(), &mut local.len) };
                *theirs.local.lock() = local;
                theirs.decide(ConnectState::Connected);
                drop_filler(end, held);
                pump::start(z, end);
            } else {
                theirs.decide(ConnectState::Failed(zts_errno()));
                // SAFETY: closing our own end: the program reads EOF.
                unsafe { (REAL.close)(end) };
            }
        });
    if spawned.is_err() {
        conn.decide(ConnectState::Failed(libc::EAGAIN));
        // SAFETY: the pump's end, which no thread took.
        unsafe { (REAL.close)(end) };
    }
    Ok(conn)
}

/// accept4(2): the kernel's, on a zts listener's Unix socket; the
/// connection's addresses come off its front.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn accept4(
    fd: c_int,
    addr: *mut sockaddr,
    len: *mut socklen_t,
    flags: c_int,
) -> c_int {
    let Some(Entry::Listener(l)) = table::get(fd) else {
        // SAFETY: the C library's accept4 with the program's arguments.
        let c = unsafe { (REAL.accept4)(fd, addr, len, flags) };
        if c >= 0 {
            table::remove(c);
        }
        return c;
    };
    // SAFETY: as above, with no address (it is a Unix one).
    let c = unsafe { (REAL.accept4)(fd, std::ptr::null_mut(), std::ptr::null_mut(), flags) };
    if c < 0 {
        return c;
    }
    let (peer, local, zts) = match listener::read_header(c, l.zts.pid) {
        Ok(h) => h,
        Err(e) => {
            // SAFETY: closing the connection this call accepted.
            unsafe { (REAL.close)(c) };
            return fail(e);
        }
    };
    // SAFETY: the program vouches for `addr` and `len`.
    unsafe { peer.write(addr, len) };
    let conn = Conn {
        domain: l.domain,
        zts,
        local: Mutex::new(local),
        peer,
        state: Mutex::new(ConnectState::Connected),
        changed: Condvar::new(),
        reported: Mutex::new(false),
    };
    table::set(c, Entry::Conn(Arc::new(conn)));
    log(format_args!("fd {c}: accepted {:?} on zts", peer.ip()));
    c
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn accept(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
    // SAFETY: accept(2) is accept4(2) without flags.
    unsafe { accept4(fd, addr, len, 0) }
}

/// The local address of a zts socket.
fn zts_name(z: &ZtsFd) -> Result<Addr, c_int> {
    let fd = usable(z)?;
    let mut a = Addr::empty();
    // SAFETY: `a` is a sockaddr_storage with its length.
    if unsafe { zts_getsockname(fd, a.ptr_mut(), &mut a.len) } < 0 {
        return Err(zts_errno());
    }
    Ok(a)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn getsockname(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
    let known = match table::get(fd) {
        Some(Entry::Conn(c)) => {
            let local = *c.local.lock();
            // Still connecting: zts has chosen the address already.
            match c.zts.as_deref().map(zts_name) {
                Some(Ok(a)) if local.family() == 0 => Some(a),
                _ => Some(local),
            }
        }
        Some(Entry::Listener(l)) => Some(l.local),
        Some(Entry::Candidate(Candidate { zts: Some(z), .. })) => match zts_name(&z) {
            Ok(a) => Some(a),
            Err(e) => return fail(e),
        },
        Some(Entry::Dgram(d)) => match zts_name(&d.zts) {
            Ok(a) => Some(a),
            Err(e) => return fail(e),
        },
        _ => None,
    };
    match known {
        Some(a) if !addr.is_null() && !len.is_null() => {
            // SAFETY: the program vouches for `addr` and `len`.
            unsafe { a.write(addr, len) };
            0
        }
        Some(_) => fail(libc::EFAULT),
        // SAFETY: the C library's getsockname with the program's arguments.
        None => unsafe { (REAL.getsockname)(fd, addr, len) },
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn getpeername(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
    match table::get(fd) {
        Some(Entry::Conn(c)) if matches!(*c.state.lock(), ConnectState::Connected) => {
            if addr.is_null() || len.is_null() {
                return fail(libc::EFAULT);
            }
            // SAFETY: the program vouches for `addr` and `len`.
            unsafe { c.peer.write(addr, len) };
            0
        }
        Some(Entry::Dgram(d)) => match *d.peer.lock() {
            Some(p) if !addr.is_null() && !len.is_null() => {
                // SAFETY: the program vouches for `addr` and `len`.
                unsafe { p.write(addr, len) };
                0
            }
            Some(_) => fail(libc::EFAULT),
            None => fail(libc::ENOTCONN),
        },
        Some(Entry::Conn(_) | Entry::Listener(_)) => fail(libc::ENOTCONN),
        Some(Entry::Candidate(Candidate { zts: Some(_), .. })) => fail(libc::ENOTCONN),
        // SAFETY: the C library's getpeername with the program's arguments.
        _ => unsafe { (REAL.getpeername)(fd, addr, len) },
    }
}

/// Writes an int option as getsockopt(2) does.
///
/// # Safety
/// `val` and `len` are as the program passed them to getsockopt.
unsafe fn int_option(val: *mut c_void, len: *mut socklen_t, v: c_int) -> c_int {
    if val.is_null() || len.is_null() {
        return fail(libc::EFAULT);
    }
    let bytes = v.to_ne_bytes();
    // SAFETY: the program vouches for `*len` bytes at `val`.
    unsafe {
        let n = (*len as usize).min(bytes.len());
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), val.cast::<u8>(), n);
        *len = n as socklen_t;
    }
    0
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn getsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    val: *mut c_void,
    len: *mut socklen_t,
) -> c_int {
    let stream = libc::SOCK_STREAM;
    let (domain, kind, zts, listening, conn) = match table::get(fd) {
        Some(Entry::Conn(c)) => (c.domain, stream, c.zts.clone(), false, Some(c)),
        Some(Entry::Listener(l)) => (l.domain, stream, Some(l.zts.clone()), true, None),
        Some(Entry::Dgram(d)) => (d.domain, libc::SOCK_DGRAM, Some(d.zts.clone()), false, None),
        Some(Entry::Candidate(Candidate {
            domain,
            kind,
            zts: Some(z),
            ..
        })) => (domain, kind, Some(z), false, None),
        // SAFETY: the C library's getsockopt with the program's arguments.
        _ => return unsafe { (REAL.getsockopt)(fd, level, name, val, len) },
    };
    let value = if level == libc::SOL_SOCKET {
        match name {
            // 0 while the connect is in progress, as on Linux; a failure
            // once.
            libc::SO_ERROR => conn.map_or(0, |c| match *c.state.lock() {
                ConnectState::Failed(e) if !*c.reported.lock() => {
                    *c.reported.lock() = true;
                    e
                }
                _ => 0,
            }),
            libc::SO_TYPE => kind,
            libc::SO_DOMAIN => domain,
            libc::SO_PROTOCOL if kind == stream => libc::IPPROTO_TCP,
            libc::SO_PROTOCOL => libc::IPPROTO_UDP,
            libc::SO_ACCEPTCONN => listening as c_int,
            // SAFETY: the program's arguments, on its (Unix) fd.
            _ => return unsafe { (REAL.getsockopt)(fd, level, name, val, len) },
        }
    } else if let Some(z) = zts.and_then(|z| z.here()) {
        // SAFETY: the program's arguments, on the zts socket behind its fd.
        return unsafe { zts_getsockopt(z, level, name, val, len) };
    } else {
        // An accepted connection in a forked child: its zts socket lives
        // in the parent. Its options read as zero there.
        0
    };
    // SAFETY: the program's value buffer and length, as getsockopt takes.
    unsafe { int_option(val, len, value) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn setsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    val: *const c_void,
    len: socklen_t,
) -> c_int {
    let entry = table::get(fd);
    if let Some(Entry::Candidate(mut c)) = entry {
        // SAFETY: the C library's setsockopt with the program's arguments.
        let r = unsafe { (REAL.setsockopt)(fd, level, name, val, len) };
        if r == 0 && !val.is_null() {
            // SAFETY: the kernel just read `len` bytes at `val`.
            let bytes = unsafe { std::slice::from_raw_parts(val.cast::<u8>(), len as usize) };
            c.options.push((level, name, bytes.to_vec()));
            if let Some(z) = &c.zts {
                // SAFETY: the same option on the zts socket.
                unsafe { zts_setsockopt(z.fd, level, name, val, len) };
            }
            table::set(fd, Entry::Candidate(c));
        }
        return r;
    }
    let zts = match entry {
        Some(Entry::Conn(c)) => c.zts.clone(),
        Some(Entry::Listener(l)) => Some(l.zts.clone()),
        Some(Entry::Dgram(d)) => Some(d.zts.clone()),
        // SAFETY: as above.
        _ => return unsafe { (REAL.setsockopt)(fd, level, name, val, len) },
    };
    if let Some(z) = zts.and_then(|z| z.here()) {
        // SAFETY: the program's arguments, on the zts socket behind its fd.
        if unsafe { zts_setsockopt(z, level, name, val, len) } < 0 {
            log(format_args!(
                "fd {fd}: option {level}/{name} not applied on zts: errno {}",
                zts_errno()
            ));
        }
    }
    if level == libc::SOL_SOCKET {
        // Buffer sizes and the like also reach the Unix end; an option it
        // lacks is not the program's concern.
        // SAFETY: as above.
        unsafe { (REAL.setsockopt)(fd, level, name, val, len) };
    }
    0
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn close(fd: c_int) -> c_int {
    table::remove(fd);
    // SAFETY: the C library's close with the program's argument.
    unsafe { (REAL.close)(fd) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn dup(fd: c_int) -> c_int {
    // SAFETY: the C library's dup with the program's argument.
    let n = unsafe { (REAL.dup)(fd) };
    if n >= 0 {
        table::copy(fd, n);
    }
    n
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn dup2(fd: c_int, to: c_int) -> c_int {
    // SAFETY: the C library's dup2 with the program's arguments.
    let n = unsafe { (REAL.dup2)(fd, to) };
    if n >= 0 && fd != to {
        table::copy(fd, n);
    }
    n
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn dup3(fd: c_int, to: c_int, flags: c_int) -> c_int {
    // SAFETY: the C library's dup3 with the program's arguments.
    let n = unsafe { (REAL.dup3)(fd, to, flags) };
    if n >= 0 {
        table::copy(fd, n);
    }
    n
}

/// fcntl(2) duplicates with F_DUPFD and F_DUPFD_CLOEXEC (Python's os.dup
/// does). The C declaration is variadic; the one argument any command
/// takes (an int, a long or a pointer) arrives in the same register as a
/// fixed third argument on Linux's 64-bit ABIs.
unsafe fn fcntl_with(
    real: unsafe extern "C" fn(c_int, c_int, ...) -> c_int,
    fd: c_int,
    cmd: c_int,
    arg: usize,
) -> c_int {
    // SAFETY: the C library's fcntl with the program's arguments.
    let r = unsafe { real(fd, cmd, arg) };
    if r >= 0 && (cmd == libc::F_DUPFD || cmd == libc::F_DUPFD_CLOEXEC) {
        table::copy(fd, r);
    }
    r
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn fcntl(fd: c_int, cmd: c_int, arg: usize) -> c_int {
    // SAFETY: as fcntl(2).
    unsafe { fcntl_with(REAL.fcntl, fd, cmd, arg) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn fcntl64(fd: c_int, cmd: c_int, arg: usize) -> c_int {
    // SAFETY: as fcntl(2).
    unsafe { fcntl_with(REAL.fcntl64, fd, cmd, arg) }
}
