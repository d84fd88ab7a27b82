//! Per-socket options the app sets with `zts_setsockopt`.

use std::time::Duration;

pub const DEFAULT_BUF: usize = 256 * 1024;
/// A TCP connection's default buffer each way. It is the only one (app
/// calls read and write smoltcp's, stack/pipe.rs), so it is the whole
/// window: at 256 KiB a flow over the VXLAN overlay ran 20% slower.
pub const TCP_DEFAULT_BUF: usize = 512 * 1024;
/// The most a TCP connection's buffers grow to by themselves (tune.rs),
/// unless the node says otherwise.
pub const TCP_DEFAULT_BUF_MAX: usize = 16 * 1024 * 1024;
pub const MIN_BUF: usize = 4096;
pub const MAX_BUF: usize = 32 * 1024 * 1024;
pub const DEFAULT_HOPS: u8 = 64;
/// Linux's TCP keepalive defaults: idle seconds, probe interval, probes.
pub const DEFAULT_KEEPALIVE: (u32, u32, u32) = (7200, 75, 9);
/// How long a connect waits for an answer when SO_SNDTIMEO is not set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Debug)]
pub struct SockOpts {
    pub nonblocking: bool,
    pub rcvtimeo: Option<Duration>,
    pub sndtimeo: Option<Duration>,
    pub rcvbuf: usize,
    pub sndbuf: usize,
    /// Set by SO_RCVBUF / SO_SNDBUF: the size stays as set.
    pub rcvbuf_locked: bool,
    pub sndbuf_locked: bool,
    /// How far a TCP connection's buffers may grow (the node's setting).
    pub tcp_buf_max: usize,
    pub reuseaddr: bool,
    pub keepalive: bool,
    pub broadcast: bool,
    pub rcvlowat: usize,
    /// SO_BUSY_POLL: microseconds a blocking call on the socket looks for
    /// its wakeup before it sleeps (`Socket::busy_poll`); 0, Linux's default,
    /// sleeps at once.
    pub busy_poll: u32,
    pub keepidle: u32,
    pub keepintvl: u32,
    pub keepcnt: u32,
    /// IP_TTL (IPv4) and IPV6_UNICAST_HOPS (IPv6).
    pub ttl: u8,
    pub hops: u8,
    /// IP_TOS: kept for getsockopt; smoltcp sends every packet with TOS 0.
    pub tos: u8,
    pub v6only: bool,
    pub nodelay: bool,
    /// SO_LINGER: `Some(0)` makes close send a reset.
    pub linger: Option<u32>,
}

impl Default for SockOpts {
    fn default() -> Self {
        SockOpts {
            nonblocking: false,
            rcvtimeo: None,
            sndtimeo: None,
            rcvbuf: DEFAULT_BUF,
            sndbuf: DEFAULT_BUF,
            rcvbuf_locked: false,
            sndbuf_locked: false,
            tcp_buf_max: TCP_DEFAULT_BUF_MAX,
            reuseaddr: false,
            keepalive: false,
            broadcast: false,
            rcvlowat: 1,
            busy_poll: 0,
            keepidle: DEFAULT_KEEPALIVE.0,
            keepintvl: DEFAULT_KEEPALIVE.1,
            keepcnt: DEFAULT_KEEPALIVE.2,
            ttl: DEFAULT_HOPS,
            hops: DEFAULT_HOPS,
            tos: 0,
            v6only: false,
            nodelay: false,
            linger: None,
        }
    }
}

/// Clamps a requested buffer size the way the kernel does: silently.
pub fn clamp_buf(requested: i64) -> usize {
    requested.clamp(MIN_BUF as i64, MAX_BUF as i64) as usize
}
