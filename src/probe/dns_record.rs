//! `dns-record`: one or more named records whose data must match expected patterns (CNAME, TXT,
//! SRV…), or must be absent. Used by `dns.verification`, `dns.autodiscover`, `dns.dkim`,
//! `dns.teams-sip`, `dns.teams-srv`, `dns.intune` and `dns.msoid`.
//!
//! A record's name and its expectation sit together in the check file because they are read
//! together ("autodiscover.{domain} must be a CNAME to autodiscover.outlook.com"), with the
//! requirement level Microsoft gives it ([`Level`]): a missing required record fails, a missing
//! recommended or optional one warns saying who needs it, and a published record that points
//! somewhere wrong fails whatever its level.
//!
//! An expectation is *exact* when the tenant gave the value (`exact_from` names the `[[domain]]`
//! field, filled from tenant.toml or a DKIM export) and a *shape* otherwise (patterns with `*`);
//! the evidence and a passing message say which, and how to make a shape exact.

use serde::{Deserialize, Serialize};

use super::discovery::Discovery;
use super::dns::{Answer, Lookup, Question, Rtype, query_all};
use super::{PlanCx, ProbeCx, ProbeError};
use crate::level::{Level, Requirement};
use crate::outcome::{Finding, Judgement};
use crate::pattern::{TemplateError, name_matches, text_matches};
use crate::text::{Arg, Text};

/// `[check.probe]` of kind `dns-record`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsRecordSpec {
    /// The records to look at.
    pub record: Vec<RecordSpec>,
}

/// One `[[check.probe.record]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordSpec {
    /// Owner name template, e.g. `autodiscover.{domain}`.
    pub name: String,
    /// Record type.
    #[serde(rename = "type")]
    pub rtype: Rtype,
    /// Patterns one of the records must match (names for CNAME, text otherwise).
    #[serde(default)]
    pub accept: Vec<String>,
    /// A `[[domain]]` field (`verification`, `dkim_selector1`…) whose value, when set, replaces
    /// `accept` exactly.
    #[serde(default)]
    pub exact_from: Option<String>,
    /// The record must not exist.
    #[serde(default)]
    pub absent: bool,
    /// In an Exchange hybrid deployment any target is accepted (it may point on-premises).
    #[serde(default)]
    pub hybrid_accepts_any: bool,
    /// Another record that satisfies the expectation when this one does not.
    #[serde(default)]
    pub fallback: Option<FallbackSpec>,
    /// How strongly Microsoft asks for the record (default `required`).
    #[serde(default)]
    pub level: Level,
    /// Why the record matters / who still needs it (template): shown when a recommended or
    /// optional record is missing. Required for those levels.
    #[serde(default)]
    pub why: Option<std::sync::Arc<str>>,
    /// `why` in Korean.
    #[serde(default)]
    pub why_ko: Option<std::sync::Arc<str>>,
    /// Where Microsoft says so (a documentation URL), carried into the evidence.
    #[serde(default)]
    pub source: Option<String>,
    /// A record Microsoft no longer lists: its absence is not a finding, but when it is
    /// published it must still point to the right place. Only with `level = "optional"`.
    #[serde(default)]
    pub missing_ok: bool,
    /// Only for these clouds (default: every cloud). Microsoft documents some records for one
    /// cloud only (21Vianet's `msoid`, its Skype for Business records).
    #[serde(default)]
    pub clouds: Vec<crate::tenant::Cloud>,
    /// Values that work but that Microsoft advises against: a record matching one (and none of
    /// `accept`) warns, quoting `tolerate_why`.
    #[serde(default)]
    pub tolerate: Vec<String>,
    /// Why a tolerated value is only tolerated (template). Required with `tolerate`.
    #[serde(default)]
    pub tolerate_why: Option<std::sync::Arc<str>>,
    /// `tolerate_why` in Korean.
    #[serde(default)]
    pub tolerate_why_ko: Option<std::sync::Arc<str>>,
    /// The record is not needed once the domain is verified (the `MS=ms…` TXT: "you can delete
    /// it later"). When it is missing, Microsoft Graph (`--graph`) or Microsoft Entra ID's
    /// discovery at this sign-in host (`{cloud.login}`) is asked whether the domain is verified
    /// in the tenant.
    #[serde(default)]
    pub verified_at: Option<String>,
}

