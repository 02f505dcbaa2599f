//! A loopback stand-in for Microsoft Entra ID's public endpoints (`login.microsoftonline.com`):
//! OpenID discovery per domain, home realm discovery and the token endpoint, and for Microsoft
//! Graph (`graph.microsoft.com`): the domain list and each domain's verification and service
//! records. It answers in the documented shapes from a small directory of tenants, and misbehaves
//! on request (stall, malformed JSON, an HTTP error, throttling).
//!
//! It listens on port 443 of its own loopback address (127.64.x.y, one per stand-in, so parallel
//! tests never share one), with a certificate for the login host from a lab CA: the scanner
//! reaches it the way it reaches Microsoft, through its resolver (`--nameserver`, a zone mapping
//! the login host to that address) and its trust store (`--ca-file`), with no special switch.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::json;

use super::pki::{LeafSpec, Pki};
use super::tls_server::{Handler, LabServer, Mode, Reply, Request, server_config};

/// How a domain signs in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// Cloud authentication.
    Managed,
    /// Federated to an STS: its host and brand name.
    Federated {
        /// The STS host (`sts.contoso.com`).
        sts: String,
        /// `FederationBrandName`.
        brand: String,
    },
}

/// One tenant of the stand-in.
#[derive(Clone, Debug)]
pub struct Tenant {
    /// Tenant id (a GUID).
    pub id: String,
    /// Its verified domains (the initial `*.onmicrosoft.com` among them) and how each signs in.
    pub domains: Vec<(String, Auth)>,
    /// Domains added to it but not verified (Graph lists them with `isVerified: false`).
    pub unverified: Vec<String>,
}

/// An app registration that can ask Graph (client credentials).
#[derive(Clone, Debug)]
pub struct App {
    /// Its tenant's id.
    pub tenant_id: String,
    /// Application (client) id.
    pub client_id: String,
    /// Client secret.
    pub secret: String,
    /// Granted Domain.Read.All (admin-consented).
    pub domain_read_all: bool,
}

