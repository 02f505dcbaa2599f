//! `dns-mx`: the domain's MX records route mail to Exchange Online.
//!
//! Rules (FACTS.md §1.2 and its Corrections): the lowest-preference MX must be a Microsoft 365 host
//! of the documented shape (`<MX token>.mail.protection.outlook.com` or the DNSSEC-capable
//! `<MX token>.<x>-v1.mx.microsoft`, per cloud; the token is not derivable from the domain name), or
//! the exact value from the admin center when `mx` is configured; other MX records send mail elsewhere and
//! fail unless the domain is Exchange hybrid (where MX may point on-premises). The admin center's
//! verification fallback MX (`ms…msv1.invalid`, preference 32767) is recognised and not counted as
//! mail routing. A TTL above the advised value is a warning (the cutover would propagate slowly).

use serde::{Deserialize, Serialize};

use super::dns::{Lookup, Question, Rtype};
use super::dns_record::{Basis, shape_note};
use super::{PlanCx, ProbeCx, ProbeError};
use crate::level::{Level, Requirement};
use crate::outcome::{Finding, Judgement};
use crate::pattern::{TemplateError, name_matches};
use crate::text::Text;

/// `[check.probe]` of kind `dns-mx`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsMxSpec {
    /// Host patterns of Microsoft 365 mail exchangers.
    pub accept: Vec<String>,
    /// tenant.toml field with the exact expected host.
    #[serde(default)]
    pub exact_from: Option<String>,
    /// Host pattern of the verification-fallback MX.
    #[serde(default)]
    pub verification_fallback: Option<String>,
    /// Advised maximum TTL, seconds.
    #[serde(default)]
    pub max_ttl_s: Option<u32>,
    /// How strongly Microsoft asks for the MX record (default `required`).
    #[serde(default)]
    pub level: Level,
    /// Why it matters, for levels below `required`.
    #[serde(default)]
    pub why: Option<std::sync::Arc<str>>,
    /// `why` in Korean.
    #[serde(default)]
    pub why_ko: Option<std::sync::Arc<str>>,
    /// Where Microsoft documents it.
    #[serde(default)]
    pub source: Option<String>,
}

/// Planned `dns-mx`.
#[derive(Clone, Debug)]
pub struct DnsMxTask {
    /// The domain.
    pub domain: String,
    /// Accepted host patterns.
    pub accept: Vec<String>,
    /// Exact configured host, or the documented shape.
    pub basis: Basis,
    /// Verification fallback host pattern.
    pub verification_fallback: Option<String>,
    /// Advised maximum TTL.
    pub max_ttl_s: Option<u32>,
    /// Exchange hybrid.
    pub hybrid: bool,
    /// How strongly Microsoft asks for the MX record.
    pub requirement: Requirement,
}

impl DnsMxSpec {
    /// Expands templates for one domain.
    pub fn plan(&self, cx: &PlanCx<'_>) -> Result<DnsMxTask, TemplateError> {
        let (accept, basis) = match self.exact_from.as_deref().and_then(|f| cx.exact.get(f)) {
            Some(e) => (
                vec![e.value.clone()],
                Basis::Exact {
                    from: e.from.clone(),
                },
            ),
            None => {
                let mut all = Vec::new();
                for p in &self.accept {
                    all.extend(cx.vars.expand(p)?);
                }
                let make_exact = self
                    .exact_from
                    .as_deref()
                    .and_then(crate::tenant::exact_hint);
                (all, Basis::Shape { make_exact })
            }
        };
        Ok(DnsMxTask {
            domain: cx.domain.to_string(),
            accept,
            basis,
            verification_fallback: self.verification_fallback.clone(),
            max_ttl_s: self.max_ttl_s,
            hybrid: cx.hybrid,
            requirement: Requirement::plan(
                self.level,
                self.why.as_ref(),
                self.why_ko.as_ref(),
                cx.vars,
            )?,
        })
    }
}

impl DnsMxTask {
    /// The MX question.
    pub fn question(&self) -> Question {
        Question::new(&self.domain, Rtype::MX)
    }
}

