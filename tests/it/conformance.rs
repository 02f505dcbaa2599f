//! Conformance with outside test material: `dns.spf` against the SPF community's RFC 7208 suite
//! and checkdmarc's record strings, `dns.dmarc` against checkdmarc's.
//!
//! RFC 7208: the SPF community's test suite
//! (`tests/fixtures/external/pyspf/rfc7208-tests.yml`, the copy pyspf runs): every scenario's
//! zone data is served by the loopback DNS server, and every test's domain is walked by the real
//! probe.
//!
//! A readiness check has no sender address, so it can only agree with the suite where the
//! *published records* decide the result: a `permerror` caused by the records (syntax, limits,
//! loops, missing include targets) must be reported in `evidence.problem`, and a result decided
//! by the sender's IP, HELO or a macro must not be one. [`classify`] says which tests those are
//! and why the others are left out; the closing numbers are printed and asserted.

use std::collections::{BTreeMap, HashSet};

use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, PTR, TXT};
use hickory_proto::rr::{Name, RData, Record};
use serde_yaml::Value;
use tenant_ready::lab::{Behaviour, Zones};
use tenant_ready::probe::dns_spf::{DnsSpfTask, observe};

use crate::support::{probe_cx, server};

const SUITE: &str = include_str!("../fixtures/external/pyspf/rfc7208-tests.yml");

/// One scenario: its zone data and tests.
struct Scenario {
    description: String,
    zones: Zones,
    silent: HashSet<String>,
    tests: Vec<(String, Value)>,
}

fn name(n: &str) -> Option<Name> {
    // As the scanner puts names on the wire (a label may hold `:`, `/` or a space).
    tenant_ready::stub::wire_name(&format!("{}.", n.trim_end_matches('.'))).ok()
}

fn text(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Sequence(parts) => parts
            .iter()
            .filter_map(|p| p.as_str().map(str::to_owned))
            .collect(),
        other => vec![serde_yaml::to_string(other).unwrap_or_default()],
    }
}

fn scenarios() -> Vec<Scenario> {
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(SUITE) {
        let v = Value::deserialize(doc).unwrap();
        let mut zones = Zones::default();
        let mut silent = HashSet::new();
        // One root zone holds every name: a name the data does not list is NXDOMAIN, as on
        // the internet, not REFUSED.
        zones
            .add_zone(".", "@ 60 IN SOA ns.invalid. h.invalid. 1 60 60 60 60\n")
            .unwrap();
        let zonedata = v["zonedata"].as_mapping().cloned().unwrap_or_default();
        for (owner, records) in &zonedata {
            let owner = owner.as_str().unwrap().to_ascii_lowercase();
            let Some(n) = name(&owner) else {
                continue; // not a name DNS can carry; nothing can ask for it
            };
            let list = records.as_sequence().cloned().unwrap_or_default();
            let has_txt = list.iter().any(|r| r.get("TXT").is_some());
            // `TXT: NONE` says the name has no TXT record (so SPF data is not copied to it).
            let none = |v: &Value| v.as_str() == Some("NONE");
            let real_txt = list.iter().any(|r| r.get("TXT").is_some_and(|v| !none(v)));
            for r in &list {
                // TIMEOUT stands for queries the data does not answer: with TXT data present it
                // concerned the obsolete SPF type only, which RFC 7208 never asks for.
                if r.as_str() == Some("TIMEOUT") && !real_txt {
                    silent.insert(owner.trim_end_matches('.').to_owned());
                    continue;
                }
                let Some((k, val)) = r.as_mapping().and_then(|m| m.iter().next()) else {
                    continue;
                };
                let rdata = match k.as_str().unwrap() {
                    // RFC 7208 uses TXT only; the suite's drivers copy SPF-type data to TXT
                    // where a name has no TXT of its own (the suite's header says so).
                    // A TXT record carries at least one string; the suite's `[]` is not one.
                    "TXT" | "SPF" if text(val).is_empty() || none(val) => continue,
                    "TXT" => RData::TXT(TXT::new(text(val))),
                    "SPF" if !has_txt => RData::TXT(TXT::new(text(val))),
                    "A" => match val.as_str().and_then(|a| a.parse().ok()) {
                        Some(a) => RData::A(A(a)),
                        None => continue,
                    },
                    "AAAA" => match val.as_str().and_then(|a| a.parse().ok()) {
                        Some(a) => RData::AAAA(AAAA(a)),
                        None => continue,
                    },
                    "MX" => {
                        let (Some(pref), Some(Some(host))) = (
                            val[0].as_u64(),
                            val.get(1).map(|h| h.as_str().and_then(name)),
                        ) else {
                            continue;
                        };
                        RData::MX(MX::new(u16::try_from(pref).unwrap(), host))
                    }
                    "PTR" => match val.as_str().and_then(name) {
                        Some(h) => RData::PTR(PTR(h)),
                        None => continue,
                    },
                    "CNAME" => match val.as_str().and_then(name) {
                        Some(h) => RData::CNAME(CNAME(h)),
                        None => continue,
                    },
                    _ => continue,
                };
                zones.insert(Record::from_rdata(n.clone(), 60, rdata));
            }
        }
        let tests = v["tests"]
            .as_mapping()
            .unwrap()
            .iter()
            .map(|(k, t)| (k.as_str().unwrap().to_owned(), t.clone()))
            .collect();
        out.push(Scenario {
            description: v["description"].as_str().unwrap_or("").to_owned(),
            zones,
            silent,
            tests,
        });
    }
    out
}

