//! A domain controller's answers (or anything's answering in its place): search result entries
//! and references as BER, paged-results cookies, bind diagnostics. The body lives in
//! `tenant_ready::fuzzing`, so kept crash inputs run as ordinary tests.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tenant_ready::fuzzing::directory_answers(data));
