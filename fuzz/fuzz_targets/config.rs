//! tenant.toml and `--checks` files, through everything a scan does before its first packet.
//! The body lives in `tenant_ready::fuzzing`, so kept crash inputs run as ordinary tests.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tenant_ready::fuzzing::config(data));
