//! The scanner's own stub resolver, for the queries it sends itself: to the `--nameserver`
//! servers, and directly to a zone's authoritative servers (NS consistency). The system-resolver
//! path (no `--nameserver`) stays with hickory-resolver, which knows `/etc/resolv.conf`.
//!
//! hickory-proto builds and parses every message; this module owns only the transport and the
//! bookkeeping, which is where a scan of a thousand domains spent its time:
//!
//! * [`pool`]: UDP sockets each connected to one server from a random port and retired after a
//!   few queries, random ids, and answers matched by server, id and question (anything else is
//!   ignored, as hickory does);
//! * [`exchange`]: one question to one server, over TCP when the answer is truncated;
//! * [`memo`]: identical questions in flight share one exchange, and answers are reused for
//!   their TTL;
//! * [`window`]: how many exchanges are in flight at once, opening with the server's round trip;
//! * [`Client::ask`]: follows CNAME chains (a recursive server sends the whole chain; an
//!   authoritative one only its own links) with loop and length limits.
//!
//! One attempt per server and no retries: a probe reports what happened (README, "No hidden
//! retries"). With several `--nameserver`s the next is asked only when one fails to answer.

mod exchange;
mod memo;
mod pool;
mod window;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use memo::{Memo, Outcome};
use pool::Pool;
use window::Window;

/// Links of a CNAME chain followed at most (hickory follows as many; real chains are 1–3 long).
pub const MAX_LINKS: usize = 8;

/// How a [`Client`] asks.
#[derive(Clone, Copy, Debug)]
pub struct ClientOpts {
    /// Per exchange (one server, UDP and any TCP retry).
    pub timeout: Duration,
    /// The RD bit: set for a recursive resolver, clear when asking an authoritative server.
    pub recursion_desired: bool,
    /// Reuse answers for their TTL (identical questions in flight are shared either way).
    pub cache: bool,
    /// Exchanges in flight at once, at most.
    pub max_in_flight: usize,
    /// Exchanges in flight at once at first, and at least: the window opens towards
    /// `max_in_flight` as far as the server's base round trip calls for ([`window`]). Equal to
    /// `max_in_flight` for a fixed limit.
    pub min_in_flight: usize,
}

/// What the servers said about one question, CNAME chain followed.
#[derive(Debug)]
pub struct Reply {
    /// NOERROR or NXDOMAIN (other codes are errors).
    pub response_code: ResponseCode,
    /// The AA bit of the last answer.
    pub authoritative: bool,
    /// The records of the asked type at the end of the chain, in the order received.
    pub records: Vec<Record>,
    /// Queries sent again along the chain before their answers came (lost on the way, or late).
    pub retransmitted: u32,
    /// How long the answer may be reused: the records' smallest TTL, or for a negative answer
    /// the SOA's negative TTL (RFC 2308 §5); zero when the answer gives neither.
    ttl: Duration,
}

/// Why no answer came.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StubError {
    /// Nothing acceptable before the deadline; `mismatched` answers came from the server under
    /// the query's id but for another question.
    Timeout {
        /// Answers to another question under this query's id.
        mismatched: u32,
    },
    /// A socket error (sending, or the TCP connection).
    Io {
        /// Its kind.
        kind: std::io::ErrorKind,
        /// The system's message.
        message: Arc<str>,
    },
    /// The server's answer could not be read.
    Malformed(String),
    /// The UDP answer was truncated and asking over TCP failed (why).
    Truncated(Arc<str>),
    /// The server answered with an error code (SERVFAIL, REFUSED…).
    Rcode(ResponseCode),
    /// The CNAME chain comes back to a name it already passed.
    CnameLoop(String),
    /// The CNAME chain is longer than [`MAX_LINKS`].
    CnameTooLong,
    /// The name cannot be put in a question.
    BadName(String),
}

impl StubError {
    fn io(e: &std::io::Error) -> Self {
        Self::Io {
            kind: e.kind(),
            message: Arc::from(e.to_string()),
        }
    }

