//! Names: getaddrinfo over a node, its hosts table and DNS servers.

use super::{addr, c_str, call};
use crate::error::{Errno, Result};
use crate::node;
use crate::resolve::{self, Answer, Hints};
use libc::{addrinfo, c_char, c_int, sockaddr_storage};
use std::mem::size_of;

/// One list entry: the addrinfo and the address it points to, in one
/// malloc block (freed by zts_freeaddrinfo).
#[repr(C)]
struct Entry {
    info: addrinfo,
    addr: sockaddr_storage,
}

/// Builds the C list; NULL for an empty list.
fn to_c(answers: &[Answer]) -> Result<*mut addrinfo> {
    let mut head: *mut addrinfo = std::ptr::null_mut();
    for a in answers.iter().rev() {
        // SAFETY: malloc of a plain-old-data block; checked for NULL below.
        let e = unsafe { libc::calloc(1, size_of::<Entry>()) } as *mut Entry;
        if e.is_null() {
            // SAFETY: head is a list this function built.
            unsafe { zts_freeaddrinfo(head) };
            return Err(Errno::ENOBUFS);
        }
        let canon = match &a.canonname {
            Some(name) => {
                let c = std::ffi::CString::new(name.as_str()).map_err(|_| Errno::EINVAL)?;
                // SAFETY: strdup copies a valid C string into malloc memory.
                unsafe { libc::strdup(c.as_ptr()) }
            }
            None => std::ptr::null_mut(),
        };
        // SAFETY: e is a zeroed, suitably aligned Entry we own.
        unsafe {
            let mut len = size_of::<sockaddr_storage>() as libc::socklen_t;
            addr::write(
                a.addr,
                a.family,
                &mut (*e).addr as *mut _ as *mut libc::sockaddr,
                &mut len,
            )?;
            (*e).info = addrinfo {
                ai_flags: 0,
                ai_family: a.family,
                ai_socktype: a.socktype,
                ai_protocol: a.protocol,
                ai_addrlen: len,
                ai_addr: &mut (*e).addr as *mut _ as *mut libc::sockaddr,
                ai_canonname: canon,
                ai_next: head,
            };
            head = &mut (*e).info;
        }
    }
    Ok(head)
}

/// getaddrinfo(3) on node `node`: numeric addresses, "localhost", names
/// added with zts_hosts_add, then DNS (A and AAAA) over the node's networks
/// to the servers added with zts_dns_add. `host`, `service` and `hints`
/// (each may be NULL, not both host and service) are read during the call;
/// on success `*res` is a list to free with zts_freeaddrinfo (not the
/// system's freeaddrinfo). Returns 0 or an EAI_* code (zts_gai_strerror
/// explains it); EAI_SYSTEM sets errno.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_node_getaddrinfo(
    node: c_int,
    host: *const c_char,
    service: *const c_char,
    hints: *const addrinfo,
    res: *mut *mut addrinfo,
) -> c_int {
    call(libc::EAI_SYSTEM, || {
        let n = node::get(node)?;
        // SAFETY: forwarded under the same contract.
        unsafe { getaddrinfo_on(Some(&n), host, service, hints, res) }
    })
}

/// zts_node_getaddrinfo on the default node (zts_node_set_default);
/// without one, only numeric hosts and "localhost" resolve.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_getaddrinfo(
    host: *const c_char,
    service: *const c_char,
    hints: *const addrinfo,
    res: *mut *mut addrinfo,
) -> c_int {
    call(libc::EAI_SYSTEM, || {
        let n = node::default_node().ok();
        // SAFETY: forwarded under the same contract.
        unsafe { getaddrinfo_on(n.as_deref(), host, service, hints, res) }
    })
}

/// # Safety
/// As zts_node_getaddrinfo.
unsafe fn getaddrinfo_on(
    node: Option<&node::Node>,
    host: *const c_char,
    service: *const c_char,
    hints: *const addrinfo,
    res: *mut *mut addrinfo,
) -> Result<c_int> {
    if res.is_null() {
        return Err(Errno::EFAULT);
    }
    // SAFETY: each is NULL or a NUL-terminated string per the C contract.
    let host = (!host.is_null())
        .then(|| unsafe { c_str(host) })
        .transpose()?;
    // SAFETY: as above.
    let service = (!service.is_null())
        .then(|| unsafe { c_str(service) })
        .transpose()?;
    let hints = if hints.is_null() {
        Hints::default()
    } else {
        // SAFETY: hints is non-NULL and valid per the C contract.
        let h = unsafe { &*hints };
        Hints {
            flags: h.ai_flags,
            family: h.ai_family,
            socktype: h.ai_socktype,
            protocol: h.ai_protocol,
        }
    };
    match resolve::getaddrinfo(node, host, service, &hints) {
        Ok(answers) => {
            let list = to_c(&answers)?;
            // SAFETY: res is non-NULL and writable per the C contract.
            unsafe { *res = list };
            Ok(0)
        }
        Err(eai) => Ok(eai),
    }
}

/// Frees a list from zts_getaddrinfo; NULL is a no-op.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_freeaddrinfo(res: *mut addrinfo) {
    let mut p = res;
    while !p.is_null() {
        // SAFETY: p heads an Entry block built by to_c (info is its first field).
        unsafe {
            let next = (*p).ai_next;
            libc::free((*p).ai_canonname as *mut _);
            libc::free(p as *mut _);
            p = next;
        }
    }
}

/// The message for an EAI_* code from zts_getaddrinfo (the platform's
/// text); a static string, never freed.
#[unsafe(no_mangle)]
pub extern "C" fn zts_gai_strerror(code: c_int) -> *const c_char {
    // SAFETY: gai_strerror returns a static string for any code.
    unsafe { libc::gai_strerror(code) }
}

/// Makes `name` resolve to `addr` (numeric) on node `node`, before DNS; a
/// name may have several addresses. Errors: ENODEV, EFAULT, EINVAL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_hosts_add(
    node: c_int,
    name: *const c_char,
    addr: *const c_char,
) -> c_int {
    call(-1, || {
        // SAFETY: name and addr are NULL or NUL-terminated strings per the C contract.
        let (name, addr) = unsafe { (c_str(name)?, c_str(addr)?) };
        node::get(node)?.hosts_add(name, addr)?;
        Ok(0)
    })
}

/// Adds a DNS server (numeric IPv4 or IPv6 address) for node `node`'s
/// lookups; up to 4 are asked, in the order added. It is reached over the
/// network its address routes to. Errors: ENODEV, EFAULT, EINVAL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_dns_add(node: c_int, addr: *const c_char) -> c_int {
    call(-1, || {
        // SAFETY: addr is NULL or a NUL-terminated string per the C contract.
        let addr = unsafe { c_str(addr) }?;
        node::get(node)?.dns_add(addr)?;
        Ok(0)
    })
}
