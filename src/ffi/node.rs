//! Nodes and networks.

use super::{c_str, call};
use crate::node;
use libc::{c_char, c_int};

/// Creates a stopped node and returns its id (a small non-negative int),
/// or -1 with errno set.
#[unsafe(no_mangle)]
pub extern "C" fn zts_node_new() -> c_int {
    call(-1, node::new_node)
}

/// Joins the node to the network `uri` names and returns the network's id
/// within the node (0 for the first). The node must be stopped.
///
/// URIs: `mem:NAME` joins the in-process Ethernet segment NAME shared by
/// every node of this process that joined it; `?mtu=N` sets the MTU
/// (576..65535, default 1500). `uri` is borrowed for the call only.
///
/// Errors: ENODEV (no such node), EFAULT (NULL uri), EINVAL (malformed
/// URI or option), EPROTONOSUPPORT (unknown scheme), EISCONN (node running).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_net_join(node: c_int, uri: *const c_char) -> c_int {
    call(-1, || {
        // SAFETY: uri is NULL or a NUL-terminated string per the C contract.
        let uri = unsafe { c_str(uri) }?;
        node::get(node)?.join(uri)
    })
}

/// Adds an address with its prefix length ("10.0.0.1/24", "fd00::1/64") to
/// network `net` of the node; works on a stopped or running node. "dhcp"
/// instead runs a DHCPv4 client on the network while the node runs: the
/// lease brings the IPv4 address, the default route and DNS servers, each
/// announced by ZTS_EVENT_ADDR_ADDED (and ZTS_EVENT_ADDR_REMOVED when the
/// lease ends).
///
/// Errors: ENODEV, EFAULT, EINVAL (bad CIDR or network id), EADDRINUSE
/// (the node already has it), ENOBUFS (more than 8 addresses on one
/// network), EALREADY (DHCP already on for the network).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_addr_add(node: c_int, net: c_int, cidr: *const c_char) -> c_int {
    call(-1, || {
        // SAFETY: cidr is NULL or a NUL-terminated string per the C contract.
        let cidr = unsafe { c_str(cidr) }?;
        node::get(node)?.add_addr(net, cidr)?;
        Ok(0)
    })
}

/// Routes `cidr` ("0.0.0.0/0" for the default route, "fd00:9::/64", ...)
/// through the gateway `via`, which must lie in the subnet of one of the
/// node's networks: that network carries the traffic. Works on a stopped
/// or running node; a route for the same prefix is replaced.
///
/// Errors: ENODEV, EFAULT, EINVAL (bad CIDR or gateway, mixed families),
/// ENETUNREACH (no network's subnet holds the gateway).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_route_add(
    node: c_int,
    cidr: *const c_char,
    via: *const c_char,
) -> c_int {
    call(-1, || {
        // SAFETY: cidr and via are NULL or NUL-terminated strings per the C contract.
        let (cidr, via) = unsafe { (c_str(cidr)?, c_str(via)?) };
        node::get(node)?.add_route(cidr, via)?;
        Ok(0)
    })
}

/// Writes the first address of `family` (AF_INET or AF_INET6) on network
/// `net` of the node to `*out` (a `struct sockaddr_storage` holding a
/// `sockaddr_in` or `sockaddr_in6` with port 0).
///
/// Errors: ENODEV, EFAULT (NULL out), EINVAL (no such network),
/// EAFNOSUPPORT (family), EADDRNOTAVAIL (no address of that family yet).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_addr_get(
    node: c_int,
    net: c_int,
    family: c_int,
    out: *mut libc::sockaddr_storage,
) -> c_int {
    call(-1, || {
        if out.is_null() {
            return Err(crate::error::Errno::EFAULT);
        }
        let ip = node::get(node)?.addr_get(net, family)?;
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        // SAFETY: out is non-NULL and points to a sockaddr_storage per the C contract.
        unsafe {
            super::addr::write(
                std::net::SocketAddr::new(ip, 0),
                family,
                out as *mut libc::sockaddr,
                &mut len,
            )
        }?;
        Ok(0)
    })
}

/// Starts the node: attaches it to its networks and spawns its stack
/// thread. Errors: ENODEV, EALREADY (already running).
#[unsafe(no_mangle)]
pub extern "C" fn zts_node_start(node: c_int) -> c_int {
    call(-1, || {
        node::get(node)?.start()?;
        Ok(0)
    })
}

/// Stops the node: its connections are reset, calls blocked on its sockets
/// return -1 with ENETDOWN, and its threads are joined. Its fds stay open
/// (every call on them fails with ENETDOWN) until closed. The node can be
/// started again. Errors: ENODEV, ENETDOWN (not running).
#[unsafe(no_mangle)]
pub extern "C" fn zts_node_stop(node: c_int) -> c_int {
    call(-1, || {
        node::get(node)?.stop()?;
        Ok(0)
    })
}

/// Stops the node if it runs and forgets it; its id becomes invalid.
/// Errors: ENODEV.
#[unsafe(no_mangle)]
pub extern "C" fn zts_node_free(node: c_int) -> c_int {
    call(-1, || {
        node::free(node)?;
        Ok(0)
    })
}

/// Makes `node` the one `zts_socket` creates sockets on. Errors: ENODEV.
#[unsafe(no_mangle)]
pub extern "C" fn zts_node_set_default(node: c_int) -> c_int {
    call(-1, || {
        node::set_default(node)?;
        Ok(0)
    })
}

/// The library's version, e.g. "0.1.0"; a static string, never freed.
#[unsafe(no_mangle)]
pub extern "C" fn zts_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}
