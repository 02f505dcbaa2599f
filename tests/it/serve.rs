//! `tenant-ready serve` with the real engine: the real binary serving on loopback, scraped by a
//! real Prometheus (Debian's `prometheus`; CI installs it), its exposition checked by
//! `promtool`, and `/probe`'s refusals. Waits poll for a state with a generous overall bound;
//! nothing asserts how long anything took.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tenant_ready::lab::{Behaviour, ready_zone};

use crate::support::{server, zones};

/// Kills the child when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// A plain HTTP/1.1 GET on loopback: (status, body).
fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    // Chunked bodies: good enough to search in (the chunk sizes stay in).
    (status, body.to_owned())
}

/// Polls until `f` gives `Some`, for at most `limit` (a bound for a hung run, not a timing).
fn until<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < limit, "gave up waiting");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A serve of two domains (one ready, one whose MX goes elsewhere) on a lab DNS server.
struct Served {
    child: Killed,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

fn broken_zone(domain: &str) -> String {
    ready_zone(domain).replace(
        "mail.protection.outlook.com.",
        "mail.protection.example.net.",
    )
}

async fn start_serve(dns: SocketAddr, extra: &[&str]) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("tenant.toml");
    std::fs::write(
        &cfg,
        "[tenant]\nname = \"Contoso\"\n[[domain]]\nname = \"contoso.test\"\nservices = [\"exchange\"]\n[[domain]]\nname = \"fabrikam.test\"\nservices = [\"exchange\"]\n[endpoints]\nhttps = [\"portal.contoso.test\"]\n",
    )
    .unwrap();
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("tenant-ready"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--site", "lab"])
        .arg("--config")
        .arg(&cfg)
        .args(["--nameserver", &dns.to_string()])
        .args(["--authoritative-port", &dns.port().to_string()])
        .args(["--only", "dns.mx", "--only", "dns.spf"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = Killed(cmd.spawn().unwrap());
    let stderr = child.0.stderr.take().unwrap();
    let addr = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stderr).lines();
        let line = lines
            .find_map(|l| l.ok().filter(|l| l.starts_with("serving on http://")))
            .expect("serve says where it listens");
        // Keep reading so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        line["serving on http://".len()..]
            .split(' ')
            .next()
            .unwrap()
            .parse::<SocketAddr>()
            .unwrap()
    })
    .await
    .unwrap();
    Served {
        child,
        addr,
        _dir: dir,
    }
}

async fn lab_dns(behaviour: Behaviour) -> tenant_ready::lab::DnsServer {
    let (good, bad) = (ready_zone("contoso.test"), broken_zone("fabrikam.test"));
    server(
        zones(&[("contoso.test", &good), ("fabrikam.test", &bad)]),
        behaviour,
    )
    .await
}

fn promtool_check_metrics(text: &str) -> (bool, String) {
    let mut p = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    p.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = p.wait_with_output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The last scan as metrics: one-hot statuses, the verdict, counts; accepted by promtool; and a
/// real Prometheus scraping it stores the same values.
#[tokio::test(flavor = "multi_thread")]
async fn prometheus_scrapes_the_last_scan() {
    if !have("prometheus") || !have("promtool") {
        eprintln!("skipped: prometheus/promtool not installed (CI installs Debian's prometheus)");
        return;
    }
    let dns = lab_dns(Behaviour::default()).await;
    let served = start_serve(dns.addr(), &["--interval", "1h"]).await;
    let addr = served.addr;
    tokio::task::spawn_blocking(move || {
        assert_eq!(get(addr, "/-/healthy", &[]).0, 200);
        until(Duration::from_secs(120), || {
            (get(addr, "/-/ready", &[]).0 == 200).then_some(())
        });
        let (status, metrics) = get(addr, "/metrics", &[]);
        assert_eq!(status, 200);
        let metrics = dechunk(&metrics);
        for want in [
            "tenant_ready_ready{site=\"lab\"} 0",
            "tenant_ready_check_status{site=\"lab\",check=\"dns.mx\",subject=\"fabrikam.test\",responsibility=\"enable.dns-records\",status=\"fail\"} 1",
            "tenant_ready_check_status{site=\"lab\",check=\"dns.mx\",subject=\"contoso.test\",responsibility=\"enable.dns-records\",status=\"pass\"} 1",
            "tenant_ready_check_status{site=\"lab\",check=\"dns.mx\",subject=\"contoso.test\",responsibility=\"enable.dns-records\",status=\"fail\"} 0",
            "tenant_ready_scans_total{site=\"lab\"} 1",
        ] {
            assert!(metrics.contains(want), "{want} not in\n{metrics}");
        }
        let (ok, said) = promtool_check_metrics(&metrics);
        assert!(ok, "promtool check metrics: {said}\n{metrics}");
        // The reports of the last run.
        let (status, json) = get(addr, "/report.json", &[]);
        assert_eq!(status, 200);
        assert!(json.contains("\"schema_version\""), "{json}");
        assert_eq!(get(addr, "/report.html", &[]).0, 200);

        // A real Prometheus, scraping every second.
        let tmp = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = tmp.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: tenant-ready\n    static_configs:\n      - targets: ['{addr}']\n"
            ),
        )
        .unwrap();
        let _prom = Killed(
            Command::new("prometheus")
                .arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.tsdb.path={}", tmp.path().join("data").display()))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let prom: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let query = |q: &str| -> Option<serde_json::Value> {
            if std::net::TcpStream::connect(prom).is_err() {
                return None;
            }
            let (status, body) = get(prom, &format!("/api/v1/query?query={q}"), &[]);
            if status != 200 {
                return None;
            }
            let v: serde_json::Value = serde_json::from_str(&dechunk(&body)).ok()?;
            let r = v["data"]["result"].as_array()?;
            (!r.is_empty()).then(|| v["data"]["result"].clone())
        };
        let ready = until(Duration::from_secs(120), || query("tenant_ready_ready"));
        assert_eq!(ready[0]["metric"]["site"], "lab", "{ready}");
        assert_eq!(ready[0]["value"][1], "0", "{ready}");
        let failing = until(Duration::from_secs(60), || {
            query("tenant_ready_check_status%7Bstatus%3D%22fail%22%2Csubject%3D%22fabrikam.test%22%2Ccheck%3D%22dns.mx%22%7D")
        });
        assert_eq!(failing[0]["value"][1], "1", "{failing}");
        let up = until(Duration::from_secs(60), || query("up%7Bjob%3D%22tenant-ready%22%7D"));
        assert_eq!(up[0]["value"][1], "1", "{up}");
    })
    .await
    .unwrap();
}

