//! The certificate judge shared by `tls.certificate` and `tls.smtp-starttls`: a pure function from
//! a recorded chain to findings, in the order a person should act on them.

use serde::Deserialize;

use super::cert::{CertInfo, host_matches};
use super::{ChainEvidence, Trust};
use crate::outcome::{Finding, Judgement};
use crate::text::Text;

/// Limits from the check file (`min_*_bits`) and from `[thresholds]` (days).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPolicy {
    /// Smallest acceptable RSA modulus.
    pub min_rsa_bits: u32,
    /// Smallest acceptable EC key.
    pub min_ec_bits: u32,
}

/// The expiry thresholds a certificate is judged by, in the evidence so a report can draw them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DayThresholds {
    /// Warn when fewer days remain.
    pub warn_days: i64,
    /// Fail when fewer days remain.
    pub fail_days: i64,
}

impl CertPolicy {
    /// The expiry thresholds.
    pub fn days(&self) -> DayThresholds {
        DayThresholds {
            warn_days: self.warn_days,
            fail_days: self.fail_days,
        }
    }
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

fn which(i: usize, c: &CertInfo) -> Text {
    if i == 0 {
        text!("cert.server")
    } else {
        text!("cert.ca", name = c.short_name())
    }
}

/// `1 day`, `12 days`.
pub fn days(n: i64) -> Text {
    if n == 1 {
        text!("days.one")
    } else {
        text!("days.many", n = n)
    }
}

/// Findings about validity dates (leaf and intermediates).
fn validity(i: usize, c: &CertInfo, p: &CertPolicy, out: &mut Vec<Finding>) {
    let who = which(i, c);
    if c.not_yet_valid {
        out.push(Finding::fail(text!(
            "cert.not-yet-valid",
            who = who,
            not_before = &c.not_before
        )));
    } else if c.expired {
        let ago = if c.days_remaining == 0 {
            text!("cert.less-than-a-day-ago")
        } else {
            text!("cert.ago", days = days(-c.days_remaining))
        };
        out.push(Finding::fail(text!(
            "cert.expired",
            who = who,
            not_after = &c.not_after,
            ago = ago
        )));
    } else if c.days_remaining < p.fail_days {
        out.push(Finding::fail(text!(
            "cert.expires-within-limit",
            who = who,
            days = days(c.days_remaining),
            not_after = &c.not_after,
            limit = p.fail_days
        )));
    } else if c.days_remaining < p.warn_days {
        out.push(Finding::warn(text!(
            "cert.expires-soon",
            who = who,
            days = days(c.days_remaining),
            not_after = &c.not_after,
            limit = p.fail_days
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
        out.push(Finding::fail(text!(
            "cert.weak-key",
            who = who.clone(),
            bits = c.key_bits,
            key_type = &c.key_type,
            min = min
        )));
    }
    if c.weak_signature {
        out.push(Finding::fail(text!(
            "cert.weak-signature",
            who = who,
            algorithm = &c.signature_algorithm
        )));
    }
}

/// Judges a recorded chain for `host`.
pub fn judge(host: &str, e: &ChainEvidence, p: &CertPolicy) -> Judgement {
    let expected = vec![text!(
        "cert.expected",
        host = host,
        warn_days = p.warn_days,
        rsa = p.keys.min_rsa_bits,
        ec = p.keys.min_ec_bits
    )];
    let Some(leaf) = e.certificates.first() else {
        let msg = match (&e.handshake_error, e.unparsable.first()) {
            (_, Some(u)) => u.clone(),
            (Some(h), None) => h.clone(),
            (None, None) => text!("cert.none-sent"),
        };
        return Judgement::from_findings(vec![Finding::fail(msg)], None, expected);
    };
    let mut out = Vec::new();
    if !host_matches(host, &leaf.sans) {
        out.push(Finding::fail(if leaf.sans.is_empty() {
            text!("cert.no-san", subject = &leaf.subject, host = host)
        } else {
            let names = leaf
                .sans
                .iter()
                .take(6)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            let names = if leaf.sans.len() > 6 {
                text!(
                    "cert.names-and-more",
                    names = names,
                    more = leaf.sans.len() - 6
                )
            } else {
                text!("value", value = names)
            };
            text!("cert.wrong-name", names = names, host = host)
        }));
    }
    validity(0, leaf, p, &mut out);
    if leaf.self_signed {
        out.push(Finding::fail(text!("cert.self-signed")));
    }
    match &leaf.eku {
        Some(eku) if !eku.iter().any(|u| u == "serverAuth" || u == "any") => {
            out.push(Finding::fail(text!("cert.eku", eku = eku.join(", "))));
        }
        None => out.push(Finding::warn(text!("cert.no-eku"))),
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
                    .filter(|f| f.message.key != "cert.weak-signature"),
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
            Some(m) if e.certificates.len() == 1 => out.push(Finding::fail(text!(
                "cert.incomplete-chain",
                issuer = super::cert::short_dn(m)
            ))),
            Some(m) => out.push(Finding::fail(text!(
                "cert.chain-stops",
                issuer = super::cert::short_dn(m)
            ))),
            // Already explained by the key or signature finding.
            None if weak => {}
            None => out.push(Finding::fail(text!(
                "cert.untrusted",
                detail = e
                    .trust_detail
                    .clone()
                    .unwrap_or_else(|| text!("cert.no-trusted-path"))
            ))),
        }
    }
    if let Some(h) = &e.handshake_error {
        out.push(Finding::fail(h.clone()));
    }
    let version = match &e.version {
        Some(v) => format!(", {v}"),
        None => String::new(),
    };
    let ok = text!(
        "cert.ok",
        host = host,
        issuer = leaf.issuer_short(),
        not_after = &leaf.not_after,
        days = days(leaf.days_remaining),
        version = version,
        extra_ca = if e.trust == Trust::ExtraCa {
            text!("cert.extra-ca")
        } else {
            text!("empty")
        }
    );
    Judgement::from_findings(out, ok, expected)
}

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
        (j.status, j.message())
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
        none.handshake_error = Some(text!("tls.eof"));
        assert_eq!(
            status(&none).1,
            "the server closed the connection during the TLS handshake"
        );
    }
}