/// An alternative record at the same name (the MX verification fallback).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FallbackSpec {
    /// Record type.
    #[serde(rename = "type")]
    pub rtype: Rtype,
    /// Patterns (text).
    pub accept: Vec<String>,
}

/// Where an expectation came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Basis {
    /// The tenant's own value.
    Exact {
        /// `tenant.toml [[domain]] dkim_selector1`, `dkim.json (Get-DkimSigningConfig)`…
        from: String,
    },
    /// The documented shape (the check definition's patterns).
    Shape {
        /// How to make it exact, when there is a way.
        make_exact: Option<&'static str>,
    },
}

/// A planned record expectation.
#[derive(Clone, Debug)]
pub struct RecordTask {
    /// The question.
    pub question: Question,
    /// Accepted patterns (after templates and exact values).
    pub accept: Vec<String>,
    /// Exact value or shape.
    pub basis: Basis,
    /// Must not exist.
    pub absent: bool,
    /// Any target accepted (hybrid).
    pub any: bool,
    /// Fallback question and patterns.
    pub fallback: Option<(Question, Vec<String>)>,
    /// Whether the patterns contain a wildcard standing for an unknown tenant value.
    pub tenant_unknown: bool,
    /// Level, why and source.
    pub requirement: Requirement,
    /// Absence is no finding.
    pub missing_ok: bool,
    /// Values that work but warn, and why (boxed, as `verified_at`: few records have them, and a
    /// 1,000-domain plan holds 11,000 of these tasks).
    pub tolerate: Option<Box<Tolerated>>,
    /// Whom to ask whether the domain is verified, when the record is missing.
    pub verified_at: Option<Box<VerifiedAt>>,
}

/// Values that work but that Microsoft advises against.
#[derive(Clone, Debug)]
pub struct Tolerated {
    /// The patterns.
    pub accept: Vec<String>,
    /// Why they only warn (English, Korean).
    pub why: std::sync::Arc<str>,
    /// `why` in Korean.
    pub why_ko: Option<std::sync::Arc<str>>,
}

/// How to find out whether the domain is verified in the tenant (a record not needed then).
#[derive(Clone, Debug)]
pub struct VerifiedAt {
    /// The domain.
    pub domain: String,
    /// Microsoft Entra ID's sign-in host (OpenID discovery).
    pub login: crate::endpoint::Endpoint,
    /// `[tenant] initial_domain`: names the tenant the domain must be verified in.
    pub initial_domain: Option<String>,
    /// Microsoft Graph says the domain is verified in this tenant (`--graph`).
    pub graph_verified: bool,
    /// Entra ID may be asked (the user did not skip `entra.domain`).
    pub ask: bool,
}

/// The planned probe.
#[derive(Clone, Debug)]
pub struct DnsRecordTask {
    /// The records.
    pub records: Vec<RecordTask>,
}

