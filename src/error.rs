//! The error type every layer returns: a platform errno value.

use std::fmt;

/// A platform `errno` value (`libc::EBADF`, ...).
#[derive(Copy, Clone, PartialEq, Eq)]
pub struct Errno(pub i32);

pub type Result<T> = std::result::Result<T, Errno>;

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
