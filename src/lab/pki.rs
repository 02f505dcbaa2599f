//! A test PKI minted at run time with rcgen: a root CA, an intermediate, and leaves with chosen
//! names, validity, issuer, key and signature algorithm. The lab's TLS servers and the tests use
//! it; nothing here is trusted outside the process (the root is handed to the scanner with
//! `--ca-file`).
//!
//! Two things rcgen (with ring) cannot mint, and how we get them honestly:
//! * a SHA-1 signature: we mint with ECDSA-SHA256 and rewrite both AlgorithmIdentifiers to
//!   ecdsa-with-SHA1 in the DER ([`to_sha1`]). The signature bytes no longer verify — as for a real
//!   SHA-1 certificate, which no modern client verifies either; the scanner flags the algorithm.
//! * an RSA-1024 key: ring refuses to generate or use one. The leaf carries a fixed 1024-bit RSA
//!   *public* key ([`RSA1024_SPKI`]); the server signs the handshake with another key, so the
//!   client records the certificate and then fails the handshake, exactly as it would refuse the
//!   weak key.

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SubjectPublicKeyInfo,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

/// Added to a lab certificate's end of validity: "N days left" is N whole days from the moment
/// it is minted, and a check run a second later would count N − 1 (the days round down, and
/// X.509 times drop the fraction of a second). An hour keeps the count at N for the length of
/// any test (found as a flaky `expires in 3 days` under load).
pub const DAYS_MARGIN: Duration = Duration::hours(1);

/// `now` + `days`, with [`DAYS_MARGIN`] for a certificate still valid (an expired one's "N days
/// ago" rounds towards zero, so it needs none).
pub fn days_from(now: OffsetDateTime, days: i64) -> OffsetDateTime {
    now + Duration::days(days)
        + if days > 0 {
            DAYS_MARGIN
        } else {
            Duration::ZERO
        }
}

/// A 1024-bit RSA public key (SubjectPublicKeyInfo, base64 DER), generated once with
/// `openssl genrsa 1024`; its private half was never kept.
const RSA1024_SPKI: &str = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCri+/yipvB6kTSpjxJ2WCcnYQnjIId4SWeELfhDkh7lFm74iEZa9XqWdGdWGti34Z0MGsWjLUGz9NL6BtKG1FL2A8UekGqjRRhsu4gVwSW79ZrP5muYolHKVYIaNxnyCdDA6Yuj+TKjgknq4N/x5GRygzdW2l/B/rOWPLDrdLiUwIDAQAB";

/// Who signs a leaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signer {
    /// The intermediate (the normal case).
    Intermediate,
    /// Itself.
    SelfSigned,
}

/// What to mint.
#[derive(Clone, Debug)]
pub struct LeafSpec {
    /// subjectAltName DNS names (or IPs); the first is also the CN.
    pub names: Vec<String>,
    /// Valid from now + this many days (negative: in the past).
    pub from_days: i64,
    /// Valid until now + this many days.
    pub until_days: i64,
    /// Signer.
    pub signer: Signer,
    /// Send the intermediate along with the leaf.
    pub send_intermediate: bool,
    /// Carry the fixed RSA-1024 public key instead of the signing key.
    pub rsa1024: bool,
    /// Rewrite the signature algorithm to ecdsa-with-SHA1.
    pub sha1: bool,
    /// Extended key usages (empty: no EKU extension).
    pub eku: Vec<ExtendedKeyUsagePurpose>,
}

impl LeafSpec {
    /// A good leaf for `name`: 90 days left, intermediate-signed, full chain, serverAuth.
    pub fn good(name: &str) -> Self {
        Self {
            names: vec![name.to_owned()],
            from_days: -30,
            until_days: 90,
            signer: Signer::Intermediate,
            send_intermediate: true,
            rsa1024: false,
            sha1: false,
            eku: vec![ExtendedKeyUsagePurpose::ServerAuth],
        }
    }
}

/// A leaf ready to serve: the chain (leaf first) and the key the server signs with.
#[derive(Debug)]
pub struct Leaf {
    /// What the server sends.
    pub chain: Vec<CertificateDer<'static>>,
    /// The handshake signing key (PKCS#8).
    pub key: PrivateKeyDer<'static>,
}

/// The lab CA: root and intermediate.
pub struct Pki {
    root: CertifiedIssuer<'static, KeyPair>,
    intermediate: CertifiedIssuer<'static, KeyPair>,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pki")
    }
}

fn dn(cn: &str) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    d.push(DnType::OrganizationName, "tenant-ready lab");
    d.push(DnType::CommonName, cn);
    d
}

fn ca_params(cn: &str, path_len: Option<u8>) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = dn(cn);
    p.is_ca = match path_len {
        Some(n) => IsCa::Ca(BasicConstraints::Constrained(n)),
        None => IsCa::Ca(BasicConstraints::Unconstrained),
    };
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let now = OffsetDateTime::now_utc();
    p.not_before = now - Duration::days(365);
    p.not_after = now + Duration::days(3650);
    p
}

impl Pki {
    /// Mints a root and an intermediate (ECDSA P-256).
    pub fn new() -> Result<Self, rcgen::Error> {
        Self::with_names("tenant-ready Lab Root CA", "tenant-ready Lab Issuing CA")
    }

