//! The directory checks against a real Active Directory: Samba as a domain controller
//! (`tenant_ready::lab::samba`), in its own network namespace, one per test process, each test
//! seeding its own organizational unit and scanning only that OU (`[directory] base_dn`).
//!
//! Two rules cannot be broken on a DC of today: Active Directory itself refuses a second object
//! with a userPrincipalName already in use, and a sAMAccountName with `|` and its kin (Samba
//! answers "0000202F: samldb: userPrincipalName … is already in use", as Windows does). Those
//! are shown refused here, and their detection is tested on the reader's own logic (unit tests
//! of `directory::rules` and `a_duplicate_found_by_hash_names_every_holder` below uses values
//! the DC does accept: proxyAddresses, mail, mailNickname).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use ldap3::Ldap;
use tenant_ready::lab::samba::{self, ADMIN, ADMIN_PASSWORD, BASE_DN, SambaDc};
use tenant_ready::outcome::{CheckResult, Status};

use crate::support::{Scan, assert_status, result, scan};

/// The test process's DC (started once, on its own runtime: tests run on theirs).
fn dc() -> Option<&'static SambaDc> {
    static DC: OnceLock<Option<SambaDc>> = OnceLock::new();
    DC.get_or_init(|| {
        if let Err(why) = samba::available() {
            eprintln!("directory tests skipped: {why}");
            return None;
        }
        let dc = std::thread::spawn(|| {
            tokio::runtime::Runtime::new()
                .unwrap()
                .block_on(SambaDc::start())
        })
        .join()
        .unwrap();
        Some(dc.unwrap_or_else(|e| panic!("cannot start the lab DC: {e}")))
    })
    .as_ref()
}

