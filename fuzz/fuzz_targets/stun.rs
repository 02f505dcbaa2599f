//! The STUN decoder: Binding responses from any server on the path, and the lab server's request parser.
//! The body lives in `tenant_ready::fuzzing`, so kept crash inputs run as ordinary tests.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tenant_ready::fuzzing::stun(data));
