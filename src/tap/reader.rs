//! A tap thread: sleeps in poll(2) on a backend's fd (a UDP socket, a TAP
//! device) and a stop eventfd, and drains the fd each time it is readable.
//! No timer: it wakes only for frames or to stop.

use crate::error::{Errno, Result};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::thread::JoinHandle;

pub struct Reader {
    stop: OwnedFd,
    thread: Option<JoinHandle<()>>,
}

impl Reader {
    /// Runs `drain` (which reads the non-blocking `fd` until EAGAIN) each
    /// time `fd` is readable, on a thread named `name`, until dropped.
    pub fn spawn(
        name: String,
        fd: RawFd,
        mut drain: impl FnMut() + Send + 'static,
    ) -> Result<Reader> {
        // SAFETY: eventfd has no memory arguments.
        let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        if raw < 0 {
            return Err(Errno::EMFILE);
        }
        // SAFETY: raw is a fresh fd we own.
        let stop = unsafe { OwnedFd::from_raw_fd(raw) };
        let stop_fd = stop.as_raw_fd();
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                let mut fds = [
                    libc::pollfd {
                        fd,
                        events: libc::POLLIN,
                        revents: 0,
                    },
                    libc::pollfd {
                        fd: stop_fd,
                        events: libc::POLLIN,
                        revents: 0,
                    },
                ];
                loop {
                    // SAFETY: fds is a valid array of two pollfds.
                    let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
                    if n < 0 {
                        if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                            continue;
                        }
                        return;
                    }
                    if fds[1].revents != 0 {
                        return;
                    }
                    if fds[0].revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
                        return;
                    }
                    if fds[0].revents != 0 {
                        drain();
                    }
                }
            })
            .map_err(|_| Errno::EAGAIN)?;
        Ok(Reader {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our own eventfd.
        unsafe { libc::write(self.stop.as_raw_fd(), &one as *const u64 as *const _, 8) };
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
