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
/// within the node (0 for the first). The node must be stopped. `uri` is
/// read during the call only.
///
/// - `mem:NAME`: the in-process Ethernet segment NAME, shared by every node
///   of this process that joined it. Impairment of what this node sends:
///   `loss=P`, `dup=P`, `reorder=P`, `corrupt=P` (probabilities 0..1),
///   `delay_ms=N`, `jitter_ms=N`, `seed=N` (the same seed, the same run).
///   A TCP segment of up to 64 KiB crosses the switch as one frame, as on
///   the kernel's loopback and veth (cut to the MTU's frames where they are
///   impaired or shown); `gso=off` sends only frames of the MTU's size.
/// - `vxlan://BIND_IP:PORT?vni=N&peer=IP:PORT[&peer=...][&learn=1]`:
///   Ethernet in UDP with the RFC 7348 header, interoperable with Linux
///   `vxlan` devices. The socket is bound at the join (port 0 picks one;
///   zts_net_get_port reads it). Broadcast and unknown unicast go to every
///   peer; a learned MAC only to its peer. Datagrams from other endpoints
///   are dropped (counted) unless `learn=1`. Peers are matched by address.
/// - `tap:NAME`: a Linux TAP device (created if missing); needs
///   CAP_NET_ADMIN, else EPERM with the reason in zts_errmsg().
/// - Every backend: `mtu=N` (576..65535, default 1500) and `pcap=PATH`
///   (every frame both ways, written to a pcap file from the join on).
///
/// Errors: ENODEV (no such node), EFAULT (NULL uri), EINVAL (malformed
/// URI or option), EPROTONOSUPPORT (unknown scheme), EISCONN (node
/// running), EADDRINUSE (VXLAN port taken), errors creating the pcap file.
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

/// Frame counters of one network of a node (zts_net_stats).
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct zts_net_stats {
    /// Frames (and their bytes) the node received from the network.
    pub rx_frames: u64,
    pub rx_bytes: u64,
    /// Frames (and their bytes) the node put on the network.
    pub tx_frames: u64,
    pub tx_bytes: u64,
    /// Received frames dropped because the node's queue was full.
    pub drop_queue_full: u64,
    /// VXLAN datagrams from an endpoint that is not a peer (learn=0).
    pub drop_not_peer: u64,
    /// Frames too short, with a bad VXLAN header, or the wrong VNI.
    pub drop_malformed: u64,
    /// Frames larger than the network's MTU.
    pub drop_oversize: u64,
    /// Frames the in-process switch lost on purpose (loss=).
    pub drop_impaired: u64,
    /// Frames the OS refused to send (a full socket buffer, say).
    pub drop_send_failed: u64,
}

/// Copies the frame counters of network `net` of the node into `*out`.
/// They count from the join and survive stop and start.
/// Errors: ENODEV, EINVAL (no such network), EFAULT (NULL out).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_net_stats(node: c_int, net: c_int, out: *mut zts_net_stats) -> c_int {
    call(-1, || {
        if out.is_null() {
            return Err(crate::error::Errno::EFAULT);
        }
        let s = node::get(node)?.net_stats(net)?;
        // SAFETY: out is non-NULL and valid per the C contract.
        unsafe {
            out.write(zts_net_stats {
                rx_frames: s.rx_frames,
                rx_bytes: s.rx_bytes,
                tx_frames: s.tx_frames,
                tx_bytes: s.tx_bytes,
                drop_queue_full: s.drop_queue_full,
                drop_not_peer: s.drop_not_peer,
                drop_malformed: s.drop_malformed,
                drop_oversize: s.drop_oversize,
                drop_impaired: s.drop_impaired,
                drop_send_failed: s.drop_send_failed,
            })
        };
        Ok(0)
    })
}

/// The local UDP port of a `vxlan://` network (useful after binding port
/// 0), known from the join on. Errors: ENODEV, EINVAL (no such network),
/// EOPNOTSUPP (not an overlay network).
#[unsafe(no_mangle)]
pub extern "C" fn zts_net_get_port(node: c_int, net: c_int) -> c_int {
    call(-1, || Ok(node::get(node)?.net_port(net)? as c_int))
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

/// Stops the node: its connections are reset (data still queued in them is
/// lost: read to the end of stream before stopping to be sure it arrived),
/// calls blocked on its sockets return -1 with ENETDOWN, and its threads
/// are joined. Its fds stay open
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

/// Sets how far the send and receive buffers of the node's TCP sockets
/// created from now on may grow by themselves, each way: from 512 KiB
/// they grow as a connection's rate times its RTT asks (16 MiB by default;
/// the pages are mapped as data fills them). A socket given SO_RCVBUF or
/// SO_SNDBUF before it connects keeps that size instead, as on Linux.
/// Errors: ENODEV, EINVAL (`bytes` outside 4 KiB..32 MiB).
#[unsafe(no_mangle)]
pub extern "C" fn zts_node_set_tcp_buffer_max(node: c_int, bytes: usize) -> c_int {
    call(-1, || {
        node::get(node)?.set_tcp_buffer_max(bytes)?;
        Ok(0)
    })
}

/// The library's version, e.g. "0.1.0"; a static string, never freed.
#[unsafe(no_mangle)]
pub extern "C" fn zts_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}
