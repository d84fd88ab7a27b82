//! A Linux TAP device (`tap:NAME`): the node sits on the host's own
//! network stack, which sees it as an Ethernet link. Creating or attaching
//! a TAP device needs CAP_NET_ADMIN.

use super::Tap;
use super::link::Link;
use super::reader::Reader;
use super::stats::DropReason;
use crate::error::{Errno, Result};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;

pub struct LinuxTap {
    fd: Arc<OwnedFd>,
    link: Arc<Link>,
    _reader: Reader,
}

/// struct ifreq as TUNSETIFF and SIOCSIFMTU read it: a name and a union
/// whose first member is what these calls use.
#[repr(C)]
struct IfReq {
    name: [libc::c_char; libc::IFNAMSIZ],
    value: libc::c_int,
    _pad: [u8; 20],
}

fn ifreq(name: &str, value: libc::c_int) -> IfReq {
    let mut req = IfReq {
        name: [0; libc::IFNAMSIZ],
        value,
        _pad: [0; 20],
    };
    for (d, s) in req
        .name
        .iter_mut()
        .zip(name.bytes().take(libc::IFNAMSIZ - 1))
    {
        *d = s as libc::c_char;
    }
    req
}

fn last_errno() -> Errno {
    Errno(
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO),
    )
}

/// Best effort: the kernel side of the device gets the node's MTU.
fn set_mtu(name: &str, mtu: usize) {
    // SAFETY: socket has no memory arguments.
    let s = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if s < 0 {
        return;
    }
    let req = ifreq(name, mtu as libc::c_int);
    // SAFETY: req is a valid ifreq for the duration of the call; s is ours.
    unsafe {
        libc::ioctl(s, libc::SIOCSIFMTU, &req);
        libc::close(s);
    }
}

impl LinuxTap {
    pub fn open(name: &str, link: Arc<Link>) -> Result<LinuxTap> {
        let path = c"/dev/net/tun";
        // SAFETY: path is a valid C string.
        let raw = unsafe {
            libc::open(
                path.as_ptr(),
                libc::O_RDWR | libc::O_CLOEXEC | libc::O_NONBLOCK,
            )
        };
        if raw < 0 {
            let e = last_errno();
            // The device node is root's: not being allowed to open it is
            // the same lack of privilege as TUNSETIFF's EPERM.
            if e == Errno::EACCES || e == Errno::EPERM {
                return Err(Errno::EPERM.detail(format!(
                    "tap:{name}: TAP devices need CAP_NET_ADMIN and access to /dev/net/tun ({e}); run as root or grant the capability"
                )));
            }
            return Err(e.detail(format!("tap:{name}: cannot open /dev/net/tun: {e}")));
        }
        // SAFETY: raw is a fresh fd we own.
        let fd = Arc::new(unsafe { OwnedFd::from_raw_fd(raw) });
        let req = ifreq(name, libc::IFF_TAP | libc::IFF_NO_PI);
        // SAFETY: req is a valid ifreq for the call; fd is open.
        if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETIFF, &req) } < 0 {
            let e = last_errno();
            let why = if e == Errno::EPERM {
                format!(
                    "tap:{name}: creating or attaching a TAP device needs CAP_NET_ADMIN (run as root, or create it first with `ip tuntap add {name} mode tap user $USER`)"
                )
            } else {
                format!("tap:{name}: TUNSETIFF failed: {e}")
            };
            return Err(e.detail(why));
        }
        set_mtu(name, link.mtu);
        let (rfd, rlink) = (fd.clone(), link.clone());
        let mut buf = vec![0u8; 65536 + 18];
        let reader = Reader::spawn(format!("zts-tap-{name}"), fd.as_raw_fd(), move || {
            loop {
                // SAFETY: buf is valid for its length; rfd stays open while the reader runs.
                let n =
                    unsafe { libc::read(rfd.as_raw_fd(), buf.as_mut_ptr() as *mut _, buf.len()) };
                if n <= 0 {
                    return;
                }
                rlink.deliver(buf[..n as usize].to_vec());
            }
        })?;
        Ok(LinuxTap {
            fd,
            link,
            _reader: reader,
        })
    }
}

impl Tap for LinuxTap {
    fn send(&self, frame: Vec<u8>) {
        // SAFETY: frame is valid for its length; fd is open.
        let n =
            unsafe { libc::write(self.fd.as_raw_fd(), frame.as_ptr() as *const _, frame.len()) };
        if n < 0 {
            self.link.stats.dropped(DropReason::SendFailed);
        }
    }
}
