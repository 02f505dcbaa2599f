//! A saved JSON report (`report render | merge | diff`): load, then every renderer and the diff.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tenant_ready::cli::Format;
use tenant_ready::report::{self, human::HumanOptions, saved};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(r) = saved::parse(text, std::path::Path::new("fuzz.json")) else {
        return;
    };
    for format in [
        Format::Human,
        Format::Json,
        Format::Markdown,
        Format::Junit,
        Format::Html,
    ] {
        let _ = report::render_format(&r, format, HumanOptions::default());
    }
    let d = saved::diff(&r, &r);
    let _ = saved::render_diff(&d);
});
