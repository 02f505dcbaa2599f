//! One X.509 certificate read with x509-parser into plain evidence: the values a person checks
//! (names, dates, key, signature) and the values a judge needs (days left, self-signed, EKU).

use serde::Serialize;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
use x509_parser::public_key::PublicKey;

/// Seconds in a day.
const DAY: i64 = 86_400;

/// What one certificate of a presented chain says, relative to `checked_at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CertInfo {
    /// Subject distinguished name (RFC 4514 form).
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// DNS names and IP addresses of the subjectAltName extension.
    pub sans: Vec<String>,
    /// Start of validity, RFC 3339.
    pub not_before: String,
    /// End of validity, RFC 3339.
    pub not_after: String,
    /// Whole days from the check to `not_after`, truncated towards zero (negative once expired).
    pub days_remaining: i64,
    /// `not_after` has passed.
    pub expired: bool,
    /// `not_before` is still in the future.
    pub not_yet_valid: bool,
    /// `RSA`, `EC`, `Ed25519`, `DSA` or the algorithm OID.
    pub key_type: String,
    /// Public key size in bits (0 when unknown).
    pub key_bits: u32,
    /// Signature algorithm name (`sha256WithRSAEncryption`, `ecdsa-with-SHA256`, `sha1WithRSAEncryption`…).
    pub signature_algorithm: String,
    /// The signature algorithm is SHA-1 or weaker.
    pub weak_signature: bool,
    /// SHA-256 of the DER, colon-separated hex.
    pub sha256: String,
    /// Serial number, colon-separated hex.
    pub serial: String,
    /// basicConstraints CA.
    pub is_ca: bool,
    /// Subject equals issuer.
    pub self_signed: bool,
    /// Extended key usages (`serverAuth`, `clientAuth`, `any`…); `None` when the extension is absent.
    pub eku: Option<Vec<String>>,
}

/// The certificate could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the server sent a certificate that is not valid X.509 DER ({0})")]
pub struct CertParseError(String);

/// Signature algorithm OIDs → (name, SHA-1 or weaker). Everything not listed prints as its OID and
/// is not called weak: we only flag what we can name.
const SIGNATURE_ALGORITHMS: &[(&str, &str, bool)] = &[
    ("1.2.840.113549.1.1.2", "md2WithRSAEncryption", true),
    ("1.2.840.113549.1.1.4", "md5WithRSAEncryption", true),
    ("1.2.840.113549.1.1.5", "sha1WithRSAEncryption", true),
    ("1.2.840.113549.1.1.10", "rsassaPss", false),
    ("1.2.840.113549.1.1.11", "sha256WithRSAEncryption", false),
    ("1.2.840.113549.1.1.12", "sha384WithRSAEncryption", false),
    ("1.2.840.113549.1.1.13", "sha512WithRSAEncryption", false),
    ("1.2.840.10045.4.1", "ecdsa-with-SHA1", true),
    ("1.2.840.10045.4.3.2", "ecdsa-with-SHA256", false),
    ("1.2.840.10045.4.3.3", "ecdsa-with-SHA384", false),
    ("1.2.840.10045.4.3.4", "ecdsa-with-SHA512", false),
    ("1.2.840.10040.4.3", "dsa-with-SHA1", true),
    ("1.3.101.112", "Ed25519", false),
    ("1.3.101.113", "Ed448", false),
];

/// Colon-separated upper-case hex.
fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// RFC 3339 for a Unix timestamp (certificates before 1970 or after 9999 print as the number).
pub fn rfc3339_secs(t: i64) -> String {
    u64::try_from(t)
        .ok()
        .and_then(|s| std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(s)))
        .map_or_else(
            || t.to_string(),
            |st| humantime::format_rfc3339_seconds(st).to_string(),
        )
}

/// Whole days from `now` to `t`, truncated towards zero: 9.9 days left is 9, expired 3.1 days
/// ago is -3 (with `expired` telling the sign of a zero).
fn days_until(t: i64, now: i64) -> i64 {
    (t - now) / DAY
}

