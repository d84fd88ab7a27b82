//! Socket addresses as the program passes them, kept whole (so they go back
//! to it exactly), with the IP read out for routing decisions.

use libc::{sockaddr, sockaddr_in, sockaddr_in6, sockaddr_storage, socklen_t};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Clone, Copy)]
pub struct Addr {
    pub storage: sockaddr_storage,
    pub len: socklen_t,
}

impl Addr {
    pub fn empty() -> Addr {
        // SAFETY: sockaddr_storage is plain bytes; all-zero is valid.
        Addr {
            storage: unsafe { std::mem::zeroed() },
            len: std::mem::size_of::<sockaddr_storage>() as socklen_t,
        }
    }

    /// A copy of an AF_INET or AF_INET6 address; None for other families,
    /// NULL or a short length.
    ///
    /// # Safety
    /// `addr` is NULL or points to `len` readable bytes.
    pub unsafe fn read(addr: *const sockaddr, len: socklen_t) -> Option<Addr> {
        if addr.is_null() || (len as usize) < std::mem::size_of::<libc::sa_family_t>() {
            return None;
        }
        // SAFETY: the caller vouches for `len` bytes at `addr`.
        let family = unsafe { (*addr).sa_family } as i32;
        let need = match family {
            libc::AF_INET => std::mem::size_of::<sockaddr_in>(),
            libc::AF_INET6 => std::mem::size_of::<sockaddr_in6>(),
            _ => return None,
        };
        if (len as usize) < need {
            return None;
        }
        let mut a = Addr::empty();
        // SAFETY: `need` bytes are readable at `addr` and fit the storage.
        unsafe {
            std::ptr::copy_nonoverlapping(
                addr.cast::<u8>(),
                (&raw mut a.storage).cast::<u8>(),
                need,
            )
        };
        a.len = need as socklen_t;
        Some(a)
    }

    pub fn family(&self) -> i32 {
        self.storage.ss_family as i32
    }

    pub fn ip(&self) -> Option<IpAddr> {
        let p = (&raw const self.storage).cast::<u8>();
        match self.family() {
            libc::AF_INET => {
                // SAFETY: an AF_INET address fills a sockaddr_in.
                let sin = unsafe { &*p.cast::<sockaddr_in>() };
                Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                    sin.sin_addr.s_addr,
                ))))
            }
            libc::AF_INET6 => {
                // SAFETY: an AF_INET6 address fills a sockaddr_in6.
                let sin6 = unsafe { &*p.cast::<sockaddr_in6>() };
                Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)))
            }
            _ => None,
        }
    }

    pub fn ptr(&self) -> *const sockaddr {
        (&raw const self.storage).cast()
    }

    pub fn ptr_mut(&mut self) -> *mut sockaddr {
        (&raw mut self.storage).cast()
    }

    /// Copies the address out as getsockname(2) does: truncated to
    /// `*len`, with `*len` set to its full size.
    ///
    /// # Safety
    /// `out` is NULL or points to `*len` writable bytes; `len` is NULL or
    /// valid.
    pub unsafe fn write(&self, out: *mut sockaddr, len: *mut socklen_t) {
        if out.is_null() || len.is_null() {
            return;
        }
        // SAFETY: the caller vouches for `len` and `*len` bytes at `out`.
        unsafe {
            let n = (*len).min(self.len) as usize;
            std::ptr::copy_nonoverlapping((&raw const self.storage).cast::<u8>(), out.cast(), n);
            *len = self.len;
        }
    }

    /// The address as bytes, for the header an accepted connection carries.
    pub fn to_bytes(self) -> [u8; HEADER_ADDR] {
        let mut b = [0u8; HEADER_ADDR];
        // SAFETY: sockaddr_storage is HEADER_ADDR plain bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(
                (&raw const self.storage).cast::<u8>(),
                b.as_mut_ptr(),
                HEADER_ADDR,
            )
        };
        b
    }

    pub fn from_bytes(b: &[u8]) -> Addr {
        let mut a = Addr::empty();
        let n = b.len().min(HEADER_ADDR);
        // SAFETY: at most HEADER_ADDR bytes into a storage of that size.
        unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), (&raw mut a.storage).cast::<u8>(), n) };
        a.len = match a.family() {
            libc::AF_INET6 => std::mem::size_of::<sockaddr_in6>(),
            _ => std::mem::size_of::<sockaddr_in>(),
        } as socklen_t;
        a
    }
}

/// Bytes of one address in the header.
pub const HEADER_ADDR: usize = std::mem::size_of::<sockaddr_storage>();
