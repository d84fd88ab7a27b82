//! TCP calls on the app's side (and bind, shutdown and close for every
//! kind): they change the socket's state, copy bytes through the
//! connection's pipe, hand new work to the stack and block on the socket's
//! condition variable.

use super::options::DEFAULT_CONNECT_TIMEOUT;
use super::{Phase, Proto, SockState, Socket, deadline_after};
use crate::error::{Errno, Result};
use crate::stack::pipe::{Pipe, PipeGuard};
use parking_lot::MutexGuard;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

/// Most pending connections a listener keeps (the kernel's somaxconn).
pub const MAX_BACKLOG: usize = 4096;

pub(super) fn unspecified(domain: i32) -> IpAddr {
    if domain == libc::AF_INET6 {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    }
}

/// What a send that stopped early returns: the bytes queued, if any.
fn partial(sent: usize, e: Errno) -> Result<usize> {
    if sent > 0 { Ok(sent) } else { Err(e) }
}

impl Socket {
    pub fn bind(self: &Arc<Self>, addr: SocketAddr) -> Result<()> {
        let mut st = self.state.lock();
        self.check_open(&st)?;
        if st.local.is_some() || st.phase != Phase::Fresh {
            return Err(Errno::EINVAL);
        }
        if !addr.ip().is_unspecified() && !self.stack.owns_addr(addr.ip()) {
            return Err(Errno::EADDRNOTAVAIL);
        }
        let port = match self.stack.ports(self.proto) {
            Some(table) => {
                let lease = table
                    .lock()
                    .acquire(addr.ip(), addr.port(), st.opts.reuseaddr)?;
                st.lease = Some(lease);
                lease.port
            }
            None => 0,
        };
        st.local = Some(SocketAddr::new(addr.ip(), port));
        if self.proto == Proto::Tcp {
            return Ok(());
        }
        // A datagram socket receives from the moment bind returns.
        st.phase = Phase::Bound;
        drop(st);
        self.stack.submit(self.clone())?;
        self.stack.sync()
    }

    pub fn listen(self: &Arc<Self>, backlog: i32) -> Result<()> {
        let mut st = self.state.lock();
        self.check_open(&st)?;
        if self.proto != Proto::Tcp {
            return Err(Errno::EOPNOTSUPP);
        }
        let backlog = (backlog.max(1) as usize).min(MAX_BACKLOG);
        match st.phase {
            Phase::Listening => {
                st.backlog = backlog;
                drop(st);
                self.stack.kick_shared();
                return Ok(());
            }
            Phase::Fresh | Phase::Bound => {}
            Phase::Connecting | Phase::Connected => return Err(Errno::EINVAL),
        }
        if st.lease.is_none() {
            drop(st);
            self.bind(SocketAddr::new(unspecified(self.domain), 0))?;
            st = self.state.lock();
        }
        let lease = st.lease.ok_or(Errno::EINVAL)?;
        self.stack
            .ports(Proto::Tcp)
            .ok_or(Errno::EINVAL)?
            .lock()
            .set_listening(lease)?;
        st.backlog = backlog;
        st.phase = Phase::Listening;
        st.listen_ready = false;
        drop(st);
        self.stack.submit(self.clone())?;
        // Return once the stack listens, so a connect right after succeeds.
        let mut st = self.state.lock();
        while !st.listen_ready {
            self.check_open(&st)?;
            self.wait(&mut st, None);
        }
        Ok(())
    }

    pub(super) fn stream_connect(self: &Arc<Self>, addr: SocketAddr) -> Result<()> {
        let mut st = self.state.lock();
        self.check_open(&st)?;
        match st.phase {
            Phase::Connecting => return Err(Errno::EALREADY),
            Phase::Connected | Phase::Listening => return Err(Errno::EISCONN),
            Phase::Fresh | Phase::Bound => {}
        }
        if addr.port() == 0 {
            return Err(Errno::ECONNREFUSED);
        }
        if self.stack.route(addr.ip()).is_none() {
            return Err(Errno::ENETUNREACH);
        }
        if st.lease.is_none() {
            let lease = self
                .stack
                .ports(Proto::Tcp)
                .ok_or(Errno::EINVAL)?
                .lock()
                .acquire(unspecified(self.domain), 0, false)?;
            st.lease = Some(lease);
            st.local = Some(SocketAddr::new(unspecified(self.domain), lease.port));
        }
        st.so_error = None;
        st.phase = Phase::Connecting;
        st.peer = Some(addr);
        let timeout = st.opts.sndtimeo.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        st.connect_deadline = Some(Instant::now() + timeout);
        let nonblocking = st.opts.nonblocking;
        drop(st);
        if let Err(e) = self.stack.submit(self.clone()) {
            self.state.lock().phase = Phase::Fresh;
            return Err(e);
        }
        if nonblocking {
            return Err(Errno::EINPROGRESS);
        }
        let mut st = self.state.lock();
        // The stack thread enforces the connect deadline, so this wait ends.
        while st.phase == Phase::Connecting {
            self.check_open(&st)?;
            self.wait(&mut st, None);
        }
        self.check_open(&st)?;
        match st.phase {
            Phase::Connected => Ok(()),
            _ => Err(st.so_error.take().unwrap_or(Errno::ECONNREFUSED)),
        }
    }

