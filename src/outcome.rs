//! The result vocabulary shared by probes, the runner and the reports: [`Status`], [`Severity`],
//! [`Judgement`] (what a pure judge decides) and [`CheckResult`] (one row of the report).
//!
//! Everything here is plain data (`Clone + Serialize`): errors are turned into sentences ([`Text`]) at the
//! runner boundary so results can be copied, compared and written without carrying sockets or
//! non-`Clone` error types around.

use serde::{Deserialize, Serialize};

use crate::output::Lang;
use crate::text::Text;

/// The verdict of one result (DESIGN.md §5).
///
/// `error` means the scanner could not find out (resolver unreachable, timeout, bug); the target
/// misbehaving (NXDOMAIN, wrong record) is a `fail`, never an `error`.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Not applicable to this subject, or not run.
    Skip,
    /// Meets the expectation.
    Pass,
    /// Works, but should be improved.
    Warn,
    /// Could not be determined.
    Error,
    /// Does not meet the expectation.
    Fail,
}

impl Status {
    /// Every status, in report order.
    pub const ALL: [Self; 5] = [Self::Pass, Self::Warn, Self::Fail, Self::Error, Self::Skip];

    /// The lower-case name used in JSON, JUnit and the terminal.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Warn => "warn",
            Self::Fail => "fail",
            Self::Error => "error",
            Self::Skip => "skip",
        }
    }

    /// How much attention the status needs when several are rolled up into one (a responsibility,
    /// a summary): fail > error > warn > pass > skip.
    pub fn weight(self) -> u8 {
        match self {
            Self::Skip => 0,
            Self::Pass => 1,
            Self::Warn => 2,
            Self::Error => 3,
            Self::Fail => 4,
        }
    }

    /// The worse of two statuses by [`Status::weight`].
    #[must_use]
    pub fn worst(self, other: Self) -> Self {
        if other.weight() > self.weight() {
            other
        } else {
            self
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much a failing check matters for the onboarding. Informational: it orders problems in the
/// reports but does not change the status.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Blocks the onboarding step.
    Critical,
    /// Breaks a feature for users.
    Major,
    /// Degrades a feature or is needed only in some set-ups.
    Minor,
    /// Advice only.
    Info,
}

impl Severity {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::Major => "major",
            Self::Minor => "minor",
            Self::Info => "info",
        }
    }
}

/// What a probe's pure judge decided from the evidence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judgement {
    /// `pass`, `warn` or `fail` (a judge never says `error` or `skip`: see [`Status`]).
    pub status: Status,
    /// Sentences for the customer (worst first): what is wrong (or right), naming the record.
    pub message: Vec<Text>,
    /// What was expected, in the customer's terms, where it applies.
    pub expected: Vec<Text>,
}

impl Judgement {
    /// Builds a judgement from problems found: no problem is a pass with `ok`; otherwise the
    /// worst problem sets the status and the sentences are kept, worst first.
    pub fn from_findings(
        findings: Vec<Finding>,
        ok: impl Into<Option<Text>>,
        expected: Vec<Text>,
    ) -> Self {
        let status = findings
            .iter()
            .map(|f| f.status)
            .fold(Status::Pass, Status::worst);
        let message = if findings.is_empty() {
            ok.into().into_iter().collect()
        } else {
            // Worst first, so the first sentence is the one to act on.
            let mut sorted = findings;
            sorted.sort_by_key(|f| std::cmp::Reverse(f.status.weight()));
            sorted.into_iter().map(|f| f.message).collect()
        };
        Self {
            status,
            message,
            expected,
        }
    }

    /// One judgement of `status` saying `message`.
    pub fn new(status: Status, message: Text, expected: Vec<Text>) -> Self {
        Self {
            status,
            message: vec![message],
            expected,
        }
    }

    /// The message in English, as the JSON `message` carries it.
    pub fn message(&self) -> String {
        english(&self.message)
    }