impl DnsRecordSpec {
    /// Expands templates for one domain.
    pub fn plan(&self, cx: &PlanCx<'_>) -> Result<DnsRecordTask, TemplateError> {
        let mut records = Vec::new();
        for r in self
            .record
            .iter()
            .filter(|r| r.clouds.is_empty() || r.clouds.contains(&cx.cloud))
        {
            let name = cx.vars.expand_one(&r.name)?;
            let exact = r.exact_from.as_deref().and_then(|f| cx.exact.get(f));
            let (accept, basis) = match exact {
                Some(e) => (
                    vec![e.value.clone()],
                    Basis::Exact {
                        from: e.from.clone(),
                    },
                ),
                None => {
                    let mut all = Vec::new();
                    for p in &r.accept {
                        all.extend(cx.vars.expand(p)?);
                    }
                    let make_exact = r.exact_from.as_deref().and_then(crate::tenant::exact_hint);
                    (all, Basis::Shape { make_exact })
                }
            };
            let tenant_unknown = exact.is_none()
                && r.accept.iter().any(|p| p.contains("{initial_prefix}"))
                && !cx.vars.contains("initial_domain");
            let fallback = match &r.fallback {
                Some(f) if exact.is_none() => {
                    let mut acc = Vec::new();
                    for p in &f.accept {
                        acc.extend(cx.vars.expand(p)?);
                    }
                    Some((Question::new(&name, f.rtype), acc))
                }
                _ => None,
            };
            records.push(RecordTask {
                question: Question::new(&name, r.rtype),
                accept,
                basis,
                absent: r.absent,
                any: r.hybrid_accepts_any && cx.hybrid,
                fallback,
                tenant_unknown,
                requirement: Requirement::plan(
                    r.level,
                    r.why.as_ref(),
                    r.why_ko.as_ref(),
                    cx.vars,
                )?,
                missing_ok: r.missing_ok,
                tolerate: match &r.tolerate_why {
                    Some(why) if !r.tolerate.is_empty() => {
                        let mut accept = Vec::new();
                        for p in &r.tolerate {
                            accept.extend(cx.vars.expand(p)?);
                        }
                        Some(Box::new(Tolerated {
                            accept,
                            why: std::sync::Arc::from(cx.vars.expand_text(why)?),
                            why_ko: match &r.tolerate_why_ko {
                                Some(k) => Some(std::sync::Arc::from(cx.vars.expand_text(k)?)),
                                None => None,
                            },
                        }))
                    }
                    _ => None,
                },
                verified_at: match &r.verified_at {
                    Some(login) => {
                        let login = cx.vars.expand_one(login)?;
                        Some(Box::new(VerifiedAt {
                            domain: cx.domain.to_string(),
                            login: crate::endpoint::Endpoint::parse(&login, 443).unwrap_or(
                                crate::endpoint::Endpoint {
                                    host: login,
                                    port: 443,
                                },
                            ),
                            initial_domain: cx.vars.expand_one("{initial_domain}").ok(),
                            graph_verified: cx.graph.is_some_and(|g| g.is_verified),
                            ask: cx.ask_entra,
                        }))
                    }
                    None => None,
                },
            });
        }
        Ok(DnsRecordTask { records })
    }
}

impl DnsRecordTask {
    /// Every question asked (primary and fallback).
    pub fn questions(&self) -> Vec<Question> {
        let mut qs = Vec::new();
        for r in &self.records {
            qs.push(r.question.clone());
            if let Some((q, _)) = &r.fallback {
                qs.push(q.clone());
            }
        }
        qs
    }
}

