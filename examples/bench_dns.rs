//! Benchmark: scan N generated ready domains with the DNS pack against one authoritative server on
//! loopback, then replay exactly the queries the scan sent with `dnsperf` against the same server,
//! and print the ratio. The scan runs in a child process, so its peak RSS is the scanner's alone.
//!
//! ```text
//! cargo run --release --example bench_dns                        # knotd, N = 1000, dnsperf replay
//! cargo run --release --example bench_dns -- --n 100 --concurrency 512
//! cargo run --release --example bench_dns -- --lab --delay-ms 20  # in-process server, 20 ms per query
//! cargo run --release --example bench_dns -- --massif /tmp/massif.out   # heap profile of the scan
//! cargo run --release --example bench_dns -- --hold               # serve only (profile the scan: --server ADDR)
//! ```
//!
//! The server is `knotd` (Debian `knot`) with one zone per domain plus `outlook.com`, on a free
//! loopback port; the domains' `ns1` is 127.0.0.1, so the NS-consistency check asks the same server
//! directly. `--lab` uses the in-process lab server instead; with `--delay-ms` it compares the wall
//! time with two lower bounds: the critical path (the NS comparison's 5 round trips: the zone's
//! NS, the server's address, the SOA alone, then the domain's questions, 8 at a time) and the
//! slots' (every check's duration, summed, over the concurrency: the runner cannot finish sooner
//! than that with `--concurrency` checks at a time), and prints each check's durations.
//!
//! A first scan child records every query the stub sends (the `tenant_ready::stub::sent` trace
//! events: UDP sends, retransmissions and TCP retries) and writes the UDP sends as a dnsperf input
//! file; it also warms the server. The timed scan then runs with nothing listening to its trace
//! events, as the binary does. The recorded list then goes through the stub alone (no checks, no
//! answer reuse: the transport's share), and `dnsperf` (Debian `dnsperf`) sends it once (`-n 1`)
//! with the flags printed. With `--massif FILE` the scan runs under `valgrind --tool=massif`
//! (single-threaded and ~8× slower: read its heap, not its wall time). Beside each wall time it
//! prints CPU time (user + system) of the scanner or the stub, and knotd's per phase: on a
//! two-core machine shared with the server, CPU is what the wall time is made of.

#![allow(
    clippy::print_stdout,
    clippy::cast_precision_loss,
    reason = "a benchmark reports its figures on stdout"
)]

use std::io::Write as _;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tenant_ready::app;
use tenant_ready::catalog::Catalog;
use tenant_ready::cli::ScanArgs;
use tenant_ready::lab::{Behaviour, DnsServer, OUTLOOK_ZONE, Zones, ready_zone};
use tenant_ready::outcome::Status;
use tenant_ready::runner::{self, RunOptions};
use tenant_ready::settings::{Env, Settings};
use tenant_ready::stub;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::layer::SubscriberExt as _;

/// The scanner binary's allocator (src/main.rs), so the scan measured here allocates as it does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "support/dnsperf.rs"]
mod dnsperf;
use dnsperf::{DNSPERF_FLAGS, dnsperf};

/// Round trips on the longest check's path (see the module doc).
const CHAIN: u32 = 5;

/// A memory figure of this process from /proc/self/status (`VmHWM:` peak, `VmRSS:` now), MB.
fn status_mb(key: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

/// A process's CPU time so far (user + system) from `/proc/PID/stat` (`self`: this one), ms.
fn cpu_ms(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at `state`, field 3.
    let fields: Vec<u64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // utime and stime are fields 14 and 15.
    let ticks = fields.get(10).unwrap_or(&0) + fields.get(11).unwrap_or(&0);
    // USER_HZ is 100 on Linux.
    ticks * 10
}

fn args() -> Vec<String> {
    std::env::args().collect()
}

fn flag(name: &str) -> bool {
    args().iter().any(|a| a == name)
}

fn value(name: &str) -> Option<String> {
    let args = args();
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1).cloned()
}

