//! A loopback stand-in for Microsoft Entra ID's public endpoints (`login.microsoftonline.com`):
//! OpenID discovery per domain and home realm discovery, answering in the documented shapes from a
//! small directory of tenants, and misbehaving on request (stall, malformed JSON, an HTTP error).
//!
//! It listens on port 443 of its own loopback address (127.64.x.y, one per stand-in, so parallel
//! tests never share one), with a certificate for the login host from a lab CA: the scanner
//! reaches it the way it reaches Microsoft, through its resolver (`--nameserver`, a zone mapping
//! the login host to that address) and its trust store (`--ca-file`), with no special switch.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
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
            Misbehave::No => {}
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
        let leaf = pki
            .leaf(&LeafSpec::good(&dir.login_host))
            .map_err(std::io::Error::other)?;
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

    /// A zone for `login_host`'s parent domain mapping the login host to [`Self::ip`]
    /// (`login.microsoftonline.com` → zone `microsoftonline.com`, `login IN A 127.64.…`).
    pub fn zone(&self, login_host: &str) -> (String, String) {
        let (label, parent) = login_host.split_once('.').unwrap_or((login_host, ""));
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
            },
            Tenant {
                id: "9b0e7c55-3d8f-4e2a-8c1b-2f4a6d8e0b21".into(),
                domains: vec![
                    ("fabrikamtrial.onmicrosoft.com".into(), Auth::Managed),
                    ("fabrikam.test".into(), Auth::Managed),
                ],
            },
        ],
        misbehave: Misbehave::No,
    }
}

/// The lab tenant's id.
pub const LAB_TENANT_ID: &str = "4f1d2b8e-0c4a-4a34-9a55-6c2a7d9e1f10";
