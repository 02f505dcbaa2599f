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
//!   `checks/`, replaceable with `--checks DIR`.
//! * [`settings`] / [`tenant`] / [`cli`]: what the user asked for.
//! * [`plan`]: which check runs on which domain, with templates expanded.
//! * [`probe`]: one file per probe kind; the only code that does network I/O.
//! * [`runner`]: concurrency, timeouts, cancellation, timing.
//! * [`report`]: the report model and one renderer per format; never does network I/O.
//! * [`lab`]: the simulated staging tenant (loopback DNS servers) for the demo, tests and benchmarks.
//! * [`app`]: the commands, wiring the above together; `main.rs` only calls it.

pub mod app;
pub mod catalog;
pub mod cli;
pub mod domain;
pub mod endpoint;
pub mod endpoint_sets;
pub mod error;
pub mod fetch;
pub mod i18n;
pub mod lab;
pub mod outcome;
pub mod pattern;
pub mod plan;
pub mod probe;
pub mod report;
pub mod report_cmd;
pub mod runner;
pub mod settings;
pub mod spf;
pub mod stun;
pub mod tenant;
pub mod tls;