    /// The same with other names (e.g. a corporate TLS-inspection CA).
    pub fn with_names(root_cn: &str, issuing_cn: &str) -> Result<Self, rcgen::Error> {
        let root = CertifiedIssuer::self_signed(ca_params(root_cn, None), KeyPair::generate()?)?;
        let intermediate = CertifiedIssuer::signed_by(
            ca_params(issuing_cn, Some(0)),
            KeyPair::generate()?,
            &root,
        )?;
        Ok(Self { root, intermediate })
    }

    /// The root certificate, PEM (for `--ca-file`).
    pub fn root_pem(&self) -> String {
        self.root.pem()
    }

    /// Mints a leaf.
    pub fn leaf(&self, spec: &LeafSpec) -> Result<Leaf, rcgen::Error> {
        let key = KeyPair::generate()?;
        let mut p = CertificateParams::new(spec.names.clone())?;
        p.distinguished_name = dn(spec.names.first().map_or("lab", String::as_str));
        let now = OffsetDateTime::now_utc();
        p.not_before = now + Duration::days(spec.from_days);
        p.not_after = days_from(now, spec.until_days);
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages.clone_from(&spec.eku);
        p.use_authority_key_identifier_extension = spec.signer == Signer::Intermediate;
        let cert = match (spec.signer, spec.rsa1024) {
            (Signer::SelfSigned, _) => p.self_signed(&key)?,
            (Signer::Intermediate, false) => p.signed_by(&key, &self.intermediate)?,
            (Signer::Intermediate, true) => {
                let spki_der = base64::engine::general_purpose::STANDARD
                    .decode(RSA1024_SPKI)
                    .map_err(|_| rcgen::Error::CouldNotParseKeyPair)?;
                let spki = SubjectPublicKeyInfo::from_der(&spki_der)?;
                p.signed_by(&spki, &self.intermediate)?
            }
        };
        let mut leaf_der = cert.der().to_vec();
        if spec.sha1 {
            leaf_der = to_sha1(&leaf_der).ok_or(rcgen::Error::CouldNotParseCertificate)?;
        }
        let mut chain = vec![CertificateDer::from(leaf_der)];
        if spec.send_intermediate && spec.signer == Signer::Intermediate {
            chain.push(self.intermediate.der().clone());
        }
        Ok(Leaf {
            chain,
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        })
    }

    /// The intermediate as an rcgen issuer (to mint more, e.g. token-signing certificates).
    pub fn issuer(&self) -> &Issuer<'static, KeyPair> {
        &self.intermediate
    }
}

/// ecdsa-with-SHA256 AlgorithmIdentifier (SEQUENCE { OID 1.2.840.10045.4.3.2 }).
const ALG_ECDSA_SHA256: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
];
/// ecdsa-with-SHA1 AlgorithmIdentifier (SEQUENCE { OID 1.2.840.10045.4.1 }).
const ALG_ECDSA_SHA1: &[u8] = &[
    0x30, 0x09, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01,
];

/// One DER TLV: (tag, header length, content).
fn tlv(b: &[u8]) -> Option<(u8, usize, &[u8])> {
    let tag = *b.first()?;
    let l0 = *b.get(1)?;
    let (len, hdr) = if l0 < 0x80 {
        (usize::from(l0), 2)
    } else {
        let n = usize::from(l0 & 0x7f);
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*b.get(2 + i)?);
        }
        (len, 2 + n)
    };
    Some((tag, hdr, b.get(hdr..hdr + len)?))
}

fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap_or(0));
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | u8::try_from(bytes.len()).unwrap_or(0));
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// Rewrites an ECDSA-SHA256 certificate to claim ecdsa-with-SHA1 (in the TBS and outside).
pub fn to_sha1(der: &[u8]) -> Option<Vec<u8>> {
    let (_, _, cert) = tlv(der)?;
    let (_, tbs_hdr, tbs) = tlv(cert)?;
    let rest = cert.get(tbs_hdr + tbs.len()..)?;
    // TBS children: [0] version, serial, signature AlgorithmIdentifier, …
    let mut children = Vec::new();
    let mut p = tbs;
    while !p.is_empty() {
        let (_, h, c) = tlv(p)?;
        children.push(&p[..h + c.len()]);
        p = &p[h + c.len()..];
    }
    let mut new_tbs = Vec::new();
    for c in children {
        new_tbs.extend_from_slice(if c == ALG_ECDSA_SHA256 {
            ALG_ECDSA_SHA1
        } else {
            c
        });
    }
    let outer_alg = rest.get(..ALG_ECDSA_SHA256.len())?;
    if outer_alg != ALG_ECDSA_SHA256 {
        return None;
    }
    let mut body = encode(0x30, &new_tbs);
    body.extend_from_slice(ALG_ECDSA_SHA1);
    body.extend_from_slice(&rest[ALG_ECDSA_SHA256.len()..]);
    Some(encode(0x30, &body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::cert::CertInfo;

    #[test]
    fn minted_leaves_say_what_was_asked() {
        let pki = Pki::new().unwrap();
        let mut spec = LeafSpec::good("sts.contoso.test");
        spec.sha1 = true;
        spec.rsa1024 = true;
        let leaf = pki.leaf(&spec).unwrap();
        let info = CertInfo::parse(&leaf.chain[0], 0).unwrap();
        assert_eq!(info.signature_algorithm, "ecdsa-with-SHA1");
        assert!(info.weak_signature);
        assert_eq!((info.key_type.as_str(), info.key_bits), ("RSA", 1024));
        assert_eq!(info.sans, vec!["sts.contoso.test"]);
        assert_eq!(leaf.chain.len(), 2);
    }
}
