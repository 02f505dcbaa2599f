//! Federation metadata XML fetched from the customer's AD FS (or whoever answers there).
//! The body lives in `tenant_ready::fuzzing`, so kept crash inputs run as ordinary tests.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tenant_ready::fuzzing::federation_metadata(data));
