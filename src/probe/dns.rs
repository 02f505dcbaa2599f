//! Shared DNS plumbing for the `dns-*` probe kinds: building the hickory resolver (system
//! configuration or `--nameserver`), asking one question, and turning hickory's answers and errors
//! into evidence ([`Answer`]) or a [`ProbeError`].
//!
//! NXDOMAIN and NODATA are *answers* (the zone says the record does not exist); only transport
//! failures and server failures (timeout, REFUSED, SERVFAIL, garbage) are errors, because then we
//! do not know what the zone says.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{RData, Record, RecordType};
use hickory_resolver::TokioResolver;
use hickory_resolver::net::{DnsError, NetError};
use serde::Serialize;

use super::ProbeError;
use crate::pattern::normalize_name;
use crate::stub::{self, StubError};
use crate::text::Text;

/// One DNS question: a name and a record type.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Question {
    /// Owner name, normalised.
    pub name: String,
    /// Record type (`TXT`, `MX`…).
    #[serde(rename = "type")]
    pub rtype: Rtype,
}

/// The record types the probes ask for.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "UPPERCASE")]
#[allow(clippy::upper_case_acronyms, reason = "DNS record type names")]
pub enum Rtype {
    /// IPv4 address.
    A,
    /// IPv6 address.
    AAAA,
    /// Alias.
    CNAME,
    /// Mail exchanger.
    MX,
    /// Name server.
    NS,
    /// Pointer (reverse lookups: SPF `ptr` and `%{p}`).
    PTR,
    /// Start of authority.
    SOA,
    /// Service locator.
    SRV,
    /// Text.
    TXT,
}

impl Rtype {
    fn to_hickory(self) -> RecordType {
        match self {
            Self::A => RecordType::A,
            Self::AAAA => RecordType::AAAA,
            Self::CNAME => RecordType::CNAME,
            Self::MX => RecordType::MX,
            Self::NS => RecordType::NS,
            Self::PTR => RecordType::PTR,
            Self::SOA => RecordType::SOA,
            Self::SRV => RecordType::SRV,
            Self::TXT => RecordType::TXT,
        }
    }

    /// Whether record data of this type is a host name (compared as a name, not as text).
    pub fn is_name(self) -> bool {
        matches!(self, Self::CNAME | Self::NS | Self::PTR)
    }
}

impl std::fmt::Display for Rtype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::A => "A",
            Self::AAAA => "AAAA",
            Self::CNAME => "CNAME",
            Self::MX => "MX",
            Self::NS => "NS",
            Self::PTR => "PTR",
            Self::SOA => "SOA",
            Self::SRV => "SRV",
            Self::TXT => "TXT",
        })
    }
}

impl Question {
    /// A question for `name` (normalised here).
    pub fn new(name: &str, rtype: Rtype) -> Self {
        Self {
            name: normalize_name(name),
            rtype,
        }
    }
}

/// What the DNS said about one question.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "rcode", rename_all = "lowercase")]
pub enum Answer {
    /// Records of the asked type (presentation form, names lower-case without trailing dot;
    /// TXT character-strings concatenated as RFC 7208 §3.3 says).
    Noerror {
        /// The records, in the order received.
        records: Vec<String>,
        /// Smallest TTL of the answer, seconds.
        ttl_s: u32,
    },
    /// The name does not exist.
    Nxdomain,
    /// The name exists but has no record of this type.
    Nodata,
}

impl Answer {
    /// The records, or none for NXDOMAIN/NODATA.
    pub fn records(&self) -> &[String] {
        match self {
            Self::Noerror { records, .. } => records,
            Self::Nxdomain | Self::Nodata => &[],
        }
    }

    /// Short form for messages: `NXDOMAIN`, `NODATA` or the records.
    pub fn describe(&self) -> Text {
        match self {
            Self::Noerror { records, .. } => text!("value", value = records.join(", ")),
            Self::Nxdomain => text!("dns.nxdomain"),
            Self::Nodata => text!("dns.nodata"),
        }
    }
}

