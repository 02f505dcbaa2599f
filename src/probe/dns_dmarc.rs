//! `dns-dmarc`: one `v=DMARC1` TXT record at `_dmarc.<domain>` with an enforcing policy
//! (RFC 7489 §6.3; Microsoft's rollout advice: p=none only while reading reports, learn.microsoft.com/defender-office-365/email-authentication-dmarc-configure).
//! Microsoft recommends DMARC (the check file's `level`): a missing record is judged by that level.
//! A record without a valid `p=` but with a valid `rua=` is treated as `p=none`, as receivers do
//! (RFC 7489 §6.6.3, policy discovery step 6).

use serde::{Deserialize, Serialize};

use super::dns::{Lookup, Question, Rtype};
use super::{PlanCx, ProbeCx, ProbeError};
use crate::outcome::{Finding, Judgement};
use crate::pattern::TemplateError;
use crate::text::Text;

/// `[check.probe]` of kind `dns-dmarc`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsDmarcSpec {
    /// Record name template (`_dmarc.{domain}`).
    pub name: String,
    /// Policies that only monitor (warn).
    #[serde(default)]
    pub weak_policies: Vec<String>,
    /// How strongly Microsoft asks for the record (default `required`).
    #[serde(default)]
    pub level: crate::level::Level,
    /// Why it matters, for levels below `required` (template).
    #[serde(default)]
    pub why: Option<std::sync::Arc<str>>,
    /// `why` in Korean.
    #[serde(default)]
    pub why_ko: Option<std::sync::Arc<str>>,
    /// Where Microsoft documents it.
    #[serde(default)]
    pub source: Option<String>,
}

/// Planned `dns-dmarc`.
#[derive(Clone, Debug)]
pub struct DnsDmarcTask {
    /// Record name.
    pub name: String,
    /// Policies that warn.
    pub weak_policies: Vec<String>,
    /// How strongly Microsoft asks for the record.
    pub requirement: crate::level::Requirement,
}

