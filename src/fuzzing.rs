//! The fuzz targets' bodies (`fuzz/fuzz_targets/*.rs` call these), kept in the library so the
//! crash inputs the fuzzers found run as ordinary tests (`tests/it/fuzz_regressions.rs`) through
//! exactly the same code. Each takes arbitrary bytes and must return without panicking.

use std::path::{Path, PathBuf};

use crate::catalog::{self, Catalog};
use crate::output::Format;
use crate::settings::{self, Env, LoadedFile, Settings};

/// The targets, by name (the `fuzz/` binary and `fuzz/regressions/<name>/`).
pub const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("tls_hello", tls_hello),
    ("stun", stun),
    ("spf", spf),
    ("dmarc", dmarc),
    ("federation_metadata", federation_metadata),
    ("endpoint_list", endpoint_list),
    ("saved_report", saved_report),
    ("config", config),
    ("entra_answers", entra_answers),
    ("dns_answer", dns_answer),
    ("graph_answers", graph_answers),
    ("directory_answers", directory_answers),
];

/// A ServerHello / alert, as a server or a middlebox sends it.
pub fn tls_hello(data: &[u8]) {
    let _ = crate::tls::hello::parse_reply(data);
}

/// A DNS answer from any server (or anyone spoofing one): the stub's acceptance (question match)
/// and its reading of the answer (codes, CNAME chains, records at the chain's end).
pub fn dns_answer(data: &[u8]) {
    let Ok(m) = hickory_proto::op::Message::from_vec(data) else {
        return;
    };
    // The message's own question, so the accepted path is reached too.
    let Some(q) = m.queries.first().cloned() else {
        return;
    };
    if let crate::stub::Acceptance::Answer(answer) = crate::stub::accept(&q, data) {
        let _ = crate::stub::follow(*answer, q.name(), q.query_type(), &mut Vec::new());
    }
}

/// Microsoft Graph's and the token endpoint's answers (or whoever answers as them): a status, a
/// `Retry-After` header and a body, through the same pure readers the client uses (`graph`:
/// body, token, next step, `value` lists), then the view a scan judges by and the tenant.toml
/// `init --from-graph` writes from it. Properties, not only "no panic": every error is one line
/// (no control character: issue 25), a wait never passes the deadline, and what init writes a
/// scan loads.
///
/// Input: one byte choosing the status, the header up to the first newline, then the body.
pub fn graph_answers(data: &[u8]) {
    use crate::graph::{GraphDomain, GraphRecord, GraphView, Next};
    use std::time::{Duration, Instant};
    const STATUSES: [u16; 8] = [200, 401, 403, 429, 500, 503, 302, 404];
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let status = STATUSES[usize::from(which) % STATUSES.len()];
    let (header, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (&[][..], rest),
    };
    // As reqwest gives a header to `to_str`: visible ASCII only.
    let header = std::str::from_utf8(header)
        .ok()
        .filter(|h| h.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b)));
    let one_line = |m: &str| {
        assert!(!m.chars().any(char::is_control), "not one line: {m:?}");
    };
    let body = match crate::graph::parse_body(status, body) {
        Ok(v) => v,
        Err(e) => return one_line(&e),
    };
    if let Err(e) = crate::graph::token_of(status, &body) {
        one_line(&e);
    }
    let now = Instant::now();
    let deadline = now + Duration::from_secs(30);
    match crate::graph::next_step("/v1.0/domains", status, header, body.clone(), now, deadline) {
        Next::Failed(e) => one_line(&e),
        Next::RetryAfter(wait) => assert!(now + wait < deadline, "waits past the deadline"),
        Next::Done(_) => {}
    }
    let domains: Vec<GraphDomain> = crate::graph::values(&body, "domains")
        .inspect_err(|e| one_line(e))
        .unwrap_or_default();
    let records: Vec<GraphRecord> = crate::graph::values(&body, "records")
        .inspect_err(|e| one_line(e))
        .unwrap_or_default();
    // Every domain's records are the same list here; a few domains are enough to reach them.
    let view = GraphView {
        records: domains
            .iter()
            .take(4)
            .map(|d| (d.id.to_ascii_lowercase(), records.clone(), records.clone()))
            .collect(),
        domains,
    };
    for d in &view.domains {
        let _ = (view.domain(&d.id), view.verification(&d.id), view.mx(&d.id));
    }
    let text = crate::init_cmd::tenant_toml(
        &view,
        &crate::init_cmd::Learned::default(),
        crate::tenant::Cloud::Worldwide,
        "fuzz",
    );
    let path = Path::new("tenant.toml");
    let file = match settings::parse_file(text.as_bytes(), path) {
        Ok(f) => f,
        Err(e) => panic!("init --from-graph wrote a tenant.toml that does not parse: {e}\n{text}"),
    };
    if file.domain.is_empty() {
        // A tenant with no domain but its initial one: the file says so, and a scan of it asks
        // for domains (a usage message, not a broken file).
        return;
    }
    let loaded = LoadedFile {
        path: path.to_owned(),
        file,
        dkim: None,
    };
    if let Err(e) = Settings::resolve(
        &crate::cli::ScanArgs::default(),
        Some(&loaded),
        &Env::default(),
    ) {
        panic!("init --from-graph wrote a tenant.toml a scan refuses: {e}\n{text}");
    }
}

