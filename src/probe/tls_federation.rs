//! `http-federation-metadata`: the AD FS federation metadata Entra ID polls for token-signing
//! certificate rollover. Fetched anonymously over HTTPS (reqwest + rustls with the public roots
//! and `--ca-file`), parsed as SAML metadata, and the `KeyDescriptor use="signing"` certificates
//! judged as "Renew federation certificates for Microsoft 365 and Microsoft Entra ID" says
//! (learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-fed-o365-certs): Entra ID
//! reads the metadata from 35 days before expiry, and AD FS with AutoCertificateRollover publishes
//! the successor about 20 days before (CertificateGenerationThreshold), so a successor beside the
//! current certificate is a healthy farm, named with both dates.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::connect::addresses;
use super::{EndpointPlanCx, ProbeCx, ProbeError};
use crate::endpoint::Endpoint;
use crate::outcome::{Finding, Judgement, Status};
use crate::text::Text;
use crate::tls::cert::{CertInfo, rfc3339_secs};

/// SAML 2.0 metadata namespace.
const MD_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
/// XML-DSig namespace (`X509Certificate`).
const DS_NS: &str = "http://www.w3.org/2000/09/xmldsig#";

/// `[check.probe]` of an `http-federation-metadata` check.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederationSpec {
    /// URL path of the metadata document.
    pub path: String,
    /// Warn below this many days (Entra ID starts polling for the next certificate).
    pub warn_days: i64,
    /// AD FS with AutoCertificateRollover generates the successor this many days before expiry
    /// (its CertificateGenerationThreshold): without a successor below it, something is off.
    #[serde(default = "default_successor_days")]
    pub successor_days: i64,
    /// Warn urgently below this many days (renew now unless rollover is on and in sync).
    pub renew_days: i64,
    /// Fail below this many days.
    pub fail_days: i64,
    /// Largest document read, bytes.
    pub max_bytes: usize,
}

fn default_successor_days() -> i64 {
    20
}

impl FederationSpec {
    /// The task for the AD FS host.
    pub fn plan(&self, cx: &EndpointPlanCx<'_>) -> FederationTask {
        FederationTask {
            endpoint: cx.endpoint.clone(),
            spec: self.clone(),
        }
    }
}

/// One AD FS host.
#[derive(Clone, Debug)]
pub struct FederationTask {
    /// Where.
    pub endpoint: Endpoint,
    /// Thresholds and limits.
    pub spec: FederationSpec,
}

impl FederationTask {
    /// The metadata URL.
    pub fn url(&self) -> String {
        let host = match self.endpoint.ip() {
            Some(std::net::IpAddr::V6(ip)) => format!("[{ip}]"),
            _ => self.endpoint.host.clone(),
        };
        if self.endpoint.port == 443 {
            format!("https://{host}{}", self.spec.path)
        } else {
            format!("https://{host}:{}{}", self.endpoint.port, self.spec.path)
        }
    }
}

/// What the fetch showed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FederationEvidence {
    /// The URL fetched.
    pub url: String,
    /// HTTP status, when a response came.
    pub http_status: Option<u16>,
    /// `Content-Type` of the response.
    pub content_type: Option<String>,
    /// Bytes read.
    pub bytes: usize,
    /// A definitive problem: not reachable, not 200, not XML, not metadata, too large.
    #[serde(serialize_with = "crate::text::serialize_en_opt")]
    pub problem: Option<Text>,
    /// The `entityID` of the metadata.
    pub entity_id: Option<String>,
    /// Token-signing certificates (deduplicated), newest expiry first.
    pub signing_certificates: Vec<CertInfo>,
    /// When the certificates were evaluated.
    pub checked_at: String,
    /// Redirects followed (same host, HTTPS only), each as its `Location` resolved.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redirects: Vec<String>,
}

/// Redirects followed within the federation host.
pub const MAX_REDIRECTS: usize = 5;

