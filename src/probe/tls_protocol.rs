//! `tls-protocol`: which TLS versions an endpoint accepts. Each version is offered alone, on its
//! own connection, with a hand-built ClientHello ([`crate::tls::hello`]); the four offers run
//! concurrently. Required versions missing → `fail`; deprecated versions still accepted → `warn`.

use serde::{Deserialize, Serialize};

use super::connect::{Reach, connect};
use super::{EndpointPlanCx, ProbeCx, ProbeError};
use crate::endpoint::Endpoint;
use crate::outcome::{Finding, Judgement, Status};
use crate::text::Text;
use crate::tls::hello::{self, Reply, Version};

/// `[check.probe]` of a `tls-protocol` check.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsProtocolSpec {
    /// Versions that must be accepted (`"TLS 1.2"`).
    pub required: Vec<VersionName>,
    /// Versions that should no longer be accepted (`"TLS 1.0"`, `"TLS 1.1"`).
    pub deprecated: Vec<VersionName>,
}

/// A version as written in the check files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum VersionName {
    /// TLS 1.0.
    #[serde(rename = "TLS 1.0")]
    Tls10,
    /// TLS 1.1.
    #[serde(rename = "TLS 1.1")]
    Tls11,
    /// TLS 1.2.
    #[serde(rename = "TLS 1.2")]
    Tls12,
    /// TLS 1.3.
    #[serde(rename = "TLS 1.3")]
    Tls13,
}

impl From<VersionName> for Version {
    fn from(v: VersionName) -> Self {
        match v {
            VersionName::Tls10 => Self::Tls10,
            VersionName::Tls11 => Self::Tls11,
            VersionName::Tls12 => Self::Tls12,
            VersionName::Tls13 => Self::Tls13,
        }
    }
}

impl TlsProtocolSpec {
    /// The task for one endpoint.
    pub fn plan(&self, cx: &EndpointPlanCx<'_>) -> TlsProtocolTask {
        TlsProtocolTask {
            endpoint: cx.endpoint.clone(),
            required: self.required.iter().map(|&v| v.into()).collect(),
            deprecated: self.deprecated.iter().map(|&v| v.into()).collect(),
        }
    }
}

/// One endpoint to probe.
#[derive(Clone, Debug)]
pub struct TlsProtocolTask {
    /// Where.
    pub endpoint: Endpoint,
    /// Must be accepted.
    pub required: Vec<Version>,
    /// Should be refused.
    pub deprecated: Vec<Version>,
}

/// One version offered and what came back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Offer {
    /// The version offered.
    pub version: Version,
    /// Whether the server selected it.
    pub accepted: bool,
    /// The server's answer.
    #[serde(flatten)]
    pub reply: Reply,
}

/// Evidence: the answer to each version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TlsProtocolEvidence {
    /// Address probed.
    pub address: Option<String>,
    /// Why the endpoint could not be reached.
    #[serde(serialize_with = "crate::text::serialize_en_opt")]
    pub unreachable: Option<Text>,
    /// One entry per version, oldest first.
    pub offers: Vec<Offer>,
}

async fn offer_one(
    t: &TlsProtocolTask,
    cx: &ProbeCx,
    version: Version,
) -> Result<(Option<String>, Result<Offer, Text>), ProbeError> {
    let (mut stream, addr) = match connect(cx, &t.endpoint).await? {
        Reach::Connected(s, a) => (s, a),
        Reach::Unreachable(why) => return Ok((None, Err(why))),
    };
    let sni = t
        .endpoint
        .ip()
        .is_none()
        .then_some(t.endpoint.host.as_str());
    let reply = hello::offer(&mut stream, version, sni, cx.step)
        .await
        .map_err(|e| ProbeError::Net {
            kind: if e.kind() == std::io::ErrorKind::TimedOut {
                "timeout"
            } else {
                "unreachable"
            },
            message: text!(
                "protocol.no-answer",
                endpoint = t.endpoint.to_string(),
                version = version.name(),
                timeout = humantime::format_duration(cx.step).to_string(),
                error = e.to_string()
            ),
        })?;
    let accepted = matches!(reply, Reply::ServerHello { selected: Some(v), .. } if v == version);
    Ok((
        Some(addr.to_string()),
        Ok(Offer {
            version,
            accepted,
            reply,
        }),
    ))
}

