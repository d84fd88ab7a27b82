//! The network URI parser (`mem:`, `vxlan://`, `tap:` with their options).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zts::tap::uri::TapUri;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(uri) = TapUri::parse(text) {
        assert!(
            uri.mtu >= 576 && uri.mtu <= zts::tap::uri::MAX_MTU,
            "mtu {}",
            uri.mtu
        );
    }
});