/// The records Graph gives a domain: `MS=ms` + digits from the name, and the MX host
/// `<name with dashes>01c.mail.protection.outlook.com` (a token with a suffix, as Microsoft
/// assigns them to newer domains).
/// The demo's domains get the tokens their lab zones publish (`src/lab/zones/`), as the admin
/// center would have shown their owner.
pub fn graph_records(domain: &str) -> (String, String) {
    let demo = match domain {
        "contoso.test" => Some("MS=ms12345678"),
        "northwind.test" => Some("MS=ms87654321"),
        "tailspin.test" => Some("MS=ms11223344"),
        _ => None,
    };
    let digits: u32 = domain
        .bytes()
        .fold(17u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    (
        demo.map_or_else(
            || format!("MS=ms{:08}", digits % 100_000_000),
            str::to_owned,
        ),
        format!(
            "{}01c.mail.protection.outlook.com",
            domain.replace('.', "-")
        ),
    )
}

/// How the stand-in misbehaves (for tests of the scanner's error handling).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Misbehave {
    /// Answers as Microsoft does.
    #[default]
    No,
    /// Accepts, completes TLS, reads the request and never answers.
    Stall,
    /// Answers 200 with a body that is not JSON.
    MalformedJson,
    /// Answers every request with this HTTP status and an HTML body (a proxy's error page).
    Status(u16),
    /// Answers Graph requests (`/v1.0/…`) with a body that never ends.
    EndlessGraph,
    /// Answers Graph requests with a 500 whose error message is this text (newlines and all).
    GraphError(&'static str),
    /// Answers this many Graph requests with 429 and `Retry-After` (seconds), then normally.
    Throttle {
        /// Requests throttled.
        times: u32,
        /// Seconds in `Retry-After`.
        retry_after: u64,
    },
}

/// What Graph says of the app's tenant beyond its domains (the tenant checks of issue 27).
#[derive(Clone, Debug)]
pub struct TenantFacts {
    /// `onPremisesSyncEnabled`.
    pub sync_enabled: Option<bool>,
    /// `onPremisesLastSyncDateTime`, as minutes before the request (`None`: never).
    pub last_sync_minutes_ago: Option<u64>,
    /// `mobileDeviceManagementAuthority`.
    pub mdm_authority: String,
    /// Members of Global Administrator: (`user` or `servicePrincipal`, name).
    pub global_admins: Vec<(String, String)>,
    /// Graph resources (path prefixes after `/v1.0/`) the app may not read: 403, as Graph
    /// answers a missing permission.
    pub denied: Vec<String>,
    /// Resources the tenant's licences do not cover: 403 with Graph's licence error code.
    pub unlicensed: Vec<String>,
    /// `identitySecurityDefaultsEnforcementPolicy.isEnabled`.
    pub security_defaults: bool,
    /// Conditional Access policies, in Graph's shape (see [`ca_policy`]).
    pub ca_policies: Vec<serde_json::Value>,
    /// The registration report: (user principal name, is an administrator, MFA registered).
    pub registration: Vec<(String, bool, bool)>,
    /// `subscribedSkus`, in Graph's shape (see [`sku`]).
    pub skus: Vec<serde_json::Value>,
    /// The tenant's users, generated (see [`LabUsers`]).
    pub users: LabUsers,
}

/// Users the stand-in generates on demand (`user<i>@contoso.test`), so that a test can page
/// through 100,000 of them without holding them.
#[derive(Clone, Debug)]
pub struct LabUsers {
    /// How many.
    pub count: usize,
    /// The first this many have no usage location.
    pub without_location: usize,
    /// These (by index) carry a provisioning error.
    pub with_errors: Vec<usize>,
    /// Users a page holds when the request names no `$top`.
    pub page: usize,
}

impl LabUsers {
    /// `count` licensed users with a usage location and no errors.
    pub fn clean(count: usize) -> Self {
        Self {
            count,
            without_location: 0,
            with_errors: vec![],
            page: 100,
        }
    }

    fn user(&self, i: usize) -> serde_json::Value {
        let errors = if self.with_errors.contains(&i) {
            json!([{"category": "PropertyConflict", "occurredDateTime": "2026-12-01T08:00:00Z", "propertyCausingError": "UserPrincipalName", "value": format!("user{i}@contoso.test")}])
        } else {
            json!([])
        };
        json!({
            "userPrincipalName": format!("user{i}@contoso.test"),
            "usageLocation": if i < self.without_location { json!(null) } else { json!("KR") },
            "assignedLicenses": [{"disabledPlans": [], "skuId": "6fd2c87f-b296-42f0-b197-1e91e994b900"}],
            "onPremisesProvisioningErrors": errors,
        })
    }
}

/// A Conditional Access policy in Graph's shape
/// (learn.microsoft.com/graph/api/resources/conditionalaccesspolicy): `state` is `enabled`,
/// `disabled` or `enabledForReportingButNotEnforced`; users `All` or the roles given; all apps;
/// the grant `mfa`.
pub fn ca_policy(name: &str, state: &str, all_users: bool, roles: &[&str]) -> serde_json::Value {
    json!({
        "id": format!("{:08x}-0000-4000-8000-000000000000", name.len()),
        "displayName": name,
        "state": state,
        "conditions": {
            "clientAppTypes": ["all"],
            "applications": {"includeApplications": ["All"], "excludeApplications": []},
            "users": {
                "includeUsers": if all_users { json!(["All"]) } else { json!([]) },
                "excludeUsers": ["breakglass1-id"],
                "includeRoles": roles,
                "excludeRoles": []
            },
            "signInRiskLevels": [],
            "userRiskLevels": []
        },
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"], "customAuthenticationFactors": [], "termsOfUse": []}
    })
}

/// Global Administrator's role template id.
pub const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";

/// A subscription in Graph's shape (learn.microsoft.com/graph/api/resources/subscribedsku), with
/// its plans and their `provisioningStatus`.
pub fn sku(
    part: &str,
    status: &str,
    enabled: u64,
    consumed: u64,
    plans: &[(&str, &str)],
) -> serde_json::Value {
    let plans: Vec<serde_json::Value> = plans
        .iter()
        .map(|(name, st)| json!({"servicePlanId": "113feb6c-3fe4-4440-bddc-54d774bf0318", "servicePlanName": name, "provisioningStatus": st, "appliesTo": "User"}))
        .collect();
    json!({
        "accountName": "Contoso", "appliesTo": "User", "capabilityStatus": status,
        "consumedUnits": consumed, "id": format!("{LAB_TENANT_ID}_{part}"),
        "prepaidUnits": {"enabled": enabled, "suspended": 0, "warning": 0, "lockedOut": 0},
        "servicePlans": plans, "skuId": "6fd2c87f-b296-42f0-b197-1e91e994b900", "skuPartNumber": part
    })
}

/// Microsoft 365 E3 with every plan the checks look for provisioned, and EMS E3 for Intune.
pub fn healthy_skus(enabled: u64, consumed: u64) -> Vec<serde_json::Value> {
    vec![
        sku(
            "ENTERPRISEPACK",
            "Enabled",
            enabled,
            consumed,
            &[
                ("EXCHANGE_S_ENTERPRISE", "Success"),
                ("TEAMS1", "Success"),
                ("SHAREPOINTENTERPRISE", "Success"),
                ("INTUNE_O365", "PendingActivation"),
            ],
        ),
        sku(
            "EMS",
            "Enabled",
            enabled,
            consumed,
            &[("INTUNE_A", "Success")],
        ),
        // A free SKU with thousands of units: not seats.
        sku(
            "FLOW_FREE",
            "Enabled",
            10_000,
            3,
            &[("FLOW_P2_VIRAL", "Success")],
        ),
    ]
}

impl Default for TenantFacts {
    /// A healthy tenant: sync ten minutes ago, Intune, two emergency access accounts.
    fn default() -> Self {
        Self {
            sync_enabled: Some(true),
            last_sync_minutes_ago: Some(10),
            mdm_authority: "intune".into(),
            global_admins: vec![
                ("user".into(), "breakglass1@contoso.onmicrosoft.com".into()),
                ("user".into(), "breakglass2@contoso.onmicrosoft.com".into()),
            ],
            denied: vec![],
            unlicensed: vec![],
            security_defaults: true,
            ca_policies: vec![],
            registration: vec![
                ("breakglass1@contoso.onmicrosoft.com".into(), true, true),
                ("breakglass2@contoso.onmicrosoft.com".into(), true, true),
                ("user0@contoso.test".into(), false, false),
            ],
            skus: healthy_skus(50, 40),
            users: LabUsers::clean(40),
        }
    }
}

/// The stand-in's tenants and behaviour.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    /// The login host it answers as (`login.microsoftonline.com`).
    pub login_host: String,
    /// Tenants.
    pub tenants: Vec<Tenant>,
    /// Misbehaviour.
    pub misbehave: Misbehave,
    /// The Microsoft Graph host it also answers as (`graph.microsoft.com`).
    pub graph_host: String,
    /// App registrations.
    pub apps: Vec<App>,
    /// Graph requests throttled so far.
    pub throttled: Arc<AtomicU32>,
    /// Every request line received (method and target), for tests that check what was sent.
    pub log: Arc<Mutex<Vec<String>>>,
    /// The app's tenant, beyond its domains.
    pub facts: TenantFacts,
}

