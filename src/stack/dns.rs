//! DNS lookups for getaddrinfo, made by smoltcp's DNS client on the stack
//! thread: one DNS socket per network that reaches a configured server.
//! The app thread waits on the [`Lookup`] it handed over.

use super::Net;
use super::route::Routing;
use parking_lot::{Condvar, Mutex};
use smoltcp::iface::SocketHandle;
use smoltcp::socket::dns::{self, GetQueryResultError, QueryHandle};
use smoltcp::wire::{DnsQueryType, IpAddress};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Queries one DNS socket runs at once.
const QUERY_SLOTS: usize = 16;
/// smoltcp gives up on a query after 10 s; a failure that late is a
/// timeout, an earlier one an answer that the name has no address.
const SMOLTCP_GIVES_UP: Duration = Duration::from_secs(9);

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LookupError {
    NotFound,
    Timeout,
    NoServers,
    Down,
}

/// One A or AAAA query and its outcome.
pub struct Lookup {
    pub name: String,
    pub v6: bool,
    result: Mutex<Option<Result<Vec<IpAddr>, LookupError>>>,
    cond: Condvar,
}

impl Lookup {
    pub fn new(name: &str, v6: bool) -> Arc<Lookup> {
        Arc::new(Lookup {
            name: name.to_string(),
            v6,
            result: Mutex::new(None),
            cond: Condvar::new(),
        })
    }

    pub fn finish(&self, r: Result<Vec<IpAddr>, LookupError>) {
        let mut result = self.result.lock();
        if result.is_none() {
            *result = Some(r);
            self.cond.notify_all();
        }
    }

    /// Waits for the outcome until `deadline` (then Timeout).
    pub fn wait(&self, deadline: Instant) -> Result<Vec<IpAddr>, LookupError> {
        crate::wake::settle();
        let mut result = self.result.lock();
        while result.is_none() {
            if self.cond.wait_until(&mut result, deadline).timed_out() {
                return Err(LookupError::Timeout);
            }
        }
        result.clone().unwrap()
    }
}

struct Pending {
    lookup: Arc<Lookup>,
    net: usize,
    handle: SocketHandle,
    query: QueryHandle,
    started: Instant,
}

#[derive(Default)]
pub struct Resolver {
    sockets: Vec<(usize, SocketHandle)>,
    pending: Vec<Pending>,
}

/// The servers that network `net` reaches, as smoltcp addresses.
fn servers_on(routing: &Routing, net: usize) -> Vec<IpAddress> {
    routing
        .dns
        .iter()
        .filter(|s| routing.route(**s) == Some(net))
        .map(|s| IpAddress::from(*s))
        .take(4)
        .collect()
}

impl Resolver {
    pub fn busy(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The DNS servers changed: give each socket its new list.
    pub fn servers_changed(&mut self, nets: &mut [Net], routing: &Routing) {
        for &(n, h) in &self.sockets {
            nets[n]
                .sockets
                .get_mut::<dns::Socket>(h)
                .update_servers(&servers_on(routing, n));
        }
    }

    fn socket_for(&mut self, nets: &mut [Net], routing: &Routing, net: usize) -> SocketHandle {
        if let Some(&(_, h)) = self.sockets.iter().find(|(n, _)| *n == net) {
            return h;
        }
        let slots: Vec<Option<dns::DnsQuery>> = (0..QUERY_SLOTS).map(|_| None).collect();
        let s = dns::Socket::new(&servers_on(routing, net), slots);
        let h = nets[net].sockets.add(s);
        self.sockets.push((net, h));
        h
    }

    pub fn start(&mut self, nets: &mut [Net], routing: &Routing, lookup: Arc<Lookup>) {
        let Some(net) = routing.dns.iter().find_map(|s| routing.route(*s)) else {
            lookup.finish(Err(LookupError::NoServers));
            return;
        };
        let handle = self.socket_for(nets, routing, net);
        let qtype = if lookup.v6 {
            DnsQueryType::Aaaa
        } else {
            DnsQueryType::A
        };
        let n = &mut nets[net];
        let started = n.sockets.get_mut::<dns::Socket>(handle).start_query(
            n.iface.context(),
            &lookup.name,
            qtype,
        );
        match started {
            Ok(query) => self.pending.push(Pending {
                lookup,
                net,
                handle,
                query,
                started: Instant::now(),
            }),
            Err(_) => lookup.finish(Err(LookupError::NotFound)),
        }
    }

    /// Finishes the lookups that have answers; true if any did.
    pub fn pump(&mut self, nets: &mut [Net]) -> bool {
        let before = self.pending.len();
        self.pending.retain(|p| {
            let s = nets[p.net].sockets.get_mut::<dns::Socket>(p.handle);
            match s.get_query_result(p.query) {
                Ok(addrs) => {
                    let found: Vec<IpAddr> = addrs
                        .iter()
                        .map(|a| IpAddr::from(*a))
                        .filter(|a| a.is_ipv6() == p.lookup.v6)
                        .collect();
                    p.lookup.finish(if found.is_empty() {
                        Err(LookupError::NotFound)
                    } else {
                        Ok(found)
                    });
                    false
                }
                Err(GetQueryResultError::Failed) => {
                    let late = p.started.elapsed() >= SMOLTCP_GIVES_UP;
                    p.lookup.finish(Err(if late {
                        LookupError::Timeout
                    } else {
                        LookupError::NotFound
                    }));
                    false
                }
                Err(GetQueryResultError::Pending) => true,
            }
        });
        self.pending.len() != before
    }

    /// The node stops: every waiting lookup fails.
    pub fn abandon(&mut self, nets: &mut [Net]) {
        for p in self.pending.drain(..) {
            p.lookup.finish(Err(LookupError::Down));
        }
        for (n, h) in self.sockets.drain(..) {
            nets[n].sockets.remove(h);
        }
    }
}
