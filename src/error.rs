//! The error type every layer returns: a platform errno value.

use std::fmt;

/// A platform `errno` value (`libc::EBADF`, ...).
#[derive(Copy, Clone, PartialEq, Eq)]
pub struct Errno(pub i32);

pub type Result<T> = std::result::Result<T, Errno>;

thread_local! {
    /// Why the last failing call on this thread failed, when an errno
    /// alone says too little (zts_errmsg).
    static DETAIL: std::cell::RefCell<Option<std::ffi::CString>> = const { std::cell::RefCell::new(None) };
}

impl Errno {
    /// Attaches an explanation to this error for the calling thread.
    pub fn detail(self, why: String) -> Errno {
        let text = std::ffi::CString::new(why.replace('\0', " ")).ok();
        DETAIL.with(|d| *d.borrow_mut() = text);
        self
    }
}

/// Forgets the explanation of an earlier failure (each call starts clean).
pub fn clear_detail() {
    DETAIL.with(|d| *d.borrow_mut() = None);
}

/// The explanation attached to this thread's last failure, if any; the
/// pointer stays valid until this thread's next zts call.
pub fn detail_ptr() -> Option<*const libc::c_char> {
    DETAIL.with(|d| d.borrow().as_ref().map(|c| c.as_ptr()))
}

macro_rules! errnos {
    ($($name:ident),* $(,)?) => {
        impl Errno {
            $(pub const $name: Errno = Errno(libc::$name);)*
        }
    };
}

errnos!(
    EADDRINUSE,
    EADDRNOTAVAIL,
    EAFNOSUPPORT,
    EACCES,
    EAGAIN,
    EALREADY,
    EBADF,
    ECONNABORTED,
    ECONNREFUSED,
    ECONNRESET,
    EDESTADDRREQ,
    EDOM,
    EFAULT,
    EHOSTUNREACH,
    EINPROGRESS,
    EINVAL,
    EIO,
    EISCONN,
    EMFILE,
    EMSGSIZE,
    ENETDOWN,
    ENETUNREACH,
    ENOBUFS,
    ENODEV,
    ENOENT,
    ENOPROTOOPT,
    ENOTCONN,
    ENOTSOCK,
    ENOTTY,
    EOPNOTSUPP,
    EPERM,
    EPIPE,
    EPROTONOSUPPORT,
    EPROTOTYPE,
    ETIMEDOUT,
);

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Errno({}: {})",
            self.0,
            std::io::Error::from_raw_os_error(self.0)
        )
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&std::io::Error::from_raw_os_error(self.0), f)
    }
}