/// Undoes HTTP/1.1 chunked transfer coding when the body is chunked (else returns it).
fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    loop {
        let Some((size, after)) = rest.split_once("\r\n") else {
            return body.to_owned();
        };
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            return body.to_owned();
        };
        if n == 0 {
            return out;
        }
        if after.len() < n {
            return body.to_owned();
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
}

/// `/probe` as blackbox_exporter's: results of the asked checks for one target, within the
/// scrape's timeout; refusals are clear HTTP statuses.
#[tokio::test(flavor = "multi_thread")]
async fn probe_runs_one_target_and_refuses_clearly() {
    let dns = lab_dns(Behaviour::default()).await;
    let served = start_serve(dns.addr(), &["--interval", "1h"]).await;
    let addr = served.addr;
    tokio::task::spawn_blocking(move || {
        let (status, body) = get(addr, "/probe?target=fabrikam.test&module=dns.mx", &[]);
        assert_eq!(status, 200, "{body}");
        let body = dechunk(&body);
        assert!(body.contains("probe_success 0"), "{body}");
        assert!(
            body.contains("check=\"dns.mx\",subject=\"fabrikam.test\",responsibility=\"enable.dns-records\",status=\"fail\"} 1"),
            "{body}"
        );
        assert!(!body.contains("contoso.test"), "only the target: {body}");
        let (status, body) = get(addr, "/probe?target=contoso.test&module=dns.*", &[]);
        assert_eq!(status, 200, "{body}");
        assert!(dechunk(&body).contains("probe_success 1"), "{body}");
        for (path, headers, want) in [
            ("/probe?target=contoso.test&module=nope.*", vec![], 400),
            ("/probe?target=elsewhere.test&module=dns.mx", vec![], 403),
            ("/probe?module=dns.mx", vec![], 400),
            ("/probe?target=bad%20name&module=dns.mx", vec![], 400),
            (
                "/probe?target=contoso.test&module=dns.mx",
                vec![("X-Prometheus-Scrape-Timeout-Seconds", "0.8")],
                400,
            ),
            (
                "/probe?target=contoso.test&module=dns.mx",
                vec![("X-Prometheus-Scrape-Timeout-Seconds", "soon")],
                400,
            ),
            ("/nowhere", vec![], 404),
        ] {
            let (status, body) = get(addr, path, &headers);
            assert_eq!(status, want, "{path}: {body}");
        }
        // A slow client (half a request, then nothing) holds only its own connection.
        let mut slow = std::net::TcpStream::connect(addr).unwrap();
        slow.write_all(b"GET /metr").unwrap();
        assert_eq!(get(addr, "/-/healthy", &[]).0, 200);
        assert_eq!(get(addr, "/metrics", &[]).0, 200);
        drop(slow);
        // An endpoint host of the configuration is a target too (its checks, not the domains').
        let (status, body) = get(addr, "/probe?target=portal.contoso.test&module=dns.mx", &[]);
        assert_eq!(status, 200, "{body}");
    })
    .await
    .unwrap();
    // SIGTERM (systemd, Kubernetes) stops it gracefully: exit 0.
    let mut served = served;
    let pid = served.child.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::task::spawn_blocking(move || served.child.0.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0), "{status:?}");
}

