//! `entra.domain` against a loopback stand-in for Microsoft Entra ID (`lab::entra`): the
//! documented response shapes of OpenID discovery and home realm discovery, from a directory of
//! tenants, and a server that stalls, sends malformed JSON or an error page. The login host is
//! reached as the scanner reaches Microsoft: through the scan resolver and `--ca-file`.

use tenant_ready::lab::Behaviour;
use tenant_ready::lab::entra::{Auth, Directory, EntraStandIn, Misbehave, Tenant};
use tenant_ready::outcome::{CheckResult, Status};

use crate::support::{Scan, assert_status, error_kind, scan, server, zones};

const OURS: &str = "4f1d2b8e-0c4a-4a34-9a55-6c2a7d9e1f10";
const THEIRS: &str = "9b0e7c55-3d8f-4e2a-8c1b-2f4a6d8e0b21";

fn directory(misbehave: Misbehave) -> Directory {
    Directory {
        login_host: "login.microsoftonline.com".into(),
        tenants: vec![
            Tenant {
                id: OURS.into(),
                domains: vec![
                    ("contoso.onmicrosoft.com".into(), Auth::Managed),
                    ("managed.test".into(), Auth::Managed),
                    (
                        "fed-ours.test".into(),
                        Auth::Federated {
                            sts: "sts.contoso.test".into(),
                            brand: "Contoso".into(),
                        },
                    ),
                    (
                        "fed-elsewhere.test".into(),
                        Auth::Federated {
                            sts: "adfs.partner.test".into(),
                            brand: "Partner".into(),
                        },
                    ),
                ],
            },
            Tenant {
                id: THEIRS.into(),
                domains: vec![
                    ("trial.onmicrosoft.com".into(), Auth::Managed),
                    ("theirs.test".into(), Auth::Managed),
                ],
            },
        ],
        misbehave,
    }
}

/// Scans `domains` with only `entra.domain`, the stand-in answering as `dir` says.
async fn entra(
    dir: Directory,
    domains: &[&str],
    tenant: &str,
    endpoints: &str,
) -> Vec<CheckResult> {
    let login = dir.login_host.clone();
    let standin = EntraStandIn::start(dir).await.expect("stand-in on :443");
    let (origin, zone) = standin.zone(&login);
    let dns = server(
        zones(&[(origin.as_str(), zone.as_str())]),
        Behaviour::default(),
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let ca = tmp.path().join("ca.pem");
    std::fs::write(&ca, &standin.ca_pem).unwrap();
    let list: String = domains
        .iter()
        .map(|d| format!("[[domain]]\nname = \"{d}\"\n"))
        .collect();
    let config = format!("[tenant]\n{tenant}\n{list}\n{endpoints}");
    scan(
        dns.addr(),
        Scan {
            config: Some(&config),
            only: &["entra.*"],
            ca_file: Some(&ca),
            ..Scan::default()
        },
    )
    .await
}

fn of<'a>(results: &'a [CheckResult], domain: &str) -> &'a CheckResult {
    results.iter().find(|r| r.subject == domain).unwrap()
}

#[tokio::test]
async fn the_tenant_of_each_domain_and_how_it_signs_in() {
    let results = entra(
        directory(Misbehave::No),
        &[
            "managed.test",
            "theirs.test",
            "nowhere.test",
            "fed-ours.test",
            "fed-elsewhere.test",
        ],
        "initial_domain = \"contoso.onmicrosoft.com\"",
        "[endpoints]\nadfs = \"sts.contoso.test\"\n",
    )
    .await;
    for (domain, status, words) in [
        (
            "managed.test",
            Status::Warn,
            "is managed (cloud authentication), but [endpoints] adfs is sts.contoso.test",
        ),
        (
            "theirs.test",
            Status::Fail,
            "is verified in another tenant (id 9b0e7c55-3d8f-4e2a-8c1b-2f4a6d8e0b21), not in the tenant of contoso.onmicrosoft.com",
        ),
        (
            "nowhere.test",
            Status::Fail,
            "is not added or not verified in any Microsoft Entra ID tenant: add it in the Microsoft 365 admin center",
        ),
        (
            "fed-ours.test",
            Status::Pass,
            "is verified in the tenant of contoso.onmicrosoft.com (id 4f1d2b8e-0c4a-4a34-9a55-6c2a7d9e1f10), federated to sts.contoso.test",
        ),
        (
            "fed-elsewhere.test",
            Status::Warn,
            "is federated to adfs.partner.test, but [endpoints] adfs is sts.contoso.test",
        ),
    ] {
        let r = of(&results, domain);
        assert_status(r, status);
        assert!(r.message.contains(words), "{domain}: {}", r.message);
        assert_eq!(r.responsibility, "enable.dns-records");
    }
    // The evidence carries every answer's relevant fields.
    let e = &of(&results, "fed-ours.test").evidence;
    assert_eq!(e["domain"]["tenant_id"], OURS);
    assert_eq!(e["domain"]["cloud_instance_name"], "microsoftonline.com");
    assert_eq!(e["initial_domain"]["tenant_id"], OURS);
    assert_eq!(e["realm"]["namespace_type"], "Federated");
    assert!(
        e["realm"]["auth_url"]
            .as_str()
            .unwrap()
            .starts_with("https://sts.contoso.test/adfs/ls/"),
        "{e}"
    );
    // What was sent: the domain and the synthetic user, nothing else.
    let realm_url = e["realm"]["url"].as_str().unwrap();
    assert!(
        realm_url
            .ends_with("/getuserrealm.srf?login=tenant-ready-realm-check%40fed-ours.test&json=1"),
        "{realm_url}"
    );
    assert_eq!(
        of(&results, "nowhere.test").evidence["domain"]["error"]
            .as_str()
            .unwrap(),
        "invalid_tenant: AADSTS90002: Tenant 'nowhere.test' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
    );
}

#[tokio::test]
async fn without_initial_domain_the_tenant_is_reported_not_judged() {
    let results = entra(directory(Misbehave::No), &["theirs.test"], "", "").await;
    let r = of(&results, "theirs.test");
    assert_status(r, Status::Pass);
    assert!(
        r.message
            .contains("belongs to tenant 9b0e7c55-3d8f-4e2a-8c1b-2f4a6d8e0b21, managed (set [tenant] initial_domain"),
        "{}",
        r.message
    );
    assert!(r.evidence["initial_domain"].is_null());
}

/// A stalled server, malformed JSON and an error page (a proxy's) end as errors that say so,
/// within the check's timeout, never as a verdict about the domain.
#[tokio::test]
async fn a_misbehaving_login_host_is_an_error_not_a_verdict() {
    for (misbehave, kind, words) in [
        (
            Misbehave::Stall,
            "timeout",
            "no answer within the time limit",
        ),
        (
            Misbehave::MalformedJson,
            "protocol",
            "the body is not the JSON Microsoft Entra ID sends",
        ),
        (
            Misbehave::Status(503),
            "protocol",
            "HTTP 503, and the body is not the JSON",
        ),
    ] {
        let results = entra(
            directory(misbehave),
            &["managed.test"],
            "initial_domain = \"contoso.onmicrosoft.com\"",
            "",
        )
        .await;
        let r = of(&results, "managed.test");
        assert_status(r, Status::Error);
        assert_eq!(error_kind(r), kind, "{misbehave:?}: {}", r.evidence);
        assert!(r.message.contains(words), "{misbehave:?}: {}", r.message);
    }
}
