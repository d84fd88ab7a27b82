//! Nodes: virtual hosts with their own networks, addresses and stack
//! thread. A process-wide table maps small ids to nodes.

use crate::error::{Errno, Result};
use crate::events::{self, Kind};
use crate::socket::options::{
    DEFAULT_BUF, MAX_BUF, MIN_BUF, SockOpts, TCP_DEFAULT_BUF, TCP_DEFAULT_BUF_MAX,
};
use crate::socket::{Proto, Socket};
use crate::stack::route::{NetAddr, Route, Routing, parse_cidr};
use crate::stack::{self, NetSpec, Running, StackHandle};
use crate::tap::pcap::Pcap;
use crate::tap::stats::{NetStats, Snapshot};
use crate::tap::uri::TapUri;
use crate::tap::{MacAddr, Prepared};
use once_cell::sync::Lazy;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicUsize, Ordering};

/// Most addresses one network of a node carries (smoltcp's compile-time limit).
pub const MAX_ADDRS_PER_NET: usize = 8;

static NODES: Lazy<Mutex<BTreeMap<i32, Arc<Node>>>> = Lazy::new(|| Mutex::new(BTreeMap::new()));
static NEXT_ID: AtomicI32 = AtomicI32::new(0);
static DEFAULT_NODE: AtomicI32 = AtomicI32::new(-1);
static NEXT_MAC: AtomicU32 = AtomicU32::new(1);

struct NetConfig {
    uri: TapUri,
    mac: MacAddr,
    prepared: Arc<Prepared>,
    stats: Arc<NetStats>,
    pcap: Option<Arc<Pcap>>,
}

#[derive(Default)]
struct NodeInner {
    nets: Vec<NetConfig>,
    routing: Routing,
    /// Networks that get their IPv4 address by DHCP.
    dhcp: Vec<usize>,
    /// Names this node resolves without DNS.
    hosts: Vec<(String, IpAddr)>,
    running: Option<Running>,
}

pub struct Node {
    pub id: i32,
    inner: Mutex<NodeInner>,
    /// How far a TCP connection's buffers grow by themselves (tune.rs).
    tcp_buf_max: AtomicUsize,
}

/// splitmix64's finaliser: every input bit reaches every output bit.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A locally administered unicast MAC with 40 bits mixed from the pid
/// (read at each call, so a forked child differs from its parent), the
/// time the process first asked, and a counter: distinct within a process
/// and, with negligible odds of a clash, across processes and hosts
/// sharing an overlay.
fn new_mac() -> MacAddr {
    static SEED: Lazy<u64> = Lazy::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let n = NEXT_MAC.fetch_add(1, Ordering::Relaxed) as u64;
    let x = mix(*SEED ^ ((std::process::id() as u64) << 40) ^ n).to_be_bytes();
    [0x02, x[0], x[1], x[2], x[3], x[4]]
}

pub fn new_node() -> Result<i32> {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    if id < 0 {
        return Err(Errno::ENOBUFS);
    }
    let node = Arc::new(Node {
        id,
        inner: Mutex::new(NodeInner::default()),
        tcp_buf_max: AtomicUsize::new(TCP_DEFAULT_BUF_MAX),
    });
    NODES.lock().insert(id, node);
    Ok(id)
}

pub fn get(id: i32) -> Result<Arc<Node>> {
    NODES.lock().get(&id).cloned().ok_or(Errno::ENODEV)
}

pub fn free(id: i32) -> Result<()> {
    let node = NODES.lock().remove(&id).ok_or(Errno::ENODEV)?;
    let _ = DEFAULT_NODE.compare_exchange(id, -1, Ordering::AcqRel, Ordering::Acquire);
    node.stop_inner();
    Ok(())
}

pub fn set_default(id: i32) -> Result<()> {
    get(id)?;
    DEFAULT_NODE.store(id, Ordering::Release);
    Ok(())
}

pub fn default_node() -> Result<Arc<Node>> {
    match DEFAULT_NODE.load(Ordering::Acquire) {
        -1 => Err(Errno::ENETDOWN),
        id => get(id).map_err(|_| Errno::ENETDOWN),
    }
}

impl Node {
    /// Sets how far the buffers of TCP sockets created from now on may
    /// grow, each way, within the range SO_RCVBUF takes.
    pub fn set_tcp_buffer_max(&self, bytes: usize) -> Result<()> {
        if !(MIN_BUF..=MAX_BUF).contains(&bytes) {
            return Err(Errno::EINVAL);
        }
        self.tcp_buf_max.store(bytes, Ordering::Relaxed);
        Ok(())
    }

    /// Joins the network `uri` names; the node must be stopped.
    pub fn join(&self, uri: &str) -> Result<i32> {
        let uri = TapUri::parse(uri)?;
        let mut inner = self.inner.lock();
        if inner.running.is_some() {
            return Err(Errno::EISCONN);
        }
        let prepared = Arc::new(Prepared::for_uri(&uri)?);
        let pcap = match &uri.pcap {
            Some(path) => Some(Arc::new(Pcap::create(path).map_err(|e| {
                e.detail(format!(
                    "pcap={}: cannot create the file: {e}",
                    path.display()
                ))
            })?)),
            None => None,
        };
        inner.nets.push(NetConfig {
            uri,
            mac: new_mac(),
            prepared,
            stats: Arc::default(),
            pcap,
        });
        Ok(inner.nets.len() as i32 - 1)
    }