fn vals(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

async fn add(ldap: &mut Ldap, ou: &str, cn: &str, class: &str, attrs: &[(&str, Vec<String>)]) {
    samba::add_object(ldap, ou, cn, class, attrs)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Two letters of the OU (`OU=rules,…` → `ru`): sAMAccountNames are unique in a domain, and
/// two tests may seed the same objects in their own OUs.
fn tag(ou: &str) -> &str {
    ou.get(3..5).unwrap_or("xx")
}

/// A user with a short sAMAccountName of its own (so no generated one is judged) and `attrs`.
async fn user(ldap: &mut Ldap, ou: &str, cn: &str, attrs: &[(&str, Vec<String>)]) {
    let mut all = vec![("sAMAccountName", vec![format!("{}{cn}", tag(ou))])];
    all.extend(attrs.iter().cloned());
    add(ldap, ou, cn, "user", &all).await;
}

/// `[directory]` for the lab DC, searching `base`.
fn config(url: &str, base: &str, extra: &str) -> String {
    format!(
        "[[domain]]\nname = \"contoso.test\"\n\n[directory]\nurl = \"{url}\"\nbase_dn = \"{base}\"\nuser = \"{ADMIN}\"\n{extra}"
    )
}

async fn scan_directory(dc: &SambaDc, config: &str, password: &str) -> Vec<CheckResult> {
    scan(
        "127.0.0.1:9".parse().unwrap(),
        Scan {
            config: Some(config),
            only: &["directory.*"],
            timeout: "60s",
            ca_file: Some(&dc.ca_file),
            ldap_password: Some(password),
            ..Scan::default()
        },
    )
    .await
}

/// The count of each rule in a result's evidence.
fn counts(r: &CheckResult) -> BTreeMap<String, u64> {
    r.evidence["rules"]
        .as_array()
        .unwrap_or_else(|| panic!("{}: no rules in {}", r.check, r.evidence))
        .iter()
        .map(|x| {
            (
                x["id"].as_str().unwrap().to_owned(),
                x["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Seeds the OU of the rule tests: each object breaks the rules its comment says, and nothing
/// else; the expected counts follow.
async fn seed_rules(dc: &SambaDc, name: &str) -> String {
    let mut l = dc.admin().await.unwrap();
    let ou = dc.add_ou(&mut l, name).await.unwrap();
    let ok = |s: &str| format!("{s}@contoso.test");
    // Clean: every attribute set, in the tenant's domain (a subdomain counts), an X500 address.
    user(
        &mut l,
        &ou,
        "ann",
        &[
            ("userPrincipalName", vec![ok("ann")]),
            ("mail", vec![ok("ann")]),
            ("mailNickname", vals(&["ann"])),
            (
                "proxyAddresses",
                vec![
                    format!("SMTP:{}", ok("ann")),
                    "smtp:ann@sales.contoso.test".into(),
                    "X500:/o=Contoso/ou=Exchange/cn=ann".into(),
                ],
            ),
        ],
    )
    .await;
    // upn-characters ('%' is valid in an address, not in a UPN).
    user(
        &mut l,
        &ou,
        "bob",
        &[("userPrincipalName", vals(&["bob%x@contoso.test"]))],
    )
    .await;
    // upn-local-length.
    user(
        &mut l,
        &ou,
        "cal",
        &[(
            "userPrincipalName",
            vec![format!("{}@contoso.test", "a".repeat(70))],
        )],
    )
    .await;
    // upn-length and upn-domain-length: 64 + 1 + 49 = 114.
    user(
        &mut l,
        &ou,
        "cyd",
        &[(
            "userPrincipalName",
            vec![format!(
                "{}@{}.contoso.test",
                "b".repeat(64),
                "c".repeat(36)
            )],
        )],
    )
    .await;
    // upn-domain-length: 53 after the @.
    user(
        &mut l,
        &ou,
        "dan",
        &[(
            "userPrincipalName",
            vec![format!("d@{}.contoso.test", "e".repeat(40))],
        )],
    )
    .await;
    // upn-format.
    user(
        &mut l,
        &ou,
        "carol",
        &[("userPrincipalName", vals(&["carol@@contoso.test"]))],
    )
    .await;
    // upn-non-routable and upn-not-tenant-domain.
    user(
        &mut l,
        &ou,
        "dave",
        &[("userPrincipalName", vals(&["dave@contoso.local"]))],
    )
    .await;
    // upn-not-tenant-domain.
    user(
        &mut l,
        &ou,
        "erin",
        &[("userPrincipalName", vals(&["erin@fabrikam.com"]))],
    )
    .await;
    // mailnickname-leading-period; mailnickname-characters.
    user(
        &mut l,
        &ou,
        "frank",
        &[
            ("userPrincipalName", vec![ok("frank")]),
            ("mailNickname", vals(&[".frank"])),
        ],
    )
    .await;
    user(
        &mut l,
        &ou,
        "gina",
        &[
            ("userPrincipalName", vec![ok("gina")]),
            ("mailNickname", vals(&["gi na"])),
        ],
    )
    .await;
    // proxy-duplicate, three times: a user and two contacts, case apart.
    user(
        &mut l,
        &ou,
        "hank",
        &[
            ("userPrincipalName", vec![ok("hank")]),
            ("proxyAddresses", vals(&["SMTP:shared@contoso.test"])),
        ],
    )
    .await;
    add(
        &mut l,
        &ou,
        "ivy",
        "contact",
        &[("proxyAddresses", vals(&["smtp:Shared@contoso.test"]))],
    )
    .await;
    add(
        &mut l,
        &ou,
        "ivy2",
        "contact",
        &[("proxyAddresses", vals(&["smtp:SHARED@contoso.test"]))],
    )
    .await;
    // proxy-characters and proxy-format (a space); proxy-not-tenant-domain; proxy-other-characters.
    user(
        &mut l,
        &ou,
        "jack",
        &[
            ("userPrincipalName", vec![ok("jack")]),
            (
                "proxyAddresses",
                vals(&[
                    "smtp:ja ck@contoso.test",
                    "smtp:jack@fabrikam.com",
                    "SIP:ja(ck@contoso.test",
                ]),
            ),
        ],
    )
    .await;
    // proxy-length: 5 + 250 + 13 = 268.
    user(
        &mut l,
        &ou,
        "kim",
        &[
            ("userPrincipalName", vec![ok("kim")]),
            (
                "proxyAddresses",
                vec![format!("smtp:{}@contoso.test", "k".repeat(250))],
            ),
        ],
    )
    .await;
    // mail-duplicate, twice.
    add(
        &mut l,
        &ou,
        "lee1",
        "contact",
        &[("mail", vals(&["lee@contoso.test"]))],
    )
    .await;
    add(
        &mut l,
        &ou,
        "lee2",
        "contact",
        &[("mail", vals(&["LEE@contoso.test"]))],
    )
    .await;
    // mailnickname-duplicate, twice.
    add(
        &mut l,
        &ou,
        "team1",
        "group",
        &[
            ("sAMAccountName", vec![format!("g-{}team1", tag(&ou))]),
            ("mailNickname", vals(&["team"])),
        ],
    )
    .await;
    add(
        &mut l,
        &ou,
        "team2",
        "group",
        &[
            ("sAMAccountName", vec![format!("g-{}team2", tag(&ou))]),
            ("mailNickname", vals(&["team"])),
        ],
    )
    .await;
    // targetaddress-characters and targetaddress-format; targetaddress-length (5 + 260 + 13).
    add(
        &mut l,
        &ou,
        "mo",
        "contact",
        &[("targetAddress", vals(&["SMTP:mo o@fabrikam.com"]))],
    )
    .await;
    add(
        &mut l,
        &ou,
        "ned",
        "contact",
        &[(
            "targetAddress",
            vec![format!("SMTP:{}@fabrikam.com", "n".repeat(260))],
        )],
    )
    .await;
    // sam-length without a UPN; the same length with a UPN is fine.
    add(
        &mut l,
        &ou,
        "longsam",
        "user",
        &[(
            "sAMAccountName",
            vec![format!("{}averyveryverylongna", tag(&ou))],
        )],
    )
    .await;
    add(
        &mut l,
        &ou,
        "withupn",
        "user",
        &[
            (
                "sAMAccountName",
                vec![format!("{}anotherverylongsamn", tag(&ou))],
            ),
            ("userPrincipalName", vec![ok("withupn")]),
        ],
    )
    .await;
    // A well-known exclusion: broken, and never counted.
    add(
        &mut l,
        &ou,
        "HealthMailbox1",
        "user",
        &[
            ("sAMAccountName", vec![format!("HealthMailbox{}", tag(&ou))]),
            ("userPrincipalName", vals(&["hm bad@contoso.local"])),
        ],
    )
    .await;
    let _ = l.unbind().await;
    ou
}

fn expected_counts() -> BTreeMap<&'static str, u64> {
    BTreeMap::from([
        ("upn-characters", 1),
        ("upn-length", 1),
        ("upn-local-length", 1),
        ("upn-domain-length", 2),
        ("upn-format", 1),
        ("upn-duplicate", 0),
        ("upn-non-routable", 1),
        ("upn-not-tenant-domain", 2),
        ("proxy-characters", 1),
        ("proxy-other-characters", 1),
        ("proxy-format", 1),
        ("proxy-length", 1),
        ("proxy-duplicate", 3),
        ("proxy-not-tenant-domain", 1),
        ("mail-duplicate", 2),
        ("mailnickname-leading-period", 1),
        ("mailnickname-characters", 1),
        ("mailnickname-duplicate", 2),
        ("targetaddress-characters", 1),
        ("targetaddress-format", 1),
        ("targetaddress-length", 1),
        ("sam-characters", 0),
        ("sam-length", 1),
        ("sam-duplicate", 0),
    ])
}

#[tokio::test]
async fn every_rule_counts_exactly_the_objects_seeded_to_break_it() {
    let Some(dc) = dc() else { return };
    let ou = seed_rules(dc, "rules").await;
    let results = scan_directory(dc, &config(&dc.ldaps_url, &ou, ""), ADMIN_PASSWORD).await;
    let mut got = BTreeMap::new();
    for check in [
        "directory.upn",
        "directory.proxy-addresses",
        "directory.mail",
        "directory.sam-account-name",
    ] {
        let r = result(&results, check);
        assert_status(r, Status::Fail);
        assert_eq!(r.subject, dc.ldaps_url);
        assert_eq!(r.evidence["excluded"], 1, "{check}: {}", r.evidence);
        assert_eq!(r.evidence["objects"]["group"], 2, "{check}");
        assert_eq!(
            r.evidence["objects"]["contact"], 6,
            "{check}: {}",
            r.evidence
        );
        assert_eq!(r.evidence["objects"]["user"], 15, "{check}");
        for (k, v) in counts(r) {
            got.insert(k, v);
        }
        // Each broken rule is a sentence naming its count and an example object.
        let first = r.evidence["offenders"][0]["dn"].as_str().unwrap();
        assert!(first.ends_with(&ou), "{first}");
    }
    let want: BTreeMap<String, u64> = expected_counts()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    assert_eq!(got, want);
    // The recommended rules alone would warn; the messages say which rule and which object.
    let upn = result(&results, "directory.upn");
    assert!(
        upn.message.contains("non-routable suffix"),
        "{}",
        upn.message
    );
    assert!(upn.message.contains("CN=dave,"), "{}", upn.message);
    // The evidence shows IdFix's suggestion: the suffix replaced with the tenant's domain.
    let dave = upn.evidence["offenders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["rule"] == "upn-non-routable")
        .unwrap();
    assert_eq!(dave["update"], "dave@contoso.test");
    assert_eq!(dave["class"], "user");
    the_directory_csv_lists_every_offending_value_with_idfix_columns(dc, &ou);
}

#[tokio::test]
async fn active_directory_itself_refuses_a_duplicate_upn_and_a_bad_sam_account_name() {
    let Some(dc) = dc() else { return };
    let mut l = dc.admin().await.unwrap();
    let ou = dc.add_ou(&mut l, "refused").await.unwrap();
    user(
        &mut l,
        &ou,
        "one",
        &[("userPrincipalName", vals(&["same@contoso.test"]))],
    )
    .await;
    let second = samba::add_object(
        &mut l,
        &ou,
        "two",
        "user",
        &[("userPrincipalName", vals(&["same@contoso.test"]))],
    )
    .await;
    assert!(second.unwrap_err().contains("already in use"));
    let bad = samba::add_object(
        &mut l,
        &ou,
        "three",
        "user",
        &[("sAMAccountName", vals(&["bad|name"]))],
    )
    .await;
    assert!(bad.unwrap_err().contains("invalid"));
    // What the DC holds is clean: one user, every check passes.
    let results = scan_directory(dc, &config(&dc.ldaps_url, &ou, ""), ADMIN_PASSWORD).await;
    for check in [
        "directory.upn",
        "directory.proxy-addresses",
        "directory.mail",
        "directory.sam-account-name",
    ] {
        assert_status(result(&results, check), Status::Pass);
    }
}

#[tokio::test]
async fn a_clean_directory_passes_over_ldaps_and_over_starttls() {
    let Some(dc) = dc() else { return };
    let mut l = dc.admin().await.unwrap();
    let ou = dc.add_ou(&mut l, "clean").await.unwrap();
    for n in ["amy", "ben", "cat"] {
        user(
            &mut l,
            &ou,
            n,
            &[
                ("userPrincipalName", vec![format!("{n}@contoso.test")]),
                ("mail", vec![format!("{n}@contoso.test")]),
                ("proxyAddresses", vec![format!("SMTP:{n}@contoso.test")]),
                ("mailNickname", vals(&[n])),
            ],
        )
        .await;
    }
    for (url, extra) in [
        (dc.ldaps_url.as_str(), ""),
        (dc.ldap_url.as_str(), "starttls = true\n"),
    ] {
        let results = scan_directory(dc, &config(url, &ou, extra), ADMIN_PASSWORD).await;
        for check in [
            "directory.upn",
            "directory.proxy-addresses",
            "directory.mail",
            "directory.sam-account-name",
        ] {
            let r = result(&results, check);
            assert_status(r, Status::Pass);
            assert!(r.message.contains("3 users"), "{}", r.message);
        }
        // Samba provisions a Windows Server 2008 R2 forest without the Recycle Bin: the level
        // passes, the Recycle Bin is a recommendation.
        let forest = result(&results, "directory.forest");
        assert_eq!(forest.evidence["forest_level"], 4, "{}", forest.evidence);
        assert_eq!(forest.evidence["recycle_bin"], false, "{}", forest.evidence);
        assert_status(forest, Status::Warn);
        assert!(forest.message.contains("Recycle Bin"), "{}", forest.message);
    }
}

#[tokio::test]
async fn a_refused_bind_a_plain_bind_an_unverified_certificate_and_a_wrong_base_are_errors_in_words()
 {
    let Some(dc) = dc() else { return };
    let secret = "Wr0ng-Secret-Never-Shown";
    let cases: [(String, &str, &str); 5] = [
        (
            config(&dc.ldaps_url, BASE_DN, ""),
            secret,
            "wrong password (AD 52e)",
        ),
        (
            config(&dc.ldap_url, BASE_DN, ""),
            ADMIN_PASSWORD,
            "requires TLS for a password bind",
        ),
        (
            config(&format!("ldaps://{}:1", dc.address), BASE_DN, ""),
            ADMIN_PASSWORD,
            "cannot reach the domain controller",
        ),
        (
            config(&dc.ldaps_url, &format!("OU=nowhere,{BASE_DN}"), ""),
            ADMIN_PASSWORD,
            "has no object OU=nowhere",
        ),
        // Another domain's base: Samba has no superior reference and says there is no such
        // object (Windows AD refers the search elsewhere: the unit tests of
        // `directory::bind` cover that answer, never followed).
        (
            config(&dc.ldaps_url, "DC=fabrikam,DC=com", ""),
            ADMIN_PASSWORD,
            "has no object DC=fabrikam,DC=com",
        ),
    ];
    for (cfg, password, words) in cases {
        let results = scan_directory(dc, &cfg, password).await;
        // The forest check reads the RootDSE, not the base: a wrong base is the others' error.
        let base_only = cfg.contains("OU=nowhere") || cfg.contains("fabrikam");
        for r in results
            .iter()
            .filter(|r| !(base_only && r.check == "directory.forest"))
        {
            assert_status(r, Status::Error);
            let all = format!("{} {}", r.message, r.evidence);
            assert!(all.contains(words), "{cfg}: {all}");
            assert!(
                !all.contains(secret) && !all.contains(ADMIN_PASSWORD),
                "{all}"
            );
        }
    }
    // Without the lab CA the DC's certificate does not verify.
    let results = scan(
        "127.0.0.1:9".parse().unwrap(),
        Scan {
            config: Some(&config(&dc.ldaps_url, BASE_DN, "")),
            only: &["directory.upn"],
            timeout: "60s",
            ldap_password: Some(ADMIN_PASSWORD),
            ..Scan::default()
        },
    )
    .await;
    let r = result(&results, "directory.upn");
    assert_status(r, Status::Error);
    assert!(r.message.contains("TLS with"), "{}", r.message);
}

#[tokio::test]
async fn without_a_directory_the_checks_skip_saying_how_to_set_one() {
    let results = scan(
        "127.0.0.1:9".parse().unwrap(),
        Scan {
            config: Some("[[domain]]\nname = \"contoso.test\"\n"),
            only: &["directory.*"],
            ..Scan::default()
        },
    )
    .await;
    assert_eq!(results.len(), 5);
    for r in &results {
        assert_status(r, Status::Skip);
        assert_eq!(r.subject, "[directory]");
        assert!(r.message.contains("[directory] url"), "{}", r.message);
    }
}

/// `tenant-ready scan` of the lab DC as a user runs it: the password in the environment, the
/// DC's CA with --ca-file, `extra` arguments. Returns (exit code, stdout, stderr).
fn run_binary(
    dc: &SambaDc,
    dir: &std::path::Path,
    toml: &str,
    password: &str,
    extra: &[&str],
) -> (i32, String, String) {
    let config = dir.join("tenant.toml");
    std::fs::write(&config, toml).unwrap();
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("tenant-ready"))
        .env("TENANT_READY_LDAP_PASSWORD", password)
        .env("LANG", "C")
        .args(["scan", "--config"])
        .arg(&config)
        .args([
            "--only",
            "directory.*",
            "--nameserver",
            "127.0.0.1:9",
            "--timeout",
            "60s",
            "--no-progress",
            "--ca-file",
        ])
        .arg(&dc.ca_file)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Splits one CSV record of quoted fields (the report quotes every field).
fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// The same OU through the binary: `--report directory-csv=FILE` lists every offending value
/// with IdFix's columns, one row each (the counts above, row by row).
fn the_directory_csv_lists_every_offending_value_with_idfix_columns(dc: &SambaDc, ou: &str) {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("directory.csv");
    let json = dir.path().join("report.json");
    let (code, _, err) = run_binary(
        dc,
        dir.path(),
        &config(&dc.ldaps_url, ou, ""),
        ADMIN_PASSWORD,
        &[
            "--report",
            &format!("directory-csv={}", csv.display()),
            "--report",
            &format!("json={}", json.display()),
        ],
    );
    assert_eq!(code, 1, "{err}");
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    assert_eq!(
        lines.next().unwrap(),
        "DistinguishedName,ObjectClass,Attribute,Error,Value,Update,Check"
    );
    let rows: Vec<Vec<String>> = lines.map(csv_fields).collect();
    let mut per_rule: BTreeMap<String, u64> = BTreeMap::new();
    for r in &rows {
        assert_eq!(r.len(), 7, "{r:?}");
        assert!(r[0].ends_with(ou), "{r:?}");
        *per_rule.entry(r[3].clone()).or_default() += 1;
    }
    let want: BTreeMap<String, u64> = expected_counts()
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    assert_eq!(per_rule, want);
    let dave = rows.iter().find(|r| r[3] == "upn-non-routable").unwrap();
    assert_eq!(
        dave[1..],
        [
            "user",
            "userPrincipalName",
            "upn-non-routable",
            "dave@contoso.local",
            "dave@contoso.test",
            "directory.upn"
        ]
    );
    // The JSON report holds the counts, never the password.
    let report = std::fs::read_to_string(&json).unwrap();
    assert!(!report.contains(ADMIN_PASSWORD) && !text.contains(ADMIN_PASSWORD));
}

#[tokio::test]
async fn hostile_values_are_shown_safely_and_bounded() {
    let Some(dc) = dc() else { return };
    let mut l = dc.admin().await.unwrap();
    let ou = dc.add_ou(&mut l, "hostile").await.unwrap();
    // Terminal escapes in an alias, a formula in a forwarding address, megabytes of text, and
    // 100,000 values in one attribute (two of them another object's too).
    user(
        &mut l,
        &ou,
        "esc",
        &[
            ("userPrincipalName", vals(&["esc@contoso.test"])),
            ("mailNickname", vals(&["x\u{1b}]0;pwned\u{7}\u{1b}[2J y"])),
        ],
    )
    .await;
    add(
        &mut l,
        &ou,
        "formula",
        "contact",
        &[(
            "targetAddress",
            vals(&["SMTP:=HYPERLINK(\"http://x\")@contoso.test"]),
        )],
    )
    .await;
    add(
        &mut l,
        &ou,
        "huge",
        "contact",
        &[(
            "targetAddress",
            vec![format!("SMTP:{}@contoso.test", "h".repeat(3_000_000))],
        )],
    )
    .await;
    let many: Vec<String> = (0..100_000)
        .map(|i| format!("smtp:u{i}@contoso.test"))
        .collect();
    user(
        &mut l,
        &ou,
        "many",
        &[
            ("userPrincipalName", vals(&["many@contoso.test"])),
            ("proxyAddresses", many),
        ],
    )
    .await;
    add(
        &mut l,
        &ou,
        "twin",
        "contact",
        &[(
            "proxyAddresses",
            vals(&["smtp:u7@contoso.test", "smtp:u99999@contoso.test"]),
        )],
    )
    .await;
    let _ = l.unbind().await;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("d.csv");
    let json = dir.path().join("r.json");
    let (code, out, err) = run_binary(
        dc,
        dir.path(),
        &config(&dc.ldaps_url, &ou, ""),
        ADMIN_PASSWORD,
        &[
            "--report",
            &format!("directory-csv={}", csv.display()),
            "--report",
            &format!("json={}", json.display()),
            "--color",
            "never",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let results = report["results"].as_array().unwrap();
    let r = |id: &str| results.iter().find(|r| r["check"] == id).unwrap();
    let proxy = r("directory.proxy-addresses");
    assert_eq!(proxy["status"], "fail", "{proxy}");
    assert_eq!(
        proxy["evidence"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == "proxy-duplicate")
            .unwrap()["count"],
        4
    );
    let mail = r("directory.mail");
    let counts: BTreeMap<&str, u64> = mail["evidence"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["id"].as_str().unwrap(), x["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(counts["mailnickname-characters"], 1);
    assert_eq!(counts["targetaddress-length"], 1);
    assert_eq!(
        counts["targetaddress-format"], 1,
        "the formula is not an address"
    );
    // Every value kept is bounded; the CSV cannot run a formula or break a row.
    for o in mail["evidence"]["offenders"].as_array().unwrap() {
        assert!(o["value"].as_str().unwrap().chars().count() <= 513);
    }
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.len() < 100_000, "{} bytes", text.len());
    assert!(
        !text.contains('\u{1b}') && !text.contains(",\"=HYPERLINK"),
        "{text}"
    );
    assert!(text.contains("\\u{1b}"), "{text}");
}

/// The tenant's domains the UPN and address rules judge against: tenant.toml's, the initial
/// domain, and with `--graph` every domain Graph lists as verified.
#[test]
fn the_tenant_domains_come_from_the_file_the_initial_domain_and_graph() {
    use tenant_ready::settings::{Env, LoadedFile, Settings};
    let file = LoadedFile {
        path: "tenant.toml".into(),
        file: toml::from_str(
            "[tenant]\ninitial_domain = \"contoso.onmicrosoft.com\"\n[[domain]]\nname = \"contoso.com\"\n[directory]\nurl = \"ldaps://dc1.contoso.com\"\n",
        )
        .unwrap(),
        dkim: None,
    };
    let mut settings = Settings::resolve(
        &tenant_ready::cli::ScanArgs::default(),
        Some(&file),
        &Env::default(),
    )
    .unwrap();
    settings.graph_verified = vec!["fabrikam.com".into(), "contoso.com".into()];
    let catalog = tenant_ready::catalog::Catalog::embedded().unwrap();
    let tasks = tenant_ready::plan::plan(&catalog, &settings).unwrap();
    let shared = tenant_ready::plan::directory_read(&tasks).unwrap();
    assert_eq!(
        shared.plan.tenant.domains,
        ["contoso.com", "contoso.onmicrosoft.com", "fabrikam.com"]
    );
    assert_eq!(shared.plan.groups.len(), 4);
}

/// A service account the DC holds but will not let in: disabled (AD 533), or told to change its
/// password first (773). The reason is said in words, the password nowhere.
#[tokio::test]
async fn a_disabled_account_or_one_that_must_change_its_password_is_named_as_such() {
    let Some(dc) = dc() else { return };
    let mut l = dc.admin().await.unwrap();
    let ou = dc.add_ou(&mut l, "accounts").await.unwrap();
    let password = "Sv-Passw0rd!x";
    // unicodePwd: the quoted password in UTF-16LE, writable over TLS only.
    let quoted: Vec<u8> = format!("\"{password}\"")
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    // userAccountControl 514: a normal account, disabled; 512 enabled (a new user without it is
    // disabled, as in AD).
    for (name, uac, extra, words) in [
        (
            "svcoff",
            "514",
            ("description", "off"),
            "the account is disabled (AD 533)",
        ),
        (
            "svcnew",
            "512",
            ("pwdLastSet", "0"),
            "must change its password first (AD 773)",
        ),
    ] {
        let attrs: Vec<(Vec<u8>, std::collections::HashSet<Vec<u8>>)> = vec![
            (b"objectClass".to_vec(), [b"user".to_vec()].into()),
            (
                b"sAMAccountName".to_vec(),
                [name.as_bytes().to_vec()].into(),
            ),
            (
                b"userPrincipalName".to_vec(),
                [format!("{name}@contoso.local").into_bytes()].into(),
            ),
            (b"unicodePwd".to_vec(), [quoted.clone()].into()),
            (
                b"userAccountControl".to_vec(),
                [uac.as_bytes().to_vec()].into(),
            ),
            (
                extra.0.as_bytes().to_vec(),
                [extra.1.as_bytes().to_vec()].into(),
            ),
        ];
        l.add(&format!("CN={name},{ou}"), attrs)
            .await
            .and_then(ldap3::LdapResult::success)
            .unwrap();
        let cfg = format!(
            "[[domain]]\nname = \"contoso.test\"\n\n[directory]\nurl = \"{}\"\nuser = \"{name}@contoso.local\"\n",
            dc.ldaps_url
        );
        let results = scan_directory(dc, &cfg, password).await;
        for r in &results {
            assert_status(r, Status::Error);
            assert!(r.message.contains(words), "{}", r.message);
            assert!(!r.message.contains(password), "{}", r.message);
        }
    }
}
