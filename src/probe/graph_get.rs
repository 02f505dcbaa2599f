//! Microsoft Graph over HTTPS, as every Graph reader of the scan asks it: the client (resolved and
//! trusted like any endpoint), answers read chunk by chunk up to 4 MB, errors on one line, 429
//! waited out within the deadline, next links followed only on the Graph host. The domain view
//! (`crate::graph`) and the checks that read the tenant itself (`entra.directory-sync`…) both go
//! through here. A 403 or a licence error makes a tenant check `skip`, naming what it needs.

use std::time::{Duration, Instant};

use super::connect::addresses;
use super::{ProbeCx, ProbeError};
use crate::endpoint::Endpoint;

/// What a scan keeps of its Graph conversation for the tenant checks: the Graph host, the token
/// (never shown: `Debug` hides it) and the deadline for throttling waits.
#[derive(Clone)]
pub struct Session {
    /// The Graph host of the tenant's cloud (pinned: `crate::graph::graph_hosts`).
    pub graph: Endpoint,
    token: String,
    /// When throttling waits must end.
    pub deadline: Instant,
    /// `--redact-users`: people's names become hashes salted with this (the tenant id), stable
    /// from one scan of the tenant to the next so that `report diff` still matches them.
    redact: Option<String>,
    /// The one pass over the tenant's users that `entra.licences` and `entra.directory-sync`
    /// share (100,000 users are read once, not once per check).
    pub(crate) users:
        tokio::sync::OnceCell<Result<std::sync::Arc<super::graph_users::UsersSummary>, ProbeError>>,
}

impl Session {
    /// A session for `token` on `graph`.
    pub fn new(graph: Endpoint, token: String, deadline: Instant) -> Self {
        Self {
            graph,
            token,
            deadline,
            redact: None,
            users: tokio::sync::OnceCell::new(),
        }
    }

    /// Names of people in the evidence become stable hashes salted with `salt`.
    #[must_use]
    pub fn redacting(mut self, salt: &str) -> Self {
        self.redact = Some(salt.to_ascii_lowercase());
        self
    }

    /// A person's name (a user principal name, an account's display name) as the report may show
    /// it: itself, or with `--redact-users` `user-` and 12 hex digits of SHA-256(salt, name), the
    /// same for the same name (case-insensitively) in every scan of the tenant.
    pub fn person(&self, name: &str) -> String {
        match &self.redact {
            None => name.to_owned(),
            Some(salt) => redact(salt, name),
        }
    }
}

/// `user-` and 12 hex digits of SHA-256 over the salt, a NUL and the lower-cased name (pure).
pub fn redact(salt: &str, name: &str) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(salt.as_bytes());
    ctx.update(&[0]);
    ctx.update(name.to_lowercase().as_bytes());
    let digest = ctx.finish();
    let mut out = String::from("user-");
    for b in &digest.as_ref()[..6] {
        use std::fmt::Write as _;
        let _ = write!(out, "{b:02x}");
    }
    out
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("graph", &self.graph.host)
            .field("token", &"***")
            .finish_non_exhaustive()
    }
}

/// Pages of one Graph list followed at most (999 items a page: about a million objects).
pub const MAX_PAGES: usize = 1_000;

/// `https://host` (or `https://host:port`).
pub fn base(ep: &Endpoint) -> String {
    if ep.port == 443 {
        format!("https://{}", ep.host)
    } else {
        format!("https://{ep}")
    }
}

/// An HTTPS client for `ep`, resolved and trusted as every endpoint is.
pub async fn client(cx: &ProbeCx, ep: &Endpoint) -> Result<reqwest::Client, String> {
    let ips = addresses(cx, ep)
        .await
        .map_err(|e| e.to_string())?
        .map_err(|why| {
            format!(
                "cannot reach {}: {}",
                ep.host,
                why.render(crate::output::Lang::En)
            )
        })?;
    crate::probe::connect::https_client(cx, ep, &ips).map_err(|e| e.to_string())
}

