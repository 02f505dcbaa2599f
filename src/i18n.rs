//! The human reports' words in English and Korean, from `checks/messages.toml` (data, not strings
//! scattered in renderers). Missing keys show as the key itself, and a test fails on them.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

use crate::output::Lang;

/// The embedded catalogue.
pub const EMBEDDED_MESSAGES: &str = include_str!("../checks/messages.toml");

/// One message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// English.
    pub en: String,
    /// Korean.
    pub ko: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    msg: BTreeMap<String, Entry>,
}

/// Parses a catalogue (the embedded one is checked by a test).
pub fn parse(text: &str) -> Result<BTreeMap<String, Entry>, toml::de::Error> {
    toml::from_str::<File>(text).map(|f| f.msg)
}

static MESSAGES: LazyLock<BTreeMap<String, Entry>> =
    LazyLock::new(|| parse(EMBEDDED_MESSAGES).unwrap_or_default());

/// Every key the renderers use.
pub const KEYS: &[&str] = &[
    "status.pass",
    "status.warn",
    "status.fail",
    "status.error",
    "status.skip",
    "status.manual",
    "verdict.ready",
    "verdict.not-ready",
    "verdict.inconclusive",
    "verdict.label",
    "why.all-passed",
    "why.nothing-ran",
    "why.warnings",
    "why.failing",
    "why.undetermined",
    "summary",
    "label.expected",
    "label.fix",
    "label.docs",
    "label.evidence",
    "label.resolvers",
    "heading.title",
    "heading.problems",
    "heading.responsibilities",
    "heading.manual",
    "heading.manual-count",
    "heading.manual-hidden",
    "column.status",
    "column.check",
    "column.subject",
    "column.finding",
    "column.remediation",
    "column.responsibility",
    "column.results",
    "markdown.counts",
    "phase.general",
    "phase.initiate",
    "phase.assess",
    "phase.remediate",
    "phase.enable",
];

/// The message `key` in `lang`.
pub fn t(key: &str, lang: Lang) -> &'static str {
    match MESSAGES.get(key) {
        Some(e) => match lang {
            Lang::En => e.en.as_str(),
            Lang::Ko => e.ko.as_str(),
        },
        None => "?",
    }
}

/// The message with `{name}` placeholders filled.
pub fn tf(key: &str, lang: Lang, args: &[(&str, String)]) -> String {
    let mut s = t(key, lang).to_owned();
    for (k, v) in args {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_both_languages() {
        let m = parse(EMBEDDED_MESSAGES).unwrap();
        for k in KEYS {
            let e = m
                .get(*k)
                .unwrap_or_else(|| panic!("messages.toml lacks `{k}`"));
            assert!(
                !e.en.trim().is_empty() && !e.ko.trim().is_empty(),
                "`{k}` needs en and ko"
            );
        }
        for k in m.keys() {
            assert!(
                KEYS.contains(&k.as_str()),
                "`{k}` is not used (or missing from KEYS)"
            );
        }
        assert_eq!(
            tf(
                "why.failing",
                Lang::Ko,
                &[("fail", "2".into()), ("warn", "1".into())]
            ),
            "실패 2개, 경고 1개"
        );
    }
}
