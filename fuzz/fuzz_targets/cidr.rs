//! Address/prefix parsing, as zts_addr_add and zts_route_add take it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zts::stack::route::{in_prefix, parse_cidr};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok((ip, prefix)) = parse_cidr(text) {
        let bits = if ip.is_ipv4() { 32 } else { 128 };
        assert!(prefix <= bits, "prefix {prefix} for {ip}");
        assert!(in_prefix(ip, prefix, ip));
    }
});
