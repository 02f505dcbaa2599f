//! `dns-mx`: the domain's MX records route mail to Exchange Online.
//!
//! Rules ("External Domain Name System records", learn.microsoft.com/microsoft-365/enterprise/
//! external-domain-name-system-records): the lowest-preference MX must be a Microsoft 365 host of
//! the documented shape (`<MX token>.mail.protection.outlook.com` or the DNSSEC-capable
//! `<MX token>.<x>-v1.mx.microsoft`, per cloud; the token is not derivable from the domain name),
//! or the exact value from the admin center or Graph when `mx` is known; other MX records send mail
//! elsewhere and fail unless the domain is Exchange hybrid (where MX may point on-premises). Three
//! real topologies are not failures:
//!
//! * a third-party mail gateway the tenant declares (`[[domain]] mx_gateway`) receiving first,
//!   which Microsoft supports with Enhanced Filtering for Connectors (learn.microsoft.com/exchange/
//!   mail-flow-best-practices/manage-mail-flow-using-third-party-cloud); an undeclared host of a
//!   well-known gateway fails with the hint to declare it;
//! * during the move to SMTP DANE, the domain's two Exchange Online hosts (the same MX token in
//!   both zones) side by side (learn.microsoft.com/purview/how-smtp-dane-works);
//! * the admin center's verification fallback MX (`ms…msv1.invalid`), not counted as routing.
//!
//! An Exchange Online host with another token than the exact one is named as such ("routes to
//! Exchange Online host X, but this tenant's host is Y"). A TTL above the advised value is a
//! warning (the cutover would propagate slowly).

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
    /// Well-known third-party mail gateways, by their MX hosts: an undeclared MX of one fails
    /// with the hint to declare it (`[[domain]] mx_gateway`).
    #[serde(default = "no_gateways")]
    pub gateway: std::sync::Arc<[KnownGateway]>,
}

fn no_gateways() -> std::sync::Arc<[KnownGateway]> {
    std::sync::Arc::new([])
}

/// `[[check.probe.gateway]]`: a mail gateway service and the shapes of its MX hosts.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownGateway {
    /// The service (`Mimecast`).
    pub name: String,
    /// Its MX hosts, as name patterns (`**.mimecast.com`).
    pub hosts: Vec<String>,
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
    /// The cloud's Exchange Online host shapes (`accept` before an exact value replaced them).
    pub shape: Vec<String>,
    /// Declared mail gateways in front of Exchange Online (`[[domain]] mx_gateway`).
    pub gateways: Vec<String>,
    /// Well-known gateway services, for the hint.
    pub known_gateways: std::sync::Arc<[KnownGateway]>,
}

