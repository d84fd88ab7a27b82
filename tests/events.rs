//! Node and network events through zts_set_event_handler (one test: the
//! handler is process-wide).

mod common;

use common::api::*;
use parking_lot::{Condvar, Mutex};
use std::ffi::{CString, c_void};
use std::time::{Duration, Instant};
use zts::ffi::events::{zts_event, zts_set_event_handler};
use zts::ffi::node::*;
use zts::ffi::socket::*;

static SEEN: Mutex<Vec<(i32, i32, i32, String)>> = Mutex::new(Vec::new());
static CHANGED: Condvar = Condvar::new();

extern "C" fn record(ev: *const zts_event, user: *mut c_void) {
    // SAFETY: ev is valid during the call; user is the address of MAGIC.
    let (ev, user) = unsafe { (&*ev, *(user as *const u32)) };
    assert_eq!(user, MAGIC);
    let addr = match ev.addr.ss_family as i32 {
        libc::AF_UNSPEC => String::new(),
        _ => parse(&ev.addr).ip().to_string(),
    };
    // The handler may call back into zts: open and close a socket on the
    // node while it is up.
    if ev.r#type == 1 {
        let fd = zts_node_socket(ev.node, libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0);
        assert_eq!(zts_close(fd), 0);
    }
    SEEN.lock().push((ev.r#type, ev.node, ev.net, addr));
    CHANGED.notify_all();
}

static MAGIC: u32 = 0x5a75;

fn wait_for(count: usize) -> Vec<(i32, i32, i32, String)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = SEEN.lock();
    while seen.len() < count {
        assert!(
            !CHANGED.wait_until(&mut seen, deadline).timed_out(),
            "events so far: {seen:?}"
        );
    }
    std::mem::take(&mut *seen)
}

#[test]
fn events_arrive_in_order_and_the_handler_may_call_zts() {
    ok(zts_set_event_handler(
        Some(record),
        &MAGIC as *const u32 as *mut c_void,
    ));
    let n = ok(zts_node_new());
    let uri = CString::new("mem:events").unwrap();
    // SAFETY: uri is a valid C string.
    let net = ok(unsafe { zts_net_join(n, uri.as_ptr()) });
    let cidr = CString::new("10.40.0.1/24").unwrap();
    // SAFETY: cidr is a valid C string.
    ok(unsafe { zts_addr_add(n, net, cidr.as_ptr()) });
    ok(zts_node_start(n));
    let v6 = CString::new("fd00:40::1/64").unwrap();
    // SAFETY: v6 is a valid C string.
    ok(unsafe { zts_addr_add(n, net, v6.as_ptr()) });
    ok(zts_node_stop(n));
    let seen = wait_for(6);
    let expected = vec![
        (1, n, -1, String::new()),
        (3, n, 0, String::new()),
        (5, n, 0, "10.40.0.1".to_string()),
        (5, n, 0, "fd00:40::1".to_string()),
        (4, n, 0, String::new()),
        (2, n, -1, String::new()),
    ];
    assert_eq!(seen, expected);
    ok(zts_set_event_handler(None, std::ptr::null_mut()));
    ok(zts_node_start(n));
    ok(zts_node_free(n));
    assert!(SEEN.lock().is_empty(), "no handler, no events");
}
