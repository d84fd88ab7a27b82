//! The C ABI: every `extern "C"` function lives here, grouped by family.
//! Each checks its arguments, calls safe Rust and maps `Err(errno)` to -1
//! with the thread's errno set. No panic crosses into C.
//!
//! The doc comment of each function (copied into zts.h) says what its
//! pointer arguments must be, in C terms, instead of a `# Safety` section.

#![allow(clippy::missing_safety_doc)]

pub mod addr;
pub mod errno;
pub mod events;
pub mod io;
pub mod names;
pub mod node;
pub mod options;
pub mod poll;
pub mod socket;
pub mod watch;

use crate::error::{Errno, Result};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs one C call: `Ok(v)` returns `v`; `Err(e)` and panics return
/// `failed` with errno set (EIO for a panic).
pub(crate) fn call<T>(failed: T, f: impl FnOnce() -> Result<T>) -> T {
    crate::error::clear_detail();
    match crate::wake::in_call(|| catch_unwind(AssertUnwindSafe(f))) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            errno::set(e);
            failed
        }
        Err(_) => {
            errno::set(Errno::EIO);
            failed
        }
    }
}

/// A C string argument as UTF-8: NULL is EFAULT, bad UTF-8 EINVAL.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string valid for the call.
pub(crate) unsafe fn c_str<'a>(p: *const libc::c_char) -> Result<&'a str> {
    if p.is_null() {
        return Err(Errno::EFAULT);
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    unsafe { std::ffi::CStr::from_ptr(p) }
        .to_str()
        .map_err(|_| Errno::EINVAL)
}

/// A caller's buffer as a slice: NULL is fine only with length 0.
///
/// # Safety
/// `p` is NULL or valid for `len` bytes for the call.
pub(crate) unsafe fn in_buf<'a>(p: *const libc::c_void, len: usize) -> Result<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Errno::EFAULT);
    }
    if len > isize::MAX as usize {
        return Err(Errno::EINVAL);
    }
    // SAFETY: non-NULL and valid for len bytes per the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(p as *const u8, len) })
}

/// A caller's writable buffer as a slice: NULL is fine only with length 0.
///
/// # Safety
/// `p` is NULL or valid for writes of `len` bytes for the call.
pub(crate) unsafe fn out_buf<'a>(p: *mut libc::c_void, len: usize) -> Result<&'a mut [u8]> {
    if len == 0 {
        return Ok(&mut []);
    }
    if p.is_null() {
        return Err(Errno::EFAULT);
    }
    if len > isize::MAX as usize {
        return Err(Errno::EINVAL);
    }
    // SAFETY: non-NULL and valid for len bytes per the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts_mut(p as *mut u8, len) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_eio_and_never_unwinds_out() {
        let r = call(-1, || -> Result<i32> { panic!("forced") });
        assert_eq!(r, -1);
        assert_eq!(errno::zts_errno(), libc::EIO);
        assert_eq!(call(-1, || Ok(7)), 7);
    }

    #[test]
    fn null_buffers_are_fine_only_when_empty() {
        // SAFETY: NULL with length 0 never dereferences.
        assert!(unsafe { in_buf(std::ptr::null(), 0) }.is_ok());
        // SAFETY: NULL with length > 0 is rejected before any access.
        assert_eq!(
            unsafe { in_buf(std::ptr::null(), 1) }.err(),
            Some(Errno::EFAULT)
        );
        // SAFETY: as above.
        assert_eq!(
            unsafe { out_buf(std::ptr::null_mut(), 1) }.err(),
            Some(Errno::EFAULT)
        );
    }
}