fn arg(name: &str, default: u64) -> u64 {
    value(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn domains(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("d{i}.bench.test")).collect()
}

/// The server under test.
enum Server {
    Lab(DnsServer),
    Knot {
        child: Child,
        addr: SocketAddr,
        _dir: tempfile::TempDir,
    },
}

impl Server {
    fn addr(&self) -> SocketAddr {
        match self {
            Self::Lab(s) => s.addr(),
            Self::Knot { addr, .. } => *addr,
        }
    }

    /// The server's CPU time so far, ms (the lab server's is this whole process's).
    fn cpu_ms(&self) -> u64 {
        match self {
            Self::Lab(_) => cpu_ms("self"),
            Self::Knot { child, .. } => cpu_ms(&child.id().to_string()),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Self::Knot { child, .. } = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

async fn lab(n: usize, delay: Duration) -> Result<Server, String> {
    let mut zones = Zones::default();
    for d in &domains(n) {
        zones
            .add_zone(d, &ready_zone(d))
            .map_err(|e| e.to_string())?;
    }
    zones
        .add_zone("outlook.com", OUTLOOK_ZONE)
        .map_err(|e| e.to_string())?;
    let behaviour = Behaviour {
        delay,
        ..Behaviour::default()
    };
    DnsServer::start("127.0.0.1:0".parse().map_err(|_| "addr")?, zones, behaviour)
        .await
        .map(Server::Lab)
        .map_err(|e| e.to_string())
}

/// A loopback port free for both UDP and TCP right now.
fn free_port() -> Result<u16, String> {
    for _ in 0..50 {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = udp.local_addr().map_err(|e| e.to_string())?.port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err("no free port".into())
}

/// knotd serving the N zones and outlook.com, once it answers for the last zone.
async fn knot(n: usize) -> Result<Server, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let port = free_port()?;
    let mut zones = domains(n);
    zones.push("outlook.com".into());
    let mut conf = format!(
        "server:\n  rundir: {d}\n  listen: 127.0.0.1@{port}\n  user: root:root\ndatabase:\n  storage: {d}\ntemplate:\n  - id: default\n    storage: {d}\n    file: \"%s.zone\"\n    zonefile-sync: -1\n    journal-content: none\nlog:\n  - target: stderr\n    any: error\nzone:\n",
        d = dir.path().display()
    );
    for z in &zones {
        let text = if z == "outlook.com" {
            OUTLOOK_ZONE.to_owned()
        } else {
            ready_zone(z)
        };
        std::fs::write(dir.path().join(format!("{z}.zone")), text).map_err(|e| e.to_string())?;
        conf.push_str(&format!("  - domain: {z}\n"));
    }
    let conf_path = dir.path().join("knot.conf");
    std::fs::write(&conf_path, conf).map_err(|e| e.to_string())?;
    let child = Command::new("knotd")
        .arg("-c")
        .arg(&conf_path)
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("knotd: {e} (apt-get install knot, or use --lab)"))?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let server = Server::Knot {
        child,
        addr,
        _dir: dir,
    };
    // Zones load in the background: wait until the last one (and outlook.com) answers.
    let probe = stub::Client::new(
        vec![addr],
        stub::ClientOpts {
            timeout: Duration::from_millis(200),
            recursion_desired: false,
            cache: false,
            max_in_flight: 4,
            min_in_flight: 4,
        },
        &stub::Sockets::default(),
    );
    let last = format!("d{}.bench.test.", n.saturating_sub(1));
    for _ in 0..300 {
        let ready =
            |r: Result<Arc<stub::Reply>, stub::StubError>| r.is_ok_and(|r| !r.records.is_empty());
        if ready(probe.ask(&last, hickory_proto::rr::RecordType::SOA).await)
            && ready(
                probe
                    .ask("outlook.com.", hickory_proto::rr::RecordType::SOA)
                    .await,
            )
        {
            return Ok(server);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("knotd did not load the zones within 30 s".into())
}

/// The stub's `sent` trace events: the UDP queries as dnsperf input lines, and the counts of
/// retransmissions (the same datagram again, not in the list) and TCP retries.
#[derive(Clone, Default)]
struct Sent(Arc<Mutex<SentLog>>);

#[derive(Default)]
struct SentLog {
    udp: Vec<String>,
    retransmits: usize,
    tcp: usize,
    /// The UDP sockets the queries went out on (serial numbers) and their local ports.
    sockets: std::collections::HashSet<u64>,
    ports: std::collections::HashSet<u64>,
}

#[derive(Default)]
struct Fields {
    name: String,
    rtype: String,
    message: String,
    port: Option<u64>,
    socket: Option<u64>,
}

impl tracing::field::Visit for Fields {
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        match field.name() {
            "port" => self.port = Some(value),
            "socket" => self.socket = Some(value),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let v = format!("{value:?}");
        match field.name() {
            "name" => self.name = v,
            "rtype" => self.rtype = v,
            "message" => self.message = v,
            _ => {}
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Sent {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() != "tenant_ready::stub::sent" {
            return;
        }
        let mut f = Fields::default();
        event.record(&mut f);
        let mut sent = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        sent.sockets.extend(f.socket);
        sent.ports.extend(f.port);
        match f.message.as_str() {
            "tcp" => sent.tcp += 1,
            "udp-retransmit" => sent.retransmits += 1,
            _ => sent.udp.push(format!("{} {}", f.name, f.rtype)),
        }
    }
}

/// The child: scan N domains at `server`, write the queries sent to `log`, print one line.
async fn scan(
    n: usize,
    server: &str,
    delay: Duration,
    concurrency: usize,
    log: Option<PathBuf>,
) -> Result<(), String> {
    // The query log is a separate run's job: a subscriber formatting 29,000 names costs the scan
    // ~5 % of its CPU, which the scanner without it does not pay.
    let sent = Sent::default();
    if log.is_some() {
        let filter = tracing_subscriber::filter::Targets::new()
            .with_target("tenant_ready::stub::sent", tracing::Level::TRACE);
        let _ = tracing::subscriber::set_global_default(
            tracing_subscriber::registry()
                .with(tracing_subscriber::Layer::with_filter(sent.clone(), filter)),
        );
    }
    let port = server
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .ok_or("server port")?;
    let args = ScanArgs {
        domains: domains(n),
        nameserver: vec![server.to_owned()],
        authoritative_port: Some(port),
        concurrency: Some(concurrency),
        timeout: Some("10s".into()),
        // The DNS checks only: the network checks would ask the lab for Microsoft's names.
        only: vec!["dns.*".into()],
        ..ScanArgs::default()
    };
    let settings = Settings::resolve(&args, None, &Env::default()).map_err(|e| e.to_string())?;
    let catalog = Catalog::embedded().map_err(|e| e.to_string())?;
    let tasks = tenant_ready::plan::plan(&catalog, &settings).map_err(|e| e.to_string())?;
    let cx = app::probe_cx(&settings, &catalog).map_err(|e| e.to_string())?;
    let checks = tasks.len();
    let plan_rss = status_mb("VmRSS:");
    let opts = RunOptions {
        concurrency: NonZeroUsize::new(concurrency).ok_or("concurrency")?,
        timeout: settings.timeout,
        budget: None,
    };
    let cpu = cpu_ms("self");
    let start = Instant::now();
    // On a worker, as the binary runs it (src/app.rs).
    let results = tokio::spawn(runner::run(
        tasks,
        cx,
        opts,
        CancellationToken::new(),
        |_| {},
    ))
    .await
    .map_err(|e| e.to_string())?;
    let wall = start.elapsed();
    let cpu = cpu_ms("self") - cpu;
    let not_pass = results.iter().filter(|r| r.status != Status::Pass).count();
    // Results whose lookups needed a datagram sent again (their evidence says `retransmitted`):
    // the timed run's own view of losses, with no trace subscriber.
    let resent = results
        .iter()
        .filter(|r| r.evidence.raw().contains("\"retransmitted\":"))
        .count();
    let (udp, retransmits, tcp, sockets, ports) = {
        let sent = sent
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (
            sent.udp.len(),
            sent.retransmits,
            sent.tcp,
            sent.sockets.len(),
            sent.ports.len(),
        )
    };
    let bound = if delay.is_zero() {
        String::new()
    } else {
        let chain = (delay * CHAIN).as_secs_f64() * 1000.0;
        let busy: u64 = results.iter().map(|r| r.duration_ms).sum();
        let slots = busy as f64 / concurrency as f64;
        format!(
            "  bound=max(chain {chain:.0} ms, slots {slots:.0} ms)  ratio={:.2}",
            wall.as_secs_f64() * 1000.0 / chain.max(slots)
        )
    };
    let what = if log.is_some() {
        format!(
            "query log: {udp} udp queries ({retransmits} retransmitted) + {tcp} tcp, from {sockets} sockets on {ports} ports; with the log:"
        )
    } else {
        "tenant-ready:".to_owned()
    };
    println!(
        "{what} N={n} checks={checks} wall={:.1} ms{bound} cpu={cpu} ms  plan_rss={plan_rss:.1} MB  peak_rss={:.1} MB  not_pass={not_pass} retransmitted_in={resent}",
        wall.as_secs_f64() * 1000.0,
        status_mb("VmHWM:"),
    );
    if !delay.is_zero() {
        let mut by_check: std::collections::BTreeMap<&str, Vec<u64>> =
            std::collections::BTreeMap::default();
        for r in &results {
            by_check.entry(&r.check).or_default().push(r.duration_ms);
        }
        for (check, mut ms) in by_check {
            ms.sort_unstable();
            println!(
                "  {check}: median {} ms, max {} ms",
                ms[ms.len() / 2],
                ms[ms.len() - 1]
            );
        }
    }
    if let Some(r) = results.iter().find(|r| r.status != Status::Pass) {
        println!("  first problem: {} {}: {}", r.check, r.subject, r.message);
    }
    if let Some(path) = log {
        let sent = sent
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out =
            std::io::BufWriter::new(std::fs::File::create(path).map_err(|e| e.to_string())?);
        for line in &sent.udp {
            writeln!(out, "{line}").map_err(|e| e.to_string())?;
        }
        out.flush().map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The child for the transport alone: the captured queries through the stub (no checks), 256 at
/// a time, no answer reuse; prints one line.
async fn replay(server: SocketAddr, queries: &Path, concurrency: usize) -> Result<(), String> {
    use futures::StreamExt as _;
    let text = std::fs::read_to_string(queries).map_err(|e| e.to_string())?;
    let list: Vec<(String, hickory_proto::rr::RecordType)> = text
        .lines()
        .filter_map(|l| {
            let (name, rtype) = l.split_once(' ')?;
            Some((name.to_owned(), rtype.parse().ok()?))
        })
        .collect();
    let client = stub::Client::new(
        vec![server],
        stub::ClientOpts {
            timeout: Duration::from_secs(2),
            recursion_desired: true,
            cache: false,
            max_in_flight: concurrency,
            min_in_flight: concurrency,
        },
        &stub::Sockets::default(),
    );
    let cpu = cpu_ms("self");
    let start = Instant::now();
    let answered = futures::stream::iter(&list)
        .map(|(name, rtype)| {
            let client = client.clone();
            async move { client.ask(name, *rtype).await.is_ok() }
        })
        .buffer_unordered(concurrency)
        .filter(|ok| std::future::ready(*ok))
        .count()
        .await;
    let wall = start.elapsed();
    println!(
        "stub alone: {answered}/{} queries answered in {:.1} ms, cpu={} ms (no checks; the same list, {concurrency} at a time)",
        list.len(),
        wall.as_secs_f64() * 1000.0,
        cpu_ms("self") - cpu
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_dns: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let delay = Duration::from_millis(arg("--delay-ms", 0));
    let concurrency = usize::try_from(arg("--concurrency", 256)).unwrap_or(256);
    let n = usize::try_from(arg("--n", 1000)).unwrap_or(1000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    if let (Some(list), Some(server)) = (value("--replay"), value("--server")) {
        let server = server.parse().map_err(|_| "--server: not an address")?;
        return rt.block_on(replay(server, Path::new(&list), concurrency));
    }
    if let Some(server) = value("--server") {
        return rt.block_on(scan(
            n,
            &server,
            delay,
            concurrency,
            value("--log").map(PathBuf::from),
        ));
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let use_lab = flag("--lab") || !delay.is_zero();
    let srv = if use_lab {
        rt.block_on(lab(n, delay))?
    } else {
        rt.block_on(knot(n))?
    };
    println!(
        "DNS scan benchmark: {n} ready domains, DNS checks, concurrency {concurrency}, server: {}{}",
        if use_lab {
            "in-process lab server"
        } else {
            "knotd"
        },
        if delay.is_zero() {
            String::new()
        } else {
            format!(", {} ms per query", delay.as_millis())
        }
    );
    if flag("--hold") {
        // For profiling the scan alone: `bench_dns --hold` then `bench_dns --server ADDR` (under
        // perf, say) in another shell; Enter stops the server.
        println!("serving on {}; press Enter to stop", srv.addr());
        let _ = std::io::stdin().read_line(&mut String::new());
        return Ok(());
    }
    let _guard = rt.enter();
    let common = [
        "--n".to_owned(),
        n.to_string(),
        "--delay-ms".to_owned(),
        delay.as_millis().to_string(),
        "--concurrency".to_owned(),
        concurrency.to_string(),
        "--server".to_owned(),
        srv.addr().to_string(),
    ];
    if let Some(out) = value("--massif") {
        let mut c = Command::new("valgrind");
        c.arg("--tool=massif")
            .arg(format!("--massif-out-file={out}"))
            .arg(&exe)
            .args(common);
        child(c, "the scan under massif")?;
        return Ok(());
    }
    // First the scan with the query log on (the list the replays below send); it also warms the
    // server, so every run measured below meets the same warm server.
    // (The lab server has no replay: its run is the timed scan alone, and its count of queries.)
    let log = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
    if !use_lab {
        child(
            {
                let mut c = Command::new(&exe);
                c.args(&common).arg("--log").arg(log.path());
                c
            },
            "the scan with the query log",
        )?;
    }
    // The timed scan: the scanner as it runs, nothing listening to its trace events.
    let server_cpu = srv.cpu_ms();
    let report = child(
        {
            let mut c = Command::new(&exe);
            c.args(&common);
            c
        },
        "the scan",
    )?;
    let scan_server_cpu = srv.cpu_ms() - server_cpu;
    let wall_ms: f64 = report
        .split_once("wall=")
        .and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok())
        .ok_or("no wall time in the scan's output")?;
    if let Server::Lab(s) = &srv {
        println!("  queries served: {}", s.queries());
        return Ok(());
    }
    let server_cpu = srv.cpu_ms();
    child(
        {
            let mut c = Command::new(&exe);
            c.args(["--concurrency", &concurrency.to_string()])
                .args(["--server", &srv.addr().to_string()])
                .arg("--replay")
                .arg(log.path());
            c
        },
        "the replay through the stub",
    )?;
    let replay_server_cpu = srv.cpu_ms() - server_cpu;
    // (dnsperf's own CPU is not printed: it polls while it waits out the queries knotd dropped,
    // so its process time says more about the drops than about the queries.)
    let server_cpu = srv.cpu_ms();
    let (completed, secs) = dnsperf(srv.addr(), log.path())?;
    let dnsperf_server_cpu = srv.cpu_ms() - server_cpu;
    println!(
        "dnsperf {} -e -n 1: {completed} queries in {:.1} ms ({:.0} queries/s)",
        DNSPERF_FLAGS.join(" "),
        secs * 1000.0,
        completed as f64 / secs
    );
    println!(
        "knotd cpu: {scan_server_cpu} ms serving the scan, {replay_server_cpu} ms the stub alone, {dnsperf_server_cpu} ms dnsperf"
    );
    println!(
        "ratio: tenant-ready / dnsperf = {:.2}",
        wall_ms / (secs * 1000.0)
    );
    Ok(())
}

/// Runs a child of this benchmark, echoes its stdout and returns it; an error if it failed.
fn child(mut cmd: Command, what: &str) -> Result<String, String> {
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("{what}: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    print!("{text}");
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("{what} failed"))
    }
}
