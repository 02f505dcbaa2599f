//! The certificate checks against real loopback servers: rustls HTTPS servers with certificates
//! minted by the test's own CA (rcgen), an SMTP server with STARTTLS, a scripted legacy-TLS
//! responder, and servers that stall, flood or send garbage. Host names resolve through the
//! test's DNS server (`*.lab.test` → 127.0.0.1), exactly as a customer's names would.

use std::time::{Duration, Instant};

use tenant_ready::lab::pki::{LeafSpec, Pki, Signer};
use tenant_ready::lab::tls_server::{LabServer, Mode, Route, server_config};
use tenant_ready::lab::{Behaviour, FEDERATION_PATH, federation_metadata, token_signing_cert};
use tenant_ready::outcome::{CheckResult, Status};

use crate::support::{Scan, assert_status, error_kind, scan, server, zones};

/// Servers by short host name (`good` → good.lab.test), the CA file, and the DNS server.
struct TlsLab {
    pki: Pki,
    servers: Vec<(String, LabServer)>,
    dir: tempfile::TempDir,
}

impl TlsLab {
    fn new() -> Self {
        Self {
            pki: Pki::new().unwrap(),
            servers: Vec::new(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    async fn add(&mut self, name: &str, mode: Mode) -> String {
        let s = LabServer::start("127.0.0.1:0".parse().unwrap(), mode)
            .await
            .unwrap();
        let ep = format!("{name}.lab.test:{}", s.addr().port());
        self.servers.push((name.to_owned(), s));
        ep
    }

    fn https(&self, spec: &LeafSpec, routes: Vec<Route>) -> Mode {
        let leaf = self.pki.leaf(spec).unwrap();
        Mode::Https(server_config(&leaf).unwrap(), routes.into())
    }

    fn ca_file(&self) -> std::path::PathBuf {
        let p = self.dir.path().join("ca.pem");
        std::fs::write(&p, self.pki.root_pem()).unwrap();
        p
    }

    /// Scans `section` (an `[endpoints]` table) with only `checks`, trusting the lab CA or not.
    async fn scan(&self, section: &str, checks: &[&str], trust_lab_ca: bool) -> Vec<CheckResult> {
        let mut zone = String::from(
            "$TTL 60\n@ IN SOA ns1.lab.test. h.lab.test. 1 3600 600 86400 60\n@ IN NS ns1.lab.test.\nns1 IN A 127.0.0.1\n",
        );
        for (name, _) in &self.servers {
            zone.push_str(&format!("{name} IN A 127.0.0.1\n"));
        }
        zone.push_str("closed IN A 127.0.0.1\n");
        let dns = server(zones(&[("lab.test", &zone)]), Behaviour::default()).await;
        let config = format!("[[domain]]\nname = \"lab.test\"\n\n[endpoints]\n{section}\n");
        let ca = self.ca_file();
        scan(
            dns.addr(),
            Scan {
                config: Some(&config),
                only: checks,
                timeout: "2s",
                ca_file: trust_lab_ca.then_some(ca.as_path()),
                ..Scan::default()
            },
        )
        .await
    }
}

fn by_subject<'a>(results: &'a [CheckResult], check: &str, ep: &str) -> &'a CheckResult {
    results
        .iter()
        .find(|r| r.check == check && r.subject == ep)
        .unwrap_or_else(|| panic!("no {check} result for {ep}: {results:#?}"))
}

#[track_caller]
fn expect(r: &CheckResult, status: Status, words: &[&str]) {
    assert_status(r, status);
    for w in words {
        assert!(
            r.message.contains(w),
            "{} [{}]: `{}` not in: {}",
            r.check,
            r.subject,
            w,
            r.message
        );
    }
}

#[tokio::test]
async fn certificates_are_judged_on_every_count() {
    let mut lab = TlsLab::new();
    let mut cases: Vec<(&str, LeafSpec, Status, Vec<&str>)> = Vec::new();
    let good = LeafSpec::good("good.lab.test");
    cases.push((
        "good",
        good.clone(),
        Status::Pass,
        vec!["valid until", "--ca-file"],
    ));
    let mut s = LeafSpec::good("expired.lab.test");
    (s.from_days, s.until_days) = (-100, -3);
    cases.push(("expired", s, Status::Fail, vec!["expired on", "3 days ago"]));
    let mut s = LeafSpec::good("future.lab.test");
    (s.from_days, s.until_days) = (5, 100);
    cases.push(("future", s, Status::Fail, vec!["not valid yet"]));
    let mut s = LeafSpec::good("soon.lab.test");
    s.until_days = 10;
    // 10 days at minting: 9 or 10 whole days when checked, depending on the second it lands in.
    cases.push(("soon", s, Status::Warn, vec!["expires in ", "renew it"]));
    let mut s = LeafSpec::good("critical.lab.test");
    s.until_days = 3;
    cases.push(("critical", s, Status::Fail, vec!["within the 7-day limit"]));
    cases.push((
        "wronghost",
        LeafSpec::good("www.fabrikam.test"),
        Status::Fail,
        vec!["is for www.fabrikam.test, not wronghost.lab.test"],
    ));
    let mut s = LeafSpec::good("selfsigned.lab.test");
    s.signer = Signer::SelfSigned;
    cases.push(("selfsigned", s, Status::Fail, vec!["self-signed"]));
    let mut s = LeafSpec::good("nochain.lab.test");
    s.send_intermediate = false;
    cases.push((
        "nochain",
        s,
        Status::Fail,
        vec!["incomplete chain", "tenant-ready Lab Issuing CA"],
    ));
    let mut s = LeafSpec::good("rsa1024.lab.test");
    s.rsa1024 = true;
    cases.push((
        "rsa1024",
        s,
        Status::Fail,
        vec!["1024-bit RSA key; at least 2048 bits"],
    ));
    let mut s = LeafSpec::good("sha1.lab.test");
    s.sha1 = true;
    cases.push(("sha1", s, Status::Fail, vec!["signed with ecdsa-with-SHA1"]));
    let mut s = LeafSpec::good("clientonly.lab.test");
    s.eku = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    cases.push((
        "clientonly",
        s,
        Status::Fail,
        vec!["does not include Server Authentication"],
    ));

    let mut endpoints = Vec::new();
    for (name, spec, _, _) in &cases {
        let mode = lab.https(spec, vec![]);
        endpoints.push(lab.add(name, mode).await);
    }
    let garbage = lab
        .add(
            "garbage",
            Mode::Garbage(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".to_vec()),
        )
        .await;
    let stall = lab.add("stall", Mode::Stall).await;
    let list: Vec<String> = endpoints
        .iter()
        .chain([&garbage, &stall])
        .map(|e| format!("\"{e}\""))
        .collect();
    let section = format!(
        "https = [{}, \"closed.lab.test:1\", \"missing.lab.test\"]",
        list.join(", ")
    );
    // Every endpoint ends with a verdict or a `timeout` error (asserted below), never a hang:
    // what happened is asserted, not how long it took on a shared machine.
    let results = lab.scan(&section, &["tls.certificate"], true).await;
    for ((_, _, status, words), ep) in cases.iter().zip(&endpoints) {
        expect(by_subject(&results, "tls.certificate", ep), *status, words);
    }
    let r = by_subject(&results, "tls.certificate", &garbage);
    expect(r, Status::Fail, &["does not speak TLS"]);
    let r = by_subject(&results, "tls.certificate", &stall);
    assert_status(r, Status::Error);
    assert_eq!(error_kind(r), "timeout");
    assert!(r.message.contains("TLS handshake"), "{}", r.message);
    expect(
        by_subject(&results, "tls.certificate", "closed.lab.test:1"),
        Status::Fail,
        &["connection refused"],
    );
    expect(
        by_subject(&results, "tls.certificate", "missing.lab.test:443"),
        Status::Fail,
        &["does not resolve (NXDOMAIN)"],
    );
    // The evidence names every certificate of the chain, with the values a person checks.
    let good_ev = &by_subject(&results, "tls.certificate", &endpoints[0]).evidence;
    let chain = good_ev["certificates"].as_array().unwrap();
    assert_eq!(chain.len(), 2);
    for field in [
        "subject",
        "issuer",
        "sans",
        "not_before",
        "not_after",
        "days_remaining",
        "key_type",
        "key_bits",
        "signature_algorithm",
        "sha256",
        "serial",
    ] {
        assert!(!chain[0][field].is_null(), "{field}: {good_ev}");
    }
    assert_eq!(good_ev["trust"], "extra-ca");
    assert_eq!(good_ev["version"], "TLS 1.3");
    assert!(
        good_ev["cipher_suite"]
            .as_str()
            .unwrap()
            .starts_with("TLS13_")
    );
}

#[tokio::test]
async fn without_the_staging_ca_the_chain_is_not_publicly_trusted() {
    let mut lab = TlsLab::new();
    let mode = lab.https(&LeafSpec::good("good.lab.test"), vec![]);
    let ep = lab.add("good", mode).await;
    let results = lab
        .scan(&format!("https = [\"{ep}\"]"), &["tls.certificate"], false)
        .await;
    let r = by_subject(&results, "tls.certificate", &ep);
    expect(
        r,
        Status::Fail,
        &[
            "chain stops at 'tenant-ready Lab Root CA'",
            "not a public root",
        ],
    );
    assert_eq!(r.evidence["trust"], "untrusted");
    assert_eq!(
        r.evidence["missing_issuer"],
        "O=tenant-ready lab, CN=tenant-ready Lab Root CA"
    );
}

#[tokio::test]
async fn protocol_versions_are_probed_one_by_one() {
    let mut lab = TlsLab::new();
    let modern = lab.https(&LeafSpec::good("modern.lab.test"), vec![]);
    let modern = lab.add("modern", modern).await;
    let legacy_only = lab
        .add(
            "legacy",
            Mode::Legacy {
                accept: vec![0x0301],
            },
        )
        .await;
    let mixed = lab
        .add(
            "mixed",
            Mode::Legacy {
                accept: vec![0x0301, 0x0302, 0x0303],
            },
        )
        .await;
    let garbage = lab
        .add(
            "garbage",
            Mode::Garbage(b"SSH-2.0-OpenSSH_9.6\r\n".to_vec()),
        )
        .await;
    let section = format!("https = [\"{modern}\", \"{legacy_only}\", \"{mixed}\", \"{garbage}\"]");
    let results = lab.scan(&section, &["tls.protocol"], true).await;
    let r = by_subject(&results, "tls.protocol", &modern);
    expect(r, Status::Pass, &["accepts TLS 1.2, TLS 1.3"]);
    let offers = r.evidence["offers"].as_array().unwrap();
    assert_eq!(offers[0]["version"], "TLS 1.0");
    assert_eq!(offers[0]["reply"], "alert");
    assert_eq!(offers[0]["accepted"], false);
    // rustls answers an old ClientHello with handshake_failure; others say protocol_version.
    assert!(offers[0]["alert"].is_string(), "{r:?}");
    expect(
        by_subject(&results, "tls.protocol", &legacy_only),
        Status::Fail,
        &[
            "TLS 1.2 is not accepted (alert protocol_version)",
            "TLS 1.0 still accepted",
        ],
    );
    expect(
        by_subject(&results, "tls.protocol", &mixed),
        Status::Warn,
        &["TLS 1.0 and TLS 1.1 still accepted"],
    );
    expect(
        by_subject(&results, "tls.protocol", &garbage),
        Status::Fail,
        &["non-TLS data `SSH-2.0-OpenSSH_9.6"],
    );
}

#[tokio::test]
async fn smtp_starttls_conversations() {
    let mut lab = TlsLab::new();
    let leaf = lab.pki.leaf(&LeafSpec::good("mail.lab.test")).unwrap();
    let cfg = server_config(&leaf).unwrap();
    let good = lab
        .add(
            "mail",
            Mode::Smtp {
                tls: cfg.clone(),
                starttls: true,
            },
        )
        .await;
    let plain = lab
        .add(
            "plain",
            Mode::Smtp {
                tls: cfg.clone(),
                starttls: false,
            },
        )
        .await;
    let wrong = lab
        .add(
            "wrongname",
            Mode::Smtp {
                tls: cfg,
                starttls: true,
            },
        )
        .await;
    let stall = lab.add("stall", Mode::Stall).await;
    let flood = lab.add("flood", Mode::FloodBanner).await;
    let section =
        format!("smtp = [\"{good}\", \"{plain}\", \"{wrong}\", \"{stall}\", \"{flood}\"]");
    let results = lab.scan(&section, &["tls.smtp-starttls"], true).await;
    let r = by_subject(&results, "tls.smtp-starttls", &good);
    expect(
        r,
        Status::Pass,
        &["STARTTLS offered", "certificate for mail.lab.test"],
    );
    assert_eq!(
        r.evidence["banner"],
        "220 mail.lab.test ESMTP tenant-ready lab"
    );
    assert!(
        r.evidence["ehlo"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == "STARTTLS")
    );
    expect(
        by_subject(&results, "tls.smtp-starttls", &plain),
        Status::Fail,
        &["STARTTLS is not offered (EHLO lists: SIZE 37748736, 8BITMIME)"],
    );
    expect(
        by_subject(&results, "tls.smtp-starttls", &wrong),
        Status::Fail,
        &["is for mail.lab.test, not wrongname.lab.test"],
    );
    let r = by_subject(&results, "tls.smtp-starttls", &stall);
    assert_status(r, Status::Error);
    assert_eq!(error_kind(r), "timeout");
    assert!(
        r.message.contains("sent no complete greeting"),
        "{}",
        r.message
    );
    let r = by_subject(&results, "tls.smtp-starttls", &flood);
    assert_status(r, Status::Error);
    assert_eq!(error_kind(r), "protocol");
    assert!(r.message.contains("more than 100 lines"), "{}", r.message);
}

#[tokio::test]
async fn federation_metadata_is_fetched_and_its_signing_certificates_judged() {
    let mut lab = TlsLab::new();
    let meta = |days: &[i64]| {
        let certs: Vec<Vec<u8>> = days
            .iter()
            .map(|d| token_signing_cert("sts.lab.test", *d).unwrap())
            .collect();
        federation_metadata("http://sts.lab.test/adfs/services/trust", &certs).into_bytes()
    };
    let route = |status: u16, ctype: &str, body: Vec<u8>| Route {
        path: FEDERATION_PATH.into(),
        status,
        content_type: ctype.into(),
        body,
        location: None,
    };
    let redirect = |to: &str| Route {
        path: FEDERATION_PATH.into(),
        status: 302,
        content_type: "text/html".into(),
        body: vec![],
        location: Some(to.into()),
    };
    let cases: Vec<(&str, Vec<Route>, Status, &str)> = vec![
        (
            "good",
            vec![route(200, "text/xml", meta(&[200]))],
            Status::Pass,
            "valid until",
        ),
        // Entra ID reads the metadata from 35 days before expiry (was 30 before 2026-11).
        (
            "polling",
            vec![route(200, "text/xml", meta(&[32]))],
            Status::Warn,
            "AD FS generates its successor about 20 days before expiry",
        ),
        // Past AD FS's generation threshold (20 days by default) without a successor.
        (
            "overdue",
            vec![route(200, "text/xml", meta(&[17]))],
            Status::Warn,
            "no successor is published",
        ),
        // AutoCertificateRollover at work (issue 24): the successor published 20 days before
        // the current certificate expires is a healthy farm, named with both dates.
        (
            "successor",
            vec![route(200, "text/xml", meta(&[20, 385]))],
            Status::Pass,
            "its successor 'ADFS Signing - sts.lab.test'",
        ),
        (
            "expiring",
            vec![route(200, "text/xml", meta(&[10]))],
            Status::Warn,
            "AutoCertificateRollover is on and Entra ID already has the next",
        ),
        (
            "rollover",
            vec![route(200, "text/xml", meta(&[3, 360]))],
            Status::Pass,
            "expires in 3 days",
        ),
        ("notfound", vec![], Status::Fail, "not published (HTTP 404"),
        // Redirects: followed on the same host over HTTPS only, and shown in the evidence.
        (
            "moved",
            vec![
                redirect("/adfs/metadata.xml"),
                Route {
                    path: "/adfs/metadata.xml".into(),
                    ..route(200, "text/xml", meta(&[200]))
                },
            ],
            Status::Pass,
            "valid until",
        ),
        (
            "tohttp",
            vec![redirect("http://tohttp.lab.test/x.xml")],
            Status::Fail,
            "which is not HTTPS",
        ),
        (
            "elsewhere",
            vec![redirect("https://evil.example/x.xml")],
            Status::Fail,
            "redirects to another host (https://evil.example/x.xml)",
        ),
        (
            "auth",
            vec![route(401, "text/html", b"login".to_vec())],
            Status::Fail,
            "requires authentication",
        ),
        (
            "broken",
            vec![route(
                200,
                "text/xml",
                b"<EntityDescriptor xmlns=\"urn:oasis".to_vec(),
            )],
            Status::Fail,
            "not well-formed XML",
        ),
        (
            "html",
            vec![route(
                200,
                "text/html",
                b"<html><body>Sign in</body></html>".to_vec(),
            )],
            Status::Fail,
            "not SAML federation metadata (root element <html>",
        ),
    ];
    for (name, routes, want, words) in cases {
        let mode = lab.https(&LeafSpec::good(&format!("{name}.lab.test")), routes);
        let ep = lab.add(name, mode).await;
        let results = lab
            .scan(&format!("adfs = \"{ep}\""), &["tls.federation"], true)
            .await;
        let r = by_subject(&results, "tls.federation", &ep);
        expect(r, want, &[words]);
        assert_eq!(r.responsibility, "enable.directory-sync");
        if name == "moved" {
            assert_eq!(
                r.evidence["redirects"][0],
                format!("https://{ep}/adfs/metadata.xml"),
                "{}",
                r.evidence
            );
        }
    }
    // Behind a certificate the scanner does not trust, the metadata is not reachable for Entra ID.
    let mode = lab.https(&LeafSpec::good("untrusted.lab.test"), vec![]);
    let ep = lab.add("untrusted", mode).await;
    let results = lab
        .scan(&format!("adfs = \"{ep}\""), &["tls.federation"], false)
        .await;
    expect(
        by_subject(&results, "tls.federation", &ep),
        Status::Fail,
        &["HTTPS certificate is not accepted"],
    );
}

#[tokio::test]
async fn endpoint_checks_without_endpoints_say_how_to_enable_them() {
    let lab = TlsLab::new();
    let results = lab.scan("", &["tls.*"], true).await;
    assert_eq!(results.len(), 4);
    for r in &results {
        assert_status(r, Status::Skip);
        assert!(r.message.contains("[endpoints]"), "{}", r.message);
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// Kills the child on drop, so a failing assertion leaves no server behind.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A real OpenSSL server restricted to TLS 1.0 (the LAB.md recipe), against the hand-built
/// ClientHello. `.ci/run` installs openssl; without it the test says so and does nothing.
#[tokio::test]
async fn a_real_openssl_server_speaking_only_tls10_is_detected() {
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: the openssl command is not installed (apt-get install openssl)");
        return;
    }
    let mut lab = TlsLab::new();
    let leaf = lab.pki.leaf(&LeafSpec::good("old.lab.test")).unwrap();
    let cert = lab.dir.path().join("old.pem");
    let key = lab.dir.path().join("old.key");
    let chain: String = leaf.chain.iter().map(|c| pem("CERTIFICATE", c)).collect();
    std::fs::write(&cert, chain).unwrap();
    std::fs::write(&key, pem("PRIVATE KEY", leaf.key.secret_der())).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = Child(
        std::process::Command::new("openssl")
            .args(["s_server", "-accept", &format!("127.0.0.1:{port}"), "-cert"])
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .args(["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0", "-quiet", "-www"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "openssl s_server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Registers the name in the lab DNS; the server itself is openssl's.
    lab.servers.push((
        "old".into(),
        LabServer::start("127.0.0.1:0".parse().unwrap(), Mode::Stall)
            .await
            .unwrap(),
    ));
    let ep = format!("old.lab.test:{port}");
    let results = lab
        .scan(&format!("https = [\"{ep}\"]"), &["tls.protocol"], true)
        .await;
    let r = by_subject(&results, "tls.protocol", &ep);
    expect(
        r,
        Status::Fail,
        &["TLS 1.2 is not accepted", "TLS 1.0 still accepted"],
    );
    assert_eq!(r.evidence["offers"][0]["accepted"], true, "{}", r.evidence);
}

/// The metadata is fetched the way any client on this machine reaches the internet: through its
/// proxy settings (here a proxy that demands authentication), not around them.
#[tokio::test(flavor = "multi_thread")]
async fn federation_metadata_is_fetched_through_the_proxy_settings() {
    use std::sync::Arc;
    let mut lab = TlsLab::new();
    let meta = federation_metadata(
        "http://sts.lab.test/adfs/services/trust",
        &[token_signing_cert("sts.lab.test", 200).unwrap()],
    );
    let mode = lab.https(
        &LeafSpec::good("sts.lab.test"),
        vec![Route {
            path: FEDERATION_PATH.into(),
            status: 200,
            content_type: "text/xml".into(),
            body: meta.into_bytes(),
            location: None,
        }],
    );
    let ep = lab.add("sts", mode).await;
    let proxy = LabServer::start(
        "127.0.0.1:0".parse().unwrap(),
        Mode::PlainHttp {
            status: 407,
            headers: Arc::new(vec![(
                "Proxy-Authenticate".into(),
                "Basic realm=\"gw\"".into(),
            )]),
        },
    )
    .await
    .unwrap();
    let zone = "$TTL 60\n@ IN SOA ns1.lab.test. h.lab.test. 1 3600 600 86400 60\n@ IN NS ns1.lab.test.\nns1 IN A 127.0.0.1\nsts IN A 127.0.0.1\n";
    let dns = server(zones(&[("lab.test", zone)]), Behaviour::default()).await;
    let config = lab.dir.path().join("tenant.toml");
    std::fs::write(
        &config,
        format!("[[domain]]\nname = \"lab.test\"\n\n[endpoints]\nadfs = \"{ep}\"\n"),
    )
    .unwrap();
    let run = |proxy: Option<String>| {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("tenant-ready"));
        cmd.args([
            "scan",
            "--only",
            "tls.federation",
            "--format",
            "json",
            "--no-progress",
        ])
        .arg("--config")
        .arg(&config)
        .arg("--ca-file")
        .arg(lab.ca_file())
        .args(["--nameserver", &dns.addr().to_string()]);
        for k in tenant_ready::secrets::PROXY_VARS {
            cmd.env_remove(k);
        }
        if let Some(p) = proxy {
            cmd.env("HTTPS_PROXY", p);
        }
        let out = cmd.output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        v["results"][0].clone()
    };
    let direct = tokio::task::block_in_place(|| run(None));
    assert_eq!(direct["status"], "pass", "{direct}");
    let proxied = tokio::task::block_in_place(|| run(Some(format!("http://{}", proxy.addr()))));
    assert_ne!(proxied["status"], "pass", "{proxied}");
    let msg = proxied["message"].as_str().unwrap().to_ascii_lowercase();
    assert!(msg.contains("proxy") || msg.contains("tunnel"), "{proxied}");
}
