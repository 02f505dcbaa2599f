//! The ServerHello / alert parser reads whatever a server (or a middlebox) sends back.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tenant_ready::tls::hello::parse_reply(data);
});
