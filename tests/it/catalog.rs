//! The shipped catalogues load and validate, cover every line of the seed, and bad definitions
//! are refused with the file, check id and field.

use std::path::Path;

use tenant_ready::catalog::{Catalog, EMBEDDED_CHECKS};

/// Every `- <span data-ttu-id="3694a-NNN">Korean</span>…<span data-stu-id="3694a-NNN">English</span>`
/// list line (and the note under 3694a-129) of the seed.
fn seed_lines() -> Vec<(String, String, String)> {
    let seed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/seed-responsibilities.ko-KR.txt"),
    )
    .unwrap();
    let mut out = Vec::new();
    for line in seed.lines() {
        let t = line.trim_start();
        if !(t.starts_with("- ") || t.starts_with("> <span")) {
            continue;
        }
        let Some(start) = t.find("data-ttu-id=\"") else {
            continue;
        };
        let rest = &t[start + 13..];
        let id = rest[..rest.find('"').unwrap()].to_owned();
        let ko_start = rest.find('>').unwrap() + 1;
        let ko = rest[ko_start..ko_start + rest[ko_start..].find("</span>").unwrap()].to_owned();
        let en_marker = format!("data-stu-id=\"{id}\">");
        let en_start = rest.find(&en_marker).unwrap() + en_marker.len();
        let en = rest[en_start..en_start + rest[en_start..].find("</span>").unwrap()].to_owned();
        let clean = |s: String| s.replace("\\*", "*").trim().to_owned();
        out.push((id, clean(ko), clean(en)));
    }
    out
}

#[test]
fn every_seed_line_is_a_responsibility_with_both_texts() {
    let c = Catalog::embedded().unwrap();
    let lines = seed_lines();
    assert_eq!(
        lines.len(),
        63,
        "responsibility lines in the seed (3694a-106 … 3694a-172, headings excluded)"
    );
    for (id, ko, en) in &lines {
        let r = c
            .responsibilities
            .iter()
            .find(|r| &r.seed_ref == id)
            .unwrap_or_else(|| panic!("seed line {id} missing"));
        assert_eq!(&r.title, en, "{id}");
        assert_eq!(&r.title_ko, ko, "{id}");
    }
    assert_eq!(
        c.responsibilities.len(),
        lines.len(),
        "nothing beyond the seed"
    );
    // Where the seed's translation misleads, a corrected one stands beside it (and only there):
    // 3694a-110 says 관리자 (administrator) for the FastTrack Engineer, 3694a-162 says 구성
    // (configuration) for migration.
    let corrected: Vec<(&str, &str)> = c
        .responsibilities
        .iter()
        .filter_map(|r| Some((r.seed_ref.as_str(), r.title_ko_corrected.as_deref()?)))
        .collect();
    assert_eq!(corrected.len(), 2, "{corrected:?}");
    for (id, wrong, right) in [
        ("3694a-110", "관리자", "엔지니어"),
        ("3694a-162", "구성 작업", "마이그레이션 작업"),
    ] {
        let r = c
            .responsibilities
            .iter()
            .find(|r| r.seed_ref == id)
            .unwrap();
        let fixed = r.title_ko_corrected.as_deref().unwrap();
        assert!(r.title_ko.contains(wrong) && !fixed.contains(wrong), "{id}");
        assert!(fixed.contains(right), "{id}: {fixed}");
        let shown = r.title_in(tenant_ready::output::Lang::Ko);
        assert!(
            shown.starts_with(&r.title_ko)
                && shown.contains(fixed)
                && shown.contains("바로잡은 번역"),
            "{shown}"
        );
        assert_eq!(r.title_in(tenant_ready::output::Lang::En), r.title);
    }
}

#[test]
fn design_ids_map_to_their_seed_lines() {
    let c = Catalog::embedded().unwrap();
    for (id, seed) in [
        ("general.public-ssl-certificates", "3694a-134"),
        ("enable.dns-records", "3694a-166"),
        ("enable.firewall-ports", "3694a-169"),
        ("enable.network-configuration", "3694a-165"),
        ("general.network-validation", "3694a-123"),
        ("general.skype-bandwidth", "3694a-124"),
        ("general.mobile-devices", "3694a-122"),
        ("enable.directory-sync", "3694a-167"),
        ("general.test-environment", "3694a-131"),
    ] {
        assert_eq!(
            c.responsibility(id).map(|r| r.seed_ref.as_str()),
            Some(seed),
            "{id}"
        );
    }
}

