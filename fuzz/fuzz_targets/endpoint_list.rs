//! An endpoint list (`--endpoints`, `[endpoints] file`, the `fetch` download): bytes in any
//! encoding Windows tools write, then Microsoft's JSON shape, then the ports and hosts of each set.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tenant_ready::endpoint_sets::EndpointList;

fuzz_target!(|data: &[u8]| {
    let Ok((text, _)) = tenant_ready::text_file::decode(data) else {
        return;
    };
    let Ok(list) = EndpointList::parse(&text, "fuzz") else {
        return;
    };
    let _ = list.describe();
    for set in &list.sets {
        let _ = set.label();
        let _ = set.tcp();
        let _ = set.udp();
    }
});
