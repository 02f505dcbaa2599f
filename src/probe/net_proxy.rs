//! `net-proxy`: is a proxy in the path of Optimize traffic? Two observations, as Microsoft's
//! connectivity test makes them: the proxy configuration of this machine (the `*_PROXY`
//! environment variables every CLI client honours), and a plain HTTP request to Optimize hosts
//! made the way a client would (through that configuration) — a `407`, a `403` from a proxy, or
//! proxy headers (`Via`, `X-Cache`, a proxy `Server`) show a proxy whether configured or transparent.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ProbeCx, ProbeError};
use crate::endpoint::Endpoint;
use crate::endpoint_sets::{Category, EndpointSet, PortPick, set_hosts};
use crate::outcome::{Finding, Judgement, Status};
use crate::pattern::text_matches;

use crate::secrets::{PROXY_VARS, mask_url as mask};

/// `[check.probe]` of a `net-proxy` check.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetProxySpec {
    /// Categories whose hosts are requested (Optimize: proxies must be bypassed).
    pub categories: Vec<Category>,
    /// At most this many hosts.
    pub max_hosts: usize,
    /// Response headers that only proxies add (lower-case).
    pub proxy_headers: Vec<String>,
    /// `Server` values of proxies (`*` wildcards, case-insensitive).
    pub proxy_servers: Vec<String>,
}

/// One host.
#[derive(Clone, Debug)]
pub struct NetProxyTask {
    /// host:80 (or the set's only port).
    pub endpoint: Endpoint,
    /// Header names that betray a proxy.
    pub proxy_headers: Vec<String>,
    /// Server patterns of proxies.
    pub proxy_servers: Vec<String>,
}

impl NetProxySpec {
    /// The hosts to request: plain HTTP on 80 shows proxy headers without TLS in the way.
    pub fn plan(&self, sets: &[EndpointSet], areas: &[String]) -> Vec<NetProxyTask> {
        set_hosts(
            sets,
            &self.categories,
            Some(areas),
            self.max_hosts,
            PortPick::PreferElseFirst(80),
        )
        .into_iter()
        .map(|h| NetProxyTask {
            endpoint: h.endpoint,
            proxy_headers: self.proxy_headers.clone(),
            proxy_servers: self.proxy_servers.clone(),
        })
        .collect()
    }
}

/// What was seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NetProxyEvidence {
    /// The URL requested.
    pub url: String,
    /// Proxy environment variables set on this machine (credentials masked).
    pub proxy_env: BTreeMap<String, String>,
    /// HTTP status, when a response came.
    pub http_status: Option<u16>,
    /// Response headers that identify a proxy, and `Server`.
    pub headers: BTreeMap<String, String>,
    /// The request failed (connection refused, reset…).
    pub request_error: Option<String>,
}

/// Requests `http://host:port/` the way a client on this machine would.
pub async fn observe(t: &NetProxyTask, cx: &ProbeCx) -> Result<NetProxyEvidence, ProbeError> {
    let url = format!("http://{}/", t.endpoint);
    let proxy_env: BTreeMap<String, String> = PROXY_VARS
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| ((*k).to_owned(), mask(&v))))
        .collect();
    let mut ev = NetProxyEvidence {
        url: url.clone(),
        proxy_env,
        http_status: None,
        headers: BTreeMap::new(),
        request_error: None,
    };
    // Resolve through the scan's resolver (so --nameserver applies); when that finds nothing,
    // the request goes out by name (a proxy in the path resolves it itself).
    let ips = if t.endpoint.ip().is_none() {
        match super::connect::addresses(cx, &t.endpoint).await {
            Ok(Ok(ips)) => ips,
            _ => Vec::new(),
        }
    } else {
        Vec::new()
    };
    let client = super::connect::https_client(cx, &t.endpoint, &ips)?;
    match client.get(&url).send().await {
        Ok(resp) => {
            ev.http_status = Some(resp.status().as_u16());
            for (name, value) in resp.headers() {
                let n = name.as_str().to_ascii_lowercase();
                if n == "server" || n == "proxy-authenticate" || t.proxy_headers.contains(&n) {
                    ev.headers
                        .insert(n, value.to_str().unwrap_or("(binary)").to_owned());
                }
            }
        }
        Err(e) if e.is_timeout() => {
            return Err(ProbeError::Net {
                kind: "timeout",
                message: text!(
                    "proxy.timeout",
                    url = &url,
                    timeout = humantime::format_duration(cx.step).to_string()
                ),
            });
        }
        Err(e) => {
            let mut msg = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                msg = format!("{msg}: {s}");
                src = s.source();
            }
            ev.request_error = Some(msg);
        }
    }
    Ok(ev)
}