    pub fn accept(&self) -> Result<(Arc<Socket>, SocketAddr)> {
        if self.proto != Proto::Tcp {
            return Err(Errno::EOPNOTSUPP);
        }
        let mut st = self.state.lock();
        let deadline = deadline_after(st.opts.rcvtimeo);
        loop {
            self.check_open(&st)?;
            if st.phase != Phase::Listening {
                return Err(Errno::EINVAL);
            }
            if let Some(child) = st.accept_queue.pop_front() {
                drop(st);
                // Room in the queue: the stack opens another listening slot.
                self.stack.kick_shared();
                let peer = child.state.lock().peer.ok_or(Errno::ECONNABORTED)?;
                return Ok((child, peer));
            }
            if st.opts.nonblocking || !self.wait(&mut st, deadline) {
                return Err(Errno::EAGAIN);
            }
        }
    }

    pub(super) fn stream_recv(&self, buf: &mut [u8], flags: i32) -> Result<usize> {
        let mut st = self.state.lock();
        let nonblocking = st.opts.nonblocking || flags & libc::MSG_DONTWAIT != 0;
        let peek = flags & libc::MSG_PEEK != 0;
        let waitall = flags & libc::MSG_WAITALL != 0 && !peek && !nonblocking;
        let deadline = deadline_after(st.opts.rcvtimeo);
        // How much a blocking call waits for: all of it (MSG_WAITALL), or
        // SO_RCVLOWAT bytes (never more than the queue holds).
        let want = if waitall {
            buf.len()
        } else {
            st.opts.rcvlowat.min(buf.len()).min(st.rx_capacity)
        }
        .max(1);
        let mut got = 0;
        loop {
            self.check_open(&st)?;
            let ended = st.rx_eof || st.shut_rd || st.so_error.is_some();
            let queued = if st.shut_rd { 0 } else { st.rx_queued };
            if queued > 0 && got == buf.len() {
                // Nothing asked for (a zero-length read): done, as on Linux.
                return Ok(got);
            }
            if queued > 0 && (got + queued >= want || ended || nonblocking || waitall) {
                let n;
                (st, n) = self.read_pipe(st, &mut buf[got..], peek);
                got += n;
                if n > 0 && (got >= want || ended || nonblocking || peek) {
                    return Ok(got);
                }
                continue;
            }
            if let Some(e) = st.so_error.take() {
                return if got > 0 { Ok(got) } else { Err(e) };
            }
            if st.rx_eof || st.shut_rd || buf.is_empty() {
                return Ok(got);
            }
            match st.phase {
                Phase::Connected | Phase::Connecting => {}
                Phase::Fresh | Phase::Bound | Phase::Listening => return Err(Errno::ENOTCONN),
            }
            if nonblocking {
                return if got > 0 { Ok(got) } else { Err(Errno::EAGAIN) };
            }
            if !self.wait(&mut st, deadline) {
                // Timed out: return whatever did arrive.
                if st.rx_queued > 0 && !st.shut_rd {
                    got += self.read_pipe(st, &mut buf[got..], peek).1;
                }
                return if got > 0 { Ok(got) } else { Err(Errno::EAGAIN) };
            }
        }
    }

