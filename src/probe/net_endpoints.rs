//! `net-endpoints`: can this network open TCP connections to a Microsoft 365 endpoint set? Every
//! concrete host of the set is resolved and every TCP port tried once, concurrently, each attempt
//! bounded by an explicit timeout; the outcome per host:port is an nmap-like state.
//!
//! States (nmap `-sT` semantics, PEERS.md §2.15): `open` (handshake completed), `closed` (RST:
//! reachable, nothing listening — or a firewall rejecting with a reset), `filtered` (no answer
//! before the timeout: a firewall dropping), `unreachable` (ICMP network/host unreachable),
//! `unresolved` (the name does not resolve from here). No retries: one SYN's fate is the answer.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;

use super::connect::addresses;
use super::{ProbeCx, ProbeError};
use crate::endpoint::Endpoint;
use crate::endpoint_sets::{Category, EndpointSet};
use crate::outcome::{Finding, Judgement};
use crate::pattern::Vars;

/// `[check.probe]` of a `net-endpoints` check.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetEndpointsSpec {
    /// Categories tested (`Optimize`, `Allow`; add `Default` to test those too).
    pub categories: Vec<Category>,
    /// Also test sets marked `required: false`.
    #[serde(default)]
    pub include_optional: bool,
    /// One connection attempt's limit, milliseconds (capped by the check's step timeout).
    pub probe_timeout_ms: u64,
    /// From a port range (`50000-59999`), test at most this many ports from its start.
    pub max_ports_per_range: u16,
    /// Concrete test hosts for wildcard URLs: `"*.sharepoint.com" = "{tenant}.sharepoint.com"`.
    /// Variables: `{tenant}` (first label of `[tenant] initial_domain`), `{domain_dashed}`.
    #[serde(default)]
    pub wildcards: BTreeMap<String, String>,
}

/// One host of a set as planned: the URL as listed and the host to test (if any).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlannedHost {
    /// As in the endpoint data (`*.sharepoint.com`).
    pub url: String,
    /// What is tested (`contoso.sharepoint.com`), or why nothing is.
    #[serde(flatten)]
    pub test: HostTest,
}

/// A concrete host, or the reason there is none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HostTest {
    /// Test this host.
    Host(String),
    /// Not tested, and why.
    Untested(String),
}

/// One endpoint set to probe.
#[derive(Clone, Debug)]
pub struct NetEndpointsTask {
    /// `set 1 (Exchange Online, Optimize)`.
    pub label: String,
    /// The set's category.
    pub category: Category,
    /// Hosts.
    pub hosts: Vec<PlannedHost>,
    /// TCP ports tested.
    pub ports: Vec<u16>,
    /// The set's IP ranges (for the firewall rule; not probed).
    pub ips: Vec<String>,
    /// Per-attempt limit.
    pub timeout: Duration,
}

impl NetEndpointsSpec {
    /// The sets this check covers, in data order.
    pub fn select<'a>(&self, sets: &'a [EndpointSet], areas: &[String]) -> Vec<&'a EndpointSet> {
        sets.iter()
            .filter(|s| self.categories.contains(&s.category))
            .filter(|s| s.required || self.include_optional)
            .filter(|s| {
                areas
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(&s.service_area))
            })
            .filter(|s| s.tcp_ports.as_deref().is_some_and(|p| !p.trim().is_empty()))
            .collect()
    }

    /// Plans one set. `vars` carries `{tenant}`/`{domain_dashed}` when known.
    pub fn plan(&self, set: &EndpointSet, vars: &Vars, step: Option<Duration>) -> NetEndpointsTask {
        let mut ports = Vec::new();
        for r in set.tcp().unwrap_or_default() {
            ports.extend(r.take(usize::from(self.max_ports_per_range.max(1))));
        }
        ports.dedup();
        let hosts = set
            .urls
            .iter()
            .map(|u| PlannedHost {
                url: u.clone(),
                test: concrete_host(u, &self.wildcards, vars),
            })
            .collect();
        let mut timeout = Duration::from_millis(self.probe_timeout_ms);
        if let Some(step) = step {
            timeout = timeout.min(step);
        }
        NetEndpointsTask {
            label: set.label(),
            category: set.category,
            hosts,
            ports,
            ips: set.ips.clone(),
            timeout,
        }
    }
}

