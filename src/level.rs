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

    /// The finding for something absent: `what` says what is missing; for a level below
    /// `required` the warning says why it still matters (`why`, from the check file).
    pub fn missing(self, what: &str, why: Option<&str>) -> Finding {
        match self {
            Self::Required => Finding::fail(what),
            Self::Recommended | Self::Optional => Finding::warn(match why {
                Some(w) if !w.is_empty() => format!("{what} ({}: {w})", self.as_str()),
                _ => format!("{what} ({})", self.as_str()),
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
}

impl Requirement {
    /// Plans a spec's `level` and `why` for one subject (`why` may use templates).
    pub fn plan(
        level: Level,
        why: Option<&Arc<str>>,
        vars: &crate::pattern::Vars,
    ) -> Result<Self, crate::pattern::TemplateError> {
        let why = match why {
            Some(w) if w.contains('{') => Some(Arc::from(vars.expand_text(w)?)),
            other => other.cloned(),
        };
        Ok(Self { level, why })
    }

    /// The finding for the thing being absent ([`Level::missing`]).
    pub fn missing(&self, what: &str) -> Finding {
        self.level.missing(what, self.why.as_deref())
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

/// The rule for `port` of a set that is (or is not) required: the first entry of `levels` that
/// covers it, else the set's own level.
pub fn port_rule(port: u16, set_required: bool, levels: &[PortLevel]) -> PortRule {
    match levels.iter().find(|l| l.covers(port)) {
        Some(l) => PortRule {
            port,
            level: l.level,
            informational: l.informational,
            why: l.why.clone(),
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
            why: (!set_required).then(|| "Microsoft marks this endpoint set optional".to_owned()),
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
            source: None,
        }];
        assert_eq!(port_rule(3478, true, &levels).level, Level::Required);
        assert_eq!(port_rule(3480, true, &levels).level, Level::Optional);
        assert_eq!(port_rule(443, true, &levels).level, Level::Required);
        assert_eq!(port_rule(443, false, &levels).level, Level::Optional);
    }

    #[test]
    fn absence_by_level() {
        let f = Level::Required.missing("x has no CNAME record", Some("ignored"));
        assert_eq!(
            (f.status, f.message.as_str()),
            (Status::Fail, "x has no CNAME record")
        );
        let f = Level::Optional.missing("x has no CNAME record", Some("only old phones need it"));
        assert_eq!(f.status, Status::Warn);
        assert_eq!(
            f.message,
            "x has no CNAME record (optional: only old phones need it)"
        );
        let f = Level::Recommended.missing("no DMARC record", None);
        assert_eq!(f.message, "no DMARC record (recommended)");
    }
}
