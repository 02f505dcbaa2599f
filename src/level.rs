//! Requirement levels (DESIGN.md §10): how strongly Microsoft asks for a record or a port, as the
//! check files say with its source. The level decides what its *absence* means; a record that is
//! published but wrong is a failure whatever its level (it misleads clients and mail servers).
//!
//! | level | missing / blocked | Microsoft's words |
//! |---|---|---|
//! | `required` | `fail` | "required", "must" |
//! | `recommended` | `warn`, saying why it matters | "recommended", "should" |
//! | `optional` | `warn`, saying who still needs it (legacy records are optional) | "optional", "may be needed" |
//!
//! Ports add one rule of their own (see `checks/README.md`): an `informational` port is reported,
//! never judged.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::outcome::Finding;
use crate::text::{Arg, Text};

/// How strongly Microsoft asks for something.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Without it the service (or the onboarding step) does not work.
    #[default]
    Required,
    /// Microsoft recommends it; things work without it, less well or less safely.
    Recommended,
    /// Needed only in some set-ups (legacy records, optional conveniences).
    Optional,
}

impl Level {
    /// The lower-case name used in files and evidence.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::Recommended => "recommended",
            Self::Optional => "optional",
        }
    }

    /// The level as a word of the reports (`optional`, `선택`).
    pub fn text(self) -> Text {
        match self {
            Self::Required => text!("level.required"),
            Self::Recommended => text!("level.recommended"),
            Self::Optional => text!("level.optional"),
        }
    }

    /// The finding for something absent: `what` says what is missing; for a level below
    /// `required` the warning says why it still matters (`why` and `why_ko`, from the check
    /// file).
    pub fn missing(self, what: Text, why: Option<(&str, Option<&str>)>) -> Finding {
        match self {
            Self::Required => Finding::fail(what),
            Self::Recommended | Self::Optional => Finding::warn(match why {
                Some((w, ko)) if !w.is_empty() => text!(
                    "level.missing-why",
                    what = what,
                    level = self.text(),
                    why = Arg::local(w, ko)
                ),
                _ => text!("level.missing", what = what, level = self.text()),
            }),
        }
    }
}

/// A record's requirement as planned for one subject: its level and why. The check files spell
/// `level`, `why` and `source` out on each spec (serde cannot flatten them into a table that also
/// denies unknown fields); tasks carry this one struct. `source` stays with the check definition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requirement {
    /// How strongly Microsoft asks for it.
    pub level: Level,
    /// Why it matters / who needs it. Shared, not copied, when it has no templates: a scan of
    /// thousands of domains plans it once per record per domain.
    pub why: Option<Arc<str>>,
    /// `why` in Korean (`why_ko` in the check file), when it has one.
    pub why_ko: Option<Arc<str>>,
}

impl Requirement {
    /// Plans a spec's `level`, `why` and `why_ko` for one subject (both may use templates).
    pub fn plan(
        level: Level,
        why: Option<&Arc<str>>,
        why_ko: Option<&Arc<str>>,
        vars: &crate::pattern::Vars,
    ) -> Result<Self, crate::pattern::TemplateError> {
        let expand = |w: Option<&Arc<str>>| -> Result<_, crate::pattern::TemplateError> {
            Ok(match w {
                Some(w) if w.contains('{') => Some(Arc::from(vars.expand_text(w)?)),
                other => other.cloned(),
            })
        };
        Ok(Self {
            level,
            why: expand(why)?,
            why_ko: expand(why_ko)?,
        })
    }

    /// The finding for the thing being absent ([`Level::missing`]).
    pub fn missing(&self, what: Text) -> Finding {
        self.level.missing(
            what,
            self.why.as_deref().map(|w| (w, self.why_ko.as_deref())),
        )
    }
}

