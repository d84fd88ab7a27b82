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
/// network `net` of the node; works on a stopped or running node.
///
/// Errors: ENODEV, EFAULT, EINVAL (bad CIDR or network id), EADDRINUSE
/// (the node already has it), ENOBUFS (more than 8 addresses on one network).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_addr_add(node: c_int, net: c_int, cidr: *const c_char) -> c_int {
    call(-1, || {
        // SAFETY: cidr is NULL or a NUL-terminated string per the C contract.
        let cidr = unsafe { c_str(cidr) }?;
        node::get(node)?.add_addr(net, cidr)?;
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
