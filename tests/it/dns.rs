//! The DNS checks against a real DNS server on loopback: a ready domain, and every broken variant
//! a customer meets, each asserting the status and what the message tells the customer.

use tenant_ready::lab::{Behaviour, DnsServer, Lab};
use tenant_ready::outcome::{CheckResult, Status};

use crate::support::{Scan, assert_status, ready_zone, result, scan, scan_zone, server, zones};

const D: &str = "contoso.test";
const CONFIG: &str = r#"
[tenant]
initial_domain = "contoso.onmicrosoft.com"
[[domain]]
name = "contoso.test"
"#;

/// Scans `contoso.test` served from `zone` and returns the result of `check`.
async fn check_with(zone: &str, config: &str, check: &str) -> CheckResult {
    let results = scan_zone(D, zone, config, &[check]).await;
    result(&results, check).clone()
}

fn edit(remove: &[&str], add: &[&str]) -> String {
    let mut z: String = ready_zone(D)
        .lines()
        .filter(|l| !remove.iter().any(|r| l.starts_with(r)))
        .map(|l| format!("{l}\n"))
        .collect();
    for a in add {
        z.push_str(a);
        z.push('\n');
    }
    z
}

#[tokio::test]
async fn a_ready_domain_passes_every_check() {
    let srv = server(zones(&[(D, &ready_zone(D))]), Behaviour::default()).await;
    let results = scan(
        srv.addr(),
        Scan {
            config: Some(CONFIG),
            only: &["dns.*"],
            ..Scan::default()
        },
    )
    .await;
    assert_eq!(results.len(), 11, "one result per DNS check");
    for r in &results {
        assert_status(r, Status::Pass);
        assert_eq!(r.subject, D);
        assert!(r.remediation.is_none(), "a pass carries no remediation");
    }
    // Evidence is the raw answer, e.g. the MX lookup with its TTL.
    let mx = result(&results, "dns.mx");
    assert_eq!(mx.evidence["lookup"]["answer"]["rcode"], "noerror");
    assert_eq!(mx.evidence["lookup"]["answer"]["ttl_s"], 3600);
}

/// (check, lines removed from the ready zone, lines added, expected status, message fragment)
type Variant = (
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    Status,
    &'static str,
);

/// The ranges of the lab's `spf.protection.outlook.com` (and its `spfd` include) copied in, as
/// flattening services write them.
const FLATTENED: &str = "@ IN TXT \"v=spf1 ip4:192.0.2.0/24 ip4:40.92.0.0/15 ip4:40.107.0.0/16 ip4:52.100.0.0/15 ip4:52.102.0.0/16 ip4:52.103.0.0/16 ip4:104.47.0.0/17 ip6:2a01:111:f400::/48 ip6:2a01:111:f403::/48 \" \"ip4:51.4.72.0/24 ip4:51.5.72.0/24 ip4:51.5.80.0/27 ip4:51.4.80.0/27 ip6:2a01:4180:4051:800::/64 ip6:2a01:4180:4050:800::/64 ip6:2a01:4180:4051:400::/64 ip6:2a01:4180:4050:400::/64 -all\"";

