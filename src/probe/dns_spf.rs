//! `dns-spf`: the domain's SPF record authorises Exchange Online and stays within the RFC 7208
//! processing limits.
//!
//! What it authorises is evaluated, not read from its text: after the walk below, RFC 7208
//! `check_host()` ([`super::spf_eval`]) runs the record for the first and last address of every
//! range the cloud's include authorises, as a receiver would for mail Exchange Online sends. A
//! flattened record passes; a range left out, or an include shadowed by an earlier term, fails
//! naming the range.
//!
//! The walk follows every `include` and `redirect` and performs the lookups of `a`, `mx` and
//! `exists` (RFC 7208 §4.6.4), counting DNS-querying terms (limit 10) and void lookups (NXDOMAIN or
//! no answer, limit 2), and detecting include loops and nested domains without an SPF record.
//! A receiver evaluates for one sender address and stops at the first match; a readiness check has
//! no sender, so it counts the **whole tree** as a receiver evaluating a sender no term matches
//! would — every DNS-querying term before `all`, plus `redirect=` without `all` — the worst case
//! a receiver can hit, as checkdmarc does. Each record's terms are counted as soon as it is
//! fetched, so a lookup bomb is a permerror after a few fetches. Records are checked against the
//! RFC 7208 §12 grammar ([`crate::spf`]); a name that cannot be put on the wire is a lookup with
//! no answer, never an error. `tests/it/spf_suite.rs` runs the RFC 7208 community test suite. Terms whose domain uses macros (`%{i}`) cannot be expanded without a sender: they count
//! once and are not followed (listed in the evidence). `ptr` is counted but not resolved.
//! For `mx`, only the RFC's "at most 10 MX hosts" rule is checked; the A lookups of those hosts are
//! not performed.

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

use super::dns::{Answer, Question, Rtype};
use super::{PlanCx, ProbeCx, ProbeError};
use crate::outcome::{Finding, Judgement};
use crate::pattern::{TemplateError, normalize_name};
use crate::spf::{self, Mechanism, Qualifier};
use crate::text::Text;

/// `[check.probe]` of kind `dns-spf`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsSpfSpec {
    /// The include the tenant's cloud needs (`{cloud.spf_include}`).
    pub include: String,
    /// DNS-querying term limit (RFC 7208: 10).
    #[serde(default = "default_max_lookups")]
    pub max_lookups: u32,
    /// Void lookup limit (RFC 7208: 2).
    #[serde(default = "default_max_void")]
    pub max_void_lookups: u32,
    /// How strongly Microsoft asks for the SPF record (default `required`).
    #[serde(default)]
    pub level: crate::level::Level,
    /// Why it matters, for levels below `required`.
    #[serde(default)]
    pub why: Option<std::sync::Arc<str>>,
    /// `why` in Korean.
    #[serde(default)]
    pub why_ko: Option<std::sync::Arc<str>>,
    /// Where Microsoft documents it (kept with the data; shown by `tenant-ready checks`).
    #[serde(default)]
    pub source: Option<String>,
}

fn default_max_lookups() -> u32 {
    10
}
fn default_max_void() -> u32 {
    2
}

/// Planned `dns-spf`.
#[derive(Clone, Debug)]
pub struct DnsSpfTask {
    /// The domain.
    pub domain: String,
    /// Required include.
    pub include: String,
    /// Term limit.
    pub max_lookups: u32,
    /// Void limit.
    pub max_void_lookups: u32,
    /// How strongly Microsoft asks for the SPF record.
    pub requirement: crate::level::Requirement,
}

impl DnsSpfSpec {
    /// Expands templates for one domain.
    pub fn plan(&self, cx: &PlanCx<'_>) -> Result<DnsSpfTask, TemplateError> {
        Ok(DnsSpfTask {
            domain: cx.domain.to_string(),
            include: normalize_name(&cx.vars.expand_one(&self.include)?),
            max_lookups: self.max_lookups,
            max_void_lookups: self.max_void_lookups,
            requirement: crate::level::Requirement::plan(
                self.level,
                self.why.as_ref(),
                self.why_ko.as_ref(),
                cx.vars,
            )?,
        })
    }
}