impl DnsDmarcSpec {
    /// Expands templates for one domain.
    pub fn plan(&self, cx: &PlanCx<'_>) -> Result<DnsDmarcTask, TemplateError> {
        Ok(DnsDmarcTask {
            name: cx.vars.expand_one(&self.name)?,
            weak_policies: self.weak_policies.clone(),
            requirement: crate::level::Requirement::plan(
                self.level,
                self.why.as_ref(),
                self.why_ko.as_ref(),
                cx.vars,
            )?,
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
    /// Tags a receiver would reject or ignore (an invalid value, a duplicate, a tag without a
    /// value, a reporting URI that is not a URI), each naming the tag.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "crate::text::serialize_en_vec"
    )]
    pub problems: Vec<Text>,
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
pub fn is_dmarc(txt: &str) -> bool {
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

/// Parses the tag list (`v=DMARC1; p=reject; pct=50`), noting every tag a receiver would reject
/// or ignore (RFC 7489 §6.3, and the `np`, `psd`, `t` tags of DMARCbis).
pub fn parse(record: &str) -> DmarcPolicy {
    let mut pol = DmarcPolicy {
        p: None,
        sp: None,
        pct: None,
        rua: None,
        problems: Vec::new(),
    };
    let mut seen = std::collections::HashSet::new();
    for tag in record.split(';').skip(1) {
        let tag = tag.trim();
        if tag.is_empty() {
            continue;
        }
        let Some((k, v)) = tag.split_once('=') else {
            pol.problems.push(text!("dmarc.tag-no-value", tag = tag));
            continue;
        };
        let k = k.trim().to_ascii_lowercase();
        let v = v.trim();
        if !seen.insert(k.clone()) {
            pol.problems.push(text!("dmarc.tag-repeated", tag = &k));
            continue;
        }
        let lower = v.to_ascii_lowercase();
        let one_of = |allowed: &[&str]| allowed.contains(&lower.as_str());
        let invalid =
            |allowed: Text| text!("dmarc.tag-invalid", tag = &k, value = v, allowed = allowed);
        match k.as_str() {
            "p" => pol.p = Some(lower.clone()),
            "sp" | "np" => {
                if !one_of(&["none", "quarantine", "reject"]) {
                    pol.problems.push(invalid(text!("dmarc.allowed-policy")));
                }
                if k == "sp" {
                    pol.sp = Some(lower.clone());
                }
            }
            "adkim" | "aspf" if !one_of(&["r", "s"]) => {
                pol.problems.push(invalid(text!("dmarc.allowed-alignment")));
            }
            "psd" if !one_of(&["y", "n", "u"]) => {
                pol.problems.push(invalid(text!("dmarc.allowed-psd")));
            }
            "t" if !one_of(&["y", "n"]) => pol.problems.push(invalid(text!("dmarc.allowed-yn"))),
            "fo" if !lower
                .split(':')
                .all(|o| matches!(o.trim(), "0" | "1" | "d" | "s")) =>
            {
                pol.problems.push(invalid(text!("dmarc.allowed-fo")));
            }
            "pct" => match v.parse::<u8>() {
                Ok(n) if n <= 100 => pol.pct = Some(n),
                _ => pol.problems.push(invalid(text!("dmarc.allowed-pct"))),
            },
            "rua" | "ruf" => {
                for uri in v.split(',').map(str::trim) {
                    if !valid_report_uri(uri) {
                        pol.problems
                            .push(text!("dmarc.bad-report-uri", tag = &k, uri = uri));
                    }
                }
                if k == "rua" {
                    pol.rua = Some(v.to_owned());
                }
            }
            _ => {}
        }
    }
    pol
}

/// One reporting URI (RFC 7489 §6.2): a URI with a scheme, `mailto:` in practice, with an
/// optional `!size` suffix.
fn valid_report_uri(uri: &str) -> bool {
    let u = uri.split_once('!').map_or(uri, |(u, _)| u);
    match u.split_once(':') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("mailto") => {
            rest.split_once('@').is_some_and(|(local, host)| {
                !local.is_empty() && host.contains('.') && !host.ends_with('.')
            })
        }
        Some((scheme, rest)) => {
            !rest.is_empty()
                && scheme
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        }
        None => false,
    }
}

/// Whether an `rua=` value holds at least one syntactically valid reporting URI (RFC 7489 §6.2:
/// a comma-separated list of URIs, `mailto:` in practice, each with an optional `!size`).
fn valid_rua(rua: &str) -> bool {
    rua.split(',').any(|u| {
        let u = u.trim();
        let u = u.split_once('!').map_or(u, |(uri, _)| uri);
        u.strip_prefix("mailto:")
            .or_else(|| u.strip_prefix("MAILTO:"))
            .and_then(|addr| addr.split_once('@'))
            .is_some_and(|(local, host)| {
                !local.is_empty() && host.contains('.') && !host.ends_with('.')
            })
    })
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
    let expected = vec![text!("dmarc.expected", name = &t.name)];
    let mut findings = Vec::new();
    match e.dmarc_records.len() {
        // Nothing published: judged by the level Microsoft gives DMARC.
        0 if e.lookup.answer.records().is_empty() => findings.push(t.requirement.missing(text!(
            "dmarc.none",
            name = &t.name,
            answer = e.lookup.answer.describe()
        ))),
        // Something published that is not DMARC (`v=dmarc1`, a typo): a wrong record fails.
        0 => findings.push(Finding::fail(text!("dmarc.not-dmarc", name = &t.name))),
        1 => {}
        n => findings.push(Finding::fail(text!("dmarc.several", n = n, name = &t.name))),
    }
    if let Some(pol) = &e.policy {
        let valid_p = pol
            .p
            .as_deref()
            .filter(|p| matches!(*p, "none" | "quarantine" | "reject"));
        let what = match pol.p.as_deref() {
            None => text!("dmarc.no-p"),
            Some(p) => text!("dmarc.bad-p", p = p),
        };
        match valid_p {
            // RFC 7489 §6.6.3 step 6: a valid rua makes receivers act as if p=none.
            None if pol.rua.as_deref().is_some_and(valid_rua) => {
                findings.push(Finding::warn(text!(
                    "dmarc.as-if-none",
                    name = &t.name,
                    what = what
                )));
            }
            None => findings.push(Finding::fail(text!(
                "dmarc.no-policy",
                name = &t.name,
                what = what
            ))),
            Some(p) if t.weak_policies.iter().any(|w| w == p) => {
                findings.push(Finding::warn(text!("dmarc.monitor-only", p = p)));
            }
            Some(_) => {
                if let Some(pct) = pol.pct.filter(|pct| *pct < 100) {
                    findings.push(Finding::warn(text!("dmarc.pct", pct = pct)));
                }
            }
        }
    }
    if let Some(pol) = &e.policy {
        for p in &pol.problems {
            findings.push(Finding::warn(text!(
                "dmarc.problem",
                name = &t.name,
                problem = p.clone()
            )));
        }
    }
    let ok = e
        .policy
        .as_ref()
        .and_then(|p| p.p.clone())
        .map(|p| text!("dmarc.ok", p = p));
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
                retransmitted: 0,
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
            requirement: crate::level::Requirement {
                level: crate::level::Level::Recommended,
                why: Some("receivers need it to act on spoofed mail".into()),
                why_ko: None,
            },
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
            // No (valid) p=: with a valid rua receivers act as if p=none (RFC 7489 §6.6.3).
            (&["v=DMARC1; rua=mailto:x@y"], Status::Fail),
            (&["v=DMARC1; rua=mailto:dmarc@contoso.com"], Status::Warn),
            (
                &["v=DMARC1; p=block; rua=mailto:dmarc@contoso.com"],
                Status::Warn,
            ),
            (&["v=DMARC1; rua=https://contoso.com/r"], Status::Fail),
            (&["v=DMARC1"], Status::Fail),
            (&["v=DMARC1; p=block"], Status::Fail),
            (&["v=DMARC1; p=reject", "v=DMARC1; p=none"], Status::Fail),
            // Recommended by Microsoft: a missing record warns; a wrong one fails.
            (&["some other text"], Status::Fail),
            (&[], Status::Warn),
        ];
        for (records, want) in cases {
            let j = judge(&t, &ev(records));
            assert_eq!(j.status, *want, "{records:?}: {}", j.message());
        }
    }
}
