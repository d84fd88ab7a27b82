//! Node and network events through zts_set_event_handler, and DHCP, whose
//! outcome they announce (one test: the handler is process-wide).

mod common;

use common::api::*;
use parking_lot::{Condvar, Mutex};
use std::ffi::{CString, c_void};
use std::time::{Duration, Instant};
use zts::ffi::events::{zts_event, zts_set_event_handler};
use zts::ffi::node::*;
use zts::ffi::socket::zts_close;
use zts::ffi::socket::zts_node_socket;

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
    // node (which may have stopped again by the time the event arrives).
    if ev.r#type == 1 {
        let fd = zts_node_socket(ev.node, libc::AF_INET, libc::SOCK_STREAM, 0);
        if fd >= 0 {
            assert_eq!(zts_close(fd), 0);
        } else {
            assert!([libc::ENETDOWN, libc::ENODEV].contains(&errno()));
        }
    }
    SEEN.lock().push((ev.r#type, ev.node, ev.net, addr));
    CHANGED.notify_all();
}

static MAGIC: u32 = 0x5a75;

/// Waits for `count` events of node `node`, dropping other nodes' events.
fn wait_for(node: i32, count: usize) -> Vec<(i32, i32, i32, String)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = SEEN.lock();
    loop {
        seen.retain(|e| e.1 == node);
        if seen.len() >= count {
            return std::mem::take(&mut *seen);
        }
        assert!(
            !CHANGED.wait_until(&mut seen, deadline).timed_out(),
            "events so far: {seen:?}"
        );
    }
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
    let seen = wait_for(n, 6);
    let expected = vec![
        (1, n, -1, String::new()),
        (3, n, 0, String::new()),
        (5, n, 0, "10.40.0.1".to_string()),
        (5, n, 0, "fd00:40::1".to_string()),
        (4, n, 0, String::new()),
        (2, n, -1, String::new()),
    ];
    assert_eq!(seen, expected);
    ok(zts_node_free(n));

    dhcp_lease_gives_address_route_and_dns();

    ok(zts_set_event_handler(None, std::ptr::null_mut()));
    // Nothing runs the old handler after the call returns.
    SEEN.lock().clear();
    let quiet = node("events-quiet", &["10.40.9.1/24"]);
    ok(zts_node_free(quiet));
    assert!(SEEN.lock().is_empty(), "no handler, no events");
}

const OFFERED: [u8; 4] = [10, 60, 0, 100];
const SERVER: [u8; 4] = [10, 60, 0, 1];

/// A DHCP server's reply (OFFER or ACK) to a DISCOVER or REQUEST.
fn dhcp_reply(req: &[u8]) -> Option<Vec<u8>> {
    if req.len() < 240 || req[0] != 1 || req[236..240] != [99, 130, 83, 99] {
        return None;
    }
    let mut i = 240;
    let mut kind = 0;
    while i + 1 < req.len() && req[i] != 255 {
        if req[i] == 0 {
            i += 1;
            continue;
        }
        if req[i] == 53 {
            kind = req[i + 2];
        }
        i += 2 + req[i + 1] as usize;
    }
    let reply_kind = match kind {
        1 => 2, // DISCOVER -> OFFER
        3 => 5, // REQUEST -> ACK
        _ => return None,
    };
    let mut r = vec![0u8; 240];
    r[0] = 2;
    r[1] = 1;
    r[2] = 6;
    r[4..8].copy_from_slice(&req[4..8]);
    r[10..12].copy_from_slice(&req[10..12]);
    r[16..20].copy_from_slice(&OFFERED);
    r[20..24].copy_from_slice(&SERVER);
    r[28..44].copy_from_slice(&req[28..44]);
    r[236..240].copy_from_slice(&[99, 130, 83, 99]);
    r.extend_from_slice(&[53, 1, reply_kind]);
    r.extend_from_slice(&[54, 4]);
    r.extend_from_slice(&SERVER);
    r.extend_from_slice(&[51, 4, 0, 0, 0x0e, 0x10]);
    r.extend_from_slice(&[1, 4, 255, 255, 255, 0]);
    r.extend_from_slice(&[3, 4]);
    r.extend_from_slice(&SERVER);
    r.extend_from_slice(&[6, 4]);
    r.extend_from_slice(&SERVER);
    r.push(255);
    Some(r)
}

fn dhcp_lease_gives_address_route_and_dns() {
    let server = node("events-dhcp", &["10.60.0.1/24"]);
    let fd = udp(server, libc::AF_INET);
    ok(set_int(fd, libc::SOL_SOCKET, libc::SO_BROADCAST, 1));
    ok(bind(fd, "0.0.0.0:67".parse().unwrap()));
    let responder = std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        // Ends when the test closes the socket.
        while let (n @ 0.., _) = recvfrom(fd, &mut buf, 0) {
            if let Some(reply) = dhcp_reply(&buf[..n as usize]) {
                sendto(fd, &reply, "255.255.255.255:68".parse().unwrap());
            }
        }
    });
    let client = ok(zts_node_new());
    let uri = CString::new("mem:events-dhcp").unwrap();
    // SAFETY: uri is a valid C string.
    let net = ok(unsafe { zts_net_join(client, uri.as_ptr()) });
    let dhcp = CString::new("dhcp").unwrap();
    // SAFETY: dhcp is a valid C string.
    ok(unsafe { zts_addr_add(client, net, dhcp.as_ptr()) });
    ok(zts_node_start(client));
    let seen = wait_for(client, 3);
    assert_eq!(
        seen,
        vec![
            (1, client, -1, String::new()),
            (3, client, 0, String::new()),
            (5, client, 0, "10.60.0.100".to_string()),
        ]
    );
    // SAFETY: sockaddr_storage is plain old data.
    let mut got: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    // SAFETY: got is valid for the call.
    ok(unsafe { zts_addr_get(client, net, libc::AF_INET, &mut got) });
    assert_eq!(parse(&got).ip().to_string(), "10.60.0.100");
    // The lease's router is the default route: an off-subnet address is
    // routable (the router just never answers), not ENETUNREACH.
    let far = tcp(client, libc::AF_INET);
    set_timeout(far, libc::SO_SNDTIMEO, 200);
    expect_err(
        connect(far, "192.0.2.1:80".parse().unwrap()) as isize,
        libc::ETIMEDOUT,
    );
    ok(zts_close(far));
    ok(zts_close(fd));
    responder.join().unwrap();
    ok(zts_node_free(client));
    // Stopping ends the lease: the address goes, then the network and node.
    let seen = wait_for(client, 3);
    assert_eq!(
        seen,
        vec![
            (6, client, 0, "10.60.0.100".to_string()),
            (4, client, 0, String::new()),
            (2, client, -1, String::new()),
        ]
    );
    ok(zts_node_free(server));
}
