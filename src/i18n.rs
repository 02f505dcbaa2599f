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

/// The two tables of `messages.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// The renderers' words (`[msg."…"]`), keyed as in [`KEYS`].
    pub msg: BTreeMap<String, Entry>,
    /// The results' sentences (`[text."…"]`): findings, expectations, errors and skip reasons,
    /// filled in by [`crate::text::Text`].
    #[serde(default)]
    pub text: BTreeMap<String, Entry>,
}

/// Parses a catalogue (the embedded one is checked by a test).
pub fn parse(text: &str) -> Result<Catalogue, toml::de::Error> {
    toml::from_str::<Catalogue>(text)
}

static CATALOGUE: LazyLock<Catalogue> =
    LazyLock::new(|| parse(EMBEDDED_MESSAGES).unwrap_or_default());

/// The template of a result sentence in `lang`, if this build has it.
pub fn template(key: &str, lang: Lang) -> Option<&'static str> {
    #[cfg(test)]
    if key == "test.pair" {
        return Some(match lang {
            Lang::En => "{a} and {b}",
            Lang::Ko => "{a} 그리고 {b}",
        });
    }
    CATALOGUE.text.get(key).map(|e| match lang {
        Lang::En => e.en.as_str(),
        Lang::Ko => e.ko.as_str(),
    })
}

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
    "title.corrected",
    "chart.matrix",
    "chart.matrix-left-out",
    "progress.measuring",
    "progress.finishing",
    "large.note",
    "large.subjects",
    "large.subjects-left-out",
    "large.page",
    "list.more",
    "section.domains",
    "section.endpoints",
    "section.network",
    "section.other",
    "change.regressed",
    "change.fixed",
    "change.new",
    "change.gone",
    "chart.phases",
    "chart.phase-counts",
    "chart.certificates",
    "chart.fail-at",
    "chart.warn-at",
    "chart.days",
    "chart.no-certificate",
    "chart.quality",
    "chart.latency",
    "chart.median",
    "chart.p90",
    "chart.target",
    "chart.samples",
    "chart.binned",
    "chart.bandwidth",
    "chart.download",
    "chart.upload",
    "chart.measured",
    "chart.needed",
    "chart.model",
    "heading.diff",
    "diff.counts",
    "markdown.matrix-legend",
];

/// A responsibility's title in `lang`: English, or the seed's Korean line with a corrected
/// translation beside it where the seed's misleads.
pub fn title<'a>(
    en: &'a str,
    ko: &'a str,
    ko_corrected: Option<&str>,
    lang: Lang,
) -> std::borrow::Cow<'a, str> {
    match (lang, ko_corrected) {
        (Lang::En, _) => en.into(),
        (Lang::Ko, None) => ko.into(),
        (Lang::Ko, Some(c)) => tf(
            "title.corrected",
            lang,
            &[("seed", ko.to_owned()), ("corrected", c.to_owned())],
        )
        .into(),
    }
}

/// The message `key` in `lang`.
pub fn t(key: &str, lang: Lang) -> &'static str {
    match CATALOGUE.msg.get(key) {
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
        let m = parse(EMBEDDED_MESSAGES).unwrap().msg;
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

    /// The `{names}` of a template, sorted and deduplicated.
    fn placeholders(template: &str) -> Vec<&str> {
        let mut out: Vec<&str> = template
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .filter(|n| {
                !n.is_empty()
                    && n.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    fn sources(dir: &std::path::Path, out: &mut String) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                sources(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push_str(&std::fs::read_to_string(&p).unwrap());
            }
        }
    }

    /// Every result sentence has both languages (Korean using only the English placeholders), every `text!` key in
    /// the code is in the catalogue, and every catalogue sentence is used somewhere.
    #[test]
    fn every_result_sentence_has_both_languages_and_is_used() {
        let texts = parse(EMBEDDED_MESSAGES).unwrap().text;
        assert!(texts.len() > 200, "{} sentences", texts.len());
        let hangul = |s: &str| s.chars().any(|c| ('\u{AC00}'..='\u{D7A3}').contains(&c));
        for (k, e) in &texts {
            // Korean may leave out an argument English needs (`is a wildcard`/`are wildcards`),
            // never use one the code does not give.
            let en = placeholders(&e.en);
            assert!(
                placeholders(&e.ko).iter().all(|p| en.contains(p)),
                "`{k}`: the Korean text uses a placeholder the English one does not: {}",
                e.ko
            );
            // A template with words of its own says them in Korean; an arrangement of
            // placeholders, punctuation and acronyms (`UDP {port} {state} ({level})`) has none
            // to translate.
            let words =
                e.en.split('{')
                    .map(|part| part.split_once('}').map_or(part, |(_, rest)| rest))
                    .any(|rest| {
                        rest.split(|c: char| !c.is_alphabetic())
                            .any(|w| w.chars().filter(char::is_ascii_lowercase).count() >= 2)
                    });
            assert!(
                !words || hangul(&e.ko),
                "`{k}`: the Korean text has no Hangul: {}",
                e.ko
            );
        }
        let mut code = String::new();
        sources(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut code,
        );
        for used in code.split("text!(").skip(1) {
            let Some(key) = used
                .trim_start()
                .strip_prefix('"')
                .and_then(|r| r.split_once('"'))
                .map(|(k, _)| k)
                .filter(|k| {
                    !k.is_empty()
                        && k.bytes().all(|b| {
                            b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b)
                        })
                })
            else {
                continue;
            };
            assert!(
                key == "test.pair" || texts.contains_key(key),
                "`text!(\"{key}\")` has no entry in messages.toml"
            );
        }
        for k in texts.keys() {
            assert!(
                code.contains(&format!("\"{k}\"")),
                "messages.toml `[text.\"{k}\"]` is not used by the code"
            );
        }
    }
}
