//! Microsoft Entra ID's OpenID discovery of a domain, asked once per scan and shared.
//!
//! `https://<login>/<domain>/v2.0/.well-known/openid-configuration` answers, anonymously, which
//! tenant a domain is verified in: its `issuer` is `https://<login>/<tenant id>/v2.0`, and an
//! `invalid_tenant` / AADSTS90002 answer means no tenant has verified it ("OpenID Connect on the
//! Microsoft identity platform", learn.microsoft.com/entra/identity-platform/v2-protocols-oidc;
//! error codes: learn.microsoft.com/entra/identity-platform/reference-error-codes).
//!
//! Two checks need that answer: `entra.domain` (is the domain in this tenant) and
//! `dns.verification` (a missing `MS=ms…` TXT is fine once the domain is verified: Microsoft
//! says it may be deleted then). [`DiscoveryMemo`] asks once per (login host, domain) and scan,
//! so the checks share one answer and `[tenant] initial_domain` is asked once, not once per
//! domain. A failed question is not remembered: the next asker tries again within its own
//! deadline.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::OnceCell;

use super::connect::addresses;
use super::{ProbeCx, ProbeError};
use crate::endpoint::Endpoint;
use crate::text::Text;

/// What OpenID discovery said about one domain.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Discovery {
    /// The URL asked.
    pub url: String,
    /// HTTP status.
    pub http_status: u16,
    /// The tenant id from the issuer.
    pub tenant_id: Option<String>,
    /// `issuer`.
    pub issuer: Option<String>,
    /// `cloud_instance_name` (`microsoftonline.com`, `microsoftonline.us`…).
    pub cloud_instance_name: Option<String>,
    /// `tenant_region_scope`.
    pub tenant_region_scope: Option<String>,
    /// `error` / `error_description` of an error answer.
    pub error: Option<String>,
    /// The answer says no tenant has this domain (`invalid_tenant`, AADSTS90002).
    pub not_found: bool,
}

/// The tenant id in an issuer `https://<login>/<tenant id>/v2.0` (a GUID): the first path
/// segment, the URL read with the WHATWG rules (as every URL from outside is).
pub fn tenant_of_issuer(issuer: &str) -> Option<String> {
    let url = url::Url::parse(issuer).ok()?;
    let id = url.path_segments()?.next()?;
    let guid = id.len() == 36
        && id.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    guid.then(|| id.to_ascii_lowercase())
}

/// A JSON object's string field.
pub(crate) fn field(v: &serde_json::Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

/// Reads a discovery answer (pure; unit-tested on the documented shapes).
pub fn read_discovery(url: String, status: u16, body: &serde_json::Value) -> Discovery {
    let issuer = field(body, "issuer");
    let error = field(body, "error").map(|e| match field(body, "error_description") {
        // The description's first line names the AADSTS code; the rest is trace ids.
        Some(d) => format!("{e}: {}", d.lines().next().unwrap_or("")),
        None => e,
    });
    let codes_90002 = body
        .get("error_codes")
        .and_then(serde_json::Value::as_array)
        .is_some_and(|c| c.iter().any(|x| x.as_u64() == Some(90002)));
    let not_found = status >= 400
        && (codes_90002
            || field(body, "error").as_deref() == Some("invalid_tenant")
            || error.as_deref().is_some_and(|e| e.contains("AADSTS90002")));
    Discovery {
        url,
        http_status: status,
        tenant_id: issuer.as_deref().and_then(tenant_of_issuer),
        issuer,
        cloud_instance_name: field(body, "cloud_instance_name"),
        tenant_region_scope: field(body, "tenant_region_scope"),
        error,
        not_found,
    }
}

/// `https://<login>` (with the port when it is not 443).
pub fn base_url(login: &Endpoint) -> String {
    if login.port == 443 {
        format!("https://{}", login.host)
    } else {
        format!("https://{login}")
    }
}

/// The HTTPS client for the login host: resolved through the scan's resolver, trusted through
/// the public roots plus `--ca-file`, like every other endpoint.
pub async fn login_client(cx: &ProbeCx, login: &Endpoint) -> Result<reqwest::Client, ProbeError> {
    let ips = addresses(cx, login).await?.map_err(|why| ProbeError::Net {
        kind: "unresolved",
        message: text!("entra.unreachable", why = why),
    })?;
    super::connect::https_client(cx, login, &ips)
}

/// GETs `url` and parses its JSON body (any status: Entra's errors are JSON too), reading at
/// most `max_bytes`.
pub async fn get_json(
    client: &reqwest::Client,
    url: &str,
    max_bytes: usize,
) -> Result<(u16, serde_json::Value), ProbeError> {
    let net = |kind, message: Text| ProbeError::Net {
        kind,
        message: text!("entra.http", url = url, what = message),
    };
    let mut resp = client.get(url).send().await.map_err(|e| {
        if e.is_timeout() {
            net("timeout", text!("http.no-answer"))
        } else {
            net(
                "unreachable",
                text!("http.error", error = super::http_error_chain(&e)),
            )
        }
    })?;
    let status = resp.status().as_u16();
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                body.extend_from_slice(&c);
                if body.len() > max_bytes {
                    return Err(net("protocol", text!("http.too-large", max = max_bytes)));
                }
            }
            Ok(None) => break,
            Err(e) if e.is_timeout() => {
                return Err(net("timeout", text!("http.stalled")));
            }
            Err(e) => {
                return Err(net(
                    "unreachable",
                    text!("http.error", error = super::http_error_chain(&e)),
                ));
            }
        }
    }
    let value = serde_json::from_slice(&body).map_err(|e| {
        net(
            "protocol",
            text!("entra.not-json", status = status, error = e.to_string()),
        )
    })?;
    Ok((status, value))
}