impl DnsSpfTask {
    /// The apex TXT question.
    pub fn question(&self) -> Question {
        Question::new(&self.domain, Rtype::TXT)
    }
}

/// One record visited by the walk.
#[derive(Clone, Debug, Serialize)]
pub struct SpfNode {
    /// The domain whose record this is.
    pub domain: String,
    /// How it was reached (`include`, `redirect`, or `top`).
    pub via: &'static str,
    /// The SPF record, if there was exactly one.
    pub record: Option<String>,
    /// Qualifier of the effective `all` of this record (following its redirect).
    pub all: Option<char>,
    /// Records visited from here.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<SpfNode>,
}

/// Why the record is a `permerror` for receivers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SpfProblem {
    /// `too_many_lookups`, `too_many_void_lookups`, `loop`, `missing_record`, `multiple_records`,
    /// `syntax`, `too_many_mx`.
    pub kind: &'static str,
    /// For a person.
    #[serde(serialize_with = "crate::text::serialize_en")]
    pub reason: Text,
}

/// What was seen.
#[derive(Clone, Debug, Serialize)]
pub struct DnsSpfEvidence {
    /// All TXT records at the apex.
    pub apex_txt: Vec<String>,
    /// The SPF records among them.
    pub spf_records: Vec<String>,
    /// DNS-querying terms counted (stops one past the limit).
    pub lookups: u32,
    /// Void lookups counted.
    pub void_lookups: u32,
    /// Whether the cloud's include was found anywhere in the tree.
    pub includes_cloud: bool,
    /// Qualifier of the effective `all` (after redirects), e.g. `-`.
    pub all: Option<char>,
    /// Whether `ptr` is used (deprecated, RFC 7208 §5.5).
    pub ptr_used: bool,
    /// Terms not followed because they use macros.
    pub unexpanded_macros: Vec<String>,
    /// The permerror, if any.
    pub problem: Option<SpfProblem>,
    /// The records visited.
    pub tree: Option<SpfNode>,
    /// The record evaluated (RFC 7208 `check_host()`) for Microsoft's sending ranges: what it
    /// authorises, whatever its text says. Absent when the record is missing or broken, or when
    /// the cloud's include lists no range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorises: Option<Authorisation>,
}

/// What the domain's record concludes for Exchange Online's sending addresses.
#[derive(Clone, Debug, Serialize)]
pub struct Authorisation {
    /// The ranges of the cloud's SPF include (and the includes it names), each evaluated at its
    /// first and last address.
    pub ranges: usize,
    /// The ranges whose addresses do not pass, with what the record gives them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_authorised: Vec<Unauthorised>,
}

/// A sending range the record does not authorise.
#[derive(Clone, Debug, Serialize)]
pub struct Unauthorised {
    /// `40.92.0.0/15`.
    pub range: String,
    /// The address evaluated.
    pub address: String,
    /// What `check_host()` gave it (`fail`, `softfail`, `neutral`, `permerror`).
    pub result: super::spf_eval::SpfResult,
}

