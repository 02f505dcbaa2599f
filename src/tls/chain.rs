//! The certificate judge shared by `tls.certificate` and `tls.smtp-starttls`: a pure function from
//! a recorded chain to findings, in the order a person should act on them.

use serde::Deserialize;

use super::cert::{CertInfo, host_matches};
use super::{ChainEvidence, Trust};
use crate::outcome::{Finding, Judgement};

/// Limits from the check file (`min_*_bits`) and from `[thresholds]` (days).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPolicy {
    /// Smallest acceptable RSA modulus.
    pub min_rsa_bits: u32,
    /// Smallest acceptable EC key.
    pub min_ec_bits: u32,
}

/// Everything the judge compares against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertPolicy {
    /// Key sizes.
    pub keys: KeyPolicy,
    /// Warn when fewer days remain.
    pub warn_days: i64,
    /// Fail when fewer days remain.
    pub fail_days: i64,
}

fn which(i: usize, c: &CertInfo) -> String {
    if i == 0 {
        "the server certificate".into()
    } else {
        format!("the CA certificate '{}'", c.short_name())
    }
}

fn days(n: i64) -> String {
    if n == 1 {
        "1 day".into()
    } else {
        format!("{n} days")
    }
}

/// Findings about validity dates (leaf and intermediates).
fn validity(i: usize, c: &CertInfo, p: &CertPolicy, out: &mut Vec<Finding>) {
    let who = which(i, c);
    if c.not_yet_valid {
        out.push(Finding::fail(format!(
            "{who} is not valid yet (valid from {}): check the server clock or install the current certificate",
            c.not_before
        )));
    } else if c.expired {
        let ago = if c.days_remaining == 0 {
            "less than a day ago".to_owned()
        } else {
            format!("{} ago", days(-c.days_remaining))
        };
        out.push(Finding::fail(format!(
            "{who} expired on {} ({ago})",
            c.not_after
        )));
    } else if c.days_remaining < p.fail_days {
        out.push(Finding::fail(format!(
            "{who} expires in {} ({}), within the {}-day limit",
            days(c.days_remaining),
            c.not_after,
            p.fail_days
        )));
    } else if c.days_remaining < p.warn_days {
        out.push(Finding::warn(format!(
            "{who} expires in {} ({}): renew it before the {}-day mark",
            days(c.days_remaining),
            c.not_after,
            p.fail_days
        )));
    }
}

/// Findings about key size and signature algorithm.
fn strength(i: usize, c: &CertInfo, p: &CertPolicy, out: &mut Vec<Finding>) {
    let who = which(i, c);
    let min = match c.key_type.as_str() {
        "RSA" => Some(p.keys.min_rsa_bits),
        "EC" => Some(p.keys.min_ec_bits),
        _ => None,
    };
    if let Some(min) = min
        && c.key_bits < min
    {
        out.push(Finding::fail(format!(
            "{who} has a {}-bit {} key; at least {min} bits are required",
            c.key_bits, c.key_type
        )));
    }
    if c.weak_signature {
        out.push(Finding::fail(format!(
            "{who} is signed with {}: SHA-1 and weaker signatures are rejected (Microsoft 365 since 2016); reissue it with SHA-256",
            c.signature_algorithm
        )));
    }
}