/// A question with its answer: the unit of DNS evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Lookup {
    /// What was asked.
    #[serde(flatten)]
    pub question: Question,
    /// What came back.
    pub answer: Answer,
    /// Times the query was sent again before the answer came (a datagram lost on the way, or a
    /// late answer): each transmission shows in the evidence, and none is hidden. Absent when
    /// zero, and with the system resolver (which does not say).
    #[serde(skip_serializing_if = "is_zero")]
    pub retransmitted: u32,
}

/// Serde helper: omit a zero count.
#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde passes fields by reference"
)]
fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The resolver the probes share, with a description of where it sends queries (for the report).
#[derive(Clone)]
pub struct Resolver {
    backend: Backend,
    servers: Arc<Vec<String>>,
    /// A name that must exist, asked before any "does not exist" is believed (scan resolvers).
    canary: Option<Arc<Canary>>,
}

/// A resolver that cannot see the public internet (a lab VM, a captive network, a broken
/// forwarder) says every name does not exist, and a scan would report a dozen failures for
/// records that are there. So before the scan believes its first NXDOMAIN or NODATA, it asks
/// once for a name Microsoft 365 publishes (the TXT of the cloud's `spf_include`,
/// `checks/clouds.toml`): when that does not resolve either, every answer that says "does not
/// exist" is an error naming the resolver. The answer is kept for the scan; a failed question is
/// asked again.
struct Canary {
    question: Question,
    sight: tokio::sync::OnceCell<Sight>,
}

/// What the canary question found.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Sight {
    /// The name resolves: negative answers are believed.
    Sees,
    /// The name does not exist for this resolver (the answer it gave).
    Blind(Answer),
}

/// Who sends the queries: hickory's resolver for the system configuration (it reads
/// `/etc/resolv.conf` and its options), the scanner's own stub for explicit servers.
#[derive(Clone)]
enum Backend {
    System(Box<TokioResolver>),
    Stub(stub::Client),
}

/// Direct queries to authoritative servers: options plus a resolver per server address, built once
/// and shared (a hosting provider's name servers serve hundreds of the scanned domains).
#[derive(Clone, Debug)]
pub struct Authoritative {
    opts: AuthoritativeOpts,
    resolvers: Arc<std::sync::Mutex<std::collections::HashMap<IpAddr, Resolver>>>,
    sockets: stub::Sockets,
}

impl Authoritative {
    /// No resolvers yet.
    pub fn new(opts: AuthoritativeOpts) -> Self {
        Self {
            opts,
            resolvers: Arc::default(),
            sockets: stub::Sockets::default(),
        }
    }

    /// The options.
    pub fn opts(&self) -> AuthoritativeOpts {
        self.opts
    }

    /// The resolver for one server address.
    pub fn resolver(&self, ip: IpAddr) -> Resolver {
        // A poisoned lock only means another probe panicked mid-insert; the map is still usable.
        let mut map = self
            .resolvers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(r) = map.get(&ip) {
            return r.clone();
        }
        let r = Resolver::authoritative(ip, self.opts, &self.sockets);
        map.insert(ip, r.clone());
        r
    }
}

/// How to reach authoritative servers directly (NS consistency).
#[derive(Clone, Copy, Debug)]
pub struct AuthoritativeOpts {
    /// Port to ask on (53; lab and test set-ups run their servers elsewhere).
    pub port: u16,
    /// Per-query timeout.
    pub timeout: Duration,
    /// Questions in flight at once to one server address, at most: the window starts at
    /// [`AUTHORITATIVE_WINDOW`] and opens towards this as the server's round trip calls for
    /// (`stub::window`).
    pub max_in_flight: usize,
}