impl Directory {
    fn find(&self, domain: &str) -> Option<(&Tenant, &Auth)> {
        self.tenants.iter().find_map(|t| {
            if t.id.eq_ignore_ascii_case(domain) {
                return t.domains.first().map(|(_, a)| (t, a));
            }
            t.domains
                .iter()
                .find(|(d, _)| d.eq_ignore_ascii_case(domain))
                .map(|(_, a)| (t, a))
        })
    }

    /// The OpenID configuration of a tenant (the fields the documentation shows; the scanner
    /// reads `issuer`, `cloud_instance_name` and `tenant_region_scope`).
    fn openid_configuration(&self, tenant: &Tenant) -> serde_json::Value {
        let (login, id) = (&self.login_host, &tenant.id);
        json!({
            "token_endpoint": format!("https://{login}/{id}/oauth2/v2.0/token"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": format!("https://{login}/{id}/discovery/v2.0/keys"),
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": format!("https://{login}/{id}/v2.0"),
            "request_uri_parameter_supported": false,
            "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
            "authorization_endpoint": format!("https://{login}/{id}/oauth2/v2.0/authorize"),
            "http_logout_supported": true,
            "frontchannel_logout_supported": true,
            "end_session_endpoint": format!("https://{login}/{id}/oauth2/v2.0/logout"),
            "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
            "kerberos_endpoint": format!("https://{login}/{id}/kerberos"),
            "tenant_region_scope": "AS",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net"
        })
    }

    /// Answers one request.
    pub fn answer(&self, req: &Request) -> Reply {
        if let Ok(mut log) = self.log.lock() {
            log.push(format!("{} {}", req.method, req.target));
        }
        if let Some(reply) = self.graph_or_token(req) {
            return reply;
        }
        match self.misbehave {
            Misbehave::Stall => return Reply::Stall,
            Misbehave::MalformedJson => {
                return Reply::Respond {
                    status: 200,
                    headers: vec![("Content-Type".into(), "application/json".into())],
                    body: b"{\"issuer\": \"https://login".to_vec(),
                };
            }
            Misbehave::Status(status) => {
                return Reply::Respond {
                    status,
                    headers: vec![("Content-Type".into(), "text/html".into())],
                    body: b"<html><body>Access denied by policy</body></html>".to_vec(),
                };
            }
            Misbehave::No
            | Misbehave::Throttle { .. }
            | Misbehave::EndlessGraph
            | Misbehave::GraphError(_) => {}
        }
        let path = req.path();
        if let Some(domain) = path
            .strip_prefix('/')
            .and_then(|p| p.strip_suffix("/v2.0/.well-known/openid-configuration"))
        {
            return match self.find(domain) {
                Some((t, _)) => Reply::json(200, &self.openid_configuration(t)),
                None => Reply::json(
                    400,
                    &json!({
                        "error": "invalid_tenant",
                        "error_description": format!("AADSTS90002: Tenant '{domain}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.\r\nTrace ID: 00000000-0000-0000-0000-000000000000\r\nCorrelation ID: 00000000-0000-0000-0000-000000000000\r\nTimestamp: 2026-11-29 00:00:00Z"),
                        "error_codes": [90002],
                        "timestamp": "2026-11-29 00:00:00Z",
                        "trace_id": "00000000-0000-0000-0000-000000000000",
                        "correlation_id": "00000000-0000-0000-0000-000000000000",
                        "error_uri": format!("https://{}/error?code=90002", self.login_host)
                    }),
                ),
            };
        }
        if path.eq_ignore_ascii_case("/getuserrealm.srf") {
            let login = req.query("login").unwrap_or_default();
            let domain = login.rsplit_once('@').map_or("", |(_, d)| d);
            let mut realm = json!({
                "State": 4,
                "UserState": 1,
                "Login": login,
                "NameSpaceType": "Unknown",
                "DomainName": domain,
                "FederationBrandName": domain,
                "CloudInstanceName": "microsoftonline.com",
                "CloudInstanceIssuerUri": "urn:federation:MicrosoftOnline"
            });
            match self.find(domain) {
                Some((_, Auth::Managed)) => {
                    realm["NameSpaceType"] = "Managed".into();
                    realm["State"] = 4.into();
                }
                Some((_, Auth::Federated { sts, brand })) => {
                    realm["NameSpaceType"] = "Federated".into();
                    realm["State"] = 3.into();
                    realm["UserState"] = 2.into();
                    realm["FederationBrandName"] = brand.clone().into();
                    realm["FederationGlobalVersion"] = (-1).into();
                    realm["AuthURL"] = format!(
                        "https://{sts}/adfs/ls/?username={}&wa=wsignin1.0&wtrealm=urn%3afederation%3aMicrosoftOnline&wctx=",
                        login.replace('@', "%40")
                    )
                    .into();
                    realm["FederationProtocol"] = "WSTrust".into();
                }
                None => {}
            }
            return Reply::json(200, &realm);
        }
        Reply::json(
            404,
            &json!({"error": "not_found", "error_description": format!("no such endpoint: {path}")}),
        )
    }
}

impl Directory {
    fn tenant_of(&self, id_or_domain: &str) -> Option<&Tenant> {
        self.find(id_or_domain).map(|(t, _)| t)
    }

