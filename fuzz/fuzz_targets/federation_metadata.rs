//! Federation metadata XML fetched from the customer's AD FS (or whoever answers there).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = tenant_ready::probe::tls_federation::parse_metadata(&text);
});