/// How a record with a tenant-specific value (`exact_from`: the verification token, the DKIM
/// targets) was held, as the evidence shows it: to the tenant's exact value (and from where) or to
/// the documented shape. Records with one documented value (autodiscover, the Teams and Intune
/// targets) are not listed: there is nothing to tell apart, and their level is in the result's
/// `expected` and, when it matters, in its message. Kept this small on purpose: a scan of 1,000
/// domains holds 11,000 of these records, and their evidence is the bulk of its memory (issue 15).
#[derive(Clone, Debug, Serialize)]
pub struct RecordExpectation {
    /// Owner name.
    pub name: String,
    /// Requirement level.
    pub level: Level,
    /// `exact` (with `from`) or `shape`.
    pub basis: &'static str,
    /// Where an exact value came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

/// What was seen.
#[derive(Clone, Debug, Serialize)]
pub struct DnsRecordEvidence {
    /// One lookup per question, in definition order.
    pub lookups: Vec<Lookup>,
    /// How each tenant-specific record was held (exact or shape); absent when there is none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expected: Vec<RecordExpectation>,
    /// Whether the domain is verified, asked because a record not needed once it is
    /// (`verified_at`) was missing; absent when nothing was asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
}

/// Whether the domain is verified in the tenant, as Microsoft said it.
#[derive(Clone, Debug, Serialize)]
pub struct Verification {
    /// `graph` (Microsoft Graph lists the domain as verified in this tenant) or `discovery`
    /// (Microsoft Entra ID's OpenID discovery).
    pub source: &'static str,
    /// Discovery of the domain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<Discovery>,
    /// Discovery of `[tenant] initial_domain` (this tenant's id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_domain: Option<Discovery>,
}

/// Looks every record up (concurrently); when a record that is not needed once the domain is
/// verified is missing, asks whether it is (once per task, the answer shared with
/// `entra.domain`).
pub async fn observe(t: &DnsRecordTask, cx: &ProbeCx) -> Result<DnsRecordEvidence, ProbeError> {
    let primary: Vec<Question> = t.records.iter().map(|r| r.question.clone()).collect();
    let lookups = query_all(&cx.resolver, &primary).await?;
    let mut e = DnsRecordEvidence {
        lookups,
        expected: expectations(t),
        verification: None,
    };
    // A fallback record is asked only when the record itself is not there: the verdict then
    // never rests on the fallback's absence.
    let fallbacks: Vec<Question> = t
        .records
        .iter()
        .filter(|r| unmet(r, &e))
        .filter_map(|r| r.fallback.as_ref().map(|(q, _)| q.clone()))
        .collect();
    let more = query_all(&cx.resolver, &fallbacks).await?;
    e.lookups.extend(more);
    // "Not among the TXT records found" rests on the resolver seeing the zone the world sees.
    for r in t.records.iter().filter(|r| r.question.rtype == Rtype::TXT) {
        if let Some(answer) = answer_for(&e, &r.question)
            && !answer.records().is_empty()
            && unmet(r, &e)
        {
            cx.resolver.confirm_absence(&r.question, answer).await?;
        }
    }
    let asked = t
        .records
        .iter()
        .find_map(|r| r.verified_at.as_ref().filter(|_| unmet(r, &e)));
    if let Some(v) = asked {
        e.verification = verify(v, cx).await?;
    }
    Ok(e)
}

/// Whether a record's expectation is unmet by what the lookups found: no accepted or tolerated
/// value and no fallback record (pure).
fn unmet(r: &RecordTask, e: &DnsRecordEvidence) -> bool {
    if r.absent || r.any {
        return false;
    }
    let Some(answer) = answer_for(e, &r.question) else {
        return true;
    };
    let rtype = r.question.rtype;
    let hit = answer.records().iter().any(|v| {
        r.accept
            .iter()
            .chain(r.tolerate.iter().flat_map(|t| &t.accept))
            .any(|p| matches(rtype, p, v))
    });
    !hit && fallback_hit(r, e).is_none()
}

/// Asks whether the domain is verified: Graph's word when it has one, else Entra ID's
/// discovery of the domain and of the initial domain. `None` when Entra ID may not be asked.
/// Not being able to ask is an error: without the answer a missing record cannot be judged.
async fn verify(v: &VerifiedAt, cx: &ProbeCx) -> Result<Option<Verification>, ProbeError> {
    if v.graph_verified {
        return Ok(Some(Verification {
            source: "graph",
            domain: None,
            initial_domain: None,
        }));
    }
    if !v.ask {
        return Ok(None);
    }
    let unknown = |e: ProbeError| ProbeError::Net {
        kind: e.kind(),
        message: text!(
            "verified.could-not-ask",
            domain = &v.domain,
            error = e.text().clone()
        ),
    };
    let max = super::discovery::MAX_DISCOVERY_BYTES;
    let domain = cx
        .discovery
        .get(cx, &v.login, &v.domain, max)
        .await
        .map_err(unknown)?;
    if domain.tenant_id.is_none() && !domain.not_found {
        return Err(ProbeError::Net {
            kind: "protocol",
            message: text!(
                "verified.no-answer",
                domain = &v.domain,
                status = domain.http_status,
                error = domain.error.clone().unwrap_or_default()
            ),
        });
    }
    let initial_domain = match &v.initial_domain {
        Some(i) if domain.tenant_id.is_some() && !i.eq_ignore_ascii_case(&v.domain) => Some(
            cx.discovery
                .get(cx, &v.login, i, max)
                .await
                .map_err(unknown)?,
        ),
        _ => None,
    };
    Ok(Some(Verification {
        source: "discovery",
        domain: Some(domain),
        initial_domain,
    }))
}

/// What Microsoft says about the domain of a missing record that is not needed once the domain
/// is verified.
enum Verified {
    /// Verified in this tenant: the record is not needed (the note says who said so).
    Ours(Text),
    /// Verified in a tenant that may be this one, but tenant-ready cannot tell: a warning.
    Unsure(Text),
    /// Not verified here: the missing record fails, with this said too.
    NotHere(Text),
}

/// Pure: reads a [`Verification`] for the record's domain.
fn verified(v: &VerifiedAt, ev: Option<&Verification>) -> Verified {
    let Some(ev) = ev else {
        return Verified::NotHere(text!("verified.not-asked", domain = &v.domain));
    };
    if ev.source == "graph" {
        return Verified::Ours(text!("verified.by-graph"));
    }
    let Some(d) = &ev.domain else {
        return Verified::NotHere(text!("verified.not-asked", domain = &v.domain));
    };
    let Some(tenant) = &d.tenant_id else {
        return Verified::NotHere(text!("verified.nowhere", domain = &v.domain));
    };
    let Some(initial) = &v.initial_domain else {
        return Verified::Unsure(text!(
            "verified.somewhere",
            domain = &v.domain,
            tenant = tenant
        ));
    };
    if initial.eq_ignore_ascii_case(&v.domain) {
        return Verified::Ours(text!(
            "verified.in-tenant",
            initial = initial,
            tenant = tenant
        ));
    }
    match ev
        .initial_domain
        .as_ref()
        .and_then(|i| i.tenant_id.as_ref())
    {
        Some(own) if own == tenant => Verified::Ours(text!(
            "verified.in-tenant",
            initial = initial,
            tenant = tenant
        )),
        Some(own) => Verified::NotHere(text!(
            "verified.elsewhere",
            domain = &v.domain,
            tenant = tenant,
            initial = initial,
            own = own
        )),
        None => Verified::Unsure(text!(
            "verified.initial-unknown",
            domain = &v.domain,
            tenant = tenant,
            initial = initial
        )),
    }
}

/// The expectations of a task's tenant-specific records, for the evidence.
pub fn expectations(t: &DnsRecordTask) -> Vec<RecordExpectation> {
    t.records
        .iter()
        .filter_map(|r| {
            let (basis, from) = match &r.basis {
                Basis::Exact { from } => ("exact", Some(from.clone())),
                Basis::Shape {
                    make_exact: Some(_),
                } => ("shape", None),
                Basis::Shape { make_exact: None } => return None,
            };
            Some(RecordExpectation {
                name: r.question.name.clone(),
                level: r.requirement.level,
                basis,
                from,
            })
        })
        .collect()
}

fn matches(rtype: Rtype, pattern: &str, value: &str) -> bool {
    if rtype.is_name() {
        name_matches(pattern, value)
    } else {
        text_matches(pattern, value)
    }
}

fn answer_for<'a>(e: &'a DnsRecordEvidence, q: &Question) -> Option<&'a Answer> {
    e.lookups
        .iter()
        .find(|l| &l.question == q)
        .map(|l| &l.answer)
}

