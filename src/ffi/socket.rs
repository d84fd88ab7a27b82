//! Creating, connecting and closing sockets.

use super::{addr, call};
use crate::node;
use crate::socket::table;
use libc::{c_int, sockaddr, socklen_t};

/// Creates a socket on node `node` and returns its fd. `domain` is AF_INET
/// or AF_INET6; `type` (optionally or'ed with SOCK_NONBLOCK) and
/// `protocol`: SOCK_STREAM with 0 or IPPROTO_TCP; SOCK_DGRAM with 0 or
/// IPPROTO_UDP; SOCK_DGRAM with IPPROTO_ICMP (AF_INET) or IPPROTO_ICMPV6
/// (AF_INET6) for a ping socket, as on Linux; SOCK_RAW with an IP protocol
/// number (IPv4 raw sockets receive the IP header, IPv6 ones do not).
///
/// Errors: ENODEV (no such node), ENETDOWN (node not running),
/// EAFNOSUPPORT (domain), EPROTONOSUPPORT / EINVAL (type or protocol),
/// EMFILE (fd table full).
#[unsafe(no_mangle)]
pub extern "C" fn zts_node_socket(
    node: c_int,
    domain: c_int,
    r#type: c_int,
    protocol: c_int,
) -> c_int {
    call(-1, || {
        if domain != libc::AF_INET && domain != libc::AF_INET6 {
            return Err(crate::error::Errno::EAFNOSUPPORT);
        }
        let sock = node::get(node)?.socket(domain, r#type, protocol)?;
        table::insert(sock)
    })
}

/// `zts_node_socket` on the default node (see `zts_node_set_default`);
/// ENETDOWN if there is none.
#[unsafe(no_mangle)]
pub extern "C" fn zts_socket(domain: c_int, r#type: c_int, protocol: c_int) -> c_int {
    call(-1, || {
        if domain != libc::AF_INET && domain != libc::AF_INET6 {
            return Err(crate::error::Errno::EAFNOSUPPORT);
        }
        let sock = node::default_node()?.socket(domain, r#type, protocol)?;
        table::insert(sock)
    })
}

/// Binds the socket to a local address of its node (or the wildcard) and
/// port (0 picks one). `addr` is read during the call only.
///
/// Errors: EBADF, EFAULT (NULL addr), EINVAL (length too short for the
/// family, family differs from the socket's, or already bound),
/// EADDRNOTAVAIL (not an address of this node), EADDRINUSE.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_bind(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    call(-1, || {
        let sock = table::get(fd)?;
        // SAFETY: addr is NULL or valid for len bytes per the C contract.
        let sa = unsafe { addr::read(addr, len, sock.domain) }?;
        sock.bind(sa)?;
        Ok(0)
    })
}

/// Listens for connections; up to `backlog` (clamped to 1..4096) can wait
/// to be accepted. Binds an ephemeral port if unbound.
/// Errors: EBADF, EINVAL (connected), EADDRINUSE (another listener).
#[unsafe(no_mangle)]
pub extern "C" fn zts_listen(fd: c_int, backlog: c_int) -> c_int {
    call(-1, || {
        table::get(fd)?.listen(backlog)?;
        Ok(0)
    })
}

/// Accepts a connection and returns its fd; the peer's address goes to
/// `addr` (may be NULL) truncated to `*len`, and `*len` is set to its size.
/// Blocks unless O_NONBLOCK (then EAGAIN); SO_RCVTIMEO bounds the wait
/// (EAGAIN). Errors: EBADF (also when the fd is closed while waiting),
/// EINVAL (not listening), ENETDOWN (node stopped), EFAULT, EMFILE.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_accept(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
    call(-1, || {
        let sock = table::get(fd)?;
        if !addr.is_null() && len.is_null() {
            return Err(crate::error::Errno::EFAULT);
        }
        let (child, peer) = sock.accept()?;
        // SAFETY: addr/len are NULL or valid per the C contract.
        if let Err(e) = unsafe { addr::write(peer, sock.domain, addr, len) } {
            child.close();
            return Err(e);
        }
        table::insert(child.clone()).inspect_err(|_| child.close())
    })
}

/// Connects to `addr`. Blocks until connected unless O_NONBLOCK, which
/// gives EINPROGRESS (completion: POLLOUT from zts_poll, then SO_ERROR).
/// The wait is bounded by SO_SNDTIMEO (default 30 s), then ETIMEDOUT.
///
/// Errors: EBADF, EFAULT, EINVAL (length or family), ECONNREFUSED,
/// ETIMEDOUT, ENETUNREACH (no network reaches addr), EALREADY, EISCONN,
/// ENETDOWN (node stopped).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    call(-1, || {
        let sock = table::get(fd)?;
        // SAFETY: addr is NULL or valid for len bytes per the C contract.
        let sa = unsafe { addr::read(addr, len, sock.domain) }?;
        sock.connect(sa)?;
        Ok(0)
    })
}

/// Shuts down reading (SHUT_RD), writing (SHUT_WR: the peer reads 0 once
/// queued data is delivered) or both. Errors: EBADF, EINVAL, ENOTCONN.
#[unsafe(no_mangle)]
pub extern "C" fn zts_shutdown(fd: c_int, how: c_int) -> c_int {
    call(-1, || {
        table::get(fd)?.shutdown(how)?;
        Ok(0)
    })
}

/// Closes the fd. Queued data is still delivered, then the connection is
/// closed (SO_LINGER {1, 0} resets it instead). Threads blocked on the fd
/// return -1 with EBADF at once. Errors: EBADF.
#[unsafe(no_mangle)]
pub extern "C" fn zts_close(fd: c_int) -> c_int {
    call(-1, || {
        table::remove(fd)?.close();
        Ok(0)
    })
}

/// The socket's local address (see zts_accept for `addr`/`len`).
/// Errors: EBADF, EFAULT.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_getsockname(
    fd: c_int,
    addr: *mut sockaddr,
    len: *mut socklen_t,
) -> c_int {
    call(-1, || {
        let sock = table::get(fd)?;
        if addr.is_null() || len.is_null() {
            return Err(crate::error::Errno::EFAULT);
        }
        // SAFETY: addr/len are valid per the C contract.
        unsafe { addr::write(sock.local_addr()?, sock.domain, addr, len) }?;
        Ok(0)
    })
}

/// The connected peer's address (see zts_accept for `addr`/`len`).
/// Errors: EBADF, EFAULT, ENOTCONN.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_getpeername(
    fd: c_int,
    addr: *mut sockaddr,
    len: *mut socklen_t,
) -> c_int {
    call(-1, || {
        let sock = table::get(fd)?;
        if addr.is_null() || len.is_null() {
            return Err(crate::error::Errno::EFAULT);
        }
        let peer = sock.peer_addr()?;
        // SAFETY: addr/len are valid per the C contract.
        unsafe { addr::write(peer, sock.domain, addr, len) }?;
        Ok(0)
    })
}