/// Where a redirect from `from` to `location` leads, if it may be followed: HTTPS, and the same
/// host and port. Entra ID fetches the metadata from the URL the federation settings name; a
/// redirect elsewhere (another host, plain HTTP) is what a hijacked or misconfigured proxy does,
/// and following it would judge someone else's document.
pub fn same_host_redirect(from: &reqwest::Url, location: &str) -> Result<reqwest::Url, Text> {
    let to = from.join(location).map_err(|e| {
        text!(
            "federation.redirect-not-url",
            location = location,
            error = e.to_string()
        )
    })?;
    if to.scheme() != "https" {
        return Err(text!(
            "federation.redirect-not-https",
            to = to.to_string(),
            from = from.to_string()
        ));
    }
    if to.host_str() != from.host_str()
        || to.port_or_known_default() != from.port_or_known_default()
    {
        return Err(text!(
            "federation.redirect-other-host",
            to = to.to_string(),
            from = from.to_string()
        ));
    }
    Ok(to)
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// AD FS publishes one token-signing certificate, two during a rollover; a few more are
/// plausible with several federation servers. More is not AD FS metadata, and each one is parsed.
pub const MAX_SIGNING_CERTS: usize = 16;

/// Extracts the signing certificates (DER, each once) and the entity id from a metadata
/// document. The caller bounds its size (`max_bytes`); the work here is linear in it.
pub fn parse_metadata(xml: &str) -> Result<(Option<String>, Vec<Vec<u8>>), Text> {
    let doc = roxmltree::Document::parse_with_options(
        xml,
        roxmltree::ParsingOptions {
            allow_dtd: false,
            ..roxmltree::ParsingOptions::default()
        },
    )
    .map_err(|e| text!("federation.not-xml", error = e.to_string()))?;
    let root = doc.root_element();
    if root.tag_name().name() != "EntityDescriptor" || root.tag_name().namespace() != Some(MD_NS) {
        return Err(text!(
            "federation.not-metadata",
            root = root.tag_name().name()
        ));
    }
    let entity_id = root.attribute("entityID").map(str::to_owned);
    let mut certs = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for kd in doc
        .descendants()
        .filter(|n| n.has_tag_name((MD_NS, "KeyDescriptor")))
        // No `use` attribute means the key serves both signing and encryption (SAML metadata §2.4.1.1).
        .filter(|n| n.attribute("use").is_none_or(|u| u == "signing"))
    {
        for c in kd
            .descendants()
            .filter(|n| n.has_tag_name((DS_NS, "X509Certificate")))
        {
            let b64: String = c.text().unwrap_or("").split_whitespace().collect();
            let der = base64::engine::general_purpose::STANDARD
                .decode(b64.as_bytes())
                .map_err(|e| text!("federation.bad-base64", error = e.to_string()))?;
            // A set, not `certs.contains`: a hostile document can repeat a certificate many
            // thousands of times and a linear scan per certificate would be quadratic.
            if seen.insert(der.clone()) {
                if certs.len() == MAX_SIGNING_CERTS {
                    return Err(text!("federation.too-many-certs", max = MAX_SIGNING_CERTS));
                }
                certs.push(der);
            }
        }
    }
    Ok((entity_id, certs))
}

/// A reqwest error in the customer's words, plus whether it is definitive (the server answered
/// wrongly) rather than "could not find out".
fn classify(e: &reqwest::Error) -> (bool, Text) {
    let mut chain = Vec::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        // io::Error::source() skips the error it wraps (and hyper-rustls wraps tokio-rustls's
        // io::Error in another), so unwrap io::Error layers explicitly.
        let mut layers = vec![s];
        while let Some(inner) = layers
            .last()
            .and_then(|l| l.downcast_ref::<std::io::Error>())
            .and_then(|io| io.get_ref())
        {
            layers.push(inner);
        }
        for candidate in layers {
            if let Some(tls) = candidate.downcast_ref::<rustls::Error>() {
                return (
                    true,
                    text!("federation.certificate", error = tls.to_string()),
                );
            }
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return (true, text!("federation.refused"));
        }
        chain.push(s.to_string());
        source = s.source();
    }
    if e.is_timeout() {
        return (false, text!("http.no-answer"));
    }
    chain.dedup();
    (
        false,
        text!("federation.request-failed", error = chain.join(": ")),
    )
}