impl CertInfo {
    /// Reads one DER certificate; `now` is Unix seconds at the check.
    pub fn parse(der: &[u8], now: i64) -> Result<Self, CertParseError> {
        let (_, cert) =
            X509Certificate::from_der(der).map_err(|e| CertParseError(e.to_string()))?;
        let sans = match cert.subject_alternative_name() {
            Ok(Some(ext)) => ext
                .value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::DNSName(d) => Some((*d).to_ascii_lowercase()),
                    GeneralName::IPAddress(b) => ip_from_bytes(b).map(|ip| ip.to_string()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let (key_type, key_bits) = match cert.public_key().parsed() {
            Ok(PublicKey::RSA(k)) => ("RSA".to_owned(), k.key_size()),
            Ok(PublicKey::EC(k)) => ("EC".to_owned(), k.key_size()),
            Ok(PublicKey::DSA(y)) => ("DSA".to_owned(), y.len() * 8),
            _ => {
                let oid = cert.public_key().algorithm.algorithm.to_id_string();
                match oid.as_str() {
                    "1.3.101.112" => ("Ed25519".to_owned(), 256),
                    "1.3.101.113" => ("Ed448".to_owned(), 456),
                    _ => (oid, 0),
                }
            }
        };
        let sig_oid = cert.signature_algorithm.algorithm.to_id_string();
        let (signature_algorithm, weak_signature) = SIGNATURE_ALGORITHMS
            .iter()
            .find(|(oid, _, _)| *oid == sig_oid)
            .map_or((sig_oid.clone(), false), |(_, name, weak)| {
                ((*name).to_owned(), *weak)
            });
        let eku = match cert.extended_key_usage() {
            Ok(Some(ext)) => {
                let e = ext.value;
                let mut v = Vec::new();
                for (on, name) in [
                    (e.any, "any"),
                    (e.server_auth, "serverAuth"),
                    (e.client_auth, "clientAuth"),
                    (e.code_signing, "codeSigning"),
                    (e.email_protection, "emailProtection"),
                    (e.time_stamping, "timeStamping"),
                    (e.ocsp_signing, "OCSPSigning"),
                ] {
                    if on {
                        v.push(name.to_owned());
                    }
                }
                v.extend(e.other.iter().map(ToString::to_string));
                Some(v)
            }
            _ => None,
        };
        let nb = cert.validity().not_before.timestamp();
        let na = cert.validity().not_after.timestamp();
        let digest = ring::digest::digest(&ring::digest::SHA256, der);
        Ok(Self {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            sans,
            not_before: rfc3339_secs(nb),
            not_after: rfc3339_secs(na),
            days_remaining: days_until(na, now),
            expired: na < now,
            not_yet_valid: nb > now,
            key_type,
            key_bits: u32::try_from(key_bits).unwrap_or(u32::MAX),
            signature_algorithm,
            weak_signature,
            sha256: hex(digest.as_ref()),
            serial: cert.raw_serial_as_string().to_ascii_uppercase(),
            is_ca: cert.is_ca(),
            self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
            eku,
        })
    }

    /// A short name for messages: the subject's CN, else the whole subject.
    pub fn short_name(&self) -> &str {
        short_dn(&self.subject)
    }

    /// The issuer's CN, else the whole issuer.
    pub fn issuer_short(&self) -> &str {
        short_dn(&self.issuer)
    }
}

/// Validity window of a DER certificate in Unix seconds (for choosing a verification time).
pub fn validity_secs(der: &[u8]) -> Option<(i64, i64)> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    Some((
        cert.validity().not_before.timestamp(),
        cert.validity().not_after.timestamp(),
    ))
}

/// Raw subject and issuer DER of a certificate plus the issuer's printable form (chain links).
pub fn subject_issuer_raw(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>, String)> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    Some((
        cert.subject().as_raw().to_vec(),
        cert.issuer().as_raw().to_vec(),
        cert.issuer().to_string(),
    ))
}

/// The CN of a distinguished name, else the whole name.
pub fn short_dn(dn: &str) -> &str {
    dn.split(", ")
        .find_map(|part| part.strip_prefix("CN="))
        .unwrap_or(dn)
}

fn ip_from_bytes(b: &[u8]) -> Option<std::net::IpAddr> {
    match b.len() {
        4 => <[u8; 4]>::try_from(b).ok().map(std::net::IpAddr::from),
        16 => <[u8; 16]>::try_from(b).ok().map(std::net::IpAddr::from),
        _ => None,
    }
}

/// Whether `host` (lower-case, no trailing dot, or an IP literal) is covered by `sans`, with the
/// RFC 6125 wildcard rule: `*` only as the whole left-most label, matching exactly one label.
pub fn host_matches(host: &str, sans: &[String]) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return sans.iter().any(|s| s.parse::<std::net::IpAddr>() == Ok(ip));
    }
    sans.iter().any(|san| {
        let san = san.trim_end_matches('.');
        match san.strip_prefix("*.") {
            Some(rest) => host
                .split_once('.')
                .is_some_and(|(first, tail)| !first.is_empty() && tail == rest),
            None => san == host,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_exactly_one_label() {
        let sans = vec!["*.contoso.com".to_owned(), "contoso.com".to_owned()];
        assert!(host_matches("sts.contoso.com", &sans));
        assert!(host_matches("STS.Contoso.com.", &sans));
        assert!(host_matches("contoso.com", &sans));
        assert!(!host_matches("a.b.contoso.com", &sans));
        assert!(!host_matches("contoso.org", &sans));
        assert!(!host_matches("sts.contoso.com", &["sts.contoso.co".into()]));
        assert!(host_matches("127.0.0.1", &["127.0.0.1".into()]));
        assert!(!host_matches("127.0.0.1", &["*.0.0.1".into()]));
    }

    #[test]
    fn days_round_down() {
        assert_eq!(days_until(DAY * 10, 0), 10);
        assert_eq!(days_until(DAY * 10 - 1, 0), 9);
        assert_eq!(days_until(-1, 0), 0);
        assert_eq!(days_until(-DAY * 3 - 5, 0), -3);
        assert_eq!(short_dn("C=US, O=X, CN=sts.contoso.com"), "sts.contoso.com");
        assert_eq!(short_dn("O=X"), "O=X");
    }
}
