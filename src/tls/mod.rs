//! TLS machinery the certificate probes share: the trust stores (Mozilla roots from webpki-roots
//! = "publicly trusted"; `--ca-file` = extra anchors that are reported as such), a handshake that
//! records the presented chain even when it is broken ([`verifier::Recorder`]), trust evaluation
//! after the fact, and the pure chain judge ([`chain::judge`]).
//!
//! Why record-then-evaluate instead of letting rustls reject: a refused handshake tells the
//! customer nothing; a recorded chain tells them the expiry date, the names, the issuer and the
//! missing intermediate, all at once.

pub mod cert;
pub mod chain;
pub mod hello;
pub mod verifier;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, RootCertStore};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::text::Text;
use cert::CertInfo;

/// A handshake that could not be judged (a stall, a name that cannot be sent): the probes turn
/// it into their own error (this module sits below them and does not know their types).
#[derive(Clone, Debug, thiserror::Error)]
#[error("{}", .message.render(crate::output::Lang::En))]
pub struct TlsError {
    /// Stable label: `timeout`, `bad_name`, `internal`.
    pub kind: &'static str,
    /// For a person.
    pub message: Text,
}

/// Who vouches for the presented chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trust {
    /// Chains to a Mozilla root (webpki-roots): what Microsoft's and customers' clients accept.
    Public,
    /// Chains only to a CA from `--ca-file` (staging/lab).
    ExtraCa,
    /// Chains to nothing we trust.
    Untrusted,
    /// No certificate to evaluate.
    Unknown,
}

/// What a TLS handshake showed: the evidence shared by `tls.certificate` and `tls.smtp-starttls`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChainEvidence {
    /// When the certificates were evaluated (RFC 3339).
    pub checked_at: String,
    /// The SNI sent (none for an IP address).
    pub sni: Option<String>,
    /// Negotiated protocol version (`TLSv1.3`…), when the handshake completed.
    pub version: Option<String>,
    /// Negotiated cipher suite.
    pub cipher_suite: Option<String>,
    /// Why the handshake did not complete, for a person.
    #[serde(serialize_with = "crate::text::serialize_en_opt")]
    pub handshake_error: Option<Text>,
    /// The presented chain, leaf first.
    pub certificates: Vec<CertInfo>,
    /// Certificates that could not be parsed (position and reason).
    #[serde(serialize_with = "crate::text::serialize_en_vec")]
    pub unparsable: Vec<Text>,
    /// Who vouches for the chain.
    pub trust: Trust,
    /// Why public-root validation failed, when it did.
    #[serde(serialize_with = "crate::text::serialize_en_opt")]
    pub trust_detail: Option<Text>,
    /// The first issuer that is neither sent by the server nor a trusted root (a chain gap).
    pub missing_issuer: Option<String>,
}

/// Trust stores and the crypto provider, built once per scan.
#[derive(Clone)]
pub struct TlsCx {
    provider: Arc<CryptoProvider>,
    public: Arc<WebPkiServerVerifier>,
    extra: Option<Arc<WebPkiServerVerifier>>,
    /// Subjects (DER contents) of every trust anchor, public and extra (chain-gap detection).
    anchor_subjects: Arc<HashSet<Vec<u8>>>,
    /// A verifying client configuration (public + extra roots) for HTTPS fetches.
    verifying: Arc<ClientConfig>,
}

impl std::fmt::Debug for TlsCx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsCx")
            .field("extra_ca", &self.extra.is_some())
            .finish_non_exhaustive()
    }
}

/// The extra CA file could not be used.
#[derive(Debug, thiserror::Error)]
#[error("--ca-file {path}: {message}")]
pub struct CaFileError {
    path: String,
    message: String,
}