/// Fetches and parses the metadata.
pub async fn observe(t: &FederationTask, cx: &ProbeCx) -> Result<FederationEvidence, ProbeError> {
    let now = now_secs();
    let mut ev = FederationEvidence {
        url: t.url(),
        http_status: None,
        content_type: None,
        bytes: 0,
        problem: None,
        entity_id: None,
        signing_certificates: Vec::new(),
        checked_at: rfc3339_secs(now),
        redirects: Vec::new(),
    };
    let ips = match addresses(cx, &t.endpoint).await? {
        Ok(ips) => ips,
        Err(why) => {
            ev.problem = Some(why);
            return Ok(ev);
        }
    };
    let net = |kind, message: Text| ProbeError::Net {
        kind,
        message: text!("entra.http", url = &ev.url, what = message),
    };
    // Through this machine's proxy settings, like every other request a client here makes (where
    // the internet is only reachable through a proxy, a direct fetch would fail); redirects are
    // followed below, one at a time, within the same host and over HTTPS only.
    let client = super::connect::https_client(cx, &t.endpoint, &ips)?;
    let mut url = reqwest::Url::parse(&ev.url)
        .map_err(|e| net("internal", text!("value", value = e.to_string())))?;
    let resp = loop {
        let resp = match client.get(url.clone()).send().await {
            Ok(r) => r,
            Err(e) => break Err(e),
        };
        if !resp.status().is_redirection() {
            break Ok(resp);
        }
        let Some(location) = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
        else {
            break Ok(resp); // judged as a non-200 answer below
        };
        if ev.redirects.len() == MAX_REDIRECTS {
            ev.http_status = Some(resp.status().as_u16());
            ev.problem = Some(text!(
                "federation.too-many-redirects",
                max = MAX_REDIRECTS,
                chain = ev.redirects.join(" → ")
            ));
            return Ok(ev);
        }
        match same_host_redirect(&url, location) {
            Ok(target) => {
                ev.redirects.push(target.to_string());
                url = target;
            }
            Err(why) => {
                ev.http_status = Some(resp.status().as_u16());
                ev.redirects.push(location.to_owned());
                ev.problem = Some(why);
                return Ok(ev);
            }
        }
    };
    let mut resp = match resp {
        Ok(r) => r,
        Err(e) => {
            let (definitive, msg) = classify(&e);
            if definitive {
                ev.problem = Some(msg);
                return Ok(ev);
            }
            return Err(net(
                if e.is_timeout() {
                    "timeout"
                } else {
                    "unreachable"
                },
                msg,
            ));
        }
    };
    let status = resp.status();
    ev.http_status = Some(status.as_u16());
    ev.content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if !status.is_success() {
        let status_text = status.to_string();
        ev.problem = Some(match status.as_u16() {
            401 | 403 => text!("federation.auth", status = status_text),
            404 => text!("federation.not-published", status = status_text),
            _ => text!("federation.status", status = status_text),
        });
        return Ok(ev);
    }
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                body.extend_from_slice(&c);
                if body.len() > t.spec.max_bytes {
                    ev.bytes = body.len();
                    ev.problem = Some(text!("federation.too-large", max = t.spec.max_bytes));
                    return Ok(ev);
                }
            }
            Ok(None) => break,
            Err(e) => {
                let (_, msg) = classify(&e);
                return Err(net(
                    if e.is_timeout() {
                        "timeout"
                    } else {
                        "unreachable"
                    },
                    text!("federation.reading-body", error = msg),
                ));
            }
        }
    }
    ev.bytes = body.len();
    let text = String::from_utf8_lossy(&body);
    match parse_metadata(text.trim_start_matches('\u{feff}')) {
        Err(p) => ev.problem = Some(p),
        Ok((entity, certs)) => {
            ev.entity_id = entity;
            for (i, der) in certs.iter().enumerate() {
                match CertInfo::parse(der, now) {
                    Ok(c) => ev.signing_certificates.push(c),
                    Err(e) => {
                        ev.problem = Some(text!(
                            "federation.bad-cert",
                            n = i + 1,
                            error = e.to_string()
                        ));
                        return Ok(ev);
                    }
                }
            }
            ev.signing_certificates
                .sort_by_key(|c| std::cmp::Reverse(c.days_remaining));
        }
    }
    Ok(ev)
}