    /// The token endpoint and Microsoft Graph (`None` for other paths).
    fn graph_or_token(&self, req: &Request) -> Option<Reply> {
        let path = req.path();
        if req.method == "POST" && path.ends_with("/oauth2/v2.0/token") {
            let tenant = path.trim_start_matches('/').split('/').next().unwrap_or("");
            let t = self.tenant_of(tenant);
            let (client, secret) = (req.form("client_id"), req.form("client_secret"));
            let app = self.apps.iter().find(|a| {
                t.is_some_and(|t| t.id == a.tenant_id)
                    && client.as_deref() == Some(a.client_id.as_str())
            });
            return Some(match (t, app) {
                (None, _) => Reply::json(
                    400,
                    &json!({"error": "invalid_tenant", "error_description": format!("AADSTS90002: Tenant '{tenant}' not found."), "error_codes": [90002]}),
                ),
                (_, None) => Reply::json(
                    400,
                    &json!({"error": "unauthorized_client", "error_description": "AADSTS700016: Application with identifier was not found in the directory.", "error_codes": [700_016]}),
                ),
                (_, Some(a)) if secret.as_deref() != Some(a.secret.as_str()) => Reply::json(
                    401,
                    &json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.", "error_codes": [7_000_215]}),
                ),
                (_, Some(a)) => Reply::json(
                    200,
                    &json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": format!("lab-token.{}.{}", a.tenant_id, a.client_id)}),
                ),
            });
        }
        let rest = path.strip_prefix("/v1.0/")?;
        match self.misbehave {
            Misbehave::EndlessGraph => return Some(Reply::Endless),
            Misbehave::GraphError(message) => {
                return Some(Reply::json(
                    500,
                    &json!({"error": {"code": "InternalServerError", "message": message}}),
                ));
            }
            _ => {}
        }
        if let Misbehave::Throttle { times, retry_after } = self.misbehave
            && self.throttled.fetch_add(1, Ordering::Relaxed) < times
        {
            return Some(Reply::Respond {
                status: 429,
                headers: vec![
                    ("Content-Type".into(), "application/json".into()),
                    ("Retry-After".into(), retry_after.to_string()),
                ],
                body: json!({"error": {"code": "TooManyRequests", "message": "Too many requests"}})
                    .to_string()
                    .into_bytes(),
            });
        }
        let token = req
            .header("authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
            .unwrap_or("");
        let app = self
            .apps
            .iter()
            .find(|a| token == format!("lab-token.{}.{}", a.tenant_id, a.client_id));
        let Some(app) = app else {
            return Some(Reply::json(
                401,
                &json!({"error": {"code": "InvalidAuthenticationToken", "message": "Access token validation failure. Invalid audience."}}),
            ));
        };
        if !app.domain_read_all {
            return Some(Reply::json(
                403,
                &json!({"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."}}),
            ));
        }
        let tenant = self.tenants.iter().find(|t| t.id == app.tenant_id)?;
        if let Some(reply) = self.tenant_resource(rest, req) {
            return Some(reply);
        }
        let domain_json = |name: &str, verified: bool| {
            let auth = tenant.domains.iter().find(|(d, _)| d == name).map_or(
                "Managed",
                |(_, a)| match a {
                    Auth::Managed => "Managed",
                    Auth::Federated { .. } => "Federated",
                },
            );
            json!({
                "id": name,
                "authenticationType": auth,
                "availabilityStatus": null,
                "isAdminManaged": true,
                "isDefault": false,
                "isInitial": name.ends_with(".onmicrosoft.com"),
                "isRoot": true,
                "isVerified": verified,
                "supportedServices": if verified { json!(["Email", "OfficeCommunicationsOnline"]) } else { json!([]) },
                "state": null
            })
        };
        if rest == "domains" {
            let mut value: Vec<serde_json::Value> = tenant
                .domains
                .iter()
                .map(|(d, _)| domain_json(d, true))
                .collect();
            value.extend(tenant.unverified.iter().map(|d| domain_json(d, false)));
            return Some(Reply::json(
                200,
                &json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#domains", "value": value}),
            ));
        }
        let (id, what) = rest.strip_prefix("domains/")?.split_once('/')?;
        let id = crate::percent::decode(id);
        let known = tenant.domains.iter().any(|(d, _)| *d == id) || tenant.unverified.contains(&id);
        if !known {
            return Some(Reply::json(
                404,
                &json!({"error": {"code": "Request_ResourceNotFound", "message": format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present.")}}),
            ));
        }
        let (txt, mx) = graph_records(&id);
        let value = match what {
            "verificationDnsRecords" => json!([
                {"@odata.type": "#microsoft.graph.domainDnsTxtRecord", "id": "aceff52c-06a5-447f-ac5f-256ad243cc5c", "isOptional": false, "label": id, "recordType": "Txt", "supportedService": "None", "ttl": 3600, "text": txt},
                {"@odata.type": "#microsoft.graph.domainDnsMxRecord", "id": "5fbde38c-0865-497f-82b1-126f596bcee9", "isOptional": false, "label": id, "recordType": "Mx", "supportedService": "None", "ttl": 3600, "mailExchange": format!("{}.msv1.invalid", txt.to_ascii_lowercase().replace("ms=", "")), "preference": 32767}
            ]),
            "serviceConfigurationRecords" => json!([
                {"@odata.type": "#microsoft.graph.domainDnsMxRecord", "id": "8f8a52e4-1d11-4ef5-8d39-9c1b5d2d7bdb", "isOptional": false, "label": id, "recordType": "Mx", "supportedService": "Email", "ttl": 3600, "mailExchange": mx, "preference": 0},
                {"@odata.type": "#microsoft.graph.domainDnsTxtRecord", "id": "a2f54f7d-0f8a-4b6a-bb3e-5d1d41f3e1d8", "isOptional": false, "label": id, "recordType": "Txt", "supportedService": "Email", "ttl": 3600, "text": "v=spf1 include:spf.protection.outlook.com -all"},
                {"@odata.type": "#microsoft.graph.domainDnsCnameRecord", "id": "0c8c0e3e-5b2e-4d4b-9f8e-3f1a6b2c7d9e", "isOptional": false, "label": format!("autodiscover.{id}"), "recordType": "CName", "supportedService": "Email", "ttl": 3600, "canonicalName": "autodiscover.outlook.com"}
            ]),
            _ => {
                return Some(Reply::json(
                    400,
                    &json!({"error": {"code": "BadRequest", "message": format!("Resource not found for the segment '{what}'.")}}),
                ));
            }
        };
        Some(Reply::json(
            200,
            &json!({"@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#domains('{id}')/{what}"), "value": value}),
        ))
    }
}

impl Directory {
    /// `organization` and the Global Administrator role's members, in Graph's documented shapes
    /// (learn.microsoft.com/graph/api/organization-get, …/directoryrole-list-members), with
    /// Graph's 403 bodies for a denied permission and a missing licence.
    fn tenant_resource(&self, rest: &str, req: &Request) -> Option<Reply> {
        let f = &self.facts;
        let known = [
            "organization",
            "directoryRoles",
            "policies/",
            "identity/conditionalAccess",
            "reports/authenticationMethods",
            "subscribedSkus",
            "users",
        ]
        .iter()
        .any(|p| rest.starts_with(p));
        if !known {
            return None;
        }
        if f.unlicensed.iter().any(|p| rest.starts_with(p.as_str())) {
            return Some(Reply::json(
                403,
                &json!({"error": {"code": "Authentication_RequestFromNonPremiumTenantOrB2CTenant", "message": "Neither tenant is B2C or tenant doesn't have premium license"}}),
            ));
        }
        if f.denied.iter().any(|p| rest.starts_with(p.as_str())) {
            return Some(Reply::json(
                403,
                &json!({"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."}}),
            ));
        }
        if rest == "organization" {
            let last = f.last_sync_minutes_ago.map(|m| {
                let at = std::time::SystemTime::now() - std::time::Duration::from_secs(m * 60);
                humantime::format_rfc3339_seconds(at).to_string()
            });
            return Some(Reply::json(
                200,
                &json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#organization", "value": [{
                    "id": LAB_TENANT_ID,
                    "displayName": "Contoso",
                    "onPremisesSyncEnabled": f.sync_enabled,
                    "onPremisesLastSyncDateTime": last,
                    "mobileDeviceManagementAuthority": f.mdm_authority,
                }]}),
            ));
        }
        let list = |context: &str, value: Vec<serde_json::Value>| {
            Reply::json(
                200,
                &json!({"@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#{context}"), "value": value}),
            )
        };
        match rest {
            "policies/identitySecurityDefaultsEnforcementPolicy" => {
                return Some(Reply::json(
                    200,
                    &json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#policies/identitySecurityDefaultsEnforcementPolicy/$entity",
                        "id": "00000000-0000-0000-0000-000000000005",
                        "displayName": "Security Defaults",
                        "description": "Security defaults is a set of basic identity security mechanisms recommended by Microsoft.",
                        "isEnabled": f.security_defaults}),
                ));
            }
            "identity/conditionalAccess/policies" => {
                return Some(list(
                    "identity/conditionalAccess/policies",
                    f.ca_policies.clone(),
                ));
            }
            "reports/authenticationMethods/userRegistrationDetails" => {
                let admins_only = req
                    .query("$filter")
                    .is_some_and(|q| q.replace(' ', "") == "isAdmineqtrue");
                let value = f
                    .registration
                    .iter()
                    .filter(|(_, admin, _)| *admin || !admins_only)
                    .map(|(upn, admin, registered)| json!({"id": upn, "userPrincipalName": upn, "userDisplayName": upn, "isAdmin": admin, "isMfaRegistered": registered, "isMfaCapable": registered, "methodsRegistered": if *registered { json!(["microsoftAuthenticatorPush"]) } else { json!([]) }}))
                    .collect();
                return Some(list(
                    "reports/authenticationMethods/userRegistrationDetails",
                    value,
                ));
            }
            "subscribedSkus" => return Some(list("subscribedSkus", f.skus.clone())),
            "users" => {
                let u = &f.users;
                let top = req
                    .query("$top")
                    .and_then(|t| t.parse::<usize>().ok())
                    .unwrap_or(u.page)
                    .clamp(1, 999);
                let from = req
                    .query("$skiptoken")
                    .and_then(|t| t.parse::<usize>().ok())
                    .unwrap_or(0);
                let to = (from + top).min(u.count);
                let value: Vec<serde_json::Value> = (from..to).map(|i| u.user(i)).collect();
                let mut body = json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users", "value": value});
                if to < u.count {
                    body["@odata.nextLink"] = json!(format!(
                        "https://{}/v1.0/users?$top={top}&$skiptoken={to}",
                        self.graph_host
                    ));
                }
                return Some(Reply::json(200, &body));
            }
            _ => {}
        }
        if rest.starts_with("directoryRoles(roleTemplateId=") && rest.ends_with("/members") {
            let value: Vec<serde_json::Value> = f
                .global_admins
                .iter()
                .map(|(kind, name)| {
                    if kind == "user" {
                        json!({"@odata.type": "#microsoft.graph.user", "id": name, "displayName": name, "userPrincipalName": name})
                    } else {
                        json!({"@odata.type": "#microsoft.graph.servicePrincipal", "id": name, "displayName": name})
                    }
                })
                .collect();
            return Some(Reply::json(
                200,
                &json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects", "value": value}),
            ));
        }
        Some(Reply::json(
            400,
            &json!({"error": {"code": "BadRequest", "message": format!("Resource not found for the segment '{rest}'.")}}),
        ))
    }
}

