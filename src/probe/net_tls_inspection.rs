//! `net-tls-inspection`: is TLS to Microsoft 365 being intercepted on this network? A handshake
//! with Optimize/Allow hosts of the endpoint list, and a look at who issued what came back: the
//! chain must lead to a public root (webpki-roots) through one of the CAs Microsoft uses. A
//! middlebox re-signs with its own CA, which is named in the message — the way Microsoft's own
//! connectivity test words it ("intercepted", with the certificate's owner).

use serde::{Deserialize, Serialize};

use super::connect::{Reach, connect};
use super::{ProbeCx, ProbeError};
use crate::endpoint::Endpoint;
use crate::endpoint_sets::{Category, EndpointSet, PortPick, set_hosts};
use crate::outcome::{Finding, Judgement};
use crate::pattern::text_matches;
use crate::tls::cert::{host_matches, short_dn};
use crate::tls::{ChainEvidence, Trust};

/// `[check.probe]` of a `net-tls-inspection` check.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetTlsInspectionSpec {
    /// Categories whose hosts are tested.
    pub categories: Vec<Category>,
    /// At most this many hosts (the first non-wildcard URLs of the matching sets, in data order).
    pub max_hosts: usize,
    /// Issuer names (any certificate of the chain) Microsoft's services use; `*` wildcards,
    /// compared case-insensitively (CAs spell their names `D-TRUST`, `D-Trust GmbH`…).
    pub issuers: Vec<String>,
}

/// One host.
#[derive(Clone, Debug)]
pub struct NetTlsInspectionTask {
    /// host:443.
    pub endpoint: Endpoint,
    /// The set it came from.
    pub set: String,
    /// Expected issuer patterns.
    pub issuers: Vec<String>,
}

impl NetTlsInspectionSpec {
    /// The hosts to test, on 443.
    pub fn plan(&self, sets: &[EndpointSet], areas: &[String]) -> Vec<NetTlsInspectionTask> {
        set_hosts(
            sets,
            &self.categories,
            Some(areas),
            self.max_hosts,
            PortPick::PreferElseLast(443),
        )
        .into_iter()
        .map(|h| NetTlsInspectionTask {
            endpoint: h.endpoint,
            set: h.set,
            issuers: self.issuers.clone(),
        })
        .collect()
    }
}

/// What came back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NetTlsInspectionEvidence {
    /// The set the host belongs to.
    pub set: String,
    /// Address connected to.
    pub address: String,
    /// The handshake and chain.
    #[serde(flatten)]
    pub tls: ChainEvidence,
}

/// Handshakes with the host.
pub async fn observe(
    t: &NetTlsInspectionTask,
    cx: &ProbeCx,
) -> Result<NetTlsInspectionEvidence, ProbeError> {
    match connect(cx, &t.endpoint).await? {
        // Reachability is net.endpoints' question; without a connection there is no answer here.
        Reach::Unreachable(why) => Err(ProbeError::Net {
            kind: "unreachable",
            message: format!(
                "cannot tell whether TLS to {} is inspected: {why}",
                t.endpoint
            ),
        }),
        Reach::Connected(stream, addr) => {
            let tls = cx.tls.handshake(stream, &t.endpoint.host, cx.step).await?;
            Ok(NetTlsInspectionEvidence {
                set: t.set.clone(),
                address: addr.to_string(),
                tls,
            })
        }
    }
}

/// Pure.
pub fn judge(t: &NetTlsInspectionTask, e: &NetTlsInspectionEvidence) -> Judgement {
    let expected = Some(format!(
        "a publicly trusted certificate for {} from a CA Microsoft documents for Microsoft 365 ({})",
        t.endpoint.host,
        t.issuers
            .iter()
            .map(|p| p.trim_matches('*'))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let chain = &e.tls.certificates;
    let Some(leaf) = chain.first() else {
        let why = e
            .tls
            .handshake_error
            .clone()
            .unwrap_or_else(|| "no certificate".into());
        return Judgement::from_findings(
            vec![Finding::fail(format!(
                "TLS to {} failed ({why}): a middlebox may be interfering",
                t.endpoint
            ))],
            "",
            expected,
        );
    };
    // The chain only says who the server is if the server proved it holds the key (the
    // handshake completed: CertificateVerify checked), the certificate names this host, and it is
    // within its validity. Otherwise anyone can replay Microsoft's real chain; judge it as
    // `tls.certificate` does, before looking at the issuer.
    if let Some(h) = &e.tls.handshake_error {
        return Judgement::from_findings(
            vec![Finding::fail(format!(
                "the TLS handshake with {} failed after it presented a certificate from '{}' ({h}): whatever answered did not prove it is Microsoft 365; a middlebox may be interfering",
                t.endpoint,
                leaf.issuer_short()
            ))],
            "",
            expected,
        );
    }
    if !host_matches(&t.endpoint.host, &leaf.sans) {
        return Judgement::from_findings(
            vec![Finding::fail(format!(
                "the certificate presented for {} is for {}: something other than Microsoft 365 answered (a middlebox or a wrong route)",
                t.endpoint.host,
                if leaf.sans.is_empty() {
                    leaf.subject.clone()
                } else {
                    leaf.sans
                        .iter()
                        .take(4)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ))],
            "",
            expected,
        );
    }
    if leaf.expired || leaf.not_yet_valid {
        return Judgement::from_findings(
            vec![Finding::fail(format!(
                "the certificate presented for {} is {} (valid {} to {}): Microsoft 365 does not serve such certificates; a middlebox or a replayed certificate answered",
                t.endpoint.host,
                if leaf.expired {
                    "expired"
                } else {
                    "not yet valid"
                },
                leaf.not_before,
                leaf.not_after
            ))],
            "",
            expected,
        );
    }
    // The top of the presented chain names who vouches for it; a middlebox's CA shows up there.
    let top = chain
        .last()
        .map_or(leaf.issuer.as_str(), |c| c.issuer.as_str());
    let expected_issuer = chain.iter().any(|c| {
        let issuer = c.issuer.to_lowercase();
        t.issuers
            .iter()
            .any(|p| text_matches(&p.to_lowercase(), &issuer))
    });
    let issuer = short_dn(top);
    match (e.tls.trust, expected_issuer) {
        (Trust::Public | Trust::ExtraCa, true) => Judgement::from_findings(
            vec![],
            format!(
                "not intercepted: {} presents a certificate issued by '{}' ({})",
                t.endpoint.host,
                leaf.issuer_short(),
                issuer
            ),
            expected,
        ),
        (Trust::Public, false) => Judgement::from_findings(
            vec![Finding::warn(format!(
                "{} presents a publicly trusted certificate from '{issuer}', which Microsoft does not use for this service: a cloud proxy may be re-signing Microsoft 365 traffic",
                t.endpoint.host
            ))],
            "",
            expected,
        ),
        _ => Judgement::from_findings(
            vec![Finding::fail(format!(
                "intercepted: the certificate for {} is issued by '{}' (chain up to '{issuer}'), not by Microsoft's public CAs: a TLS-inspecting middlebox re-signs this traffic; exempt Optimize and Allow endpoints from TLS inspection",
                t.endpoint.host,
                leaf.issuer_short()
            ))],
            "",
            expected,
        ),
    }
}
