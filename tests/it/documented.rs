//! A tenant configured exactly as Microsoft documents it today (2026) is READY, and the same tenant
//! with any one record broken is NOT READY, naming that record (issue 10). Real DNS server on
//! loopback; the ready case runs the real binary and checks its exit code.
//!
//! "As documented": MX to `<token>.mail.protection.outlook.com` where the token carries a suffix,
//! SPF with the Exchange Online include, autodiscover, DKIM in the new
//! `*.dkim.mail.microsoft` form with the same suffixed token, DMARC `p=quarantine`, Teams-only with
//! just the federation SRV (Skype for Business Online is retired), and no Intune CNAMEs (optional).

use std::process::Command as StdCommand;

use tenant_ready::cli::FailOn;
use tenant_ready::lab::Behaviour;
use tenant_ready::outcome::{CheckResult, Status};
use tenant_ready::report::{Exit, Summary, exit_code};

use crate::support::{Scan, assert_status, result, scan, scan_zone, server, zones};

const D: &str = "contoso.test";

const CONFIG: &str = r#"
[tenant]
initial_domain = "contoso.onmicrosoft.com"
[[domain]]
name = "contoso.test"
"#;

/// Every record Microsoft documents for Exchange Online, Teams (federation) and domain
/// verification, with today's token and DKIM forms.
fn documented_zone() -> String {
    r#"$TTL 3600
@ IN SOA ns1.contoso.test. hostmaster.contoso.test. 2026112901 3600 600 86400 300
@ IN NS ns1.contoso.test.
ns1 IN A 127.0.0.1
@ IN TXT "MS=ms31415926"
@ IN TXT "v=spf1 include:spf.protection.outlook.com -all"
@ IN MX 0 contoso-test01c.mail.protection.outlook.com.
autodiscover IN CNAME autodiscover.outlook.com.
selector1._domainkey IN CNAME selector1-contoso-test01c._domainkey.contoso.n-v1.dkim.mail.microsoft.
selector2._domainkey IN CNAME selector2-contoso-test01c._domainkey.contoso.n-v1.dkim.mail.microsoft.
_dmarc IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@contoso.test"
_sipfederationtls._tcp IN SRV 100 1 5061 sipfed.online.lync.com.
"#
    .to_owned()
}

fn edit(remove: &str, add: &str) -> String {
    let mut z: String = documented_zone()
        .lines()
        .filter(|l| remove.is_empty() || !l.starts_with(remove))
        .map(|l| format!("{l}\n"))
        .collect();
    z.push_str(add);
    z.push('\n');
    z
}