    /// Whether another server might do better (the server did not answer, rather than answered).
    fn is_transport(&self) -> bool {
        matches!(
            self,
            Self::Timeout { .. } | Self::Io { .. } | Self::Malformed(_) | Self::Truncated(_)
        )
    }
}

/// The UDP sockets clients send from, shared by every client made with them (one set for all of a
/// scan's authoritative servers, however many there are).
#[derive(Clone, Default)]
pub struct Sockets(Arc<Pool>);

impl std::fmt::Debug for Sockets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sockets")
    }
}

/// A stub resolver for a fixed list of servers. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    servers: Vec<SocketAddr>,
    opts: ClientOpts,
    pool: Arc<Pool>,
    memo: Memo,
    window: Window,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("servers", &self.inner.servers)
            .field("opts", &self.inner.opts)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client asking `servers` in order, from `sockets` (opened on the first question).
    pub fn new(servers: Vec<SocketAddr>, opts: ClientOpts, sockets: &Sockets) -> Self {
        Self {
            inner: Arc::new(Inner {
                servers,
                opts,
                pool: Arc::clone(&sockets.0),
                memo: Memo::default(),
                window: Window::new(opts.min_in_flight, opts.max_in_flight),
            }),
        }
    }

    /// Asks for `name`'s `rtype` records. NXDOMAIN and NODATA are replies; everything that is not
    /// an answer is an error.
    pub async fn ask(&self, name: &str, rtype: RecordType) -> Result<Arc<Reply>, StubError> {
        // The table key is the name as text, lower-case and fully qualified: names are compared
        // case-insensitively (RFC 4343), and building it is cheaper than a `Name` (parsed only
        // when the question is actually sent).
        let mut key = name.to_ascii_lowercase();
        if !key.ends_with('.') {
            key.push('.');
        }
        let pending = self.inner.memo.get_or_start((key, rtype), |qname| {
            resolve(Arc::clone(&self.inner), qname.to_owned(), rtype).boxed()
        });
        pending.await.result
    }
}

/// A query name from text: as IDNA reads it (`Name::from_utf8`), else in presentation form
/// (RFC 1035 §5.1: `\X` and `\DDD` escapes, as names read back from records are rendered),
/// label by label as the bytes written, which DNS carries (RFC 2181 §11: a label may hold any
/// octet) and SPF domain-specs may hold (`a:foo:bar/baz.example.com`, a space from `%_`).
/// Control characters, empty labels and over-long ones are refused.
pub fn wire_name(s: &str) -> Result<Name, String> {
    if let Ok(n) = Name::from_utf8(s) {
        return Ok(n);
    }
    let bytes = s.as_bytes();
    if bytes.is_empty() || !bytes.iter().all(|b| (0x20..0x7f).contains(b)) {
        return Err(format!("`{}` is not a domain name", s.escape_default()));
    }
    let mut labels: Vec<Vec<u8>> = Vec::new();
    let mut label: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                let digits = bytes
                    .get(i + 1..i + 4)
                    .filter(|d| d.iter().all(u8::is_ascii_digit));
                if let Some(d) = digits {
                    let v = u32::from(d[0] - b'0') * 100
                        + u32::from(d[1] - b'0') * 10
                        + u32::from(d[2] - b'0');
                    label.push(u8::try_from(v).map_err(|_| format!("bad escape in `{s}`"))?);
                    i += 4;
                } else if let Some(&next) = bytes.get(i + 1) {
                    label.push(next);
                    i += 2;
                } else {
                    return Err(format!("`{s}` ends in a lone backslash"));
                }
            }
            b'.' => {
                labels.push(std::mem::take(&mut label));
                i += 1;
            }
            other => {
                label.push(other);
                i += 1;
            }
        }
    }
    // A final dot leaves the root's empty label, which is not pushed.
    if !label.is_empty() {
        labels.push(label);
    }
    if labels.is_empty() || labels.iter().any(Vec::is_empty) {
        return Err(format!("`{s}` has an empty label"));
    }
    Name::from_labels(labels).map_err(|e| e.to_string())
}

