//! `quality-latency`: round-trip time, jitter and loss to the Teams media relay, as Teams media
//! would see them: a timed series of STUN Binding requests over UDP (one every `interval`), or TCP
//! connects to a Microsoft 365 front door when UDP gets no answer. Judged against the Teams
//! client-to-edge targets (learn.microsoft.com/microsoftteams/prepare-network: RTT < 100 ms, jitter < 30 ms, loss < 1 %).
//!
//! Jitter is RFC 3550 §6.4.1's estimator over consecutive round trips: J += (|D| − J) / 16. The
//! evidence keeps every sample, so the engineer sees the distribution, not only the summary.

#![allow(
    clippy::cast_precision_loss,
    reason = "byte counts and rates stay far below 2^52; f64 is exact enough for Mbit/s"
)]

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::net::UdpSocket;

use super::connect::addresses;
use super::net_endpoints::{PortState, tcp_state};
use super::{ProbeCx, ProbeError};
use crate::endpoint::Endpoint;
use crate::endpoint_sets::{Category, EndpointSet, PortPick, set_hosts};
use crate::outcome::{Finding, Judgement};
use crate::stun;
use crate::text::Text;

/// `[check.probe]` of a `quality-latency` check.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualityLatencySpec {
    /// Endpoint sets with the Teams media UDP ports (worldwide: 11).
    pub sets: Vec<u32>,
    /// Relays to ask when those sets list no host name.
    pub relays: Vec<String>,
    /// Number of samples.
    pub samples: u32,
    /// Time between samples, ms.
    pub interval_ms: u64,
    /// A sample not answered within this is lost, ms.
    pub reply_timeout_ms: u64,
    /// Targets: RTT (p90), ms.
    pub max_rtt_ms: f64,
    /// Jitter, ms.
    pub max_jitter_ms: f64,
    /// Loss, percent.
    pub max_loss_pct: f64,
}

/// What to measure.
#[derive(Clone, Debug)]
pub struct QualityLatencyTask {
    /// STUN relay host and UDP port.
    pub relay: Option<(String, u16)>,
    /// TCP fallback (an Optimize front door).
    pub fallback: Option<Endpoint>,
    /// The spec.
    pub spec: QualityLatencySpec,
}

impl QualityLatencySpec {
    /// One task: the first relay and port, and the first Optimize host on 443 as the fallback.
    pub fn plan(&self, sets: &[EndpointSet]) -> Option<QualityLatencyTask> {
        let media: Vec<&EndpointSet> = sets.iter().filter(|s| self.sets.contains(&s.id)).collect();
        let port = media
            .iter()
            .flat_map(|s| s.udp().unwrap_or_default())
            .flatten()
            .next();
        let host = media
            .iter()
            .flat_map(|s| s.urls.iter())
            .find(|u| !u.contains('*'))
            .cloned()
            .or_else(|| self.relays.first().cloned());
        let fallback = set_hosts(
            sets,
            &[Category::Optimize],
            None,
            1,
            PortPick::PreferElseLast(443),
        )
        .into_iter()
        .next()
        .map(|h| h.endpoint);
        let relay = host.zip(port);
        (relay.is_some() || fallback.is_some()).then(|| QualityLatencyTask {
            relay,
            fallback,
            spec: self.clone(),
        })
    }
}

/// The summary of a series.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Samples sent.
    pub sent: u32,
    /// Samples answered.
    pub received: u32,
    /// Lost, percent.
    pub loss_pct: f64,
    /// Median RTT, ms.
    pub rtt_median_ms: Option<f64>,
    /// 90th percentile RTT, ms (the statistic Microsoft compares with the targets).
    pub rtt_p90_ms: Option<f64>,
    /// Largest RTT, ms.
    pub rtt_max_ms: Option<f64>,
    /// RFC 3550 jitter, ms.
    pub jitter_ms: Option<f64>,
}

/// Evidence: how, to where, every sample, and the summary.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QualityLatencyEvidence {
    /// `stun` or `tcp-connect`.
    pub method: String,
    /// Target host:port.
    pub target: String,
    /// Why the TCP fallback was used.
    #[serde(serialize_with = "crate::text::serialize_en_opt")]
    pub fallback_reason: Option<Text>,
    /// Round trip per sample, ms (`null`: lost).
    pub samples_ms: Vec<Option<f64>>,
    /// The summary.
    #[serde(flatten)]
    pub summary: Summary,
    /// What the summary is judged against (the check's targets), so a report can draw them.
    pub targets: Targets,
}

/// The Teams targets a latency measurement is judged against.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Targets {
    /// RTT at the 90th percentile, below this, ms.
    pub rtt_ms: f64,
    /// Jitter, below this, ms.
    pub jitter_ms: f64,
    /// Loss, below this, %.
    pub loss_pct: f64,
}

