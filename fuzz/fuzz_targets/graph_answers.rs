//! Microsoft Graph's and the token endpoint's answers: status, Retry-After and body (or whoever
//! answers as them). The body lives in `tenant_ready::fuzzing`, so kept crash inputs run as
//! ordinary tests.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tenant_ready::fuzzing::graph_answers(data));