/// Judges a recorded chain for `host`.
pub fn judge(host: &str, e: &ChainEvidence, p: &CertPolicy) -> Judgement {
    let expected = Some(format!(
        "a publicly trusted certificate for {host} with its full chain, more than {} days from expiry, RSA ≥ {} / EC ≥ {} bits, SHA-256 or stronger signatures",
        p.warn_days, p.keys.min_rsa_bits, p.keys.min_ec_bits
    ));
    let Some(leaf) = e.certificates.first() else {
        let msg = match (&e.handshake_error, e.unparsable.first()) {
            (_, Some(u)) => u.clone(),
            (Some(h), None) => h.clone(),
            (None, None) => {
                "the server completed the handshake without sending a certificate".into()
            }
        };
        return Judgement::from_findings(vec![Finding::fail(msg)], "", expected);
    };
    let mut out = Vec::new();
    if !host_matches(host, &leaf.sans) {
        out.push(Finding::fail(if leaf.sans.is_empty() {
            format!(
                "the certificate ({}) has no subjectAltName names, so no client accepts it for {host}",
                leaf.subject
            )
        } else {
            let mut names = leaf.sans.iter().take(6).cloned().collect::<Vec<_>>().join(", ");
            if leaf.sans.len() > 6 {
                names.push_str(&format!(" and {} more", leaf.sans.len() - 6));
            }
            format!("the certificate is for {names}, not {host}")
        }));
    }
    validity(0, leaf, p, &mut out);
    if leaf.self_signed {
        out.push(Finding::fail(
            "the certificate is self-signed: no client trusts it; install a certificate from a public CA",
        ));
    }
    match &leaf.eku {
        Some(eku) if !eku.iter().any(|u| u == "serverAuth" || u == "any") => {
            out.push(Finding::fail(format!(
                "the certificate's extended key usage ({}) does not include Server Authentication",
                eku.join(", ")
            )));
        }
        None => out.push(Finding::warn(
            "the certificate has no extended key usage extension; AD FS and Exchange hybrid expect Server Authentication",
        )),
        Some(_) => {}
    }
    // Key and signature findings, kept apart: they also explain a failed public validation.
    let mut st = Vec::new();
    strength(0, leaf, p, &mut st);
    for (i, c) in e.certificates.iter().enumerate().skip(1) {
        validity(i, c, p, &mut out);
        // A root's self-signature is never verified (the client trusts the root itself), so a
        // SHA-1-signed root sent along is not a problem; its key size still is.
        if c.self_signed && c.is_ca {
            let mut root = Vec::new();
            strength(i, c, p, &mut root);
            st.extend(
                root.into_iter()
                    .filter(|f| !f.message.contains("signed with")),
            );
        } else {
            strength(i, c, p, &mut st);
        }
    }
    let weak = !st.is_empty();
    out.extend(st);
    for u in &e.unparsable {
        out.push(Finding::fail(u.clone()));
    }
    if e.trust == Trust::Untrusted && !leaf.self_signed {
        match &e.missing_issuer {
            Some(m) if e.certificates.len() == 1 => out.push(Finding::fail(format!(
                "incomplete chain: the server sends only its own certificate, not the intermediate '{}' that issued it; configure the full chain (server certificate + intermediates)",
                super::cert::short_dn(m)
            ))),
            Some(m) => out.push(Finding::fail(format!(
                "the chain stops at '{}', which the server does not send and which is not a public root CA: send the intermediate certificate, or use a publicly trusted CA",
                super::cert::short_dn(m)
            ))),
            // Already explained by the key or signature finding.
            None if weak => {}
            None => out.push(Finding::fail(format!(
                "the certificate is not publicly trusted: {}",
                e.trust_detail.as_deref().unwrap_or("no trusted path")
            ))),
        }
    }
    if let Some(h) = &e.handshake_error {
        out.push(Finding::fail(h.clone()));
    }
    let mut ok = format!(
        "certificate for {host} issued by '{}', valid until {} ({} left)",
        leaf.issuer_short(),
        leaf.not_after,
        days(leaf.days_remaining)
    );
    if let Some(v) = &e.version {
        ok.push_str(&format!(", {v}"));
    }
    if e.trust == Trust::ExtraCa {
        ok.push_str(
            "; trusted through --ca-file, not by public roots (fine for staging, production needs a public CA)",
        );
    }
    Judgement::from_findings(out, ok, expected)
}

