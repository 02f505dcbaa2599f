//! The DMARC record parser: TXT strings at `_dmarc.<domain>`.
//! The body lives in `tenant_ready::fuzzing`, so kept crash inputs run as ordinary tests.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tenant_ready::fuzzing::dmarc(data));
