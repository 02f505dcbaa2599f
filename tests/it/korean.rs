//! Korean end to end: every finding of the offline demo is a sentence in Korean, rendered from
//! the keys and arguments the JSON carries beside the English `message`; a saved English report
//! renders in Korean; a report without them (written before) falls back to its English text.

use std::process::Command;

use tenant_ready::outcome::CheckResult;
use tenant_ready::output::Lang;
use tenant_ready::text::Text;

fn hangul(s: &str) -> bool {
    s.chars().any(|c| ('\u{AC00}'..='\u{D7A3}').contains(&c))
}

/// The sentence with every value emptied: what is left is the template's own words.
fn words_only(texts: &[Text]) -> String {
    texts
        .iter()
        .map(|t| {
            let mut t = t.clone();
            t.map_values(&mut |v| v.clear());
            t.render(Lang::Ko)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
fn every_finding_of_the_demo_reads_in_korean() {
    let out = crate::support::demo_report();
    let dir = tempfile::tempdir().unwrap();
    let json = std::fs::read_to_string(out).unwrap();
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let results: Vec<CheckResult> = serde_json::from_value(report["results"].clone()).unwrap();
    assert!(results.len() > 60, "{}", results.len());
    let kinds: std::collections::BTreeSet<&str> = results
        .iter()
        .map(|r| r.check.split('.').next().unwrap_or(""))
        .collect();
    // The directory checks run where the demo can start its Samba DC (root, Samba installed,
    // as on CI); elsewhere they skip, saying why (in Korean too).
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        [
            "directory",
            "dns",
            "entra",
            "intune",
            "net",
            "quality",
            "tls"
        ],
        "the demo covers every kind of check"
    );
    for r in &results {
        let at = format!("{} {} ({})", r.check, r.subject, r.status);
        // The data says exactly what the English sentence says.
        assert_eq!(
            tenant_ready::outcome::english(&r.message_text),
            r.message,
            "{at}"
        );
        assert_eq!(
            r.expected.clone(),
            (!r.expected_text.is_empty()).then(|| tenant_ready::outcome::english(&r.expected_text)),
            "{at}"
        );
        // Korean, and not through the values (host names, records) alone.
        let ko = r.message_in(Lang::Ko);
        assert_ne!(ko, r.message, "{at}: still English");
        assert!(
            hangul(&words_only(&r.message_text)),
            "{at}: no Korean words in `{ko}`"
        );
        if let Some(e) = r.expected_in(Lang::Ko) {
            assert!(hangul(&words_only(&r.expected_text)), "{at}: `{e}`");
        }
    }

    // `report render --lang ko` of the saved English report says the same in Korean.
    let render = |path: &std::path::Path| {
        let o = Command::new(assert_cmd::cargo::cargo_bin("tenant-ready"))
            .args(["report", "render"])
            .arg(path)
            .args(["--lang", "ko", "--color", "never"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let human = render(out);
    assert!(
        human.contains(
            "MX가 Exchange Online이 아니라 mail.fabrikam.test (우선순위 10)을(를) 가리킵니다"
        ),
        "{human}"
    );
    assert!(!human.contains("not to Exchange Online"), "{human}");
    assert!(
        human.contains("기대값: 우선순위 값이 가장 낮은 MX가"),
        "{human}"
    );

    // A report written before the texts existed renders its English sentences as they are.
    let mut old = report.clone();
    for r in old["results"].as_array_mut().unwrap() {
        let r = r.as_object_mut().unwrap();
        r.remove("message_text");
        r.remove("expected_text");
    }
    let old_path = dir.path().join("old.json");
    std::fs::write(&old_path, serde_json::to_vec(&old).unwrap()).unwrap();
    let human = render(&old_path);
    assert!(
        human.contains("MX points to mail.fabrikam.test (preference 10), not to Exchange Online"),
        "{human}"
    );
    assert!(human.contains("판정: 준비 안 됨"), "{human}");
}