/// A STUN Binding response from any server on the path, and the lab server's request parser.
pub fn stun(data: &[u8]) {
    let _ = crate::stun::parse_response(data, &[7; 12]);
    // The message's own transaction id, so matching ids are reached too.
    if let Some(own) = data.get(8..20).and_then(|s| <[u8; 12]>::try_from(s).ok()) {
        let _ = crate::stun::parse_response(data, &own);
    }
    let peer = std::net::SocketAddr::from(([192, 0, 2, 1], 3478));
    let _ = crate::stun::binding_success(data, peer);
}

/// A TXT string through the SPF parser.
pub fn spf(data: &[u8]) {
    use crate::spf::Mechanism;
    let text = String::from_utf8_lossy(data);
    if crate::spf::is_spf(&text)
        && let Ok(rec) = crate::spf::parse(&text)
    {
        let _ = rec.all();
        // What an evaluation does with the record's text before any query: macros expanded
        // (for an IPv4 and an IPv6 client), the name put on the wire, ranges split.
        let v4 = std::net::IpAddr::from([192, 0, 2, 3]);
        let v6 = std::net::IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xcb01]);
        for d in &rec.directives {
            let _ = d.mechanism.counts();
            let spec = match &d.mechanism {
                Mechanism::Include(s) | Mechanism::Exists(s) => Some(s.as_str()),
                Mechanism::A(s, _) | Mechanism::Mx(s, _) | Mechanism::Ptr(s) => s.as_deref(),
                Mechanism::Ip4(n, l) => {
                    let _ = crate::probe::spf_eval::ends_of((*n).into(), *l);
                    None
                }
                Mechanism::Ip6(n, l) => {
                    let _ = crate::probe::spf_eval::ends_of((*n).into(), *l);
                    None
                }
                Mechanism::All => None,
            };
            for ip in [v4, v6] {
                let cx = crate::spf_macro::MacroCx {
                    sender: "strong-bad@email.example.com",
                    domain: "email.example.com",
                    ip,
                    helo: "mx.example.org",
                    validated: "unknown",
                };
                if let Some(Ok(name)) = spec.map(|s| crate::spf_macro::expand(s, &cx)) {
                    let _ = crate::stub::wire_name(&format!("{name}."));
                }
            }
        }
    }
    let _ = crate::spf::parse(&text);
    let _ = crate::stub::wire_name(&text);
}

/// A TXT string at `_dmarc.<domain>`.
pub fn dmarc(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = crate::probe::dns_dmarc::is_dmarc(&text);
    let _ = crate::probe::dns_dmarc::parse(&text);
}

/// Federation metadata XML from whoever answers at the AD FS URL.
pub fn federation_metadata(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = crate::probe::tls_federation::parse_metadata(&text);
}

