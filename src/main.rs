//! The `tenant-ready` binary: parse the command line, run, map to an exit code.

use std::process::ExitCode;

use clap::Parser;
use tenant_ready::app;
use tenant_ready::cli::Cli;

/// mimalloc rather than glibc's malloc: see Cargo.toml (measured with `bench_dns`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    ExitCode::from(app::main(cli) as u8)
}
