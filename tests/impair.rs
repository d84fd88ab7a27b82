//! TCP through an impaired in-process network: everything arrives intact.

mod common;

use common::api::*;
use std::thread;
use std::time::Instant;
use zts::ffi::node::*;
use zts::ffi::socket::*;

/// Both directions of `segment` impaired as `query` says; moves `size`
/// bytes from b to a and compares them.
fn transfer(segment: &str, query: &str, size: usize) {
    let a = node(&format!("{segment}?{query}"), &["10.80.0.1/24"]);
    let b = node(&format!("{segment}?{query}"), &["10.80.0.2/24"]);
    let l = listener(a, "10.80.0.1:5000".parse().unwrap(), 1);
    let data = pattern(size, 77);
    let expect = data.clone();
    let start = Instant::now();
    let sender = thread::spawn(move || {
        let c = tcp(b, libc::AF_INET);
        ok(connect(c, "10.80.0.1:5000".parse().unwrap()));
        write_all(c, &data);
        ok(zts_shutdown(c, libc::SHUT_WR));
        // Wait for the receiver's close so every byte is acknowledged.
        let mut one = [0u8; 1];
        assert_eq!(read(c, &mut one), 0);
        ok(zts_close(c));
    });
    let (s, _) = accept(l);
    let got = read_to_end(s);
    ok(zts_close(s));
    sender.join().unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(got.len(), size);
    assert!(got == expect, "received bytes differ from those sent");
    println!(
        "{query}: {size} bytes in {secs:.2} s ({:.1} Mbit/s)",
        size as f64 * 8.0 / secs / 1e6
    );
    ok(zts_close(l));
    ok(zts_node_free(a));
    ok(zts_node_free(b));
}

#[test]
fn lossy_reordering_duplicating_network_moves_16_mib_intact() {
    // MTU 65535: smoltcp recovers a lost segment by a retransmission
    // timeout of at least one second (no SACK, a 1 s minimum RTO), so the
    // time taken grows with the number of segments lost. At MTU 1500 the
    // same 5% loss gives about 0.2 Mbit/s (measured: 1 MiB in 39 s).
    transfer(
        "impair-mix",
        "mtu=65535&loss=0.05&reorder=0.05&dup=0.01&seed=1",
        16 << 20,
    );
}
