//! The thread's last error, kept both in libc's errno (so `perror` works)
//! and in a thread-local that later libc calls cannot overwrite.

use crate::error::Errno;
use std::cell::Cell;

thread_local! {
    static LAST: Cell<i32> = const { Cell::new(0) };
}

pub(crate) fn set(e: Errno) {
    LAST.with(|l| l.set(e.0));
    // SAFETY: __errno_location returns this thread's errno slot, always valid.
    unsafe { *libc::__errno_location() = e.0 };
}

/// The calling thread's last zts error (the errno value the last failing
/// zts call set); 0 if no zts call has failed on this thread.
#[unsafe(no_mangle)]
pub extern "C" fn zts_errno() -> libc::c_int {
    LAST.with(|l| l.get())
}

/// Why the calling thread's last failing zts call failed: a detailed
/// explanation when there is one (for example why a TAP device cannot be
/// created), else the errno's standard text. Valid until this thread's
/// next zts call; never freed by the caller.
#[unsafe(no_mangle)]
pub extern "C" fn zts_errmsg() -> *const libc::c_char {
    match crate::error::detail_ptr() {
        Some(p) => p,
        // SAFETY: strerror returns a valid C string for any errno.
        None => unsafe { libc::strerror(zts_errno()) },
    }
}