/// The discovery URL of `domain` at `login`.
pub fn discovery_url(login: &Endpoint, domain: &str) -> String {
    format!(
        "{}/{}/v2.0/.well-known/openid-configuration",
        base_url(login),
        crate::percent::encode(domain)
    )
}

/// Largest discovery answer read, bytes (an OpenID configuration is about 2 KB).
pub const MAX_DISCOVERY_BYTES: usize = 256 * 1024;

/// One discovery answer per (login host, domain) for the whole scan.
#[derive(Default)]
pub struct DiscoveryMemo {
    cells: Mutex<HashMap<(String, String), Arc<OnceCell<Discovery>>>>,
}

impl std::fmt::Debug for DiscoveryMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.cells.lock().map_or(0, |m| m.len());
        f.debug_struct("DiscoveryMemo")
            .field("domains", &n)
            .finish()
    }
}

impl DiscoveryMemo {
    /// The discovery answer for `domain`, asked at most once per scan when it succeeds (callers
    /// asking at the same time wait for the one question in flight).
    pub async fn get(
        &self,
        cx: &ProbeCx,
        login: &Endpoint,
        domain: &str,
        max_bytes: usize,
    ) -> Result<Discovery, ProbeError> {
        let key = (login.to_string(), domain.to_ascii_lowercase());
        let cell = {
            // A poisoned lock only means another probe panicked mid-insert; the map is usable.
            let mut map = self
                .cells
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(map.entry(key).or_default())
        };
        cell.get_or_try_init(|| async {
            let client = login_client(cx, login).await?;
            let url = discovery_url(login, domain);
            let (status, body) = get_json(&client, &url, max_bytes).await?;
            Ok::<_, ProbeError>(read_discovery(url, status, &body))
        })
        .await
        .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_name_tenants() {
        let ours = "4f1d2b8e-0c4a-4a34-9a55-6c2a7d9e1f10";
        assert_eq!(
            tenant_of_issuer(&format!("https://login.microsoftonline.com/{ours}/v2.0")).as_deref(),
            Some(ours)
        );
        assert_eq!(
            tenant_of_issuer("https://login.microsoftonline.com/{tenantid}/v2.0"),
            None
        );
        assert_eq!(tenant_of_issuer("nonsense"), None);
    }

    #[test]
    fn a_missing_tenant_is_told_from_other_errors() {
        let nf = read_discovery(
            "u".into(),
            400,
            &serde_json::json!({"error": "invalid_tenant", "error_codes": [90002],
                "error_description": "AADSTS90002: Tenant 'x' not found.\r\nTrace ID: 1"}),
        );
        assert!(nf.not_found);
        assert_eq!(
            nf.error.as_deref(),
            Some("invalid_tenant: AADSTS90002: Tenant 'x' not found.")
        );
        let other = read_discovery(
            "u".into(),
            500,
            &serde_json::json!({"error": "temporarily_unavailable"}),
        );
        assert!(!other.not_found);
    }
}
