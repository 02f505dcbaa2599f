//! A small authoritative DNS server on hickory-proto messages, over UDP and TCP on one port.
//!
//! It serves the simulated staging tenant of the offline demo, the integration tests and the
//! benchmark. Besides answering correctly from zone files (NXDOMAIN vs NODATA with the SOA, CNAMEs,
//! truncation when a UDP answer exceeds the client's payload size), it can misbehave on purpose:
//! delay every answer, never answer, answer everything (or chosen names) with an error code,
//! truncate UDP answers, or run without TCP — the failures a scanner meets in real networks. It
//! can also lose the first datagram of each name, and hold direct questions until enough
//! different ones have come (to see, without timing, that a client asks in parallel).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::{Name, Record, RecordType};
use hickory_proto::serialize::txt::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;

use crate::pattern::normalize_name;

/// Records by owner name and type, plus the zone apexes with their SOA.
#[derive(Clone, Debug, Default)]
pub struct Zones {
    names: HashMap<String, BTreeMap<RecordType, Vec<Record>>>,
    /// Apex → SOA.
    apexes: HashMap<String, Record>,
    /// Every owner name and its ancestors (empty non-terminals exist: NODATA, not NXDOMAIN).
    existing: HashSet<String>,
}

/// A zone file that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("zone {origin}: {message}")]
pub struct ZoneError {
    origin: String,
    message: String,
}

impl Zones {
    /// Adds a zone in master-file syntax (`@ 3600 IN MX 0 host.`…). It must have an SOA.
    pub fn add_zone(&mut self, origin: &str, text: &str) -> Result<(), ZoneError> {
        let err = |message: String| ZoneError {
            origin: origin.to_owned(),
            message,
        };
        let name = Name::from_ascii(origin).map_err(|e| err(e.to_string()))?;
        let (_, sets) = Parser::new(text, None, Some(name))
            .parse()
            .map_err(|e| err(e.to_string()))?;
        let apex = normalize_name(origin);
        let mut soa = None;
        for (_, set) in sets {
            for r in set.records_without_rrsigs() {
                if r.record_type() == RecordType::SOA && normalize_name(&r.name.to_ascii()) == apex
                {
                    soa = Some(r.clone());
                }
                self.insert(r.clone());
            }
        }
        let soa = soa.ok_or_else(|| err("no SOA record at the apex".into()))?;
        self.apexes.insert(apex, soa);
        Ok(())
    }

    /// Adds one record to a zone added before (for records a zone file cannot spell, such as
    /// names whose labels carry control bytes, as a hostile server can send them).
    pub fn insert(&mut self, r: Record) {
        let owner = normalize_name(&r.name.to_ascii());
        let mut n = owner.as_str();
        while self.existing.insert(n.to_owned()) {
            match n.split_once('.') {
                Some((_, parent)) => n = parent,
                None => break,
            }
        }
        self.names
            .entry(owner)
            .or_default()
            .entry(r.record_type())
            .or_default()
            .push(r);
    }

    /// The SOA of the closest enclosing zone.
    fn zone_of(&self, name: &str) -> Option<&Record> {
        let mut n = name;
        loop {
            if let Some(soa) = self.apexes.get(n) {
                return Some(soa);
            }
            match n.split_once('.') {
                Some((_, parent)) => n = parent,
                // The root zone (origin "."), when one was added, holds every other name.
                None => return self.apexes.get(""),
            }
        }
    }
}

/// How the server behaves.
#[derive(Clone, Debug, Default)]
pub struct Behaviour {
    /// Added before every answer (a slow or distant server).
    pub delay: Duration,
    /// Never answer anything.
    pub silent: bool,
    /// Answer every query with this code.
    pub rcode: Option<ResponseCode>,
    /// Answer queries for these names (normalised) with a code.
    pub rcode_for: HashMap<String, ResponseCode>,
    /// Never answer queries for these names.
    pub silent_for: HashSet<String>,
    /// Truncate every UDP answer (the client must retry over TCP).
    pub truncate_udp: bool,
    /// Do not listen on TCP.
    pub no_tcp: bool,
    /// Answer without the AA bit (a lame server).
    pub not_authoritative: bool,
    /// Answer over UDP under another id than the query's (a forged or confused answer).
    pub wrong_id: bool,
    /// Answer over UDP for another question than the one asked, under the right id.
    pub wrong_question: bool,
    /// Answer over UDP with bytes that are not a DNS message, under the right id.
    pub garbage: bool,
    /// Send every UDP query back as it came (QR clear: a reflecting middlebox, or a forger who
    /// knows nothing of the answer). Not an answer: it once read as NODATA.
    pub echo: bool,
    /// Ignore the first UDP query for each name, as if the datagram were lost (a busy server's
    /// full receive queue): only a client that sends it again gets an answer.
    pub lose_first_udp: bool,
    /// Hold every query that does not ask for recursion (a client asking this server as an
    /// authoritative one) until this many different questions have come in held; then answer
    /// them, and every later one, as usual. Only a client that asks that many in parallel gets
    /// answers (retransmissions of a held question do not count).
    pub hold_direct_until: Option<usize>,
    /// With `hold_direct_until`: the first this many direct queries are answered without being
    /// held, so that the client learns the round trip before the gate.
    pub hold_direct_after: usize,
}