/// A running stand-in; it stops when dropped.
pub struct EntraStandIn {
    server: LabServer,
    /// The CA its certificate chains to (give it to the scanner with `--ca-file`).
    pub ca_pem: String,
}

impl EntraStandIn {
    /// Starts answering as `dir.login_host` on port 443 of a fresh loopback address.
    pub async fn start(dir: Directory) -> std::io::Result<Self> {
        let pki = Pki::with_names(
            "Tenant-Ready Lab Entra Root",
            "Tenant-Ready Lab Entra Issuing CA",
        )
        .map_err(std::io::Error::other)?;
        let mut spec = LeafSpec::good(&dir.login_host);
        if !dir.graph_host.is_empty() {
            spec.names.push(dir.graph_host.clone());
        }
        let leaf = pki.leaf(&spec).map_err(std::io::Error::other)?;
        let cfg = server_config(&leaf).map_err(std::io::Error::other)?;
        let dir = Arc::new(dir);
        let handler: Handler = Arc::new(move |req: &Request| dir.answer(req));
        let server = bind_443(Mode::HttpsHandler(cfg, handler)).await?;
        Ok(Self {
            server,
            ca_pem: pki.root_pem(),
        })
    }

    /// The loopback address it listens on (port 443).
    pub fn ip(&self) -> IpAddr {
        self.server.addr().ip()
    }