impl QualityLatencySpec {
    fn targets(&self) -> Targets {
        Targets {
            rtt_ms: self.max_rtt_ms,
            jitter_ms: self.max_jitter_ms,
            loss_pct: self.max_loss_pct,
        }
    }
}

/// Summarises samples (pure; unit-tested).
pub fn summarise(samples: &[Option<f64>]) -> Summary {
    let sent = u32::try_from(samples.len()).unwrap_or(u32::MAX);
    let mut rtts: Vec<f64> = samples.iter().flatten().copied().collect();
    let received = u32::try_from(rtts.len()).unwrap_or(u32::MAX);
    let mut jitter: Option<f64> = None;
    let mut prev: Option<f64> = None;
    for s in samples.iter().flatten() {
        if let Some(p) = prev {
            let d = (s - p).abs();
            let j = jitter.unwrap_or(0.0);
            jitter = Some(j + (d - j) / 16.0);
        }
        prev = Some(*s);
    }
    rtts.sort_by(f64::total_cmp);
    let pct = |percent: usize| -> Option<f64> {
        // Nearest-rank percentile: the ceil(p/100 × n)-th smallest.
        let rank = (percent * rtts.len()).div_ceil(100).max(1);
        rtts.get(rank.min(rtts.len()).checked_sub(1)?).copied()
    };
    Summary {
        sent,
        received,
        loss_pct: if sent == 0 {
            0.0
        } else {
            f64::from(sent - received) * 100.0 / f64::from(sent)
        },
        rtt_median_ms: pct(50),
        rtt_p90_ms: pct(90),
        rtt_max_ms: rtts.last().copied(),
        jitter_ms: jitter,
    }
}

/// One STUN sample: RTT in ms, `None` when lost; `Err` when UDP is refused outright.
async fn stun_sample(sock: &UdpSocket, wait: Duration) -> Result<Option<f64>, std::io::Error> {
    let mut txid = [0u8; 12];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut txid)
        .map_err(|_| std::io::Error::other("no randomness"))?;
    let sent = Instant::now();
    sock.send(&stun::binding_request(&txid)).await?;
    let mut buf = [0u8; 1500];
    let deadline = sent + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, sock.recv(&mut buf)).await {
            Err(_) => return Ok(None),
            Ok(Err(e)) => return Err(e),
            Ok(Ok(n)) => {
                if matches!(
                    stun::parse_response(&buf[..n], &txid),
                    stun::Response::Success(_)
                ) {
                    return Ok(Some(sent.elapsed().as_secs_f64() * 1000.0));
                }
                // An answer to an earlier, late sample: not this one.
            }
        }
    }
}

async fn resolve(cx: &ProbeCx, host: &str, port: u16) -> Result<Option<IpAddr>, ProbeError> {
    let ep = Endpoint {
        host: host.to_owned(),
        port,
    };
    Ok(addresses(cx, &ep)
        .await?
        .ok()
        .and_then(|v| v.first().copied()))
}

/// Measures: STUN first; after three silent or refused samples in a row at the start, TCP.
pub async fn observe(
    t: &QualityLatencyTask,
    cx: &ProbeCx,
) -> Result<QualityLatencyEvidence, ProbeError> {
    let s = &t.spec;
    let interval = Duration::from_millis(s.interval_ms);
    let wait = Duration::from_millis(s.reply_timeout_ms);
    let mut fallback_reason = None;
    if let Some((host, port)) = &t.relay {
        if let Some(ip) = resolve(cx, host, *port).await? {
            let bind: SocketAddr = if ip.is_ipv4() {
                SocketAddr::from(([0, 0, 0, 0], 0))
            } else {
                SocketAddr::from(([0u16; 8], 0))
            };
            let io = |e: std::io::Error| ProbeError::Net {
                kind: "unreachable",
                message: text!(
                    "latency.udp-failed",
                    address = SocketAddr::new(ip, *port).to_string(),
                    error = e.to_string()
                ),
            };
            let sock = UdpSocket::bind(bind).await.map_err(io)?;
            sock.connect(SocketAddr::new(ip, *port)).await.map_err(io)?;
            let mut samples = Vec::new();
            let mut next = Instant::now();
            let mut udp_dead = None;
            for i in 0..s.samples {
                tokio::time::sleep_until(next.into()).await;
                // After a lost sample the schedule slips rather than firing a burst to catch up.
                next = (next + interval).max(Instant::now());
                match stun_sample(&sock, wait).await {
                    Ok(r) => samples.push(r),
                    Err(e) => {
                        udp_dead = Some(text!("latency.udp-refused", error = e.to_string()));
                        break;
                    }
                }
                if i == 2 && samples.iter().all(Option::is_none) {
                    udp_dead = Some(text!("latency.no-stun", address = format!("{host}:{port}")));
                    break;
                }
            }
            if udp_dead.is_none() {
                return Ok(QualityLatencyEvidence {
                    method: "stun".into(),
                    target: format!("{host}:{port}"),
                    fallback_reason: None,
                    summary: summarise(&samples),
                    samples_ms: samples,
                    targets: s.targets(),
                });
            }
            fallback_reason = udp_dead;
        } else {
            fallback_reason = Some(text!("latency.no-resolve", host = host));
        }
    }
    let Some(ep) = &t.fallback else {
        return Err(ProbeError::Net {
            kind: "unreachable",
            message: text!(
                "latency.no-target",
                why = fallback_reason.unwrap_or_else(|| text!("latency.no-relay"))
            ),
        });
    };
    let Some(ip) = resolve(cx, &ep.host, ep.port).await? else {
        return Err(ProbeError::Net {
            kind: "unresolved",
            message: text!("latency.fallback-unresolved", host = &ep.host),
        });
    };
    let mut samples = Vec::new();
    let mut next = Instant::now();
    for _ in 0..s.samples {
        tokio::time::sleep_until(next.into()).await;
        next = (next + interval).max(Instant::now());
        let started = Instant::now();
        let (state, _, _) = tcp_state(SocketAddr::new(ip, ep.port), wait).await;
        samples.push(
            (state == PortState::Open || state == PortState::Closed)
                .then(|| started.elapsed().as_secs_f64() * 1000.0),
        );
    }
    Ok(QualityLatencyEvidence {
        method: "tcp-connect".into(),
        target: ep.to_string(),
        fallback_reason,
        summary: summarise(&samples),
        samples_ms: samples,
        targets: s.targets(),
    })
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.1} ms"))
}