/// Pure.
pub fn judge(t: &NetProxyTask, e: &NetProxyEvidence) -> Judgement {
    let host = &t.endpoint.host;
    let expected = vec![text!("proxy.expected", host = host)];
    let server = e.headers.get("server").cloned().unwrap_or_default();
    let proxy_server = t
        .proxy_servers
        .iter()
        .any(|p| text_matches(&p.to_ascii_lowercase(), &server.to_ascii_lowercase()));
    let marks: Vec<String> = e
        .headers
        .iter()
        .filter(|(k, _)| t.proxy_headers.contains(k) || (k.as_str() == "server" && proxy_server))
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    let configured: Vec<String> = e
        .proxy_env
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("no_proxy"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let bypassed = e
        .proxy_env
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("no_proxy"))
        .any(|(_, v)| {
            v.split(',')
                .map(str::trim)
                .any(|n| n == "*" || host.ends_with(n.trim_start_matches('*')) && !n.is_empty())
        });
    let mut f = Vec::new();
    match e.http_status {
        Some(407) => f.push(Finding::fail(text!(
            "proxy.auth",
            host = host,
            challenge = e
                .headers
                .get("proxy-authenticate")
                .map(|a| format!(", Proxy-Authenticate: {a}"))
                .unwrap_or_default()
        ))),
        Some(403) if !marks.is_empty() => f.push(Finding::fail(text!(
            "proxy.refused",
            host = host,
            marks = marks.join(", ")
        ))),
        _ if !marks.is_empty() => f.push(Finding::warn(text!(
            "proxy.in-path",
            host = host,
            marks = marks.join(", ")
        ))),
        _ => {}
    }
    if !configured.is_empty() && !bypassed && f.is_empty() {
        f.push(Finding::warn(text!(
            "proxy.configured",
            host = host,
            proxies = configured.join(", ")
        )));
    }
    if let (Some(err), true) = (&e.request_error, f.is_empty()) {
        // No proxy seen, but no answer to judge either.
        return Judgement::new(
            Status::Warn,
            text!("proxy.request-failed", host = host, error = err),
            expected,
        );
    }
    Judgement::from_findings(
        f,
        text!(
            "proxy.ok",
            host = host,
            status = e.http_status.map_or("-".into(), |s| s.to_string()),
            bypassed = if bypassed {
                text!("proxy.bypassed")
            } else {
                text!("empty")
            }
        ),
        expected,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> NetProxyTask {
        NetProxyTask {
            endpoint: Endpoint::parse("outlook.office365.com:80", 80).unwrap(),
            proxy_headers: vec!["via".into(), "x-cache".into()],
            proxy_servers: vec!["*squid*".into()],
        }
    }

    fn ev(status: u16, headers: &[(&str, &str)], env: &[(&str, &str)]) -> Judgement {
        judge(
            &task(),
            &NetProxyEvidence {
                url: String::new(),
                proxy_env: env
                    .iter()
                    .map(|(k, v)| ((*k).into(), (*v).into()))
                    .collect(),
                http_status: Some(status),
                headers: headers
                    .iter()
                    .map(|(k, v)| ((*k).into(), (*v).into()))
                    .collect(),
                request_error: None,
            },
        )
    }

    #[test]
    fn proxies_are_recognised() {
        assert_eq!(
            ev(301, &[("server", "AkamaiGHost")], &[]).status,
            Status::Pass
        );
        assert_eq!(ev(407, &[], &[]).status, Status::Fail);
        let j = ev(403, &[("server", "squid/5.7")], &[]);
        assert_eq!(j.status, Status::Fail);
        assert!(j.message().contains("server: squid/5.7"), "{}", j.message());
        assert_eq!(ev(403, &[("server", "nginx")], &[]).status, Status::Pass);
        assert_eq!(ev(200, &[("via", "1.1 gw")], &[]).status, Status::Warn);
        let j = ev(200, &[], &[("HTTP_PROXY", "http://proxy:3128")]);
        assert_eq!(j.status, Status::Warn);
        assert!(
            j.message().contains("HTTP_PROXY=http://proxy:3128"),
            "{}",
            j.message()
        );
        let j = ev(
            200,
            &[],
            &[
                ("HTTP_PROXY", "http://p:3128"),
                ("NO_PROXY", ".office365.com"),
            ],
        );
        assert_eq!(j.status, Status::Pass, "{}", j.message());
        assert_eq!(mask("http://u:secret@p:3128"), "http://***@p:3128");
    }
}
