//! Network quality against loopback stand-ins whose impairments are known exactly: a STUN
//! responder that delays, alternates its delay (jitter) or drops every Nth request, and a TCP front
//! door for the fallback when UDP is blocked.

use std::time::Duration;

use tenant_ready::lab::Behaviour;
use tenant_ready::lab::stun_server::{Impairment, StunServer};
use tenant_ready::outcome::{CheckResult, Status};

use crate::support::{Scan, assert_status, scan, server, zones};

const ZONE: &str = "$TTL 60\n@ IN SOA ns1.m365.test. h.m365.test. 1 3600 600 86400 60\n@ IN NS ns1.m365.test.\nns1 IN A 127.0.0.1\nrelay IN A 127.0.0.1\noutlook IN A 127.0.0.1\n";

/// The shipped quality.toml with fast sampling (20 samples, 20 ms apart).
fn fast_checks(dir: &std::path::Path) -> std::path::PathBuf {
    let text = include_str!("../../checks/quality.toml")
        .replace("samples = 50", "samples = 20")
        .replace("interval_ms = 200", "interval_ms = 20")
        .replace("reply_timeout_ms = 1000", "reply_timeout_ms = 300");
    let checks = dir.join("checks");
    std::fs::create_dir_all(&checks).unwrap();
    std::fs::write(checks.join("quality.toml"), text).unwrap();
    checks
}

async fn measure(relay_port: u16, front_door: Option<u16>) -> CheckResult {
    let dir = tempfile::tempdir().unwrap();
    let checks = fast_checks(dir.path());
    let mut sets = vec![format!(
        r#"{{"id":11,"serviceArea":"Skype","urls":["relay.m365.test"],"udpPorts":"{relay_port}","category":"Optimize","required":true}}"#
    )];
    if let Some(p) = front_door {
        sets.push(format!(
            r#"{{"id":1,"serviceArea":"Exchange","urls":["outlook.m365.test"],"tcpPorts":"{p}","category":"Optimize","required":true}}"#
        ));
    }
    let file = dir.path().join("endpoints.json");
    std::fs::write(&file, format!("[{}]", sets.join(","))).unwrap();
    let dns = server(zones(&[("m365.test", ZONE)]), Behaviour::default()).await;
    let results = scan(
        dns.addr(),
        Scan {
            domains: &["m365.test"],
            only: &["quality.latency"],
            endpoints: Some(&file),
            checks: Some(&checks),
            ..Scan::default()
        },
    )
    .await;
    results
        .into_iter()
        .find(|r| r.check == "quality.latency")
        .unwrap()
}

async fn relay(imp: Impairment) -> StunServer {
    StunServer::start_impaired("127.0.0.1:0".parse().unwrap(), imp)
        .await
        .unwrap()
}

fn f(r: &CheckResult, key: &str) -> f64 {
    r.evidence[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key}: {}", r.evidence))
}

#[tokio::test]
async fn latency_jitter_and_loss_are_measured_and_judged() {
    // 20 ms each way of delay, plus 10 ms on every other answer: RTT 20-30 ms, jitter → 10 ms.
    let ok = relay(Impairment {
        delay: Duration::from_millis(20),
        jitter: Duration::from_millis(10),
        ..Impairment::default()
    })
    .await;
    let r = measure(ok.addr().port(), None).await;
    assert_status(&r, Status::Pass);
    assert_eq!(r.evidence["method"], "stun");
    assert_eq!(r.evidence["samples_ms"].as_array().unwrap().len(), 20);
    let (median, p90, jitter) = (
        f(&r, "rtt_median_ms"),
        f(&r, "rtt_p90_ms"),
        f(&r, "jitter_ms"),
    );
    assert!((20.0..28.0).contains(&median), "median {median}");
    assert!((29.0..40.0).contains(&p90), "p90 {p90}");
    // RFC 3550's estimator approaches |D| = 10 ms from below (20 samples: about 7 ms).
    assert!((5.0..11.0).contains(&jitter), "jitter {jitter}");
    assert!(f(&r, "loss_pct").abs() < 1e-9);

    let far = relay(Impairment {
        delay: Duration::from_millis(120),
        ..Impairment::default()
    })
    .await;
    let r = measure(far.addr().port(), None).await;
    assert_status(&r, Status::Fail);
    assert!(
        r.message.contains("90th percentile (target < 100 ms)"),
        "{}",
        r.message
    );

    let shaky = relay(Impairment {
        jitter: Duration::from_millis(45),
        ..Impairment::default()
    })
    .await;
    let r = measure(shaky.addr().port(), None).await;
    assert_status(&r, Status::Fail);
    assert!(
        r.message.contains("jitter is") && r.message.contains("target < 30 ms"),
        "{}",
        r.message
    );

    let lossy = relay(Impairment {
        drop_every: 5,
        ..Impairment::default()
    })
    .await;
    let r = measure(lossy.addr().port(), None).await;
    assert_status(&r, Status::Fail);
    assert!((f(&r, "loss_pct") - 20.0).abs() < 1e-9);
    assert!(
        r.message.contains("20.0 % of samples lost"),
        "{}",
        r.message
    );
}

