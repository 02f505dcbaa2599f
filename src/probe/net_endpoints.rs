//! `net-endpoints`: can this network open TCP connections to a Microsoft 365 endpoint set? Every
//! concrete host of the set is resolved and every TCP port tried once, concurrently, each attempt
//! bounded by an explicit timeout; the outcome per host:port is an nmap-like state.
//!
//! States (nmap `-sT` semantics, PEERS.md §2.15): `open` (handshake completed), `closed` (RST:
//! reachable, nothing listening — or a firewall rejecting with a reset), `filtered` (no answer
//! before the timeout: a firewall dropping), `unreachable` (ICMP network/host unreachable),
//! `unresolved` (the name does not resolve from here). No retries: one SYN's fate is the answer.
//!
//! What a port that is not open means depends on its level ([`crate::level`]): the ports of a
//! required set are required (not open → `fail`), the check file can lower some
//! (`[[check.probe.port]]`): recommended or optional → `warn`, informational → a note only. TCP 25
//! (endpoint set 10) is informational: it is what mail servers use to deliver to Exchange Online,
//! and client networks block it on purpose (Microsoft's own connectivity test probes TCP 443 and
//! 80: learn.microsoft.com/microsoft-365/enterprise/office-365-network-mac-perf-onboarding-tool).
//!
//! Wildcard URLs are tested through a concrete host only where one is documented (the check file's
//! `wildcards`), and the host must fall under the wildcard; a set with nothing testable is not
//! planned (its row says why) rather than reported as a problem.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;

use super::connect::addresses;
use super::{ProbeCx, ProbeError};
use crate::endpoint::Endpoint;
use crate::endpoint_sets::{Category, EndpointSet};
use crate::level::{Level, PortLevel, PortRule, port_rule, rule_for};
use crate::outcome::{Finding, Judgement, Status};
use crate::pattern::{Vars, name_matches};
use crate::text::{Arg, Text};

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
    /// At most this many TCP ports per set (after ranges are sampled): a list is outside input,
    /// and `"1,2,…,65535"` must not become 65,535 probes per host. Real sets list 1–4.
    #[serde(default = "default_max_ports_per_set")]
    pub max_ports_per_set: usize,
    /// At most this many URLs per set (real sets list up to 26).
    #[serde(default = "default_max_hosts_per_set")]
    pub max_hosts_per_set: usize,
    /// Concrete test hosts for wildcard URLs: `"*.sharepoint.com" = "{tenant}.sharepoint.com"`.
    /// Variables: `{tenant}` (first label of `[tenant] initial_domain`, else `microsoft`), `{mx}`
    /// (the `[[domain]] mx` of the first Exchange domain that sets one).
    #[serde(default)]
    pub wildcards: BTreeMap<String, String>,
    /// Levels of some ports, overriding the set's (`[[check.probe.port]]`).
    #[serde(default, rename = "port")]
    pub port_levels: Vec<PortLevel>,
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
    Untested(#[serde(serialize_with = "crate::text::serialize_en")] Text),
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
    /// The rule each port is judged by (same order as `ports`).
    pub rules: Vec<PortRule>,
    /// The set's IP ranges (for the firewall rule; not probed).
    pub ips: Vec<String>,
    /// Per-attempt limit.
    pub timeout: Duration,
    /// What the per-set caps left out, if anything.
    pub capped: Vec<String>,
}

impl NetEndpointsTask {
    /// Why nothing of the set can be tested from here, if so: every URL is a wildcard without a
    /// known concrete host. The set is then reported as skipped with this reason.
    pub fn untestable(&self) -> Option<Text> {
        if self
            .hosts
            .iter()
            .any(|h| matches!(h.test, HostTest::Host(_)))
        {
            return None;
        }
        let urls: Vec<&str> = self.hosts.iter().map(|h| h.url.as_str()).collect();
        let why = self.hosts.iter().find_map(|h| match &h.test {
            HostTest::Untested(w) => Some(w.clone()),
            HostTest::Host(_) => None,
        });
        Some(text!(
            "endpoints.untestable",
            set = &self.label,
            urls = urls.join(", "),
            are = if urls.len() == 1 {
                text!("endpoints.is-wildcard")
            } else {
                text!("endpoints.are-wildcards")
            },
            why = match why {
                Some(w) => text!("endpoints.why", why = w),
                None => text!("empty"),
            },
            them = if urls.len() == 1 {
                text!("endpoints.it")
            } else {
                text!("endpoints.them")
            }
        ))
    }
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

