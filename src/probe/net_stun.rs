//! `net-stun`: can Teams media reach the transport relays over UDP 3478-3481? A real STUN Binding
//! request (RFC 5389) per port, from a connected UDP socket, retransmitted on the RFC's doubling
//! schedule (this is the protocol's own retransmission, not a retry of a failed check).
//!
//! Verdict per port: `reachable` (a Binding response for our transaction), `blocked` (ICMP port
//! unreachable: the kernel reports it as a refused connection on the connected socket),
//! `inconclusive` (silence after every attempt: usually a firewall dropping UDP).
//!
//! Ports are judged by their level (`[[check.probe.port]]`, else the set's): a required port (3478,
//! where Teams media goes by default) fails when blocked; silence there fails or warns as the
//! check's `silence` says (the shipped check warns: no Microsoft page documents that the relay
//! answers an unauthenticated Binding); on an optional port (3479-3481, used only with port-based
//! QoS tagging) only a definite block warns, and silence is no finding.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::net::UdpSocket;

use super::connect::addresses;
use super::{ProbeCx, ProbeError};
use crate::endpoint::Endpoint;
use crate::endpoint_sets::EndpointSet;
use crate::level::{Level, PortLevel, PortRule, port_rule, rule_for};
use crate::outcome::{Finding, Judgement, Status};
use crate::stun;
use crate::text::{Arg, Text};

/// `[check.probe]` of a `net-stun` check.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetStunSpec {
    /// Endpoint sets whose UDP ports are the media ports (worldwide: 11).
    pub sets: Vec<u32>,
    /// Relay hosts to ask when those sets list no host name (they list IP ranges only).
    pub relays: Vec<String>,
    /// Requests per port before giving up.
    pub attempts: u32,
    /// Wait for the first answer, ms; doubled after each unanswered request (RFC 5389 §7.2.1).
    pub first_wait_ms: u64,
    /// Levels of some ports, overriding the set's (`[[check.probe.port]]`).
    #[serde(default, rename = "port")]
    pub port_levels: Vec<PortLevel>,
    /// What silence on a required port is (default `fail`). `warn` when nothing documents that
    /// the relay answers an unauthenticated STUN Binding: silence then proves nothing, only an
    /// ICMP unreachable or a local reject does.
    #[serde(default)]
    pub silence: Silence,
}

/// The verdict for a required port that never answered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Silence {
    /// Silence is a firewall dropping UDP.
    #[default]
    Fail,
    /// Silence may be the relay ignoring a bare Binding: a warning saying what else to test.
    Warn,
}

/// One relay host and its ports.
#[derive(Clone, Debug)]
pub struct NetStunTask {
    /// Host name or IP.
    pub host: String,
    /// UDP ports.
    pub ports: Vec<u16>,
    /// The rule each port is judged by (same order as `ports`).
    pub rules: Vec<PortRule>,
    /// Requests per port.
    pub attempts: u32,
    /// First wait.
    pub first_wait: Duration,
    /// What silence on a required port is.
    pub silence: Silence,
}

impl NetStunSpec {
    /// One task per relay host. The waits (first, doubled each time) are shrunk to fit `step`, so
    /// silence is reported as `inconclusive` before the check's own timeout.
    pub fn plan(&self, sets: &[EndpointSet], step: Duration) -> Vec<NetStunTask> {
        let attempts = self.attempts.clamp(1, 16);
        let total_units = (1u32 << attempts) - 1; // w + 2w + 4w + …
        let first_wait = Duration::from_millis(self.first_wait_ms.max(1)).min(step / total_units);
        let chosen: Vec<&EndpointSet> = sets.iter().filter(|s| self.sets.contains(&s.id)).collect();
        let mut ports: Vec<u16> = Vec::new();
        for s in &chosen {
            for r in s.udp().unwrap_or_default() {
                ports.extend(r.take(16));
            }
        }
        ports.sort_unstable();
        ports.dedup();
        if ports.is_empty() {
            return Vec::new();
        }
        let set_required = chosen.iter().any(|s| s.required);
        let rules: Vec<PortRule> = ports
            .iter()
            .map(|&p| port_rule(p, set_required, &self.port_levels))
            .collect();
        let mut hosts: Vec<String> = chosen
            .iter()
            .flat_map(|s| s.urls.iter())
            .filter(|u| !u.contains('*'))
            .map(|u| u.to_ascii_lowercase())
            .collect();
        if hosts.is_empty() {
            hosts.clone_from(&self.relays);
        }
        hosts.dedup();
        hosts
            .into_iter()
            .map(|host| NetStunTask {
                host,
                ports: ports.clone(),
                rules: rules.clone(),
                attempts,
                first_wait,
                silence: self.silence,
            })
            .collect()
    }
}