const VARIANTS: &[Variant] = &[
    // A missing verification TXT is judged with Microsoft's word on the domain:
    // `verification_record_removed_after_verification` below.
    (
        "dns.verification",
        &["@ IN TXT \"MS="],
        &["@ IN MX 32767 ms12345678.msv1.invalid."],
        Status::Pass,
        "MX fallback record",
    ),
    (
        "dns.mx",
        &["@ IN MX"],
        &[],
        Status::Fail,
        "has no MX record",
    ),
    (
        "dns.mx",
        &["@ IN MX"],
        &["@ IN MX 10 mail.contoso.test."],
        Status::Fail,
        "not to Exchange Online",
    ),
    (
        "dns.mx",
        &[],
        &["@ IN MX 10 backup.contoso.test."],
        Status::Fail,
        "competing MX",
    ),
    (
        "dns.mx",
        &["@ IN MX"],
        &[
            "@ IN MX 20 contoso-test.mail.protection.outlook.com.",
            "@ IN MX 5 mx.other.test.",
        ],
        Status::Fail,
        "mail goes first to mx.other.test",
    ),
    (
        "dns.mx",
        &["@ IN MX"],
        &["@ 86400 IN MX 0 contoso-test.mail.protection.outlook.com."],
        Status::Warn,
        "TTL is 86400",
    ),
    (
        "dns.mx",
        &["@ IN MX"],
        &["@ IN MX 0 contoso-test.r-v1.mx.microsoft."],
        Status::Pass,
        "Exchange Online",
    ),
    (
        "dns.spf",
        &["@ IN TXT \"v=spf1"],
        &[],
        Status::Fail,
        "no SPF record",
    ),
    (
        "dns.spf",
        &[],
        &["@ IN TXT \"v=spf1 -all\""],
        Status::Fail,
        "2 SPF records",
    ),
    (
        "dns.spf",
        &["@ IN TXT \"v=spf1"],
        &["@ IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\""],
        Status::Fail,
        "does not authorise Exchange Online's sending ranges (40.92.0.0/15: 40.92.0.0 gets fail, 40.107.0.0/16: 40.107.0.0 gets fail, 51.4.72.0/24: 51.4.72.0 gets fail, and 13 more)",
    ),
    // Judged by what the record authorises (issue 24): Microsoft's ranges copied in pass…
    (
        "dns.spf",
        &["@ IN TXT \"v=spf1"],
        &[FLATTENED],
        Status::Pass,
        "is flattened: without include:spf.protection.outlook.com it still authorises Exchange Online's sending ranges (the 16 of spf.protection.outlook.com",
    ),
    // …half of a range does not…
    (
        "dns.spf",
        &["@ IN TXT \"v=spf1"],
        &["@ IN TXT \"v=spf1 ip4:40.92.0.0/16 -all\""],
        Status::Fail,
        "40.92.0.0/15: 40.93.255.255 gets fail",
    ),
    // …and neither does an include a receiver never reaches.
    (
        "dns.spf",
        &["@ IN TXT \"v=spf1"],
        &["@ IN TXT \"v=spf1 ?ip4:40.92.0.0/15 include:spf.protection.outlook.com -all\""],
        Status::Fail,
        "40.92.0.0/15: 40.92.0.0 gets neutral",
    ),
    (
        "dns.spf",
        &["@ IN TXT \"v=spf1"],
        &["@ IN TXT \"v=spf1 include:spf.protection.outlook.com +all\""],
        Status::Fail,
        "+all",
    ),
    (
        "dns.spf",
        &["@ IN TXT \"v=spf1"],
        &["@ IN TXT \"v=spf1 include:spf.protection.outlook.com ?all\""],
        Status::Warn,
        "?all",
    ),
    (
        "dns.spf",
        &["@ IN TXT \"v=spf1"],
        &["@ IN TXT \"v=spf1 include:spf.protection.outlook.com\""],
        Status::Warn,
        "no all term",
    ),
    (
        "dns.spf",
        &["@ IN TXT \"v=spf1"],
        &["@ IN TXT \"v=spf1 include:spf.protection.outlook.com ptr -all\""],
        Status::Warn,
        "ptr",
    ),
    (
        "dns.spf",
        &["@ IN TXT \"v=spf1"],
        &[
            "@ IN TXT \"v=spf1 include:spf.protection.outlook.com include:nothere.contoso.test -all\"",
        ],
        Status::Fail,
        "include:nothere.contoso.test has no SPF record",
    ),
    (
        "dns.spf",
        &["@ IN TXT \"v=spf1"],
        &[
            "@ IN TXT \"v=spf1 include:spf.protection.outlook.com include:_a.contoso.test -all\"",
            "_a IN TXT \"v=spf1 include:_b.contoso.test -all\"",
            "_b IN TXT \"v=spf1 include:_a.contoso.test -all\"",
        ],
        Status::Fail,
        "include loop",
    ),
    (
        "dns.spf",
        &["@ IN TXT \"v=spf1"],
        &[
            "@ IN TXT \"v=spf1 include:spf.protection.outlook.com a:x1.contoso.test a:x2.contoso.test a:x3.contoso.test -all\"",
        ],
        Status::Fail,
        "more than 2 void lookups",
    ),
    (
        "dns.spf",
        &["@ IN TXT \"v=spf1"],
        &[
            "@ IN TXT \"v=spf1 include:spf.protection.outlook.com a:x1.contoso.test a:x2.contoso.test -all\"",
        ],
        Status::Pass,
        "2/2 void",
    ),
    (
        "dns.spf",
        &["@ IN TXT \"v=spf1"],
        &[
            "@ IN TXT \"v=spf1 redirect=_spf.contoso.test\"",
            "_spf IN TXT \"v=spf1 include:spf.protection.outlook.com -all\"",
        ],
        Status::Pass,
        // redirect=, the include, and the spfd include Microsoft's record names.
        "3/10 DNS lookups",
    ),
    (
        "dns.spf",
        &["@ IN TXT \"v=spf1"],
        &["@ IN TXT \"v=spf1 include:spf.protection.outlook.com ip4:999.1.1.1 -all\""],
        Status::Fail,
        "not a valid address",
    ),
    (
        "dns.autodiscover",
        &["autodiscover"],
        &[],
        Status::Fail,
        "has no CNAME record",
    ),
    (
        "dns.autodiscover",
        &["autodiscover"],
        &["autodiscover IN CNAME mail.contoso.test."],
        Status::Fail,
        "expected autodiscover.outlook.com",
    ),
    (
        "dns.autodiscover",
        &["autodiscover"],
        &["autodiscover IN A 192.0.2.1"],
        Status::Fail,
        "exists without this record type",
    ),
    // DKIM is recommended: a missing selector warns, saying why it matters.
    (
        "dns.dkim",
        &["selector2"],
        &[],
        Status::Warn,
        "selector2._domainkey.contoso.test has no CNAME record (the name does not exist) (recommended: the Defender portal",
    ),
    // The MX token can carry a suffix; the shape is checked and the message says so.
    (
        "dns.dkim",
        &["selector1", "selector2"],
        &[
            "selector1._domainkey IN CNAME selector1-contoso-test01c._domainkey.contoso.n-v1.dkim.mail.microsoft.",
            "selector2._domainkey IN CNAME selector2-contoso-test01c._domainkey.contoso.n-v1.dkim.mail.microsoft.",
        ],
        Status::Pass,
        "shape checked, not the exact value: for an exact check set [[domain]] dkim_selector1",
    ),
    (
        "dns.dkim",
        &["selector1", "selector2"],
        &[
            "selector1._domainkey IN CNAME selector1-contoso-test01c._domainkey.contoso.onmicrosoft.com.",
            "selector2._domainkey IN CNAME selector2-contoso-test01c._domainkey.contoso.onmicrosoft.com.",
        ],
        Status::Pass,
        "selector1-contoso-test01c._domainkey.contoso.onmicrosoft.com",
    ),
    // Two labels where the token is one, and a selector swapped: published but wrong, so fail.
    (
        "dns.dkim",
        &["selector1"],
        &[
            "selector1._domainkey IN CNAME selector1-contoso.test._domainkey.contoso.onmicrosoft.com.",
        ],
        Status::Fail,
        "selector1._domainkey.contoso.test CNAME is",
    ),
    (
        "dns.dkim",
        &["selector2"],
        &[
            "selector2._domainkey IN CNAME selector1-contoso-test._domainkey.contoso.onmicrosoft.com.",
        ],
        Status::Fail,
        "selector2._domainkey.contoso.test CNAME is",
    ),
    (
        "dns.dkim",
        &["selector1"],
        &[
            "selector1._domainkey IN CNAME selector1-contoso-test._domainkey.fabrikam.onmicrosoft.com.",
        ],
        Status::Fail,
        "selector1._domainkey.contoso.test CNAME is",
    ),
    (
        "dns.dkim",
        &["selector1", "selector2"],
        &[
            "selector1._domainkey IN CNAME selector1-contoso-test._domainkey.contoso.n-v1.dkim.mail.microsoft.",
            "selector2._domainkey IN CNAME selector2-contoso-test._domainkey.contoso.n-v1.dkim.mail.microsoft.",
        ],
        Status::Pass,
        "dkim.mail.microsoft",
    ),
    // DMARC is recommended: missing warns; a malformed record fails.
    (
        "dns.dmarc",
        &["_dmarc"],
        &[],
        Status::Warn,
        "no DMARC record at _dmarc.contoso.test",
    ),
    (
        "dns.dmarc",
        &["_dmarc"],
        &["_dmarc IN TXT \"v=dmarc1; p=reject\""],
        Status::Fail,
        "none is a DMARC record",
    ),
    // No p= but a valid rua=: receivers act as if p=none (RFC 7489 §6.6.3).
    (
        "dns.dmarc",
        &["_dmarc"],
        &["_dmarc IN TXT \"v=DMARC1; rua=mailto:dmarc@contoso.test\""],
        Status::Warn,
        "act as if p=none",
    ),
    (
        "dns.dmarc",
        &["_dmarc"],
        &["_dmarc IN TXT \"v=DMARC1; p=none\""],
        Status::Warn,
        "p=none",
    ),
    (
        "dns.dmarc",
        &["_dmarc"],
        &["_dmarc IN TXT \"v=DMARC1; p=quarantine; pct=20\""],
        Status::Warn,
        "pct=20",
    ),
    (
        "dns.dmarc",
        &[],
        &["_dmarc IN TXT \"v=DMARC1; p=none\""],
        Status::Fail,
        "2 DMARC records",
    ),
    // Skype for Business Online is retired: lyncdiscover is optional, sip no longer listed.
    (
        "dns.teams-sip",
        &["lyncdiscover"],
        &[],
        Status::Pass,
        "lyncdiscover.contoso.test not published (optional: Microsoft's external DNS page no longer lists it for Teams)",
    ),
    (
        "dns.teams-sip",
        &["sip IN"],
        &[],
        Status::Pass,
        "sip.contoso.test not published (optional: Microsoft no longer lists this record)",
    ),
    (
        "dns.teams-sip",
        &["sip IN"],
        &["sip IN CNAME sip.oldpbx.contoso.test."],
        Status::Fail,
        "sip.contoso.test CNAME is sip.oldpbx.contoso.test, expected sipdir.online.lync.com",
    ),
    (
        "dns.teams-sip",
        &["lyncdiscover"],
        &["lyncdiscover IN CNAME lync.contoso.test."],
        Status::Fail,
        "lyncdiscover.contoso.test CNAME is lync.contoso.test",
    ),
    (
        "dns.teams-srv",
        &["_sipfederationtls"],
        &["_sipfederationtls._tcp IN SRV 100 1 5060 sipfed.online.lync.com."],
        Status::Fail,
        "100 1 5060",
    ),
    // Microsoft's current external DNS page lists only _sipfederationtls._tcp for Teams: the
    // legacy records missing is no finding (issue 24); published and wrong still fails.
    (
        "dns.teams-srv",
        &["_sip._tls"],
        &[],
        Status::Pass,
        "_sip._tls.contoso.test not published (optional: only Teams-only tenants",
    ),
    (
        "dns.teams-srv",
        &["_sip._tls"],
        &["_sip._tls IN SRV 100 1 443 sip.contoso.test."],
        Status::Fail,
        "_sip._tls.contoso.test SRV is 100 1 443 sip.contoso.test",
    ),
    // Only the port and the target route: Microsoft's own 21Vianet instructions use 99 1 5061.
    (
        "dns.teams-srv",
        &["_sipfederationtls"],
        &["_sipfederationtls._tcp IN SRV 99 1 5061 sipfed.online.lync.com."],
        Status::Pass,
        "99 1 5061 sipfed.online.lync.com",
    ),
    (
        "dns.teams-srv",
        &["_sipfederationtls"],
        &["_sipfederationtls._tcp IN SRV 100 1 5062 sipfed.online.lync.com."],
        Status::Fail,
        "_sipfederationtls._tcp.contoso.test SRV is 100 1 5062",
    ),
    (
        "dns.teams-srv",
        &["_sipfederationtls"],
        &[],
        Status::Warn,
        "(recommended: federation (chat and calls with other organisations'",
    ),
    (
        "dns.teams-srv",
        &["_sip._tls"],
        &["_sip._tls IN SRV 100 1 443 sip.online.lync.com."],
        Status::Pass,
        "100 1 443 sip.online.lync.com",
    ),
    // Both work but make users confirm a message (Enable auto-discovery of Intune enrollment
    // server): a warning, never a failure.
    (
        "dns.intune",
        &["enterpriseenrollment"],
        &["enterpriseenrollment IN CNAME enterpriseenrollment.manage.microsoft.com."],
        Status::Warn,
        "enterpriseenrollment.contoso.test → enterpriseenrollment.manage.microsoft.com works, but users must acknowledge a confirmation message when they enroll; Microsoft recommends enterpriseenrollment-s.manage.microsoft.com",
    ),
    (
        "dns.intune",
        &["enterpriseenrollment"],
        &["enterpriseenrollment IN CNAME manage.microsoft.com."],
        Status::Warn,
        "enterpriseenrollment.contoso.test → manage.microsoft.com works, but users must acknowledge",
    ),
    // Intune CNAMEs are optional: missing warns, wrong fails.
    (
        "dns.intune",
        &["enterpriseregistration"],
        &[],
        Status::Warn,
        "enterpriseregistration.contoso.test has no CNAME record (the name does not exist) (optional:",
    ),
    (
        "dns.intune",
        &["enterpriseenrollment"],
        &[],
        Status::Warn,
        "without it users type the MDM server name enrollment.manage.microsoft.com by hand",
    ),
    (
        "dns.intune",
        &["enterpriseenrollment"],
        &["enterpriseenrollment IN CNAME enterpriseenrollment-s.manage.microsoft.us."],
        Status::Fail,
        "enterpriseenrollment.contoso.test CNAME is enterpriseenrollment-s.manage.microsoft.us",
    ),
    // The MX token can carry a suffix too; the mx.microsoft form needs its partition label.
    (
        "dns.mx",
        &["@ IN MX"],
        &["@ IN MX 0 contoso-test01c.mail.protection.outlook.com."],
        Status::Pass,
        "shape checked, not the exact value: for an exact check set [[domain]] mx",
    ),
    (
        "dns.mx",
        &["@ IN MX"],
        &["@ IN MX 0 contoso-test.mx.microsoft."],
        Status::Fail,
        "not to Exchange Online",
    ),
    (
        "dns.msoid",
        &[],
        &["msoid IN CNAME clientconfig.partner.microsoftonline-p.net.cn."],
        Status::Fail,
        "must be removed",
    ),
];

