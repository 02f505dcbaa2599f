//! The network checks against loopback: TCP listeners (open), bound-then-closed ports (closed),
//! names the lab DNS does not know (unresolved), our own STUN responder and coturn's, and UDP ports
//! with nothing bound (ICMP port unreachable → blocked). Filtered ports need a firewall: see
//! `netns.rs`.

use std::net::SocketAddr;
use std::time::Duration;

use tenant_ready::endpoint_sets::EndpointList;
use tenant_ready::lab::Behaviour;
use tenant_ready::lab::stun_server::StunServer;
use tenant_ready::outcome::{CheckResult, Status};

use crate::support::{Scan, assert_status, scan, server, zones};

const ZONE: &str = "$TTL 60\n@ IN SOA ns1.m365.test. h.m365.test. 1 3600 600 86400 60\n@ IN NS ns1.m365.test.\nns1 IN A 127.0.0.1\nopen IN A 127.0.0.1\nshut IN A 127.0.0.1\nrelay IN A 127.0.0.1\nquiet IN A 127.0.0.1\nnoanswer IN A 127.0.0.1\noutlook IN A 127.0.0.1\n";

/// A port that was free a moment ago and has nothing listening now.
fn closed_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn closed_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn scan_net(sets: &str, only: &[&str]) -> Vec<CheckResult> {
    scan_net_with(sets, only, None).await
}

/// As [`scan_net`], with a check file of its own (the ports' levels name the test's ports).
async fn scan_net_with(sets: &str, only: &[&str], checks: Option<&str>) -> Vec<CheckResult> {
    let dns = server(zones(&[("m365.test", ZONE)]), Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("endpoints.json");
    std::fs::write(&file, sets).unwrap();
    let checks_dir = dir.path().join("checks");
    if let Some(text) = checks {
        std::fs::create_dir(&checks_dir).unwrap();
        std::fs::write(checks_dir.join("net.toml"), text).unwrap();
    }
    scan(
        dns.addr(),
        Scan {
            domains: &["m365.test"],
            only,
            timeout: "3s",
            endpoints: Some(&file),
            checks: checks.map(|_| checks_dir.as_path()),
            ..Scan::default()
        },
    )
    .await
}

/// net.teams-media as shipped, with the shipped 3478 / 3479-3481 levels moved onto the test's
/// ports: `required` are judged like 3478, `optional` like 3479-3481.
fn stun_checks(required: &str, optional: &str) -> String {
    format!(
        r#"[[check]]
id = "net.teams-media"
title = "Teams media"
responsibility = "enable.firewall-ports"
severity = "major"
remediation = "open UDP"
[check.probe]
kind = "net-stun"
sets = [11]
relays = []
attempts = 3
first_wait_ms = 300
silence = "warn"
[[check.probe.port]]
ports = "{required}"
level = "required"
[[check.probe.port]]
ports = "{optional}"
level = "optional"
why = "used only where port-based QoS tagging is enabled"
"#
    )
}

#[test]
fn the_real_format_parses_with_ranges_and_ipv6() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/endpoints-sample.json"
    ))
    .unwrap();
    let list = EndpointList::parse(&text, "sample").unwrap();
    assert_eq!(list.sets.len(), 5);
    let s13 = list.sets.iter().find(|s| s.id == 13).unwrap();
    assert_eq!(s13.tcp().unwrap(), vec![443..=443, 50000..=59999]);
    assert!(s13.ips.iter().any(|ip| ip.contains("2603:1027::/48")));
    assert_eq!(
        s13.label(),
        "set 13 (Skype for Business Online and Microsoft Teams, Allow)"
    );
}