/// Pure.
pub fn judge(t: &FederationTask, e: &FederationEvidence) -> Judgement {
    let spec = &t.spec;
    let expected = vec![text!(
        "federation.expected",
        url = &e.url,
        days = spec.warn_days
    )];
    if let Some(p) = &e.problem {
        return Judgement::new(Status::Fail, p.clone(), expected);
    }
    // With rollover, the next certificate is published next to the current one: the newest
    // certificate is the one sign-ins will depend on.
    let Some(best) = e.signing_certificates.first() else {
        return Judgement::new(Status::Fail, text!("federation.no-signing-cert"), expected);
    };
    let entity = match e.entity_id.as_deref() {
        Some(id) => text!("federation.for", id = id),
        None => text!("empty"),
    };
    let d = best.days_remaining;
    // A successor: a later signing certificate published beside the one that runs out first
    // (AD FS AutoCertificateRollover generates it CertificateGenerationThreshold days before
    // expiry and promotes it CertificatePromotionThreshold days later; Entra ID reads it from
    // this metadata from 35 days before expiry).
    let current = e
        .signing_certificates
        .last()
        .filter(|c| e.signing_certificates.len() > 1 && c.days_remaining < best.days_remaining);
    if let Some(current) = current
        && d >= spec.warn_days
    {
        let older = e.signing_certificates.len() - 2;
        return Judgement::new(
            Status::Pass,
            text!(
                "federation.rolled-over",
                entity = entity,
                name = current.short_name(),
                not_after = &current.not_after,
                days = current.days_remaining,
                next = best.short_name(),
                next_after = &best.not_after,
                next_days = d,
                older = if older > 0 {
                    text!("federation.older", n = older)
                } else {
                    text!("empty")
                }
            ),
            expected,
        );
    }
    let mut findings = Vec::new();
    if best.expired {
        findings.push(Finding::fail(text!(
            "federation.expired",
            name = best.short_name(),
            not_after = &best.not_after
        )));
    } else if d < spec.fail_days {
        findings.push(Finding::fail(text!(
            "federation.expires-now",
            name = best.short_name(),
            days = d,
            not_after = &best.not_after
        )));
    } else if d < spec.renew_days {
        findings.push(Finding::warn(text!(
            "federation.renew",
            name = best.short_name(),
            days = d,
            not_after = &best.not_after
        )));
    } else if d < spec.successor_days {
        findings.push(Finding::warn(text!(
            "federation.no-successor",
            name = best.short_name(),
            days = d,
            not_after = &best.not_after,
            successor = spec.successor_days
        )));
    } else if d < spec.warn_days {
        findings.push(Finding::warn(text!(
            "federation.rollover",
            name = best.short_name(),
            days = d,
            not_after = &best.not_after,
            successor = spec.successor_days,
            warn = spec.warn_days
        )));
    }
    let older = e.signing_certificates.len() - 1;
    let ok = text!(
        "federation.ok",
        entity = entity,
        name = best.short_name(),
        not_after = &best.not_after,
        days = d,
        older = if older > 0 {
            text!("federation.older", n = older)
        } else {
            text!("empty")
        }
    );
    Judgement::from_findings(findings, ok, expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 100,000 copies of one certificate (4 MB, the size limit): one certificate, in linear time;
    /// more distinct certificates than AD FS ever publishes: refused.
    #[test]
    fn repeated_and_numerous_certificates_are_bounded() {
        let key = |b64: &str| {
            format!(
                "<KeyDescriptor><KeyInfo xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><X509Data><X509Certificate>{b64}</X509Certificate></X509Data></KeyInfo></KeyDescriptor>"
            )
        };
        let doc = |keys: String| {
            format!(
                "<EntityDescriptor xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"x\"><IDPSSODescriptor>{keys}</IDPSSODescriptor></EntityDescriptor>"
            )
        };
        let same = doc(key("AAECAwQ=").repeat(100_000));
        assert_eq!(parse_metadata(&same).unwrap().1, vec![vec![0, 1, 2, 3, 4]]);
        let many: String = (0..=MAX_SIGNING_CERTS)
            .map(|i| {
                key(&base64::engine::general_purpose::STANDARD
                    .encode(u32::try_from(i).unwrap().to_be_bytes()))
            })
            .collect();
        assert!(
            parse_metadata(&doc(many))
                .unwrap_err()
                .render(crate::output::Lang::En)
                .contains("more than 16 signing certificates")
        );
    }

    #[test]
    fn metadata_parsing() {
        let xml = r#"<?xml version="1.0"?><EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="http://sts.contoso.com/adfs/services/trust">
<RoleDescriptor><KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>AAEC
AwQ=</X509Certificate></X509Data></KeyInfo></KeyDescriptor>
<KeyDescriptor use="encryption"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>BQY=</X509Certificate></X509Data></KeyInfo></KeyDescriptor></RoleDescriptor>
<SPSSODescriptor><KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>AAECAwQ=</X509Certificate></X509Data></KeyInfo></KeyDescriptor></SPSSODescriptor>
</EntityDescriptor>"#;
        let (id, certs) = parse_metadata(xml).unwrap();
        assert_eq!(
            id.as_deref(),
            Some("http://sts.contoso.com/adfs/services/trust")
        );
        assert_eq!(
            certs,
            vec![vec![0, 1, 2, 3, 4]],
            "signing only, deduplicated"
        );
        assert!(
            parse_metadata("<html><body>Sign in</body></html>")
                .unwrap_err()
                .render(crate::output::Lang::En)
                .contains("<html>")
        );
        assert!(
            parse_metadata("<EntityDescriptor")
                .unwrap_err()
                .render(crate::output::Lang::En)
                .contains("not well-formed")
        );
        assert!(
            parse_metadata("<!DOCTYPE x [<!ENTITY a \"b\">]><x/>").is_err(),
            "no DTDs"
        );
    }

    fn judge_days(days: &[i64]) -> Judgement {
        let t = FederationTask {
            endpoint: Endpoint::parse("sts.contoso.com", 443).unwrap(),
            spec: FederationSpec {
                path: "/federationmetadata/2007-06/federationmetadata.xml".into(),
                warn_days: 35,
                successor_days: 20,
                renew_days: 15,
                fail_days: 5,
                max_bytes: 1 << 20,
            },
        };
        let mut e = FederationEvidence {
            url: t.url(),
            http_status: Some(200),
            content_type: None,
            bytes: 0,
            problem: None,
            entity_id: None,
            signing_certificates: vec![],
            checked_at: String::new(),
            redirects: Vec::new(),
        };
        for &d in days {
            let mut c = crate::tls::chain::tests_support::cert(d);
            c.subject = "CN=ADFS Signing - sts.contoso.com".into();
            e.signing_certificates.push(c);
        }
        e.signing_certificates
            .sort_by_key(|c| std::cmp::Reverse(c.days_remaining));
        judge(&t, &e)
    }

    #[test]
    fn expiry_thresholds() {
        for (days, want) in [
            (&[36][..], Status::Pass),
            (&[35], Status::Pass),
            (&[34], Status::Warn),
            (&[20], Status::Warn),
            (&[19], Status::Warn),
            (&[15], Status::Warn),
            (&[14], Status::Warn),
            (&[5], Status::Warn),
            (&[4], Status::Fail),
            (&[-1], Status::Fail),
            (&[], Status::Fail),
            // Rollover: the successor is published while the current one runs out, from about
            // 20 days before expiry: a healthy farm, whatever the current one's days.
            (&[20, 385], Status::Pass),
            (&[3, 360], Status::Pass),
            (&[-2, 360], Status::Pass),
            // Two certificates that both run out are no successor.
            (&[10, 30], Status::Warn),
        ] {
            assert_eq!(judge_days(days).status, want, "{days:?}");
        }
        // Before the successor is due (CertificateGenerationThreshold, 20 days by default) the
        // warning says it is expected; after it, that it is missing.
        let j = judge_days(&[30]);
        assert!(
            j.message()
                .contains("generates its successor about 20 days before expiry"),
            "{}",
            j.message()
        );
        let j = judge_days(&[18]);
        assert!(
            j.message().contains("no successor is published"),
            "{}",
            j.message()
        );
        assert!(
            judge_days(&[14])
                .message()
                .contains("AutoCertificateRollover")
        );
        // Both certificates are named, the successor with its date.
        let j = judge_days(&[20, 385]);
        assert!(
            j.message().contains("expires in 20 days")
                && j.message()
                    .contains("its successor 'ADFS Signing - sts.contoso.com'")
                && j.message().contains("385 days"),
            "{}",
            j.message()
        );
    }
}
