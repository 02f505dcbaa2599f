//! `dns-record`: one or more named records whose data must match expected patterns (CNAME, TXT,
//! SRV…), or must be absent. Used by `dns.verification`, `dns.autodiscover`, `dns.dkim`,
//! `dns.teams-sip`, `dns.teams-srv`, `dns.intune` and `dns.msoid`.
//!
//! A record's name and its expectation sit together in the check file because they are read
//! together ("autodiscover.{domain} must be a CNAME to autodiscover.outlook.com").

use serde::{Deserialize, Serialize};

use super::dns::{Answer, Lookup, Question, Rtype, query_all};
use super::{PlanCx, ProbeCx, ProbeError};
use crate::outcome::{Finding, Judgement};
use crate::pattern::{TemplateError, name_matches, text_matches};

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
    /// A tenant.toml field (`verification`) whose value, when set, replaces `accept` exactly.
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

/// A planned record expectation.
#[derive(Clone, Debug)]
pub struct RecordTask {
    /// The question.
    pub question: Question,
    /// Accepted patterns (after templates and exact values).
    pub accept: Vec<String>,
    /// Whether `accept` came from an exact tenant value.
    pub exact: bool,
    /// Must not exist.
    pub absent: bool,
    /// Any target accepted (hybrid).
    pub any: bool,
    /// Fallback question and patterns.
    pub fallback: Option<(Question, Vec<String>)>,
    /// Whether the patterns contain a wildcard standing for an unknown tenant value.
    pub tenant_unknown: bool,
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
        for r in &self.record {
            let name = cx.vars.expand_one(&r.name)?;
            let (accept, exact) = match r.exact_from.as_deref().and_then(|f| cx.exact.get(f)) {
                Some(v) => (vec![v.clone()], true),
                None => {
                    let mut all = Vec::new();
                    for p in &r.accept {
                        all.extend(cx.vars.expand(p)?);
                    }
                    (all, false)
                }
            };
            let tenant_unknown = !exact
                && r.accept.iter().any(|p| p.contains("{initial_prefix}"))
                && !cx.vars.contains("initial_domain");
            let fallback = match &r.fallback {
                Some(f) if !exact => {
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
                exact,
                absent: r.absent,
                any: r.hybrid_accepts_any && cx.hybrid,
                fallback,
                tenant_unknown,
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

/// What was seen.
#[derive(Clone, Debug, Serialize)]
pub struct DnsRecordEvidence {
    /// One lookup per question, in definition order.
    pub lookups: Vec<Lookup>,
}

/// Looks every record up (concurrently).
pub async fn observe(t: &DnsRecordTask, cx: &ProbeCx) -> Result<DnsRecordEvidence, ProbeError> {
    let lookups = query_all(&cx.resolver, &t.questions()).await?;
    Ok(DnsRecordEvidence { lookups })
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

fn expected_text(r: &RecordTask) -> String {
    if r.absent {
        return format!("no {} record at {}", r.question.rtype, r.question.name);
    }
    let what = if r.accept.len() == 1 {
        r.accept[0].clone()
    } else {
        format!("one of {}", r.accept.join(" | "))
    };
    format!("{} {} {}", r.question.name, r.question.rtype, what)
}

/// Pure judgement.
pub fn judge(t: &DnsRecordTask, e: &DnsRecordEvidence) -> Judgement {
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    for r in &t.records {
        let q = &r.question;
        let Some(answer) = answer_for(e, q) else {
            findings.push(Finding::fail(format!(
                "{} {} was not looked up",
                q.name, q.rtype
            )));
            continue;
        };
        let records = answer.records();
        if r.absent {
            if !records.is_empty() {
                findings.push(Finding::fail(format!(
                    "{} has a {} record ({}) that must be removed",
                    q.name,
                    q.rtype,
                    records.join(", ")
                )));
            }
            continue;
        }
        let hit = records
            .iter()
            .find(|v| r.accept.iter().any(|p| matches(q.rtype, p, v)));
        if hit.is_none()
            && !r.any
            && let Some((fq, v)) = fallback_hit(r, e)
        {
            notes.push(format!(
                "{} verified through the {} fallback record {v}",
                q.name, fq.rtype
            ));
            continue;
        }
        if records.is_empty() {
            findings.push(Finding::fail(format!(
                "{} has no {} record ({})",
                q.name,
                q.rtype,
                match answer {
                    Answer::Nxdomain => "the name does not exist",
                    _ => "the name exists without this record type",
                }
            )));
            continue;
        }
        if r.any {
            notes.push(format!(
                "{} → {} (hybrid: any target accepted)",
                q.name,
                records.join(", ")
            ));
            continue;
        }
        match hit {
            Some(v) => {
                let mut note = format!("{} → {v}", q.name);
                if r.tenant_unknown {
                    note.push_str(
                        " (tenant not verified: set [tenant] initial_domain for the exact target)",
                    );
                }
                notes.push(note);
            }
            None => {
                findings.push(Finding::fail(format!(
                    "{} {} is {}, expected {}",
                    q.name,
                    q.rtype,
                    records.join(", "),
                    if r.exact {
                        format!("exactly {}", r.accept.join(" | "))
                    } else {
                        r.accept.join(" | ")
                    }
                )));
            }
        }
    }
    let expected = Some(
        t.records
            .iter()
            .map(expected_text)
            .collect::<Vec<_>>()
            .join("; "),
    );
    let ok = if notes.is_empty() {
        "all records as expected".to_owned()
    } else {
        notes.join("; ")
    };
    Judgement::from_findings(findings, ok, expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Status;

    fn task(rtype: Rtype, accept: &[&str]) -> RecordTask {
        RecordTask {
            question: Question::new("autodiscover.contoso.com", rtype),
            accept: accept.iter().map(|s| (*s).to_owned()).collect(),
            exact: false,
            absent: false,
            any: false,
            fallback: None,
            tenant_unknown: false,
        }
    }

    fn ev(q: &Question, answer: Answer) -> DnsRecordEvidence {
        DnsRecordEvidence {
            lookups: vec![Lookup {
                question: q.clone(),
                answer,
            }],
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
            assert_eq!(j.status, want, "{answer:?}: {}", j.message);
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
        assert!(j.message.contains("must be removed"));
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
                },
                Lookup {
                    question: fq.clone(),
                    answer: mx,
                },
            ],
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
        assert!(j.message.contains("expected 100 1 443"), "{}", j.message);
    }
}