/// An endpoint list: bytes in any encoding Windows tools write, Microsoft's JSON shape, then the
/// ports and hosts of each set.
pub fn endpoint_list(data: &[u8]) {
    let Ok((text, _)) = crate::text_file::decode(data) else {
        return;
    };
    let Ok(list) = crate::endpoint_sets::EndpointList::parse(&text, "fuzz") else {
        return;
    };
    let _ = list.describe();
    for set in &list.sets {
        let _ = set.label();
        let _ = set.tcp();
        let _ = set.udp();
    }
}

/// A saved JSON report: load, then every renderer and the diff.
pub fn saved_report(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // NDJSON (a streamed report, maybe cut short) or one JSON document.
    let parsed = if crate::report::ndjson::looks_like(text) {
        static CATALOG: std::sync::OnceLock<Option<Catalog>> = std::sync::OnceLock::new();
        let Some(catalog) = CATALOG.get_or_init(|| Catalog::embedded().ok()) else {
            return;
        };
        large_report(text, catalog);
        crate::report::ndjson::parse(text, Path::new("fuzz.ndjson"), catalog).map(|(r, _)| r)
    } else {
        crate::report::saved::parse(text, Path::new("fuzz.json"))
    };
    let Ok(r) = parsed else {
        return;
    };
    for format in [
        Format::Human,
        Format::Json,
        Format::Markdown,
        Format::Junit,
        Format::Html,
        Format::Ndjson,
    ] {
        let _ =
            crate::report::render_format(&r, format, crate::report::human::HumanOptions::default());
    }
    let d = crate::report::saved::diff(&r, &r);
    let _ = crate::report::saved::render_diff(&d);
    // The pictures and the diff page read the evidence too: numbers, samples and thresholds.
    let mut page = Vec::new();
    let _ = crate::report::html::render_diff(&r, &d, crate::output::Lang::Ko, &mut page);
    // `serve`'s exposition of it: whatever a subject or check id holds, it stays inside its
    // label value (one line per series: five status series per result, keyed by check, subject
    // and responsibility, so duplicate keys share theirs).
    let text = crate::serve::metrics::scrape(
        Some(&r),
        &crate::serve::metrics::ServerState::default(),
        "fuzz",
    );
    let keys: std::collections::HashSet<(&str, &str, &str)> = r
        .results
        .iter()
        .map(|x| {
            (
                x.check.as_str(),
                x.subject.as_str(),
                x.responsibility.as_str(),
            )
        })
        .collect();
    let series = text
        .lines()
        .filter(|l| l.starts_with("tenant_ready_check_status{"))
        .count();
    assert_eq!(series, keys.len() * 5, "{text}");
}

/// A saved NDJSON report read line by line into a large report's digest (what `report render`
/// does past 20,000 results), and both of its pages: whatever a line holds, no markup of its
/// own reaches the HTML (every `<` on the page is one of ours).
fn large_report(text: &str, catalog: &Catalog) {
    let Ok((d, _)) =
        crate::report::digest::Digest::read_ndjson(text.as_bytes(), Path::new("fuzz"), catalog)
    else {
        return;
    };
    let mut page = Vec::new();
    if crate::report::large::html(&d, crate::output::Lang::En, &mut page).is_ok() {
        let page = String::from_utf8_lossy(&page);
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(!page.contains("<img"), "{page}");
    }
    let _ = crate::report::large::markdown(&d, crate::output::Lang::Ko, &mut Vec::new());
}

/// Microsoft Entra ID's and Microsoft Graph's JSON answers (or whoever answers as them): OpenID
/// discovery, home realm discovery, Graph's domain and record lists.
pub fn entra_answers(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let d = crate::probe::entra_domain::read_discovery(String::new(), 400, &v);
    let _ = d.tenant_id.as_deref().map(str::len);
    let _ = crate::probe::entra_domain::read_realm(String::new(), 200, &v);
    if let Some(list) = v.get("value") {
        let _ = serde_json::from_value::<Vec<crate::graph::GraphDomain>>(list.clone());
        if let Ok(records) = serde_json::from_value::<Vec<crate::graph::GraphRecord>>(list.clone())
        {
            let view = crate::graph::GraphView {
                domains: vec![],
                records: vec![("x.test".into(), records.clone(), records)],
            };
            let _ = (view.verification("x.test"), view.mx("x.test"));
        }
    }
    tenant_resources(&v);
}