/// The DNS checks alone: Microsoft Entra ID is not asked (`--skip 'entra.*'`), so a missing
/// verification TXT is judged by DNS (tests/it/entra.rs judges it with Entra ID's answer).
async fn scan_dns(zone: &str, config: &str) -> Vec<CheckResult> {
    let srv = server(zones(&[(D, zone)]), Behaviour::default()).await;
    scan(
        srv.addr(),
        Scan {
            config: Some(config),
            only: &["dns.*"],
            skip: &["entra.*"],
            ..Scan::default()
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_set_up_as_microsoft_documents_it_is_ready() {
    let srv = server(zones(&[(D, &documented_zone())]), Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("tenant.toml");
    std::fs::write(&cfg, CONFIG).unwrap();
    let json = dir.path().join("report.json");
    let addr = srv.addr();
    let out = tokio::task::block_in_place(|| {
        StdCommand::new(assert_cmd::cargo::cargo_bin("tenant-ready"))
            .args(["scan", "--no-progress", "--only", "dns.*", "--config"])
            .arg(&cfg)
            .args(["--nameserver", &addr.to_string()])
            .args(["--authoritative-port", &addr.port().to_string()])
            .arg("--report")
            .arg(format!("json={}", json.display()))
            .output()
            .unwrap()
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("Verdict: READY"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["summary"]["fail"], 0, "{}", report["summary"]);
    assert_eq!(report["summary"]["error"], 0, "{}", report["summary"]);
    // Warnings only, each saying who still needs the missing record.
    let warned: Vec<(&str, &str)> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "warn")
        .map(|r| (r["check"].as_str().unwrap(), r["message"].as_str().unwrap()))
        .collect();
    let ids: Vec<&str> = warned.iter().map(|(c, _)| *c).collect();
    // Only the optional Intune CNAMEs warn: the legacy Teams records (lyncdiscover, sip,
    // _sip._tls) are no longer listed by Microsoft and their absence is no finding.
    assert_eq!(ids, ["dns.intune"], "{warned:#?}");
    for (check, message) in &warned {
        assert!(message.contains("(optional: "), "{check}: {message}");
    }
    // The DKIM targets were checked by shape, and the evidence says so.
    let dkim = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["check"] == "dns.dkim")
        .unwrap();
    assert_eq!(dkim["status"], "pass");
    assert_eq!(dkim["evidence"]["expected"][0]["basis"], "shape");
    assert_eq!(dkim["evidence"]["expected"][0]["level"], "recommended");
    assert!(
        dkim["message"]
            .as_str()
            .unwrap()
            .contains("shape checked, not the exact value"),
        "{dkim}"
    );
}

/// (what is broken, line removed, line added, check that must fail, what its message names)
const BROKEN: &[(&str, &str, &str, &str, &str)] = &[
    (
        "no verification TXT",
        "@ IN TXT \"MS=",
        "",
        "dns.verification",
        "contoso.test has no TXT record matching MS=ms*",
    ),
    (
        "no MX",
        "@ IN MX",
        "",
        "dns.mx",
        "contoso.test has no MX record",
    ),
    (
        "MX elsewhere",
        "@ IN MX",
        "@ IN MX 0 mail.contoso.test.",
        "dns.mx",
        "MX points to mail.contoso.test",
    ),
    (
        "SPF without Exchange Online",
        "@ IN TXT \"v=spf1",
        "@ IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"",
        "dns.spf",
        "does not authorise Exchange Online's sending ranges",
    ),
    (
        "autodiscover on-premises (not hybrid)",
        "autodiscover",
        "autodiscover IN CNAME mail.contoso.test.",
        "dns.autodiscover",
        "autodiscover.contoso.test CNAME is mail.contoso.test",
    ),
    (
        "DKIM to another tenant",
        "selector1._domainkey",
        "selector1._domainkey IN CNAME selector1-contoso-test01c._domainkey.fabrikam.n-v1.dkim.mail.microsoft.",
        "dns.dkim",
        "selector1._domainkey.contoso.test CNAME is selector1-contoso-test01c._domainkey.fabrikam",
    ),
    (
        "DMARC misspelt",
        "_dmarc",
        "_dmarc IN TXT \"v=DMARC1; p=quarantin\"",
        "dns.dmarc",
        "p=quarantin",
    ),
    (
        "federation SRV on the wrong port",
        "_sipfederationtls",
        "_sipfederationtls._tcp IN SRV 100 1 443 sipfed.online.lync.com.",
        "dns.teams-srv",
        "_sipfederationtls._tcp.contoso.test SRV is 100 1 443",
    ),
    (
        "Intune enrollment CNAME to the wrong cloud",
        "",
        "enterpriseenrollment IN CNAME enterpriseenrollment-s.manage.microsoft.us.",
        "dns.intune",
        "enterpriseenrollment.contoso.test CNAME is enterpriseenrollment-s.manage.microsoft.us",
    ),
    (
        "21Vianet msoid CNAME",
        "",
        "msoid IN CNAME clientconfig.partner.microsoftonline-p.net.cn.",
        "dns.msoid",
        "msoid.contoso.test has a CNAME record",
    ),
];

#[tokio::test]
async fn each_broken_record_makes_it_not_ready_and_is_named() {
    let mut problems = Vec::new();
    for (what, remove, add, check, names) in BROKEN {
        let results = scan_dns(&edit(remove, add), CONFIG).await;
        let verdict = exit_code(&Summary::of(&results, FailOn::Fail));
        let r = result(&results, check);
        if verdict != Exit::NotReady || r.status != Status::Fail || !r.message.contains(names) {
            problems.push(format!(
                "{what}: exit {verdict:?}, {check} {} {:?}",
                r.status, r.message
            ));
        }
        // Only the broken record fails.
        for other in results.iter().filter(|o| o.check != *check) {
            if other.status == Status::Fail {
                problems.push(format!(
                    "{what}: {} fails too: {}",
                    other.check, other.message
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn gcc_high_intune_records_as_documented_pass() {
    let zone = "$TTL 3600\n@ IN SOA ns1.agency.test. h.agency.test. 1 3600 600 86400 300\n@ IN NS ns1.agency.test.\nns1 IN A 127.0.0.1\nenterpriseregistration IN CNAME enterpriseregistration.windows.net.\nenterpriseenrollment IN CNAME enterpriseenrollment-s.manage.microsoft.us.\n";
    let cfg = "[tenant]\ncloud = \"gcc-high\"\n[[domain]]\nname = \"agency.test\"\nservices = [\"intune\"]\n";
    let results = scan_zone("agency.test", zone, cfg, &["dns.intune"]).await;
    let r = result(&results, "dns.intune");
    assert_status(r, Status::Pass);
    // The worldwide value is wrong in GCC High, and the fix text names the cloud's values.
    let zone = zone.replace(
        "enterpriseenrollment-s.manage.microsoft.us",
        "enterpriseenrollment-s.manage.microsoft.com",
    );
    let results = scan_zone("agency.test", &zone, cfg, &["dns.intune"]).await;
    let r = result(&results, "dns.intune");
    assert_status(r, Status::Fail);
    let fix = r.remediation.as_deref().unwrap();
    assert!(
        fix.contains("enterpriseregistration.windows.net")
            && fix.contains("enterpriseenrollment-s.manage.microsoft.us")
            && fix.contains("enrollment.manage.microsoft.us")
            && !fix.contains(".manage.microsoft.com"),
        "{fix}"
    );
}

/// The export as Windows PowerShell 5.1 writes it (`ConvertTo-Json > dkim.json`): UTF-16LE with a
/// BOM, CRLF, PowerShell's two-space-after-colon layout.
fn powershell_export(selector_token: &str) -> Vec<u8> {
    let text = format!(
        "[\r\n    {{\r\n        \"Domain\":  \"contoso.test\",\r\n        \"Selector1CNAME\":  \"selector1-{selector_token}._domainkey.contoso.n-v1.dkim.mail.microsoft\",\r\n        \"Selector2CNAME\":  \"selector2-{selector_token}._domainkey.contoso.n-v1.dkim.mail.microsoft\"\r\n    }},\r\n    {{\r\n        \"Domain\":  \"contoso.onmicrosoft.com\",\r\n        \"Selector1CNAME\":  \"\",\r\n        \"Selector2CNAME\":  \"\"\r\n    }}\r\n]\r\n"
    );
    let mut b = vec![0xFF, 0xFE];
    b.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    b
}

#[tokio::test(flavor = "multi_thread")]
async fn exact_dkim_values_from_an_import_are_enforced() {
    let srv = server(zones(&[(D, &documented_zone())]), Behaviour::default()).await;
    let addr = srv.addr();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("tenant.toml");
    std::fs::write(&cfg, format!("# Contoso staging\n{CONFIG}")).unwrap();
    let run = |args: &[&str]| {
        tokio::task::block_in_place(|| {
            StdCommand::new(assert_cmd::cargo::cargo_bin("tenant-ready"))
                .args(args)
                .current_dir(dir.path())
                .output()
                .unwrap()
        })
    };
    let scan_json = || {
        let out = run(&[
            "scan",
            "--only",
            "dns.dkim",
            "--format",
            "json",
            "--nameserver",
            &addr.to_string(),
        ]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code(), v["results"][0].clone())
    };
    // The tenant's real export names another token: the published records are wrong.
    std::fs::write(
        dir.path().join("dkim.json"),
        powershell_export("contoso-test02a"),
    )
    .unwrap();
    let out = run(&["import", "dkim", "dkim.json"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("contoso.test: dkim_selector1 = selector1-contoso-test02a"),
        "{err}"
    );
    assert!(err.contains("not in tenant.toml"), "{err}");
    let written = std::fs::read_to_string(&cfg).unwrap();
    assert!(
        written.starts_with("# Contoso staging\n"),
        "comments kept: {written}"
    );
    let (code, r) = scan_json();
    assert_eq!(code, Some(1), "{r}");
    assert_eq!(r["status"], "fail", "{r}");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("expected exactly selector1-contoso-test02a._domainkey.contoso.n-v1.dkim.mail.microsoft (from tenant.toml [[domain]] dkim_selector1)"),
        "{r}"
    );
    // The export that matches what is published: an exact pass, and the evidence says so.
    std::fs::write(
        dir.path().join("dkim.json"),
        powershell_export("contoso-test01c"),
    )
    .unwrap();
    let out = run(&["import", "dkim", "dkim.json"]);
    assert_eq!(out.status.code(), Some(0));
    let (code, r) = scan_json();
    assert_eq!(code, Some(0), "{r}");
    assert_eq!(r["evidence"]["expected"][0]["basis"], "exact", "{r}");
    assert!(
        !r["message"].as_str().unwrap().contains("shape checked"),
        "{r}"
    );
    // The same export read by the scan itself ([tenant] dkim_file), without importing.
    std::fs::write(
        &cfg,
        "[tenant]\ninitial_domain = \"contoso.onmicrosoft.com\"\ndkim_file = \"dkim.json\"\n[[domain]]\nname = \"contoso.test\"\n",
    )
    .unwrap();
    let (code, r) = scan_json();
    assert_eq!(code, Some(0), "{r}");
    assert_eq!(r["evidence"]["expected"][1]["basis"], "exact", "{r}");
    assert!(
        r["evidence"]["expected"][1]["from"]
            .as_str()
            .unwrap()
            .ends_with("dkim.json (Get-DkimSigningConfig)"),
        "{r}"
    );
    // A broken export is one line naming the file, exit 2.
    std::fs::write(dir.path().join("dkim.json"), "[{\"Domain\": 5}]").unwrap();
    let out = run(&[
        "scan",
        "--only",
        "dns.dkim",
        "--nameserver",
        &addr.to_string(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("tenant.dkim_file:") && err.contains("dkim.json: entry 1"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