/// Exchanges in flight at once, at most, through the resolver and to one authoritative server:
/// above the checks' concurrency, since one check may ask several questions at a time (the NS
/// comparison up to [`super::dns_ns_consistency::QUERIES_PER_SERVER`] per server).
pub fn max_in_flight(concurrency: usize) -> usize {
    concurrency.saturating_mul(4).max(64)
}

/// The first (and smallest) window of questions in flight to one authoritative server address,
/// across the scan: enough for a loopback or LAN server. Farther servers get a wider one
/// (`stub::window`): with a fixed 64, the NS comparisons of many domains served by the same name
/// servers (one organisation's domains, or a partner's customers on one DNS host) waited for
/// each other, and 1,000 domains on one server 20 ms away took 4.9 s (`bench_dns --lab
/// --delay-ms 20`).
pub const AUTHORITATIVE_WINDOW: usize = 64;

/// Resolver construction settings.
#[derive(Clone, Debug)]
pub struct ResolverOpts {
    /// Explicit servers; empty = the system configuration (`/etc/resolv.conf`).
    pub nameservers: Vec<SocketAddr>,
    /// Per-query timeout.
    pub timeout: Duration,
    /// Whether to keep a cache (on for scans: many domains share SPF includes).
    pub cache: bool,
    /// Maximum in-flight queries per server connection.
    pub max_in_flight: usize,
    /// A name that must exist (TXT of the cloud's SPF include), asked before the first
    /// "does not exist" is believed. `None`: every answer is believed as it comes.
    pub canary: Option<Question>,
}

fn tune(opts: &mut hickory_resolver::config::ResolverOpts, o: &ResolverOpts) {
    opts.timeout = o.timeout;
    // One attempt: a probe reports what happened instead of retrying it away (see README,
    // "No hidden retries"); the runner's per-check timeout bounds the whole check.
    opts.attempts = 1;
    opts.cache_size = if o.cache { 4096 } else { 0 };
    opts.max_active_requests = o.max_in_flight;
    opts.num_concurrent_reqs = 1;
    opts.try_tcp_on_error = false;
    opts.preserve_intermediates = false;
    opts.ndots = 0;
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("servers", &self.servers)
            .finish_non_exhaustive()
    }
}

impl Resolver {
    /// Builds the scan resolver: the system's configuration through hickory-resolver, or the
    /// explicit `--nameserver`s through the stub.
    pub fn new(o: &ResolverOpts) -> Result<Self, ProbeError> {
        if !o.nameservers.is_empty() {
            let client = stub::Client::new(
                o.nameservers.clone(),
                stub::ClientOpts {
                    timeout: o.timeout,
                    recursion_desired: true,
                    cache: o.cache,
                    // A fixed limit: the checks' concurrency bounds the resolver's queries well
                    // below it, so a window would never bind.
                    max_in_flight: o.max_in_flight,
                    min_in_flight: o.max_in_flight,
                },
                &stub::Sockets::default(),
            );
            return Ok(Self {
                backend: Backend::Stub(client),
                servers: Arc::new(o.nameservers.iter().map(ToString::to_string).collect()),
                canary: Canary::new(o.canary.as_ref()),
            });
        }
        let mut builder = TokioResolver::builder_tokio().map_err(|e| ProbeError::Dns {
            kind: "no_resolver",
            message: text!("dns.no-system-config", error = e.to_string()),
        })?;
        tune(builder.options_mut(), o);
        let inner = builder.build().map_err(|e| ProbeError::Dns {
            kind: "no_resolver",
            message: text!("dns.no-resolver", error = e.to_string()),
        })?;
        let servers =
            system_servers().unwrap_or_else(|| vec!["system (/etc/resolv.conf)".to_owned()]);
        Ok(Self {
            backend: Backend::System(Box::new(inner)),
            servers: Arc::new(servers),
            canary: Canary::new(o.canary.as_ref()),
        })
    }