#[tokio::test]
async fn tcp_states_per_endpoint_set() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let open = listener.local_addr().unwrap().port();
    let closed = closed_tcp_port();
    let sets = format!(
        r#"[
 {{"id":1,"serviceArea":"Exchange","urls":["open.m365.test"],"tcpPorts":"{open}","category":"Optimize","required":true}},
 {{"id":2,"serviceArea":"Exchange","urls":["open.m365.test","shut.m365.test"],"tcpPorts":"{open},{closed}","category":"Allow","required":true}},
 {{"id":3,"serviceArea":"Common","urls":["missing.m365.test"],"tcpPorts":"{open}","category":"Allow","required":true}},
 {{"id":4,"serviceArea":"Common","urls":["open.m365.test"],"tcpPorts":"{closed}","category":"Default","required":true}},
 {{"id":5,"serviceArea":"Common","urls":["open.m365.test"],"tcpPorts":"{closed}","category":"Allow","required":false}},
 {{"id":6,"serviceArea":"Common","urls":["*.nowhere.m365.test"],"tcpPorts":"443","category":"Allow","required":true}}
]"#
    );
    let results = scan_net(&sets, &["net.endpoints"]).await;
    let by = |id: u32| -> &CheckResult {
        results
            .iter()
            .find(|r| r.subject.starts_with(&format!("set {id} ")))
            .unwrap_or_else(|| panic!("no result for set {id}: {results:#?}"))
    };
    assert_status(by(1), Status::Pass);
    assert_eq!(by(1).evidence["probes"][0]["state"], "open");
    assert_eq!(by(1).evidence["probes"][0]["reason"], "syn-ack");
    let r = by(2);
    assert_status(r, Status::Fail);
    assert!(
        r.message
            .contains(&format!("open.m365.test:{closed} closed")),
        "{}",
        r.message
    );
    let states: Vec<&str> = r.evidence["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["open", "closed", "open", "closed"]);
    let r = by(3);
    assert_status(r, Status::Fail);
    assert_eq!(r.evidence["probes"][0]["state"], "unresolved");
    assert!(
        !results
            .iter()
            .any(|r| r.subject.starts_with("set 4 ") || r.subject.starts_with("set 5 ")),
        "Default and optional sets are not tested by default"
    );
    // Only an undocumented wildcard: nothing to test, and the row says so instead of warning.
    let r = by(6);
    assert_status(r, Status::Skip);
    assert!(
        r.message.contains(
            "nothing to test in set 6 (Common, Allow): *.nowhere.m365.test is a wildcard"
        ),
        "{}",
        r.message
    );
    drop(listener);
}

#[tokio::test]
async fn an_informational_port_is_reported_not_judged() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let open = listener.local_addr().unwrap().port();
    let closed = closed_tcp_port();
    // The shipped rule for TCP 25 (set 10), moved onto the test's closed port.
    let checks = format!(
        r#"[[check]]
id = "net.endpoints"
title = "TCP"
responsibility = "enable.firewall-ports"
severity = "critical"
remediation = "open TCP"
[check.probe]
kind = "net-endpoints"
categories = ["Optimize", "Allow"]
probe_timeout_ms = 2000
max_ports_per_range = 4
[[check.probe.port]]
ports = "{closed}"
level = "optional"
informational = true
why = "only mail servers that deliver to Exchange Online need it"
"#
    );
    let sets = format!(
        r#"[{{"id":10,"serviceArea":"Exchange","urls":["open.m365.test"],"tcpPorts":"{closed},{open}","category":"Allow","required":true}}]"#
    );
    let results = scan_net_with(&sets, &["net.endpoints"], Some(&checks)).await;
    let r = &results[0];
    assert_status(r, Status::Pass);
    assert!(
        r.message.contains(&format!(
            "informational, TCP {closed}: open.m365.test:{closed} closed"
        )),
        "{}",
        r.message
    );
    assert_eq!(r.evidence["port_rules"][0]["informational"], true);
    drop(listener);
}

#[tokio::test]
async fn stun_reachable_blocked_and_inconclusive() {
    let mut answering = Vec::new();
    for _ in 0..4 {
        answering.push(
            StunServer::start("127.0.0.1:0".parse().unwrap(), false)
                .await
                .unwrap(),
        );
    }
    let ports: Vec<String> = answering
        .iter()
        .map(|s| s.addr().port().to_string())
        .collect();
    let quiet = StunServer::start("127.0.0.1:0".parse().unwrap(), true)
        .await
        .unwrap();
    let unbound = closed_udp_port();
    let relay_set = |id: u32, host: &str, ports: &str| {
        format!(
            r#"{{"id":{id},"serviceArea":"Skype","urls":["{host}"],"udpPorts":"{ports}","category":"Optimize","required":true}}"#
        )
    };
    // Set 11 is what net.teams-media reads; each case is a separate scan. The shipped levels
    // (3478 required, 3479-3481 optional) are moved onto the test's ports.
    let q = quiet.addr().port();
    let cases = [
        (
            relay_set(11, "relay.m365.test", &ports.join(",")),
            stun_checks(&ports[0], &ports[1..].join(",")),
            Status::Pass,
            "reachable",
        ),
        (
            relay_set(11, "relay.m365.test", &format!("{},{unbound}", ports[0])),
            stun_checks(&unbound.to_string(), &ports[0]),
            Status::Fail,
            "blocked (rejected: ICMP port unreachable",
        ),
        // Silence on the required port warns and says what else to test: nothing Microsoft
        // documents says the relay answers a bare STUN Binding (issue 24). A reject still fails.
        (
            relay_set(11, "quiet.m365.test", &q.to_string()),
            stun_checks(&q.to_string(), &ports[0]),
            Status::Warn,
            "no STUN answer after 3 requests. A firewall dropping UDP looks like this, but so does a relay that does not answer a bare STUN request",
        ),
        // An optional port that is silent is no finding; one that is blocked warns.
        (
            relay_set(11, "relay.m365.test", &format!("{},{q}", ports[0])),
            stun_checks(&ports[0], &q.to_string()),
            Status::Pass,
            "did not answer (optional: used only where port-based QoS tagging",
        ),
        (
            relay_set(11, "relay.m365.test", &format!("{},{unbound}", ports[0])),
            stun_checks(&ports[0], &unbound.to_string()),
            Status::Warn,
            "blocked (rejected: ICMP port unreachable or a local firewall) (optional: used only",
        ),
    ];
    for (set, checks, status, words) in cases {
        let results = scan_net_with(&format!("[{set}]"), &["net.teams-media"], Some(&checks)).await;
        let r = results
            .iter()
            .find(|r| r.check == "net.teams-media")
            .unwrap();
        assert_status(r, status);
        assert!(r.message.contains(words), "{}", r.message);
        if status == Status::Pass {
            let p = r.evidence["ports"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["port"] == ports[0].parse::<u16>().unwrap())
                .unwrap();
            assert_eq!(p["verdict"], "reachable");
            let mapped: SocketAddr = p["mapped_address"].as_str().unwrap().parse().unwrap();
            assert!(mapped.ip().is_loopback(), "{mapped}");
            assert!(
                r.message.contains("public address 127.0.0.1:"),
                "{}",
                r.message
            );
        }
    }
}

