//! The offline demo: starts the simulated staging tenant (real DNS servers on 127.0.0.1 and
//! 127.0.0.2, and TLS/SMTP/AD FS endpoints with certificates from a CA minted at start) and scans
//! it with the real scanner, printing the report and writing the JSON.
//!
//! ```text
//! cargo run --release --example lab                  # human report, JSON in target/lab/report.json
//! cargo run --release --example lab -- --format json # any `scan` flag can be added
//! ```
//!
//! The exit code is the scan's (the lab tenant is deliberately not ready: 1).

use std::process::ExitCode;

use clap::Parser;
use tenant_ready::app;
use tenant_ready::cli::{Cli, Command};
use tenant_ready::lab::Demo;

fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    rt.block_on(async {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/lab");
        let demo = match Demo::start(&dir).await {
            Ok(d) => d,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        let json = dir.join("report.json");
        eprintln!(
            "lab: simulated staging tenant on {} and 127.0.0.2 (config {})",
            demo.lab.primary.addr(),
            demo.config.display()
        );
        if let Ok(dc) = &demo.dc {
            eprintln!(
                "lab: Active Directory (Samba DC) at {}, in its own network namespace",
                dc.ldaps_url
            );
        }
        let mut cmdline = demo.scan_command();
        cmdline.push("--report".into());
        cmdline.push(format!("json={}", json.display()));
        cmdline.extend(std::env::args().skip(1));
        let cli = match Cli::try_parse_from(&cmdline) {
            Ok(c) => c,
            Err(e) => {
                let _ = e.print();
                return ExitCode::from(2);
            }
        };
        let Command::Scan(args) = cli.command else {
            return ExitCode::from(2);
        };
        if let Err(why) = &demo.dc {
            eprintln!(
                "lab: no Active Directory domain controller ({why}): the directory checks are skipped"
            );
        }
        let code = app::scan(*args, demo.env(app::env_from_process())).await;
        eprintln!(
            "lab: JSON report written to {} (exit code {})",
            json.display(),
            code as u8
        );
        ExitCode::from(code as u8)
    })
}
