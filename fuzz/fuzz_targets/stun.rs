//! The STUN decoder: a Binding response from any server on the path, and the lab server's parser
//! of requests.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tenant_ready::stun;

fuzz_target!(|data: &[u8]| {
    // A fixed transaction id, and the message's own (so matching ids are reached too).
    let _ = stun::parse_response(data, &[7; 12]);
    if let Some(own) = data.get(8..20).and_then(|s| <[u8; 12]>::try_from(s).ok()) {
        let _ = stun::parse_response(data, &own);
    }
    let peer = std::net::SocketAddr::from(([192, 0, 2, 1], 3478));
    let _ = stun::binding_success(data, peer);
});
