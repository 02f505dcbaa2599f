//! Renders the offline demo's HTML report to a PNG with headless Chromium: the picture the README
//! shows, and a quick look at what the meeting room sees first.
//!
//! ```text
//! cargo run --release --example report_screenshot                      # docs/report.png
//! cargo run --release --example report_screenshot -- out.png --lang ko  # any path, Korean
//! ```
//!
//! Needs `chromium` (Debian package `chromium`). Everything runs on loopback, like the demo.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use clap::Parser;
use tenant_ready::cli::{Cli, Command as Cmd};
use tenant_ready::lab::Demo;

fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut args = std::env::args().skip(1);
    let mut png = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/report.png"));
    let mut lang = "en".to_owned();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--lang" => lang = args.next().unwrap_or(lang),
            _ => png = PathBuf::from(a),
        }
    }
    let Some(browser) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok())
    else {
        eprintln!("error: no chromium found (apt-get install chromium)");
        return ExitCode::from(2);
    };
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
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
    let html = dir.path().join("report.html");
    let scanned = rt.block_on(async {
        let demo = Demo::start(dir.path()).await?;
        let mut cmd = demo.scan_command();
        cmd.extend(
            [
                "--no-progress",
                "--format",
                "html",
                "--lang",
                &lang,
                "--output",
            ]
            .map(String::from),
        );
        cmd.push(html.display().to_string());
        let cli = Cli::try_parse_from(&cmd).map_err(|e| e.to_string())?;
        let Cmd::Scan(scan) = cli.command else {
            return Err("not a scan".to_owned());
        };
        tenant_ready::app::scan(*scan, demo.env(tenant_ready::settings::Env::default())).await;
        Ok::<_, String>(())
    });
    if let Err(e) = scanned {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    if let Some(parent) = png.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    // The top of the page: the verdict, the matrix, the phases and the first charts.
    let status = Command::new(browser)
        .args([
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1280,2300",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .output();
    match status {
        Ok(o) if o.status.success() && png.exists() => {
            eprintln!("screenshot: {}", png.display());
            ExitCode::SUCCESS
        }
        Ok(o) => {
            eprintln!(
                "error: chromium failed: {}",
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: cannot run {browser}: {e}");
            ExitCode::FAILURE
        }
    }
}