/// A host to test for a URL of the endpoint data.
pub fn concrete_host(url: &str, wildcards: &BTreeMap<String, String>, vars: &Vars) -> HostTest {
    if !url.contains('*') {
        return HostTest::Host(url.to_ascii_lowercase());
    }
    let Some(template) = wildcards.get(url) else {
        return HostTest::Untested(
            "a wildcard with no concrete test host (add one under wildcards in the check file)"
                .into(),
        );
    };
    match vars.expand(template) {
        Ok(v) if v.len() == 1 && !v[0].contains('*') => HostTest::Host(v[0].to_ascii_lowercase()),
        _ => HostTest::Untested(format!(
            "the test host `{template}` needs a value this tenant.toml does not give (set [tenant] initial_domain)"
        )),
    }
}

/// nmap-like state of one host:port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PortState {
    /// Handshake completed.
    Open,
    /// Reset: nothing listening, or a firewall rejecting.
    Closed,
    /// No answer in time: dropped.
    Filtered,
    /// ICMP network/host unreachable, or no route.
    Unreachable,
    /// The name does not resolve.
    Unresolved,
}

/// One attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Probe {
    /// Host as tested.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Address tried.
    pub address: Option<String>,
    /// State.
    pub state: PortState,
    /// Why (`syn-ack`, `reset`, `no-response`, `NXDOMAIN`…).
    pub reason: String,
    /// Time to the answer, ms (none for filtered/unresolved).
    pub rtt_ms: Option<u64>,
}

/// Evidence for one set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NetEndpointsEvidence {
    /// Set label.
    pub set: String,
    /// Hosts as planned (with untested wildcards).
    pub hosts: Vec<PlannedHost>,
    /// Ports tested.
    pub tcp_ports: Vec<u16>,
    /// Per-attempt timeout, ms.
    pub probe_timeout_ms: u64,
    /// Every attempt.
    pub probes: Vec<Probe>,
    /// IP ranges of the set (to allow in the firewall).
    pub ips: Vec<String>,
}

/// One TCP connection attempt, classified.
pub async fn tcp_state(addr: SocketAddr, timeout: Duration) -> (PortState, String, Option<u64>) {
    let start = Instant::now();
    let ms = || Some(u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX));
    match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Ok(Ok(_)) => (PortState::Open, "syn-ack".into(), ms()),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            (PortState::Closed, "reset".into(), ms())
        }
        Ok(Err(e)) => match e.raw_os_error() {
            // EACCES/EPERM: a local firewall rejected it (admin-prohibited): nmap says filtered.
            Some(1 | 13) => (PortState::Filtered, format!("admin-prohibited ({e})"), ms()),
            // ENETUNREACH, EHOSTUNREACH (an ICMP unreachable, no route) and anything else.
            _ => (PortState::Unreachable, e.to_string(), ms()),
        },
        Err(_) => (PortState::Filtered, "no-response".into(), None),
    }
}

async fn probe_host(
    cx: &ProbeCx,
    host: &str,
    ports: &[u16],
    timeout: Duration,
) -> Result<Vec<Probe>, ProbeError> {
    let ep = Endpoint {
        host: host.to_owned(),
        port: ports.first().copied().unwrap_or(443),
    };
    let ips: Vec<IpAddr> = match addresses(cx, &ep).await? {
        Ok(ips) => ips,
        Err(why) => {
            return Ok(ports
                .iter()
                .map(|&port| Probe {
                    host: host.to_owned(),
                    port,
                    address: None,
                    state: PortState::Unresolved,
                    reason: why.clone(),
                    rtt_ms: None,
                })
                .collect());
        }
    };
    let Some(&ip) = ips.first() else {
        return Ok(Vec::new());
    };
    let attempts = ports.iter().map(|&port| async move {
        let addr = SocketAddr::new(ip, port);
        let (state, reason, rtt_ms) = tcp_state(addr, timeout).await;
        Probe {
            host: host.to_owned(),
            port,
            address: Some(addr.to_string()),
            state,
            reason,
            rtt_ms,
        }
    });
    Ok(futures::future::join_all(attempts).await)
}

/// Probes every host:port of the set concurrently.
pub async fn observe(
    t: &NetEndpointsTask,
    cx: &ProbeCx,
) -> Result<NetEndpointsEvidence, ProbeError> {
    let hosts: Vec<&str> = t
        .hosts
        .iter()
        .filter_map(|h| match &h.test {
            HostTest::Host(x) => Some(x.as_str()),
            HostTest::Untested(_) => None,
        })
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    let runs = hosts
        .into_iter()
        .filter(|h| seen.insert(*h))
        .map(|h| probe_host(cx, h, &t.ports, t.timeout));
    let mut probes = Vec::new();
    for r in futures::future::join_all(runs).await {
        probes.extend(r?);
    }
    Ok(NetEndpointsEvidence {
        set: t.label.clone(),
        hosts: t.hosts.clone(),
        tcp_ports: t.ports.clone(),
        probe_timeout_ms: u64::try_from(t.timeout.as_millis()).unwrap_or(u64::MAX),
        probes,
        ips: t.ips.clone(),
    })
}

