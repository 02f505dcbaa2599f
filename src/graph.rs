//! Microsoft Graph, optional (`--graph`, `[tenant] graph = true`): the tenant's own list of
//! domains and the exact DNS records it expects for each, read with an app registration's client
//! credentials (the Azure SDK variables `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
//! `AZURE_CLIENT_SECRET`; application permission `Domain.Read.All`).
//!
//! * token: `POST https://<login>/<tenant>/oauth2/v2.0/token` (client credentials, scope
//!   `https://<graph>/.default`) — learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
//! * `GET /v1.0/domains` — learn.microsoft.com/graph/api/domain-list
//! * `GET /v1.0/domains/{id}/verificationDnsRecords` — learn.microsoft.com/graph/api/domain-list-verificationdnsrecords
//! * `GET /v1.0/domains/{id}/serviceConfigurationRecords` — learn.microsoft.com/graph/api/domain-list-serviceconfigurationrecords
//!
//! The secret and the token are never stored in results, reports or logs: [`Credentials`] has
//! no `Debug` of its secret, and errors name permissions, not values. A 429 waits for
//! `Retry-After` when that fits in the time left, else it is an error saying so.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::endpoint::Endpoint;
use crate::probe::ProbeCx;
pub use crate::probe::graph_get::{Next, Session, parse_body, retry_wait};
use crate::probe::graph_get::{base, client, error_of, one_line, read_json};

/// Client credentials of an app registration.
#[derive(Clone)]
pub struct Credentials {
    /// Directory (tenant) id or a verified domain of the tenant.
    pub tenant: String,
    /// Application (client) id.
    pub client_id: String,
    secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("tenant", &self.tenant)
            .field("client_id", &self.client_id)
            .field("secret", &"***")
            .finish()
    }
}

/// The environment variables the Azure SDKs use, in order: tenant, client, secret.
pub const ENV_VARS: [&str; 3] = ["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"];

impl Credentials {
    /// From the `AZURE_*` variables; the error names every missing one.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let values: Vec<Option<String>> = ENV_VARS
            .iter()
            .map(|k| get(k).filter(|v| !v.trim().is_empty()))
            .collect();
        let missing: Vec<&str> = ENV_VARS
            .iter()
            .zip(&values)
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| *k)
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "--graph reads an app registration's client credentials from {}; set {} (the app needs the Microsoft Graph application permission Domain.Read.All, admin-consented)",
                ENV_VARS.join(", "),
                missing.join(", ")
            ));
        }
        let mut v = values.into_iter().flatten();
        Ok(Self {
            tenant: v.next().unwrap_or_default(),
            client_id: v.next().unwrap_or_default(),
            secret: v.next().unwrap_or_default(),
        })
    }

    /// The secret, for the token request only.
    fn secret(&self) -> &str {
        &self.secret
    }
}

// The domain as Graph lists it is tenant data the settings and probes carry: it lives with the
// tenant's vocabulary, below both of them.
pub use crate::tenant::GraphDomain;

/// A DNS record Graph says the domain needs (`domainDnsRecord` and its subtypes).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphRecord {
    /// `Txt`, `Mx`, `CName`, `Srv`.
    #[serde(default)]
    pub record_type: String,
    /// The record's owner name.
    #[serde(default)]
    pub label: String,
    /// The service it serves (`Email`, `OfficeCommunicationsOnline`, `None` for verification).
    #[serde(default)]
    pub supported_service: Option<String>,
    /// Optional per Microsoft.
    #[serde(default)]
    pub is_optional: bool,
    /// TXT text.
    #[serde(default)]
    pub text: Option<String>,
    /// MX host.
    #[serde(default)]
    pub mail_exchange: Option<String>,
    /// MX preference.
    #[serde(default)]
    pub preference: Option<u32>,
    /// CNAME target.
    #[serde(default)]
    pub canonical_name: Option<String>,
    /// SRV target.
    #[serde(default)]
    pub name_target: Option<String>,
}

/// Everything Graph said about the tenant's domains.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GraphView {
    /// Every domain of the tenant.
    pub domains: Vec<GraphDomain>,
    /// Per scanned domain: verification records and service configuration records.
    pub records: Vec<(String, Vec<GraphRecord>, Vec<GraphRecord>)>,
}