/// Evaluates the domain's record for the first and last address of every range the cloud's SPF
/// include authorises (as a receiver would for mail Exchange Online sends: MAIL FROM
/// `postmaster@<domain>`, HELO the domain). A DNS failure during an evaluation is an error: the
/// verdict would rest on it.
async fn authorisation(t: &DnsSpfTask, cx: &ProbeCx) -> Result<Option<Authorisation>, ProbeError> {
    use super::spf_eval::{Evaluator, Identity, SpfResult, ends_of};
    let networks = cx
        .spf_networks
        .get(&cx.resolver, &t.include, t.max_lookups)
        .await?;
    if networks.is_empty() {
        return Ok(None);
    }
    let evaluator = Evaluator::new(&cx.resolver, Some(&cx.spf_includes));
    let mut not_authorised = Vec::new();
    for (net, len) in networks.iter() {
        for ip in ends_of(*net, *len) {
            let id = Identity {
                ip,
                sender: format!("postmaster@{}", t.domain),
                helo: t.domain.clone(),
            };
            match evaluator.check_host(&id, &t.domain).await {
                SpfResult::Pass => {}
                SpfResult::Temperror => {
                    return Err(ProbeError::dns(
                        "temperror",
                        text!(
                            "spf.eval-temperror",
                            domain = &t.domain,
                            address = ip.to_string()
                        ),
                    ));
                }
                result => {
                    not_authorised.push(Unauthorised {
                        range: format!("{net}/{len}"),
                        address: ip.to_string(),
                        result,
                    });
                    break; // one address is enough to name the range
                }
            }
        }
    }
    Ok(Some(Authorisation {
        ranges: networks.len(),
        not_authorised,
    }))
}

struct Walker<'a> {
    cx: &'a ProbeCx,
    task: &'a DnsSpfTask,
    lookups: u32,
    void: u32,
    stack: Vec<String>,
    includes_cloud: bool,
    ptr_used: bool,
    macros: Vec<String>,
    problem: Option<SpfProblem>,
}

type WalkFuture<'w> = Pin<Box<dyn Future<Output = Result<SpfNode, ProbeError>> + Send + 'w>>;

