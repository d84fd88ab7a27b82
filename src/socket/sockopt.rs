//! get/setsockopt on a socket: option values in the platform's own layouts
//! (int, struct timeval, struct linger).

use super::options::{DEFAULT_HOPS, clamp_buf};
use super::{Phase, Proto, Socket};
use crate::error::{Errno, Result};
use std::mem::size_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

fn read_int(val: &[u8]) -> Result<i32> {
    let bytes = val.get(..size_of::<i32>()).ok_or(Errno::EINVAL)?;
    Ok(i32::from_ne_bytes(bytes.try_into().unwrap()))
}

fn read_timeval(val: &[u8]) -> Result<Option<Duration>> {
    if val.len() < size_of::<libc::timeval>() {
        return Err(Errno::EINVAL);
    }
    // SAFETY: the slice holds at least a timeval; read_unaligned copes with
    // the caller's alignment.
    let tv = unsafe { std::ptr::read_unaligned(val.as_ptr() as *const libc::timeval) };
    if tv.tv_sec < 0 || !(0..1_000_000).contains(&tv.tv_usec) {
        return Err(Errno::EINVAL);
    }
    let d = Duration::from_secs(tv.tv_sec as u64) + Duration::from_micros(tv.tv_usec as u64);
    Ok((!d.is_zero()).then_some(d))
}

fn timeval_bytes(d: Option<Duration>) -> Vec<u8> {
    let d = d.unwrap_or_default();
    let tv = libc::timeval {
        tv_sec: d.as_secs() as libc::time_t,
        tv_usec: d.subsec_micros() as libc::suseconds_t,
    };
    // SAFETY: timeval is plain old data; we copy exactly its bytes.
    unsafe { std::slice::from_raw_parts(&tv as *const _ as *const u8, size_of::<libc::timeval>()) }
        .to_vec()
}

fn int_bytes(v: i32) -> Vec<u8> {
    v.to_ne_bytes().to_vec()
}

/// An int option in 1..=255 (TTL, hop limits).
fn read_hops(val: &[u8]) -> Result<u8> {
    match read_int(val)? {
        -1 => Ok(DEFAULT_HOPS),
        v @ 1..=255 => Ok(v as u8),
        _ => Err(Errno::EINVAL),
    }
}

/// A positive int option in seconds (TCP keepalive timing).
fn read_secs(val: &[u8]) -> Result<u32> {
    match read_int(val)? {
        v @ 1..=32767 => Ok(v as u32),
        _ => Err(Errno::EINVAL),
    }
}

fn read_bool(val: &[u8]) -> Result<bool> {
    Ok(read_int(val)? != 0)
}

/// struct ip_mreq (or ip_mreqn): the group and the local address of the
/// network to join it on (None: every IPv4 network).
fn read_ip_mreq(val: &[u8]) -> Result<(Ipv4Addr, Option<Ipv4Addr>)> {
    if val.len() < size_of::<libc::ip_mreq>() {
        return Err(Errno::EINVAL);
    }
    let group = Ipv4Addr::new(val[0], val[1], val[2], val[3]);
    let via = Ipv4Addr::new(val[4], val[5], val[6], val[7]);
    if !group.is_multicast() {
        return Err(Errno::EINVAL);
    }
    Ok((group, (!via.is_unspecified()).then_some(via)))
}

/// struct ipv6_mreq: the group and an interface index (network n is
/// index n + 1; 0 means every IPv6 network).
fn read_ipv6_mreq(val: &[u8]) -> Result<(Ipv6Addr, u32)> {
    if val.len() < size_of::<libc::ipv6_mreq>() {
        return Err(Errno::EINVAL);
    }
    let octets: [u8; 16] = val[..16].try_into().unwrap();
    let group = Ipv6Addr::from(octets);
    let index = u32::from_ne_bytes(val[16..20].try_into().unwrap());
    if !group.is_multicast() {
        return Err(Errno::EINVAL);
    }
    Ok((group, index))
}

impl Socket {
    /// The networks a multicast join applies to.
    fn group_nets(&self, via: Option<IpAddr>, v6: bool) -> Result<Vec<usize>> {
        let routing = self.stack.routing();
        match via {
            Some(ip) => routing
                .net_of(ip)
                .map(|n| vec![n])
                .ok_or(Errno::EADDRNOTAVAIL),
            None => Ok(routing
                .nets_for(v6)
                .into_iter()
                .filter(|n| !routing.is_loopback_net(*n))
                .collect()),
        }
    }

    fn membership(
        &self,
        mut st: parking_lot::MutexGuard<'_, super::SockState>,
        group: IpAddr,
        nets: Vec<usize>,
        join: bool,
    ) -> Result<()> {
        for &net in &nets {
            match (join, st.groups.contains(&(net, group))) {
                (true, true) => return Err(Errno::EADDRINUSE),
                (false, false) => return Err(Errno::EADDRNOTAVAIL),
                _ => {}
            }
        }
        if join {
            st.groups.extend(nets.iter().map(|&n| (n, group)));
        } else {
            st.groups
                .retain(|(n, g)| !(*g == group && nets.contains(n)));
        }
        // The stack applies it before this returns; it may need this
        // socket's lock meanwhile.
        drop(st);
        for net in nets {
            self.stack.multicast(net, group, join)?;
        }
        Ok(())
    }