/// Reads every certificate of a PEM file.
pub fn read_pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, CaFileError> {
    let err = |message: String| CaFileError {
        path: path.display().to_string(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| err(format!("not a PEM certificate file ({e})")))?;
    if certs.is_empty() {
        return Err(err("no `BEGIN CERTIFICATE` block found".into()));
    }
    Ok(certs)
}

/// The DER contents of a DER TLV (strips tag and length), as webpki stores anchor subjects.
fn der_contents(tlv: &[u8]) -> &[u8] {
    let Some(&len0) = tlv.get(1) else { return tlv };
    let header = if len0 < 0x80 {
        2
    } else {
        2 + usize::from(len0 & 0x7f)
    };
    tlv.get(header..).unwrap_or(tlv)
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl TlsCx {
    /// Public roots plus the optional extra CA certificates.
    pub fn new(extra_ca: Option<&Path>) -> Result<Self, CaFileError> {
        let provider = CryptoProvider::get_default()
            .cloned()
            .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
        let internal = |message: String| CaFileError {
            path: "(built-in roots)".into(),
            message,
        };
        let mut public_roots = RootCertStore::empty();
        public_roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let mut anchors: HashSet<Vec<u8>> = public_roots
            .roots
            .iter()
            .map(|a| a.subject.as_ref().to_vec())
            .collect();
        let mut all_roots = public_roots.clone();
        let public = WebPkiServerVerifier::builder_with_provider(
            Arc::new(public_roots),
            Arc::clone(&provider),
        )
        .build()
        .map_err(|e| internal(e.to_string()))?;
        let extra = match extra_ca {
            None => None,
            Some(path) => {
                let certs = read_pem_certs(path)?;
                let mut store = RootCertStore::empty();
                for c in certs {
                    store.add(c.clone()).map_err(|e| CaFileError {
                        path: path.display().to_string(),
                        message: format!("a certificate cannot be used as a trust anchor ({e})"),
                    })?;
                    all_roots.add(c).map_err(|e| internal(e.to_string()))?;
                }
                anchors.extend(store.roots.iter().map(|a| a.subject.as_ref().to_vec()));
                Some(
                    WebPkiServerVerifier::builder_with_provider(
                        Arc::new(store),
                        Arc::clone(&provider),
                    )
                    .build()
                    .map_err(|e| CaFileError {
                        path: path.display().to_string(),
                        message: e.to_string(),
                    })?,
                )
            }
        };
        let verifying = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| internal(e.to_string()))?
            .with_root_certificates(all_roots)
            .with_no_client_auth();
        Ok(Self {
            provider,
            public,
            extra,
            anchor_subjects: Arc::new(anchors),
            verifying: Arc::new(verifying),
        })
    }

    /// A verifying client configuration (public roots + `--ca-file`), for HTTPS clients.
    pub fn verifying_config(&self) -> ClientConfig {
        (*self.verifying).clone()
    }

    /// Runs a TLS handshake over `stream` for `host`, recording the chain whatever it is.
    /// A handshake that fails is evidence (`handshake_error`); one that stalls past `step` is
    /// a [`TlsError`] (we could not find out).
    pub async fn handshake<S>(
        &self,
        stream: S,
        host: &str,
        step: Duration,
    ) -> Result<ChainEvidence, TlsError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let name = ServerName::try_from(host.to_owned()).map_err(|e| TlsError {
            kind: "bad_name",
            message: text!("tls.bad-name", host = host, error = e.to_string()),
        })?;
        let recorder = Arc::new(verifier::Recorder::new(Arc::clone(&self.provider)));
        let mut config = ClientConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_protocol_versions(rustls::ALL_VERSIONS)
            .map_err(|e| TlsError {
                kind: "internal",
                message: text!("value", value = e.to_string()),
            })?
            .dangerous()
            .with_custom_certificate_verifier(recorder.clone())
            .with_no_client_auth();
        // Every connection is a full handshake: a resumed one shows no certificate.
        config.resumption = rustls::client::Resumption::disabled();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let sni = match &name {
            ServerName::DnsName(d) => Some(d.as_ref().to_owned()),
            _ => None,
        };
        let outcome = tokio::time::timeout(step, connector.connect(name.clone(), stream)).await;
        let (version, cipher_suite, handshake_error) = match outcome {
            Err(_) => {
                return Err(TlsError {
                    kind: "timeout",
                    message: text!(
                        "tls.handshake-timeout",
                        host = host,
                        timeout = humantime::format_duration(step).to_string()
                    ),
                });
            }
            Ok(Ok(conn)) => {
                let (_, c) = conn.get_ref();
                (
                    c.protocol_version()
                        .and_then(|v| v.as_str())
                        .map(pretty_version),
                    c.negotiated_cipher_suite()
                        .and_then(|s| s.suite().as_str())
                        .map(str::to_owned),
                    None,
                )
            }
            Ok(Err(e)) => (None, None, Some(describe_handshake_error(&e))),
        };
        let chain = recorder.chain();
        Ok(self.evaluate(&chain, &name, sni, version, cipher_suite, handshake_error))
    }

    /// Evaluates a recorded chain: parse every certificate, decide who vouches for it and where
    /// it has a gap.
    pub fn evaluate(
        &self,
        chain: &[CertificateDer<'static>],
        name: &ServerName<'_>,
        sni: Option<String>,
        version: Option<String>,
        cipher_suite: Option<String>,
        handshake_error: Option<Text>,
    ) -> ChainEvidence {
        let now = now_secs();
        let mut certificates = Vec::new();
        let mut unparsable = Vec::new();
        for (i, der) in chain.iter().enumerate() {
            match CertInfo::parse(der, now) {
                Ok(c) => certificates.push(c),
                Err(e) => {
                    unparsable.push(text!("tls.unparsable", n = i + 1, error = e.to_string()));
                }
            }
        }
        let (trust, trust_detail) = match chain.split_first() {
            None => (Trust::Unknown, None),
            Some((leaf, rest)) => {
                let at = verification_time(chain, now);
                match chain_ok(&*self.public, leaf, rest, name, at) {
                    Ok(()) => (Trust::Public, None),
                    Err(reason) => {
                        let extra_ok = self
                            .extra
                            .as_ref()
                            .is_some_and(|x| chain_ok(&**x, leaf, rest, name, at).is_ok());
                        if extra_ok {
                            (Trust::ExtraCa, Some(reason))
                        } else {
                            (Trust::Untrusted, Some(reason))
                        }
                    }
                }
            }
        };
        ChainEvidence {
            checked_at: cert::rfc3339_secs(now),
            sni,
            version,
            cipher_suite,
            handshake_error,
            certificates,
            unparsable,
            trust,
            trust_detail,
            missing_issuer: self.chain_gap(chain),
        }
    }

    /// The issuer of the first certificate (walking up from the leaf) that is neither among the
    /// presented certificates nor a trust anchor: where the chain breaks.
    fn chain_gap(&self, chain: &[CertificateDer<'static>]) -> Option<String> {
        let names: Vec<(Vec<u8>, Vec<u8>, String)> = chain
            .iter()
            .filter_map(|c| cert::subject_issuer_raw(c))
            .collect();
        let mut current = names.first()?;
        for _ in 0..names.len() {
            let (subject, issuer, issuer_name) = current;
            if subject == issuer || self.anchor_subjects.contains(der_contents(issuer)) {
                return None;
            }
            match names.iter().find(|(s, _, _)| s == issuer) {
                Some(next) if next != current => current = next,
                _ => return Some(issuer_name.clone()),
            }
        }
        None
    }
}

/// A time at which every presented certificate is within its validity, so the trust verdict does
/// not depend on expiry (judged separately, with its own message); `now` when there is none.
fn verification_time(chain: &[CertificateDer<'static>], now: i64) -> UnixTime {
    let windows: Vec<(i64, i64)> = chain
        .iter()
        .filter_map(|c| cert::validity_secs(c))
        .collect();
    let start = windows.iter().map(|w| w.0).max();
    let end = windows.iter().map(|w| w.1).min();
    let t = match (start, end) {
        (Some(s), Some(e)) if s < e => {
            if (s..=e).contains(&now) {
                now
            } else {
                s + (e - s) / 2
            }
        }
        _ => now,
    };
    UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(t).unwrap_or(0)))
}

/// Chain validation only: a name mismatch means the chain itself was fine (webpki checks the path
/// before the name), and the name is judged from the SANs with its own message.
fn chain_ok(
    v: &dyn ServerCertVerifier,
    leaf: &CertificateDer<'_>,
    rest: &[CertificateDer<'_>],
    name: &ServerName<'_>,
    at: UnixTime,
) -> Result<(), Text> {
    match v.verify_server_cert(leaf, rest, name, &[], at) {
        Ok(_)
        | Err(rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        )) => Ok(()),
        Err(rustls::Error::InvalidCertificate(e)) => Err(describe_cert_error(&e)),
        Err(e) => Err(text!("value", value = e.to_string())),
    }
}

fn describe_cert_error(e: &CertificateError) -> Text {
    match e {
        CertificateError::UnknownIssuer => text!("tls.unknown-issuer"),
        CertificateError::BadSignature => text!("tls.bad-signature"),
        CertificateError::UnsupportedSignatureAlgorithmContext { .. } => {
            text!("tls.unsupported-signature")
        }
        CertificateError::InvalidPurposeContext { .. } => text!("tls.invalid-purpose"),
        CertificateError::Revoked => text!("tls.revoked"),
        other => text!("value", value = format!("{other:?}")),
    }
}

fn pretty_version(v: &str) -> String {
    // rustls says `TLSv1_3`; people say `TLS 1.3`.
    v.replace("TLSv1_", "TLS 1.").replace("TLSv1", "TLS 1.0")
}

/// A failed handshake in the customer's words.
pub fn describe_handshake_error(e: &std::io::Error) -> Text {
    use rustls::AlertDescription as A;
    if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return match tls {
            rustls::Error::AlertReceived(A::ProtocolVersion) => text!("tls.alert-protocol-version"),
            rustls::Error::AlertReceived(A::HandshakeFailure) => {
                text!("tls.alert-handshake-failure")
            }
            rustls::Error::AlertReceived(a) => text!("tls.alert", alert = format!("{a:?}")),
            rustls::Error::InvalidMessage(_)
            | rustls::Error::InappropriateMessage { .. }
            | rustls::Error::InappropriateHandshakeMessage { .. } => text!("tls.not-tls"),
            rustls::Error::PeerIncompatible(p) => {
                text!("tls.incompatible", detail = format!("{p:?}"))
            }
            rustls::Error::PeerMisbehaved(p) => text!("tls.misbehaved", detail = format!("{p:?}")),
            other => text!("tls.failed", error = other.to_string()),
        };
    }
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => text!("tls.eof"),
        std::io::ErrorKind::ConnectionReset => text!("tls.reset"),
        _ => text!("tls.failed", error = e.to_string()),
    }
}