    /// A resolver that asks one authoritative server directly, without recursion or cache.
    fn authoritative(ip: IpAddr, opts: AuthoritativeOpts, sockets: &stub::Sockets) -> Self {
        let addr = SocketAddr::new(ip, opts.port);
        let client = stub::Client::new(
            vec![addr],
            stub::ClientOpts {
                timeout: opts.timeout,
                recursion_desired: false,
                cache: false,
                max_in_flight: opts.max_in_flight,
                min_in_flight: AUTHORITATIVE_WINDOW,
            },
            sockets,
        );
        // An authoritative server's NXDOMAIN is the zone's own word: no canary.
        Self {
            backend: Backend::Stub(client),
            servers: Arc::new(vec![addr.to_string()]),
            canary: None,
        }
    }

    /// Where queries go, for the report.
    pub fn describe(&self) -> &[String] {
        &self.servers
    }

    /// Asks one question. NXDOMAIN/NODATA are `Ok`; failures to get an answer are `Err`.
    pub async fn query(&self, q: &Question) -> Result<Lookup, ProbeError> {
        self.query_full(q).await.map(|(l, _)| l)
    }

    /// Like [`Resolver::query`], also returning whether the answer had the AA (authoritative) bit.
    /// A "does not exist" from a resolver that cannot resolve the canary name is an error.
    pub async fn query_full(&self, q: &Question) -> Result<(Lookup, bool), ProbeError> {
        let (lookup, aa) = self.ask(q).await?;
        if let (Some(canary), Answer::Nxdomain | Answer::Nodata) = (&self.canary, &lookup.answer) {
            self.believe(canary, q, &lookup.answer).await?;
        }
        Ok((lookup, aa))
    }

    /// Before a verdict rests on something *not* being among the records found (no SPF record
    /// among the apex TXT records, no verification value among them), asks the canary as for a
    /// negative answer: an internal view of a zone from a resolver blind to the internet is not
    /// the zone the world sees.
    pub async fn confirm_absence(&self, q: &Question, found: &Answer) -> Result<(), ProbeError> {
        match &self.canary {
            Some(c) => self.believe(c, q, found).await,
            None => Ok(()),
        }
    }

    /// Whether this resolver was found unable to see the public internet: the canary's name
    /// and what the resolver said of it (for the scan's one-line warning).
    pub fn blind(&self) -> Option<(String, Text)> {
        let c = self.canary.as_ref()?;
        match c.sight.get()? {
            Sight::Blind(a) => Some((c.question.name.clone(), a.describe())),
            Sight::Sees => None,
        }
    }

    /// Asks the canary (once per scan when it is answered) before believing a negative answer.
    async fn believe(&self, c: &Canary, q: &Question, answer: &Answer) -> Result<(), ProbeError> {
        let sight = c
            .sight
            .get_or_try_init(|| async {
                let (l, _) = self.ask(&c.question).await?;
                Ok::<_, ProbeError>(match l.answer {
                    Answer::Noerror { .. } => Sight::Sees,
                    other => Sight::Blind(other),
                })
            })
            .await
            .map_err(|e| ProbeError::Dns {
                kind: e.kind(),
                message: text!(
                    "dns.canary-failed",
                    name = &q.name,
                    rtype = q.rtype.to_string(),
                    answer = answer.describe(),
                    servers = self.servers.join(", "),
                    canary = &c.question.name,
                    error = e.text().clone()
                ),
            })?;
        match sight {
            Sight::Sees => Ok(()),
            Sight::Blind(said) => Err(ProbeError::Dns {
                kind: "blind_resolver",
                message: text!(
                    "dns.blind-resolver",
                    name = &q.name,
                    rtype = q.rtype.to_string(),
                    answer = answer.describe(),
                    servers = self.servers.join(", "),
                    canary = &c.question.name,
                    said = said.describe()
                ),
            }),
        }
    }