impl Walker<'_> {
    fn stopped(&self) -> bool {
        self.problem.is_some()
    }

    fn permerror(&mut self, kind: &'static str, reason: Text) {
        if self.problem.is_none() {
            self.problem = Some(SpfProblem { kind, reason });
        }
    }

    /// Counts one DNS-querying term; false when the limit is now exceeded.
    fn count(&mut self, term: &str, domain: &str) -> bool {
        self.lookups += 1;
        if self.lookups > self.task.max_lookups {
            self.permerror(
                "too_many_lookups",
                text!(
                    "spf.too-many-lookups",
                    max = self.task.max_lookups,
                    nth = self.lookups,
                    term = term,
                    domain = domain
                ),
            );
            return false;
        }
        true
    }

    fn void_lookup(&mut self, what: &str) {
        self.void += 1;
        if self.void > self.task.max_void_lookups {
            self.permerror(
                "too_many_void_lookups",
                text!(
                    "spf.too-many-void",
                    max = self.task.max_void_lookups,
                    name = what
                ),
            );
        }
    }

    async fn exists(&mut self, q: Question) -> Result<(Answer, bool), ProbeError> {
        // A name that cannot be asked for (`foo:bar`, `example.-com`) has nothing there.
        if !super::dns::can_query(&q.name) {
            return Ok((Answer::Nxdomain, true));
        }
        let answer = self.cx.resolver.query(&q).await?.answer;
        let void = answer.records().is_empty();
        Ok((answer, void))
    }

    /// Visits the SPF record of `domain`.
    fn visit<'w>(&'w mut self, domain: String, via: &'static str) -> WalkFuture<'w> {
        Box::pin(async move {
            let mut node = SpfNode {
                domain: domain.clone(),
                via,
                record: None,
                all: None,
                children: vec![],
            };
            let answer = if super::dns::can_query(&domain) {
                self.cx
                    .resolver
                    .query(&Question::new(&domain, Rtype::TXT))
                    .await?
                    .answer
            } else {
                Answer::Nxdomain
            };
            let spf: Vec<&String> = answer.records().iter().filter(|t| spf::is_spf(t)).collect();
            let text = match spf.as_slice() {
                [one] => (*one).clone(),
                [] => {
                    if answer.records().is_empty() {
                        self.void_lookup(&domain);
                    }
                    self.permerror(
                        "missing_record",
                        text!("spf.missing-record", via = via, domain = &domain),
                    );
                    return Ok(node);
                }
                many => {
                    self.permerror(
                        "multiple_records",
                        text!(
                            "spf.multiple-reached",
                            domain = &domain,
                            via = via,
                            n = many.len()
                        ),
                    );
                    return Ok(node);
                }
            };
            node.record = Some(text.clone());
            let rec = match spf::parse(&text) {
                Ok(r) => r,
                Err(reason) => {
                    self.permerror(
                        "syntax",
                        text!("spf.syntax", domain = &domain, reason = reason),
                    );
                    return Ok(node);
                }
            };
            // A receiver evaluating a sender that no term matches evaluates every term before
            // `all` (and redirect= when there is no `all`): count them all now, as soon as the
            // record is fetched, so a lookup bomb (includes 5 wide and 8 deep) is a permerror
            // after a few fetches instead of a walk down every branch. Terms after `all` are
            // never evaluated.
            let evaluated: Vec<&spf::Directive> = rec
                .directives
                .iter()
                .take_while(|d| d.mechanism != Mechanism::All)
                .collect();
            for d in evaluated.iter().filter(|d| d.mechanism.counts()) {
                if !self.count(&d.text, &domain) {
                    return Ok(node);
                }
            }
            if let (Some(target), None) = (&rec.redirect, rec.all())
                && !self.count(&format!("redirect={target}"), &domain)
            {
                return Ok(node);
            }
            self.stack.push(domain.clone());
            for d in evaluated {
                if self.stopped() {
                    break;
                }
                if !d.mechanism.counts() {
                    continue;
                }
                match &d.mechanism {
                    Mechanism::Include(target) if spf::has_macro(target) => {
                        self.macros.push(d.text.clone());
                    }
                    Mechanism::Include(target) => {
                        let target = normalize_name(target);
                        if target == self.task.include {
                            self.includes_cloud = true;
                        }
                        if self.stack.contains(&target) {
                            self.permerror(
                                "loop",
                                text!(
                                    "spf.include-loop",
                                    path = self.stack.join(" → "),
                                    target = &target
                                ),
                            );
                            break;
                        }
                        let child = self.visit(target, "include").await?;
                        node.children.push(child);
                    }
                    Mechanism::Exists(target) if spf::has_macro(target) => {
                        self.macros.push(d.text.clone());
                    }
                    Mechanism::Exists(target) => {
                        let (_, void) = self.exists(Question::new(target, Rtype::A)).await?;
                        if void {
                            self.void_lookup(target);
                        }
                    }
                    Mechanism::A(target, _) => {
                        let target = target.as_deref().unwrap_or(&domain);
                        if spf::has_macro(target) {
                            self.macros.push(d.text.clone());
                            continue;
                        }
                        let (_, v4) = self.exists(Question::new(target, Rtype::A)).await?;
                        let (_, v6) = self.exists(Question::new(target, Rtype::AAAA)).await?;
                        if v4 && v6 {
                            self.void_lookup(target);
                        }
                    }
                    Mechanism::Mx(target, _) => {
                        let target = target.as_deref().unwrap_or(&domain);
                        if spf::has_macro(target) {
                            self.macros.push(d.text.clone());
                            continue;
                        }
                        let (answer, void) = self.exists(Question::new(target, Rtype::MX)).await?;
                        if void {
                            self.void_lookup(target);
                        } else if answer.records().len() > 10 {
                            self.permerror(
                                "too_many_mx",
                                text!(
                                    "spf.too-many-mx",
                                    term = &d.text,
                                    domain = &domain,
                                    n = answer.records().len()
                                ),
                            );
                        }
                    }
                    Mechanism::Ptr(_) => self.ptr_used = true,
                    Mechanism::All | Mechanism::Ip4(..) | Mechanism::Ip6(..) => {}
                }
            }
            node.all = rec.all().map(Qualifier::symbol);
            // redirect= applies only when the record has no `all` (RFC 7208 §6.1).
            if let (Some(target), None, false) = (&rec.redirect, rec.all(), self.stopped()) {
                let term = format!("redirect={target}");
                {
                    if spf::has_macro(target) {
                        self.macros.push(term);
                    } else {
                        let target = normalize_name(target);
                        if target == self.task.include {
                            self.includes_cloud = true;
                        }
                        if self.stack.contains(&target) {
                            self.permerror(
                                "loop",
                                text!(
                                    "spf.redirect-loop",
                                    path = self.stack.join(" → "),
                                    target = &target
                                ),
                            );
                        } else {
                            let child = self.visit(target, "redirect").await?;
                            node.all = child.all;
                            node.children.push(child);
                        }
                    }
                }
            }
            self.stack.pop();
            Ok(node)
        })
    }
}