    /// Moves bytes through the connection's pipe with `copy`, which says
    /// how many moved and whether the stack has something to send. The
    /// pipe comes before the state in the lock order, so the state is let
    /// go and taken again (callers check it afresh).
    fn through_pipe<'a>(
        &'a self,
        st: MutexGuard<'a, SockState>,
        copy: impl FnOnce(&mut PipeGuard, &mut SockState) -> (usize, bool),
    ) -> (MutexGuard<'a, SockState>, usize) {
        let Some(pipe) = st.pipe.clone() else {
            return (st, 0);
        };
        drop(st);
        let mut p = pipe.lock();
        let mut st = self.state.lock();
        let (n, kick) = copy(&mut p, &mut st);
        self.let_go(&pipe, p, kick);
        (st, n)
    }

    /// Lets go of the connection's pipe; the stack looks at the connection
    /// if it has something to send (`kick`) or a round that found the pipe
    /// taken left the connection to us.
    fn let_go(&self, pipe: &Pipe, p: PipeGuard, kick: bool) {
        drop(p);
        if kick | pipe.passed_over() {
            self.stack.touch(self);
        }
    }

    /// Runs `f` with the connection's pipe held, as a read or write holds
    /// it while it copies, and lets go as they do (testing.rs).
    pub(crate) fn with_pipe_held<R>(&self, f: impl FnOnce() -> R) -> R {
        let Some(pipe) = self.state.lock().pipe.clone() else {
            return f();
        };
        let p = pipe.lock();
        let r = f();
        self.let_go(&pipe, p, false);
        r
    }

    /// Copies received bytes out of the connection's smoltcp buffer.
    fn read_pipe<'a>(
        &'a self,
        st: MutexGuard<'a, SockState>,
        buf: &mut [u8],
        peek: bool,
    ) -> (MutexGuard<'a, SockState>, usize) {
        self.through_pipe(st, |p, st| p.read(buf, peek, st))
    }

    /// Queues bytes in the connection's smoltcp buffer.
    fn write_pipe<'a>(
        &'a self,
        st: MutexGuard<'a, SockState>,
        buf: &[u8],
    ) -> (MutexGuard<'a, SockState>, usize) {
        self.through_pipe(st, |p, st| {
            let n = p.write(buf, st);
            (n, n > 0)
        })
    }

    pub(super) fn stream_send(&self, buf: &[u8], flags: i32) -> Result<usize> {
        let mut st = self.state.lock();
        let nonblocking = st.opts.nonblocking || flags & libc::MSG_DONTWAIT != 0;
        let deadline = deadline_after(st.opts.sndtimeo);
        let mut sent = 0;
        loop {
            self.check_open(&st)?;
            if let Some(e) = st.so_error.take() {
                return partial(sent, e);
            }
            if st.shut_wr || st.reset {
                return partial(sent, Errno::EPIPE);
            }
            match st.phase {
                // A zero-length write returns 0 at once, as on Linux.
                Phase::Connected if st.tx_free > 0 || buf.is_empty() => {
                    crate::fault::point("stream_send");
                    let n;
                    (st, n) = self.write_pipe(st, &buf[sent..]);
                    sent += n;
                    if sent == buf.len() {
                        return Ok(sent);
                    }
                    if n > 0 {
                        continue;
                    }
                }
                Phase::Connected | Phase::Connecting => {}
                Phase::Fresh | Phase::Bound | Phase::Listening => return Err(Errno::ENOTCONN),
            }
            if nonblocking || !self.wait(&mut st, deadline) {
                return partial(sent, Errno::EAGAIN);
            }
        }
    }

    pub fn shutdown(&self, how: i32) -> Result<()> {
        let mut st = self.state.lock();
        self.check_open(&st)?;
        let (rd, wr) = match how {
            libc::SHUT_RD => (true, false),
            libc::SHUT_WR => (false, true),
            libc::SHUT_RDWR => (true, true),
            _ => return Err(Errno::EINVAL),
        };
        if st.phase != Phase::Connected {
            return Err(Errno::ENOTCONN);
        }
        if rd {
            // The stack drops what is queued and what still arrives.
            st.shut_rd = true;
            st.rx_queued = 0;
            st.rx_dgrams.clear();
        }
        st.shut_wr |= wr;
        self.notify(&st);
        drop(st);
        self.stack.touch(self);
        Ok(())
    }

    /// Closes the socket for the app; the stack thread finishes the
    /// connection (flushing queued data, then FIN) or resets it.
    pub fn close(&self) {
        let mut st = self.state.lock();
        if st.closed {
            return;
        }
        st.closed = true;
        if st.opts.linger == Some(0) && self.proto == Proto::Tcp {
            st.abort_on_close = true;
        }
        if let (Some(lease), Some(table)) = (st.lease.take(), self.stack.ports(self.proto)) {
            table.lock().release(lease);
        }
        let groups = std::mem::take(&mut st.groups);
        // Connections nobody accepted are reset, as the kernel does.
        let unaccepted: Vec<_> = st.accept_queue.drain(..).collect();
        for child in &unaccepted {
            let mut c = child.state.lock();
            c.closed = true;
            c.abort_on_close = true;
        }
        self.notify(&st);
        drop(st);
        for child in &unaccepted {
            self.stack.touch(child);
        }
        for (net, group) in groups {
            let _ = self.stack.multicast(net, group, false);
        }
        self.stack.touch(self);
    }
}