    /// The expectation in English, if there is one.
    pub fn expected(&self) -> Option<String> {
        (!self.expected.is_empty()).then(|| english(&self.expected))
    }
}

/// Sentences in English, joined as the reports always joined them (an unknown key, which the
/// catalogue test rules out for this build's own texts, shows as the key).
pub fn english(texts: &[Text]) -> String {
    crate::text::join(texts, Lang::En).unwrap_or_else(|| {
        texts
            .iter()
            .map(|t| t.render(Lang::En))
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// One problem (or note) a judge found: a `warn` or `fail` with its sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// `warn` or `fail`.
    pub status: Status,
    /// The sentence for the customer.
    pub message: Text,
}

impl Finding {
    /// A failing finding.
    pub fn fail(message: Text) -> Self {
        Self {
            status: Status::Fail,
            message,
        }
    }
    /// A warning.
    pub fn warn(message: Text) -> Self {
        Self {
            status: Status::Warn,
            message,
        }
    }
}

/// One row of the report: one check about one subject (DESIGN.md §5-§6).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CheckResult {
    /// Check id, e.g. `dns.mx`.
    pub check: String,
    /// The domain or host:port the result is about.
    pub subject: String,
    /// The verdict.
    pub status: Status,
    /// From the check definition.
    pub severity: Severity,
    /// One sentence for the customer, in English.
    pub message: String,
    /// What was expected, where it applies, in English.
    pub expected: Option<String>,
    /// `message` as data: the sentences' keys in `checks/messages.toml` and their arguments,
    /// joined with `; ` (so `report render --lang ko` can say it in Korean). Absent in reports
    /// written before it existed (they render in English).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub message_text: Vec<Text>,
    /// `expected` as data, like `message_text`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expected_text: Vec<Text>,
    /// Raw observed values (per probe kind); on `error` it carries `error.kind`. DNS checks say
    /// per expectation whether it was checked `exact` (with `from`: tenant.toml, a DKIM export, or
    /// `Microsoft Graph (…)` with `--graph`) or by `shape`. `entra.domain`: `login`, `domain` and
    /// `initial_domain` (OpenID discovery: `url`, `http_status`, `tenant_id`, `issuer`,
    /// `cloud_instance_name`, `tenant_region_scope`, `error`, `not_found`) and `realm` (home
    /// realm discovery: `url`, `namespace_type`, `domain_name`, `federation_brand_name`,
    /// `auth_url`, `cloud_instance_name`).
    #[schemars(with = "serde_json::Value")]
    pub evidence: Evidence,
    /// What to do about a `warn`/`fail`/`error`.
    pub remediation: Option<String>,
    /// Primary responsibility id.
    pub responsibility: String,
    /// Documentation link.
    pub docs: Option<String>,
    /// Time the probe ran, measured by the runner.
    pub duration_ms: u64,
    /// The remediation in Korean, when the check has one (`--lang ko` renders it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation_ko: Option<String>,
    /// The site (vantage) it was measured from, in a merged report (`report merge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
}

impl CheckResult {
    /// The finding in `lang`: from `message_text` when every key is known to this build, else
    /// the stored English `message` (a report written before the texts, or by a newer version).
    pub fn message_in(&self, lang: Lang) -> std::borrow::Cow<'_, str> {
        in_lang(&self.message_text, lang).map_or(
            std::borrow::Cow::Borrowed(self.message.as_str()),
            std::borrow::Cow::Owned,
        )
    }

    /// The expectation in `lang`, the same way.
    pub fn expected_in(&self, lang: Lang) -> Option<std::borrow::Cow<'_, str>> {
        let stored = self.expected.as_deref()?;
        Some(
            in_lang(&self.expected_text, lang)
                .map_or(std::borrow::Cow::Borrowed(stored), std::borrow::Cow::Owned),
        )
    }

    /// The remediation in `lang` (Korean when the check has it, else English).
    pub fn remediation_in(&self, lang: Lang) -> Option<&str> {
        match lang {
            Lang::Ko => self.remediation_ko.as_ref().or(self.remediation.as_ref()),
            Lang::En => self.remediation.as_ref(),
        }
        .map(String::as_str)
    }
}