    /// One question, answered as the server answered it.
    async fn ask(&self, q: &Question) -> Result<(Lookup, bool), ProbeError> {
        // Fully qualified: no search-domain expansion, exactly the name we mean.
        let fqdn = format!("{}.", q.name);
        let rtype = q.rtype.to_hickory();
        let (answer, aa, retransmitted) = match &self.backend {
            Backend::Stub(client) => match client.ask(&fqdn, rtype).await {
                Ok(reply) => {
                    let answer = if reply.response_code == ResponseCode::NXDomain {
                        Answer::Nxdomain
                    } else {
                        records_answer(reply.records.iter(), rtype)
                    };
                    (answer, reply.authoritative, reply.retransmitted)
                }
                Err(e) => return Err(classify_stub(&e, q, &self.servers)),
            },
            Backend::System(resolver) => match resolver
                .lookup(
                    stub::wire_name(&fqdn).map_err(|e| {
                        lookup_failed(
                            "malformed",
                            text!("dns.malformed", error = e),
                            q,
                            &self.servers,
                        )
                    })?,
                    rtype,
                )
                .await
            {
                Ok(lookup) => (
                    records_answer(lookup.answers().iter(), rtype),
                    lookup.message().metadata.authoritative,
                    0,
                ),
                Err(e) if e.is_nx_domain() => (Answer::Nxdomain, true, 0),
                Err(e) if e.is_no_records_found() => (Answer::Nodata, true, 0),
                Err(e) => return Err(classify(&e, q, &self.servers)),
            },
        };
        Ok((
            Lookup {
                question: q.clone(),
                answer,
                retransmitted,
            },
            aa,
        ))
    }
}

impl Canary {
    fn new(q: Option<&Question>) -> Option<Arc<Self>> {
        q.map(|q| {
            Arc::new(Self {
                question: q.clone(),
                sight: tokio::sync::OnceCell::new(),
            })
        })
    }
}

/// The records of the asked type (CNAME chain links are skipped: the probes want the final
/// records), or NODATA when there are none.
fn records_answer<'a>(records: impl Iterator<Item = &'a Record>, rtype: RecordType) -> Answer {
    let mut ttl = u32::MAX;
    let mut out = Vec::new();
    for r in records.filter(|r| r.record_type() == rtype) {
        ttl = ttl.min(stub::ttl(r.ttl));
        out.push(render(&r.data));
    }
    if out.is_empty() {
        Answer::Nodata
    } else {
        Answer::Noerror {
            records: out,
            ttl_s: ttl,
        }
    }
}

fn system_servers() -> Option<Vec<String>> {
    // hickory does not expose the parsed system configuration once built; read it again.
    let (cfg, _) = hickory_resolver::system_conf::read_system_conf().ok()?;
    let list: Vec<String> = cfg
        .name_servers
        .iter()
        .map(|ns| format!("{} (system)", ns.ip))
        .collect();
    (!list.is_empty()).then_some(list)
}

/// Presentation form of record data, as the probes compare it.
pub fn render(data: &RData) -> String {
    match data {
        RData::A(a) => a.to_string(),
        RData::AAAA(a) => a.to_string(),
        RData::CNAME(c) => normalize_name(&c.0.to_ascii()),
        RData::NS(n) => normalize_name(&n.0.to_ascii()),
        RData::PTR(n) => normalize_name(&n.0.to_ascii()),
        RData::MX(mx) => format!(
            "{} {}",
            mx.preference,
            normalize_name(&mx.exchange.to_ascii())
        ),
        RData::SRV(s) => format!(
            "{} {} {} {}",
            s.priority,
            s.weight,
            s.port,
            normalize_name(&s.target.to_ascii())
        ),
        RData::TXT(t) => t
            .txt_data
            .iter()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect::<String>(),
        RData::SOA(s) => format!(
            "{} {} {}",
            normalize_name(&s.mname.to_ascii()),
            normalize_name(&s.rname.to_ascii()),
            s.serial
        ),
        other => other.to_string(),
    }
}