/// The fallback record that satisfies `r`, if any.
fn fallback_hit<'a>(
    r: &'a RecordTask,
    e: &'a DnsRecordEvidence,
) -> Option<(&'a Question, &'a str)> {
    let (fq, acc) = r.fallback.as_ref()?;
    answer_for(e, fq)?
        .records()
        .iter()
        .find(|v| acc.iter().any(|p| matches(fq.rtype, p, v)))
        .map(|v| (fq, v.as_str()))
}

fn expected_text(r: &RecordTask) -> Text {
    if r.absent {
        return text!(
            "dns-record.expected-absent",
            rtype = r.question.rtype.to_string(),
            name = &r.question.name
        );
    }
    let what = if r.accept.len() == 1 {
        text!("value", value = &r.accept[0])
    } else {
        text!("dns-record.one-of", values = r.accept.join(" | "))
    };
    let level = if r.requirement.level == Level::Required {
        text!("empty")
    } else {
        text!("dns-record.level", level = r.requirement.level.text())
    };
    text!(
        "dns-record.expected",
        name = &r.question.name,
        rtype = r.question.rtype.to_string(),
        what = what,
        level = level
    )
}

/// The accepted values as a message names them (`exactly X (from tenant.toml …)` for an exact one).
fn expected_value(r: &RecordTask) -> Text {
    match &r.basis {
        Basis::Exact { from } => text!(
            "dns-record.exactly-from",
            values = r.accept.join(" | "),
            from = from
        ),
        Basis::Shape { .. } => text!("value", value = r.accept.join(" | ")),
    }
}