/// Kills the child on drop.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// coturn as a real STUN peer (LAB.md). `.ci/run` installs it; without it the test says so.
#[tokio::test]
async fn coturn_answers_our_binding_requests() {
    if std::process::Command::new("turnserver")
        .arg("-h")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: turnserver (coturn) is not installed (apt-get install coturn)");
        return;
    }
    let port = closed_udp_port();
    let dir = tempfile::tempdir().unwrap();
    let _turn = Child(
        std::process::Command::new("turnserver")
            .args([
                "-n",
                "--listening-ip=127.0.0.1",
                &format!("--listening-port={port}"),
            ])
            .args([
                "--stun-only",
                "--no-tls",
                "--no-dtls",
                "--no-cli",
                "--log-file=stdout",
            ])
            .arg(format!(
                "--pidfile={}",
                dir.path().join("turn.pid").display()
            ))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Until coturn listens, its port answers ICMP port unreachable: wait for a STUN answer.
    let probe = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    probe.connect(("127.0.0.1", port)).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let txid = [9u8; 12];
        let _ = probe
            .send(&tenant_ready::stun::binding_request(&txid))
            .await;
        let mut buf = [0u8; 1500];
        if let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(200), probe.recv(&mut buf)).await
            && matches!(
                tenant_ready::stun::parse_response(&buf[..n], &txid),
                tenant_ready::stun::Response::Success(_)
            )
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "coturn did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let set = format!(
        r#"[{{"id":11,"serviceArea":"Skype","urls":["relay.m365.test"],"udpPorts":"{port}","category":"Optimize","required":true}}]"#
    );
    let results = scan_net(&set, &["net.teams-media"]).await;
    let r = results
        .iter()
        .find(|r| r.check == "net.teams-media")
        .unwrap();
    assert_status(r, Status::Pass);
    assert!(
        r.evidence["ports"][0]["mapped_address"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
}

#[tokio::test]
async fn tls_inspection_names_the_middlebox_ca() {
    use tenant_ready::lab::pki::{LeafSpec, Pki};
    use tenant_ready::lab::tls_server::{LabServer, Mode, server_config};
    let serve = |pki: &Pki| {
        let mut spec = LeafSpec::good("outlook.m365.test");
        spec.names.push("open.m365.test".into());
        Mode::Https(
            server_config(&pki.leaf(&spec).unwrap()).unwrap(),
            Vec::new().into(),
        )
    };
    let gateway = Pki::with_names(
        "Contoso Web Gateway Root",
        "Contoso Web Gateway Inspection CA",
    )
    .unwrap();
    let microsoft = Pki::with_names(
        "Microsoft RSA Root Certificate Authority 2017",
        "Microsoft Azure RSA TLS Issuing CA 03",
    )
    .unwrap();
    let intercepting = LabServer::start("127.0.0.1:0".parse().unwrap(), serve(&gateway))
        .await
        .unwrap();
    let genuine = LabServer::start("127.0.0.1:0".parse().unwrap(), serve(&microsoft))
        .await
        .unwrap();
    // Microsoft's chain, replayed by a server that does not hold its key (it signs with another).
    let replayed = {
        let mut spec = LeafSpec::good("outlook.m365.test");
        spec.names.push("open.m365.test".into());
        let mut leaf = microsoft.leaf(&spec).unwrap();
        leaf.key = gateway.leaf(&spec).unwrap().key;
        LabServer::start(
            "127.0.0.1:0".parse().unwrap(),
            Mode::Https(server_config(&leaf).unwrap(), Vec::new().into()),
        )
        .await
        .unwrap()
    };
    // Microsoft's CA, but a certificate for another name, and an expired one.
    let with = |edit: fn(&mut LeafSpec)| {
        let mut spec = LeafSpec::good("outlook.m365.test");
        edit(&mut spec);
        Mode::Https(
            server_config(&microsoft.leaf(&spec).unwrap()).unwrap(),
            Vec::new().into(),
        )
    };
    let other_name = LabServer::start(
        "127.0.0.1:0".parse().unwrap(),
        with(|s| s.names = vec!["www.example.test".into()]),
    )
    .await
    .unwrap();
    let expired = LabServer::start(
        "127.0.0.1:0".parse().unwrap(),
        with(|s| {
            s.from_days = -400;
            s.until_days = -3;
        }),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The "Microsoft" CA of this test is trusted through --ca-file, standing in for the public root.
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, microsoft.root_pem()).unwrap();
    let dns = server(zones(&[("m365.test", ZONE)]), Behaviour::default()).await;
    for (server, status, words) in [
        (
            &intercepting,
            Status::Fail,
            "intercepted: the certificate for outlook.m365.test is issued by 'Contoso Web Gateway Inspection CA'",
        ),
        (
            &genuine,
            Status::Pass,
            "not intercepted: outlook.m365.test presents a certificate issued by 'Microsoft Azure RSA TLS Issuing CA 03'",
        ),
        (&replayed, Status::Fail, "did not prove it is Microsoft 365"),
        (
            &other_name,
            Status::Fail,
            "the certificate presented for outlook.m365.test is for www.example.test",
        ),
        (
            &expired,
            Status::Fail,
            "the certificate presented for outlook.m365.test is expired",
        ),
    ] {
        let file = dir.path().join("endpoints.json");
        std::fs::write(
            &file,
            format!(
                r#"[{{"id":1,"serviceArea":"Exchange","urls":["outlook.m365.test"],"tcpPorts":"{}","category":"Optimize","required":true}}]"#,
                server.addr().port()
            ),
        )
        .unwrap();
        let results = scan(
            dns.addr(),
            Scan {
                domains: &["m365.test"],
                only: &["net.tls-inspection"],
                timeout: "3s",
                endpoints: Some(&file),
                ca_file: Some(&ca),
                ..Scan::default()
            },
        )
        .await;
        let r = results
            .iter()
            .find(|r| r.check == "net.tls-inspection")
            .unwrap();
        assert_status(r, status);
        assert!(r.message.contains(words), "{}", r.message);
        assert_eq!(r.responsibility, "enable.network-configuration");
    }
}

/// Proxies are seen the way a client meets them: through the machine's proxy environment (a
/// subprocess with `HTTP_PROXY` set to a proxy that answers 407), and transparently (a 403 from a
/// squid in the path; a `Via` header).
#[tokio::test(flavor = "multi_thread")]
async fn proxies_in_the_path_of_optimize_traffic() {
    use std::sync::Arc;
    use tenant_ready::lab::tls_server::{LabServer, Mode};
    let http = |status: u16, headers: &[(&str, &str)]| Mode::PlainHttp {
        status,
        headers: Arc::new(
            headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        ),
    };
    let local = "127.0.0.1:0".parse().unwrap();
    let auth_proxy = LabServer::start(
        local,
        http(407, &[("Proxy-Authenticate", "Basic realm=\"gw\"")]),
    )
    .await
    .unwrap();
    let squid = LabServer::start(
        local,
        http(
            403,
            &[
                ("Server", "squid/5.7"),
                ("X-Squid-Error", "ERR_ACCESS_DENIED 0"),
            ],
        ),
    )
    .await
    .unwrap();
    let direct = LabServer::start(local, http(301, &[("Server", "AkamaiGHost")]))
        .await
        .unwrap();
    let dns = server(zones(&[("m365.test", ZONE)]), Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let run = |port: u16, proxy: Option<String>| {
        let file = dir.path().join(format!("e{port}.json"));
        std::fs::write(
            &file,
            format!(r#"[{{"id":1,"serviceArea":"Exchange","urls":["outlook.m365.test"],"tcpPorts":"{port}","category":"Optimize","required":true}}]"#),
        )
        .unwrap();
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("tenant-ready"));
        cmd.args([
            "scan",
            "m365.test",
            "--only",
            "net.proxy",
            "--format",
            "json",
            "--timeout",
            "3s",
        ])
        .args(["--nameserver", &dns.addr().to_string()])
        .arg("--endpoints")
        .arg(&file);
        for k in tenant_ready::secrets::PROXY_VARS {
            cmd.env_remove(k);
        }
        if let Some(p) = proxy {
            cmd.env("HTTP_PROXY", p);
        }
        let out = cmd.output().unwrap();
        // Proxy credentials never reach a report, in whatever form the variable has them.
        for secret in ["s3cr3t-pw", "alice"] {
            assert!(
                !String::from_utf8_lossy(&out.stdout).contains(secret)
                    && !String::from_utf8_lossy(&out.stderr).contains(secret),
                "{secret} leaked: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        v["results"][0].clone()
    };
    let r = tokio::task::block_in_place(|| {
        run(
            direct.addr().port(),
            Some(format!("http://{}", auth_proxy.addr())),
        )
    });
    assert_eq!(r["status"], "fail", "{r}");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("HTTP 407, Proxy-Authenticate: Basic"),
        "{r}"
    );
    assert!(
        r["evidence"]["proxy_env"]["HTTP_PROXY"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    // Credentials without a scheme (`user:password@host:port`, as curl and many tools accept).
    let r = tokio::task::block_in_place(|| {
        run(
            direct.addr().port(),
            Some(format!("alice:s3cr3t-pw@{}", auth_proxy.addr())),
        )
    });
    assert_eq!(
        r["evidence"]["proxy_env"]["HTTP_PROXY"],
        format!("***@{}", auth_proxy.addr()),
        "{r}"
    );
    let r = tokio::task::block_in_place(|| run(squid.addr().port(), None));
    assert_eq!(r["status"], "fail", "{r}");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("x-squid-error: ERR_ACCESS_DENIED"),
        "{r}"
    );
    let r = tokio::task::block_in_place(|| run(direct.addr().port(), None));
    assert_eq!(r["status"], "pass", "{r}");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("no proxy in the path"),
        "{r}"
    );
}

/// A hostile endpoint list: every TCP port listed one by one, and 100 URLs in one set. The
/// probe tests a bounded number of each (and says so), instead of opening 6.5 million sockets.
#[tokio::test]
async fn an_endpoint_list_with_every_port_is_probed_within_bounds() {
    let ports: Vec<String> = (1..=65535).map(|p| p.to_string()).collect();
    let urls: Vec<String> = (0..100).map(|i| format!("\"h{i}.m365.test\"")).collect();
    let set = format!(
        r#"[{{"id":1,"serviceArea":"Exchange","urls":[{}],"tcpPorts":"{}","category":"Optimize","required":true}}]"#,
        urls.join(","),
        ports.join(",")
    );
    let results = scan_net(&set, &["net.endpoints"]).await;
    let r = results.iter().find(|r| r.check == "net.endpoints").unwrap();
    let probes = r.evidence["probes"].as_array().unwrap();
    // h0..h99 do not resolve in the test zone: each host gets one row per port, no socket.
    assert_eq!(probes.len(), 64 * 16, "{}", r.evidence["capped"]);
    let capped: Vec<&str> = r.evidence["capped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(
        capped,
        [
            "tested 16 of the set's 65535 TCP ports (at most 16 per set)",
            "tested 64 of the set's 100 URLs (at most 64 per set)"
        ]
    );
}

/// A set whose URL is not a host name is refused when the list is read, naming the set.
#[test]
fn an_endpoint_list_with_a_malformed_url_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for bad in [
        "outlook office365.com",
        "http://x.com/",
        "x\u{1b}[2J.com",
        "*",
    ] {
        let file = dir.path().join("endpoints.json");
        let set = serde_json::json!([{"id": 7, "serviceArea": "Exchange", "urls": [bad],
            "tcpPorts": "443", "category": "Optimize", "required": true}]);
        std::fs::write(&file, set.to_string()).unwrap();
        let o = std::process::Command::new(assert_cmd::cargo::cargo_bin("tenant-ready"))
            .args([
                "scan",
                "m365.test",
                "--only",
                "net.endpoints",
                "--nameserver",
                "127.0.0.1:9",
            ])
            .arg("--endpoints")
            .arg(&file)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{bad}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains("set 7: url `"), "{err}");
        assert!(!err.contains('\u{1b}'), "{err}");
    }
}