impl GraphView {
    /// The domain's entry, if the tenant has it.
    pub fn domain(&self, name: &str) -> Option<&GraphDomain> {
        self.domains
            .iter()
            .find(|d| d.id.eq_ignore_ascii_case(name))
    }

    fn records(&self, name: &str) -> Option<&(String, Vec<GraphRecord>, Vec<GraphRecord>)> {
        self.records.iter().find(|r| r.0.eq_ignore_ascii_case(name))
    }

    /// The `MS=ms…` TXT value Graph expects for verification.
    pub fn verification(&self, name: &str) -> Option<String> {
        self.records(name)?
            .1
            .iter()
            .find(|r| r.record_type.eq_ignore_ascii_case("Txt"))
            .and_then(|r| r.text.clone())
    }

    /// The MX host Graph expects for Exchange Online.
    pub fn mx(&self, name: &str) -> Option<String> {
        self.records(name)?
            .2
            .iter()
            .find(|r| r.record_type.eq_ignore_ascii_case("Mx"))
            .and_then(|r| r.mail_exchange.clone())
            .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
    }
}

/// Where to ask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hosts {
    /// Microsoft Entra ID sign-in host (`{cloud.login}`).
    pub login: Endpoint,
    /// Microsoft Graph host (`{cloud.graph}`).
    pub graph: Endpoint,
}

/// A Graph conversation (one token, one client per host).
pub struct Graph<'a> {
    cx: &'a ProbeCx,
    hosts: Hosts,
    token: String,
    deadline: Instant,
}

/// The access token in a token endpoint's answer, or why there is none (pure).
pub fn token_of(status: u16, body: &serde_json::Value) -> Result<String, String> {
    body.get("access_token")
        .and_then(serde_json::Value::as_str)
        .filter(|_| status == 200)
        .map(str::to_owned)
        .ok_or_else(|| {
            format!(
                "Microsoft Entra ID refused the app's client credentials (HTTP {status}, {}): check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (a secret expires; create a new one under the app's Certificates & secrets)",
                error_of(body)
            )
        })
}

/// Reads a Graph answer to `GET path` (pure: `now` and `deadline` are given; the fuzz target
/// `graph_answers` drives it with any status, header and body).
pub fn next_step(
    path: &str,
    status: u16,
    retry_after: Option<&str>,
    body: serde_json::Value,
    now: Instant,
    deadline: Instant,
) -> Next {
    match status {
        200 => Next::Done(body),
        401 => Next::Failed(format!(
            "Microsoft Graph refused the token for GET {path} (HTTP 401, {}): the app registration's credentials are not accepted by Graph",
            error_of(&body)
        )),
        403 => Next::Failed(format!(
            "Microsoft Graph denied GET {path} (HTTP 403, {}): the app needs the application permission Domain.Read.All with admin consent (Entra admin center > App registrations > API permissions > Grant admin consent)",
            error_of(&body)
        )),
        429 => {
            let wait = retry_wait(retry_after);
            // A Retry-After from the network can be any number: no arithmetic on it may
            // overflow (u64::MAX seconds is past the end of `Instant`).
            if now.checked_add(wait).is_none_or(|at| at >= deadline) {
                Next::Failed(format!(
                    "Microsoft Graph throttled GET {path} (HTTP 429) and asks to retry after {}s, beyond the time left for this scan (raise --timeout)",
                    wait.as_secs()
                ))
            } else {
                Next::RetryAfter(wait)
            }
        }
        _ => Next::Failed(format!(
            "Microsoft Graph answered HTTP {status} for GET {path} ({})",
            error_of(&body)
        )),
    }
}

/// The `value` list of a Graph answer, as `T`s (pure). The error is on one line: serde quotes
/// the offending value, which is Graph's (or whoever answered) text.
pub fn values<T: serde::de::DeserializeOwned>(
    body: &serde_json::Value,
    what: &str,
) -> Result<Vec<T>, String> {
    let list = body
        .get("value")
        .cloned()
        .ok_or_else(|| format!("{what}: the answer has no `value` list"))?;
    serde_json::from_value(list)
        .map_err(|e| one_line(&format!("{what}: not the documented shape ({e})")))
}