    pub fn set_option(&self, level: i32, name: i32, val: &[u8]) -> Result<()> {
        let tcp = self.proto == Proto::Tcp;
        let v6 = self.domain == libc::AF_INET6;
        let mut st = self.state.lock();
        self.check_open(&st)?;
        let o = &mut st.opts;
        // Options the stack thread applies to smoltcp bump the generation.
        let mut applied = false;
        match (level, name) {
            (libc::SOL_SOCKET, libc::SO_RCVTIMEO) => o.rcvtimeo = read_timeval(val)?,
            (libc::SOL_SOCKET, libc::SO_SNDTIMEO) => o.sndtimeo = read_timeval(val)?,
            (libc::SOL_SOCKET, libc::SO_RCVBUF) => {
                o.rcvbuf = clamp_buf(read_int(val)? as i64);
                o.rcvbuf_locked = true;
            }
            (libc::SOL_SOCKET, libc::SO_SNDBUF) => {
                o.sndbuf = clamp_buf(read_int(val)? as i64);
                o.sndbuf_locked = true;
            }
            (libc::SOL_SOCKET, libc::SO_REUSEADDR) => o.reuseaddr = read_bool(val)?,
            (libc::SOL_SOCKET, libc::SO_BROADCAST) => o.broadcast = read_bool(val)?,
            (libc::SOL_SOCKET, libc::SO_RCVLOWAT) => o.rcvlowat = read_int(val)?.max(1) as usize,
            (libc::SOL_SOCKET, libc::SO_BUSY_POLL) => {
                o.busy_poll = u32::try_from(read_int(val)?).map_err(|_| Errno::EINVAL)?;
            }
            (libc::SOL_SOCKET, libc::SO_KEEPALIVE) => {
                o.keepalive = read_bool(val)?;
                applied = true;
            }
            (libc::SOL_SOCKET, libc::SO_LINGER) => {
                if val.len() < size_of::<libc::linger>() {
                    return Err(Errno::EINVAL);
                }
                let onoff = read_int(val)?;
                let secs = read_int(&val[size_of::<i32>()..])?;
                o.linger = (onoff != 0).then_some(secs.max(0) as u32);
            }
            (libc::IPPROTO_TCP, libc::TCP_NODELAY) if tcp => {
                o.nodelay = read_bool(val)?;
                applied = true;
            }
            (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE) if tcp => {
                o.keepidle = read_secs(val)?;
                applied = true;
            }
            (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL) if tcp => {
                o.keepintvl = read_secs(val)?;
                applied = true;
            }
            (libc::IPPROTO_TCP, libc::TCP_KEEPCNT) if tcp => {
                o.keepcnt = match read_int(val)? {
                    v @ 1..=127 => v as u32,
                    _ => return Err(Errno::EINVAL),
                };
                applied = true;
            }
            (libc::IPPROTO_IP, libc::IP_TTL) => {
                o.ttl = read_hops(val)?;
                applied = true;
            }
            (libc::IPPROTO_IP, libc::IP_TOS) => o.tos = (read_int(val)? & 0xff) as u8,
            (libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS) if v6 => {
                o.hops = read_hops(val)?;
                applied = true;
            }
            (libc::IPPROTO_IP, libc::IP_ADD_MEMBERSHIP | libc::IP_DROP_MEMBERSHIP) if !tcp => {
                let (group, via) = read_ip_mreq(val)?;
                let nets = self.group_nets(via.map(IpAddr::V4), false)?;
                return self.membership(
                    st,
                    IpAddr::V4(group),
                    nets,
                    name == libc::IP_ADD_MEMBERSHIP,
                );
            }
            (libc::IPPROTO_IPV6, libc::IPV6_ADD_MEMBERSHIP | libc::IPV6_DROP_MEMBERSHIP)
                if v6 && !tcp =>
            {
                let (group, index) = read_ipv6_mreq(val)?;
                let nets = match index {
                    0 => self.group_nets(None, true)?,
                    i => vec![i as usize - 1],
                };
                return self.membership(
                    st,
                    IpAddr::V6(group),
                    nets,
                    name == libc::IPV6_ADD_MEMBERSHIP,
                );
            }
            (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY) if v6 => {
                if st.local.is_some() {
                    return Err(Errno::EINVAL);
                }
                st.opts.v6only = read_bool(val)?;
            }
            _ => return Err(Errno::ENOPROTOOPT),
        }
        let (rcvbuf, sndbuf) = (st.opts.rcvbuf, st.opts.sndbuf);
        if st.pipe.is_none() {
            // A connection's buffers are sized when it starts.
            st.rx_capacity = rcvbuf;
        }
        st.rx_dgrams.set_capacity(rcvbuf);
        st.tx_dgrams.set_capacity(sndbuf);
        if applied {
            st.opts_generation += 1;
        }
        drop(st);
        self.stack.touch(self);
        Ok(())
    }