    pub fn add_addr(&self, net: i32, cidr: &str) -> Result<()> {
        let mut inner = self.inner.lock();
        let net = usize::try_from(net)
            .ok()
            .filter(|n| *n < inner.nets.len())
            .ok_or(Errno::EINVAL)?;
        if cidr == "dhcp" {
            if inner.dhcp.contains(&net) {
                return Err(Errno::EALREADY);
            }
            if let Some(r) = &inner.running {
                r.handle.start_dhcp(net)?;
            }
            inner.dhcp.push(net);
            return Ok(());
        }
        let (addr, prefix) = parse_cidr(cidr)?;
        if addr.is_unspecified() || addr.is_loopback() {
            return Err(Errno::EINVAL);
        }
        if inner.routing.owns(addr) {
            return Err(Errno::EADDRINUSE);
        }
        if inner.routing.addrs.iter().filter(|a| a.net == net).count() >= MAX_ADDRS_PER_NET {
            return Err(Errno::ENOBUFS);
        }
        let a = NetAddr { net, addr, prefix };
        if let Some(r) = &inner.running {
            r.handle.add_addr(a)?;
            events::emit(Kind::AddrAdded, self.id, net as i32, Some(addr));
        }
        inner.routing.addrs.push(a);
        Ok(())
    }

    /// Routes `cidr` through the gateway `via`, which must lie in the
    /// subnet of one of the node's networks ("0.0.0.0/0" is the default).
    pub fn add_route(&self, cidr: &str, via: &str) -> Result<()> {
        let (dst, prefix) = parse_cidr(cidr)?;
        let via: IpAddr = via.parse().map_err(|_| Errno::EINVAL)?;
        if dst.is_ipv4() != via.is_ipv4() {
            return Err(Errno::EINVAL);
        }
        let mut inner = self.inner.lock();
        let net = inner
            .routing
            .net_for_gateway(via)
            .ok_or(Errno::ENETUNREACH)?;
        let route = Route {
            net,
            dst,
            prefix,
            via,
        };
        if let Some(r) = &inner.running {
            r.handle.add_route(route)?;
        }
        inner
            .routing
            .routes
            .retain(|r| !(r.dst == dst && r.prefix == prefix));
        inner.routing.routes.push(route);
        Ok(())
    }

    /// The first address of `family` (AF_INET or AF_INET6) on network `net`.
    pub fn addr_get(&self, net: i32, family: i32) -> Result<IpAddr> {
        let inner = self.inner.lock();
        let net = usize::try_from(net)
            .ok()
            .filter(|n| *n < inner.nets.len())
            .ok_or(Errno::EINVAL)?;
        let v6 = match family {
            libc::AF_INET => false,
            libc::AF_INET6 => true,
            _ => return Err(Errno::EAFNOSUPPORT),
        };
        // A running node may have more (from DHCP) than it was given.
        let find = |r: &Routing| {
            r.addrs
                .iter()
                .find(|a| a.net == net && a.addr.is_ipv6() == v6)
                .map(|a| a.addr)
        };
        match &inner.running {
            Some(r) => find(&r.handle.routing()),
            None => find(&inner.routing),
        }
        .ok_or(Errno::EADDRNOTAVAIL)
    }

    pub fn start(&self) -> Result<()> {
        let mut inner = self.inner.lock();
        if inner.running.is_some() {
            return Err(Errno::EALREADY);
        }
        let specs: Vec<NetSpec> = inner
            .nets
            .iter()
            .map(|n| NetSpec {
                uri: n.uri.clone(),
                mac: n.mac,
                prepared: n.prepared.clone(),
                stats: n.stats.clone(),
                pcap: n.pcap.clone(),
            })
            .collect();
        let running = stack::start(self.id, &specs, inner.routing.clone(), &inner.dhcp)?;
        inner.running = Some(running);
        events::emit(Kind::NodeUp, self.id, -1, None);
        for net in 0..inner.nets.len() {
            events::emit(Kind::NetUp, self.id, net as i32, None);
            for a in inner.routing.addrs.iter().filter(|a| a.net == net) {
                events::emit(Kind::AddrAdded, self.id, net as i32, Some(a.addr));
            }
        }
        Ok(())
    }

    pub fn stop(&self) -> Result<()> {
        if self.stop_inner() {
            Ok(())
        } else {
            Err(Errno::ENETDOWN)
        }
    }

    fn stop_inner(&self) -> bool {
        let mut inner = self.inner.lock();
        let Some(running) = inner.running.take() else {
            return false;
        };
        running.stop();
        for net in 0..inner.nets.len() {
            events::emit(Kind::NetDown, self.id, net as i32, None);
        }
        events::emit(Kind::NodeDown, self.id, -1, None);
        true
    }