struct Shared {
    zones: Zones,
    behaviour: Behaviour,
    queries: AtomicU64,
    /// Queries per name (normalised), to see what a client asks how often.
    asked: std::sync::Mutex<HashMap<String, u64>>,
    /// The different questions held by `hold_direct_until`, and whether the gate has opened.
    held: std::sync::Mutex<HashSet<(String, RecordType)>>,
    open: tokio::sync::watch::Sender<bool>,
    /// Direct queries so far (for `hold_direct_after`).
    direct: AtomicU64,
    /// The source address of every UDP query, in order of arrival (a capture, for the tests of
    /// the client's source ports).
    sources: std::sync::Mutex<Vec<SocketAddr>>,
}

/// A running server; it stops when dropped.
pub struct DnsServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl DnsServer {
    /// Starts a server on `bind` (port 0 picks a free port; TCP uses the same port).
    pub async fn start(
        bind: SocketAddr,
        zones: Zones,
        behaviour: Behaviour,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            zones,
            behaviour,
            queries: AtomicU64::new(0),
            asked: std::sync::Mutex::default(),
            held: std::sync::Mutex::default(),
            open: tokio::sync::watch::Sender::new(false),
            direct: AtomicU64::new(0),
            sources: std::sync::Mutex::default(),
        });
        // With port 0 the kernel picks a free UDP port, but the same TCP port may be taken by
        // another listener (tests run in parallel): pick again rather than fail.
        let mut attempts = if bind.port() == 0 { 20 } else { 1 };
        loop {
            attempts -= 1;
            let udp = UdpSocket::bind(bind).await?;
            // A scan sends bursts of thousands of queries; the default receive buffer (~200 KB)
            // drops them on a busy 2-core machine, which would measure the fixture, not the scanner.
            let _ = socket2::SockRef::from(&udp).set_recv_buffer_size(4 << 20);
            let addr = udp.local_addr()?;
            let tcp = if shared.behaviour.no_tcp {
                None
            } else {
                match TcpListener::bind(addr).await {
                    Ok(t) => Some(t),
                    Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && attempts > 0 => continue,
                    Err(e) => return Err(e),
                }
            };
            let mut tasks = vec![tokio::spawn(serve_udp(Arc::new(udp), Arc::clone(&shared)))];
            if let Some(tcp) = tcp {
                tasks.push(tokio::spawn(serve_tcp(tcp, Arc::clone(&shared))));
            }
            return Ok(Self {
                addr,
                shared,
                tasks,
            });
        }
    }

    /// The address (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queries received so far.
    pub fn queries(&self) -> u64 {
        self.shared.queries.load(Ordering::Relaxed)
    }

    /// The source address of every UDP query received so far, in order of arrival.
    pub fn udp_sources(&self) -> Vec<SocketAddr> {
        self.shared
            .sources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Queries received so far for one name (any type, UDP and TCP).
    pub fn queries_for(&self, name: &str) -> u64 {
        let asked = self
            .shared
            .asked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        asked.get(&normalize_name(name)).copied().unwrap_or(0)
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn serve_udp(sock: Arc<UdpSocket>, shared: Arc<Shared>) {
    let mut buf = vec![0u8; 4096];
    loop {
        let Ok((n, peer)) = sock.recv_from(&mut buf).await else {
            continue;
        };
        let packet = buf[..n].to_vec();
        shared
            .sources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(peer);
        let (sock, shared) = (Arc::clone(&sock), Arc::clone(&shared));
        tokio::spawn(async move {
            if let Some(resp) = answer(&shared, &packet, true).await {
                let _ = sock.send_to(&resp, peer).await;
            }
        });
    }
}

async fn serve_tcp(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            loop {
                let mut len = [0u8; 2];
                if stream.read_exact(&mut len).await.is_err() {
                    return;
                }
                let mut packet = vec![0u8; usize::from(u16::from_be_bytes(len))];
                if stream.read_exact(&mut packet).await.is_err() {
                    return;
                }
                let Some(resp) = answer(&shared, &packet, false).await else {
                    continue;
                };
                let Ok(n) = u16::try_from(resp.len()) else {
                    return;
                };
                if stream.write_all(&n.to_be_bytes()).await.is_err()
                    || stream.write_all(&resp).await.is_err()
                {
                    return;
                }
            }
        });
    }
}