/// Test fixtures shared with the other certificate judges' tests.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::CertInfo;

    /// A valid leaf for sts.contoso.com with `days` left.
    pub(crate) fn cert(days: i64) -> CertInfo {
        CertInfo {
            subject: "CN=sts.contoso.com".into(),
            issuer: "CN=Issuing CA".into(),
            sans: vec!["sts.contoso.com".into()],
            not_before: "2026-01-01T00:00:00Z".into(),
            not_after: "2027-01-01T00:00:00Z".into(),
            days_remaining: days,
            expired: days < 0,
            not_yet_valid: false,
            key_type: "RSA".into(),
            key_bits: 2048,
            signature_algorithm: "sha256WithRSAEncryption".into(),
            weak_signature: false,
            sha256: String::new(),
            serial: String::new(),
            is_ca: false,
            self_signed: false,
            eku: Some(vec!["serverAuth".into()]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::cert;
    use super::*;
    use crate::outcome::Status;

    fn ev(certs: Vec<CertInfo>, trust: Trust) -> ChainEvidence {
        ChainEvidence {
            checked_at: String::new(),
            sni: None,
            version: Some("TLS 1.3".into()),
            cipher_suite: None,
            handshake_error: None,
            certificates: certs,
            unparsable: vec![],
            trust,
            trust_detail: None,
            missing_issuer: None,
        }
    }

    fn policy() -> CertPolicy {
        CertPolicy {
            keys: KeyPolicy {
                min_rsa_bits: 2048,
                min_ec_bits: 256,
            },
            warn_days: 30,
            fail_days: 7,
        }
    }

    fn status(e: &ChainEvidence) -> (Status, String) {
        let j = judge("sts.contoso.com", e, &policy());
        (j.status, j.message)
    }

    #[test]
    fn expiry_boundaries() {
        for (d, want) in [
            (30, Status::Pass),
            (29, Status::Warn),
            (7, Status::Warn),
            (6, Status::Fail),
            (0, Status::Fail),
            (-1, Status::Fail),
        ] {
            assert_eq!(
                status(&ev(vec![cert(d)], Trust::Public)).0,
                want,
                "{d} days"
            );
        }
        let (_, m) = status(&ev(vec![cert(-3)], Trust::Public));
        assert!(m.contains("expired on") && m.contains("3 days ago"), "{m}");
    }

    #[test]
    fn key_sizes_and_signatures() {
        let mut c = cert(100);
        c.key_bits = 2047;
        assert_eq!(status(&ev(vec![c.clone()], Trust::Public)).0, Status::Fail);
        c.key_type = "EC".into();
        c.key_bits = 256;
        assert_eq!(status(&ev(vec![c.clone()], Trust::Public)).0, Status::Pass);
        c.key_bits = 224;
        assert_eq!(status(&ev(vec![c.clone()], Trust::Public)).0, Status::Fail);
        let mut sha1 = cert(100);
        sha1.weak_signature = true;
        sha1.signature_algorithm = "sha1WithRSAEncryption".into();
        let (s, m) = status(&ev(vec![sha1], Trust::Untrusted));
        assert_eq!(s, Status::Fail);
        assert!(m.contains("sha1WithRSAEncryption"), "{m}");
        assert!(
            !m.contains("not publicly trusted"),
            "one reason, not two: {m}"
        );
        // A SHA-1 self-signature on a root that is sent along does not count.
        let mut root = cert(1000);
        root.self_signed = true;
        root.is_ca = true;
        root.weak_signature = true;
        assert_eq!(
            status(&ev(vec![cert(100), root], Trust::Public)).0,
            Status::Pass
        );
    }

    #[test]
    fn names_trust_and_chain() {
        let mut other = cert(100);
        other.sans = vec!["www.fabrikam.com".into()];
        let (s, m) = status(&ev(vec![other], Trust::Public));
        assert_eq!(s, Status::Fail);
        assert!(m.contains("www.fabrikam.com, not sts.contoso.com"), "{m}");
        let mut gap = ev(vec![cert(100)], Trust::Untrusted);
        gap.missing_issuer = Some("C=US, CN=Contoso Issuing CA 1".into());
        let (s, m) = status(&gap);
        assert_eq!(s, Status::Fail);
        assert!(
            m.contains("incomplete chain") && m.contains("Contoso Issuing CA 1"),
            "{m}"
        );
        let mut ss = cert(100);
        ss.self_signed = true;
        let (_, m) = status(&ev(vec![ss], Trust::Untrusted));
        assert!(m.contains("self-signed"), "{m}");
        let (s, m) = status(&ev(vec![cert(100)], Trust::ExtraCa));
        assert_eq!(s, Status::Pass);
        assert!(m.contains("--ca-file"), "{m}");
        let mut noeku = cert(100);
        noeku.eku = None;
        assert_eq!(status(&ev(vec![noeku], Trust::Public)).0, Status::Warn);
        let mut client = cert(100);
        client.eku = Some(vec!["clientAuth".into()]);
        assert_eq!(status(&ev(vec![client], Trust::Public)).0, Status::Fail);
        let mut none = ev(vec![], Trust::Unknown);
        none.handshake_error = Some("the server closed the connection".into());
        assert_eq!(status(&none).1, "the server closed the connection");
    }
}