#[test]
fn every_shipped_check_file_loads_and_has_the_design_ids() {
    assert!(!EMBEDDED_CHECKS.is_empty());
    let c = Catalog::embedded().unwrap();
    let from_disk =
        Catalog::from_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("checks")).unwrap();
    assert_eq!(
        c.checks.len(),
        from_disk.checks.len(),
        "the embedded files are the files in checks/"
    );
    for id in [
        "dns.verification",
        "dns.mx",
        "dns.spf",
        "dns.autodiscover",
        "dns.dkim",
        "dns.dmarc",
        "dns.teams-sip",
        "dns.teams-srv",
        "dns.intune",
        "dns.msoid",
        "dns.ns-consistency",
    ] {
        let check = c
            .checks
            .iter()
            .find(|k| k.id == id)
            .unwrap_or_else(|| panic!("{id}"));
        assert!(
            !check.remediation.is_empty() && check.docs.is_some(),
            "{id} has remediation and docs"
        );
    }
}

/// One fixture per validation rule: (file, what the error must say).
const INVALID: &[(&str, &str)] = &[
    ("unknown-field.toml", "unknown field `recrod`"),
    ("unknown-kind.toml", "unknown variant `dns-nope`"),
    ("duplicate-id.toml", "check `dns.mx` is also defined"),
    (
        "unknown-responsibility.toml",
        "not in the responsibility catalogue",
    ),
    ("unknown-variable.toml", "unknown variable `{domian}`"),
    (
        "absent-and-accept.toml",
        "`absent` and `accept` exclude each other",
    ),
    (
        "no-expectation.toml",
        "give `accept` patterns or `absent = true`",
    ),
    ("bad-id.toml", "field id"),
    ("bad-timeout.toml", "field timeout"),
    ("wrong-type.toml", "invalid type"),
    (
        "level-without-why.toml",
        "record lyncdiscover.{domain}: level `optional` needs `why`",
    ),
    (
        "missing-ok-not-optional.toml",
        "missing_ok is only for level = \"optional\"",
    ),
    (
        "unknown-exact-field.toml",
        "exact_from `dkim1` is not a [[domain]] field (verification, mx, dkim_selector1, dkim_selector2)",
    ),
    (
        "bad-port-level.toml",
        "port `3479-3470`: range `3479-3470` runs backwards",
    ),
    (
        "informational-required.toml",
        "port `25`: informational is only for level = \"optional\"",
    ),
];

#[test]
fn invalid_definitions_name_the_file_check_and_field() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/checks/invalid");
    for (file, fragment) in INVALID {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::copy(dir.join(file), tmp.path().join(file)).unwrap();
        let err = Catalog::from_dir(tmp.path()).expect_err(file).to_string();
        assert!(err.contains(fragment), "{file}: {err}");
        assert!(
            err.contains(file),
            "{file}: the message names the file: {err}"
        );
        assert!(!err.contains('\n'), "{file}: one line: {err}");
    }
}

/// `--lang ko` has a Korean remediation for every shipped check, with the same templates.
#[test]
fn every_shipped_check_has_a_korean_remediation() {
    let c = Catalog::embedded().unwrap();
    let vars = |s: &str| -> Vec<String> {
        s.split('{')
            .skip(1)
            .filter_map(|x| x.split_once('}'))
            .map(|(v, _)| v.to_owned())
            .collect()
    };
    for check in &c.checks {
        let ko = check
            .remediation_ko
            .as_deref()
            .unwrap_or_else(|| panic!("{} has no remediation_ko", check.id));
        assert!(
            ko.chars().any(|ch| ('\u{ac00}'..='\u{d7a3}').contains(&ch)),
            "{}: not Korean",
            check.id
        );
        let (mut a, mut b) = (vars(&check.remediation), vars(ko));
        a.sort();
        a.dedup();
        b.sort();
        b.dedup();
        assert_eq!(a, b, "{}: the Korean text uses other templates", check.id);
    }
}

/// A company's own check, as a new user writes it: one file in its own directory.
const GOOGLE: &str = r#"
[[check]]
id = "custom.google-site-verification"
title = "Google site verification TXT stays published"
responsibility = "enable.dns-records"
severity = "minor"
remediation = "Publish the google-site-verification TXT record again at the apex."
[check.probe]
kind = "dns-record"
[[check.probe.record]]
name = "{domain}"
type = "TXT"
accept = ["google-site-verification=*"]
level = "required"
"#;