    /// Plans one set. `vars` carries `{tenant}`, and `{mx}` when the tenant configured one.
    pub fn plan(&self, set: &EndpointSet, vars: &Vars, step: Option<Duration>) -> NetEndpointsTask {
        let mut ports = Vec::new();
        let mut all_ports = 0usize;
        for r in set.tcp().unwrap_or_default() {
            all_ports += r.clone().count();
            ports.extend(r.take(usize::from(self.max_ports_per_range.max(1))));
        }
        let mut seen = std::collections::HashSet::new();
        ports.retain(|p| seen.insert(*p));
        let mut capped = Vec::new();
        if ports.len() > self.max_ports_per_set {
            capped.push(format!(
                "tested {} of the set's {all_ports} TCP ports (at most {} per set)",
                self.max_ports_per_set, self.max_ports_per_set
            ));
            ports.truncate(self.max_ports_per_set);
        }
        if set.urls.len() > self.max_hosts_per_set {
            capped.push(format!(
                "tested {} of the set's {} URLs (at most {} per set)",
                self.max_hosts_per_set,
                set.urls.len(),
                self.max_hosts_per_set
            ));
        }
        let hosts = set
            .urls
            .iter()
            .take(self.max_hosts_per_set)
            .map(|u| PlannedHost {
                url: u.clone(),
                test: concrete_host(u, &self.wildcards, vars),
            })
            .collect();
        let mut timeout = Duration::from_millis(self.probe_timeout_ms);
        if let Some(step) = step {
            timeout = timeout.min(step);
        }
        let rules = ports
            .iter()
            .map(|&p| port_rule(p, set.required, &self.port_levels))
            .collect();
        NetEndpointsTask {
            label: set.label(),
            category: set.category,
            hosts,
            ports,
            rules,
            ips: set.ips.clone(),
            timeout,
            capped,
        }
    }
}

fn default_max_ports_per_set() -> usize {
    16
}
fn default_max_hosts_per_set() -> usize {
    64
}