/// Text from an answer on one line, at most 300 characters: a message with newlines could
/// otherwise print a line of its own choosing after ours.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(300));
    for word in s.split(char::is_control).flat_map(str::split_whitespace) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
        if out.chars().count() > 300 {
            out = out.chars().take(300).collect();
            out.push('…');
            break;
        }
    }
    out
}

/// The error code and message of a Graph or token error body, on one line.
pub fn error_of(body: &serde_json::Value) -> String {
    if let Some(e) = body.get("error") {
        if let Some(code) = e.get("code").and_then(serde_json::Value::as_str) {
            let msg = e
                .get("message")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("");
            return one_line(&format!("{code}: {msg}"));
        }
        if let Some(code) = e.as_str() {
            let desc = body
                .get("error_description")
                .and_then(serde_json::Value::as_str)
                .and_then(|d| d.lines().next())
                .unwrap_or("");
            return one_line(&format!("{code}: {desc}"));
        }
    }
    "no error details".into()
}

/// The largest Graph or token answer read.
const MAX_ANSWER: usize = 4 << 20;

/// An answer's status, `Retry-After` and JSON body, read chunk by chunk and given up past
/// [`MAX_ANSWER`] bytes (a flood is never held whole).
pub async fn read_json(
    mut resp: reqwest::Response,
) -> Result<(u16, Option<String>, serde_json::Value), String> {
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut bytes = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| crate::probe::http_error_chain(&e))?
    {
        if bytes.len() + chunk.len() > MAX_ANSWER {
            return Err("the answer is larger than 4 MB".into());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok((status, retry_after, parse_body(status, &bytes)?))
}

/// An answer's body as JSON (pure).
pub fn parse_body(status: u16, bytes: &[u8]) -> Result<serde_json::Value, String> {
    serde_json::from_slice(bytes)
        .map_err(|e| one_line(&format!("HTTP {status}, and the body is not JSON ({e})")))
}

/// What one Graph answer means for the request.
#[derive(Debug)]
pub enum Next {
    /// The answer (HTTP 200).
    Done(serde_json::Value),
    /// Throttled (429): ask again after this long, which fits before the deadline.
    RetryAfter(Duration),
    /// Why the request failed, on one line.
    Failed(String),
}

/// How long a 429's `Retry-After` asks to wait: whole seconds (the form Graph sends), else 1 s.
pub fn retry_wait(retry_after: Option<&str>) -> Duration {
    retry_after
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map_or(Duration::from_secs(1), Duration::from_secs)
}

/// GETs a Graph path or an `@odata.nextLink`: the status and body of any answer but a 429, which
/// is waited out while its `Retry-After` fits before `deadline` (the one retry loop of every
/// Graph reader). A URL is followed only on the Graph host, over HTTPS: the token goes nowhere
/// else.
pub async fn get_status(
    cx: &ProbeCx,
    session: &Session,
    path_or_url: &str,
    deadline: Instant,
) -> Result<(u16, serde_json::Value), String> {
    let base = base(&session.graph);
    let url = if path_or_url.starts_with('/') {
        format!("{base}{path_or_url}")
    } else if path_or_url
        .strip_prefix(&base)
        .is_some_and(|rest| rest.starts_with('/'))
    {
        path_or_url.to_owned()
    } else {
        return Err(format!(
            "Microsoft Graph sent a next link off its host ({}): not followed",
            one_line(path_or_url)
        ));
    };
    let path = url[base.len()..].to_owned();
    let http = client(cx, &session.graph).await?;
    loop {
        let resp = http
            .get(&url)
            .bearer_auth(&session.token)
            .send()
            .await
            .map_err(|e| format!("GET {path}: {}", super::http_error_chain(&e)))?;
        let (status, retry_after, body) = read_json(resp)
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        if status != 429 {
            return Ok((status, body));
        }
        // No arithmetic on a time from the network may overflow (u64::MAX seconds is past the
        // end of `Instant`).
        let wait = retry_wait(retry_after.as_deref());
        if Instant::now()
            .checked_add(wait)
            .is_none_or(|at| at >= deadline)
        {
            return Err(format!(
                "Microsoft Graph throttled GET {path} (HTTP 429) and asks to retry after {}s, beyond the time left for this scan (raise --timeout)",
                wait.as_secs()
            ));
        }
        tokio::time::sleep(wait).await;
    }
}

/// Graph error codes that mean the tenant lacks the licence a feature needs (Entra ID P1/P2).
const LICENCE_CODES: &[&str] = &[
    "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
    "Authentication_UnsupportedLicense",
];

/// What a tenant check makes of a non-200 answer: a `skip` for a missing permission or licence,
/// an `error` for anything else.
pub fn refusal(path: &str, status: u16, body: &serde_json::Value, permission: &str) -> ProbeError {
    let code = body
        .get("error")
        .and_then(|e| e.get("code"))
        .and_then(serde_json::Value::as_str)
        .unwrap_or("");
    if LICENCE_CODES.contains(&code) {
        return ProbeError::NotApplicable {
            kind: "licence",
            message: text!(
                "skip.graph-licence",
                path = path.to_owned(),
                error = error_of(body)
            ),
        };
    }
    if status == 403 {
        return ProbeError::NotApplicable {
            kind: "permission",
            message: text!(
                "skip.graph-permission",
                permission = permission.to_owned(),
                path = path.to_owned()
            ),
        };
    }
    ProbeError::net(
        "graph",
        text!(
            "graph.failed",
            path = path.to_owned(),
            status = status.to_string(),
            error = error_of(body)
        ),
    )
}

/// GETs `path` for a tenant check that needs `permission`, following every next link (up to
/// [`MAX_PAGES`]) and handing each page's items (`value`, or the one object) to `each`: a list of
/// 100,000 users is never held whole, only one page of it.
pub async fn each_page(
    cx: &ProbeCx,
    path: &str,
    permission: &str,
    mut each: impl FnMut(&[serde_json::Value]),
) -> Result<(), ProbeError> {
    let Some(session) = cx.graph.as_deref() else {
        return Err(ProbeError::NotApplicable {
            kind: "graph",
            message: text!("skip.no-graph"),
        });
    };
    let mut next = Some(path.to_owned());
    for _ in 0..MAX_PAGES {
        let Some(url) = next.take() else { break };
        // A tenant check runs after the domains were read: it may wait at least a minute for
        // a throttled answer (its own timeout is the backstop).
        let deadline = session
            .deadline
            .max(Instant::now() + Duration::from_secs(60));
        let (status, body) = get_status(cx, session, &url, deadline)
            .await
            .map_err(|e| ProbeError::net("graph", text!("graph.unreachable", error = e)))?;
        if status != 200 {
            return Err(refusal(path, status, &body, permission));
        }
        match body.get("value") {
            Some(serde_json::Value::Array(list)) => each(list),
            _ => each(std::slice::from_ref(&body)),
        }
        next = body
            .get("@odata.nextLink")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
    }
    Ok(())
}

/// [`each_page`], collecting every item: for lists Microsoft keeps short (roles, policies, SKUs).
pub async fn read(
    cx: &ProbeCx,
    path: &str,
    permission: &str,
) -> Result<Vec<serde_json::Value>, ProbeError> {
    let mut items = Vec::new();
    each_page(cx, path, permission, |page| {
        items.extend(page.iter().cloned());
    })
    .await?;
    Ok(items)
}

/// A string field of a Graph object, cut to 256 characters (a name is evidence, not a payload).
pub fn field(v: &serde_json::Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(serde_json::Value::as_str)
        .map(|s| s.chars().take(256).collect())
}
