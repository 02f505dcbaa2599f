//! The integration tests: one binary (links once), split by area. Every server is real and on
//! loopback (127.0.0.1 / 127.0.0.2), started by the test on a free port; nothing leaves the machine.

#![allow(
    clippy::unwrap_used,
    clippy::format_collect,
    reason = "test helpers fail loudly; clarity over allocation"
)]

mod catalog;
mod cli;
mod conformance;
mod directory;
mod dns;
mod docs_links;
mod documented;
mod endpoints;
mod entra;
mod fetch;
mod fuzz_regressions;
mod hostile;
mod korean;
mod large_report;
mod layering;
mod misbehaving;
mod ndjson;
mod net;
mod netns;
mod quality;
mod recipes;
mod report_cmd;
mod report_html;
mod report_json;
mod runner;
mod serve;
mod shard;
mod source_ports;
mod support;
mod terminal;
mod tls;