/// Per-port verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A valid Binding response.
    Reachable,
    /// ICMP port unreachable.
    Blocked,
    /// No answer after every attempt.
    Inconclusive,
}

/// One port.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PortResult {
    /// UDP port.
    pub port: u16,
    /// Verdict.
    pub verdict: Verdict,
    /// Requests sent.
    pub requests: u32,
    /// Public address the relay saw (NAT egress), from XOR-MAPPED-ADDRESS.
    pub mapped_address: Option<String>,
    /// Round trip of the answered request, ms.
    pub rtt_ms: Option<f64>,
    /// Detail (error text, Binding error).
    pub detail: Option<String>,
}

/// Evidence for one relay.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NetStunEvidence {
    /// Relay host.
    pub relay: String,
    /// Address used.
    pub address: Option<String>,
    /// Why it could not be resolved.
    #[serde(serialize_with = "crate::text::serialize_en_opt")]
    pub unresolved: Option<Text>,
    /// Per port.
    pub ports: Vec<PortResult>,
    /// The level each port is judged by.
    pub port_rules: Vec<PortRule>,
}

async fn one_port(ip: IpAddr, port: u16, t: &NetStunTask) -> Result<PortResult, ProbeError> {
    let io = |e: std::io::Error| ProbeError::Net {
        kind: "unreachable",
        message: text!(
            "stun.send-failed",
            address = SocketAddr::new(ip, port).to_string(),
            error = e.to_string()
        ),
    };
    let bind: SocketAddr = if ip.is_ipv4() {
        "0.0.0.0:0"
            .parse()
            .map_err(|_| io(std::io::Error::other("bind")))?
    } else {
        "[::]:0"
            .parse()
            .map_err(|_| io(std::io::Error::other("bind")))?
    };
    let sock = UdpSocket::bind(bind).await.map_err(io)?;
    sock.connect(SocketAddr::new(ip, port)).await.map_err(io)?;
    let mut txid = [0u8; 12];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut txid)
        .map_err(|_| io(std::io::Error::other("no randomness")))?;
    let request = stun::binding_request(&txid);
    let mut wait = t.first_wait;
    let mut buf = [0u8; 1500];
    let started = Instant::now();
    for n in 1..=t.attempts {
        let sent = Instant::now();
        match sock.send(&request).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                return Ok(blocked(port, n, &e));
            }
            // EPERM/EACCES: a firewall on this machine rejected the datagram outright.
            Err(e) if matches!(e.raw_os_error(), Some(1 | 13)) => {
                return Ok(PortResult {
                    detail: Some(format!("rejected by a firewall on this machine ({e})")),
                    ..blocked(port, n, &e)
                });
            }
            Err(e) => return Err(io(e)),
        }
        let deadline = sent + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, sock.recv(&mut buf)).await {
                Err(_) => break, // this attempt timed out: retransmit
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    return Ok(blocked(port, n, &e));
                }
                Ok(Err(e)) => return Err(io(e)),
                Ok(Ok(len)) => match stun::parse_response(&buf[..len], &txid) {
                    stun::Response::Success(mapped) => {
                        return Ok(PortResult {
                            port,
                            verdict: Verdict::Reachable,
                            requests: n,
                            mapped_address: mapped.map(|a| a.to_string()),
                            rtt_ms: Some(sent.elapsed().as_secs_f64() * 1000.0),
                            detail: None,
                        });
                    }
                    stun::Response::Error => {
                        return Ok(PortResult {
                            port,
                            verdict: Verdict::Reachable,
                            requests: n,
                            mapped_address: None,
                            rtt_ms: Some(sent.elapsed().as_secs_f64() * 1000.0),
                            detail: Some("the relay answered with a Binding error".into()),
                        });
                    }
                    stun::Response::Other => {} // stray datagram: keep waiting
                },
            }
        }
        wait *= 2;
    }
    Ok(PortResult {
        port,
        verdict: Verdict::Inconclusive,
        requests: t.attempts,
        mapped_address: None,
        rtt_ms: None,
        detail: Some(format!(
            "no answer to {} requests in {} ms",
            t.attempts,
            started.elapsed().as_millis()
        )),
    })
}

