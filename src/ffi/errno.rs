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