/// Walks the SPF tree of the domain.
pub async fn observe(t: &DnsSpfTask, cx: &ProbeCx) -> Result<DnsSpfEvidence, ProbeError> {
    let apex = if super::dns::can_query(&t.domain) {
        cx.resolver.query(&t.question()).await?.answer
    } else {
        Answer::Nxdomain
    };
    let apex_txt = apex.records().to_vec();
    let spf_records: Vec<String> = apex_txt
        .iter()
        .filter(|r| spf::is_spf(r))
        .cloned()
        .collect();
    if spf_records.is_empty() && !apex_txt.is_empty() {
        // "No SPF record among the TXT records" rests on seeing the zone the world sees.
        cx.resolver.confirm_absence(&t.question(), &apex).await?;
    }
    let mut w = Walker {
        cx,
        task: t,
        lookups: 0,
        void: 0,
        stack: vec![],
        includes_cloud: false,
        ptr_used: false,
        macros: vec![],
        problem: None,
    };
    if spf_records.len() > 1 {
        w.permerror(
            "multiple_records",
            text!(
                "spf.multiple-apex",
                domain = &t.domain,
                n = spf_records.len()
            ),
        );
    }
    // With no record or several, the walk has nothing (or no single thing) to follow.
    let tree = if spf_records.len() == 1 {
        Some(w.visit(t.domain.clone(), "top").await?)
    } else {
        None
    };
    // A record receivers can evaluate is judged by what it authorises.
    let authorises = if tree.is_some() && w.problem.is_none() {
        authorisation(t, cx).await?
    } else {
        None
    };
    Ok(DnsSpfEvidence {
        authorises,
        apex_txt,
        all: tree.as_ref().and_then(|n| n.all),
        spf_records,
        lookups: w.lookups,
        void_lookups: w.void,
        includes_cloud: w.includes_cloud,
        ptr_used: w.ptr_used,
        unexpanded_macros: w.macros,
        problem: w.problem,
        tree,
    })
}

/// Unauthorised ranges a message names (the evidence has them all).
const SHOWN_RANGES: usize = 3;

