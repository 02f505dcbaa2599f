//! DNS answers as the stub reads them: any server, or anyone spoofing one, chooses these bytes.
//! The body lives in `tenant_ready::fuzzing`, so kept crash inputs run as ordinary tests.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tenant_ready::fuzzing::dns_answer(data));