/// Waits until `k` different questions have been held (see
/// [`Behaviour::hold_direct_until`]).
async fn hold(shared: &Shared, k: usize, question: (String, RecordType)) {
    let mut open = shared.open.subscribe();
    let count = {
        let mut held = shared
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        held.insert(question);
        held.len()
    };
    if count >= k {
        shared.open.send_replace(true);
    }
    // The sender lives in `shared`, so this ends only when the gate opens.
    let _ = open.wait_for(|o| *o).await;
}

async fn answer(shared: &Shared, packet: &[u8], udp: bool) -> Option<Vec<u8>> {
    shared.queries.fetch_add(1, Ordering::Relaxed);
    let b = &shared.behaviour;
    if udp && b.echo {
        return Some(packet.to_vec());
    }
    let req = Message::from_vec(packet).ok()?;
    if req.metadata.message_type != MessageType::Query {
        return None;
    }
    let qname = req
        .queries
        .first()
        .map(|q| normalize_name(&q.name().to_ascii()));
    let mut first = false;
    if let Some(n) = &qname {
        let mut asked = shared
            .asked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = asked.entry(n.clone()).or_default();
        *count += 1;
        first = *count == 1;
    }
    if udp && first && b.lose_first_udp {
        return None;
    }
    if b.silent || qname.as_ref().is_some_and(|n| b.silent_for.contains(n)) {
        return None;
    }
    if let (Some(k), Some(q)) = (b.hold_direct_until, req.queries.first())
        && !req.metadata.recursion_desired
        && shared.direct.fetch_add(1, Ordering::Relaxed) >= b.hold_direct_after as u64
    {
        hold(
            shared,
            k,
            (normalize_name(&q.name().to_ascii()), q.query_type()),
        )
        .await;
    }
    if !b.delay.is_zero() {
        tokio::time::sleep(b.delay).await;
    }
    let mut resp = respond(shared, &req);
    if udp && (b.wrong_id || b.wrong_question || b.garbage) {
        return misbehave(b, resp);
    }
    if udp {
        let limit = req
            .edns
            .as_ref()
            .map_or(512, |e| usize::from(e.max_payload().max(512)));
        let bytes = resp.to_vec().ok()?;
        if b.truncate_udp || bytes.len() > limit {
            resp = resp.truncate();
        } else {
            return Some(bytes);
        }
    }
    resp.to_vec().ok()
}

/// A UDP answer that a careful client must not accept: another id, another question, or bytes that
/// are no DNS message (each under the right source address).
fn misbehave(b: &Behaviour, mut resp: Message) -> Option<Vec<u8>> {
    let id = resp.metadata.id;
    if b.garbage {
        let [hi, lo] = id.to_be_bytes();
        return Some(vec![hi, lo, 0x81, 0x80, 0x00, 0x01, 0x00, 0x07, 0xde, 0xad]);
    }
    if b.wrong_id {
        resp.metadata.id = id.wrapping_add(1);
    }
    if b.wrong_question {
        let q = resp.queries.first_mut()?;
        let other = Name::from_ascii("forged.example.").ok()?;
        q.set_name(other);
    }
    resp.to_vec().ok()
}

fn respond(shared: &Shared, req: &Message) -> Message {
    let b = &shared.behaviour;
    let mut resp = Message::response(req.metadata.id, OpCode::Query);
    resp.metadata.recursion_desired = req.metadata.recursion_desired;
    let Some(q) = req.queries.first() else {
        resp.metadata.response_code = ResponseCode::FormErr;
        return resp;
    };
    resp.add_query(q.clone());
    let name = normalize_name(&q.name().to_ascii());
    if let Some(code) = b.rcode.or_else(|| b.rcode_for.get(&name).copied()) {
        resp.metadata.response_code = code;
        return resp;
    }
    let Some(soa) = shared.zones.zone_of(&name) else {
        resp.metadata.response_code = ResponseCode::Refused;
        return resp;
    };
    resp.metadata.authoritative = !b.not_authoritative;
    let qtype = q.query_type();
    match shared.zones.names.get(&name) {
        Some(types) => {
            if let Some(records) = types.get(&qtype) {
                resp.add_answers(records.iter().cloned());
            } else if let Some(cname) = types.get(&RecordType::CNAME) {
                // The client follows the alias with a new query.
                resp.add_answers(cname.iter().cloned());
            } else {
                resp.add_authority(soa.clone());
            }
        }
        None => {
            if !shared.zones.existing.contains(&name) {
                resp.metadata.response_code = ResponseCode::NXDomain;
            }
            resp.add_authority(soa.clone());
        }
    }
    resp
}
