//! VXLAN datagrams as the overlay receives them (first byte: from the
//! configured peer or a stranger). Whatever passes is handed to a node.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zts::testing::vxlan_receive;

fuzz_target!(|data: &[u8]| {
    let Some((&who, dgram)) = data.split_first() else {
        return;
    };
    let from_peer = who & 1 == 1;
    let (frame, stats) = vxlan_receive(dgram, from_peer);
    let dropped = stats.drop_malformed + stats.drop_not_peer + stats.drop_oversize;
    match frame {
        Some(f) => {
            // Only a well-formed datagram from the peer gets through, and
            // exactly its inner frame.
            assert!(from_peer && dropped == 0 && stats.rx_frames == 1);
            assert_eq!(&f[..], &dgram[8..]);
            zts_fuzz::inject(&f);
        }
        None => assert_eq!(dropped, 1, "a refused datagram is counted once"),
    }
});
