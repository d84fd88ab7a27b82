//! The program's node: made at the first socket that needs it, on the
//! networks and addresses the environment names; and which addresses it
//! reaches.

use crate::config::{self, Config, Setting};
use libc::c_int;
use once_cell::sync::{Lazy, OnceCell};
use std::cell::Cell;
use std::ffi::CString;
use std::net::IpAddr;
use std::time::{Duration, Instant};
use zts::ffi::names::*;
use zts::ffi::node::*;

pub static SETTING: Lazy<Setting> = Lazy::new(config::read);

/// The node, and the process that made it (a forked child has a copy of
/// its state but none of its threads, so it must not use it).
static NODE: OnceCell<Result<(c_int, u32), c_int>> = OnceCell::new();

pub fn config() -> Option<&'static Config> {
    match &*SETTING {
        Setting::On(c) => Some(c),
        _ => None,
    }
}

pub fn log(msg: std::fmt::Arguments) {
    if config().is_some_and(|c| c.log) {
        eprintln!("zts-preload[{}]: {msg}", std::process::id());
    }
}

thread_local! {
    /// Set while this thread makes the node: the sockets zts itself opens
    /// then (the overlay's, which may bind the wildcard) stay the kernel's.
    static MAKING_NODE: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread is inside zts making the node.
pub fn making_node() -> bool {
    MAKING_NODE.with(Cell::get)
}

/// The node's id, made on first use; the errno if it cannot be.
pub fn node() -> Result<c_int, c_int> {
    let made = NODE.get_or_init(|| {
        MAKING_NODE.with(|m| m.set(true));
        let r = start();
        MAKING_NODE.with(|m| m.set(false));
        r
    });
    match made {
        Ok((node, pid)) if *pid == std::process::id() => Ok(*node),
        Ok(_) => {
            log(format_args!(
                "a forked child cannot open new zts sockets; it keeps those it inherited"
            ));
            Err(libc::ENETDOWN)
        }
        Err(e) => Err(*e),
    }
}

fn errno() -> c_int {
    zts::ffi::errno::zts_errno()
}

fn cstr(s: &str) -> CString {
    CString::new(s).unwrap_or_default()
}

/// One line naming the variable whose value zts refused.
fn refused(variable: &str, value: &str) -> c_int {
    let e = errno();
    eprintln!(
        "zts-preload: {variable}: {value:?}: {}",
        std::io::Error::from_raw_os_error(e)
    );
    e
}

fn start() -> Result<(c_int, u32), c_int> {
    let Some(c) = config() else {
        return Err(libc::ENETDOWN);
    };
    let node = zts_node_new();
    if node < 0 {
        return Err(errno());
    }
    let mut nets = vec![];
    for uri in &c.nets {
        // SAFETY: a NUL-terminated string that lives across the call.
        let net = unsafe { zts_net_join(node, cstr(uri).as_ptr()) };
        if net < 0 {
            return Err(refused("ZTS_NET", uri));
        }
        nets.push(net);
    }
    for (i, a) in c.addrs.iter().enumerate() {
        let net = nets[i.min(nets.len() - 1)];
        // SAFETY: as above.
        if unsafe { zts_addr_add(node, net, cstr(a).as_ptr()) } < 0 {
            return Err(refused("ZTS_ADDR", a));
        }
    }
    if let Some(g) = &c.gateway {
        let default = if g.contains(':') { "::/0" } else { "0.0.0.0/0" };
        // SAFETY: as above.
        if unsafe { zts_route_add(node, cstr(default).as_ptr(), cstr(g).as_ptr()) } < 0 {
            return Err(refused("ZTS_GATEWAY", g));
        }
    }
    for d in &c.dns {
        // SAFETY: as above.
        if unsafe { zts_dns_add(node, cstr(d).as_ptr()) } < 0 {
            return Err(refused("ZTS_DNS", d));
        }
    }
    for (name, ip) in &c.hosts {
        // SAFETY: as above.
        if unsafe { zts_hosts_add(node, cstr(name).as_ptr(), cstr(ip).as_ptr()) } < 0 {
            return Err(refused("ZTS_HOSTS", name));
        }
    }
    if zts_node_start(node) < 0 || zts_node_set_default(node) < 0 {
        return Err(refused("ZTS_NET", &c.nets.join(" ")));
    }
    if c.dhcp {
        wait_for_leases(node, &nets, c);
    }
    log(format_args!("node {node} up on {}", c.nets.join(" ")));
    Ok((node, std::process::id()))
}

/// Waits (up to LEASE_WAIT) until each network given `dhcp` has its
/// address, so the program's first connect has a source address.
fn wait_for_leases(node: c_int, nets: &[c_int], c: &Config) {
    let deadline = Instant::now() + LEASE_WAIT;
    for (i, a) in c.addrs.iter().enumerate() {
        if a != "dhcp" {
            continue;
        }
        let net = nets[i.min(nets.len() - 1)];
        // SAFETY: sockaddr_storage is plain bytes; all-zero is valid.
        let mut out: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        // SAFETY: `out` is a sockaddr_storage the call fills.
        while unsafe { zts_addr_get(node, net, libc::AF_INET, &mut out) } < 0 {
            if Instant::now() >= deadline {
                eprintln!("zts-preload: ZTS_ADDR: no DHCP lease on network {net} yet; going on");
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        log(format_args!("network {net}: DHCP lease taken"));
    }
}

/// How long the first socket call waits for DHCP leases.
const LEASE_WAIT: Duration = Duration::from_secs(15);

/// Whether traffic to `ip` goes through zts: an address on one of its
/// subnets, or any routed one when there is a gateway (or DHCP); never
/// loopback.
pub fn routes_to_zts(c: &Config, ip: IpAddr) -> bool {
    if ip.is_loopback() || ip.is_unspecified() {
        return false;
    }
    if let Some(g) = c.gateway.as_ref().and_then(|g| g.parse::<IpAddr>().ok())
        && g.is_ipv4() == ip.is_ipv4()
    {
        return true;
    }
    c.dhcp
        || c.subnets
            .iter()
            .any(|&(net, len)| config::in_subnet(ip, net, len))
}

/// Whether a bind to `ip` is a bind on zts: one of its subnets' addresses,
/// or the wildcard unless `ZTS_BIND_ANY=kernel`.
pub fn binds_on_zts(c: &Config, ip: IpAddr) -> bool {
    if ip.is_unspecified() {
        return !c.bind_any_kernel;
    }
    !ip.is_loopback()
        && (c.dhcp
            || c.subnets
                .iter()
                .any(|&(net, len)| config::in_subnet(ip, net, len)))
}