/// English is what `message` already says; other languages render the texts.
fn in_lang(texts: &[Text], lang: Lang) -> Option<String> {
    if lang == Lang::En || texts.is_empty() {
        return None;
    }
    crate::text::join(texts, lang)
}

/// A result's evidence: the probe's observations as JSON text.
///
/// Why text and not a [`serde_json::Value`]: a `Value` tree costs ~7× its JSON (a `BTreeMap` node
/// per object), and results are kept until the report is written; at 1,000 domains the trees were
/// the largest single part of the scan's heap (30 MB of its 90 MB peak). Readers (charts,
/// renderers, tests) get a parsed view on demand: [`Evidence::value`], or `evidence["key"]`.
#[derive(Default)]
pub struct Evidence {
    raw: Option<Box<serde_json::value::RawValue>>,
    /// Parsed on first use by a reader that holds on to the result (tests, the charts).
    parsed: std::sync::OnceLock<serde_json::Value>,
}

impl Evidence {
    /// The evidence of a probe: its serialisation (plain data, so this cannot fail; `null` if
    /// it somehow did).
    pub fn of<T: Serialize + ?Sized>(evidence: &T) -> Self {
        Self {
            raw: serde_json::value::to_raw_value(evidence).ok(),
            parsed: std::sync::OnceLock::new(),
        }
    }

    /// `null`: no evidence (a skipped check, a placeholder).
    pub fn null() -> Self {
        Self::default()
    }

    /// The JSON text (`null` when there is none).
    pub fn raw(&self) -> &str {
        self.raw
            .as_deref()
            .map_or("null", serde_json::value::RawValue::get)
    }

    /// The evidence parsed (kept: call [`Evidence::to_value`] for a one-off copy).
    pub fn value(&self) -> &serde_json::Value {
        self.parsed.get_or_init(|| self.to_value())
    }

    /// A freshly parsed copy, not kept.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(self.raw()).unwrap_or(serde_json::Value::Null)
    }

    /// One field of an object (`None` for other values).
    pub fn get(&self, key: &str) -> Option<&serde_json::Value> {
        self.value().get(key)
    }

    /// Pretty-printed, for the reports that show it.
    pub fn pretty(&self) -> String {
        serde_json::to_string_pretty(&self.to_value()).unwrap_or_default()
    }

    /// Rewrites the evidence through its parsed form (redaction).
    pub fn edit(&mut self, f: impl FnOnce(&mut serde_json::Value)) {
        let mut v = self.to_value();
        f(&mut v);
        *self = Self::of(&v);
    }
}

impl From<serde_json::Value> for Evidence {
    fn from(v: serde_json::Value) -> Self {
        Self::of(&v)
    }
}

impl Clone for Evidence {
    fn clone(&self) -> Self {
        Self {
            raw: self.raw.clone(),
            parsed: std::sync::OnceLock::new(),
        }
    }
}

impl PartialEq for Evidence {
    /// Equal as JSON values (key order and spacing aside).
    fn eq(&self, other: &Self) -> bool {
        self.raw() == other.raw() || self.to_value() == other.to_value()
    }
}

impl std::fmt::Debug for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.raw())
    }
}

impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.raw())
    }
}

impl std::ops::Index<&str> for Evidence {
    type Output = serde_json::Value;

    fn index(&self, key: &str) -> &serde_json::Value {
        &self.value()[key]
    }
}

impl Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.raw {
            Some(raw) => raw.serialize(s),
            None => s.serialize_unit(),
        }
    }
}

impl<'de> Deserialize<'de> for Evidence {
    /// Through a `Value`, so it works from any deserializer (`from_value` too, which a raw
    /// value cannot).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Ok(if v.is_null() {
            Self::null()
        } else {
            Self::of(&v)
        })
    }
}
