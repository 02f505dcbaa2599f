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
use tenant_ready::lab::{Lab, LabEndpoints, TENANT_TOML};

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
        let lab = match Lab::start().await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: cannot start the lab DNS servers on 127.0.0.1/127.0.0.2: {e}");
                return ExitCode::from(2);
            }
        };
        let endpoints = match LabEndpoints::start().await {
            Ok(e) => e,
            Err(e) => {
                eprintln!("error: cannot start the lab TLS endpoints on 127.0.0.1: {e}");
                return ExitCode::from(2);
            }
        };
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/lab");
        let config = format!("{TENANT_TOML}{}", endpoints.toml());
        let ca = dir.join("lab-ca.pem");
        let m365 = dir.join("endpoints.json");
        if let Err(e) = std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(dir.join("tenant.toml"), config))
            // Both lab CAs: the customer's endpoints' and the Microsoft Entra ID stand-in's.
            .and_then(|()| std::fs::write(&ca, format!("{}{}", endpoints.ca_pem, lab.entra.ca_pem)))
            .and_then(|()| std::fs::write(&m365, endpoints.endpoints_json()))
        {
            eprintln!("error: cannot write {}: {e}", dir.display());
            return ExitCode::from(2);
        }
        let json = dir.join("report.json");
        eprintln!(
            "lab: simulated staging tenant on {} and 127.0.0.2 (config {})",
            lab.primary.addr(),
            dir.join("tenant.toml").display()
        );
        let mut cmdline: Vec<String> =
            vec!["tenant-ready".into(), "scan".into(), "--config".into()];
        cmdline.push(dir.join("tenant.toml").display().to_string());
        cmdline.extend(lab.scan_args());
        // The lab CA stands in for a staging CA: results still say it is not a public root.
        cmdline.push("--ca-file".into());
        cmdline.push(ca.display().to_string());
        // Loopback stand-ins for Microsoft 365: the network checks never leave the machine.
        cmdline.push("--endpoints".into());
        cmdline.push(m365.display().to_string());
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
        let code = app::scan(*args, app::env_from_process()).await;
        eprintln!(
            "lab: JSON report written to {} (exit code {})",
            json.display(),
            code as u8
        );
        ExitCode::from(code as u8)
    })
}