use serde::Deserialize as _;

/// What the suite expects, as far as the records decide it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Want {
    /// The published records are a permerror.
    Permerror,
    /// The records are valid: no permerror.
    Valid,
    /// The domain publishes no SPF record (`none`): nothing to walk, no permerror.
    NoRecord,
}

/// Whether a test is decided by the records alone, and what it expects; `Err(why)` otherwise.
fn classify(name: &str, t: &Value) -> Result<Want, &'static str> {
    let results = results_of(t);
    if results.len() > 1 {
        return Err("the suite accepts several results");
    }
    let result = results.first().map_or("", String::as_str);
    // Results that depend on the evaluation of one sender, not on the records:
    if result == "temperror" {
        return Err("a DNS timeout or server failure decides it");
    }
    if name_depends_on_sender(name) {
        return Err("the sender's IP decides it: a limit is only reached past the term it matches");
    }
    Ok(match result {
        "permerror" => Want::Permerror,
        "none" => Want::NoRecord,
        _ => Want::Valid,
    })
}

/// Tests whose `permerror` (or its absence) only appears for the test's sender: a limit reached
/// only along the path this IP takes, a macro expanding to an invalid name, an `exp=` evaluated
/// only on `fail`. A readiness check without a sender cannot, and should not, reproduce them.
fn name_depends_on_sender(name: &str) -> bool {
    SENDER_DECIDED.contains(&name)
}

/// Listed by hand after reading each test's description and records (kept short on purpose:
/// every entry is a test the walk cannot decide without the sender).
///
/// * `include-at-limit`: `a include:inc.example.com ip4:1.2.3.4 mx -all` with 8 lookups in the
///   include: the test's sender matches `ip4:1.2.3.4` after 10 lookups and passes; any other
///   sender reaches `mx`, the 11th, and gets permerror. A readiness check answers for every
///   sender (RFC 7208 §4.6.4 counts what is evaluated), so it reports the permerror.
const SENDER_DECIDED: &[&str] = &["include-at-limit"];

/// The domain a test evaluates: the MAIL FROM's, else the HELO.
fn domain_of(t: &Value) -> String {
    let from = t["mailfrom"].as_str().unwrap_or("");
    match from.rsplit_once('@') {
        Some((_, d)) if !d.is_empty() => d.to_owned(),
        _ if !from.is_empty() && !from.contains('@') => from.to_owned(),
        _ => t["helo"].as_str().unwrap_or("").to_owned(),
    }
}

/// A loopback server for a scenario's zone data (its TIMEOUT names silent) and a probe context
/// asking it, each query bounded by `timeout`.
async fn serve(
    sc: &Scenario,
    timeout: std::time::Duration,
) -> (tenant_ready::lab::DnsServer, tenant_ready::probe::ProbeCx) {
    let behaviour = Behaviour {
        silent_for: sc.silent.clone(),
        ..Behaviour::default()
    };
    let srv = server(sc.zones.clone(), behaviour).await;
    let cx = probe_cx(
        srv.addr(),
        timeout,
        tenant_ready::settings::DEFAULT_CONCURRENCY,
    );
    (srv, cx)
}

