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
use crate::outcome::{Judgement, Status};
use crate::pattern::text_matches;
use crate::text::Text;
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
            message: text!(
                "tls-inspection.unreachable",
                endpoint = t.endpoint.to_string(),
                why = why
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
    let expected = vec![text!(
        "tls-inspection.expected",
        host = &t.endpoint.host,
        issuers = t
            .issuers
            .iter()
            .map(|p| p.trim_matches('*'))
            .collect::<Vec<_>>()
            .join(", ")
    )];
    let fail = |message: Text| Judgement::new(Status::Fail, message, expected.clone());
    let chain = &e.tls.certificates;
    let Some(leaf) = chain.first() else {
        let why = e
            .tls
            .handshake_error
            .clone()
            .unwrap_or_else(|| text!("tls-inspection.no-certificate"));
        return fail(text!(
            "tls-inspection.failed",
            endpoint = t.endpoint.to_string(),
            why = why
        ));
    };
    // The chain only says who the server is if the server proved it holds the key (the
    // handshake completed: CertificateVerify checked), the certificate names this host, and it is
    // within its validity. Otherwise anyone can replay Microsoft's real chain; judge it as
    // `tls.certificate` does, before looking at the issuer.
    if let Some(h) = &e.tls.handshake_error {
        return fail(text!(
            "tls-inspection.unproven",
            endpoint = t.endpoint.to_string(),
            issuer = leaf.issuer_short(),
            why = h.clone()
        ));
    }
    if !host_matches(&t.endpoint.host, &leaf.sans) {
        return fail(text!(
            "tls-inspection.wrong-name",
            host = &t.endpoint.host,
            names = if leaf.sans.is_empty() {
                leaf.subject.clone()
            } else {
                leaf.sans
                    .iter()
                    .take(4)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ));
    }
    if leaf.expired || leaf.not_yet_valid {
        return fail(text!(
            "tls-inspection.out-of-validity",
            host = &t.endpoint.host,
            state = if leaf.expired {
                text!("tls-inspection.expired")
            } else {
                text!("tls-inspection.not-yet-valid")
            },
            not_before = &leaf.not_before,
            not_after = &leaf.not_after
        ));
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
        (Trust::Public | Trust::ExtraCa, true) => Judgement::new(
            Status::Pass,
            text!(
                "tls-inspection.ok",
                host = &t.endpoint.host,
                issuer = leaf.issuer_short(),
                top = issuer
            ),
            expected,
        ),
        (Trust::Public, false) => Judgement::new(
            Status::Warn,
            text!(
                "tls-inspection.unexpected-ca",
                host = &t.endpoint.host,
                top = issuer
            ),
            expected,
        ),
        _ => fail(text!(
            "tls-inspection.intercepted",
            host = &t.endpoint.host,
            issuer = leaf.issuer_short(),
            top = issuer
        )),
    }
}
