//! `dns-dmarc`: one `v=DMARC1` TXT record at `_dmarc.<domain>` with an enforcing policy
//! (RFC 7489 §6.3; Microsoft's rollout advice: p=none only while reading reports, FACTS.md §1.8).

use serde::{Deserialize, Serialize};

use super::dns::{Lookup, Question, Rtype};
use super::{PlanCx, ProbeCx, ProbeError};
use crate::outcome::{Finding, Judgement};
use crate::pattern::TemplateError;

/// `[check.probe]` of kind `dns-dmarc`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsDmarcSpec {
    /// Record name template (`_dmarc.{domain}`).
    pub name: String,
    /// Policies that only monitor (warn).
    #[serde(default)]
    pub weak_policies: Vec<String>,
}

/// Planned `dns-dmarc`.
#[derive(Clone, Debug)]
pub struct DnsDmarcTask {
    /// Record name.
    pub name: String,
    /// Policies that warn.
    pub weak_policies: Vec<String>,
}

impl DnsDmarcSpec {
    /// Expands templates for one domain.
    pub fn plan(&self, cx: &PlanCx<'_>) -> Result<DnsDmarcTask, TemplateError> {
        Ok(DnsDmarcTask {
            name: cx.vars.expand_one(&self.name)?,
            weak_policies: self.weak_policies.clone(),
        })
    }
}

impl DnsDmarcTask {
    /// The TXT question.
    pub fn question(&self) -> Question {
        Question::new(&self.name, Rtype::TXT)
    }
}

/// A parsed DMARC record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DmarcPolicy {
    /// `p=`.
    pub p: Option<String>,
    /// `sp=`.
    pub sp: Option<String>,
    /// `pct=` (default 100).
    pub pct: Option<u8>,
    /// `rua=`.
    pub rua: Option<String>,
}

/// What was seen.
#[derive(Clone, Debug, Serialize)]
pub struct DnsDmarcEvidence {
    /// The TXT lookup.
    pub lookup: Lookup,
    /// The DMARC records among the TXT records.
    pub dmarc_records: Vec<String>,
    /// The parsed policy of the single record, when there is exactly one.
    pub policy: Option<DmarcPolicy>,
}

/// Whether a TXT string is a DMARC record: `v` `=` `DMARC1` first, whitespace allowed around the
/// `=`, the version in upper case as the RFC 7489 §6.4 grammar spells it (`%x44 %x4d …`).
fn is_dmarc(txt: &str) -> bool {
    let t = txt.trim_start();
    let Some(rest) = t.strip_prefix(['v', 'V']) else {
        return false;
    };
    let Some(rest) = rest.trim_start().strip_prefix('=') else {
        return false;
    };
    let Some(after) = rest.trim_start().strip_prefix("DMARC1") else {
        return false;
    };
    let after = after.trim_start();
    after.is_empty() || after.starts_with(';')
}

/// Parses the tag list (`v=DMARC1; p=reject; pct=50`).
pub fn parse(record: &str) -> DmarcPolicy {
    let mut pol = DmarcPolicy {
        p: None,
        sp: None,
        pct: None,
        rua: None,
    };
    for tag in record.split(';') {
        let Some((k, v)) = tag.split_once('=') else {
            continue;
        };
        let v = v.trim().to_owned();
        match k.trim().to_ascii_lowercase().as_str() {
            "p" => pol.p = Some(v.to_ascii_lowercase()),
            "sp" => pol.sp = Some(v.to_ascii_lowercase()),
            "pct" => pol.pct = v.parse().ok(),
            "rua" => pol.rua = Some(v),
            _ => {}
        }
    }
    pol
}

/// Looks the record up and parses it.
pub async fn observe(t: &DnsDmarcTask, cx: &ProbeCx) -> Result<DnsDmarcEvidence, ProbeError> {
    let lookup = cx.resolver.query(&t.question()).await?;
    let dmarc_records: Vec<String> = lookup
        .answer
        .records()
        .iter()
        .filter(|r| is_dmarc(r))
        .cloned()
        .collect();
    let policy = match dmarc_records.as_slice() {
        [one] => Some(parse(one)),
        _ => None,
    };
    Ok(DnsDmarcEvidence {
        lookup,
        dmarc_records,
        policy,
    })
}

