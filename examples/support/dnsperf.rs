//! dnsperf (Debian `dnsperf`) as the benchmarks' peer: the same query list sent once, with the
//! flags that were its best on these two-core machines. Shared by `bench_dns` and `bench_scale`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

/// dnsperf's flags: two threads (the machine's cores), eight sockets, and 256 queries outstanding
/// (the scan's default concurrency). Other settings were tried: this was dnsperf's best.
pub(crate) const DNSPERF_FLAGS: [&str; 6] = ["-T", "2", "-c", "8", "-q", "256"];

/// dnsperf sending `queries` once to `server`: (queries completed, wall seconds).
pub(crate) fn dnsperf(server: SocketAddr, queries: &Path) -> Result<(u64, f64), String> {
    let out = Command::new("dnsperf")
        .args([
            "-s",
            &server.ip().to_string(),
            "-p",
            &server.port().to_string(),
        ])
        .arg("-d")
        .arg(queries)
        .args(["-n", "1", "-e"])
        .args(DNSPERF_FLAGS)
        .output()
        .map_err(|e| format!("dnsperf: {e} (apt-get install dnsperf)"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .and_then(|v| v.split_whitespace().next().map(str::to_owned))
    };
    let completed = field("Queries completed:")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("unexpected dnsperf output:\n{text}"))?;
    let secs = field("Run time (s):")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("unexpected dnsperf output:\n{text}"))?;
    Ok((completed, secs))
}
