//! The DMARC record parser: TXT strings at `_dmarc.<domain>`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = tenant_ready::probe::dns_dmarc::parse(&text);
});