/// Pure judgement.
pub fn judge(t: &DnsDmarcTask, e: &DnsDmarcEvidence) -> Judgement {
    let expected = Some(format!(
        "one TXT record at {} starting v=DMARC1 with p=quarantine or p=reject",
        t.name
    ));
    let mut findings = Vec::new();
    match e.dmarc_records.len() {
        0 => findings.push(Finding::fail(format!(
            "no DMARC record at {} ({}): receivers have no policy for mail that fails SPF and DKIM",
            t.name,
            if e.lookup.answer.records().is_empty() {
                e.lookup.answer.describe()
            } else {
                "TXT records exist but none starts with v=DMARC1".into()
            }
        ))),
        1 => {}
        n => findings.push(Finding::fail(format!(
            "{n} DMARC records at {}: receivers ignore DMARC when there is more than one (RFC 7489 §6.6.3)",
            t.name
        ))),
    }
    if let Some(pol) = &e.policy {
        match pol.p.as_deref() {
            None => findings.push(Finding::fail(format!(
                "the DMARC record at {} has no p= policy tag",
                t.name
            ))),
            Some(p) if !matches!(p, "none" | "quarantine" | "reject") => {
                findings.push(Finding::fail(format!(
                    "p={p} is not a DMARC policy (none, quarantine or reject)"
                )));
            }
            Some(p) if t.weak_policies.iter().any(|w| w == p) => {
                findings.push(Finding::warn(format!(
                    "DMARC policy is p={p}: it only monitors; move to p=quarantine, then p=reject"
                )));
            }
            Some(_) => {
                if let Some(pct) = pol.pct.filter(|pct| *pct < 100) {
                    findings.push(Finding::warn(format!(
                        "DMARC applies to only pct={pct}% of failing mail; raise it to 100"
                    )));
                }
            }
        }
    }
    let ok = e
        .policy
        .as_ref()
        .and_then(|p| p.p.clone())
        .map_or_else(String::new, |p| format!("DMARC policy p={p}"));
    Judgement::from_findings(findings, ok, expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Status;
    use crate::probe::dns::Answer;

    fn ev(records: &[&str]) -> DnsDmarcEvidence {
        let answer = if records.is_empty() {
            Answer::Nxdomain
        } else {
            Answer::Noerror {
                records: records.iter().map(|s| (*s).to_owned()).collect(),
                ttl_s: 3600,
            }
        };
        let dmarc_records: Vec<String> = answer
            .records()
            .iter()
            .filter(|r| is_dmarc(r))
            .cloned()
            .collect();
        let policy = (dmarc_records.len() == 1).then(|| parse(&dmarc_records[0]));
        DnsDmarcEvidence {
            lookup: Lookup {
                question: Question::new("_dmarc.contoso.com", Rtype::TXT),
                answer,
            },
            dmarc_records,
            policy,
        }
    }

    #[test]
    fn boundaries() {
        let t = DnsDmarcTask {
            name: "_dmarc.contoso.com".into(),
            weak_policies: vec!["none".into()],
        };
        let cases: &[(&[&str], Status)] = &[
            (
                &["v=DMARC1; p=reject; rua=mailto:d@contoso.com"],
                Status::Pass,
            ),
            (&["v=DMARC1;p=quarantine"], Status::Pass),
            (&["V = DMARC1; P=Reject"], Status::Pass),
            (&["v=dmarc1; p=reject"], Status::Fail),
            (&["v=DMARC10; p=reject"], Status::Fail),
            (&["v=DMARC1; p=quarantine; pct=99"], Status::Warn),
            (&["v=DMARC1; p=quarantine; pct=100"], Status::Pass),
            (&["v=DMARC1; p=none"], Status::Warn),
            (&["v=DMARC1; rua=mailto:x@y"], Status::Fail),
            (&["v=DMARC1; p=block"], Status::Fail),
            (&["v=DMARC1; p=reject", "v=DMARC1; p=none"], Status::Fail),
            (&["some other text"], Status::Fail),
            (&[], Status::Fail),
        ];
        for (records, want) in cases {
            let j = judge(&t, &ev(records));
            assert_eq!(j.status, *want, "{records:?}: {}", j.message);
        }
    }
}
