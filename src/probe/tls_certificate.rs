//! `tls-certificate`: connect to a customer HTTPS endpoint, complete a TLS handshake whatever the
//! certificate looks like, and judge the presented chain (trust, name, dates, key, signature,
//! completeness, EKU) with [`crate::tls::chain::judge`].

use serde::{Deserialize, Serialize};

use super::connect::{Reach, connect};
use super::{EndpointPlanCx, ProbeCx, ProbeError};
use crate::endpoint::Endpoint;
use crate::outcome::{Judgement, Status};
use crate::text::Text;
use crate::tls::ChainEvidence;
use crate::tls::chain::{self, CertPolicy, DayThresholds, KeyPolicy};

/// `[check.probe]` of a `tls-certificate` check.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsCertificateSpec {
    /// Smallest acceptable RSA key, bits.
    pub min_rsa_bits: u32,
    /// Smallest acceptable EC key, bits.
    pub min_ec_bits: u32,
}

impl TlsCertificateSpec {
    /// The task for one endpoint.
    pub fn plan(&self, cx: &EndpointPlanCx<'_>) -> TlsCertificateTask {
        TlsCertificateTask {
            endpoint: cx.endpoint.clone(),
            policy: cx.cert_policy(KeyPolicy {
                min_rsa_bits: self.min_rsa_bits,
                min_ec_bits: self.min_ec_bits,
            }),
        }
    }
}

/// One endpoint to check.
#[derive(Clone, Debug)]
pub struct TlsCertificateTask {
    /// Where.
    pub endpoint: Endpoint,
    /// Against what.
    pub policy: CertPolicy,
}

/// What the endpoint showed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TlsCertificateEvidence {
    /// The address connected to.
    pub address: Option<String>,
    /// Why the endpoint could not be reached (definitive: NXDOMAIN, refused).
    #[serde(serialize_with = "crate::text::serialize_en_opt")]
    pub unreachable: Option<Text>,
    /// The handshake and chain.
    #[serde(flatten)]
    pub tls: Option<ChainEvidence>,
    /// The expiry thresholds it is judged by.
    pub thresholds: DayThresholds,
}

/// Connects and records the chain.
pub async fn observe(
    t: &TlsCertificateTask,
    cx: &ProbeCx,
) -> Result<TlsCertificateEvidence, ProbeError> {
    match connect(cx, &t.endpoint).await? {
        Reach::Unreachable(why) => Ok(TlsCertificateEvidence {
            address: None,
            unreachable: Some(why),
            tls: None,
            thresholds: t.policy.days(),
        }),
        Reach::Connected(stream, addr) => {
            let tls = cx.tls.handshake(stream, &t.endpoint.host, cx.step).await?;
            Ok(TlsCertificateEvidence {
                address: Some(addr.to_string()),
                unreachable: None,
                tls: Some(tls),
                thresholds: t.policy.days(),
            })
        }
    }
}

/// Pure.
pub fn judge(t: &TlsCertificateTask, e: &TlsCertificateEvidence) -> Judgement {
    match (&e.unreachable, &e.tls) {
        (_, Some(tls)) => chain::judge(&t.endpoint.host, tls, &t.policy),
        (Some(why), None) => Judgement::new(
            Status::Fail,
            why.clone(),
            vec![text!(
                "tls-certificate.expected",
                endpoint = t.endpoint.to_string()
            )],
        ),
        (None, None) => Judgement::new(Status::Fail, text!("probe.no-connection"), vec![]),
    }
}