    /// A zone for `host`'s parent domain mapping the host to [`Self::ip`]
    /// (`login.microsoftonline.com` → zone `microsoftonline.com`, `login IN A 127.64.…`).
    pub fn zone(&self, host: &str) -> (String, String) {
        let (label, parent) = host.split_once('.').unwrap_or((host, ""));
        (
            parent.to_owned(),
            format!(
                "$TTL 60\n@ IN SOA ns1.{parent}. h.{parent}. 1 3600 600 86400 60\n@ IN NS ns1.{parent}.\nns1 IN A 127.0.0.1\n{label} IN A {}\n",
                self.ip()
            ),
        )
    }
}

/// Loopback addresses handed out in this process: 127.64.<pid>.<n>, so two processes (a test
/// binary and the demo) rarely meet, and a taken address is skipped.
static NEXT: AtomicU32 = AtomicU32::new(1);

async fn bind_443(mode: Mode) -> std::io::Result<LabServer> {
    let pid = std::process::id();
    let mut last = None;
    for _ in 0..64 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let ip = Ipv4Addr::new(
            127,
            64 + u8::try_from((pid >> 8) % 64).unwrap_or(0),
            u8::try_from(pid % 256).unwrap_or(0),
            u8::try_from(n % 254 + 1).unwrap_or(1),
        );
        match LabServer::start(SocketAddr::new(IpAddr::V4(ip), 443), mode.clone()).await {
            Ok(s) => return Ok(s),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => last = Some(e),
            Err(e) => {
                return Err(std::io::Error::new(
                    e.kind(),
                    format!(
                        "cannot listen on {ip}:443 for the Microsoft Entra ID stand-in ({e}); the lab needs to bind port 443 on loopback (root, CAP_NET_BIND_SERVICE, or net.ipv4.ip_unprivileged_port_start=443)"
                    ),
                ));
            }
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free loopback address")))
}

/// The simulated staging tenant's view from Microsoft Entra ID: contoso.test is verified in it,
/// federated to its AD FS (`sts.contoso.test`, the lab's `[endpoints] adfs`);
/// fabrikam.test in another tenant (a subsidiary's trial); northwind.test in none; tailspin.test
/// is federated to an STS tenant.toml does not list.
pub fn lab_directory() -> Directory {
    Directory {
        login_host: "login.microsoftonline.com".into(),
        tenants: vec![
            Tenant {
                id: LAB_TENANT_ID.into(),
                domains: vec![
                    ("contoso.onmicrosoft.com".into(), Auth::Managed),
                    (
                        "contoso.test".into(),
                        Auth::Federated {
                            sts: "sts.contoso.test".into(),
                            brand: "Contoso".into(),
                        },
                    ),
                    (
                        "tailspin.test".into(),
                        Auth::Federated {
                            sts: "sts.tailspin.test".into(),
                            brand: "Tailspin Toys".into(),
                        },
                    ),
                ],
                unverified: vec!["northwind.test".into()],
            },
            Tenant {
                id: "9b0e7c55-3d8f-4e2a-8c1b-2f4a6d8e0b21".into(),
                domains: vec![
                    ("fabrikamtrial.onmicrosoft.com".into(), Auth::Managed),
                    ("fabrikam.test".into(), Auth::Managed),
                ],
                unverified: vec![],
            },
        ],
        misbehave: Misbehave::No,
        graph_host: "graph.microsoft.com".into(),
        apps: vec![App {
            tenant_id: LAB_TENANT_ID.into(),
            client_id: LAB_CLIENT_ID.into(),
            secret: LAB_CLIENT_SECRET.into(),
            domain_read_all: true,
        }],
        throttled: Arc::default(),
        log: Arc::default(),
        // The demo's tenant: the last sync two days ago, one Global Administrator, MFA for
        // administrators only in a report-only policy, Teams still being provisioned, and a
        // few users without a usage location (seats for the 1,000 users of tenant.toml, 212
        // of them assigned so far).
        facts: TenantFacts {
            last_sync_minutes_ago: Some(2 * 24 * 60),
            global_admins: vec![("user".into(), "admin@contoso.onmicrosoft.com".into())],
            security_defaults: false,
            ca_policies: vec![ca_policy(
                "Require MFA for administrators",
                "enabledForReportingButNotEnforced",
                false,
                &[GLOBAL_ADMIN],
            )],
            registration: vec![("admin@contoso.onmicrosoft.com".into(), true, false)],
            skus: vec![
                sku(
                    "ENTERPRISEPACK",
                    "Enabled",
                    1000,
                    212,
                    &[
                        ("EXCHANGE_S_ENTERPRISE", "Success"),
                        ("TEAMS1", "PendingActivation"),
                        ("SHAREPOINTENTERPRISE", "Success"),
                    ],
                ),
                sku("EMS", "Enabled", 1000, 212, &[("INTUNE_A", "Success")]),
            ],
            users: LabUsers {
                without_location: 3,
                with_errors: vec![7],
                ..LabUsers::clean(212)
            },
            ..TenantFacts::default()
        },
    }
}

/// The lab tenant's id.
pub const LAB_TENANT_ID: &str = "4f1d2b8e-0c4a-4a34-9a55-6c2a7d9e1f10";
/// The lab tenant's app registration (client id) for `--graph`.
pub const LAB_CLIENT_ID: &str = "0a7c1e52-6f3b-4d8a-9e21-5b4c3d2e1f00";
/// Its client secret (a lab value; never a real one).
pub const LAB_CLIENT_SECRET: &str = "lab~secret.not-a-real-one";