#[tokio::test]
async fn every_broken_variant_gets_the_right_status_and_message() {
    let mut failures = Vec::new();
    for (check, remove, add, want, fragment) in VARIANTS {
        let zone = edit(remove, add);
        let r = check_with(&zone, CONFIG, check).await;
        if r.status != *want || !r.message.contains(fragment) {
            failures.push(format!(
                "{check} -{remove:?} +{add:?}: want {want} containing {fragment:?}, got {} {:?}",
                r.status, r.message
            ));
        }
        if r.status != Status::Pass && r.remediation.is_none() {
            failures.push(format!(
                "{check}: a {} result must carry remediation",
                r.status
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn exact_values_from_tenant_toml_are_enforced() {
    let cfg = r#"
[tenant]
initial_domain = "contoso.onmicrosoft.com"
[[domain]]
name = "contoso.test"
verification = "MS=ms99999999"
mx = "contoso-test01b.mail.protection.outlook.com"
"#;
    let zone = ready_zone(D);
    // Entra ID not asked (--skip entra.domain): the missing exact value is judged alone.
    let srv = server(zones(&[(D, &zone)]), Behaviour::default()).await;
    let results = scan(
        srv.addr(),
        Scan {
            config: Some(cfg),
            only: &["dns.verification"],
            skip: &["entra.*"],
            ..Scan::default()
        },
    )
    .await;
    let v = result(&results, "dns.verification");
    assert_status(v, Status::Fail);
    assert!(v.message.contains("exactly MS=ms99999999"), "{}", v.message);
    assert!(
        v.message.contains("was not asked: entra.domain is skipped"),
        "{}",
        v.message
    );
    let mx = check_with(&zone, cfg, "dns.mx").await;
    assert_status(&mx, Status::Fail);
}

#[tokio::test]
async fn without_the_initial_domain_dkim_passes_but_says_the_tenant_was_not_verified() {
    let cfg = "[[domain]]\nname = \"contoso.test\"\n";
    let r = check_with(&ready_zone(D), cfg, "dns.dkim").await;
    assert_status(&r, Status::Pass);
    assert!(r.message.contains("initial_domain"), "{}", r.message);
}

#[tokio::test]
async fn hybrid_accepts_on_premises_mx_and_autodiscover() {
    let cfg = "[[domain]]\nname = \"contoso.test\"\nhybrid = true\n";
    let zone = edit(
        &["@ IN MX", "autodiscover"],
        &[
            "@ IN MX 10 mail.contoso.test.",
            "autodiscover IN CNAME mail.contoso.test.",
        ],
    );
    assert_status(&check_with(&zone, cfg, "dns.mx").await, Status::Pass);
    assert_status(
        &check_with(&zone, cfg, "dns.autodiscover").await,
        Status::Pass,
    );
}

#[tokio::test]
async fn services_and_cloud_decide_applicability() {
    let cfg = "[tenant]\ncloud = \"china\"\n[[domain]]\nname = \"contoso.test\"\nservices = [\"exchange\"]\n";
    let srv = server(zones(&[(D, &ready_zone(D))]), Behaviour::default()).await;
    let results = scan(
        srv.addr(),
        Scan {
            config: Some(cfg),
            ..Scan::default()
        },
    )
    .await;
    for id in ["dns.teams-sip", "dns.teams-srv", "dns.intune"] {
        let r = result(&results, id);
        assert_status(r, Status::Skip);
        assert!(r.message.starts_with("not applicable"), "{}", r.message);
    }
    // 21Vianet requires the msoid CNAME (it was skipped there before issue 24).
    let msoid = result(&results, "dns.msoid");
    assert_status(msoid, Status::Fail);
    assert!(
        msoid
            .message
            .contains("msoid.contoso.test has no CNAME record"),
        "{}",
        msoid.message
    );
    // China's MX and SPF values differ: the worldwide records are wrong there.
    assert_status(result(&results, "dns.mx"), Status::Fail);
    assert!(
        result(&results, "dns.spf")
            .message
            .contains("spf.protection.partner.outlook.cn")
    );
}

#[tokio::test]
async fn idn_domains_are_scanned_in_punycode() {
    let name = "xn--bcher-kva.test";
    // Only the MX: a dashed token of a punycode name is not valid IDNA, so the full ready zone
    // cannot be written for it.
    let zone = "$TTL 3600\n@ IN SOA ns1 h 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 127.0.0.1\n@ IN MX 0 buecher-test.mail.protection.outlook.com.\n";
    let srv = server(zones(&[(name, zone)]), Behaviour::default()).await;
    let results = scan(
        srv.addr(),
        Scan {
            domains: &["BÜCHER.test."],
            only: &["dns.mx"],
            ..Scan::default()
        },
    )
    .await;
    let r = result(&results, "dns.mx");
    assert_eq!(r.subject, name);
    assert_status(r, Status::Pass);
}

/// Serves `primary` on 127.0.0.1 and `secondary` (with `behaviour`) on 127.0.0.2, same port, and
/// returns the `dns.ns-consistency` result for contoso.test.
async fn ns_check(
    primary: &str,
    secondary: &str,
    behaviour: Behaviour,
    timeout: &str,
) -> CheckResult {
    let z = |text: &str| zones(&[(D, text)]);
    let a = server(z(primary), Behaviour::default()).await;
    let _b = DnsServer::start(
        format!("127.0.0.2:{}", a.addr().port()).parse().unwrap(),
        z(secondary),
        behaviour,
    )
    .await
    .expect("bind 127.0.0.2");
    let results = scan(
        a.addr(),
        Scan {
            config: Some(CONFIG),
            only: &["dns.ns-consistency"],
            timeout,
            ..Scan::default()
        },
    )
    .await;
    result(&results, "dns.ns-consistency").clone()
}

fn two_ns(zone: &str) -> String {
    zone.replace(
        "@ IN NS ns1.contoso.test.",
        "@ IN NS ns1.contoso.test.\n@ IN NS ns2.contoso.test.\nns2 IN A 127.0.0.2",
    )
}

#[tokio::test]
async fn ns_consistency_compares_every_authoritative_server() {
    let good = two_ns(&ready_zone(D));
    let r = &ns_check(&good, &good, Behaviour::default(), "2s").await;
    assert_status(r, Status::Pass);
    assert_eq!(r.evidence["servers"].as_array().unwrap().len(), 2);

    // A secondary that missed the last change.
    let stale = good.replace("2026112401", "2026112300").replace(
        "_dmarc IN TXT \"v=DMARC1; p=reject\"",
        "_dmarc IN TXT \"v=DMARC1; p=none\"",
    );
    let r = &ns_check(&good, &stale, Behaviour::default(), "2s").await;
    assert_status(r, Status::Fail);
    assert!(r.message.contains("SOA serials differ"), "{}", r.message);
    assert!(
        r.message.contains("_dmarc.contoso.test TXT"),
        "{}",
        r.message
    );

    // A lame secondary (answers without authority) and a dead one.
    let lame = Behaviour {
        not_authoritative: true,
        ..Behaviour::default()
    };
    let r = &ns_check(&good, &good, lame, "2s").await;
    assert_status(r, Status::Fail);
    assert!(r.message.contains("lame delegation"), "{}", r.message);

    let dead = Behaviour {
        silent: true,
        ..Behaviour::default()
    };
    let r = &ns_check(&good, &good, dead, "3s").await;
    assert_status(r, Status::Fail);
    assert!(
        r.message
            .contains("ns2.contoso.test (127.0.0.2) did not answer"),
        "{}",
        r.message
    );
}

#[tokio::test]
async fn the_lab_tenant_has_its_documented_verdicts() {
    let lab = Lab::start().await.expect("lab");
    // The Microsoft Entra ID stand-in's CA, as the demo passes it with --ca-file.
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("entra-ca.pem");
    std::fs::write(&ca, &lab.entra.ca_pem).unwrap();
    let results = scan(
        lab.primary.addr(),
        Scan {
            config: Some(tenant_ready::lab::TENANT_TOML),
            ca_file: Some(&ca),
            ..Scan::default()
        },
    )
    .await;
    let of = |d: &str| {
        results
            .iter()
            .filter(|r| r.subject == d)
            .map(|r| r.status)
            .collect::<Vec<_>>()
    };
    // Ready as documented today: Microsoft Entra ID says contoso.test is federated to an STS
    // this config (no [endpoints]) does not list; the legacy Teams records it does not publish
    // are no finding.
    let contoso: Vec<&CheckResult> = results
        .iter()
        .filter(|r| r.subject == "contoso.test")
        .collect();
    for r in &contoso {
        let want = if matches!(r.check.as_str(), "entra.domain") {
            Status::Warn
        } else {
            Status::Pass
        };
        assert_status(r, want);
    }
    let entra = |d: &str| {
        results
            .iter()
            .find(|r| r.check == "entra.domain" && r.subject == d)
            .unwrap()
    };
    assert!(
        entra("contoso.test")
            .message
            .contains("federated to sts.contoso.test, which tenant.toml does not list")
    );
    assert_status(entra("fabrikam.test"), Status::Fail);
    assert!(
        entra("fabrikam.test")
            .message
            .contains("verified in another tenant (id 9b0e7c55")
    );
    assert_status(entra("northwind.test"), Status::Fail);
    assert!(
        entra("northwind.test")
            .message
            .contains("not added or not verified in any")
    );
    assert_status(entra("tailspin.test"), Status::Warn);
    assert!(
        result(&results, "dns.dkim").evidence["expected"][0]["basis"] == "exact",
        "the lab's DKIM values are exact"
    );
    assert!(of("fabrikam.test").contains(&Status::Fail));
    assert!(of("northwind.test").contains(&Status::Fail));
    assert!(!of("tailspin.test").contains(&Status::Fail));
    assert!(of("tailspin.test").contains(&Status::Warn));
}

/// A zone listing 40 NS hosts with 4 addresses each: the probe asks a bounded number of servers
/// and says so, instead of sending ~10 queries to each of the 160 addresses at once.
#[tokio::test]
async fn ns_consistency_caps_the_servers_it_asks() {
    use tenant_ready::probe::dns_ns_consistency::{MAX_ADDRESSES_PER_HOST, MAX_SERVERS};
    let mut zone = ready_zone(D);
    for i in 2..=41 {
        zone.push_str(&format!("@ IN NS ns{i}.contoso.test.\n"));
        for j in 1..=4 {
            // Loopback addresses nobody listens on: each query is refused at once.
            zone.push_str(&format!("ns{i} IN A 127.0.{i}.{j}\n"));
        }
    }
    let srv = server(zones(&[(D, &zone)]), Behaviour::default()).await;
    let results = scan(
        srv.addr(),
        Scan {
            config: Some(CONFIG),
            only: &["dns.ns-consistency"],
            ..Scan::default()
        },
    )
    .await;
    let r = result(&results, "dns.ns-consistency");
    let servers = r.evidence["servers"].as_array().unwrap();
    assert_eq!(servers.len(), MAX_SERVERS, "{}", r.evidence);
    let capped = r.evidence["capped"].as_str().unwrap();
    assert!(
        capped.starts_with(&format!("asked {MAX_SERVERS} of "))
            && capped.contains("of 41 NS hosts"),
        "{capped}"
    );
    // No NS host got more than its share.
    for host in servers.iter().map(|s| s["ns"].as_str().unwrap()) {
        let n = servers.iter().filter(|s| s["ns"] == host).count();
        assert!(n <= MAX_ADDRESSES_PER_HOST, "{host}: {n}");
    }
}

/// A third-party mail gateway declared in tenant.toml (`[[domain]] mx_gateway`) in front of
/// Exchange Online passes with Microsoft's advice for that topology; undeclared, it fails and the
/// remediation says how to declare it; `hybrid` keeps its meaning (issue 24).
#[tokio::test]
async fn a_declared_mail_gateway_in_front_of_exchange_online_passes() {
    let zone = edit(
        &["@ IN MX"],
        &[
            "@ IN MX 10 us-smtp-inbound-1.mimecast.com.",
            "@ IN MX 10 us-smtp-inbound-2.mimecast.com.",
        ],
    );
    let declared = format!("{CONFIG}mx_gateway = [\"*.mimecast.com\"]\n");
    let r = check_with(&zone, &declared, "dns.mx").await;
    assert_status(&r, Status::Pass);
    for words in [
        "mail reaches Exchange Online through the declared gateway us-smtp-inbound-1.mimecast.com (preference 10, Mimecast)",
        "Enhanced Filtering for Connectors",
        "learn.microsoft.com/exchange/mail-flow-best-practices/manage-mail-flow-using-third-party-cloud",
    ] {
        assert!(r.message.contains(words), "{}", r.message);
    }
    let r = check_with(&zone, CONFIG, "dns.mx").await;
    assert_status(&r, Status::Fail);
    assert!(
        r.message.contains("(us-smtp-inbound-1.mimecast.com is Mimecast's: if this is your mail gateway in front of Exchange Online, declare it in tenant.toml with [[domain]] mx_gateway)"),
        "{}",
        r.message
    );
    assert!(
        r.remediation.as_deref().unwrap().contains("mx_gateway"),
        "{:?}",
        r.remediation
    );
    // A host of another gateway than the declared one still fails.
    let other = edit(&["@ IN MX"], &["@ IN MX 10 mx0a-001.pphosted.com."]);
    let r = check_with(&other, &declared, "dns.mx").await;
    assert_status(&r, Status::Fail);
    assert!(r.message.contains("is Proofpoint's"), "{}", r.message);
}

/// During the move to the DNSSEC-capable `mx.microsoft` host Microsoft's SMTP DANE steps publish
/// the old and the new host side by side: with an exact `mx`, the other host of the same MX token
/// is not a competing MX (issue 24).
#[tokio::test]
async fn the_dane_migration_pair_passes_with_a_note() {
    let zone = edit(
        &["@ IN MX"],
        &[
            "@ IN MX 0 contoso-test01c.mail.protection.outlook.com.",
            "@ IN MX 20 contoso-test01c.n-v1.mx.microsoft.",
        ],
    );
    for exact in [
        "contoso-test01c.n-v1.mx.microsoft",
        "contoso-test01c.mail.protection.outlook.com",
    ] {
        let cfg = format!("{CONFIG}mx = \"{exact}\"\n");
        let r = check_with(&zone, &cfg, "dns.mx").await;
        assert_status(&r, Status::Pass);
        assert!(
            r.message
                .contains("this domain's other Exchange Online host (same MX token"),
            "{exact}: {}",
            r.message
        );
    }
    // Another token beside the tenant's host is not a migration.
    let zone = edit(
        &["@ IN MX"],
        &[
            "@ IN MX 0 contoso-test01c.mail.protection.outlook.com.",
            "@ IN MX 20 fabrikam-test.n-v1.mx.microsoft.",
        ],
    );
    let cfg = format!("{CONFIG}mx = \"contoso-test01c.mail.protection.outlook.com\"\n");
    let r = check_with(&zone, &cfg, "dns.mx").await;
    assert_status(&r, Status::Fail);
    assert!(
        r.message.contains("but this tenant's host is"),
        "{}",
        r.message
    );
}

/// Office 365 operated by 21Vianet requires the msoid CNAME (issue 24): published, it passes;
/// pointing elsewhere, it fails.
#[tokio::test]
async fn msoid_is_required_for_21vianet() {
    let cfg = "[tenant]\ncloud = \"china\"\n[[domain]]\nname = \"contoso.test\"\n";
    let zone = edit(
        &[],
        &["msoid IN CNAME clientconfig.partner.microsoftonline-p.net.cn."],
    );
    assert_status(&check_with(&zone, cfg, "dns.msoid").await, Status::Pass);
    let zone = edit(&[], &["msoid IN CNAME clientconfig.microsoftonline-p.net."]);
    let r = check_with(&zone, cfg, "dns.msoid").await;
    assert_status(&r, Status::Fail);
    assert!(
        r.message
            .contains("expected clientconfig.partner.microsoftonline-p.net.cn"),
        "{}",
        r.message
    );
}
