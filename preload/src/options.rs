//! getsockopt(2) and setsockopt(2) on the program's zts sockets.

// Each hook's safety contract is that of its C library namesake.
#![allow(clippy::missing_safety_doc)]

use crate::hooks::fail;
use crate::node::log;
use crate::real::REAL;
use crate::table::{self, Candidate, Entry};
use libc::{c_int, c_void, socklen_t};
use zts::ffi::errno::zts_errno;
use zts::ffi::options::*;

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
            libc::SO_ERROR => conn.map_or(0, |c| c.error_once()),
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
