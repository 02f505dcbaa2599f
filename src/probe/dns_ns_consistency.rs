//! `dns-ns-consistency`: every authoritative name server of the domain's zone gives the same
//! answers for the records the other checks look at (and the same SOA serial).
//!
//! The resolver answers from one server (or its cache); customers who just edited their zone often
//! have a secondary that never got the update, so Microsoft's validation and their users see
//! different things. The probe finds the zone (the closest enclosing name with NS records), resolves
//! every NS host, and asks each address directly with recursion off.
//!
//! The NS set and the addresses come from the zone's owner, who may list hundreds: the probe
//! resolves at most [`MAX_NS_HOSTS`] NS hosts, asks at most [`MAX_ADDRESSES_PER_HOST`] addresses of
//! each and [`MAX_SERVERS`] in all, with at most [`QUERIES_PER_SERVER`] questions in flight per
//! server, and says in the evidence (`capped`) when it left any out. Real zones have 2–8 NS hosts.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::dns::{Answer, Question, Rtype};
use super::{PlanCx, ProbeCx, ProbeError};
use crate::outcome::{Finding, Judgement};
use crate::text::Text;

/// NS hosts whose addresses are looked up.
pub const MAX_NS_HOSTS: usize = 13;
/// Addresses asked per NS host (anycast services publish one or two).
pub const MAX_ADDRESSES_PER_HOST: usize = 2;
/// Server addresses asked in all.
pub const MAX_SERVERS: usize = 16;
/// Questions in flight to one server at a time.
pub const QUERIES_PER_SERVER: usize = 8;

/// `[check.probe]` of kind `dns-ns-consistency` (no parameters: the questions come from the other
/// DNS checks of the domain).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsNsConsistencySpec {}

/// Planned probe.
#[derive(Clone, Debug)]
pub struct DnsNsConsistencyTask {
    /// The domain.
    pub domain: String,
    /// Questions to compare across servers.
    pub questions: Vec<Question>,
}

impl DnsNsConsistencySpec {
    /// Plans for one domain with the sibling checks' questions.
    pub fn plan(&self, cx: &PlanCx<'_>, siblings: &[Question]) -> DnsNsConsistencyTask {
        let mut questions = siblings.to_vec();
        questions.sort();
        questions.dedup();
        DnsNsConsistencyTask {
            domain: cx.domain.to_string(),
            questions,
        }
    }
}

/// One authoritative server address and what it said.
#[derive(Clone, Debug, Serialize)]
pub struct ServerAnswers {
    /// NS host name.
    pub ns: String,
    /// Address asked.
    pub address: IpAddr,
    /// SOA serial of the zone, when it answered.
    pub soa_serial: Option<u32>,
    /// Whether every positive answer had the AA bit.
    pub authoritative: bool,
    /// `name TYPE` → answer summary (`records…`, `NXDOMAIN`, `NODATA`, or `error: …`).
    pub answers: BTreeMap<String, String>,
    /// The first error, if the server failed to answer.
    #[serde(serialize_with = "crate::text::serialize_en_opt")]
    pub error: Option<Text>,
}

/// What was seen.
#[derive(Clone, Debug, Serialize)]
pub struct DnsNsConsistencyEvidence {
    /// The zone apex found.
    pub zone: Option<String>,
    /// NS host names of the zone.
    pub name_servers: Vec<String>,
    /// NS hosts whose address could not be resolved.
    pub unresolved: Vec<String>,
    /// Per server address.
    pub servers: Vec<ServerAnswers>,
    /// What was left out because of the caps, when anything was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capped: Option<String>,
}

fn summarize(answer: &Answer) -> String {
    match answer {
        Answer::Noerror { records, .. } => {
            let mut r = records.clone();
            r.sort();
            r.join(" | ")
        }
        Answer::Nxdomain => "NXDOMAIN".into(),
        Answer::Nodata => "NODATA".into(),
    }
}

async fn find_zone(
    cx: &ProbeCx,
    domain: &str,
) -> Result<Option<(String, Vec<String>)>, ProbeError> {
    let mut name = domain.to_owned();
    loop {
        let lookup = cx.resolver.query(&Question::new(&name, Rtype::NS)).await?;
        if !lookup.answer.records().is_empty() {
            return Ok(Some((name, lookup.answer.records().to_vec())));
        }
        match name.split_once('.') {
            // Stop before the TLD: a domain whose zone is the TLD is not the customer's zone.
            Some((_, parent)) if parent.contains('.') => name = parent.to_owned(),
            _ => return Ok(None),
        }
    }
}