fn blocked(port: u16, n: u32, e: &std::io::Error) -> PortResult {
    PortResult {
        port,
        verdict: Verdict::Blocked,
        requests: n,
        mapped_address: None,
        rtt_ms: None,
        detail: Some(format!("ICMP port unreachable ({e})")),
    }
}

/// Probes every port concurrently.
pub async fn observe(t: &NetStunTask, cx: &ProbeCx) -> Result<NetStunEvidence, ProbeError> {
    let ep = Endpoint {
        host: t.host.clone(),
        port: t.ports.first().copied().unwrap_or(3478),
    };
    let ip = match addresses(cx, &ep).await? {
        Ok(ips) => ips.first().copied(),
        Err(why) => {
            return Ok(NetStunEvidence {
                relay: t.host.clone(),
                address: None,
                unresolved: Some(why),
                ports: Vec::new(),
                port_rules: t.rules.clone(),
            });
        }
    };
    let Some(ip) = ip else {
        return Err(ProbeError::Net {
            kind: "unresolved",
            message: text!("stun.no-address", host = &t.host),
        });
    };
    let runs = t.ports.iter().map(|&p| one_port(ip, p, t));
    let mut ports = Vec::new();
    for r in futures::future::join_all(runs).await {
        ports.push(r?);
    }
    Ok(NetStunEvidence {
        relay: t.host.clone(),
        address: Some(ip.to_string()),
        unresolved: None,
        ports,
        port_rules: t.rules.clone(),
    })
}