/// `[[check.probe.port]]` of the network kinds: the level of some ports, overriding the endpoint
/// set's own (a port of a `required: true` set is `required`, of an optional set `optional`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortLevel {
    /// Ports and ranges as the endpoint list writes them: `"25"`, `"3479-3481"`, `"80,443"`.
    pub ports: String,
    /// How strongly Microsoft asks for them.
    pub level: Level,
    /// Reported, never judged (a blocked port is no finding). Only with `level = "optional"`.
    #[serde(default)]
    pub informational: bool,
    /// Who needs the ports: what the warning or note tells the customer. Required below
    /// `required`.
    #[serde(default)]
    pub why: Option<String>,
    /// `why` in Korean.
    #[serde(default)]
    pub why_ko: Option<String>,
    /// Where Microsoft says so.
    #[serde(default)]
    pub source: Option<String>,
}

/// The rule one port is judged by.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PortRule {
    /// The port.
    pub port: u16,
    /// Its level.
    pub level: Level,
    /// Reported, never judged.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub informational: bool,
    /// Who needs it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// Who needs it, in Korean (not in the evidence: the report's sentence carries it).
    #[serde(skip)]
    pub why_ko: Option<String>,
    /// Where Microsoft says so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl PortLevel {
    /// The ports this entry covers (checked at catalogue load).
    pub fn covers(&self, port: u16) -> bool {
        crate::endpoint_sets::parse_ports(&self.ports)
            .unwrap_or_default()
            .iter()
            .any(|r| r.contains(&port))
    }
}

/// Why a port of an optional endpoint set is optional (English, Korean).
const OPTIONAL_SET: (&str, &str) = (
    "Microsoft marks this endpoint set optional",
    "Microsoft가 이 엔드포인트 집합을 선택 사항으로 표시합니다",
);

/// The rule for `port` of a set that is (or is not) required: the first entry of `levels` that
/// covers it, else the set's own level.
pub fn port_rule(port: u16, set_required: bool, levels: &[PortLevel]) -> PortRule {
    match levels.iter().find(|l| l.covers(port)) {
        Some(l) => PortRule {
            port,
            level: l.level,
            informational: l.informational,
            why: l.why.clone(),
            why_ko: l.why_ko.clone(),
            source: l.source.clone(),
        },
        None => PortRule {
            port,
            level: if set_required {
                Level::Required
            } else {
                Level::Optional
            },
            informational: false,
            why: (!set_required).then(|| OPTIONAL_SET.0.to_owned()),
            why_ko: (!set_required).then(|| OPTIONAL_SET.1.to_owned()),
            source: None,
        },
    }
}

/// The rule `port` is judged by among a task's rules (a port without one is required).
pub fn rule_for(rules: &[PortRule], port: u16) -> PortRule {
    rules
        .iter()
        .find(|r| r.port == port)
        .cloned()
        .unwrap_or_else(|| port_rule(port, true, &[]))
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Status;

    #[test]
    fn port_rules_override_the_set() {
        let levels = vec![PortLevel {
            ports: "3479-3481".into(),
            level: Level::Optional,
            informational: false,
            why: Some("port-based tagging".into()),
            why_ko: None,
            source: None,
        }];
        assert_eq!(port_rule(3478, true, &levels).level, Level::Required);
        assert_eq!(port_rule(3480, true, &levels).level, Level::Optional);
        assert_eq!(port_rule(443, true, &levels).level, Level::Required);
        assert_eq!(port_rule(443, false, &levels).level, Level::Optional);
    }

    #[test]
    fn absence_by_level() {
        use crate::output::Lang;
        let what = || {
            text!(
                "dns-record.none",
                name = "x",
                rtype = "CNAME",
                why = text!("dns-record.name-exists")
            )
        };
        let f = Level::Required.missing(what(), Some(("ignored", None)));
        assert_eq!(f.status, Status::Fail);
        assert_eq!(f.message, what());
        let f = Level::Optional.missing(
            what(),
            Some((
                "only old phones need it",
                Some("오래된 전화기만 필요합니다"),
            )),
        );
        assert_eq!(f.status, Status::Warn);
        assert_eq!(
            f.message.render(Lang::En),
            "x has no CNAME record (the name exists without this record type) (optional: only old phones need it)"
        );
        assert!(
            f.message
                .render(Lang::Ko)
                .contains("(선택: 오래된 전화기만 필요합니다)")
        );
        let f = Level::Recommended.missing(what(), None);
        assert!(f.message.render(Lang::En).ends_with(" (recommended)"));
    }
}
