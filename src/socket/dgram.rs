//! Datagram calls on the app's side: UDP, ping (ICMP echo) and raw
//! sockets. Whole messages go through the socket's datagram queues; the
//! stack thread moves them to and from smoltcp.

use super::datagrams::Datagram;
use super::stream::unspecified;
use super::{Phase, Proto, Received, Socket, deadline_after};
use crate::error::{Errno, Result};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Largest UDP payload: what fits in a 65535-byte IPv4 / IPv6 packet.
pub const MAX_UDP_V4: usize = 65507;
pub const MAX_UDP_V6: usize = 65527;
const ICMP_ECHO_REQUEST_V4: u8 = 8;
const ICMP_ECHO_REQUEST_V6: u8 = 128;

impl Socket {
    /// Gives an unbound datagram socket an ephemeral port, as sendto and
    /// connect do.
    fn autobind(self: &Arc<Self>) -> Result<()> {
        if self.state.lock().local.is_some() {
            return Ok(());
        }
        match self.bind(SocketAddr::new(unspecified(self.domain), 0)) {
            Err(Errno::EINVAL) if self.state.lock().local.is_some() => Ok(()),
            other => other,
        }
    }

    pub(super) fn dgram_connect(self: &Arc<Self>, addr: SocketAddr) -> Result<()> {
        self.check_open(&self.state.lock())?;
        if self.stack.route(addr.ip()).is_none() {
            return Err(Errno::ENETUNREACH);
        }
        self.autobind()?;
        let mut st = self.state.lock();
        self.check_open(&st)?;
        st.peer = Some(addr);
        st.phase = Phase::Connected;
        Ok(())
    }

    pub(super) fn dgram_recv(&self, buf: &mut [u8], flags: i32) -> Result<Received> {
        let mut st = self.state.lock();
        let nonblocking = st.opts.nonblocking || flags & libc::MSG_DONTWAIT != 0;
        let deadline = deadline_after(st.opts.rcvtimeo);
        loop {
            self.check_open(&st)?;
            if let Some(d) = st.rx_dgrams.front() {
                let n = buf.len().min(d.data.len());
                buf[..n].copy_from_slice(&d.data[..n]);
                let got = Received {
                    len: if flags & libc::MSG_TRUNC != 0 {
                        d.data.len()
                    } else {
                        n
                    },
                    from: Some(d.addr),
                    truncated: d.data.len() > buf.len(),
                };
                if flags & libc::MSG_PEEK == 0 {
                    st.rx_dgrams.pop();
                    if std::mem::take(&mut st.rx_stalled) {
                        self.stack.kick_shared();
                    }
                }
                return Ok(got);
            }
            if let Some(e) = st.so_error.take() {
                return Err(e);
            }
            if st.shut_rd {
                return Ok(Received {
                    len: 0,
                    from: None,
                    truncated: false,
                });
            }
            if nonblocking || !self.wait(&mut st, deadline) {
                return Err(Errno::EAGAIN);
            }
        }
    }

    fn check_datagram(&self, data: &[u8], dst: &SocketAddr, broadcast_ok: bool) -> Result<()> {
        let max = match (self.proto, self.domain) {
            (Proto::Raw(_), libc::AF_INET) => 65535 - 20,
            (_, libc::AF_INET6) => MAX_UDP_V6,
            _ => MAX_UDP_V4,
        };
        if data.len() > max {
            return Err(Errno::EMSGSIZE);
        }
        // smoltcp fragments IPv4 but not IPv6: an IPv6 datagram must fit
        // the MTU of the network it leaves by, as with IPV6_DONTFRAG.
        if let IpAddr::V6(v6) = dst.ip()
            && v6.to_ipv4_mapped().is_none()
        {
            let net = self.stack.route(dst.ip()).unwrap_or(0);
            let header = 40 + if self.proto == Proto::Udp { 8 } else { 0 };
            let mtu = self.stack.ip_mtus.get(net).copied().unwrap_or(1280);
            if data.len() + header > mtu {
                return Err(Errno::EMSGSIZE);
            }
        }
        match self.proto {
            Proto::Udp if dst.port() == 0 => return Err(Errno::EINVAL),
            Proto::Ping => {
                let request = if self.domain == libc::AF_INET6 {
                    ICMP_ECHO_REQUEST_V6
                } else {
                    ICMP_ECHO_REQUEST_V4
                };
                if data.len() < 8 || data[0] != request || data[1] != 0 {
                    return Err(Errno::EINVAL);
                }
            }
            _ => {}
        }
        if self.is_broadcast(dst.ip()) && !broadcast_ok {
            return Err(Errno::EACCES);
        }
        // Broadcast and multicast leave through the socket's first network.
        let group = self.is_broadcast(dst.ip()) || dst.ip().is_multicast();
        if self.stack.route(dst.ip()).is_none() && !group {
            return Err(Errno::ENETUNREACH);
        }
        Ok(())
    }

    fn is_broadcast(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(v4) => {
                v4.is_broadcast()
                    || self.stack.routing().addrs.iter().any(|a| match a.addr {
                        IpAddr::V4(mine) if a.prefix < 31 => {
                            let host_bits = u32::MAX >> a.prefix;
                            u32::from(v4) == (u32::from(mine) | host_bits)
                        }
                        _ => false,
                    })
            }
            IpAddr::V6(_) => false,
        }
    }

    pub(super) fn dgram_send(
        self: &Arc<Self>,
        data: &[u8],
        flags: i32,
        to: Option<SocketAddr>,
    ) -> Result<usize> {
        let (dst, broadcast_ok) = {
            let st = self.state.lock();
            self.check_open(&st)?;
            let dst = to.or(st.peer).ok_or(Errno::EDESTADDRREQ)?;
            (dst, st.opts.broadcast)
        };
        self.check_datagram(data, &dst, broadcast_ok)?;
        self.autobind()?;
        let mut st = self.state.lock();
        let nonblocking = st.opts.nonblocking || flags & libc::MSG_DONTWAIT != 0;
        let deadline = deadline_after(st.opts.sndtimeo);
        loop {
            self.check_open(&st)?;
            if st.shut_wr {
                return Err(Errno::EPIPE);
            }
            if st.tx_dgrams.fits(data.len()) {
                st.tx_dgrams.push(Datagram {
                    addr: dst,
                    data: data.to_vec(),
                });
                drop(st);
                self.stack.kick_thread();
                return Ok(data.len());
            }
            if nonblocking || !self.wait(&mut st, deadline) {
                return Err(Errno::EAGAIN);
            }
        }
    }
}