async fn ask_server(
    ns: String,
    address: IpAddr,
    zone: &str,
    questions: &[Question],
    cx: &ProbeCx,
) -> ServerAnswers {
    let mut out = ServerAnswers {
        ns,
        address,
        soa_serial: None,
        authoritative: true,
        answers: BTreeMap::new(),
        error: None,
    };
    let resolver = cx.authoritative.resolver(address);
    // The SOA first, alone: a server that does not answer it gets no further questions (a dead
    // or blocked server would otherwise cost a timeout per question).
    let soa_q = Question::new(zone, Rtype::SOA);
    match resolver.query_full(&soa_q).await {
        Ok((lookup, aa)) => {
            if !aa && !lookup.answer.records().is_empty() {
                out.authoritative = false;
            }
            out.soa_serial = lookup
                .answer
                .records()
                .first()
                .and_then(|s| s.rsplit(' ').next()?.parse().ok());
        }
        Err(e) => {
            let kind = e.kind();
            out.error = Some(text!("ns.error", kind = kind, error = e.text().clone()));
            for q in questions {
                out.answers
                    .insert(format!("{} {}", q.name, q.rtype), format!("error: {kind}"));
            }
            return out;
        }
    }
    // In chunks rather than a buffered stream: simple, and keeps the future `Send` for the runner.
    for chunk in questions.chunks(QUERIES_PER_SERVER) {
        let results = futures::future::join_all(chunk.iter().map(|q| resolver.query_full(q))).await;
        for (q, r) in chunk.iter().zip(results) {
            let key = format!("{} {}", q.name, q.rtype);
            match r {
                Ok((lookup, aa)) => {
                    if !aa && !lookup.answer.records().is_empty() {
                        out.authoritative = false;
                    }
                    out.answers.insert(key, summarize(&lookup.answer));
                }
                Err(e) => {
                    let kind = e.kind();
                    if out.error.is_none() {
                        out.error = Some(text!("ns.error", kind = kind, error = e.text().clone()));
                    }
                    out.answers.insert(key, format!("error: {kind}"));
                }
            }
        }
    }
    out
}

/// Finds the zone's servers and asks each one.
pub async fn observe(
    t: &DnsNsConsistencyTask,
    cx: &ProbeCx,
) -> Result<DnsNsConsistencyEvidence, ProbeError> {
    let mut ev = DnsNsConsistencyEvidence {
        zone: None,
        name_servers: vec![],
        unresolved: vec![],
        servers: vec![],
        capped: None,
    };
    let Some((zone, ns)) = find_zone(cx, &t.domain).await? else {
        return Ok(ev);
    };
    ev.zone = Some(zone.clone());
    ev.name_servers.clone_from(&ns);
    let hosts = &ns[..ns.len().min(MAX_NS_HOSTS)];
    let addr_questions: Vec<Question> = hosts.iter().map(|h| Question::new(h, Rtype::A)).collect();
    let addr_lookups =
        futures::future::join_all(addr_questions.iter().map(|q| cx.resolver.query(q))).await;
    let mut targets = Vec::new();
    let (mut found, mut skipped) = (0usize, 0usize);
    for (host, r) in hosts.iter().zip(addr_lookups) {
        let addrs: Vec<IpAddr> = r?
            .answer
            .records()
            .iter()
            .filter_map(|a| a.parse().ok())
            .collect();
        if addrs.is_empty() {
            ev.unresolved.push(host.clone());
        }
        let mut taken = 0;
        for a in addrs {
            if targets.iter().any(|(_, x)| *x == a) {
                continue;
            }
            found += 1;
            if taken == MAX_ADDRESSES_PER_HOST || targets.len() == MAX_SERVERS {
                skipped += 1;
                continue;
            }
            taken += 1;
            targets.push((host.clone(), a));
        }
    }
    if ns.len() > hosts.len() || skipped > 0 {
        ev.capped = Some(format!(
            "asked {} of {found} server addresses of {} of {} NS hosts (at most {MAX_NS_HOSTS} hosts, {MAX_ADDRESSES_PER_HOST} addresses each, {MAX_SERVERS} in all)",
            targets.len(),
            hosts.len(),
            ns.len()
        ));
    }
    ev.servers = futures::future::join_all(
        targets
            .into_iter()
            .map(|(h, a)| ask_server(h, a, &zone, &t.questions, cx)),
    )
    .await;
    if !ev.servers.is_empty()
        && ev
            .servers
            .iter()
            .all(|s| s.error.is_some() && s.soa_serial.is_none())
    {
        // Nobody answered: more likely our network blocks outbound DNS than every server being
        // down, so we cannot tell whether the zone is consistent.
        let first = ev.servers[0]
            .error
            .clone()
            .unwrap_or_else(|| text!("empty"));
        return Err(ProbeError::Dns {
            kind: "authoritative_unreachable",
            message: text!(
                "ns.none-answered",
                n = ev.servers.len(),
                zone = &zone,
                first = first,
                port = cx.authoritative.opts().port
            ),
        });
    }
    Ok(ev)
}

