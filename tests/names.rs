//! getaddrinfo on a node: numeric, hosts table, and DNS answered by a
//! small responder running on another node.

mod common;

use common::api::*;
use std::ffi::{CStr, CString};
use std::net::{IpAddr, SocketAddr};
use std::thread;
use zts::ffi::names::*;
use zts::ffi::node::*;
use zts::ffi::socket::*;

/// Answers A and AAAA for server.zts.test, NXDOMAIN for anything else.
fn answer(query: &[u8]) -> Option<Vec<u8>> {
    if query.len() < 12 {
        return None;
    }
    let mut i = 12;
    let mut labels = Vec::new();
    while i < query.len() && query[i] != 0 {
        let n = query[i] as usize;
        labels.push(String::from_utf8_lossy(query.get(i + 1..i + 1 + n)?).to_string());
        i += 1 + n;
    }
    let qtype = u16::from_be_bytes([*query.get(i + 1)?, *query.get(i + 2)?]);
    let question = &query[12..i + 5];
    let name = labels.join(".");
    let rdata: Option<Vec<u8>> = match (name.as_str(), qtype) {
        ("server.zts.test", 1) => Some(vec![10, 50, 0, 77]),
        ("server.zts.test", 28) => Some(
            "fd00:50::77"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets()
                .to_vec(),
        ),
        _ => None,
    };
    let mut r = query[..2].to_vec();
    let rcode = if name == "server.zts.test" { 0 } else { 3 };
    r.extend_from_slice(&[0x81, 0x80 | rcode]);
    r.extend_from_slice(&[0, 1, 0, rdata.is_some() as u8, 0, 0, 0, 0]);
    r.extend_from_slice(question);
    if let Some(rdata) = rdata {
        r.extend_from_slice(&[0xc0, 0x0c]);
        r.extend_from_slice(&qtype.to_be_bytes());
        r.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
        r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        r.extend_from_slice(&rdata);
    }
    Some(r)
}

fn resolve(node: i32, host: &str, family: i32) -> Result<Vec<SocketAddr>, i32> {
    let host = CString::new(host).unwrap();
    let service = CString::new("80").unwrap();
    // SAFETY: addrinfo is plain old data.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = family;
    hints.ai_socktype = libc::SOCK_STREAM;
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: all pointers are valid for the call.
    let rc =
        unsafe { zts_node_getaddrinfo(node, host.as_ptr(), service.as_ptr(), &hints, &mut res) };
    if rc != 0 {
        return Err(rc);
    }
    let mut out = Vec::new();
    let mut p = res;
    while !p.is_null() {
        // SAFETY: p walks the list zts built.
        unsafe {
            assert_eq!((*p).ai_socktype, libc::SOCK_STREAM);
            out.push(parse(&*((*p).ai_addr as *const libc::sockaddr_storage)));
            p = (*p).ai_next;
        }
    }
    // SAFETY: res came from zts_node_getaddrinfo.
    unsafe { zts_freeaddrinfo(res) };
    Ok(out)
}

#[test]
fn getaddrinfo_uses_hosts_then_dns_on_another_node() {
    let server = node("names", &["10.50.0.1/24"]);
    let client = node("names", &["10.50.0.2/24", "fd00:50::2/64"]);
    let fd = udp(server, libc::AF_INET);
    ok(bind(fd, "10.50.0.1:53".parse().unwrap()));
    let responder = thread::spawn(move || {
        let mut buf = [0u8; 512];
        let mut answered = 0;
        // Ends when the test closes the socket (EBADF).
        loop {
            let (n, from) = recvfrom(fd, &mut buf, 0);
            if n < 0 {
                return answered;
            }
            if let Some(reply) = answer(&buf[..n as usize]) {
                assert_eq!(sendto(fd, &reply, from.unwrap()), reply.len() as isize);
                answered += 1;
            }
        }
    });
    let addr = CString::new("10.50.0.1").unwrap();
    // SAFETY: addr is a valid C string.
    ok(unsafe { zts_dns_add(client, addr.as_ptr()) });

    let both = resolve(client, "server.zts.test", libc::AF_UNSPEC).unwrap();
    let ips: Vec<IpAddr> = both.iter().map(|a| a.ip()).collect();
    assert!(ips.contains(&"10.50.0.77".parse().unwrap()), "{ips:?}");
    assert!(ips.contains(&"fd00:50::77".parse().unwrap()), "{ips:?}");
    assert!(both.iter().all(|a| a.port() == 80));
    assert_eq!(
        resolve(client, "server.zts.test.", libc::AF_INET).unwrap(),
        vec!["10.50.0.77:80".parse::<SocketAddr>().unwrap()]
    );
    assert_eq!(
        resolve(client, "nosuch.zts.test", libc::AF_UNSPEC),
        Err(libc::EAI_NONAME)
    );

    let (name, ip) = (
        CString::new("db.local").unwrap(),
        CString::new("10.50.0.9").unwrap(),
    );
    // SAFETY: both are valid C strings.
    ok(unsafe { zts_hosts_add(client, name.as_ptr(), ip.as_ptr()) });
    assert_eq!(
        resolve(client, "DB.local", libc::AF_INET).unwrap(),
        vec!["10.50.0.9:80".parse::<SocketAddr>().unwrap()]
    );
    assert_eq!(
        resolve(client, "fd00::5", libc::AF_UNSPEC).unwrap(),
        vec!["[fd00::5]:80".parse::<SocketAddr>().unwrap()]
    );

    // SAFETY: gai_strerror strings are static C strings.
    let msg = unsafe { CStr::from_ptr(zts_gai_strerror(libc::EAI_NONAME)) };
    assert!(!msg.to_bytes().is_empty());

    ok(zts_close(fd));
    assert!(responder.join().unwrap() >= 4);
    ok(zts_node_free(server));
    ok(zts_node_free(client));
}