/// What the MX records were held to, as the evidence shows it (see
/// [`super::dns_record::RecordExpectation`] for what is left out and why).
#[derive(Clone, Debug, Serialize)]
pub struct MxExpectation {
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
pub struct DnsMxEvidence {
    /// The MX lookup.
    pub lookup: Lookup,
    /// What the records were held to.
    pub expected: MxExpectation,
}

/// Looks the MX records up.
pub async fn observe(t: &DnsMxTask, cx: &ProbeCx) -> Result<DnsMxEvidence, ProbeError> {
    Ok(DnsMxEvidence {
        lookup: cx.resolver.query(&t.question()).await?,
        expected: match &t.basis {
            Basis::Exact { from } => MxExpectation {
                level: t.requirement.level,
                basis: "exact",
                from: Some(from.clone()),
            },
            Basis::Shape { .. } => MxExpectation {
                level: t.requirement.level,
                basis: "shape",
                from: None,
            },
        },
    })
}

fn parse(record: &str) -> Option<(u16, &str)> {
    let (pref, host) = record.split_once(' ')?;
    Some((pref.parse().ok()?, host))
}

/// Pure judgement.
pub fn judge(t: &DnsMxTask, e: &DnsMxEvidence) -> Judgement {
    let expected = vec![text!(
        "dns-mx.expected",
        exactly = if matches!(t.basis, Basis::Exact { .. }) {
            text!("dns-mx.exactly")
        } else {
            text!("empty")
        },
        hosts = t.accept.join(" or ")
    )];
    let mut findings = Vec::new();
    let all: Vec<(u16, &str)> = e
        .lookup
        .answer
        .records()
        .iter()
        .filter_map(|r| parse(r))
        .collect();
    let is_fallback = |h: &str| {
        t.verification_fallback
            .as_deref()
            .is_some_and(|p| name_matches(p, h))
    };
    type Mx<'a> = Vec<(u16, &'a str)>;
    let (fallback, routing): (Mx<'_>, Mx<'_>) =
        all.iter().copied().partition(|(_, h)| is_fallback(h));
    if !fallback.is_empty() {
        findings.push(Finding::warn(text!(
            "dns-mx.verification-mx",
            host = fallback[0].1
        )));
    }
    if routing.is_empty() {
        findings.push(t.requirement.missing(text!(
            "dns-mx.none",
            domain = &t.domain,
            answer = e.lookup.answer.describe()
        )));
        return Judgement::from_findings(findings, None, expected);
    }
    let is_ms = |h: &str| t.accept.iter().any(|p| name_matches(p, h));
    let lowest = routing.iter().map(|(p, _)| *p).min().unwrap_or(0);
    let (ms, other): (Mx<'_>, Mx<'_>) = routing.iter().copied().partition(|(_, h)| is_ms(h));
    let fmt = |v: &[(u16, &str)]| -> Vec<Text> {
        v.iter()
            .map(|(p, h)| text!("dns-mx.host", host = *h, preference = *p))
            .collect()
    };
    if t.hybrid {
        // On-premises routing is legitimate in hybrid; only a missing MX is a problem.
    } else if ms.is_empty() {
        findings.push(Finding::fail(text!(
            "dns-mx.not-exchange",
            hosts = fmt(&other)
        )));
    } else {
        let ms_lowest = ms.iter().map(|(p, _)| *p).min().unwrap_or(u16::MAX);
        if ms_lowest > lowest {
            findings.push(Finding::fail(text!(
                "dns-mx.lower-preference",
                others = fmt(&other
                    .iter()
                    .filter(|(p, _)| *p < ms_lowest)
                    .copied()
                    .collect::<Vec<_>>()),
                exchange = fmt(&ms)
            )));
        } else if !other.is_empty() {
            findings.push(Finding::fail(text!(
                "dns-mx.competing",
                hosts = fmt(&other)
            )));
        }
    }
    if let (Some(max), super::dns::Answer::Noerror { ttl_s, .. }) = (t.max_ttl_s, &e.lookup.answer)
        && *ttl_s > max
    {
        findings.push(Finding::warn(text!("dns-mx.ttl", ttl = *ttl_s, max = max)));
    }
    let ok = if t.hybrid && ms.is_empty() {
        text!("dns-mx.hybrid-ok", hosts = fmt(&routing))
    } else {
        // The pattern that matched the lowest Exchange Online MX tells whether only the shape
        // (not the tenant's token) was checked.
        let shape = ms
            .iter()
            .min_by_key(|(p, _)| *p)
            .and_then(|(_, h)| t.accept.iter().find(|p| name_matches(p, h)))
            .and_then(|p| shape_note(&t.basis, false, p));
        text!(
            "dns-mx.ok",
            hosts = fmt(&ms),
            shape = match shape {
                Some(s) => text!("dns-mx.shape", note = s),
                None => text!("empty"),
            }
        )
    };
    Judgement::from_findings(findings, ok, expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Status;
    use crate::probe::dns::Answer;

    fn task(hybrid: bool) -> DnsMxTask {
        DnsMxTask {
            domain: "contoso.com".into(),
            accept: vec![
                "*.mail.protection.outlook.com".into(),
                "*.*-v1.mx.microsoft".into(),
            ],
            basis: Basis::Shape {
                make_exact: Some("hint.mx"),
            },
            verification_fallback: Some("ms*.msv1.invalid".into()),
            max_ttl_s: Some(3600),
            hybrid,
            requirement: Requirement::default(),
        }
    }

    fn ev(records: &[&str], ttl: u32) -> DnsMxEvidence {
        let answer = if records.is_empty() {
            Answer::Nodata
        } else {
            Answer::Noerror {
                records: records.iter().map(|s| (*s).to_owned()).collect(),
                ttl_s: ttl,
            }
        };
        DnsMxEvidence {
            lookup: Lookup {
                question: Question::new("contoso.com", Rtype::MX),
                answer,
                retransmitted: 0,
            },
            expected: MxExpectation {
                level: Level::Required,
                basis: "shape",
                from: None,
            },
        }
    }

    #[test]
    fn boundaries() {
        let cases: &[(&[&str], u32, bool, Status)] = &[
            (
                &["0 contoso-com.mail.protection.outlook.com"],
                3600,
                false,
                Status::Pass,
            ),
            (
                &["0 contoso-com.j-v1.mx.microsoft"],
                3600,
                false,
                Status::Pass,
            ),
            // The token can carry a suffix: any single label before the documented zone.
            (
                &["0 contoso-com01c.mail.protection.outlook.com"],
                3600,
                false,
                Status::Pass,
            ),
            (
                &["0 a.b.mail.protection.outlook.com"],
                3600,
                false,
                Status::Fail,
            ),
            (&["0 contoso-com.mx.microsoft"], 3600, false, Status::Fail),
            (
                &["0 contoso-com.mail.protection.outlook.com"],
                3601,
                false,
                Status::Warn,
            ),
            (&["10 mail.contoso.com"], 3600, false, Status::Fail),
            (&["10 mail.contoso.com"], 3600, true, Status::Pass),
            (
                &[
                    "0 contoso-com.mail.protection.outlook.com",
                    "10 backup.contoso.com",
                ],
                3600,
                false,
                Status::Fail,
            ),
            (
                &[
                    "0 contoso-com.mail.protection.outlook.com",
                    "10 backup.contoso.com",
                ],
                3600,
                true,
                Status::Pass,
            ),
            (
                &[
                    "5 mail.contoso.com",
                    "10 contoso-com.mail.protection.outlook.com",
                ],
                3600,
                false,
                Status::Fail,
            ),
            (
                &[
                    "0 contoso-com.mail.protection.outlook.com",
                    "32767 ms12345678.msv1.invalid",
                ],
                3600,
                false,
                Status::Warn,
            ),
            (
                &["32767 ms12345678.msv1.invalid"],
                3600,
                false,
                Status::Fail,
            ),
            (&[], 0, false, Status::Fail),
            (&[], 0, true, Status::Fail),
        ];
        for (records, ttl, hybrid, want) in cases {
            let j = judge(&task(*hybrid), &ev(records, *ttl));
            assert_eq!(
                j.status,
                *want,
                "{records:?} ttl={ttl} hybrid={hybrid}: {}",
                j.message()
            );
        }
    }

    #[test]
    fn exact_value_from_the_admin_center_wins() {
        let mut t = task(false);
        t.accept = vec!["contoso-com01b.mail.protection.outlook.com".into()];
        t.basis = Basis::Exact {
            from: "tenant.toml [[domain]] mx".into(),
        };
        assert_eq!(
            judge(
                &t,
                &ev(&["0 contoso-com.mail.protection.outlook.com"], 3600)
            )
            .status,
            Status::Fail
        );
        assert_eq!(
            judge(
                &t,
                &ev(&["0 contoso-com01b.mail.protection.outlook.com"], 3600)
            )
            .status,
            Status::Pass
        );
    }

    #[test]
    fn a_shape_pass_says_so_and_how_to_make_it_exact() {
        let j = judge(
            &task(false),
            &ev(&["0 contoso-com01c.mail.protection.outlook.com"], 3600),
        );
        assert_eq!(j.status, Status::Pass);
        assert!(
            j.message().contains(
                "shape checked, not the exact value: for an exact check set [[domain]] mx"
            ),
            "{}",
            j.message()
        );
    }
}
