//! Per-socket options the app sets with `zts_setsockopt`.

use std::time::Duration;

pub const DEFAULT_BUF: usize = 256 * 1024;
pub const MIN_BUF: usize = 4096;
pub const MAX_BUF: usize = 32 * 1024 * 1024;
/// How long a connect waits for an answer when SO_SNDTIMEO is not set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Debug)]
pub struct SockOpts {
    pub nonblocking: bool,
    pub rcvtimeo: Option<Duration>,
    pub sndtimeo: Option<Duration>,
    pub rcvbuf: usize,
    pub sndbuf: usize,
    pub reuseaddr: bool,
    pub keepalive: bool,
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
            reuseaddr: false,
            keepalive: false,
            nodelay: false,
            linger: None,
        }
    }
}

/// Clamps a requested buffer size the way the kernel does: silently.
pub fn clamp_buf(requested: i64) -> usize {
    requested.clamp(MIN_BUF as i64, MAX_BUF as i64) as usize
}
