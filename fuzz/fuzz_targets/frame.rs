//! Any frame entering a node: Ethernet, ARP, IPv4/IPv6, fragments, TCP,
//! UDP, ICMP, NDP, towards listening and bound sockets.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| zts_fuzz::inject(data));
