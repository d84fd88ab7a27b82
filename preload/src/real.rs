//! The C library's own functions, found past this library
//! (`dlsym(RTLD_NEXT)`): every hook ends in one of them for sockets that
//! stay on the kernel, and zts's own calls reach them through the hooks.

use libc::{
    addrinfo, c_char, c_int, c_uint, c_void, hostent, iovec, mmsghdr, msghdr, size_t, sockaddr,
    socklen_t, ssize_t, timespec,
};
use once_cell::sync::Lazy;

/// Looks `name` (NUL-terminated) up past this library; aborts with a line
/// on stderr if the C library lacks it, since no socket call could work.
/// fcntl64 (glibc 2.28) falls back to fcntl.
fn next(name: &[u8]) -> *mut c_void {
    // SAFETY: `name` is a NUL-terminated literal; RTLD_NEXT is a valid handle.
    let f = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr().cast()) };
    if f.is_null() && name == b"fcntl64\0" {
        return next(b"fcntl\0");
    }
    if f.is_null() {
        let msg = b"zts-preload: the C library has no socket call it needs\n";
        // SAFETY: a raw write of a static buffer to stderr: write(2) is
        // hooked here, and REAL is what is being built.
        unsafe { libc::syscall(libc::SYS_write, 2, msg.as_ptr(), msg.len()) };
        std::process::abort();
    }
    f
}

/// The struct of the C library's functions, each looked up once.
macro_rules! real {
    ($($name:ident: $ty:ty,)*) => {
        pub struct Real {
            $(pub $name: $ty,)*
        }

        pub static REAL: Lazy<Real> = Lazy::new(|| Real {
            // SAFETY: each symbol is the C library's function of that name,
            // whose signature the field's type spells as the C library
            // declares it.
            $($name: unsafe {
                std::mem::transmute::<*mut c_void, $ty>(next(concat!(stringify!($name), "\0").as_bytes()))
            },)*
        });
    };
}

real! {
    socket: unsafe extern "C" fn(c_int, c_int, c_int) -> c_int,
    bind: unsafe extern "C" fn(c_int, *const sockaddr, socklen_t) -> c_int,
    listen: unsafe extern "C" fn(c_int, c_int) -> c_int,
    connect: unsafe extern "C" fn(c_int, *const sockaddr, socklen_t) -> c_int,
    accept4: unsafe extern "C" fn(c_int, *mut sockaddr, *mut socklen_t, c_int) -> c_int,
    close: unsafe extern "C" fn(c_int) -> c_int,
    getsockname: unsafe extern "C" fn(c_int, *mut sockaddr, *mut socklen_t) -> c_int,
    getpeername: unsafe extern "C" fn(c_int, *mut sockaddr, *mut socklen_t) -> c_int,
    getsockopt: unsafe extern "C" fn(c_int, c_int, c_int, *mut c_void, *mut socklen_t) -> c_int,
    setsockopt: unsafe extern "C" fn(c_int, c_int, c_int, *const c_void, socklen_t) -> c_int,
    dup: unsafe extern "C" fn(c_int) -> c_int,
    dup2: unsafe extern "C" fn(c_int, c_int) -> c_int,
    dup3: unsafe extern "C" fn(c_int, c_int, c_int) -> c_int,
    fcntl: unsafe extern "C" fn(c_int, c_int, ...) -> c_int,
    fcntl64: unsafe extern "C" fn(c_int, c_int, ...) -> c_int,
    read: unsafe extern "C" fn(c_int, *mut c_void, size_t) -> ssize_t,
    write: unsafe extern "C" fn(c_int, *const c_void, size_t) -> ssize_t,
    readv: unsafe extern "C" fn(c_int, *const iovec, c_int) -> ssize_t,
    __read_chk: unsafe extern "C" fn(c_int, *mut c_void, size_t, size_t) -> ssize_t,
    __recv_chk: unsafe extern "C" fn(c_int, *mut c_void, size_t, size_t, c_int) -> ssize_t,
    __recvfrom_chk: unsafe extern "C" fn(c_int, *mut c_void, size_t, size_t, c_int, *mut sockaddr, *mut socklen_t) -> ssize_t,
    writev: unsafe extern "C" fn(c_int, *const iovec, c_int) -> ssize_t,
    recvfrom: unsafe extern "C" fn(c_int, *mut c_void, size_t, c_int, *mut sockaddr, *mut socklen_t) -> ssize_t,
    sendto: unsafe extern "C" fn(c_int, *const c_void, size_t, c_int, *const sockaddr, socklen_t) -> ssize_t,
    recvmsg: unsafe extern "C" fn(c_int, *mut msghdr, c_int) -> ssize_t,
    sendmsg: unsafe extern "C" fn(c_int, *const msghdr, c_int) -> ssize_t,
    sendmmsg: unsafe extern "C" fn(c_int, *mut mmsghdr, c_uint, c_int) -> c_int,
    recvmmsg: unsafe extern "C" fn(c_int, *mut mmsghdr, c_uint, c_int, *mut timespec) -> c_int,
    getaddrinfo: unsafe extern "C" fn(*const c_char, *const c_char, *const addrinfo, *mut *mut addrinfo) -> c_int,
    gethostbyname: unsafe extern "C" fn(*const c_char) -> *mut hostent,
}