/// A host to test for a URL of the endpoint data. A wildcard's test host must be a name the
/// wildcard covers (`{mx}` = `contoso-com.mail.protection.outlook.com` stands for
/// `*.mail.protection.outlook.com`, not for `*.mx.microsoft`).
pub fn concrete_host(url: &str, wildcards: &BTreeMap<String, String>, vars: &Vars) -> HostTest {
    if !url.contains('*') {
        return HostTest::Host(url.to_ascii_lowercase());
    }
    let Some(template) = wildcards.get(url) else {
        return HostTest::Untested(text!("endpoints.no-test-host"));
    };
    let host = match vars.expand(template) {
        Ok(v) if v.len() == 1 && !v[0].contains('*') => v[0].to_ascii_lowercase(),
        Ok(_) => return HostTest::Untested(text!("endpoints.not-one-name", host = template)),
        Err(e) => {
            let from = match e.name.as_str() {
                "tenant" => text!("hint.initial-domain"),
                "mx" => text!("endpoints.hint-mx"),
                _ => text!("endpoints.unknown-variable"),
            };
            return HostTest::Untested(text!(
                "endpoints.needs-value",
                host = template,
                from = from
            ));
        }
    };
    // `*.x` in the endpoint list means one or more labels before `x`.
    let pattern = url
        .strip_prefix("*.")
        .map_or_else(|| url.to_owned(), |rest| format!("**.{rest}"));
    if name_matches(&pattern, &host) {
        HostTest::Host(host)
    } else {
        HostTest::Untested(text!("endpoints.not-under", host = host, url = url))
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
    /// How long a silence would have been waited for when the verdict was made, ms: the
    /// configured timeout, or less once the host's replies showed its round trip (see
    /// [`super::rtt`]); for `filtered`, the wait that ran out. None when nothing was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

fn ms_of(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// One TCP connection attempt whose silence is judged against what the destination's other
/// replies show: a port is `filtered` once it has been silent for [`Destination::wait`], which
/// shrinks from `ceiling` as SYN-ACKs and RSTs come back. Returns the state, the reason, the
/// round trip of a reply, and the wait in force at the verdict.
async fn adaptive_state(
    addr: SocketAddr,
    ceiling: Duration,
    dest: &super::rtt::Destination,
) -> (PortState, String, Option<u64>, u64) {
    let start = Instant::now();
    let connect = TcpStream::connect(addr);
    tokio::pin!(connect);
    loop {
        let wait = dest.wait(ceiling);
        // Registered before the deadline is computed from the estimate: a reply landing in
        // between still wakes this attempt.
        let replied = dest.replied();
        tokio::select! {
            r = &mut connect => {
                let rtt = start.elapsed();
                let answered = |state| {
                    dest.learn(rtt);
                    (state, Some(ms_of(rtt)))
                };
                let (state, reason, rtt_ms) = match r {
                    Ok(_) => {
                        let (s, ms) = answered(PortState::Open);
                        (s, "syn-ack".to_owned(), ms)
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                        let (s, ms) = answered(PortState::Closed);
                        (s, "reset".to_owned(), ms)
                    }
                    // EACCES/EPERM: a local firewall rejected it (admin-prohibited): filtered.
                    Err(e) if matches!(e.raw_os_error(), Some(1 | 13)) => {
                        (PortState::Filtered, format!("admin-prohibited ({e})"), Some(ms_of(rtt)))
                    }
                    // ENETUNREACH, EHOSTUNREACH (an ICMP unreachable, no route) and the rest.
                    Err(e) => (PortState::Unreachable, e.to_string(), Some(ms_of(rtt))),
                };
                return (state, reason, rtt_ms, ms_of(wait));
            }
            () = tokio::time::sleep_until((start + wait).into()) => {
                // The estimate may have tightened since this deadline was set; it only ever
                // ends the wait sooner, never later than the ceiling.
                if start.elapsed() >= dest.wait(ceiling) {
                    return (PortState::Filtered, "no-response".to_owned(), None, ms_of(dest.wait(ceiling).min(wait)));
                }
            }
            () = replied => {}
        }
    }
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
    /// The level each port is judged by.
    pub port_rules: Vec<PortRule>,
    /// Every attempt.
    pub probes: Vec<Probe>,
    /// What the per-set caps left out (a list with more ports or URLs than any real set).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capped: Vec<String>,
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
                    reason: why.render(crate::output::Lang::En),
                    rtt_ms: None,
                    timeout_ms: None,
                })
                .collect());
        }
    };
    let Some(&ip) = ips.first() else {
        return Ok(Vec::new());
    };
    let dest = cx.destinations.get(ip);
    let attempts = ports.iter().map(|&port| {
        let dest = &*dest;
        async move {
            let addr = SocketAddr::new(ip, port);
            // A closed semaphore never happens (the scan owns it); proceed unbounded if it did.
            let _permit = cx.sockets.acquire().await.ok();
            let (state, reason, rtt_ms, waited) = adaptive_state(addr, timeout, dest).await;
            Probe {
                host: host.to_owned(),
                port,
                address: Some(addr.to_string()),
                state,
                reason,
                rtt_ms,
                timeout_ms: Some(waited),
            }
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
        port_rules: t.rules.clone(),
        probes,
        capped: t.capped.clone(),
        ips: t.ips.clone(),
    })
}

fn describe(p: &Probe, configured_ms: u64) -> Text {
    let timeout_ms = p.timeout_ms.unwrap_or(configured_ms);
    let what = match p.state {
        PortState::Open => text!("endpoints.open"),
        PortState::Closed => text!("endpoints.closed"),
        PortState::Filtered if p.reason == "no-response" => {
            text!("endpoints.dropped", timeout_ms = timeout_ms)
        }
        PortState::Filtered => text!("endpoints.filtered", reason = &p.reason),
        PortState::Unreachable => text!("endpoints.unreachable", reason = &p.reason),
        PortState::Unresolved => text!("endpoints.unresolved", reason = &p.reason),
    };
    text!(
        "endpoints.probe",
        host = &p.host,
        port = p.port,
        what = what
    )
}