/// Pure.
pub fn judge(t: &QualityLatencyTask, e: &QualityLatencyEvidence) -> Judgement {
    let spec = &t.spec;
    let m = &e.summary;
    let expected = vec![text!(
        "latency.expected",
        rtt = spec.max_rtt_ms.to_string(),
        jitter = spec.max_jitter_ms.to_string(),
        loss = spec.max_loss_pct.to_string()
    )];
    let mut findings = Vec::new();
    if m.received == 0 {
        findings.push(Finding::fail(text!(
            "latency.no-answer",
            sent = m.sent,
            target = &e.target
        )));
        return Judgement::from_findings(findings, None, expected);
    }
    if let Some(p90) = m.rtt_p90_ms
        && p90 >= spec.max_rtt_ms
    {
        findings.push(Finding::fail(text!(
            "latency.rtt",
            target = &e.target,
            p90 = format!("{p90:.1}"),
            max = spec.max_rtt_ms.to_string()
        )));
    }
    if let Some(j) = m.jitter_ms
        && j >= spec.max_jitter_ms
    {
        findings.push(Finding::fail(text!(
            "latency.jitter",
            jitter = format!("{j:.1}"),
            max = spec.max_jitter_ms.to_string()
        )));
    }
    if m.loss_pct >= spec.max_loss_pct {
        findings.push(Finding::fail(text!(
            "latency.loss",
            loss = format!("{:.1}", m.loss_pct),
            max = spec.max_loss_pct.to_string()
        )));
    }
    if e.method == "tcp-connect" && findings.is_empty() {
        findings.push(Finding::warn(text!(
            "latency.tcp-fallback",
            target = &e.target,
            why = e
                .fallback_reason
                .clone()
                .unwrap_or_else(|| text!("latency.udp-unavailable"))
        )));
    }
    Judgement::from_findings(
        findings,
        text!(
            "latency.ok",
            method = &e.method,
            sent = m.sent,
            target = &e.target,
            median = ms(m.rtt_median_ms),
            p90 = ms(m.rtt_p90_ms),
            max = ms(m.rtt_max_ms),
            jitter = ms(m.jitter_ms),
            loss = format!("{:.1}", m.loss_pct)
        ),
        expected,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_statistics() {
        let s = summarise(&[Some(10.0), Some(20.0), None, Some(10.0), Some(20.0)]);
        assert_eq!((s.sent, s.received), (5, 4));
        assert!((s.loss_pct - 20.0).abs() < 1e-9);
        assert_eq!(s.rtt_median_ms, Some(10.0));
        assert_eq!(s.rtt_p90_ms, Some(20.0));
        assert_eq!(s.rtt_max_ms, Some(20.0));
        // |D| = 10 each time: 10/16, then +(10-0.625)/16, …
        let j = s.jitter_ms.unwrap();
        assert!(j > 1.7 && j < 1.9, "{j}");
        // A long alternating series converges to |D|.
        let long: Vec<Option<f64>> = (0..400)
            .map(|i| Some(if i % 2 == 0 { 40.0 } else { 60.0 }))
            .collect();
        assert!((summarise(&long).jitter_ms.unwrap() - 20.0).abs() < 0.01);
        let none = summarise(&[None, None]);
        assert_eq!((none.loss_pct, none.rtt_p90_ms), (100.0, None));
    }
}