/// Pure.
pub fn judge(t: &NetStunTask, e: &NetStunEvidence) -> Judgement {
    let expected = vec![text!(
        "stun.expected",
        ports = t
            .ports
            .iter()
            .zip(&t.rules)
            .filter(|(_, r)| r.level == Level::Required)
            .map(|(p, _)| p.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        host = &t.host
    )];
    if let Some(why) = &e.unresolved {
        return Judgement::new(
            Status::Fail,
            text!("stun.relay-unresolved", why = why.clone()),
            expected,
        );
    }
    let rule = |port: u16| rule_for(&e.port_rules, port);
    let ports = |v: Verdict, pick: &dyn Fn(&PortRule) -> bool| -> Vec<String> {
        e.ports
            .iter()
            .filter(|p| p.verdict == v && pick(&rule(p.port)))
            .map(|p| p.port.to_string())
            .collect()
    };
    let required = |r: &PortRule| r.level == Level::Required && !r.informational;
    let lower = |r: &PortRule| !required(r);
    let mut f = Vec::new();
    let blocked = ports(Verdict::Blocked, &required);
    if !blocked.is_empty() {
        f.push(Finding::fail(text!(
            "stun.blocked",
            ports = blocked.join(", ")
        )));
    }
    let silent = ports(Verdict::Inconclusive, &required);
    if !silent.is_empty() {
        f.push(match t.silence {
            Silence::Fail => Finding::fail(text!(
                "stun.inconclusive",
                ports = silent.join(", "),
                attempts = t.attempts
            )),
            Silence::Warn => Finding::warn(text!(
                "stun.silent",
                ports = silent.join(", "),
                attempts = t.attempts
            )),
        });
    }
    // Below `required`: a definite block warns (saying who needs the port); silence is noted only,
    // since those ports are used only in some set-ups and a relay may not answer on them.
    let mut notes = Vec::new();
    for p in e.ports.iter().filter(|p| lower(&rule(p.port))) {
        let r = rule(p.port);
        match p.verdict {
            Verdict::Reachable => {}
            Verdict::Blocked if !r.informational => f.push(r.level.missing(
                text!("stun.port-blocked", port = p.port),
                r.why.as_deref().map(|w| (w, r.why_ko.as_deref())),
            )),
            Verdict::Blocked | Verdict::Inconclusive => notes.push(text!(
                "stun.note",
                port = p.port,
                state = if p.verdict == Verdict::Blocked {
                    text!("stun.state-blocked")
                } else {
                    text!("stun.state-silent")
                },
                level = match r.why.as_deref() {
                    Some(why) => text!(
                        "stun.level-why",
                        level = r.level.text(),
                        why = Arg::local(why, r.why_ko.as_deref())
                    ),
                    None => r.level.text(),
                }
            )),
        }
    }
    let ok: Vec<String> = e
        .ports
        .iter()
        .filter(|p| p.verdict == Verdict::Reachable)
        .map(|p| p.port.to_string())
        .collect();
    let mapped = e.ports.iter().find_map(|p| p.mapped_address.clone());
    let rtt = e
        .ports
        .iter()
        .filter_map(|p| p.rtt_ms)
        .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.min(x))));
    let ok_msg = text!(
        "stun.ok",
        ports = ok.join(", "),
        host = &t.host,
        mapped = match mapped {
            Some(address) => text!("stun.mapped", address = address),
            None => text!("empty"),
        },
        rtt = match rtt {
            Some(best) => text!("stun.rtt", ms = format!("{best:.1}")),
            None => text!("empty"),
        }
    );
    let mut j = Judgement::from_findings(f, ok_msg, expected);
    if j.status == Status::Pass {
        j.message.extend(notes);
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Status;

    fn ev(verdicts: &[Verdict]) -> Judgement {
        let ports: Vec<u16> = (3478..3478 + u16::try_from(verdicts.len()).unwrap()).collect();
        // The shipped levels (checks/network.toml): 3478 required, 3479-3481 optional.
        let catalog = crate::catalog::Catalog::embedded().unwrap();
        let Some(super::super::ProbeSpec::NetStun(spec)) = catalog
            .checks
            .iter()
            .find(|c| c.id == "net.teams-media")
            .map(|c| &c.probe)
        else {
            panic!("net.teams-media is a net-stun check");
        };
        let levels = spec.port_levels.clone();
        let rules: Vec<PortRule> = ports.iter().map(|&p| port_rule(p, true, &levels)).collect();
        let t = NetStunTask {
            host: "relay".into(),
            ports,
            rules: rules.clone(),
            attempts: 3,
            first_wait: Duration::from_millis(500),
            silence: spec.silence,
        };
        let e = NetStunEvidence {
            relay: "relay".into(),
            address: None,
            unresolved: None,
            ports: verdicts
                .iter()
                .zip(3478..)
                .map(|(&verdict, port)| PortResult {
                    port,
                    verdict,
                    requests: 1,
                    mapped_address: (verdict == Verdict::Reachable)
                        .then(|| "203.0.113.5:4000".into()),
                    rtt_ms: (verdict == Verdict::Reachable).then_some(12.0),
                    detail: None,
                })
                .collect(),
            port_rules: rules,
        };
        judge(&t, &e)
    }

    #[test]
    fn verdicts() {
        use Verdict::{Blocked, Inconclusive, Reachable};
        let j = ev(&[Reachable; 4]);
        assert_eq!(j.status, Status::Pass);
        assert!(
            j.message().contains("public address 203.0.113.5:4000"),
            "{}",
            j.message()
        );
        // 3478 decides pass/fail.
        assert_eq!(
            ev(&[Blocked, Reachable, Reachable, Reachable]).status,
            Status::Fail
        );
        // Silence on 3478 warns, saying what else to test: nothing documents that the relay
        // answers a bare STUN Binding (checks/network.toml).
        let j = ev(&[Inconclusive, Reachable, Reachable, Reachable]);
        assert_eq!(j.status, Status::Warn, "{}", j.message());
        assert!(
            j.message()
                .contains("Microsoft's network connectivity test"),
            "{}",
            j.message()
        );
        // 3479-3481: a definite block warns, naming who needs the port; silence is no finding.
        let j = ev(&[Reachable, Blocked, Reachable, Reachable]);
        assert_eq!(j.status, Status::Warn, "{}", j.message());
        assert!(j.message().contains("UDP 3479 blocked"), "{}", j.message());
        assert!(
            j.message()
                .contains("(optional: Teams uses 3479 (audio), 3480 (video) and 3481 (sharing) only where port-based QoS tagging is enabled)"),
            "{}",
            j.message()
        );
        let j = ev(&[Reachable, Inconclusive, Inconclusive, Inconclusive]);
        assert_eq!(j.status, Status::Pass, "{}", j.message());
        assert!(
            j.message().contains("UDP 3480 did not answer (optional"),
            "{}",
            j.message()
        );
        assert_eq!(ev(&[Inconclusive; 4]).status, Status::Warn);
        assert_eq!(
            ev(&[Blocked, Inconclusive, Inconclusive, Inconclusive]).status,
            Status::Fail
        );
    }
}