/// Pure.
pub fn judge(t: &NetEndpointsTask, e: &NetEndpointsEvidence) -> Judgement {
    let expected = vec![text!(
        "endpoints.expected",
        ports = t
            .ports
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        set = &t.label
    )];
    if e.probes.is_empty() {
        return Judgement::new(
            Status::Warn,
            text!("endpoints.nothing-tested", set = &t.label),
            expected,
        );
    }
    let rule = |port: u16| rule_for(&e.port_rules, port);
    // Probes joined with `; ` (as they always were), the sixth onwards counted.
    let show = |v: &[&Probe]| -> Text {
        let shown: Vec<Text> = v
            .iter()
            .take(5)
            .map(|p| describe(p, e.probe_timeout_ms))
            .collect();
        let mut all = shown
            .into_iter()
            .reduce(|a, b| text!("endpoints.semicolon", a = a, b = b))
            .unwrap_or_else(|| text!("empty"));
        if v.len() > 5 {
            all = text!(
                "endpoints.semicolon",
                a = all,
                b = text!("endpoints.and-more", n = v.len() - 5)
            );
        }
        all
    };
    let judged: Vec<&Probe> = e
        .probes
        .iter()
        .filter(|p| !rule(p.port).informational)
        .collect();
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    let failing: Vec<&Probe> = judged
        .iter()
        .copied()
        .filter(|p| p.state != PortState::Open && rule(p.port).level == Level::Required)
        .collect();
    if !failing.is_empty() {
        findings.push(Finding::fail(text!(
            "endpoints.not-open",
            n = failing.len(),
            of = judged.len(),
            probes = show(&failing)
        )));
    }
    // Lower levels and informational ports, grouped by port so each says who needs it.
    let mut lower_ports: Vec<u16> = e
        .probes
        .iter()
        .filter(|p| p.state != PortState::Open && rule(p.port).level != Level::Required)
        .map(|p| p.port)
        .collect();
    lower_ports.sort_unstable();
    lower_ports.dedup();
    for port in lower_ports {
        let r = rule(port);
        let bad: Vec<&Probe> = e
            .probes
            .iter()
            .filter(|p| p.port == port && p.state != PortState::Open)
            .collect();
        let why = r.why.as_deref().unwrap_or("");
        if r.informational {
            notes.push(text!(
                "endpoints.informational",
                port = port,
                probes = show(&bad),
                why = Arg::local(why, r.why_ko.as_deref())
            ));
        } else {
            findings.push(r.level.missing(
                text!("endpoints.port-not-open", port = port, probes = show(&bad)),
                Some((why, r.why_ko.as_deref())),
            ));
        }
    }
    let open = e
        .probes
        .iter()
        .filter(|p| p.state == PortState::Open)
        .count();
    let ok = if open == e.probes.len() {
        text!("endpoints.all-open", n = open)
    } else {
        text!("endpoints.some-open", n = open, of = e.probes.len())
    };
    let mut j = Judgement::from_findings(findings, ok, expected);
    // The notes follow the verdict's own sentences, pass or not.
    j.message.extend(notes);
    j
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
            matches!(concrete_host("*.sharepoint.com", &w, &vars), HostTest::Untested(m) if m.render(crate::output::Lang::En).contains("initial_domain"))
        );
        assert!(
            matches!(concrete_host("*.lync.com", &w, &vars), HostTest::Untested(m) if m.render(crate::output::Lang::En).contains("no concrete test host"))
        );
        vars.set("tenant", "contoso");
        assert_eq!(
            concrete_host("*.sharepoint.com", &w, &vars),
            HostTest::Host("contoso.sharepoint.com".into())
        );
        // The MX host stands in for the mail wildcard it falls under, and only for that one.
        w.insert("*.mail.protection.outlook.com".into(), "{mx}".into());
        w.insert("*.mx.microsoft".into(), "{mx}".into());
        assert!(
            matches!(concrete_host("*.mx.microsoft", &w, &vars), HostTest::Untested(m) if m.render(crate::output::Lang::En).contains("[[domain]] mx"))
        );
        vars.set("mx", "contoso-com01c.mail.protection.outlook.com");
        assert_eq!(
            concrete_host("*.mail.protection.outlook.com", &w, &vars),
            HostTest::Host("contoso-com01c.mail.protection.outlook.com".into())
        );
        assert!(
            matches!(concrete_host("*.mx.microsoft", &w, &vars), HostTest::Untested(m) if m.render(crate::output::Lang::En).contains("not a name under"))
        );
    }

    #[test]
    fn a_set_fails_on_any_port_not_open() {
        let t = NetEndpointsTask {
            label: "set 1 (Exchange Online, Optimize)".into(),
            category: Category::Optimize,
            hosts: vec![],
            ports: vec![80, 443],
            rules: vec![],
            ips: vec![],
            timeout: Duration::from_secs(2),
            capped: vec![],
        };
        let p = |port, state, reason: &str| Probe {
            host: "outlook.office365.com".into(),
            port,
            address: None,
            state,
            reason: reason.into(),
            rtt_ms: None,
            timeout_ms: None,
        };
        let mut e = NetEndpointsEvidence {
            set: t.label.clone(),
            hosts: vec![],
            tcp_ports: t.ports.clone(),
            probe_timeout_ms: 2000,
            port_rules: vec![],
            probes: vec![
                p(80, PortState::Open, "syn-ack"),
                p(443, PortState::Open, "syn-ack"),
            ],
            ips: vec![],
            capped: vec![],
        };
        assert_eq!(judge(&t, &e).status, Status::Pass);
        e.probes[1] = p(443, PortState::Filtered, "no-response");
        let j = judge(&t, &e);
        assert_eq!(j.status, Status::Fail);
        assert!(
            j.message()
                .contains("outlook.office365.com:443 filtered (no answer within 2000 ms"),
            "{}",
            j.message()
        );
        // The wait the host's round trips allowed is the one the sentence names.
        e.probes[1].timeout_ms = Some(250);
        assert!(
            judge(&t, &e)
                .message()
                .contains("outlook.office365.com:443 filtered (no answer within 250 ms"),
        );
        e.probes.clear();
        assert_eq!(judge(&t, &e).status, Status::Warn);
    }

    #[test]
    fn levels_decide_what_a_blocked_port_means() {
        let levels = vec![PortLevel {
            ports: "25".into(),
            level: Level::Optional,
            informational: true,
            why_ko: None,
            why: Some("client networks usually block it".into()),
            source: None,
        }];
        let rules: Vec<PortRule> = [25, 443]
            .iter()
            .map(|&p| port_rule(p, true, &levels))
            .collect();
        let t = NetEndpointsTask {
            label: "set 10 (Exchange Online, Allow)".into(),
            category: Category::Allow,
            hosts: vec![],
            ports: vec![25, 443],
            rules: rules.clone(),
            ips: vec![],
            timeout: Duration::from_secs(2),
            capped: vec![],
        };
        let p = |port, state| Probe {
            host: "mx.contoso.test".into(),
            port,
            address: None,
            state,
            reason: "no-response".into(),
            rtt_ms: None,
            timeout_ms: None,
        };
        let mut e = NetEndpointsEvidence {
            set: t.label.clone(),
            hosts: vec![],
            tcp_ports: t.ports.clone(),
            probe_timeout_ms: 2000,
            port_rules: rules,
            probes: vec![p(25, PortState::Filtered), p(443, PortState::Open)],
            capped: vec![],
            ips: vec![],
        };
        let j = judge(&t, &e);
        assert_eq!(j.status, Status::Pass, "{}", j.message());
        assert!(
            j.message()
                .contains("informational, TCP 25: mx.contoso.test:25 filtered"),
            "{}",
            j.message()
        );
        e.port_rules[0].informational = false;
        let j = judge(&t, &e);
        assert_eq!(j.status, Status::Warn, "{}", j.message());
        assert!(
            j.message().contains("(optional: client networks"),
            "{}",
            j.message()
        );
        e.probes[1].state = PortState::Closed;
        assert_eq!(judge(&t, &e).status, Status::Fail);
    }
}