    pub fn get_option(&self, level: i32, name: i32) -> Result<Vec<u8>> {
        let tcp = self.proto == Proto::Tcp;
        let v6 = self.domain == libc::AF_INET6;
        let mut st = self.state.lock();
        self.check_open(&st)?;
        let o = &st.opts;
        let int = |v: i32| Ok(int_bytes(v));
        let bytes: Result<Vec<u8>> = match (level, name) {
            (libc::SOL_SOCKET, libc::SO_RCVTIMEO) => Ok(timeval_bytes(o.rcvtimeo)),
            (libc::SOL_SOCKET, libc::SO_SNDTIMEO) => Ok(timeval_bytes(o.sndtimeo)),
            // A connection's buffers grow (stack/tune.rs): their size now,
            // as Linux reports after autotuning.
            (libc::SOL_SOCKET, libc::SO_RCVBUF) if tcp && st.pipe.is_some() => {
                int(st.rx_capacity as i32)
            }
            (libc::SOL_SOCKET, libc::SO_SNDBUF) if tcp && st.pipe.is_some() => {
                int(st.tx_capacity as i32)
            }
            (libc::SOL_SOCKET, libc::SO_RCVBUF) => int(o.rcvbuf as i32),
            (libc::SOL_SOCKET, libc::SO_SNDBUF) => int(o.sndbuf as i32),
            (libc::SOL_SOCKET, libc::SO_REUSEADDR) => int(o.reuseaddr as i32),
            (libc::SOL_SOCKET, libc::SO_BROADCAST) => int(o.broadcast as i32),
            (libc::SOL_SOCKET, libc::SO_RCVLOWAT) => int(o.rcvlowat as i32),
            (libc::SOL_SOCKET, libc::SO_BUSY_POLL) => int(o.busy_poll as i32),
            (libc::SOL_SOCKET, libc::SO_KEEPALIVE) => int(o.keepalive as i32),
            (libc::SOL_SOCKET, libc::SO_TYPE) => int(self.proto.sotype()),
            (libc::SOL_SOCKET, libc::SO_DOMAIN) => int(self.domain),
            (libc::SOL_SOCKET, libc::SO_PROTOCOL) => int(self.proto.number(self.domain)),
            (libc::SOL_SOCKET, libc::SO_ACCEPTCONN) => int((st.phase == Phase::Listening) as i32),
            (libc::SOL_SOCKET, libc::SO_LINGER) => {
                let (on, secs) = o.linger.map_or((0, 0), |s| (1, s as i32));
                Ok([int_bytes(on), int_bytes(secs)].concat())
            }
            (libc::SOL_SOCKET, libc::SO_ERROR) => {
                return Ok(int_bytes(st.so_error.take().map_or(0, |e| e.0)));
            }
            (libc::IPPROTO_TCP, libc::TCP_NODELAY) if tcp => int(o.nodelay as i32),
            (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE) if tcp => int(o.keepidle as i32),
            (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL) if tcp => int(o.keepintvl as i32),
            (libc::IPPROTO_TCP, libc::TCP_KEEPCNT) if tcp => int(o.keepcnt as i32),
            (libc::IPPROTO_TCP, libc::TCP_MAXSEG) if tcp => int(st.mss as i32),
            (libc::IPPROTO_IP, libc::IP_TTL) => int(o.ttl as i32),
            (libc::IPPROTO_IP, libc::IP_TOS) => int(o.tos as i32),
            (libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS) if v6 => int(o.hops as i32),
            (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY) if v6 => int(o.v6only as i32),
            _ => Err(Errno::ENOPROTOOPT),
        };
        bytes
    }

    pub fn set_nonblocking(&self, on: bool) -> Result<()> {
        let mut st = self.state.lock();
        self.check_open(&st)?;
        st.opts.nonblocking = on;
        Ok(())
    }

    /// FIONREAD: queued bytes, or the next datagram's size.
    pub fn readable_bytes(&self) -> Result<usize> {
        let st = self.state.lock();
        self.check_open(&st)?;
        Ok(match self.proto {
            Proto::Tcp => st.rx_queued,
            _ => st.rx_dgrams.front().map_or(0, |d| d.data.len()),
        })
    }

    pub fn is_nonblocking(&self) -> Result<bool> {
        let st = self.state.lock();
        self.check_open(&st)?;
        Ok(st.opts.nonblocking)
    }

    pub fn local_addr(&self) -> Result<std::net::SocketAddr> {
        let st = self.state.lock();
        self.check_open(&st)?;
        Ok(st.local.unwrap_or_else(|| {
            std::net::SocketAddr::new(super::stream::unspecified(self.domain), 0)
        }))
    }

    pub fn peer_addr(&self) -> Result<std::net::SocketAddr> {
        let st = self.state.lock();
        self.check_open(&st)?;
        match st.phase {
            Phase::Connected => st.peer.ok_or(Errno::ENOTCONN),
            _ => Err(Errno::ENOTCONN),
        }
    }
}