/// The tenant checks' readers and judges on one Graph answer (`value`, or the object), read as
/// each resource they ask for: Conditional Access policies, subscriptions, users. Nothing
/// panics, every message renders, and what `init --from-graph` writes of it stays valid TOML.
fn tenant_resources(v: &serde_json::Value) {
    use crate::probe::{ProbeSpec, entra_licences, entra_mfa, entra_services, graph_users};
    static CATALOG: std::sync::OnceLock<Option<Catalog>> = std::sync::OnceLock::new();
    let Some(catalog) = CATALOG.get_or_init(|| Catalog::embedded().ok()) else {
        return;
    };
    let items: Vec<serde_json::Value> = match v.get("value").and_then(|x| x.as_array()) {
        Some(a) => a.iter().take(1_000).cloned().collect(),
        None => vec![v.clone()],
    };
    let render = |j: &crate::outcome::Judgement| {
        for t in j.message.iter().chain(&j.expected) {
            let _ = (
                t.render(crate::output::Lang::En),
                t.render(crate::output::Lang::Ko),
            );
        }
    };
    let mut users = graph_users::UsersSummary::default();
    users.add_page(&items, &|n| crate::probe::graph_get::redact("fuzz", n));
    let mut learned = crate::init_cmd::Learned {
        users: Ok(users.licensed),
        ..crate::init_cmd::Learned::default()
    };
    for c in &catalog.checks {
        match &c.probe {
            ProbeSpec::EntraMfa(spec) => {
                let e = entra_mfa::EntraMfaEvidence {
                    security_defaults: false,
                    policies: items
                        .iter()
                        .filter_map(|p| entra_mfa::policy_of(spec, p))
                        .collect(),
                    registration: None,
                    registration_unread: None,
                };
                render(&entra_mfa::judge(spec, &e));
            }
            ProbeSpec::EntraLicences(spec) => {
                let task = entra_licences::EntraLicencesTask {
                    spec: spec.clone(),
                    users: Some(u32::try_from(users.users).unwrap_or(u32::MAX)),
                };
                let e = entra_licences::EntraLicencesEvidence {
                    skus: items
                        .iter()
                        .map(|s| entra_licences::sku_of(spec, s))
                        .collect(),
                    users_expected: task.users,
                    users: Some(users.users),
                    licensed: Some(users.licensed),
                    no_usage_location: Some(users.no_usage_location.clone()),
                    users_unread: None,
                };
                render(&entra_licences::judge(&task, &e));
            }
            ProbeSpec::EntraServices(spec) => {
                let task = entra_services::EntraServicesTask {
                    spec: spec.clone(),
                    services: crate::tenant::Service::DEFAULT.to_vec(),
                };
                let services = entra_services::states(&task, &items);
                render(&entra_services::judge(
                    &task,
                    &entra_services::EntraServicesEvidence {
                        services: services.clone(),
                    },
                ));
                learned.services = Ok(services);
            }
            _ => {}
        }
    }
    let view = crate::graph::GraphView {
        domains: vec![],
        records: vec![],
    };
    let text =
        crate::init_cmd::tenant_toml(&view, &learned, crate::tenant::Cloud::Worldwide, "fuzz");
    if let Err(e) = toml::from_str::<crate::tenant::TenantFile>(&text) {
        panic!("init wrote a file a scan refuses: {e}\n{text}");
    }
}

fn plan(catalog: &Catalog, file: Option<&LoadedFile>) {
    let args = crate::cli::ScanArgs {
        domains: if file.is_some() {
            vec![]
        } else {
            vec!["contoso.com".into()]
        },
        ..Default::default()
    };
    if let Ok(s) = Settings::resolve(&args, file, &Env::default()) {
        let _ = crate::plan::plan(catalog, &s);
    }
}

