//! `directory-objects`: the users, contacts and groups of the on-premises Active Directory
//! against the rules of the check file (IdFix's list and Microsoft's "Prepare for directory
//! synchronization"). Every check of this kind shares one read of the directory
//! ([`crate::directory::read::SharedRead`]); each judges its own rules' counts.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{ProbeCx, ProbeError};
use crate::directory::read::{Offender, SharedRead};
use crate::directory::rules::RuleSpec;
use crate::level::Level;
use crate::outcome::{Finding, Judgement};
use crate::text::Arg;

/// Offending objects shown in the evidence (the CSV report has them all).
pub const SHOWN: usize = 50;

/// `[check.probe]` of a `directory-objects` check.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryObjectsSpec {
    /// IdFix's well-known exclusions: `sAMAccountName` prefixes of system and service accounts.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// The rules.
    pub rule: Vec<Arc<RuleSpec>>,
}

/// Planned for the scan's directory.
#[derive(Clone, Debug)]
pub struct DirectoryObjectsTask {
    /// This check's place in the shared read's plan.
    pub group: usize,
    /// The read every directory check shares.
    pub shared: Arc<SharedRead>,
}

/// One rule's count.
#[derive(Clone, Debug, Serialize)]
pub struct RuleCount {
    /// Rule id.
    pub id: String,
    /// Attribute.
    pub attribute: String,
    /// Its level.
    pub level: Level,
    /// Offending values.
    pub count: u64,
    /// Where Microsoft says so.
    pub source: String,
}

/// What the read found for this check's rules.
#[derive(Clone, Debug, Serialize)]
pub struct DirectoryObjectsEvidence {
    /// The DC.
    pub server: String,
    /// Where the search started.
    pub base_dn: String,
    /// Objects judged, per class.
    pub objects: std::collections::BTreeMap<&'static str, u64>,
    /// Well-known system objects left out.
    pub excluded: u64,
    /// Per rule, in the check file's order.
    pub rules: Vec<RuleCount>,
    /// The first [`SHOWN`] offending values.
    pub offenders: Vec<Offender>,
    /// All offending values of these rules.
    pub offenders_total: u64,
    /// Search references to other domains, not followed.
    pub referrals_not_followed: Vec<String>,
}

/// The per-operation bound: a page of results or a bind, never the whole read (which the
/// check's own timeout bounds).
pub fn op_timeout(step: std::time::Duration) -> std::time::Duration {
    step.min(std::time::Duration::from_secs(30))
}

/// Reads (once per scan) and picks this check's part.
pub async fn observe(
    t: &DirectoryObjectsTask,
    cx: &ProbeCx,
) -> Result<DirectoryObjectsEvidence, ProbeError> {
    let read = t
        .shared
        .get(&cx.tls, op_timeout(cx.step))
        .await
        .map_err(ProbeError::from)?;
    let group = &t.shared.plan.groups[t.group];
    let mine = read.groups.get(t.group).cloned().unwrap_or_default();
    let rules = group
        .rules
        .iter()
        .map(|r| RuleCount {
            id: r.spec.id.clone(),
            attribute: r.spec.attribute.clone(),
            level: r.spec.level,
            count: mine.counts.get(&r.spec.id).copied().unwrap_or(0),
            source: r.spec.source.clone(),
        })
        .collect();
    Ok(DirectoryObjectsEvidence {
        server: read.server.clone(),
        base_dn: read.base_dn.clone(),
        objects: mine.objects.clone(),
        excluded: mine.excluded,
        rules,
        offenders_total: mine.counts.values().sum(),
        offenders: mine.offenders.iter().take(SHOWN).cloned().collect(),
        referrals_not_followed: read.referrals_not_followed.clone(),
    })
}

/// Each broken rule is a finding at its level; none is a pass that says what was read.
pub fn judge(t: &DirectoryObjectsTask, e: &DirectoryObjectsEvidence) -> Judgement {
    let group = &t.shared.plan.groups[t.group];
    let mut findings = Vec::new();
    for (rule, count) in group.rules.iter().zip(&e.rules) {
        if count.count == 0 {
            continue;
        }
        let example = e
            .offenders
            .iter()
            .find(|o| o.rule == rule.spec.id)
            .map_or_else(String::new, |o| o.dn.clone());
        let what = text!(
            "directory.rule-broken",
            count = count.count,
            title = Arg::local(&rule.spec.title, Some(&rule.spec.title_ko)),
            attribute = rule.spec.attribute.clone(),
            example = example
        );
        findings.push(match rule.spec.level {
            Level::Required => Finding::fail(what),
            level => level.missing(
                what,
                rule.spec
                    .why
                    .as_deref()
                    .map(|w| (w, rule.spec.why_ko.as_deref())),
            ),
        });
    }
    if !e.referrals_not_followed.is_empty() {
        findings.push(Finding::warn(text!(
            "directory.references",
            count = e.referrals_not_followed.len(),
            refs = e
                .referrals_not_followed
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let count = |c: &str| e.objects.get(c).copied().unwrap_or(0);
    Judgement::from_findings(
        findings,
        text!(
            "directory.rules-pass",
            users = count("user"),
            contacts = count("contact"),
            groups = count("group"),
            rules = e.rules.len(),
            base = e.base_dn.clone()
        ),
        vec![],
    )
}
