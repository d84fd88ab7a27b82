//! The calls that close and copy fds, so the table follows them.

// Each hook's safety contract is that of its C library namesake.
#![allow(clippy::missing_safety_doc)]

use crate::real::REAL;
use crate::table;
use libc::c_int;

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
