//! Option values at the boundary: zts_setsockopt then zts_getsockopt with
//! any level, name, value and output length, on every kind of socket.
//! Input: [socket kind, level, name, output length, value bytes...].
#![no_main]

use libfuzzer_sys::fuzz_target;
use zts::ffi::options::{zts_getsockopt, zts_setsockopt};
use zts::ffi::socket::*;

const KINDS: [(i32, i32, i32); 6] = [
    (libc::AF_INET, libc::SOCK_STREAM, 0),
    (libc::AF_INET6, libc::SOCK_STREAM, 0),
    (libc::AF_INET, libc::SOCK_DGRAM, 0),
    (libc::AF_INET6, libc::SOCK_DGRAM, 0),
    (libc::AF_INET, libc::SOCK_DGRAM, libc::IPPROTO_ICMP),
    (libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_UDP),
];
const LEVELS: [i32; 5] = [
    libc::SOL_SOCKET,
    libc::IPPROTO_TCP,
    libc::IPPROTO_IP,
    libc::IPPROTO_IPV6,
    libc::IPPROTO_UDP,
];

fuzz_target!(|data: &[u8]| {
    let [kind, level, name, out_len, value @ ..] = data else {
        return;
    };
    let (domain, ty, proto) = KINDS[*kind as usize % KINDS.len()];
    let level = LEVELS
        .get(*level as usize)
        .copied()
        .unwrap_or(*level as i32);
    let fd = zts_node_socket(zts_fuzz::rig().node, domain, ty, proto);
    assert!(fd >= 0);
    let mut out = vec![0u8; *out_len as usize];
    let mut len = *out_len as libc::socklen_t;
    // SAFETY: value and out are valid for the lengths passed with them.
    unsafe {
        let rc = zts_setsockopt(
            fd,
            level,
            *name as i32,
            value.as_ptr() as *const _,
            value.len() as u32,
        );
        assert!(rc == 0 || rc == -1);
        let rc = zts_getsockopt(
            fd,
            level,
            *name as i32,
            out.as_mut_ptr() as *mut _,
            &mut len,
        );
        assert!(rc == 0 || rc == -1);
        assert!(
            rc != 0 || len <= *out_len as libc::socklen_t,
            "getsockopt wrote past the length"
        );
    }
    assert_eq!(zts_close(fd), 0);
});