#[tokio::test(flavor = "multi_thread")]
async fn rfc7208_record_decided_cases_agree() {
    let mut agree = 0;
    let mut disagree = Vec::new();
    let mut left_out: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for sc in scenarios() {
        let (_srv, cx) = serve(&sc, std::time::Duration::from_secs(2)).await;
        for (name, t) in &sc.tests {
            let want = match classify(name, t) {
                Ok(w) => w,
                Err(why) => {
                    left_out.entry(why).or_default().push(name.clone());
                    continue;
                }
            };
            let domain = domain_of(t).to_ascii_lowercase();
            let task = DnsSpfTask {
                domain: domain.trim_end_matches('.').to_owned(),
                include: "spf.protection.outlook.com".into(),
                max_lookups: 10,
                max_void_lookups: 2,
                requirement: tenant_ready::level::Requirement::default(),
            };
            let got = match observe(&task, &cx).await {
                Ok(e) => match (&e.problem, e.spf_records.len()) {
                    (Some(p), _) => Ok(Some(format!(
                        "{}: {}",
                        p.kind,
                        p.reason.render(tenant_ready::output::Lang::En)
                    ))),
                    (None, 0) => Err("no SPF record found".to_owned()),
                    (None, _) => Ok(None),
                },
                Err(e) => Err(format!("error: {e}")),
            };
            let ok = matches!(
                (want, &got),
                (Want::Permerror, Ok(Some(_))) | (Want::Valid, Ok(None)) | (Want::NoRecord, Err(_))
            ) && !(want == Want::NoRecord
                && got.as_ref().err().is_some_and(|e| e.starts_with("error")));
            if ok {
                agree += 1;
            } else {
                disagree.push(format!(
                    "[{}] {name} ({domain}): want {want:?}, got {got:?} — {}",
                    sc.description,
                    t["description"].as_str().unwrap_or("").replace('\n', " ")
                ));
            }
        }
    }
    let decided = agree + disagree.len();
    eprintln!("RFC 7208 suite: {agree} of {decided} record-decided cases agree");
    for (why, names) in &left_out {
        eprintln!("  left out ({why}): {} — {}", names.len(), names.join(", "));
    }
    assert!(
        disagree.is_empty(),
        "{} disagree:\n{}",
        disagree.len(),
        disagree.join("\n")
    );
    // Every test of the suite is accounted for: 191 decided by the records, 12 left out above.
    assert_eq!(decided, 191, "the record-decided set changed");
}

/// The results a test accepts (`result` is one string or a list).
fn results_of(t: &Value) -> Vec<String> {
    match &t["result"] {
        Value::String(s) => vec![s.clone()],
        Value::Sequence(v) => v
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => vec![],
    }
}

/// The whole suite through the RFC 7208 `check_host()` that `dns.spf` evaluates Microsoft's
/// sending ranges with: every test, with its own client address, MAIL FROM and HELO, must give
/// one of the results the suite accepts. Nothing is left out. The suite runs twice: on its own,
/// and with one include memo shared by every test of a scenario (as a scan shares it between
/// domains), which must not change a single result.
#[tokio::test(flavor = "multi_thread")]
async fn rfc7208_suite_through_check_host() {
    use tenant_ready::probe::spf_eval::{Identity, IncludeMemo, check_host};
    let mut agree = 0;
    let mut disagree = Vec::new();
    for (sc, shared) in scenarios().into_iter().flat_map(|sc| {
        let sc = std::sync::Arc::new(sc);
        [(std::sync::Arc::clone(&sc), false), (sc, true)]
    }) {
        // A short timeout: the suite's TIMEOUT names are never answered.
        let (_srv, cx) = serve(&sc, std::time::Duration::from_millis(800)).await;
        let memo = IncludeMemo::default();
        for (name, t) in &sc.tests {
            let ip = t["host"].as_str().unwrap().parse().unwrap();
            let helo = t["helo"].as_str().unwrap_or("").to_owned();
            let from = t["mailfrom"].as_str().unwrap_or("");
            // RFC 7208 §2.4: an empty MAIL FROM is checked as postmaster@HELO; §4.3: an empty
            // local part is "postmaster".
            let sender = match from.rsplit_once('@') {
                _ if from.is_empty() => format!("postmaster@{helo}"),
                Some(("", d)) => format!("postmaster@{d}"),
                Some(_) => from.to_owned(),
                None => format!("postmaster@{from}"),
            };
            let domain = sender.rsplit_once('@').map_or("", |(_, d)| d).to_owned();
            let id = Identity { ip, sender, helo };
            let got = check_host(&cx.resolver, &id, &domain, shared.then_some(&memo)).await;
            let want = results_of(t);
            if want.iter().any(|w| w == got.as_str()) {
                agree += 1;
            } else {
                disagree.push(format!(
                    "[{}] {name}{}: want {want:?}, got {} — {}",
                    sc.description,
                    if shared { " (shared memo)" } else { "" },
                    got.as_str(),
                    t["description"].as_str().unwrap_or("").replace('\n', " ")
                ));
            }
        }
    }
    eprintln!(
        "RFC 7208 suite through check_host: {agree} of {} agree",
        agree + disagree.len()
    );
    assert!(
        disagree.is_empty(),
        "{} disagree:\n{}",
        disagree.len(),
        disagree.join("\n")
    );
    assert_eq!(agree, 2 * 203, "every test of the suite is run, twice");
}

const CHECKDMARC: &str = include_str!("../fixtures/external/checkdmarc/checkdmarc_records.tsv");