    fn net(&self, net: i32) -> Result<(Arc<NetStats>, Arc<Prepared>)> {
        let inner = self.inner.lock();
        let n = usize::try_from(net)
            .ok()
            .and_then(|n| inner.nets.get(n))
            .ok_or(Errno::EINVAL)?;
        Ok((n.stats.clone(), n.prepared.clone()))
    }

    /// The frame counters of network `net`.
    pub fn net_stats(&self, net: i32) -> Result<Snapshot> {
        Ok(self.net(net)?.0.snapshot())
    }

    /// The local UDP port of an overlay network (EOPNOTSUPP for others).
    pub fn net_port(&self, net: i32) -> Result<u16> {
        self.net(net)?.1.port().ok_or(Errno::EOPNOTSUPP)
    }

    /// Adds `name` -> `addr` to the node's hosts table.
    pub fn hosts_add(&self, name: &str, addr: &str) -> Result<()> {
        let addr: IpAddr = addr.parse().map_err(|_| Errno::EINVAL)?;
        let name = name.trim_end_matches('.');
        if name.is_empty() || name.len() > 253 || name.parse::<IpAddr>().is_ok() {
            return Err(Errno::EINVAL);
        }
        let mut inner = self.inner.lock();
        if !inner
            .hosts
            .iter()
            .any(|(n, a)| n.eq_ignore_ascii_case(name) && *a == addr)
        {
            inner.hosts.push((name.to_string(), addr));
        }
        Ok(())
    }

    pub fn hosts_lookup(&self, name: &str) -> Vec<IpAddr> {
        let inner = self.inner.lock();
        inner
            .hosts
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, a)| *a)
            .collect()
    }

    /// Adds a DNS server (at most 4 are used).
    pub fn dns_add(&self, addr: &str) -> Result<()> {
        let addr: IpAddr = addr.parse().map_err(|_| Errno::EINVAL)?;
        if addr.is_unspecified() || addr.is_multicast() {
            return Err(Errno::EINVAL);
        }
        let mut inner = self.inner.lock();
        if inner.routing.dns.contains(&addr) {
            return Ok(());
        }
        inner.routing.dns.push(addr);
        if let Some(r) = &inner.running {
            r.handle.set_dns(inner.routing.dns.clone())?;
        }
        Ok(())
    }

    /// The MAC address the node has on network `net`.
    pub fn mac(&self, net: i32) -> Result<MacAddr> {
        let inner = self.inner.lock();
        usize::try_from(net)
            .ok()
            .and_then(|n| inner.nets.get(n))
            .map(|n| n.mac)
            .ok_or(Errno::EINVAL)
    }

    /// The running stack (ENETDOWN when stopped).
    pub fn stack(&self) -> Result<Arc<StackHandle>> {
        self.handle()
    }

    fn handle(&self) -> Result<Arc<StackHandle>> {
        self.inner
            .lock()
            .running
            .as_ref()
            .map(|r| r.handle.clone())
            .ok_or(Errno::ENETDOWN)
    }

    /// A new socket on this node (which must be running): TCP
    /// (SOCK_STREAM), UDP (SOCK_DGRAM), ping (SOCK_DGRAM with IPPROTO_ICMP or
    /// IPPROTO_ICMPV6) or raw (SOCK_RAW with an IP protocol number).
    pub fn socket(&self, domain: i32, ty: i32, protocol: i32) -> Result<Arc<Socket>> {
        if domain != libc::AF_INET && domain != libc::AF_INET6 {
            return Err(Errno::EAFNOSUPPORT);
        }
        let icmp = if domain == libc::AF_INET6 {
            libc::IPPROTO_ICMPV6
        } else {
            libc::IPPROTO_ICMP
        };
        let proto = match (ty & !(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC), protocol) {
            (libc::SOCK_STREAM, 0 | libc::IPPROTO_TCP) => Proto::Tcp,
            (libc::SOCK_DGRAM, 0 | libc::IPPROTO_UDP) => Proto::Udp,
            (libc::SOCK_DGRAM, p) if p == icmp => Proto::Ping,
            (libc::SOCK_RAW, p) if (1..=255).contains(&p) && p != libc::IPPROTO_TCP => {
                Proto::Raw(p as u8)
            }
            (libc::SOCK_STREAM | libc::SOCK_DGRAM | libc::SOCK_RAW, _) => {
                return Err(Errno::EPROTONOSUPPORT);
            }
            _ => return Err(Errno::EINVAL),
        };
        let max = self.tcp_buf_max.load(Ordering::Relaxed);
        let buf = if proto == Proto::Tcp {
            TCP_DEFAULT_BUF.min(max)
        } else {
            DEFAULT_BUF
        };
        let opts = SockOpts {
            nonblocking: ty & libc::SOCK_NONBLOCK != 0,
            rcvbuf: buf.min(max),
            sndbuf: buf.min(max),
            tcp_buf_max: max,
            ..SockOpts::default()
        };
        Ok(Socket::new(self.handle()?, domain, proto, opts))
    }
}