/// What a passing record's note adds when only the shape was checked.
pub fn shape_note(basis: &Basis, tenant_unknown: bool, matched_pattern: &str) -> Option<Text> {
    let Basis::Shape { make_exact } = basis else {
        return None;
    };
    if !matched_pattern.contains('*') {
        // A fixed documented value (autodiscover.outlook.com) is as exact as it gets.
        return None;
    }
    let mut how: Vec<Text> = Vec::new();
    if tenant_unknown {
        how.push(text!("hint.initial-domain"));
    }
    if let Some(m) = make_exact {
        how.push(Text::new(m));
    }
    let mut how = how.into_iter();
    Some(match how.next() {
        None => text!("shape.checked"),
        Some(first) => text!(
            "shape.checked-how",
            how = how.fold(first, |a, b| text!("shape.and", a = a, b = b))
        ),
    })
}

/// A missing record that is not needed once the domain is verified: judged by what Microsoft
/// says about the domain.
fn missing_once_verified(
    r: &RecordTask,
    v: &VerifiedAt,
    e: &DnsRecordEvidence,
    what: Text,
    findings: &mut Vec<Finding>,
    notes: &mut Vec<Text>,
) {
    match verified(v, e.verification.as_ref()) {
        Verified::Ours(how) => notes.push(text!("verified.not-needed", what = what, how = how)),
        Verified::Unsure(why) => {
            findings.push(Finding::warn(text!(
                "verified.and",
                what = what,
                also = why
            )));
        }
        Verified::NotHere(also) => findings.push(r.requirement.missing(text!(
            "verified.and",
            what = what,
            also = also
        ))),
    }
}

