//! Node and network events for the app.

use super::call;
use crate::events::{self, Event};
use libc::{c_int, c_void};
use std::sync::Arc;

/// Kinds of `struct zts_event`.
#[repr(C)]
#[allow(non_camel_case_types)]
pub enum zts_event_type {
    /// A node started.
    ZTS_EVENT_NODE_UP = 1,
    /// A node stopped.
    ZTS_EVENT_NODE_DOWN = 2,
    /// A started node's network is up (`net` says which).
    ZTS_EVENT_NET_UP = 3,
    /// A network went down with its node.
    ZTS_EVENT_NET_DOWN = 4,
    /// An address was added to a running node (or came with its start,
    /// or from DHCP); `addr` holds it.
    ZTS_EVENT_ADDR_ADDED = 5,
    /// An address was removed (a DHCP lease ended); `addr` holds it.
    ZTS_EVENT_ADDR_REMOVED = 6,
}

/// An event given to the handler set with zts_set_event_handler; valid
/// only during the call.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct zts_event {
    /// One of `enum zts_event_type`.
    pub r#type: c_int,
    pub node: c_int,
    /// The network id within the node; -1 for node events.
    pub net: c_int,
    /// For address events: a `sockaddr_in` or `sockaddr_in6` (port 0);
    /// otherwise `ss_family` is AF_UNSPEC.
    pub addr: libc::sockaddr_storage,
}

/// The C handler and its user pointer.
struct CHandler {
    cb: extern "C" fn(*const zts_event, *mut c_void),
    user: *mut c_void,
}

// SAFETY: zts_set_event_handler documents that the handler and `user` are
// used from the event thread; the caller vouches that is sound.
unsafe impl Send for CHandler {}
// SAFETY: as above; the pointer is only passed back to the caller's code.
unsafe impl Sync for CHandler {}

impl CHandler {
    fn deliver(&self, ev: &Event) {
        let c = to_c(ev);
        (self.cb)(&c, self.user);
    }
}

fn to_c(ev: &Event) -> zts_event {
    // SAFETY: sockaddr_storage is plain old data; zeroes mean AF_UNSPEC.
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    if let Some(ip) = ev.addr {
        let family = if ip.is_ipv4() {
            libc::AF_INET
        } else {
            libc::AF_INET6
        };
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        // SAFETY: addr is a local sockaddr_storage and len its size.
        let _ = unsafe {
            super::addr::write(
                std::net::SocketAddr::new(ip, 0),
                family,
                &mut addr as *mut _ as *mut libc::sockaddr,
                &mut len,
            )
        };
    }
    zts_event {
        r#type: ev.kind as c_int,
        node: ev.node,
        net: ev.net,
        addr,
    }
}

/// Sets the function called for each node and network event (NODE_UP,
/// NODE_DOWN, NET_UP, NET_DOWN, ADDR_ADDED, ADDR_REMOVED), or clears it
/// when `cb` is NULL. Events are delivered in the order they happened, one
/// at a time, from a dedicated thread, as soon as they happen; events with
/// no handler set are dropped. The handler may call any zts function.
/// `ev` is valid during the call only; `user` is passed back unchanged and
/// must stay valid until the handler is replaced or cleared: when this
/// returns (called from outside the handler), the previous handler is not
/// running and will not be called again.
#[unsafe(no_mangle)]
pub extern "C" fn zts_set_event_handler(
    cb: Option<extern "C" fn(ev: *const zts_event, user: *mut c_void)>,
    user: *mut c_void,
) -> c_int {
    call(-1, || {
        let handler: Option<events::Handler> = cb.map(|cb| {
            let h = CHandler { cb, user };
            Arc::new(move |ev: &Event| h.deliver(ev)) as events::Handler
        });
        events::set_handler(handler)?;
        Ok(0)
    })
}

#[cfg(test)]
mod tests {
    use super::zts_event_type as T;
    use crate::events::Kind;

    #[test]
    fn c_event_types_match_the_kinds() {
        for (c, k) in [
            (T::ZTS_EVENT_NODE_UP, Kind::NodeUp),
            (T::ZTS_EVENT_NODE_DOWN, Kind::NodeDown),
            (T::ZTS_EVENT_NET_UP, Kind::NetUp),
            (T::ZTS_EVENT_NET_DOWN, Kind::NetDown),
            (T::ZTS_EVENT_ADDR_ADDED, Kind::AddrAdded),
            (T::ZTS_EVENT_ADDR_REMOVED, Kind::AddrRemoved),
        ] {
            assert_eq!(c as i32, k as i32);
        }
    }
}