/// Pure judgement.
pub fn judge(t: &DnsSpfTask, e: &DnsSpfEvidence) -> Judgement {
    let expected = vec![text!(
        "spf.expected",
        include = &t.include,
        max = t.max_lookups,
        max_void = t.max_void_lookups
    )];
    let mut findings = Vec::new();
    match e.spf_records.len() {
        0 => findings.push(t.requirement.missing(text!("spf.none", domain = &t.domain))),
        1 => {}
        n => findings.push(Finding::fail(text!(
            "spf.several",
            domain = &t.domain,
            n = n
        ))),
    }
    // Several records at the apex are already the finding above.
    if let Some(p) = e
        .problem
        .as_ref()
        .filter(|p| !(p.kind == "multiple_records" && e.spf_records.len() > 1))
    {
        findings.push(Finding::fail(p.reason.clone()));
    }
    if e.spf_records.len() == 1 && e.problem.is_none() {
        match &e.authorises {
            // Judged by what the record authorises: flattened ranges pass, an include after
            // `-all` (never evaluated) fails.
            Some(a) if !a.not_authorised.is_empty() => {
                findings.push(Finding::fail(text!(
                    "spf.not-authorised",
                    include = &t.include,
                    ranges = {
                        // The first few, and how many more: the evidence lists them all.
                        let mut v: Vec<Text> = a
                            .not_authorised
                            .iter()
                            .take(SHOWN_RANGES)
                            .map(|u| {
                                text!(
                                    "spf.range-result",
                                    range = &u.range,
                                    address = &u.address,
                                    result = u.result.as_str()
                                )
                            })
                            .collect();
                        if a.not_authorised.len() > SHOWN_RANGES {
                            v.push(text!(
                                "spf.more-ranges",
                                n = a.not_authorised.len() - SHOWN_RANGES
                            ));
                        }
                        v
                    }
                )));
            }
            // The include lists no range to evaluate: its text is all there is to go by.
            None if !e.includes_cloud => {
                findings.push(Finding::fail(text!("spf.no-include", include = &t.include)));
            }
            Some(_) | None => {}
        }
    }
    if e.spf_records.len() == 1 && e.problem.is_none() {
        match e.all {
            Some('+') => findings.push(Finding::fail(text!("spf.plus-all"))),
            Some('?') => findings.push(Finding::warn(text!("spf.neutral-all"))),
            None => findings.push(Finding::warn(text!("spf.no-all"))),
            Some(_) => {}
        }
        if e.ptr_used {
            findings.push(Finding::warn(text!("spf.ptr")));
        }
    }
    let ok = text!(
        "spf.ok",
        how = match &e.authorises {
            Some(a) if e.includes_cloud =>
                text!("spf.authorises", include = &t.include, ranges = a.ranges),
            Some(a) => text!("spf.flattened", include = &t.include, ranges = a.ranges),
            None => text!("spf.includes", include = &t.include),
        },
        lookups = e.lookups,
        max = t.max_lookups,
        void = e.void_lookups,
        max_void = t.max_void_lookups
    );
    Judgement::from_findings(findings, ok, expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Status;

    fn ev() -> DnsSpfEvidence {
        DnsSpfEvidence {
            apex_txt: vec!["v=spf1 include:spf.protection.outlook.com -all".into()],
            spf_records: vec!["v=spf1 include:spf.protection.outlook.com -all".into()],
            lookups: 1,
            void_lookups: 0,
            includes_cloud: true,
            all: Some('-'),
            ptr_used: false,
            unexpanded_macros: vec![],
            problem: None,
            tree: None,
            authorises: None,
        }
    }

    #[test]
    fn judge_boundaries() {
        let t = DnsSpfTask {
            domain: "contoso.com".into(),
            include: "spf.protection.outlook.com".into(),
            max_lookups: 10,
            max_void_lookups: 2,
            requirement: crate::level::Requirement::default(),
        };
        let cases: Vec<(Box<dyn Fn(&mut DnsSpfEvidence)>, Status)> = vec![
            (Box::new(|_| {}), Status::Pass),
            (Box::new(|e| e.all = Some('~')), Status::Pass),
            (Box::new(|e| e.all = Some('?')), Status::Warn),
            (Box::new(|e| e.all = None), Status::Warn),
            (Box::new(|e| e.all = Some('+')), Status::Fail),
            (Box::new(|e| e.ptr_used = true), Status::Warn),
            (Box::new(|e| e.includes_cloud = false), Status::Fail),
            (Box::new(|e| e.spf_records.clear()), Status::Fail),
            (
                Box::new(|e| e.spf_records.push("v=spf1 -all".into())),
                Status::Fail,
            ),
            (
                Box::new(|e| {
                    e.problem = Some(SpfProblem {
                        kind: "too_many_lookups",
                        reason: text!("value", value = "x"),
                    });
                }),
                Status::Fail,
            ),
        ];
        for (i, (edit, want)) in cases.into_iter().enumerate() {
            let mut e = ev();
            edit(&mut e);
            let j = judge(&t, &e);
            assert_eq!(j.status, want, "case {i}: {}", j.message());
        }
    }
}
