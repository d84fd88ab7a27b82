//! get/setsockopt on a socket: option values in the platform's own layouts
//! (int, struct timeval, struct linger).

use super::options::clamp_buf;
use super::{Phase, Socket};
use crate::error::{Errno, Result};
use std::mem::size_of;
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

impl Socket {
    pub fn set_option(&self, level: i32, name: i32, val: &[u8]) -> Result<()> {
        let mut st = self.state.lock();
        self.check_open(&st)?;
        match (level, name) {
            (libc::SOL_SOCKET, libc::SO_RCVTIMEO) => st.opts.rcvtimeo = read_timeval(val)?,
            (libc::SOL_SOCKET, libc::SO_SNDTIMEO) => st.opts.sndtimeo = read_timeval(val)?,
            (libc::SOL_SOCKET, libc::SO_RCVBUF) => {
                let size = clamp_buf(read_int(val)? as i64);
                st.opts.rcvbuf = size;
                st.rx.set_capacity(size);
            }
            (libc::SOL_SOCKET, libc::SO_SNDBUF) => {
                let size = clamp_buf(read_int(val)? as i64);
                st.opts.sndbuf = size;
                st.tx.set_capacity(size);
            }
            (libc::SOL_SOCKET, libc::SO_REUSEADDR) => st.opts.reuseaddr = read_int(val)? != 0,
            (libc::SOL_SOCKET, libc::SO_KEEPALIVE) => {
                st.opts.keepalive = read_int(val)? != 0;
                st.opts_generation += 1;
            }
            (libc::SOL_SOCKET, libc::SO_LINGER) => {
                if val.len() < size_of::<libc::linger>() {
                    return Err(Errno::EINVAL);
                }
                let onoff = read_int(val)?;
                let secs = read_int(&val[size_of::<i32>()..])?;
                st.opts.linger = (onoff != 0).then_some(secs.max(0) as u32);
            }
            (libc::IPPROTO_TCP, libc::TCP_NODELAY) => {
                st.opts.nodelay = read_int(val)? != 0;
                st.opts_generation += 1;
            }
            _ => return Err(Errno::ENOPROTOOPT),
        }
        drop(st);
        self.stack.kick();
        Ok(())
    }

    pub fn get_option(&self, level: i32, name: i32) -> Result<Vec<u8>> {
        let mut st = self.state.lock();
        self.check_open(&st)?;
        let bytes = match (level, name) {
            (libc::SOL_SOCKET, libc::SO_RCVTIMEO) => timeval_bytes(st.opts.rcvtimeo),
            (libc::SOL_SOCKET, libc::SO_SNDTIMEO) => timeval_bytes(st.opts.sndtimeo),
            (libc::SOL_SOCKET, libc::SO_RCVBUF) => int_bytes(st.opts.rcvbuf as i32),
            (libc::SOL_SOCKET, libc::SO_SNDBUF) => int_bytes(st.opts.sndbuf as i32),
            (libc::SOL_SOCKET, libc::SO_REUSEADDR) => int_bytes(st.opts.reuseaddr as i32),
            (libc::SOL_SOCKET, libc::SO_KEEPALIVE) => int_bytes(st.opts.keepalive as i32),
            (libc::SOL_SOCKET, libc::SO_ERROR) => int_bytes(st.so_error.take().map_or(0, |e| e.0)),
            (libc::SOL_SOCKET, libc::SO_TYPE) => int_bytes(libc::SOCK_STREAM),
            (libc::SOL_SOCKET, libc::SO_DOMAIN) => int_bytes(self.domain),
            (libc::SOL_SOCKET, libc::SO_PROTOCOL) => int_bytes(libc::IPPROTO_TCP),
            (libc::SOL_SOCKET, libc::SO_ACCEPTCONN) => {
                int_bytes((st.phase == Phase::Listening) as i32)
            }
            (libc::SOL_SOCKET, libc::SO_LINGER) => {
                let (on, secs) = st.opts.linger.map_or((0, 0), |s| (1, s as i32));
                [int_bytes(on), int_bytes(secs)].concat()
            }
            (libc::IPPROTO_TCP, libc::TCP_NODELAY) => int_bytes(st.opts.nodelay as i32),
            _ => return Err(Errno::ENOPROTOOPT),
        };
        Ok(bytes)
    }

    pub fn set_nonblocking(&self, on: bool) -> Result<()> {
        let mut st = self.state.lock();
        self.check_open(&st)?;
        st.opts.nonblocking = on;
        Ok(())
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