fn classify(e: &NetError, q: &Question, servers: &[String]) -> ProbeError {
    let (kind, detail): (&'static str, Text) = match e {
        NetError::Timeout => ("timeout", text!("dns.timeout")),
        NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused)) => {
            ("refused", text!("dns.refused"))
        }
        NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail)) => {
            ("servfail", text!("dns.servfail"))
        }
        NetError::Dns(DnsError::ResponseCode(code)) => {
            ("rcode", text!("dns.rcode", code = code.to_string()))
        }
        NetError::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            ("unreachable", text!("dns.connection-refused"))
        }
        NetError::Io(io) => ("io", text!("net.io", error = io.to_string())),
        NetError::NoConnections => ("unreachable", text!("dns.no-connections")),
        NetError::Truncated => ("truncated", text!("dns.truncated")),
        NetError::Proto(p) => ("malformed", text!("dns.malformed", error = p.to_string())),
        NetError::Busy => ("busy", text!("dns.busy")),
        other => {
            let text = other.to_string();
            if text.to_ascii_lowercase().contains("cname") {
                ("cname_loop", text!("dns.cname-chain", error = text))
            } else {
                ("dns", text!("value", value = text))
            }
        }
    };
    lookup_failed(kind, detail, q, servers)
}

/// The stub's errors in the same words (and kinds) as hickory's.
fn classify_stub(e: &StubError, q: &Question, servers: &[String]) -> ProbeError {
    let (kind, detail): (&'static str, Text) = match e {
        StubError::Timeout { mismatched: 0 } => ("timeout", text!("dns.timeout")),
        StubError::Timeout { mismatched } => (
            "timeout",
            text!("dns.timeout-mismatched", count = mismatched.to_string()),
        ),
        StubError::Rcode(ResponseCode::Refused) => ("refused", text!("dns.refused")),
        StubError::Rcode(ResponseCode::ServFail) => ("servfail", text!("dns.servfail")),
        StubError::Rcode(code) => ("rcode", text!("dns.rcode", code = code.to_string())),
        StubError::Io { kind, .. } if *kind == std::io::ErrorKind::ConnectionRefused => {
            ("unreachable", text!("dns.connection-refused"))
        }
        StubError::Io { message, .. } => ("io", text!("net.io", error = message.to_string())),
        StubError::Truncated(why) => (
            "truncated",
            text!("dns.truncated-tcp", error = why.to_string()),
        ),
        StubError::Malformed(why) | StubError::BadName(why) => {
            ("malformed", text!("dns.malformed", error = why))
        }
        StubError::CnameLoop(name) => ("cname_loop", text!("dns.cname-loop", name = name)),
        StubError::CnameTooLong => (
            "cname_loop",
            text!("dns.cname-too-long", max = stub::MAX_LINKS.to_string()),
        ),
    };
    lookup_failed(kind, detail, q, servers)
}

fn lookup_failed(kind: &'static str, detail: Text, q: &Question, servers: &[String]) -> ProbeError {
    ProbeError::Dns {
        kind,
        message: text!(
            "dns.lookup-failed",
            name = &q.name,
            rtype = q.rtype.to_string(),
            servers = servers.join(", "),
            detail = detail
        ),
    }
}

/// Looks up several questions concurrently, keeping their order.
pub async fn query_all(r: &Resolver, qs: &[Question]) -> Result<Vec<Lookup>, ProbeError> {
    futures::future::join_all(qs.iter().map(|q| r.query(q)))
        .await
        .into_iter()
        .collect()
}
/// Whether `name` can be put on the wire as a query name, the way [`Resolver::query`] sends it.
/// Names taken from records (an SPF `a:foo:bar`, `a:example.-com`, a NUL byte) may not be: a
/// receiver finds nothing there, so callers treat them as a lookup with no answer, not an error.
pub fn can_query(name: &str) -> bool {
    stub::wire_name(&format!("{name}.")).is_ok()
}