fn embedded_checks() -> Vec<(PathBuf, String)> {
    catalog::EMBEDDED_CHECKS
        .iter()
        .map(|(n, t)| (PathBuf::from(n), (*t).to_owned()))
        .collect()
}

/// tenant.toml and `--checks` files: the first byte picks which file the rest is (0 tenant.toml,
/// 1 a check file, 2 clouds.toml, 3 responsibilities.toml), then everything a scan does before
/// its first packet: parse, resolve, validate, plan.
pub fn config(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest).into_owned();
    let responsibilities = (
        Path::new("responsibilities.toml"),
        catalog::EMBEDDED_RESPONSIBILITIES,
    );
    let clouds = (Path::new("clouds.toml"), catalog::EMBEDDED_CLOUDS);
    match which % 4 {
        0 => {
            let path = Path::new("tenant.toml");
            if let Ok(file) = settings::parse_file(rest, path)
                && let Ok(c) = Catalog::embedded()
            {
                let lf = LoadedFile {
                    path: path.to_owned(),
                    file,
                    dkim: None,
                };
                plan(&c, Some(&lf));
            }
        }
        1 => {
            let files = vec![(PathBuf::from("mine.toml"), text)];
            if let Ok(c) = Catalog::from_parts(&files, responsibilities, clouds, "fuzz".into()) {
                plan(&c, None);
            }
        }
        2 => {
            let clouds = (Path::new("clouds.toml"), text.as_str());
            if let Ok(c) =
                Catalog::from_parts(&embedded_checks(), responsibilities, clouds, "fuzz".into())
            {
                plan(&c, None);
            }
        }
        _ => {
            let own = (Path::new("responsibilities.toml"), text.as_str());
            if let Ok(c) = Catalog::from_parts(&embedded_checks(), own, clouds, "fuzz".into()) {
                plan(&c, None);
            }
        }
    }
}

/// What a domain controller (or anything answering in its place) sends: a search result entry
/// or reference as BER, read without ldap3's panicking parsers, every value judged by every
/// built-in directory rule and written as a CSV field; the bytes also as a paged-results control
/// value and as a bind diagnostic.
pub fn directory_answers(data: &[u8]) {
    use crate::directory::{bind, entry, read, rules};
    use crate::probe::ProbeSpec;
    static RULES: std::sync::LazyLock<Vec<std::sync::Arc<rules::RuleSpec>>> =
        std::sync::LazyLock::new(|| {
            Catalog::embedded()
                .map(|c| {
                    c.checks
                        .iter()
                        .filter_map(|k| match &k.probe {
                            ProbeSpec::DirectoryObjects(s) => Some(s.rule.clone()),
                            _ => None,
                        })
                        .flatten()
                        .collect()
                })
                .unwrap_or_default()
        });
    let tenant = rules::Tenant {
        domains: vec!["contoso.com".into()],
    };
    let (e, refs) = entry::from_ber(data);
    for r in &refs {
        let _ = read::other_domain(r);
    }
    if let Some(e) = e {
        let _ = crate::report::directory_csv::field(&e.dn);
        for (name, values) in &e.attrs {
            let _ = read::ranged(name);
            for v in values {
                let _ = crate::report::directory_csv::field(&read::clip(v));
                for rule in RULES.iter() {
                    if let Some(part) = rules::tested_part(rule, v) {
                        let _ = rules::breaks(rule, &part, &tenant);
                        let _ = rules::suggest(rule, v, &tenant);
                        let _ = rules::duplicate_key(&part);
                    }
                }
            }
        }
    }
    let control = ldap3::controls::Control(
        None,
        ldap3::controls::RawControl {
            ctype: "1.2.840.113556.1.4.319".into(),
            crit: false,
            val: Some(data.to_vec()),
        },
    );
    let _ = read::next_cookie(&[control]);
    let _ = bind::ad_subcode(&String::from_utf8_lossy(data));
}
