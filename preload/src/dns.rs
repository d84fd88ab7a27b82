//! Names on the node: those in `ZTS_HOSTS`, and any name when `ZTS_DNS`
//! is set or an address comes by DHCP, resolve through the node (its hosts, then DNS over zts); the
//! rest, and anything the node cannot resolve, through the system.
//! Results are the C library's own lists (built from the numeric
//! addresses), so the program's freeaddrinfo frees them.

// Each hook's safety contract is that of its C library namesake.
#![allow(clippy::missing_safety_doc)]

use crate::node::{self, config, log};
use crate::real::REAL;
use libc::{addrinfo, c_char, c_int, hostent};
use std::cell::RefCell;
use std::ffi::{CStr, CString};
use std::net::IpAddr;
use zts::ffi::names::*;

/// Whether `name` is for the node to resolve; None when the system should.
fn ours(name: &str) -> Option<bool> {
    let c = config()?;
    if name.parse::<IpAddr>().is_ok() || name.eq_ignore_ascii_case("localhost") {
        return None;
    }
    let listed = c.hosts.iter().any(|(n, _)| n == name);
    // A DHCP lease brings its network's resolver.
    (listed || !c.dns.is_empty() || c.dhcp).then_some(listed)
}

/// The addresses for `name` of `family` (AF_UNSPEC for any): from
/// `ZTS_HOSTS` as written (no node needed, so a forked child has them
/// too), else the node's hosts and DNS.
fn resolve(name: &CStr, family: c_int) -> Option<Vec<IpAddr>> {
    let wanted = |ip: &IpAddr| match family {
        libc::AF_INET => ip.is_ipv4(),
        libc::AF_INET6 => ip.is_ipv6(),
        _ => true,
    };
    let text = name.to_str().ok()?;
    let listed: Vec<IpAddr> = config()?
        .hosts
        .iter()
        .filter(|(n, _)| n == text)
        .filter_map(|(_, ip)| ip.parse().ok())
        .filter(wanted)
        .collect();
    if !listed.is_empty() {
        return Some(listed);
    }
    let n = node::node().ok()?;
    // SAFETY: addrinfo is plain data; all-zero is an empty hint.
    let mut hints: addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = family;
    hints.ai_socktype = libc::SOCK_STREAM;
    let mut res = std::ptr::null_mut();
    // SAFETY: valid name, hints and result pointer.
    if unsafe { zts_node_getaddrinfo(n, name.as_ptr(), std::ptr::null(), &hints, &mut res) } != 0 {
        return None;
    }
    let mut ips = vec![];
    let mut p = res;
    while !p.is_null() {
        // SAFETY: `p` walks the list zts_node_getaddrinfo made.
        let ai = unsafe { &*p };
        // SAFETY: ai_addr holds ai_addrlen bytes of an inet address.
        if let Some(ip) =
            unsafe { crate::addr::Addr::read(ai.ai_addr, ai.ai_addrlen) }.and_then(|a| a.ip())
            && !ips.contains(&ip)
        {
            ips.push(ip);
        }
        p = ai.ai_next;
    }
    // SAFETY: the list from zts_node_getaddrinfo, freed once.
    unsafe { zts_freeaddrinfo(res) };
    (!ips.is_empty()).then_some(ips)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn getaddrinfo(
    host: *const c_char,
    service: *const c_char,
    hints: *const addrinfo,
    res: *mut *mut addrinfo,
) -> c_int {
    // SAFETY: the program's arguments, as getaddrinfo(3) takes them.
    let system = || unsafe { (REAL.getaddrinfo)(host, service, hints, res) };
    if host.is_null() || res.is_null() {
        return system();
    }
    // SAFETY: a non-NULL host is a C string.
    let name = unsafe { CStr::from_ptr(host) };
    let Some(listed) = name.to_str().ok().and_then(ours) else {
        return system();
    };
    // SAFETY: hints is NULL or the program's addrinfo.
    let family = unsafe { hints.as_ref() }.map_or(libc::AF_UNSPEC, |h| h.ai_family);
    let Some(ips) = resolve(name, family) else {
        return if listed { libc::EAI_NONAME } else { system() };
    };
    log(format_args!("{name:?} is {ips:?} on zts"));
    // Each address through the C library, numerically, the lists chained:
    // freeaddrinfo frees entry by entry.
    // SAFETY: addrinfo is plain data; all-zero is an empty hint.
    let mut numeric: addrinfo = unsafe { hints.as_ref() }
        .copied()
        .unwrap_or(unsafe { std::mem::zeroed() });
    numeric.ai_flags |= libc::AI_NUMERICHOST;
    numeric.ai_family = libc::AF_UNSPEC;
    let mut head: *mut addrinfo = std::ptr::null_mut();
    let mut tail: *mut *mut addrinfo = &mut head;
    let mut last = libc::EAI_NONAME;
    for ip in ips {
        let text = CString::new(ip.to_string()).unwrap_or_default();
        let mut one = std::ptr::null_mut();
        // SAFETY: a numeric host, the program's service, our hints.
        last = unsafe { (REAL.getaddrinfo)(text.as_ptr(), service, &numeric, &mut one) };
        if last == 0 {
            // SAFETY: `tail` points at the list's last next-pointer.
            unsafe {
                *tail = one;
                while !(*tail).is_null() {
                    tail = &mut (**tail).ai_next;
                }
            }
        }
    }
    if head.is_null() {
        return last;
    }
    // SAFETY: the program's result pointer.
    unsafe { *res = head };
    0
}

/// gethostbyname(3)'s result, per thread (the C library's is per process).
struct HostBuf {
    name: CString,
    addrs: Vec<[u8; 4]>,
    addr_ptrs: Vec<*mut c_char>,
    aliases: [*mut c_char; 1],
    ent: hostent,
}

thread_local! {
    static HOST: RefCell<Option<Box<HostBuf>>> = const { RefCell::new(None) };
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn gethostbyname(host: *const c_char) -> *mut hostent {
    // SAFETY: the program's argument, as gethostbyname(3) takes it.
    let system = || unsafe { (REAL.gethostbyname)(host) };
    if host.is_null() {
        return system();
    }
    // SAFETY: a non-NULL host is a C string.
    let name = unsafe { CStr::from_ptr(host) };
    let Some(listed) = name.to_str().ok().and_then(ours) else {
        return system();
    };
    let Some(ips) = resolve(name, libc::AF_INET) else {
        return if listed {
            std::ptr::null_mut()
        } else {
            system()
        };
    };
    let addrs: Vec<[u8; 4]> = ips
        .iter()
        .filter_map(|ip| match ip {
            IpAddr::V4(v4) => Some(v4.octets()),
            IpAddr::V6(_) => None,
        })
        .collect();
    let mut b = Box::new(HostBuf {
        name: name.to_owned(),
        addrs,
        addr_ptrs: vec![],
        aliases: [std::ptr::null_mut()],
        // SAFETY: hostent is plain data; all-zero is empty.
        ent: unsafe { std::mem::zeroed() },
    });
    b.addr_ptrs = b.addrs.iter_mut().map(|a| a.as_mut_ptr().cast()).collect();
    b.addr_ptrs.push(std::ptr::null_mut());
    b.ent.h_name = b.name.as_ptr().cast_mut();
    b.ent.h_aliases = b.aliases.as_mut_ptr();
    b.ent.h_addrtype = libc::AF_INET;
    b.ent.h_length = 4;
    b.ent.h_addr_list = b.addr_ptrs.as_mut_ptr();
    let ent = &raw mut b.ent;
    // The box's heap address stays put when it moves into the slot.
    HOST.with(|h| *h.borrow_mut() = Some(b));
    ent
}