impl DnsMxSpec {
    /// Expands templates for one domain.
    pub fn plan(&self, cx: &PlanCx<'_>) -> Result<DnsMxTask, TemplateError> {
        let mut shape = Vec::new();
        for p in &self.accept {
            shape.extend(cx.vars.expand(p)?);
        }
        let (accept, basis) = match self.exact_from.as_deref().and_then(|f| cx.exact.get(f)) {
            Some(e) => (
                vec![e.value.clone()],
                Basis::Exact {
                    from: e.from.clone(),
                },
            ),
            None => {
                let make_exact = self
                    .exact_from
                    .as_deref()
                    .and_then(crate::tenant::exact_hint);
                (shape.clone(), Basis::Shape { make_exact })
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
            shape,
            gateways: cx.mx_gateway.to_vec(),
            known_gateways: std::sync::Arc::clone(&self.gateway),
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

/// What one MX host is, for the judgement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// The tenant's Exchange Online host (exactly, or of the documented shape).
    Ours,
    /// The tenant's other Exchange Online host during a DANE migration: same MX token as the
    /// exact host, in the other zone (`<token>.mail.protection.outlook.com` beside
    /// `<token>.<x>-v1.mx.microsoft`).
    Migration,
    /// An Exchange Online host, but not this tenant's (another MX token).
    Foreign,
    /// A declared third-party mail gateway (`[[domain]] mx_gateway`).
    Gateway,
    /// Anything else.
    Other,
}

fn first_label(h: &str) -> &str {
    h.split('.').next().unwrap_or(h)
}

impl DnsMxTask {
    fn role(&self, host: &str) -> Role {
        let ours = self.accept.iter().any(|p| name_matches(p, host));
        if ours {
            return Role::Ours;
        }
        if self.shape.iter().any(|p| name_matches(p, host)) {
            // Only an exact host can make another Exchange Online host someone else's.
            return match &self.basis {
                Basis::Exact { .. }
                    if self
                        .accept
                        .iter()
                        .any(|e| first_label(e).eq_ignore_ascii_case(first_label(host))) =>
                {
                    Role::Migration
                }
                Basis::Exact { .. } => Role::Foreign,
                Basis::Shape { .. } => Role::Ours,
            };
        }
        if self.gateways.iter().any(|p| name_matches(p, host)) {
            return Role::Gateway;
        }
        Role::Other
    }

    /// The well-known gateway a host belongs to, if any (for the hint).
    fn known_gateway(&self, host: &str) -> Option<&str> {
        self.known_gateways
            .iter()
            .find(|g| g.hosts.iter().any(|p| name_matches(p, host)))
            .map(|g| g.name.as_str())
    }
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
    let mut notes = Vec::new();
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
    let fmt = |v: &[(u16, &str)]| -> Vec<Text> {
        v.iter()
            .map(|(p, h)| text!("dns-mx.host", host = *h, preference = *p))
            .collect()
    };
    let of = |role: Role| -> Mx<'_> {
        routing
            .iter()
            .copied()
            .filter(|(_, h)| t.role(h) == role)
            .collect()
    };
    let lowest = routing.iter().map(|(p, _)| *p).min().unwrap_or(0);
    let (ours, migration, foreign, gateway, other) = (
        of(Role::Ours),
        of(Role::Migration),
        of(Role::Foreign),
        of(Role::Gateway),
        of(Role::Other),
    );
    // "If this is your gateway, set mx_gateway": said for undeclared hosts of well-known
    // gateways, whatever else is wrong.
    let hint = |hosts: &Mx<'_>| -> Text {
        // One host per service is enough to name it.
        let mut named: Vec<&str> = Vec::new();
        let known: Vec<Text> = hosts
            .iter()
            .filter_map(|(_, h)| {
                let g = t.known_gateway(h)?;
                (!named.contains(&g)).then(|| {
                    named.push(g);
                    text!("dns-mx.gateway-named", host = *h, gateway = g)
                })
            })
            .collect();
        if known.is_empty() {
            text!("empty")
        } else {
            text!("dns-mx.gateway-hint", hosts = known)
        }
    };
    if t.hybrid {
        // On-premises routing is legitimate in hybrid; only a missing MX is a problem.
    } else {
        if !foreign.is_empty() {
            findings.push(Finding::fail(text!(
                "dns-mx.other-tenant-host",
                hosts = fmt(&foreign),
                expected = t.accept.join(" or ")
            )));
        }
        // What receives mail first: the records of the lowest preference.
        let front_other: Mx<'_> = other
            .iter()
            .copied()
            .filter(|(p, _)| *p == lowest)
            .collect();
        let exchange_or_gateway: Mx<'_> = ours
            .iter()
            .chain(&migration)
            .chain(&gateway)
            .copied()
            .collect();
        if !front_other.is_empty() {
            if exchange_or_gateway.is_empty() && foreign.is_empty() {
                findings.push(Finding::fail(text!(
                    "dns-mx.not-exchange",
                    hosts = fmt(&other),
                    hint = hint(&other)
                )));
            } else if !exchange_or_gateway.is_empty() {
                let best = exchange_or_gateway
                    .iter()
                    .map(|(p, _)| *p)
                    .min()
                    .unwrap_or(u16::MAX);
                let before: Mx<'_> = other.iter().copied().filter(|(p, _)| *p < best).collect();
                findings.push(Finding::fail(text!(
                    "dns-mx.lower-preference",
                    others = fmt(&before),
                    exchange = fmt(&exchange_or_gateway),
                    hint = hint(&before)
                )));
            }
        } else if !other.is_empty() {
            findings.push(Finding::fail(text!(
                "dns-mx.competing",
                hosts = fmt(&other),
                hint = hint(&other)
            )));
        }
        if gateway.iter().any(|(p, _)| *p == lowest) {
            let names: Vec<Text> = gateway
                .iter()
                .map(|(p, h)| match t.known_gateway(h) {
                    Some(g) => text!(
                        "dns-mx.gateway-host",
                        host = *h,
                        preference = *p,
                        gateway = g
                    ),
                    None => text!("dns-mx.host", host = *h, preference = *p),
                })
                .collect();
            notes.push(text!("dns-mx.through-gateway", hosts = names));
            let behind: Mx<'_> = ours.iter().chain(&migration).copied().collect();
            if !behind.is_empty() {
                notes.push(text!("dns-mx.gateway-bypass", hosts = fmt(&behind)));
            }
        }
        if !migration.is_empty() {
            notes.push(text!(
                "dns-mx.migration",
                hosts = fmt(&migration),
                exact = t.accept.join(" or ")
            ));
        }
    }
    if let (Some(max), super::dns::Answer::Noerror { ttl_s, .. }) = (t.max_ttl_s, &e.lookup.answer)
        && *ttl_s > max
    {
        findings.push(Finding::warn(text!("dns-mx.ttl", ttl = *ttl_s, max = max)));
    }
    let exchange: Mx<'_> = ours.iter().chain(&migration).copied().collect();
    let ok = if t.hybrid && exchange.is_empty() {
        text!("dns-mx.hybrid-ok", hosts = fmt(&routing))
    } else if exchange.is_empty() {
        text!("dns-mx.gateway-ok", hosts = fmt(&gateway))
    } else {
        // The pattern that matched the lowest Exchange Online MX tells whether only the shape
        // (not the tenant's token) was checked.
        let shape = exchange
            .iter()
            .min_by_key(|(p, _)| *p)
            .and_then(|(_, h)| t.accept.iter().find(|p| name_matches(p, h)))
            .and_then(|p| shape_note(&t.basis, false, p));
        text!(
            "dns-mx.ok",
            hosts = fmt(&exchange),
            shape = match shape {
                Some(s) => text!("dns-mx.shape", note = s),
                None => text!("empty"),
            }
        )
    };
    let mut j = Judgement::from_findings(findings, ok, expected);
    if j.status != crate::outcome::Status::Fail {
        j.message.extend(notes);
    }
    j
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
            shape: vec![
                "*.mail.protection.outlook.com".into(),
                "*.*-v1.mx.microsoft".into(),
            ],
            gateways: vec![],
            known_gateways: vec![KnownGateway {
                name: "Mimecast".into(),
                hosts: vec!["**.mimecast.com".into()],
            }]
            .into(),
        }
    }

    fn exact(host: &str) -> DnsMxTask {
        DnsMxTask {
            accept: vec![host.into()],
            basis: Basis::Exact {
                from: "tenant.toml [[domain]] mx".into(),
            },
            ..task(false)
        }
    }

    #[test]
    fn a_declared_gateway_in_front_of_exchange_online_passes_with_microsofts_advice() {
        let mut t = task(false);
        t.gateways = vec![crate::pattern::host_glob("*.mimecast.com").unwrap()];
        let j = judge(
            &t,
            &ev(
                &[
                    "10 us-smtp-inbound-1.mimecast.com",
                    "10 us-smtp-inbound-2.mimecast.com",
                ],
                3600,
            ),
        );
        assert_eq!(j.status, Status::Pass, "{}", j.message());
        assert!(j.message().contains("through the declared gateway"));
        assert!(j.message().contains("Mimecast"));
        assert!(j.message().contains("Enhanced Filtering for Connectors"));
        // An undeclared host beside the gateway still competes.
        let j = judge(
            &t,
            &ev(
                &["10 us-smtp-inbound-1.mimecast.com", "20 backup.example.net"],
                3600,
            ),
        );
        assert_eq!(j.status, Status::Fail, "{}", j.message());
        // The Exchange Online host published behind the gateway: a note on bypassing it.
        let j = judge(
            &t,
            &ev(
                &[
                    "10 us-smtp-inbound-1.mimecast.com",
                    "20 contoso-com.mail.protection.outlook.com",
                ],
                3600,
            ),
        );
        assert_eq!(j.status, Status::Pass, "{}", j.message());
        assert!(
            j.message().contains("bypass the gateway"),
            "{}",
            j.message()
        );
    }

    #[test]
    fn an_undeclared_well_known_gateway_fails_with_the_hint_to_declare_it() {
        let j = judge(
            &task(false),
            &ev(&["10 eu-smtp-inbound-1.mimecast.com"], 3600),
        );
        assert_eq!(j.status, Status::Fail);
        assert!(
            j.message().contains(
                "eu-smtp-inbound-1.mimecast.com is Mimecast's: if this is your mail gateway in front of Exchange Online, declare it in tenant.toml with [[domain]] mx_gateway"
            ),
            "{}",
            j.message()
        );
        // Unknown hosts get no hint.
        let j = judge(&task(false), &ev(&["10 mail.contoso.com"], 3600));
        assert!(!j.message().contains("mx_gateway"), "{}", j.message());
    }

    #[test]
    fn the_dane_migration_pair_is_not_competing() {
        // Exact: the DNSSEC host; the old host at a higher preference (Microsoft's step).
        let t = exact("contoso-com.j-v1.mx.microsoft");
        for records in [
            &[
                "0 contoso-com.j-v1.mx.microsoft",
                "30 contoso-com.mail.protection.outlook.com",
            ][..],
            // The first step: the new host added at 20 behind the old one.
            &[
                "0 contoso-com.mail.protection.outlook.com",
                "20 contoso-com.j-v1.mx.microsoft",
            ],
        ] {
            let j = judge(&t, &ev(records, 3600));
            assert_eq!(j.status, Status::Pass, "{records:?}: {}", j.message());
            assert!(
                j.message()
                    .contains("this domain's other Exchange Online host"),
                "{}",
                j.message()
            );
        }
        // Exact: the old host, the new one published beside it.
        let t = exact("contoso-com.mail.protection.outlook.com");
        let j = judge(
            &t,
            &ev(
                &[
                    "0 contoso-com.mail.protection.outlook.com",
                    "20 contoso-com.j-v1.mx.microsoft",
                ],
                3600,
            ),
        );
        assert_eq!(j.status, Status::Pass, "{}", j.message());
    }

    #[test]
    fn another_tenants_exchange_online_host_is_named_as_such() {
        let t = exact("contoso-com01c.mail.protection.outlook.com");
        let j = judge(
            &t,
            &ev(&["0 fabrikam-com.mail.protection.outlook.com"], 3600),
        );
        assert_eq!(j.status, Status::Fail);
        assert!(
            j.message().contains(
                "MX routes to Exchange Online host fabrikam-com.mail.protection.outlook.com (preference 0), but this tenant's host is contoso-com01c.mail.protection.outlook.com"
            ),
            "{}",
            j.message()
        );
        assert!(!j.message().contains("not to Exchange Online"));
        // Beside the right host, another tenant's host still fails.
        let j = judge(
            &t,
            &ev(
                &[
                    "0 contoso-com01c.mail.protection.outlook.com",
                    "10 fabrikam-com.mail.protection.outlook.com",
                ],
                3600,
            ),
        );
        assert_eq!(j.status, Status::Fail, "{}", j.message());
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