async fn resolve(inner: Arc<Inner>, name: String, rtype: RecordType) -> Outcome {
    let result = match wire_name(&name) {
        Ok(name) => chase(&inner, name, rtype).await,
        Err(e) => Err(StubError::BadName(e)),
    };
    let ttl = match &result {
        Ok(reply) if inner.opts.cache => reply.ttl,
        _ => Duration::ZERO,
    };
    Outcome::new(result.map(Arc::new), ttl)
}

/// Asks, following the CNAME chain until the records, a negative answer, or a limit.
async fn chase(inner: &Inner, mut name: Name, rtype: RecordType) -> Result<Reply, StubError> {
    let mut passed: Vec<Name> = Vec::new();
    let mut retransmitted = 0;
    loop {
        let (answer, again) = ask_servers(inner, &name, rtype).await?;
        retransmitted += again;
        match follow(answer, &name, rtype, &mut passed)? {
            Step::Done(mut reply) => {
                reply.retransmitted = retransmitted;
                return Ok(reply);
            }
            Step::Next(next) => name = next,
        }
    }
}

/// How a datagram that came from the right server under the right id relates to the question.
#[derive(Debug)]
pub enum Acceptance {
    /// The answer to this question.
    Answer(Box<Message>),
    /// A readable message about another question (forged or confused): ignored.
    OtherQuestion,
    /// A readable message that is no answer to a query: QR clear (the query reflected back) or
    /// another opcode. Ignored like another question's answer; an echoed query once read as
    /// NODATA and failed the check.
    NotAnAnswer,
    /// Not a DNS message.
    Unreadable(String),
}

/// Checks a datagram against the question it should answer: a response (QR set) to a standard
/// query (opcode QUERY), whose question section is the one asked (RFC 1035 §4.1.1, §7.3).
pub fn accept(question: &Query, datagram: &[u8]) -> Acceptance {
    match Message::from_vec(datagram) {
        Ok(m)
            if m.metadata.message_type != MessageType::Response
                || m.metadata.op_code != OpCode::Query =>
        {
            Acceptance::NotAnAnswer
        }
        Ok(m) if m.queries.len() == 1 && m.queries[0] == *question => {
            Acceptance::Answer(Box::new(m))
        }
        Ok(_) => Acceptance::OtherQuestion,
        Err(e) => Acceptance::Unreadable(e.to_string()),
    }
}

/// What one answer means for the question `name`/`rtype`: the end of the chase, or the next name
/// to ask (the CNAME chain leaves this answer).
#[derive(Debug)]
pub enum Step {
    /// The answer.
    Done(Reply),
    /// Ask again for this name (the chain's last link in this answer).
    Next(Name),
}

/// Reads one answer: checks its code, follows the aliases it gives for `name` (`passed` keeps
/// the names left so far, across answers, to find loops), and picks the records at the end.
pub fn follow(
    answer: Message,
    name: &Name,
    rtype: RecordType,
    passed: &mut Vec<Name>,
) -> Result<Step, StubError> {
    let code = answer.metadata.response_code;
    if !matches!(code, ResponseCode::NoError | ResponseCode::NXDomain) {
        return Err(StubError::Rcode(code));
    }
    let mut owner = name.clone();
    if rtype != RecordType::CNAME {
        while let Some(target) = alias(&answer, &owner) {
            passed.push(owner);
            if passed.contains(&target) {
                return Err(StubError::CnameLoop(target.to_ascii()));
            }
            if passed.len() > MAX_LINKS {
                return Err(StubError::CnameTooLong);
            }
            owner = target;
        }
    }
    let negative_ttl = negative_ttl(&answer);
    let authoritative = answer.metadata.authoritative;
    let records: Vec<Record> = answer
        .answers
        .into_iter()
        .filter(|r| r.record_type() == rtype && r.name == owner)
        .collect();
    // The end: the records, a negative answer (NXDOMAIN, or an SOA saying the chain's last name has
    // no such records), or no alias at all. Otherwise the chain leaves this server's answer and the
    // next link is a new question.
    if owner == *name
        || !records.is_empty()
        || code == ResponseCode::NXDomain
        || negative_ttl.is_some()
    {
        let ttl = records
            .iter()
            .map(|r| ttl(r.ttl))
            .min()
            .or(negative_ttl)
            .unwrap_or(0);
        return Ok(Step::Done(Reply {
            response_code: code,
            authoritative,
            records,
            retransmitted: 0,
            ttl: Duration::from_secs(u64::from(ttl)),
        }));
    }
    Ok(Step::Next(owner))
}