/// Pure judgement.
pub fn judge(t: &DnsRecordTask, e: &DnsRecordEvidence) -> Judgement {
    let mut findings = Vec::new();
    let mut notes: Vec<Text> = Vec::new();
    // Said once for all the records that passed by shape (the DKIM pair shares one hint).
    let mut shape: Vec<Text> = Vec::new();
    for r in &t.records {
        let q = &r.question;
        let name = || text!("value", value = &q.name);
        let rtype = q.rtype.to_string();
        let Some(answer) = answer_for(e, q) else {
            findings.push(Finding::fail(text!(
                "dns-record.not-looked-up",
                name = &q.name,
                rtype = rtype
            )));
            continue;
        };
        let records = answer.records();
        if r.absent {
            if !records.is_empty() {
                findings.push(Finding::fail(text!(
                    "dns-record.must-be-removed",
                    name = &q.name,
                    rtype = rtype,
                    records = records.join(", ")
                )));
            }
            continue;
        }
        let hit = records.iter().find_map(|v| {
            r.accept
                .iter()
                .find(|p| matches(q.rtype, p, v))
                .map(|p| (v, p))
        });
        if hit.is_none()
            && !r.any
            && let Some((fq, v)) = fallback_hit(r, e)
        {
            notes.push(text!(
                "dns-record.fallback",
                name = &q.name,
                rtype = fq.rtype.to_string(),
                value = v
            ));
            continue;
        }
        if records.is_empty() {
            let what = text!(
                "dns-record.none",
                name = &q.name,
                rtype = rtype,
                why = match answer {
                    Answer::Nxdomain => text!("dns-record.nxdomain"),
                    _ => text!("dns-record.name-exists"),
                }
            );
            if let Some(v) = &r.verified_at {
                missing_once_verified(r, v, e, what, &mut findings, &mut notes);
            } else if r.missing_ok {
                notes.push(text!(
                    "dns-record.not-published",
                    name = &q.name,
                    level = r.requirement.level.text(),
                    why = match r.requirement.why.as_deref() {
                        Some(w) => Arg::local(w, r.requirement.why_ko.as_deref()),
                        None => text!("dns-record.no-longer-listed").into(),
                    }
                ));
            } else {
                findings.push(r.requirement.missing(what));
            }
            continue;
        }
        if r.any {
            notes.push(text!(
                "dns-record.any",
                name = name(),
                records = records.join(", ")
            ));
            continue;
        }
        match hit {
            Some((v, pattern)) => {
                notes.push(text!("dns-record.ok", name = name(), value = v));
                if let Some(s) = shape_note(&r.basis, r.tenant_unknown, pattern)
                    && !shape.contains(&s)
                {
                    shape.push(s);
                }
            }
            None if let Some((v, t)) = r.tolerate.as_ref().and_then(|t| {
                records
                    .iter()
                    .find(|v| t.accept.iter().any(|p| matches(q.rtype, p, v)))
                    .map(|v| (v, t))
            }) =>
            {
                findings.push(Finding::warn(text!(
                    "dns-record.tolerated",
                    name = &q.name,
                    value = v.as_str(),
                    why = Arg::local(&t.why, t.why_ko.as_deref()),
                    expected = expected_value(r)
                )));
            }
            // TXT records serve many purposes at one name (SPF, other vendors' tokens): the
            // expected one is missing, not wrong, when none of them matches.
            None if q.rtype == Rtype::TXT => {
                let what = text!(
                    "dns-record.no-matching-txt",
                    name = &q.name,
                    expected = expected_value(r),
                    records = records.join(", ")
                );
                match &r.verified_at {
                    Some(v) => missing_once_verified(r, v, e, what, &mut findings, &mut notes),
                    None => findings.push(r.requirement.missing(what)),
                }
            }
            None => {
                findings.push(Finding::fail(text!(
                    "dns-record.wrong",
                    name = &q.name,
                    rtype = rtype,
                    records = records.join(", "),
                    expected = expected_value(r)
                )));
            }
        }
    }
    let expected = t.records.iter().map(expected_text).collect();
    notes.extend(shape);
    if notes.is_empty() {
        notes.push(text!("dns-record.all-ok"));
    }
    if findings.is_empty() {
        return Judgement {
            status: crate::outcome::Status::Pass,
            message: notes,
            expected,
        };
    }
    // A warning keeps what did pass visible (the records that are fine are part of the answer).
    let ok_is_default = notes.len() == 1 && notes[0].key == "dns-record.all-ok";
    let mut j = Judgement::from_findings(findings, None, expected);
    if !ok_is_default {
        j.message.extend(notes);
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Status;

    fn task(rtype: Rtype, accept: &[&str]) -> RecordTask {
        RecordTask {
            question: Question::new("autodiscover.contoso.com", rtype),
            accept: accept.iter().map(|s| (*s).to_owned()).collect(),
            basis: Basis::Shape { make_exact: None },
            absent: false,
            any: false,
            fallback: None,
            tenant_unknown: false,
            requirement: Requirement::default(),
            missing_ok: false,
            tolerate: None,
            verified_at: None,
        }
    }

    fn ev(q: &Question, answer: Answer) -> DnsRecordEvidence {
        DnsRecordEvidence {
            lookups: vec![Lookup {
                question: q.clone(),
                answer,
                retransmitted: 0,
            }],
            expected: vec![],
            verification: None,
        }
    }

    fn rec(v: &[&str]) -> Answer {
        Answer::Noerror {
            records: v.iter().map(|s| (*s).to_owned()).collect(),
            ttl_s: 3600,
        }
    }

    #[test]
    fn cname_boundaries() {
        let t = task(Rtype::CNAME, &["autodiscover.outlook.com"]);
        let q = t.question.clone();
        let task = DnsRecordTask { records: vec![t] };
        let cases = [
            (rec(&["autodiscover.outlook.com"]), Status::Pass),
            (rec(&["AUTODISCOVER.OUTLOOK.COM"]), Status::Pass),
            (rec(&["mail.contoso.com"]), Status::Fail),
            (Answer::Nxdomain, Status::Fail),
            (Answer::Nodata, Status::Fail),
        ];
        for (answer, want) in cases {
            let j = judge(&task, &ev(&q, answer.clone()));
            assert_eq!(j.status, want, "{answer:?}: {}", j.message());
        }
    }

    #[test]
    fn hybrid_accepts_on_premises_target_but_not_a_missing_record() {
        let mut t = task(Rtype::CNAME, &["autodiscover.outlook.com"]);
        t.any = true;
        let q = t.question.clone();
        let task = DnsRecordTask { records: vec![t] };
        assert_eq!(
            judge(&task, &ev(&q, rec(&["mail.contoso.com"]))).status,
            Status::Pass
        );
        assert_eq!(judge(&task, &ev(&q, Answer::Nxdomain)).status, Status::Fail);
    }

    #[test]
    fn absent_records() {
        let mut t = task(Rtype::CNAME, &[]);
        t.absent = true;
        let q = t.question.clone();
        let task = DnsRecordTask { records: vec![t] };
        assert_eq!(judge(&task, &ev(&q, Answer::Nxdomain)).status, Status::Pass);
        assert_eq!(judge(&task, &ev(&q, Answer::Nodata)).status, Status::Pass);
        let j = judge(
            &task,
            &ev(&q, rec(&["clientconfig.partner.microsoftonline-p.net.cn"])),
        );
        assert_eq!(j.status, Status::Fail);
        assert!(j.message().contains("must be removed"));
    }

    #[test]
    fn txt_verification_with_mx_fallback() {
        let mut t = task(Rtype::TXT, &["MS=ms*"]);
        t.question = Question::new("contoso.com", Rtype::TXT);
        let fq = Question::new("contoso.com", Rtype::MX);
        t.fallback = Some((fq.clone(), vec!["* ms*.msv1.invalid".into()]));
        let q = t.question.clone();
        let task = DnsRecordTask { records: vec![t] };
        let both = |txt: Answer, mx: Answer| DnsRecordEvidence {
            lookups: vec![
                Lookup {
                    question: q.clone(),
                    answer: txt,
                    retransmitted: 0,
                },
                Lookup {
                    question: fq.clone(),
                    answer: mx,
                    retransmitted: 0,
                },
            ],
            expected: vec![],
            verification: None,
        };
        let spf = rec(&["v=spf1 -all"]);
        assert_eq!(
            judge(&task, &both(rec(&["MS=ms12345678"]), Answer::Nodata)).status,
            Status::Pass
        );
        assert_eq!(
            judge(&task, &both(spf.clone(), Answer::Nodata)).status,
            Status::Fail
        );
        let mx = rec(&["32767 ms12345678.msv1.invalid"]);
        assert_eq!(judge(&task, &both(spf, mx.clone())).status, Status::Pass);
        assert_eq!(
            judge(&task, &both(Answer::Nxdomain, mx)).status,
            Status::Pass
        );
    }

    #[test]
    fn srv_must_match_priority_weight_port_and_target() {
        let mut t = task(Rtype::SRV, &["100 1 443 sipdir.online.lync.com"]);
        t.question = Question::new("_sip._tls.contoso.com", Rtype::SRV);
        let q = t.question.clone();
        let task = DnsRecordTask { records: vec![t] };
        assert_eq!(
            judge(&task, &ev(&q, rec(&["100 1 443 sipdir.online.lync.com"]))).status,
            Status::Pass
        );
        let j = judge(&task, &ev(&q, rec(&["100 1 5061 sipdir.online.lync.com"])));
        assert_eq!(j.status, Status::Fail);
        assert!(
            j.message().contains("expected 100 1 443"),
            "{}",
            j.message()
        );
    }
}
