//! The SPF record parser: TXT strings from any DNS server.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tenant_ready::spf;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if spf::is_spf(&text)
        && let Ok(rec) = spf::parse(&text)
    {
        let _ = rec.all();
        for d in &rec.directives {
            let _ = d.mechanism.counts();
        }
    }
    // Every string, SPF or not, must parse or be refused without a panic.
    let _ = spf::parse(&text);
});
