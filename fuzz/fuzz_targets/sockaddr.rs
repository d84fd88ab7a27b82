//! sockaddr decoding at the boundary: bind, connect, sendto and
//! getsockname with whatever bytes and lengths a caller may pass.
//! Input: [operation, family, declared length, address bytes...].
#![no_main]

use libfuzzer_sys::fuzz_target;
use zts::ffi::io::zts_sendto;
use zts::ffi::options::zts_fcntl;
use zts::ffi::socket::*;

fuzz_target!(|data: &[u8]| {
    let [op, family, declared, addr @ ..] = data else {
        return;
    };
    let node = zts_fuzz::rig().node;
    let domain = if family & 1 == 0 {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    let ty = if op & 0x80 == 0 {
        libc::SOCK_DGRAM
    } else {
        libc::SOCK_STREAM
    };
    let fd = zts_node_socket(node, domain, ty, 0);
    assert!(fd >= 0);
    // Never block: a TCP connect only starts.
    assert_eq!(zts_fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK), 0);
    // The length never exceeds the bytes there (a longer one is the
    // caller's undefined behaviour, as with the kernel).
    let len = (*declared as usize).min(addr.len()) as libc::socklen_t;
    let ptr = if op & 0x40 != 0 {
        std::ptr::null()
    } else {
        addr.as_ptr() as *const libc::sockaddr
    };
    // SAFETY: ptr is NULL or valid for len bytes; out buffers below are
    // as large as the lengths passed with them.
    unsafe {
        let rc = match op & 3 {
            0 => zts_bind(fd, ptr, len),
            1 => zts_connect(fd, ptr, len),
            2 => zts_sendto(
                fd,
                b"x".as_ptr() as *const _,
                1,
                libc::MSG_DONTWAIT,
                ptr,
                len,
            ) as i32,
            _ => {
                let mut out = vec![0u8; *declared as usize];
                let mut out_len = *declared as libc::socklen_t;
                let rc = zts_getsockname(fd, out.as_mut_ptr() as *mut _, &mut out_len);
                assert!(rc != 0 || out_len as usize <= std::mem::size_of::<libc::sockaddr_in6>());
                rc
            }
        };
        assert!(rc >= -1);
    }
    assert_eq!(zts_close(fd), 0);
});