#[tokio::test]
async fn without_udp_the_front_door_is_measured_over_tcp() {
    let front_door = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = front_door.local_addr().unwrap().port();
    let blocked = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let r = measure(blocked, Some(port)).await;
    assert_status(&r, Status::Warn);
    assert_eq!(r.evidence["method"], "tcp-connect");
    assert!(
        r.evidence["fallback_reason"]
            .as_str()
            .unwrap()
            .contains("UDP refused"),
        "{}",
        r.evidence
    );
    assert!(r.message.contains("measured over TCP"), "{}", r.message);
}

/// The shipped quality.toml with short bandwidth phases (the estimator, not its patience, is tested).
fn fast_bandwidth_checks(dir: &std::path::Path) -> std::path::PathBuf {
    let text = include_str!("../../checks/quality.toml")
        .replace("warmup_ms = 1000", "warmup_ms = 400")
        .replace("min_ms = 1500", "min_ms = 1000")
        .replace("max_ms = 4500", "max_ms = 2500");
    let checks = dir.join("checks");
    std::fs::create_dir_all(&checks).unwrap();
    std::fs::write(checks.join("quality.toml"), text).unwrap();
    checks
}

async fn bandwidth(rate_mbps: u64, users: Option<u32>) -> CheckResult {
    use std::sync::{Arc, Mutex};
    use tenant_ready::lab::tls_server::{LabServer, Mode};
    let srv = LabServer::start(
        "127.0.0.1:0".parse().unwrap(),
        Mode::Throughput {
            rate_bps: rate_mbps * 1_000_000,
            pacer: Arc::new(Mutex::new(tokio::time::Instant::now())),
        },
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let checks = fast_bandwidth_checks(dir.path());
    let config = format!(
        "[tenant]\n{}\n[[domain]]\nname = \"m365.test\"\n[network]\nbandwidth_url = \"http://speed.m365.test:{}/blob\"\n",
        users.map(|u| format!("users = {u}")).unwrap_or_default(),
        srv.addr().port()
    );
    let zone = format!("{ZONE}speed IN A 127.0.0.1\n");
    let dns = server(zones(&[("m365.test", &zone)]), Behaviour::default()).await;
    let results = scan(
        dns.addr(),
        Scan {
            config: Some(&config),
            only: &["quality.bandwidth"],
            checks: Some(&checks),
            ..Scan::default()
        },
    )
    .await;
    results
        .into_iter()
        .find(|r| r.check == "quality.bandwidth")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn throughput_is_measured_both_ways_and_judged_against_the_model() {
    // 20 Mbit/s link, 10 users (5.4 down / 3.9 up needed): measured both ways, enough. The paced
    // loopback server shares the test's CPU, so the tolerance here is loose (±15 %); accuracy
    // against a real shaped link is `netns::throughput_and_loss_on_a_shaped_link` and
    // `bench_quality`. The warn band is unit-tested in the probe.
    let r = bandwidth(20, Some(10)).await;
    let down = r.evidence["download"]["mbps"].as_f64().unwrap();
    let up = r.evidence["upload"]["mbps"].as_f64().unwrap();
    assert!(
        (17.0..=23.0).contains(&down),
        "download {down} Mbit/s vs 20: {}",
        r.evidence
    );
    assert!(
        (17.0..=23.0).contains(&up),
        "upload {up} Mbit/s vs 20: {}",
        r.evidence
    );
    assert_status(&r, Status::Pass);
    assert!((r.evidence["needed_down_mbps"].as_f64().unwrap() - 5.366).abs() < 1e-6);
    // 60 users need 32.2 down: the 20 Mbit/s link fails.
    let r = bandwidth(20, Some(60)).await;
    assert_status(&r, Status::Fail);
    assert!(r.message.contains("below the 32.2 Mbit/s"), "{}", r.message);
    // A fast link, 10 users: pass.
    let r = bandwidth(100, Some(10)).await;
    assert_status(&r, Status::Pass);
    let down = r.evidence["download"]["mbps"].as_f64().unwrap();
    assert!(
        (down - 100.0).abs() <= 10.0,
        "download {down} Mbit/s vs 100"
    );
    // No users: measured, not compared.
    let r = bandwidth(20, None).await;
    assert_status(&r, Status::Pass);
    assert!(r.message.contains("set [tenant] users"), "{}", r.message);
}

#[tokio::test]
async fn without_a_bandwidth_url_the_check_says_how_to_enable_it() {
    let dns = server(zones(&[("m365.test", ZONE)]), Behaviour::default()).await;
    let results = scan(
        dns.addr(),
        Scan {
            domains: &["m365.test"],
            only: &["quality.bandwidth"],
            ..Scan::default()
        },
    )
    .await;
    assert_status(&results[0], Status::Skip);
    assert!(
        results[0].message.contains("[network] bandwidth_url"),
        "{}",
        results[0].message
    );
}