impl<'a> Graph<'a> {
    /// Gets a token with the client credentials; everything must finish within `budget`.
    pub async fn connect(
        cx: &'a ProbeCx,
        hosts: Hosts,
        creds: &Credentials,
        budget: Duration,
    ) -> Result<Self, String> {
        let deadline = Instant::now() + budget;
        let http = client(cx, &hosts.login).await?;
        let url = format!("{}/{}/oauth2/v2.0/token", base(&hosts.login), creds.tenant);
        let scope = format!("{}/.default", base(&hosts.graph));
        let form = [
            ("client_id", creds.client_id.as_str()),
            ("client_secret", creds.secret()),
            ("scope", scope.as_str()),
            ("grant_type", "client_credentials"),
        ];
        let body: String = form
            .iter()
            .map(|(k, v)| format!("{k}={}", crate::percent::encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let resp = http
            .post(&url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "the token request to {} failed: {}",
                    hosts.login.host,
                    crate::probe::http_error_chain(&e)
                )
            })?;
        let (status, _, body) = read_json(resp)
            .await
            .map_err(|e| format!("the token endpoint answered: {e}"))?;
        Ok(Self {
            cx,
            hosts,
            token: token_of(status, &body)?,
            deadline,
        })
    }

    /// What the scan keeps for the tenant checks.
    pub fn session(&self) -> Session {
        Session::new(self.hosts.graph.clone(), self.token.clone(), self.deadline)
    }

    /// GETs a Graph path (`/v1.0/domains`), honouring 429 Retry-After within the deadline.
    async fn get(&self, path: &str) -> Result<serde_json::Value, String> {
        let (status, body) =
            crate::probe::graph_get::get_status(self.cx, &self.session(), path, self.deadline)
                .await?;
        // A 429 was waited out (or refused) by `get_status`: what is left is 200 or a failure.
        match next_step(path, status, None, body, Instant::now(), self.deadline) {
            Next::Done(body) => Ok(body),
            Next::Failed(why) => Err(why),
            Next::RetryAfter(_) => Err(format!("Microsoft Graph throttled GET {path} (HTTP 429)")),
        }
    }

    /// The tenant's domains, and the records of those in `scan` (all when empty).
    pub async fn view(&self, scan: &[String]) -> Result<GraphView, String> {
        let domains: Vec<GraphDomain> =
            values(&self.get("/v1.0/domains").await?, "GET /v1.0/domains")?;
        let mut records = Vec::new();
        for d in &domains {
            if !scan.is_empty() && !scan.iter().any(|s| s.eq_ignore_ascii_case(&d.id)) {
                continue;
            }
            let id = crate::percent::encode(&d.id);
            let verification = values(
                &self
                    .get(&format!("/v1.0/domains/{id}/verificationDnsRecords"))
                    .await?,
                "verificationDnsRecords",
            )?;
            let service = values(
                &self
                    .get(&format!("/v1.0/domains/{id}/serviceConfigurationRecords"))
                    .await?,
                "serviceConfigurationRecords",
            )?;
            records.push((d.id.to_ascii_lowercase(), verification, service));
        }
        Ok(GraphView { domains, records })
    }
}

/// The Microsoft Entra ID and Microsoft Graph hosts of the tenant's cloud: the client secret and
/// the token go there, so they come from the built-in catalogue only (`checks/clouds.toml` as
/// embedded), never from a check pack (`--checks`), whatever the loaded catalogue says.
pub fn graph_hosts(cloud: crate::tenant::Cloud) -> Result<Hosts, String> {
    let host = |key: &str| {
        let v = crate::catalog::pinned_host(cloud, key).ok_or_else(|| {
            format!(
                "the built-in clouds.toml has no `{key}` for cloud {}",
                cloud.as_str()
            )
        })?;
        Endpoint::parse(&v, 443).map_err(|e| format!("clouds.toml {key}: {e}"))
    };
    Ok(Hosts {
        login: host("login")?,
        graph: host("graph")?,
    })
}
