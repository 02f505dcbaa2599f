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

pub use super::discovery::{Discovery, read_discovery, tenant_of_issuer};
use super::discovery::{base_url, field, get_json, login_client};
use super::{PlanCx, ProbeCx, ProbeError};
use crate::endpoint::Endpoint;
use crate::outcome::{Finding, Judgement, Status};
use crate::pattern::TemplateError;
use crate::tenant::DomainAuth;
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
    /// How tenant.toml says the domain signs in (`[[domain]] auth`), when it says.
    pub auth: Option<DomainAuth>,
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
            auth: cx.auth,
        })
    }
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

/// Asks discovery (for the domain and the initial domain, through the scan's shared answers:
/// `dns.verification` may need the same ones) and home realm discovery.
pub async fn observe(t: &EntraDomainTask, cx: &ProbeCx) -> Result<EntraDomainEvidence, ProbeError> {
    let domain = cx
        .discovery
        .get(cx, &t.login, &t.domain, t.max_bytes)
        .await?;
    let initial_domain = match &t.initial_domain {
        Some(i) if !i.eq_ignore_ascii_case(&t.domain) => {
            Some(cx.discovery.get(cx, &t.login, i, t.max_bytes).await?)
        }
        _ => None,
    };
    let client = login_client(cx, &t.login).await?;
    let realm_url = format!(
        "{}/getuserrealm.srf?login={}&json=1",
        base_url(&t.login),
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

/// The host a browser sends the sign-in to (`https://sts.contoso.com/adfs/ls/?…` →
/// `sts.contoso.com`), read with the WHATWG URL rules the browser uses (the `url` crate): in
/// `https://evil.example\@sts.contoso.com/` the backslash ends the host, which is `evil.example`
/// (a hand-made split at the last `@` once read `sts.contoso.com`). Only `https` and `http` URLs
/// with a host count: an AuthURL without a scheme, or of another scheme, names no STS.
fn url_host(auth_url: &str) -> Option<String> {
    let parsed = url::Url::parse(auth_url).ok()?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return None;
    }
    let host = match parsed.host()? {
        url::Host::Domain(d) => d.trim_end_matches('.').to_owned(),
        url::Host::Ipv4(a) => a.to_string(),
        url::Host::Ipv6(a) => a.to_string(),
    };
    (!host.is_empty()).then_some(host)
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
    let mut notes = Vec::new();
    match (namespace, t.auth, &t.adfs_host, &sts) {
        _ if !ours => {}
        // tenant.toml says how the domain should sign in ([[domain]] auth).
        ("Federated", Some(DomainAuth::Managed), _, _) => findings.push(Finding::warn(text!(
            "entra.expected-managed",
            domain = &t.domain,
            how = match &sts {
                Some(sts) => text!("entra.federated-to", sts = sts),
                None => text!("entra.federated"),
            }
        ))),
        ("Managed", Some(DomainAuth::Federated), _, _) => findings.push(Finding::warn(text!(
            "entra.expected-federated",
            domain = &t.domain
        ))),
        // Federated, but to no STS a browser could be sent to: nothing to check its certificate
        // or metadata against, and sign-ins of this domain go nowhere a user can reach.
        ("Federated", _, _, None) => findings.push(Finding::warn(text!(
            "entra.federated-no-sts",
            domain = &t.domain,
            auth_url = match e.realm.auth_url.as_deref() {
                Some(u) => text!("entra.auth-url-unreadable", url = u),
                None => text!("entra.no-auth-url"),
            }
        ))),
        ("Federated", _, Some(adfs), Some(sts)) if !adfs.eq_ignore_ascii_case(sts) => {
            findings.push(Finding::warn(text!(
                "entra.other-sts",
                domain = &t.domain,
                sts = sts,
                adfs = adfs
            )));
        }
        ("Federated", _, None, Some(sts)) => findings.push(Finding::warn(text!(
            "entra.unlisted-sts",
            domain = &t.domain,
            sts = sts
        ))),
        // A tenant that federates some domains and manages others (a staged migration to cloud
        // authentication, domains added later) is a supported set-up: [endpoints] adfs is for
        // the federated ones.
        ("Managed", None, Some(adfs), _) => notes.push(text!(
            "entra.managed-beside-adfs",
            domain = &t.domain,
            adfs = adfs
        )),
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
    let mut j = Judgement::from_findings(findings, ok, expected);
    if j.status == Status::Pass {
        j.message.extend(notes);
    }
    j
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

    /// AuthURLs read as a browser reads them (issue 25): the host the sign-in actually goes to,
    /// or none.
    #[test]
    fn auth_urls_are_read_as_a_browser_reads_them() {
        for (url, host) in [
            // A backslash ends the authority in a special scheme: the host is evil.example.
            (
                r"https://evil.example\@sts.contoso.com/adfs/ls/",
                Some("evil.example"),
            ),
            (
                "https://user:pw@sts.contoso.com/adfs/ls/",
                Some("sts.contoso.com"),
            ),
            ("https://sts.contoso.com./adfs/ls/", Some("sts.contoso.com")),
            ("https://STS.Contoso.COM:8443/x", Some("sts.contoso.com")),
            ("https://[2001:db8::1]/adfs/ls/", Some("2001:db8::1")),
            ("https://0x7f.1/", Some("127.0.0.1")),
            ("http://sts.contoso.com/adfs/ls/", Some("sts.contoso.com")),
            // No scheme, another scheme, no host: no STS.
            ("sts.contoso.com/adfs/ls/", None),
            ("//sts.contoso.com/adfs/ls/", None),
            ("javascript://sts.contoso.com/%0aalert(1)", None),
            ("file:///etc/passwd", None),
            ("https://", None),
            ("", None),
        ] {
            assert_eq!(url_host(url).as_deref(), host, "{url}");
        }
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
            auth: None,
        };
        let ev =
            |domain: Option<&str>, initial: Option<Option<&str>>, r: Realm| EntraDomainEvidence {
                login: "login.microsoftonline.com:443".into(),
                domain: discovery(domain),
                initial_domain: initial.map(discovery),
                realm: r,
            };
        let sts = Some("https://sts.contoso.com/adfs/ls/?username=u%40contoso.com");
        let mut cases: Vec<(EntraDomainTask, EntraDomainEvidence, Status, &str)> = vec![
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
            // A managed domain beside federated ones (staged migration): supported.
            (
                task(true, Some("sts.contoso.com")),
                ev(Some(OURS), Some(Some(OURS)), realm("Managed", None)),
                Status::Pass,
                "is managed (cloud authentication) while [endpoints] adfs sts.contoso.com",
            ),
            (
                task(true, None),
                ev(Some(OURS), Some(None), realm("Managed", None)),
                Status::Warn,
                "is not known to Microsoft Entra ID",
            ),
            // Federated to no readable STS (issue 25: once a pass, "federated").
            (
                task(true, Some("sts.contoso.com")),
                ev(
                    Some(OURS),
                    Some(Some(OURS)),
                    realm("Federated", Some("sts.contoso.com/adfs/ls/")),
                ),
                Status::Warn,
                "is federated, but its sign-in address (AuthURL) sts.contoso.com/adfs/ls/ names no",
            ),
            (
                task(true, Some("sts.contoso.com")),
                ev(
                    Some(OURS),
                    Some(Some(OURS)),
                    realm(
                        "Federated",
                        Some(r"https://evil.example\@sts.contoso.com/adfs/ls/"),
                    ),
                ),
                Status::Warn,
                "federated to evil.example, but [endpoints] adfs is sts.contoso.com",
            ),
            (
                task(true, None),
                ev(Some(OURS), Some(Some(OURS)), realm("Federated", None)),
                Status::Warn,
                "is federated, but Microsoft Entra ID gives no sign-in address (AuthURL)",
            ),
        ];
        // [[domain]] auth states what is expected.
        let with = |auth: DomainAuth, adfs: Option<&str>| EntraDomainTask {
            auth: Some(auth),
            ..task(true, adfs)
        };
        cases.extend([
            (
                with(DomainAuth::Managed, Some("sts.contoso.com")),
                ev(Some(OURS), Some(Some(OURS)), realm("Managed", None)),
                Status::Pass,
                "verified in the tenant of contoso.onmicrosoft.com",
            ),
            (
                with(DomainAuth::Managed, Some("sts.contoso.com")),
                ev(Some(OURS), Some(Some(OURS)), realm("Federated", sts)),
                Status::Warn,
                "is federated to sts.contoso.com, but tenant.toml says auth = \"managed\"",
            ),
            (
                with(DomainAuth::Federated, Some("sts.contoso.com")),
                ev(Some(OURS), Some(Some(OURS)), realm("Managed", None)),
                Status::Warn,
                "is managed (cloud authentication), but tenant.toml says auth = \"federated\"",
            ),
            (
                with(DomainAuth::Federated, Some("sts.contoso.com")),
                ev(Some(OURS), Some(Some(OURS)), realm("Federated", sts)),
                Status::Pass,
                "federated to sts.contoso.com",
            ),
        ]);
        for (i, (t, e, want, words)) in cases.into_iter().enumerate() {
            let j = judge(&t, &e);
            assert_eq!(j.status, want, "case {i}: {}", j.message());
            assert!(j.message().contains(words), "case {i}: {}", j.message());
        }
    }
}