/// checkdmarc's rows whose result the record string alone decides (`dns` = `none`):
/// (kind, record, expected).
fn checkdmarc_rows() -> Vec<(String, String, String)> {
    CHECKDMARC
        .lines()
        .skip(1)
        .filter_map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            (c.len() >= 6 && c[5] == "none").then(|| {
                // The TSV quotes a few records; the record is what is inside the quotes.
                let record = c[2].trim_matches('"').replace("\\t", "\t");
                (c[0].to_owned(), record, c[4].to_owned())
            })
        })
        .collect()
}

#[test]
fn checkdmarc_spf_syntax_errors_are_permerrors() {
    let (mut errors, mut valid) = (0, 0);
    for (kind, record, expected) in checkdmarc_rows() {
        if kind != "spf" {
            continue;
        }
        let parsed = tenant_ready::spf::parse(&record);
        match expected.as_str() {
            "error:SPFSyntaxError" => {
                errors += 1;
                assert!(
                    parsed.is_err(),
                    "checkdmarc: syntax error; we accept `{record}`"
                );
            }
            "ok" => {
                valid += 1;
                assert!(
                    parsed.is_ok(),
                    "checkdmarc: valid; we refuse `{record}`: {parsed:?}"
                );
            }
            // Loops need the domain's records: the walk's own tests cover them.
            _ => {}
        }
    }
    eprintln!("checkdmarc SPF strings: {errors} syntax errors and {valid} valid records agree");
    assert_eq!((errors, valid), (18, 19));
}

#[test]
fn checkdmarc_dmarc_errors_are_at_least_warnings_naming_the_tag() {
    use tenant_ready::level::{Level, Requirement};
    use tenant_ready::outcome::Status;
    use tenant_ready::probe::dns::{Answer, Lookup, Question, Rtype};
    use tenant_ready::probe::dns_dmarc::{DnsDmarcEvidence, DnsDmarcTask, is_dmarc, judge, parse};
    let task = DnsDmarcTask {
        name: "_dmarc.example.com".into(),
        weak_policies: vec!["none".into()],
        requirement: Requirement {
            level: Level::Recommended,
            why: Some("receivers need it".into()),
            why_ko: None,
        },
    };
    let judged = |record: &str| {
        let dmarc: Vec<String> = [record]
            .iter()
            .filter(|r| is_dmarc(r))
            .map(|r| (*r).to_owned())
            .collect();
        let policy = (dmarc.len() == 1).then(|| parse(&dmarc[0]));
        let e = DnsDmarcEvidence {
            lookup: Lookup {
                question: Question::new("_dmarc.example.com", Rtype::TXT),
                answer: Answer::Noerror {
                    records: vec![record.to_owned()],
                    ttl_s: 3600,
                },
                retransmitted: 0,
            },
            dmarc_records: dmarc,
            policy,
        };
        (judge(&task, &e), e)
    };
    // What each error's message must name: the tag checkdmarc objects to.
    let culprit = |record: &str| -> &'static str {
        [
            ("rua=", "rua="),
            ("p=foo", "p=foo"),
            ("np=invalid", "np=invalid"),
            ("psd=x", "psd=x"),
            ("t=x", "t=x"),
            ("fo=invalid_value", "fo=invalid_value"),
            ("fo=x", "fo=x"),
            ("sp=invalid", "sp=invalid"),
            ("p=reject; p=none", "p= appears more than once"),
            ("v=spf1", "none is a DMARC record"),
        ]
        .iter()
        .find(|(k, _)| record.contains(k))
        .map_or("`p` has no value", |(_, v)| *v)
    };
    let (mut errors, mut valid) = (0, 0);
    for (kind, record, expected) in checkdmarc_rows() {
        if kind != "dmarc" {
            continue;
        }
        let (j, e) = judged(&record);
        let said = j.message();
        if expected == "ok" {
            valid += 1;
            let problems = e
                .policy
                .as_ref()
                .map(|p| p.problems.clone())
                .unwrap_or_default();
            assert!(
                problems.is_empty(),
                "checkdmarc: valid; we object to `{record}`: {problems:?}"
            );
            if e.policy.as_ref().is_some_and(|p| p.p.is_none()) {
                // No p=, a valid rua=: receivers act as if p=none (RFC 7489 §6.6.3): a warning.
                assert_eq!(j.status, Status::Warn, "{record}: {said}");
                assert!(said.contains("as if p=none"), "{said}");
            }
        } else {
            errors += 1;
            assert_ne!(
                j.status,
                Status::Pass,
                "checkdmarc: {expected}; we pass `{record}`"
            );
            let tag = culprit(&record);
            assert!(
                said.contains(tag),
                "`{record}` ({expected}): the message does not name `{tag}`: {said}"
            );
        }
    }
    eprintln!("checkdmarc DMARC strings: {errors} errors and {valid} valid records agree");
    assert_eq!((errors, valid), (12, 28));
}