/// Pure judgement.
pub fn judge(t: &DnsNsConsistencyTask, e: &DnsNsConsistencyEvidence) -> Judgement {
    let expected = vec![text!("ns.expected")];
    let mut findings = Vec::new();
    let Some(zone) = &e.zone else {
        findings.push(Finding::fail(text!("ns.not-delegated", domain = &t.domain)));
        return Judgement::from_findings(findings, None, expected);
    };
    for h in &e.unresolved {
        findings.push(Finding::fail(text!("ns.no-address", ns = h, zone = zone)));
    }
    for s in &e.servers {
        if let Some(err) = &s.error {
            findings.push(Finding::fail(text!(
                "ns.no-answer",
                ns = &s.ns,
                address = s.address.to_string(),
                error = err.clone()
            )));
        } else if !s.authoritative {
            findings.push(Finding::fail(text!(
                "ns.not-authoritative",
                ns = &s.ns,
                address = s.address.to_string(),
                zone = zone
            )));
        }
    }
    let answering: Vec<&ServerAnswers> = e.servers.iter().filter(|s| s.error.is_none()).collect();
    let serial = |s: Option<u32>| match s {
        Some(v) => text!("value", value = v.to_string()),
        None => text!("ns.none"),
    };
    let serials: Vec<Text> = answering
        .iter()
        .map(|s| text!("ns.serial", ns = &s.ns, serial = serial(s.soa_serial)))
        .collect();
    let distinct: std::collections::BTreeSet<Option<u32>> =
        answering.iter().map(|s| s.soa_serial).collect();
    if distinct.len() > 1 {
        findings.push(Finding::fail(text!("ns.serials-differ", serials = serials)));
    }
    let mut differing = Vec::new();
    if let Some(first) = answering.first() {
        for (key, value) in &first.answers {
            let differs = answering
                .iter()
                .skip(1)
                .any(|s| s.answers.get(key) != Some(value));
            if differs {
                let per: Vec<String> = answering
                    .iter()
                    .map(|s| {
                        format!(
                            "{}: {}",
                            s.ns,
                            s.answers.get(key).map_or("-", String::as_str)
                        )
                    })
                    .collect();
                differing.push(format!("{key} ({})", per.join("; ")));
            }
        }
    }
    if !differing.is_empty() {
        let shown: Vec<&String> = differing.iter().take(5).collect();
        findings.push(Finding::fail(text!(
            "ns.disagree",
            n = differing.len(),
            sets = format!(
                "{}{}",
                shown
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                if differing.len() > 5 { ", …" } else { "" }
            )
        )));
    }
    let ok = text!(
        "ns.ok",
        n = e.servers.len(),
        zone = zone,
        sets = t.questions.len(),
        serial = serial(answering.first().and_then(|s| s.soa_serial))
    );
    Judgement::from_findings(findings, ok, expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Status;

    fn server(ns: &str, serial: u32, mx: &str) -> ServerAnswers {
        ServerAnswers {
            ns: ns.into(),
            address: "127.0.0.1".parse().unwrap(),
            soa_serial: Some(serial),
            authoritative: true,
            answers: BTreeMap::from([("contoso.com MX".to_owned(), mx.to_owned())]),
            error: None,
        }
    }

    #[test]
    fn boundaries() {
        let t = DnsNsConsistencyTask {
            domain: "contoso.com".into(),
            questions: vec![Question::new("contoso.com", Rtype::MX)],
        };
        let ev = |servers: Vec<ServerAnswers>| DnsNsConsistencyEvidence {
            capped: None,
            zone: Some("contoso.com".into()),
            name_servers: servers.iter().map(|s| s.ns.clone()).collect(),
            unresolved: vec![],
            servers,
        };
        let mx = "0 contoso-com.mail.protection.outlook.com";
        assert_eq!(
            judge(&t, &ev(vec![server("ns1", 1, mx), server("ns2", 1, mx)])).status,
            Status::Pass
        );
        assert_eq!(
            judge(&t, &ev(vec![server("ns1", 1, mx), server("ns2", 2, mx)])).status,
            Status::Fail
        );
        let j = judge(
            &t,
            &ev(vec![
                server("ns1", 1, mx),
                server("ns2", 1, "10 old.contoso.com"),
            ]),
        );
        assert_eq!(j.status, Status::Fail);
        assert!(j.message().contains("contoso.com MX"), "{}", j.message());
        let mut lame = server("ns2", 1, mx);
        lame.authoritative = false;
        assert_eq!(
            judge(&t, &ev(vec![server("ns1", 1, mx), lame])).status,
            Status::Fail
        );
        let mut dead = server("ns2", 1, mx);
        dead.error = Some(text!("dns.timeout"));
        assert_eq!(
            judge(&t, &ev(vec![server("ns1", 1, mx), dead])).status,
            Status::Fail
        );
        let mut none = ev(vec![]);
        none.zone = None;
        assert_eq!(judge(&t, &none).status, Status::Fail);
    }
}