/// Offers every version, concurrently.
pub async fn observe(t: &TlsProtocolTask, cx: &ProbeCx) -> Result<TlsProtocolEvidence, ProbeError> {
    let runs = futures::future::join_all(Version::ALL.map(|v| offer_one(t, cx, v))).await;
    let mut evidence = TlsProtocolEvidence {
        address: None,
        unreachable: None,
        offers: Vec::new(),
    };
    for r in runs {
        let (addr, offer) = r?;
        if evidence.address.is_none() {
            evidence.address = addr;
        }
        match offer {
            Ok(o) => evidence.offers.push(o),
            Err(why) => {
                evidence.unreachable = Some(why);
                evidence.offers.clear();
                break;
            }
        }
    }
    Ok(evidence)
}

fn describe(o: &Offer) -> Text {
    match &o.reply {
        Reply::ServerHello { version, .. } if !o.accepted => {
            text!("protocol.answered-with", version = version)
        }
        Reply::ServerHello { .. } => text!("protocol.accepted"),
        Reply::Alert { alert } => text!("protocol.alert", alert = alert),
        Reply::Closed => text!("protocol.closed"),
        Reply::NotTls { start } => text!("protocol.not-tls", start = start),
    }
}

/// Pure.
pub fn judge(t: &TlsProtocolTask, e: &TlsProtocolEvidence) -> Judgement {
    let expected = vec![text!(
        "protocol.expected",
        required = t
            .required
            .iter()
            .map(|v| v.name())
            .collect::<Vec<_>>()
            .join(" and "),
        deprecated = t
            .deprecated
            .iter()
            .map(|v| v.name())
            .collect::<Vec<_>>()
            .join(" and ")
    )];
    if let Some(why) = &e.unreachable {
        return Judgement::new(Status::Fail, why.clone(), expected);
    }
    let mut findings = Vec::new();
    let get = |v: Version| e.offers.iter().find(|o| o.version == v);
    for &v in &t.required {
        match get(v) {
            Some(o) if o.accepted => {}
            Some(o) => findings.push(Finding::fail(text!(
                "protocol.not-accepted",
                version = v.name(),
                reply = describe(o)
            ))),
            None => findings.push(Finding::fail(text!(
                "protocol.not-probed",
                version = v.name()
            ))),
        }
    }
    let legacy: Vec<&str> = t
        .deprecated
        .iter()
        .filter(|&&v| get(v).is_some_and(|o| o.accepted))
        .map(|v| v.name())
        .collect();
    if !legacy.is_empty() {
        findings.push(Finding::warn(text!(
            "protocol.legacy",
            versions = legacy.join(" and "),
            them = if legacy.len() == 1 {
                text!("endpoints.it")
            } else {
                text!("endpoints.them")
            }
        )));
    }
    let accepted: Vec<&str> = e
        .offers
        .iter()
        .filter(|o| o.accepted)
        .map(|o| o.version.name())
        .collect();
    Judgement::from_findings(
        findings,
        text!("protocol.ok", versions = accepted.join(", ")),
        expected,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(v: Version, accepted: bool) -> Offer {
        Offer {
            version: v,
            accepted,
            reply: if accepted {
                Reply::ServerHello {
                    version: v.name().into(),
                    cipher_suite: "0xc02f".into(),
                    selected: Some(v),
                }
            } else {
                Reply::Alert {
                    alert: "protocol_version".into(),
                }
            },
        }
    }

    fn judge_set(accepted: [bool; 4]) -> Judgement {
        let t = TlsProtocolTask {
            endpoint: Endpoint::parse("sts.contoso.com", 443).unwrap(),
            required: vec![Version::Tls12],
            deprecated: vec![Version::Tls10, Version::Tls11],
        };
        let e = TlsProtocolEvidence {
            address: None,
            unreachable: None,
            offers: Version::ALL
                .iter()
                .zip(accepted)
                .map(|(&v, a)| offer(v, a))
                .collect(),
        };
        judge(&t, &e)
    }

    #[test]
    fn versions() {
        assert_eq!(judge_set([false, false, true, true]).status, Status::Pass);
        assert_eq!(judge_set([false, false, true, false]).status, Status::Pass);
        let j = judge_set([true, false, true, true]);
        assert_eq!(j.status, Status::Warn);
        assert!(
            j.message().starts_with("TLS 1.0 still accepted"),
            "{}",
            j.message()
        );
        let j = judge_set([true, true, true, true]);
        assert!(
            j.message().contains("TLS 1.0 and TLS 1.1"),
            "{}",
            j.message()
        );
        let j = judge_set([false, false, false, true]);
        assert_eq!(j.status, Status::Fail);
        assert!(
            j.message()
                .contains("TLS 1.2 is not accepted (alert protocol_version)"),
            "{}",
            j.message()
        );
        assert_eq!(judge_set([true, false, false, false]).status, Status::Fail);
    }
}