/// A TTL as received, read as RFC 2181 §8 says: "Implementations should treat TTL values received
/// with the most significant bit set as if the entire value received was zero." (A TTL of 2³¹ s
/// or more is no TTL anyone meant; hickory's own cache does the same.)
pub fn ttl(received: u32) -> u32 {
    if received > i32::MAX.unsigned_abs() {
        0
    } else {
        received
    }
}

/// The CNAME target the answer gives for `owner`.
fn alias(answer: &Message, owner: &Name) -> Option<Name> {
    answer.answers.iter().find_map(|r| match &r.data {
        RData::CNAME(c) if r.name == *owner => Some(c.0.clone()),
        _ => None,
    })
}

/// A negative answer's TTL: the smaller of the SOA record's TTL and its MINIMUM (RFC 2308 §5).
fn negative_ttl(answer: &Message) -> Option<u32> {
    answer.authorities.iter().find_map(|r| match &r.data {
        RData::SOA(soa) => Some(ttl(r.ttl).min(ttl(soa.minimum))),
        _ => None,
    })
}

/// One question to the servers in order: the first that answers (with any code) is the answer,
/// with the retransmissions it took.
async fn ask_servers(
    inner: &Inner,
    name: &Name,
    rtype: RecordType,
) -> Result<(Message, u32), StubError> {
    let question = Query::query(name.clone(), rtype);
    let wire = exchange::encode(&question, inner.opts.recursion_desired)?;
    let _permit =
        inner.window.enter().await.ok_or_else(|| {
            StubError::io(&std::io::Error::other("the resolver is shutting down"))
        })?;
    let mut last = StubError::Io {
        kind: std::io::ErrorKind::NotConnected,
        message: Arc::from("no DNS server configured"),
    };
    for &server in &inner.servers {
        let deadline = tokio::time::Instant::now() + inner.opts.timeout;
        let result = exchange::exchange(&inner.pool, server, &question, &wire, deadline).await;
        if inner.window.opens()
            && let Some(base) = inner.pool.base_rtt(server)
        {
            inner.window.fit(base);
        }
        match result {
            Ok(m) => return Ok(m),
            Err(e) if e.is_transport() => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names as SPF records write them (RFC 7208 allows any visible character but `%` in a
    /// domain-spec) and as records render them back (escaped) reach the wire as the same name.
    #[test]
    fn names_from_records_reach_the_wire() {
        let raw = wire_name("foo:bar/baz.example.com.").unwrap();
        assert_eq!(raw.to_ascii(), "foo\\:bar\\/baz.example.com.");
        assert_eq!(wire_name("foo\\:bar\\/baz.example.com.").unwrap(), raw);
        assert_eq!(wire_name("a\\046b.c.").unwrap().num_labels(), 2);
        assert_eq!(
            wire_name("Contoso.COM.").unwrap(),
            Name::from_ascii("contoso.com.").unwrap()
        );
        for bad in [
            "x..y.",
            "a\tb.c.",
            "a\\999b.c.",
            &format!("{}.c.", "a".repeat(64)),
        ] {
            assert!(wire_name(bad).is_err(), "{bad:?}");
        }
    }

    fn read(bytes: &[u8]) -> (Message, Query) {
        let m = Message::from_vec(bytes).expect("seed parses");
        let q = m.queries[0].clone();
        (m, q)
    }

    #[test]
    fn an_answer_is_read_to_the_end_of_its_cname_chain() {
        let (m, q) = read(include_bytes!("../../fuzz/seeds/dns_answer/cname_then_txt"));
        let Ok(Step::Done(reply)) = follow(m, q.name(), q.query_type(), &mut Vec::new()) else {
            panic!("the chain ends in this answer");
        };
        assert_eq!(reply.records.len(), 1);
        assert_eq!(reply.records[0].name.to_ascii(), "x.a.test.");
        assert_eq!(reply.ttl, Duration::from_secs(300));
    }

    #[test]
    fn loops_negative_answers_and_error_codes() {
        let (m, q) = read(include_bytes!("../../fuzz/seeds/dns_answer/cname_loop"));
        assert!(matches!(
            follow(m, q.name(), q.query_type(), &mut Vec::new()),
            Err(StubError::CnameLoop(n)) if n == "a.test."
        ));
        let (m, q) = read(include_bytes!("../../fuzz/seeds/dns_answer/nxdomain_soa"));
        let Ok(Step::Done(reply)) = follow(m, q.name(), q.query_type(), &mut Vec::new()) else {
            panic!("NXDOMAIN is an answer");
        };
        assert_eq!(reply.response_code, ResponseCode::NXDomain);
        // RFC 2308 §5: min(SOA TTL 3600, MINIMUM 300).
        assert_eq!(reply.ttl, Duration::from_secs(300));
        let (m, q) = read(include_bytes!("../../fuzz/seeds/dns_answer/servfail"));
        assert!(matches!(
            follow(m, q.name(), q.query_type(), &mut Vec::new()),
            Err(StubError::Rcode(ResponseCode::ServFail))
        ));
    }

    /// RFC 2181 §8: a TTL with the top bit set is zero (so the answer is not reused), in the
    /// records and in a negative answer's SOA alike.
    #[test]
    fn a_ttl_with_the_top_bit_set_reads_as_zero() {
        let (mut m, q) = read(include_bytes!("../../fuzz/seeds/dns_answer/cname_then_txt"));
        for r in &mut m.answers {
            r.ttl = 0x8000_0000;
        }
        let Ok(Step::Done(reply)) = follow(m, q.name(), q.query_type(), &mut Vec::new()) else {
            panic!("the chain ends in this answer");
        };
        assert_eq!(reply.ttl, Duration::ZERO);
        let (mut m, q) = read(include_bytes!("../../fuzz/seeds/dns_answer/nxdomain_soa"));
        for r in &mut m.authorities {
            if let RData::SOA(soa) = &mut r.data {
                soa.minimum = u32::MAX;
            }
        }
        let Ok(Step::Done(reply)) = follow(m, q.name(), q.query_type(), &mut Vec::new()) else {
            panic!("NXDOMAIN is an answer");
        };
        assert_eq!(reply.ttl, Duration::ZERO);
        assert_eq!(ttl(0x7fff_ffff), 0x7fff_ffff);
    }

    #[test]
    fn only_the_asked_question_is_accepted() {
        let bytes = include_bytes!("../../fuzz/seeds/dns_answer/cname_then_txt");
        let (_, q) = read(bytes);
        assert!(matches!(accept(&q, bytes), Acceptance::Answer(_)));
        let other = Query::query(Name::from_ascii("_dmarc.b.test.").unwrap(), RecordType::TXT);
        assert!(matches!(accept(&other, bytes), Acceptance::OtherQuestion));
        assert!(matches!(
            accept(&q, &bytes[..20]),
            Acceptance::Unreadable(_)
        ));
        // The query sent back (QR clear), and a response to another opcode: not answers.
        for seed in [
            &include_bytes!("../../fuzz/seeds/dns_answer/echo_query")[..],
            &include_bytes!("../../fuzz/seeds/dns_answer/notify_response")[..],
        ] {
            let (_, q) = read(seed);
            assert!(matches!(accept(&q, seed), Acceptance::NotAnAnswer));
        }
    }
}