fn tr(args: &[&str]) -> (i32, String, String) {
    let o = std::process::Command::new(assert_cmd::cargo::cargo_bin("tenant-ready"))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn listed(args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["checks", "--format", "json"];
    all.extend_from_slice(args);
    let (code, out, err) = tr(&all);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn checks_directories_extend_the_builtin_catalogue() {
    let builtin = listed(&[]).len();
    let tmp = tempfile::tempdir().unwrap();
    let mine = tmp.path().join("mychecks");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("google.toml"), GOOGLE).unwrap();
    let m = mine.to_str().unwrap();

    // Added: every built-in check is still there, plus the company's, marked as its own.
    let rows = listed(&["--checks", m]);
    assert_eq!(rows.len(), builtin + 1);
    let own = rows
        .iter()
        .find(|r| r["id"] == "custom.google-site-verification")
        .unwrap();
    assert_eq!(own["builtin"], false);
    assert!(
        rows.iter()
            .any(|r| r["id"] == "dns.mx" && r["builtin"] == true)
    );
    let (_, human, _) = tr(&["checks", "--checks", m]);
    assert!(human.contains("google.toml]"), "{human}");

    // Replaced: a check with a built-in id takes its place, and the listing says so.
    let replacing = tmp.path().join("replacing");
    std::fs::create_dir(&replacing).unwrap();
    std::fs::write(
        replacing.join("mx.toml"),
        GOOGLE
            .replace("custom.google-site-verification", "dns.mx")
            .replace(
                "Google site verification TXT stays published",
                "Our own MX rule",
            ),
    )
    .unwrap();
    let rows = listed(&["--checks", m, "--checks", replacing.to_str().unwrap()]);
    assert_eq!(rows.len(), builtin + 1);
    let mx = rows.iter().find(|r| r["id"] == "dns.mx").unwrap();
    assert_eq!(mx["title"], "Our own MX rule");
    assert_eq!(mx["replaces_builtin"], true);
    let (_, human, _) = tr(&["checks", "--checks", replacing.to_str().unwrap()]);
    assert!(human.contains("replaces the built-in check"), "{human}");

    // The old behaviour on request.
    assert_eq!(listed(&["--no-builtin-checks", "--checks", m]).len(), 1);
    let (code, _, err) = tr(&["checks", "--no-builtin-checks"]);
    assert_eq!(code, 2, "{err}");

    // One id in two of the user's directories is an error naming both files.
    let twice = tmp.path().join("twice");
    std::fs::create_dir(&twice).unwrap();
    std::fs::write(twice.join("again.toml"), GOOGLE).unwrap();
    let (code, _, err) = tr(&["checks", "--checks", m, "--checks", twice.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("is also defined in") && err.contains("google.toml"),
        "{err}"
    );
}

#[test]
fn a_scan_runs_the_builtin_checks_and_the_companys_own() {
    let tmp = tempfile::tempdir().unwrap();
    let mine = tmp.path().join("mychecks");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("google.toml"), GOOGLE).unwrap();
    // [checks] dirs, relative to tenant.toml.
    let cfg = tmp.path().join("tenant.toml");
    std::fs::write(
        &cfg,
        "[[domain]]\nname = \"contoso.test\"\n[checks]\ndirs = [\"mychecks\"]\n",
    )
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let zone = format!(
        "{}@ IN TXT \"google-site-verification=abc123\"\n",
        crate::support::ready_zone("contoso.test")
    );
    let srv = rt.block_on(crate::support::server(
        crate::support::zones(&[("contoso.test", &zone)]),
        tenant_ready::lab::Behaviour::default(),
    ));
    let (code, out, err) = tr(&[
        "scan",
        "--config",
        cfg.to_str().unwrap(),
        "--only",
        "dns.mx",
        "--only",
        "custom.*",
        "--format",
        "json",
        "--nameserver",
        &srv.addr().to_string(),
    ]);
    assert_eq!(code, 0, "{err}{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let checks: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["check"].as_str().unwrap())
        .collect();
    assert_eq!(checks, ["dns.mx", "custom.google-site-verification"]);
}

#[test]
fn the_builtin_definitions_export_and_load_back() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("exported");
    let d = dir.to_str().unwrap();
    let (code, _, err) = tr(&["checks", "export", d]);
    assert_eq!(code, 0, "{err}");
    for f in [
        "dns.toml",
        "entra.toml",
        "responsibilities.toml",
        "clouds.toml",
        "messages.toml",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    assert_eq!(
        listed(&["--no-builtin-checks", "--checks", d]).len(),
        listed(&[]).len()
    );
    let (code, _, err) = tr(&["checks", "export", d]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("use --force"), "{err}");
    assert_eq!(tr(&["checks", "export", d, "--force"]).0, 0);
}

/// Every rule cites a public source a user can open (a Microsoft Learn page, an RFC), never a
/// file of this project's authors (issue 24): no check file names `FACTS.md`, and every `source`
/// is an https URL.
#[test]
fn every_rule_cites_a_public_source() {
    use tenant_ready::catalog::{EMBEDDED_CHECKS, EMBEDDED_CLOUDS};
    let mut files: Vec<(&str, &str)> = EMBEDDED_CHECKS.to_vec();
    files.push(("clouds.toml", EMBEDDED_CLOUDS));
    let mut sources = 0;
    for (name, text) in files {
        assert!(
            !text.contains("FACTS") && !text.contains("../shared"),
            "{name} cites a file users do not have"
        );
        for line in text
            .lines()
            .filter(|l| l.trim_start().starts_with("source = "))
        {
            sources += 1;
            let url = line.split('"').nth(1).unwrap_or("");
            // IdFix's rule list is Microsoft's own page on GitHub Pages (the directory rules).
            assert!(
                url.starts_with("https://learn.microsoft.com/")
                    || url.starts_with("https://www.rfc-editor.org/")
                    || url.starts_with("https://microsoft.github.io/idfix/"),
                "{name}: {line}"
            );
        }
    }
    assert!(sources >= 20, "{sources} sources");
}

/// A check pack cannot steer the app's client secret (issue 25): its `clouds.toml` may not change
/// the hosts that receive credentials (`login`, `graph`). Changed: refused in one line (exit 2)
/// before anything is sent, whatever `--graph` asks. Left out: the built-in value is used.
#[test]
fn a_check_packs_clouds_toml_cannot_redirect_credentials() {
    use std::net::TcpListener;
    let trap = TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let evil = format!("127.0.0.1:{}", trap.local_addr().unwrap().port());
    let tmp = tempfile::tempdir().unwrap();
    let pack = tmp.path().join("pack");
    std::fs::create_dir(&pack).unwrap();
    std::fs::write(pack.join("google.toml"), GOOGLE).unwrap();
    let clouds = tenant_ready::catalog::EMBEDDED_CLOUDS.replacen(
        "login = \"login.microsoftonline.com\"",
        &format!("login = \"{evil}\""),
        1,
    );
    assert_ne!(clouds, tenant_ready::catalog::EMBEDDED_CLOUDS);
    std::fs::write(pack.join("clouds.toml"), &clouds).unwrap();
    let p = pack.to_str().unwrap();
    let o = std::process::Command::new(assert_cmd::cargo::cargo_bin("tenant-ready"))
        .args([
            "scan",
            "contoso.com",
            "--graph",
            "--checks",
            p,
            "--no-progress",
        ])
        .env("AZURE_TENANT_ID", "t")
        .env("AZURE_CLIENT_ID", "c")
        .env("AZURE_CLIENT_SECRET", "the-secret")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!(
            "cloud.worldwide.login: `{evil}` is not the built-in `login.microsoftonline.com`: the hosts that receive credentials"
        )),
        "{err}"
    );
    assert!(!err.contains("the-secret"), "{err}");
    // Nothing reached the host the pack named.
    assert_eq!(
        trap.accept().map(|_| ()).unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock,
        "the pack's login host was contacted"
    );
    // The same for the Graph host, in a pack of its own checks only.
    let graph = tenant_ready::catalog::EMBEDDED_CLOUDS.replacen(
        "graph = \"graph.microsoft.com\"",
        "graph = \"graph.evil.example\"",
        1,
    );
    std::fs::write(pack.join("clouds.toml"), &graph).unwrap();
    let (code, _, err) = tr(&["checks", "--no-builtin-checks", "--checks", p]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cloud.worldwide.graph: `graph.evil.example`"),
        "{err}"
    );
    // A pack that leaves the credential hosts out gets the built-in ones.
    let without: String = tenant_ready::catalog::EMBEDDED_CLOUDS
        .lines()
        .filter(|l| !l.starts_with("login = ") && !l.starts_with("graph = "))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(pack.join("clouds.toml"), &without).unwrap();
    assert!(!listed(&["--checks", p]).is_empty());
    assert_eq!(
        tenant_ready::graph::graph_hosts(tenant_ready::tenant::Cloud::GccHigh)
            .unwrap()
            .login
            .host,
        "login.microsoftonline.us"
    );
}
