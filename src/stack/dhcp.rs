//! DHCPv4 on a network (`zts_addr_add(node, net, "dhcp")`): smoltcp's
//! client runs on the stack thread; a lease becomes the network's address,
//! default route and DNS servers, visible to app threads and announced as
//! ADDR_ADDED / ADDR_REMOVED events.

use super::Net;
use super::handle::StackHandle;
use super::route::{NetAddr, Route};
use crate::events::{self, Kind};
use smoltcp::iface::SocketHandle;
use smoltcp::socket::dhcpv4::{self, Event};
use smoltcp::wire::{IpCidr, Ipv4Address};
use std::net::{IpAddr, Ipv4Addr};

struct Lease {
    addr: NetAddr,
    router: Option<Ipv4Address>,
    dns: Vec<IpAddr>,
}

pub struct Dhcp {
    net: usize,
    handle: SocketHandle,
    lease: Option<Lease>,
}

impl Dhcp {
    pub fn start(nets: &mut [Net], net: usize) -> Option<Dhcp> {
        let n = nets.get_mut(net)?;
        let handle = n.sockets.add(dhcpv4::Socket::new());
        Some(Dhcp {
            net,
            handle,
            lease: None,
        })
    }

    pub fn net(&self) -> usize {
        self.net
    }

    fn drop_lease(&mut self, nets: &mut [Net], stack: &StackHandle) {
        let Some(lease) = self.lease.take() else {
            return;
        };
        let iface = &mut nets[self.net].iface;
        let cidr = IpCidr::new(lease.addr.addr.into(), lease.addr.prefix);
        iface.update_ip_addrs(|addrs| addrs.retain(|c| *c != cidr));
        if lease.router.is_some() {
            iface.routes_mut().remove_default_ipv4_route();
        }
        let mut routing = stack.routing_mut();
        routing.addrs.retain(|a| *a != lease.addr);
        routing
            .routes
            .retain(|r| !(r.net == self.net && r.prefix == 0 && r.dst.is_ipv4()));
        routing.dns.retain(|d| !lease.dns.contains(d));
        drop(routing);
        events::emit(
            Kind::AddrRemoved,
            stack.node,
            self.net as i32,
            Some(lease.addr.addr),
        );
    }

    /// Applies what the DHCP client learned; true if anything changed.
    pub fn pump(&mut self, nets: &mut [Net], stack: &StackHandle) -> bool {
        let event = match nets[self.net]
            .sockets
            .get_mut::<dhcpv4::Socket>(self.handle)
            .poll()
        {
            None => return false,
            Some(Event::Deconfigured) => None,
            Some(Event::Configured(cfg)) => Some((
                cfg.address,
                cfg.router,
                cfg.dns_servers
                    .iter()
                    .map(|d| IpAddr::V4(*d))
                    .collect::<Vec<_>>(),
            )),
        };
        self.drop_lease(nets, stack);
        let Some((cidr, router, dns)) = event else {
            return true;
        };
        let addr = NetAddr {
            net: self.net,
            addr: IpAddr::V4(cidr.address()),
            prefix: cidr.prefix_len(),
        };
        let iface = &mut nets[self.net].iface;
        iface.update_ip_addrs(|addrs| {
            let _ = addrs.push(IpCidr::Ipv4(cidr));
        });
        if let Some(r) = router {
            let _ = iface.routes_mut().add_default_ipv4_route(r);
        }
        let mut routing = stack.routing_mut();
        routing.addrs.push(addr);
        if let Some(r) = router {
            routing.routes.push(Route {
                net: self.net,
                dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                prefix: 0,
                via: IpAddr::V4(r),
            });
        }
        let fresh: Vec<IpAddr> = dns
            .iter()
            .copied()
            .filter(|d| !routing.dns.contains(d))
            .collect();
        routing.dns.extend(fresh.iter().copied());
        drop(routing);
        self.lease = Some(Lease {
            addr,
            router,
            dns: fresh,
        });
        events::emit(
            Kind::AddrAdded,
            stack.node,
            self.net as i32,
            Some(addr.addr),
        );
        true
    }

    pub fn stop(&mut self, nets: &mut [Net], stack: &StackHandle) {
        self.drop_lease(nets, stack);
        nets[self.net].sockets.remove(self.handle);
    }
}