/// A second probe while one runs is told to come back (429), never queued behind it.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_probe_while_one_runs_is_refused() {
    // The DNS server answers nothing for slow.test (no scheduled scan asks for it): a probe of
    // it runs until its DNS timeouts.
    let mut b = Behaviour::default();
    b.silent_for.insert("slow.test".into());
    let dns = lab_dns(b).await;
    let served = start_serve(
        dns.addr(),
        &["--interval", "1h", "--timeout", "20s", "--allow-any-target"],
    )
    .await;
    let addr = served.addr;
    let slow = tokio::task::spawn_blocking(move || {
        get(addr, "/probe?target=slow.test&module=dns.mx", &[])
    });
    // Once the first probe has asked the DNS server, it is running.
    until(Duration::from_secs(60), || {
        (dns.queries_for("slow.test") > 0).then_some(())
    });
    let second = tokio::task::spawn_blocking(move || {
        get(addr, "/probe?target=contoso.test&module=dns.mx", &[])
    })
    .await
    .unwrap();
    assert_eq!(second.0, 429, "{}", second.1);
    let first = slow.await.unwrap();
    assert_eq!(first.0, 200, "{}", first.1);
    assert!(
        dechunk(&first.1).contains("status=\"error\"} 1"),
        "{}",
        first.1
    );
}

fn deploy(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(path)
}

/// The shipped alert rules load, and `promtool test rules` proves each alert fires on the
/// series that should fire it and not on those that should not; the sample scrape
/// configuration loads.
#[test]
fn the_alert_rules_pass_their_unit_tests() {
    if !have("promtool") {
        eprintln!("skipped: promtool not installed (CI installs Debian's prometheus)");
        return;
    }
    for args in [
        vec!["check", "rules", "tenant-ready.rules.yml"],
        vec!["test", "rules", "tenant-ready.rules.test.yml"],
        vec!["check", "config", "prometheus.yml"],
    ] {
        let out = Command::new("promtool")
            .args(&args)
            .current_dir(deploy("prometheus"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "promtool {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The `tenant_ready_…` metric names a text mentions.
fn names_in(text: &str) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("tenant_ready_") {
        let start = i + at;
        let mut end = start;
        while end < b.len() && (b[end].is_ascii_lowercase() || b[end] == b'_') {
            end += 1;
        }
        out.insert(text[start..end].to_owned());
        i = end;
    }
    out
}

/// Everything the demo measures becomes a series (certificates, RTT against the target,
/// bandwidth against the need) that promtool accepts; the dashboard's and the alerts' queries
/// name only metrics `/metrics` exposes.
#[test]
fn the_dashboard_and_the_alerts_query_only_metrics_that_exist() {
    let report = tenant_ready::report::saved::load(crate::support::demo_report()).unwrap();
    let state = tenant_ready::serve::metrics::ServerState {
        scans: 3,
        scan_failures: 0,
        last_success: Some(1_800_000_000.0),
        interval: 900.0,
    };
    let om = tenant_ready::serve::metrics::scrape(Some(&report), &state, "lab");
    let text = tenant_ready::serve::metrics::prometheus_text(&om);
    for want in [
        "tenant_ready_certificate_expiry_timestamp_seconds{site=\"lab\",check=\"tls.certificate\"",
        "tenant_ready_certificate_warning_seconds{site=\"lab\",check=\"tls.certificate\"",
        "tenant_ready_certificate_expiry_timestamp_seconds{site=\"lab\",check=\"tls.federation\"",
        "tenant_ready_rtt_seconds{site=\"lab\",target=",
        "tenant_ready_rtt_target_seconds{site=\"lab\",target=",
        "tenant_ready_loss_ratio{site=\"lab\",target=",
        "tenant_ready_bandwidth_bytes_per_second{site=\"lab\",direction=\"download\"}",
        "tenant_ready_bandwidth_needed_bytes_per_second{site=\"lab\",direction=\"upload\",level=\"minimum\"}",
        "tenant_ready_ready{site=\"lab\"} 0",
    ] {
        assert!(text.contains(want), "{want} not in\n{text}");
    }
    // The RTT target is Microsoft's 100 ms, in seconds.
    assert!(text.contains("} 0.1\n"), "{text}");
    if have("promtool") {
        let (ok, said) = promtool_check_metrics(&text);
        assert!(ok, "promtool check metrics: {said}");
    }
    // No message text in labels: every label value is an id, a name, a status or a number.
    assert!(!text.contains("expected:"), "{text}");
    let exposed = names_in(&text);
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(deploy("grafana/tenant-ready.dashboard.json")).unwrap(),
    )
    .unwrap();
    let mut queries = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{panel}");
        for t in targets {
            let expr = t["expr"].as_str().unwrap();
            let names = names_in(expr);
            assert!(!names.is_empty(), "{expr}");
            for n in names {
                assert!(
                    exposed.contains(&n),
                    "dashboard query {expr}: {n} is not exposed"
                );
            }
            queries += 1;
        }
    }
    assert!(queries >= 8);
    let rules = std::fs::read_to_string(deploy("prometheus/tenant-ready.rules.yml")).unwrap();
    for n in names_in(&rules) {
        assert!(exposed.contains(&n), "alert rules: {n} is not exposed");
    }
}
