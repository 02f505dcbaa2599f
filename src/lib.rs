//! # tenant-ready
//!
//! A scanner for Microsoft 365 (FastTrack) onboarding readiness. It verifies the technical items
//! a customer owns — DNS records, public certificates, firewall reachability, network quality — and
//! maps every result to the onboarding responsibility it serves.
//!
//! ## Architecture
//!
//! ```text
//! tenant.toml + CLI ─► settings (pure: layer, validate) ─► plan: catalog × domains → tasks
//!                                                              │
//!        ProbeCx (resolver, …) ─► runner (semaphore, per-check timeout, budget, Ctrl-C, panics)
//!                                                              │
//!                         probe kinds: observe (I/O → evidence) → judge (pure → status)
//!                                                              ▼
//!                 report model (results + responsibilities + summary) ─► renderers, exit code
//! ```
//!
//! * [`catalog`]: check definitions, responsibilities and per-cloud values — data, embedded from
//!   `checks/`, replaceable with `--checks DIR`; [`level`]: the requirement levels they carry.
//! * [`settings`] / [`tenant`] / [`cli`]: what the user asked for; [`dkim_export`] reads the exact
//!   DKIM targets Microsoft's PowerShell exports, [`text_file`] the encodings Windows tools write.
//! * [`endpoint_sets`]: the Microsoft 365 endpoint list (embedded copy, saved files, [`fetch`]).
//! * [`graph`]: Microsoft Graph (optional): the tenant's domains and their exact records.
//! * [`plan`]: which check runs on which domain, with templates expanded.
//! * [`probe`]: one file per probe kind; the only code that does network I/O, with [`stub`] (the
//!   scanner's own DNS transport for `--nameserver` and authoritative queries) below it, and
//!   [`rtt`] (round-trip estimates: port verdicts' and the stub's retransmission timeouts) below both.
//! * [`runner`]: concurrency, timeouts, cancellation, timing.
//! * [`output`]: the report options (format, language, fail-on) renderers take; `cli` maps flags
//!   onto them.
//! * [`report`]: the report model and one renderer per format; never does network I/O;
//!   [`escape`] makes outside text safe for its sink.
//! * [`fuzzing`]: the fuzz targets' bodies, shared with the crash-regression tests.
//! * [`lab`]: the simulated staging tenant (loopback DNS servers) for the demo, tests and benchmarks.
//! * [`text`](mod@text): every result sentence as a message key and arguments, rendered in English or Korean
//!   from `checks/messages.toml` ([`i18n`] holds the catalogue).
//! * [`app`]: the commands, wiring the above together (with [`report_cmd`], [`endpoints_cmd`],
//!   [`import_cmd`], [`init_cmd`]); `main.rs` only calls it.
//!
//! Dependencies point down this list's layers, never back: the import graph between these
//! modules has no cycles, and `tests/it/layering.rs` keeps it that way. Shared vocabulary sits
//! below everything that uses it ([`tenant`] holds the `[[domain]]` fields and Graph's view of a
//! domain; [`output`] the report options; [`probe::context`] how a run's options become the probes'
//! resources).

// First: its `text!` macro is used by every module below.
#[macro_use]
pub mod text;

pub mod app;
pub mod catalog;
pub mod cli;
pub mod directory;
pub mod dkim_export;
pub mod domain;
pub mod endpoint;
pub mod endpoint_sets;
pub mod endpoints_cmd;
pub mod error;
pub mod escape;
pub mod fetch;
pub mod fuzzing;
pub mod graph;
pub mod i18n;
pub mod import_cmd;
pub mod init_cmd;
pub mod lab;
pub mod level;
pub mod outcome;
pub mod output;
pub mod pattern;
pub mod percent;
pub mod permissions_cmd;
pub mod plan;
pub mod probe;
pub mod progress;
pub mod report;
pub mod report_cmd;
pub mod rtt;
pub mod runner;
pub mod scan;
pub mod secrets;
pub mod serve;
pub mod settings;
pub mod shard;
pub mod spf;
pub mod spf_macro;
pub mod stub;
pub mod stun;
pub mod tenant;
pub mod text_file;
pub mod tls;
