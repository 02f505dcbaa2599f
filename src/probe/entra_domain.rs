//! `entra-domain`: is the domain verified in *this* tenant, and is it managed or federated to the
//! STS the customer listed? Microsoft Entra ID answers anonymously, from the tenant's cloud:
//!
//! * OpenID discovery, `https://<login>/<domain>/v2.0/.well-known/openid-configuration`: its
//!   `issuer` (`https://<login>/<tenant id>/v2.0`) names the tenant the domain is verified in; an
//!   `invalid_tenant` / AADSTS90002 answer means no tenant has verified it.
//! * Home realm discovery, `https://<login>/getuserrealm.srf?login=<user>@<domain>&json=1`:
//!   `NameSpaceType` (`Managed`, `Federated`, `Unknown`), `FederationBrandName`, and for a
//!   federated domain the `AuthURL` of its STS. This is what Microsoft's sign-in page asks; Learn
//!   has no reference page for its answer (the weakest source here): without a `NameSpaceType`
//!   the judge draws no federation conclusion.
//!
//! What is sent: the domain name, and a synthetic user name (`realm_user` in the check file) that
//! belongs to no one; nothing else. `--skip 'entra.*'` keeps a scan silent towards Microsoft.
//! The login host comes from `checks/clouds.toml` (`{cloud.login}`) and is resolved and trusted
//! like every other endpoint (scan resolver, public roots plus `--ca-file`).

use serde::{Deserialize, Serialize};

use super::connect::addresses;
use super::{PlanCx, ProbeCx, ProbeError};
use crate::endpoint::Endpoint;
use crate::outcome::{Finding, Judgement, Status};
use crate::pattern::TemplateError;
use crate::text::Text;

/// `[check.probe]` of kind `entra-domain`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntraDomainSpec {
    /// The cloud's Microsoft Entra ID login host (`{cloud.login}`).
    pub login: String,
    /// The synthetic user name sent to home realm discovery (`<realm_user>@<domain>`).
    pub realm_user: String,
    /// Largest answer read, bytes.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: usize,
}

fn default_max_bytes() -> usize {
    256 * 1024
}

/// Planned `entra-domain`.
#[derive(Clone, Debug)]
pub struct EntraDomainTask {
    /// The domain.
    pub domain: String,
    /// The login host (and port: 443 unless the check data says otherwise).
    pub login: Endpoint,
    /// Synthetic user name.
    pub realm_user: String,
    /// `[tenant] initial_domain`: the tenant the domain must belong to.
    pub initial_domain: Option<String>,
    /// The host of `[endpoints] adfs`, when configured.
    pub adfs_host: Option<String>,
    /// Largest answer read.
    pub max_bytes: usize,
    /// What Microsoft Graph says about the domain (`--graph`).
    pub graph: Option<crate::tenant::GraphDomain>,
}

impl EntraDomainSpec {
    /// Expands the login host for the domain's cloud; reads `{initial_domain}` and `{adfs_host}`.
    pub fn plan(&self, cx: &PlanCx<'_>) -> Result<EntraDomainTask, TemplateError> {
        let login = cx.vars.expand_one(&self.login)?;
        let optional = |name: &str| {
            cx.vars
                .contains(name)
                .then(|| cx.vars.expand_one(&format!("{{{name}}}")).ok())
                .flatten()
        };
        Ok(EntraDomainTask {
            domain: cx.domain.to_string(),
            login: Endpoint::parse(&login, 443).unwrap_or(Endpoint {
                host: login,
                port: 443,
            }),
            realm_user: self.realm_user.clone(),
            initial_domain: optional("initial_domain"),
            adfs_host: optional("adfs_host"),
            max_bytes: self.max_bytes,
            graph: cx.graph.cloned(),
        })
    }
}

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

/// What home realm discovery said.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Realm {
    /// The URL asked.
    pub url: String,
    /// HTTP status.
    pub http_status: u16,
    /// `NameSpaceType`: `Managed`, `Federated` or `Unknown`.
    pub namespace_type: Option<String>,
    /// `DomainName`.
    pub domain_name: Option<String>,
    /// `FederationBrandName`.
    pub federation_brand_name: Option<String>,
    /// `AuthURL` (federated domains): the STS sign-ins are sent to.
    pub auth_url: Option<String>,
    /// `CloudInstanceName`.
    pub cloud_instance_name: Option<String>,
}