fn describe(p: &Probe, timeout_ms: u64) -> String {
    let what = match p.state {
        PortState::Open => "open".to_owned(),
        PortState::Closed => {
            "closed (connection reset: a firewall rejects it, or nothing listens)".into()
        }
        PortState::Filtered if p.reason == "no-response" => {
            format!("filtered (no answer within {timeout_ms} ms: a firewall drops it)")
        }
        PortState::Filtered => format!("filtered ({})", p.reason),
        PortState::Unreachable => format!("unreachable ({})", p.reason),
        PortState::Unresolved => format!("unresolved ({})", p.reason),
    };
    format!("{}:{} {what}", p.host, p.port)
}

/// Pure.
pub fn judge(t: &NetEndpointsTask, e: &NetEndpointsEvidence) -> Judgement {
    let expected = Some(format!(
        "TCP {} open to every host of {}",
        t.ports
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        t.label
    ));
    let bad: Vec<&Probe> = e
        .probes
        .iter()
        .filter(|p| p.state != PortState::Open)
        .collect();
    if e.probes.is_empty() {
        return Judgement::from_findings(
            vec![Finding::warn(format!(
                "nothing testable in {}: its URLs are wildcards without a test host; allow them by name in the proxy/firewall",
                t.label
            ))],
            "",
            expected,
        );
    }
    if bad.is_empty() {
        return Judgement::from_findings(
            vec![],
            format!("all {} host:port pairs open", e.probes.len()),
            expected,
        );
    }
    let mut shown: Vec<String> = bad
        .iter()
        .take(5)
        .map(|p| describe(p, e.probe_timeout_ms))
        .collect();
    if bad.len() > 5 {
        shown.push(format!("and {} more", bad.len() - 5));
    }
    Judgement::from_findings(
        vec![Finding::fail(format!(
            "{} of {} not open: {}",
            bad.len(),
            e.probes.len(),
            shown.join("; ")
        ))],
        "",
        expected,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_become_concrete_hosts_or_say_why_not() {
        let mut w = BTreeMap::new();
        w.insert(
            "*.sharepoint.com".to_owned(),
            "{tenant}.sharepoint.com".to_owned(),
        );
        let mut vars = Vars::default();
        assert_eq!(
            concrete_host("Outlook.Office365.com", &w, &vars),
            HostTest::Host("outlook.office365.com".into())
        );
        assert!(
            matches!(concrete_host("*.sharepoint.com", &w, &vars), HostTest::Untested(m) if m.contains("initial_domain"))
        );
        assert!(
            matches!(concrete_host("*.lync.com", &w, &vars), HostTest::Untested(m) if m.contains("no concrete test host"))
        );
        vars.set("tenant", "contoso");
        assert_eq!(
            concrete_host("*.sharepoint.com", &w, &vars),
            HostTest::Host("contoso.sharepoint.com".into())
        );
    }

    #[test]
    fn a_set_fails_on_any_port_not_open() {
        let t = NetEndpointsTask {
            label: "set 1 (Exchange Online, Optimize)".into(),
            category: Category::Optimize,
            hosts: vec![],
            ports: vec![80, 443],
            ips: vec![],
            timeout: Duration::from_secs(2),
        };
        let p = |port, state, reason: &str| Probe {
            host: "outlook.office365.com".into(),
            port,
            address: None,
            state,
            reason: reason.into(),
            rtt_ms: None,
        };
        let mut e = NetEndpointsEvidence {
            set: t.label.clone(),
            hosts: vec![],
            tcp_ports: t.ports.clone(),
            probe_timeout_ms: 2000,
            probes: vec![
                p(80, PortState::Open, "syn-ack"),
                p(443, PortState::Open, "syn-ack"),
            ],
            ips: vec![],
        };
        assert_eq!(judge(&t, &e).status, crate::outcome::Status::Pass);
        e.probes[1] = p(443, PortState::Filtered, "no-response");
        let j = judge(&t, &e);
        assert_eq!(j.status, crate::outcome::Status::Fail);
        assert!(
            j.message
                .contains("outlook.office365.com:443 filtered (no answer within 2000 ms"),
            "{}",
            j.message
        );
        e.probes.clear();
        assert_eq!(judge(&t, &e).status, crate::outcome::Status::Warn);
    }
}