/// What was seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EntraDomainEvidence {
    /// The login host asked.
    pub login: String,
    /// Discovery for the domain.
    pub domain: Discovery,
    /// Discovery for `[tenant] initial_domain` (this tenant's id), when configured.
    pub initial_domain: Option<Discovery>,
    /// Home realm discovery for the domain.
    pub realm: Realm,
}

/// The tenant id in an issuer `https://<login>/<tenant id>/v2.0` (a GUID).
pub fn tenant_of_issuer(issuer: &str) -> Option<String> {
    let rest = issuer.split_once("://")?.1;
    let id = rest.split('/').nth(1)?;
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
fn field(v: &serde_json::Value, key: &str) -> Option<String> {
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

/// Reads a home realm discovery answer (pure).
pub fn read_realm(url: String, status: u16, body: &serde_json::Value) -> Realm {
    Realm {
        url,
        http_status: status,
        namespace_type: field(body, "NameSpaceType"),
        domain_name: field(body, "DomainName"),
        federation_brand_name: field(body, "FederationBrandName"),
        auth_url: field(body, "AuthURL"),
        cloud_instance_name: field(body, "CloudInstanceName"),
    }
}

/// GETs `url` and parses its JSON body (any status: Entra's errors are JSON too).
async fn get_json(
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

/// Asks discovery (for the domain and the initial domain) and home realm discovery.
pub async fn observe(t: &EntraDomainTask, cx: &ProbeCx) -> Result<EntraDomainEvidence, ProbeError> {
    let ips = addresses(cx, &t.login)
        .await?
        .map_err(|why| ProbeError::Net {
            kind: "unresolved",
            message: text!("entra.unreachable", why = why),
        })?;
    let client = super::connect::https_client(cx, &t.login, &ips)?;
    let base = if t.login.port == 443 {
        format!("https://{}", t.login.host)
    } else {
        format!("https://{}", t.login)
    };
    let discover = |domain: &str| {
        let url = format!(
            "{base}/{}/v2.0/.well-known/openid-configuration",
            crate::percent::encode(domain)
        );
        let client = &client;
        async move {
            let (status, body) = get_json(client, &url, t.max_bytes).await?;
            Ok::<_, ProbeError>(read_discovery(url, status, &body))
        }
    };
    let domain = discover(&t.domain).await?;
    let initial_domain = match &t.initial_domain {
        Some(i) if !i.eq_ignore_ascii_case(&t.domain) => Some(discover(i).await?),
        _ => None,
    };
    let realm_url = format!(
        "{base}/getuserrealm.srf?login={}&json=1",
        crate::percent::encode(&format!("{}@{}", t.realm_user, t.domain))
    );
    let (status, body) = get_json(&client, &realm_url, t.max_bytes).await?;
    Ok(EntraDomainEvidence {
        login: t.login.to_string(),
        domain,
        initial_domain,
        realm: read_realm(realm_url, status, &body),
    })
}

/// The host of a URL (`https://sts.contoso.com/adfs/ls/?…` → `sts.contoso.com`).
fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host.split(':').next()?;
    Some(host.trim_end_matches('.').to_ascii_lowercase())
}

/// Pure judgement.
pub fn judge(t: &EntraDomainTask, e: &EntraDomainEvidence) -> Judgement {
    let expected = vec![match &t.initial_domain {
        Some(i) => text!(
            "entra.expected-tenant",
            domain = &t.domain,
            initial = i,
            adfs = match &t.adfs_host {
                Some(a) => text!("entra.expected-adfs", adfs = a),
                None => text!("empty"),
            }
        ),
        None => text!("entra.expected-any", domain = &t.domain),
    }];
    let fail = |m: Text| Judgement::new(Status::Fail, m, expected.clone());
    // With --graph, the tenant's own word about its domain comes first.
    if let Some(g) = t.graph.as_ref().filter(|g| !g.is_verified) {
        return fail(text!(
            "entra.graph-unverified",
            domain = &t.domain,
            id = &g.id
        ));
    }
    if e.domain.not_found {
        return fail(text!(
            "entra.not-found",
            domain = &t.domain,
            add_it = text!("entra.add-it")
        ));
    }
    let Some(tenant) = &e.domain.tenant_id else {
        return fail(text!(
            "entra.no-tenant",
            status = e.domain.http_status,
            domain = &t.domain,
            error = match e.domain.error.as_deref() {
                Some(x) => text!("value", value = x),
                None => text!("entra.no-issuer"),
            }
        ));
    };
    let mut findings = Vec::new();
    if let Some(ours) = &e.initial_domain {
        match &ours.tenant_id {
            Some(own) if own != tenant => findings.push(Finding::fail(text!(
                "entra.other-tenant",
                domain = &t.domain,
                tenant = tenant,
                initial = t.initial_domain.as_deref().unwrap_or("?"),
                own = own,
                add_it = text!("entra.add-it")
            ))),
            Some(_) => {}
            None => findings.push(Finding::warn(text!(
                "entra.initial-unknown",
                initial = t.initial_domain.as_deref().unwrap_or("?"),
                error = match ours.error.as_deref() {
                    Some(x) => text!("value", value = x),
                    None => text!("entra.no-tenant-id"),
                },
                domain = &t.domain,
                tenant = tenant
            ))),
        }
    }
    let namespace = e.realm.namespace_type.as_deref().unwrap_or("Unknown");
    let sts = e.realm.auth_url.as_deref().and_then(url_host);
    // How a domain of another tenant signs in is that tenant's business.
    let ours = findings.is_empty();
    match (namespace, &t.adfs_host, &sts) {
        _ if !ours => {}
        ("Federated", Some(adfs), Some(sts)) if !adfs.eq_ignore_ascii_case(sts) => {
            findings.push(Finding::warn(text!(
                "entra.other-sts",
                domain = &t.domain,
                sts = sts,
                adfs = adfs
            )));
        }
        ("Federated", None, Some(sts)) => findings.push(Finding::warn(text!(
            "entra.unlisted-sts",
            domain = &t.domain,
            sts = sts
        ))),
        ("Managed", Some(adfs), _) => findings.push(Finding::warn(text!(
            "entra.managed-with-adfs",
            domain = &t.domain,
            adfs = adfs
        ))),
        _ => {}
    }
    let how = match (namespace, &sts) {
        ("Federated", Some(sts)) => text!("entra.federated-to", sts = sts),
        ("Managed", _) => text!("entra.managed"),
        (other, _) => text!("value", value = other.to_ascii_lowercase()),
    };
    let ok = match &t.initial_domain {
        Some(i) => text!(
            "entra.ok",
            domain = &t.domain,
            initial = i,
            tenant = tenant,
            how = how
        ),
        None => text!(
            "entra.ok-any",
            domain = &t.domain,
            tenant = tenant,
            how = how
        ),
    };
    Judgement::from_findings(findings, ok, expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: &str = "4f1d2b8e-0c4a-4a34-9a55-6c2a7d9e1f10";
    const THEIRS: &str = "9b0e7c55-3d8f-4e2a-8c1b-2f4a6d8e0b21";

    fn discovery(tenant: Option<&str>) -> Discovery {
        match tenant {
            Some(id) => read_discovery(
                "u".into(),
                200,
                &serde_json::json!({
                    "issuer": format!("https://login.microsoftonline.com/{id}/v2.0"),
                    "cloud_instance_name": "microsoftonline.com",
                    "tenant_region_scope": "AS"
                }),
            ),
            None => read_discovery(
                "u".into(),
                400,
                &serde_json::json!({
                    "error": "invalid_tenant",
                    "error_description": "AADSTS90002: Tenant 'x.example' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.\r\nTrace ID: 1",
                    "error_codes": [90002]
                }),
            ),
        }
    }

    fn realm(ns: &str, auth: Option<&str>) -> Realm {
        let mut v = serde_json::json!({"NameSpaceType": ns, "DomainName": "contoso.com", "CloudInstanceName": "microsoftonline.com"});
        if let Some(a) = auth {
            v["AuthURL"] = a.into();
            v["FederationBrandName"] = "Contoso".into();
        }
        read_realm("r".into(), 200, &v)
    }

    #[test]
    fn issuers_name_tenants() {
        assert_eq!(
            tenant_of_issuer(&format!("https://login.microsoftonline.com/{OURS}/v2.0")).as_deref(),
            Some(OURS)
        );
        assert_eq!(
            tenant_of_issuer("https://login.microsoftonline.com/{tenantid}/v2.0"),
            None
        );
        assert_eq!(tenant_of_issuer("nonsense"), None);
        assert_eq!(
            url_host("https://STS.contoso.com:443/adfs/ls/?username=x%40contoso.com").as_deref(),
            Some("sts.contoso.com")
        );
    }

    #[test]
    fn verdicts() {
        let task = |initial: bool, adfs: Option<&str>| EntraDomainTask {
            domain: "contoso.com".into(),
            login: Endpoint {
                host: "login.microsoftonline.com".into(),
                port: 443,
            },
            realm_user: "u".into(),
            initial_domain: initial.then(|| "contoso.onmicrosoft.com".into()),
            adfs_host: adfs.map(str::to_owned),
            max_bytes: 1000,
            graph: None,
        };
        let ev =
            |domain: Option<&str>, initial: Option<Option<&str>>, r: Realm| EntraDomainEvidence {
                login: "login.microsoftonline.com:443".into(),
                domain: discovery(domain),
                initial_domain: initial.map(discovery),
                realm: r,
            };
        let sts = Some("https://sts.contoso.com/adfs/ls/?username=u%40contoso.com");
        let cases: Vec<(EntraDomainTask, EntraDomainEvidence, Status, &str)> = vec![
            (
                task(true, None),
                ev(Some(OURS), Some(Some(OURS)), realm("Managed", None)),
                Status::Pass,
                "verified in the tenant of contoso.onmicrosoft.com",
            ),
            (
                task(true, None),
                ev(Some(THEIRS), Some(Some(OURS)), realm("Managed", None)),
                Status::Fail,
                "verified in another tenant (id 9b0e7c55",
            ),
            (
                task(true, None),
                ev(None, Some(Some(OURS)), realm("Unknown", None)),
                Status::Fail,
                "not added or not verified in any",
            ),
            (
                task(false, None),
                ev(Some(THEIRS), None, realm("Managed", None)),
                Status::Pass,
                "belongs to tenant 9b0e7c55",
            ),
            (
                task(true, Some("sts.contoso.com")),
                ev(Some(OURS), Some(Some(OURS)), realm("Federated", sts)),
                Status::Pass,
                "federated to sts.contoso.com",
            ),
            (
                task(true, Some("adfs.contoso.com")),
                ev(Some(OURS), Some(Some(OURS)), realm("Federated", sts)),
                Status::Warn,
                "federated to sts.contoso.com, but [endpoints] adfs is adfs.contoso.com",
            ),
            (
                task(true, None),
                ev(Some(OURS), Some(Some(OURS)), realm("Federated", sts)),
                Status::Warn,
                "which tenant.toml does not list",
            ),
            (
                task(true, Some("sts.contoso.com")),
                ev(Some(OURS), Some(Some(OURS)), realm("Managed", None)),
                Status::Warn,
                "is managed (cloud authentication), but [endpoints] adfs",
            ),
            (
                task(true, None),
                ev(Some(OURS), Some(None), realm("Managed", None)),
                Status::Warn,
                "is not known to Microsoft Entra ID",
            ),
        ];
        for (i, (t, e, want, words)) in cases.into_iter().enumerate() {
            let j = judge(&t, &e);
            assert_eq!(j.status, want, "case {i}: {}", j.message());
            assert!(j.message().contains(words), "case {i}: {}", j.message());
        }
    }
}
