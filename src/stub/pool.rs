//! The UDP sockets the stub sends from: each connected to one server, from a random port, and
//! retired after a few queries or a short time, with one task that reads the answers arriving on
//! it and sends the queries queued on it, a burst per `sendmmsg`.
//!
//! Why not a few long-lived sockets for everything (what this was until issue 25): a scan's whole
//! run then came from 8 ports, the same 8 towards every server, so whoever runs the name server
//! of one scanned domain learnt the ports for all the others, and a forged answer to any other
//! server had only the 16-bit id left to guess (RFC 5452 §4, §9.2). Why not a socket per query
//! (hickory's client, unbound): binding, registering with the reactor and closing cost as much as
//! the query itself on loopback, and a scan sends tens of thousands. In between: a socket is
//!
//! * **connected to one server**: it never sends elsewhere, and the kernel drops datagrams from
//!   any other source before we see them (we check the source again anyway);
//! * **from a random port**: the kernel's choice for an unbound socket, random over the whole
//!   ephemeral range (`ip_local_port_range`; Linux picks a random start and step per socket);
//! * **retired** after [`QUERIES_PER_SOCKET`] queries or [`SOCKET_TAKES_QUERIES_FOR`], whichever
//!   comes first: a retired socket takes no new query and closes when the last of its queries
//!   ends (its [`Registration`] drops). A port is therefore in use towards one server, for at most
//!   a few queries, and a 1,000-domain scan sends from thousands of ports.
//!
//! Each query gets a random 16-bit id, and an answer is accepted only when its source address,
//! id and question all match a query in flight, and it is an answer at all (QR set, opcode
//! QUERY; RFC 5452 §9.1): anything else is dropped and counted against nobody, so a stray or
//! forged datagram cannot end a query early.

use std::cell::RefCell;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use std::io::IoSlice;
use std::os::fd::AsRawFd as _;

use hickory_proto::op::{Message, Query};
use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrStorage, sendmmsg};

use crate::rtt::RttEstimate;
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::{Notify, oneshot};
use tokio::task::AbortHandle;
use tokio::time::Instant;

/// Queries one socket takes at most before it is retired. Small, so that a port says little and
/// lives briefly; not one, so that a burst of queries to one server still goes out in one
/// `sendmmsg` and a socket's cost is shared. (bench_dns, 29,002 queries to one server: see the
/// README's Performance section for the cost of 1, 4, 16 and 64.)
pub(crate) const QUERIES_PER_SOCKET: u32 = 16;

/// How long a socket takes new queries at most, however few it has had: a slow trickle of
/// queries to one server (one check after another) does not keep a port for minutes.
pub(crate) const SOCKET_TAKES_QUERIES_FOR: Duration = Duration::from_secs(1);

/// Largest datagram read. The stub advertises 1232 bytes (EDNS), but a server may send more; a
/// datagram cut short by the buffer would only parse as garbage. One buffer per runtime thread
/// (not per socket: sockets are many and short-lived).
const RECV_BUF: usize = 65_535;

/// Datagrams handed to the kernel in one `sendmmsg` call at most. The task yields between calls,
/// so the answers (and, on a shared machine, the server) get a turn: a burst of hundreds at once
/// overflows a server's default receive queue sooner. (Kernel `UdpRcvbufErrors` over four whole
/// bench_dns runs each, dnsperf's own losses included: 21–101 per run with 64 and no yield, 11–58
/// with 16 and the yield.) What is lost anyway is retransmitted.
const BATCH: usize = 16;

/// Datagrams read per wake-up at most before the socket's task lets the others run.
const READS_PER_TURN: usize = 64;

/// What a waiting query receives: the parsed answer, or why there is none.
pub(crate) type Delivery = Result<Message, Undelivered>;

/// Why a query's answer did not come.
#[derive(Debug)]
pub(crate) enum Undelivered {
    /// A datagram matched its source and id but could not be read.
    Unreadable(String),
    /// The query itself could not be sent.
    Unsent(std::io::Error),
}

/// One query in flight on a socket.
struct Waiter {
    question: Query,
    /// Taken when the answer is delivered; the entry itself stays until the [`Registration`]
    /// drops, so its id is not reused (and removed by the wrong query) in between.
    tx: Option<oneshot::Sender<Delivery>>,
    /// Datagrams from the server with this id that did not answer it (another question, or not
    /// an answer at all).
    mismatched: u32,
}

/// The in-flight table of one socket: id → the query waiting. At most [`QUERIES_PER_SOCKET`]
/// entries, so a free id is always found at once (the old shared sockets could fill all 65,536
/// and then spun looking for one while holding this lock).
type Table = Mutex<HashMap<u16, Waiter>>;

/// What a socket's task and its queries share.
struct Io {
    udp: UdpSocket,
    /// The one server this socket is connected to (canonical: IPv4 as IPv4).
    server: SocketAddr,
    table: Table,
    /// Queries waiting to be sent: (bytes, id).
    outbox: Mutex<Vec<(Vec<u8>, u16)>>,
    /// Wakes the task to send (a stored permit, so no query queued between its checks is missed).
    queued: Notify,
}

/// A socket connected to one server, shared by the queries it took; its task stops and the port
/// closes when the last of them (and the pool's weak reference cannot keep it) is gone.
pub(crate) struct Socket {
    io: Arc<Io>,
    /// Queries taken so far (only changed under the pool's lock).
    taken: AtomicU32,
    opened: Instant,
    /// The local port and a serial number, for the `tenant_ready::stub::sent` trace events.
    port: u16,
    serial: u64,
    task: AbortHandle,
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serial numbers of sockets, for the trace events (unique per process).
static SERIAL: AtomicU64 = AtomicU64::new(0);

/// The pool: per server, the socket currently taking queries, and each server's round trips.
#[derive(Default)]
pub(crate) struct Pool {
    /// Weak: a socket lives as long as its queries, not as long as the pool. Entries whose
    /// socket is gone are pruned when the map has doubled since the last pruning.
    taking: Mutex<Taking>,
    /// Each server's round trips so far, for its retransmission timeout.
    rtt: Mutex<HashMap<SocketAddr, RttEstimate>>,
}

#[derive(Default)]
struct Taking {
    by_server: HashMap<SocketAddr, Weak<Socket>>,
    prune_at: usize,
}

/// A query is retransmitted no sooner than this, whatever the round trips say: a loopback or LAN
/// RTT of a fraction of a millisecond must not turn a busy server's slower answer into a second
/// query (the port verdicts' floor, [`crate::probe::rtt::FLOOR`]; unbound's is lower, 50 ms).
pub(crate) const RETRANSMIT_FLOOR: Duration = Duration::from_millis(250);

/// The retransmission timeout before a server has answered anything: unbound's for a server it
/// knows nothing about (`util/rtt.c`: `UNKNOWN_SERVER_NICENESS`, "first RTO is 0 + 4*0.094 = 0.376
/// seconds"). TCP's 1 s (RFC 6298 §2.1) made a datagram lost in a scan's first burst, before any
/// answer had come, cost a second; a copy sent to a server merely slower than this costs one
/// duplicate query, and either answer is accepted.
pub(crate) const INITIAL_RTO: Duration = Duration::from_millis(376);

impl Pool {
    /// How long to wait for `server`'s answer before sending the query again: its RTO (`SRTT +
    /// 4·RTTVAR`), at least [`RETRANSMIT_FLOOR`]; [`INITIAL_RTO`] before any sample.
    pub(crate) fn rto(&self, server: SocketAddr) -> Duration {
        let rtt = self.rtt.lock().unwrap_or_else(PoisonError::into_inner);
        rtt.get(&server)
            .and_then(RttEstimate::rto)
            .map_or(INITIAL_RTO, |rto| rto.max(RETRANSMIT_FLOOR))
    }

    /// The smallest round trip to `server` so far ([`RttEstimate::min`]).
    pub(crate) fn base_rtt(&self, server: SocketAddr) -> Option<Duration> {
        let rtt = self.rtt.lock().unwrap_or_else(PoisonError::into_inner);
        rtt.get(&server).and_then(RttEstimate::min)
    }

    /// An answer from `server` came `rtt` after its (only) query.
    pub(crate) fn learn(&self, server: SocketAddr, rtt: Duration) {
        self.rtt
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(server)
            .or_default()
            .add(rtt);
    }

    /// A socket for one query to `server`: the one currently taking its queries, or a new one
    /// when that one is retired (or gone). Must be called inside the runtime (the socket's task
    /// is spawned on it).
    pub(crate) fn socket(&self, server: SocketAddr) -> std::io::Result<Arc<Socket>> {
        let server = canonical(server);
        {
            let taking = self.taking.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(s) = taking.by_server.get(&server).and_then(Weak::upgrade)
                && s.take()
            {
                return Ok(s);
            }
        }
        // Opened outside the lock (four system calls): two queries racing here each open one,
        // and the later becomes the one taking queries; both are used, neither is shared wider.
        let socket = Arc::new(Socket::open(server)?);
        socket.take();
        let mut taking = self.taking.lock().unwrap_or_else(PoisonError::into_inner);
        if taking.by_server.len() >= taking.prune_at {
            taking.by_server.retain(|_, s| s.strong_count() > 0);
            taking.prune_at = (taking.by_server.len() * 2).max(64);
        }
        taking.by_server.insert(server, Arc::downgrade(&socket));
        Ok(socket)
    }
}

impl Socket {
    /// A new socket connected to `server` (the kernel binds it to a random free port), and its
    /// task.
    fn open(server: SocketAddr) -> std::io::Result<Self> {
        use socket2::{Domain, Protocol, Type};
        let raw = socket2::Socket::new(
            Domain::for_address(server),
            Type::DGRAM.nonblocking().cloexec(),
            Some(Protocol::UDP),
        )?;
        raw.connect(&server.into())?;
        let port = raw.local_addr()?.as_socket().map_or(0, |a| a.port());
        let udp = UdpSocket::from_std(raw.into())?;
        let io = Arc::new(Io {
            udp,
            server,
            table: Mutex::default(),
            outbox: Mutex::default(),
            queued: Notify::new(),
        });
        let task = tokio::spawn(serve(Arc::clone(&io))).abort_handle();
        Ok(Self {
            io,
            taken: AtomicU32::new(0),
            opened: Instant::now(),
            port,
            serial: SERIAL.fetch_add(1, Ordering::Relaxed),
            task,
        })
    }

    /// Takes one more query, unless the socket is retired (enough queries, or old enough).
    fn take(&self) -> bool {
        let taken = self.taken.load(Ordering::Relaxed);
        if taken >= QUERIES_PER_SOCKET || self.opened.elapsed() >= SOCKET_TAKES_QUERIES_FOR {
            return false;
        }
        self.taken.store(taken + 1, Ordering::Relaxed);
        true
    }

    /// The local port (for the trace events).
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// The socket's serial number in this process (for the trace events).
    pub(crate) fn serial(&self) -> u64 {
        self.serial
    }

    /// Registers a query under a fresh random id; the registration removes itself when dropped,
    /// so a query that times out or is cancelled leaves nothing behind.
    pub(crate) fn register(
        self: &Arc<Self>,
        question: Query,
    ) -> (Registration, oneshot::Receiver<Delivery>) {
        let (tx, rx) = oneshot::channel();
        let mut table = self.io.table.lock().unwrap_or_else(PoisonError::into_inner);
        // The table holds fewer than QUERIES_PER_SOCKET ids, so this ends at the first try but
        // for a chance of at most 16 in 65,536 per try.
        let id = loop {
            let id = random_u16();
            if let Entry::Vacant(slot) = table.entry(id) {
                slot.insert(Waiter {
                    question,
                    tx: Some(tx),
                    mismatched: 0,
                });
                break id;
            }
        };
        let registration = Registration {
            socket: Arc::clone(self),
            id,
        };
        (registration, rx)
    }
}

/// A query's place in a socket's table.
pub(crate) struct Registration {
    socket: Arc<Socket>,
    id: u16,
}

impl Registration {
    /// The id the query must carry.
    pub(crate) fn id(&self) -> u16 {
        self.id
    }

    /// The socket the query goes out on.
    pub(crate) fn socket(&self) -> &Socket {
        &self.socket
    }

    /// Queues the query's datagram (its id already written) for the socket's task. A failure to
    /// send reaches the query as [`Undelivered::Unsent`].
    pub(crate) fn send(&self, bytes: Vec<u8>) {
        let io = &self.socket.io;
        io.outbox
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((bytes, self.id));
        io.queued.notify_one();
    }

    /// Datagrams from the server with this id that did not answer the query (forged, or a
    /// confused server), for the timeout's message.
    pub(crate) fn mismatched(&self) -> u32 {
        let table = self
            .socket
            .io
            .table
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        table.get(&self.id).map_or(0, |w| w.mismatched)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.socket
            .io
            .table
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
    }
}

thread_local! {
    /// The read buffer of the sockets' tasks running on this thread.
    static RECV: RefCell<Vec<u8>> = RefCell::new(vec![0; RECV_BUF]);
}

/// The socket's task: hands each arriving datagram to the query it answers, and sends what the
/// queries queued, a burst per system call.
///
/// Why `sendmmsg` and not a `send` per query: on loopback the kernel delivers the datagram to the
/// server inside the call and wakes it, and the woken server then often preempts the sender. One
/// call per burst pays that once per burst, and the server reads the burst in one go too.
async fn serve(io: Arc<Io>) {
    let mut batch = Vec::new();
    loop {
        tokio::select! {
            ready = io.udp.readable() => {
                if let Err(e) = ready.and_then(|()| read_some(&io)) {
                    tracing::warn!(error = %e, "DNS socket failed; queries on it end");
                    // Dropping the waiters' senders ends their queries with an error at once.
                    io.table.lock().unwrap_or_else(PoisonError::into_inner).clear();
                    return;
                }
            }
            () = io.queued.notified() => {
                // Let the tasks already runnable queue theirs first: yield_now runs again only
                // after them.
                tokio::task::yield_now().await;
                std::mem::swap(
                    &mut batch,
                    &mut *io.outbox.lock().unwrap_or_else(PoisonError::into_inner),
                );
                write_all(&io, &batch).await;
                batch.clear();
            }
        }
    }
}

/// Reads what has arrived (up to [`READS_PER_TURN`] datagrams) and delivers it; an error other
/// than "nothing more" or an ICMP report is the socket's end.
fn read_some(io: &Io) -> std::io::Result<()> {
    RECV.with_borrow_mut(|buf| {
        for _ in 0..READS_PER_TURN {
            match io.udp.try_recv_from(buf) {
                Ok((n, from)) => deliver(&io.table, io.server, canonical(from), &buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
                // An ICMP error for an earlier datagram (the server's port is closed, say): it
                // belongs to no query in particular, and can be forged; the queries time out as
                // for an unreachable server.
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionRefused
                            | std::io::ErrorKind::ConnectionReset
                            | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    })
}

/// Sends `batch`, [`BATCH`] datagrams per call, yielding between calls.
async fn write_all(io: &Io, batch: &[(Vec<u8>, u16)]) {
    let mut rest = batch;
    while !rest.is_empty() {
        let chunk = &rest[..rest.len().min(BATCH)];
        match send_some(&io.udp, chunk).await {
            Ok(n) => {
                rest = &rest[n.max(1).min(rest.len())..];
                if !rest.is_empty() {
                    tokio::task::yield_now().await;
                }
            }
            Err(e) => {
                // The first datagram failed (the kernel sent none): its query ends with the
                // error, and the rest go on.
                fail(&io.table, rest[0].1, e);
                rest = &rest[1..];
            }
        }
    }
}

/// One `sendmmsg` of `chunk` once the socket is writable: how many datagrams the kernel took.
async fn send_some(udp: &UdpSocket, chunk: &[(Vec<u8>, u16)]) -> std::io::Result<usize> {
    let slices: Vec<[IoSlice<'_>; 1]> = chunk.iter().map(|(b, _)| [IoSlice::new(b)]).collect();
    // Connected: no destination per datagram (nix pairs each slice with an entry here).
    let addrs: Vec<Option<SockaddrStorage>> = vec![None; chunk.len()];
    loop {
        let sent = udp.try_io(Interest::WRITABLE, || {
            // (Headers are not `Send`, so they live only inside the call.)
            let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(chunk.len(), None);
            sendmmsg(
                udp.as_raw_fd(),
                &mut headers,
                &slices,
                &addrs,
                [],
                MsgFlags::MSG_DONTWAIT,
            )
            .map(Iterator::count)
            .map_err(std::io::Error::from)
        });
        match sent {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => udp.writable().await?,
            // Interrupted; or an ICMP error for an earlier datagram, which a connected socket
            // reports at the next call (this one sent nothing): ignored, as the reader ignores
            // it (it can be forged, and names no query), and the burst is sent again.
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::Interrupted
                        | std::io::ErrorKind::ConnectionRefused
                        | std::io::ErrorKind::ConnectionReset
                ) =>
            {
                // (A flood of forged ICMP errors must not keep this loop from yielding.)
                tokio::task::yield_now().await;
            }
            other => return other,
        }
    }
}

/// Ends the query waiting under `id` with a send error.
fn fail(table: &Table, id: u16, e: std::io::Error) {
    let mut table = table.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(tx) = table.get_mut(&id).and_then(|w| w.tx.take()) {
        let _ = tx.send(Err(Undelivered::Unsent(e)));
    }
}

/// Hands one datagram from `from` to the query it answers, if any (`server`: the socket's own).
fn deliver(table: &Table, server: SocketAddr, from: SocketAddr, datagram: &[u8]) {
    // Source and id first, before any parsing: these are the first screens against forgery, and
    // a datagram that fails them must not be able to end a query (RFC 5452 §9.1). (The kernel
    // already drops other sources on a connected socket; this does not rely on it.)
    if from != server {
        return;
    }
    let Some(id) = datagram.first_chunk::<2>().map(|b| u16::from_be_bytes(*b)) else {
        return;
    };
    let mut table = table.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(waiter) = table.get_mut(&id).filter(|w| w.tx.is_some()) else {
        return;
    };
    let delivery = match super::accept(&waiter.question, datagram) {
        super::Acceptance::Answer(m) => Ok(*m),
        super::Acceptance::OtherQuestion | super::Acceptance::NotAnAnswer => {
            // Forged, reflected or confused: keep waiting for the real answer.
            waiter.mismatched += 1;
            return;
        }
        // Right server, right id, unreadable: the server is broken (as hickory also decides).
        super::Acceptance::Unreadable(e) => Err(Undelivered::Unreadable(e)),
    };
    if let Some(tx) = waiter.tx.take() {
        let _ = tx.send(delivery);
    }
}

/// The address as the kernel reports a datagram's source (an IPv4-mapped IPv6 address as IPv4).
fn canonical(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(a.ip().to_canonical(), a.port())
}

/// A random 16-bit value (query ids must be unpredictable): rand's thread-local generator is a
/// CSPRNG seeded from the system, and costs no system call per id as `getrandom` would.
pub(crate) fn random_u16() -> u16 {
    rand::random()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::{Name, RecordType};

    fn question(name: &str) -> Query {
        Query::query(Name::from_ascii(name).unwrap(), RecordType::TXT)
    }

    fn answer(id: u16, q: &Query) -> Vec<u8> {
        let mut m = Message::response(id, hickory_proto::op::OpCode::Query);
        m.add_query(q.clone());
        m.to_vec().unwrap()
    }

    #[tokio::test]
    async fn only_the_right_source_id_and_question_end_a_query() {
        let pool = Pool::default();
        let server: SocketAddr = "127.0.0.1:5300".parse().unwrap();
        let socket = pool.socket(server).unwrap();
        let q = question("a.test.");
        let (reg, mut rx) = socket.register(q.clone());
        let id = reg.id();
        let table = &socket.io.table;
        let other: SocketAddr = "127.0.0.2:5300".parse().unwrap();
        deliver(table, server, other, &answer(id, &q)); // wrong source
        deliver(table, server, server, &answer(id.wrapping_add(1), &q)); // wrong id
        deliver(table, server, server, &answer(id, &question("b.test."))); // wrong question
        deliver(table, server, server, &[0x12]); // too short to hold an id
        // The query itself, reflected back (QR clear): not an answer (it read as NODATA once).
        let mut echo = Message::query();
        echo.metadata.id = id;
        echo.add_query(q.clone());
        deliver(table, server, server, &echo.to_vec().unwrap());
        // A response, but to another opcode (NOTIFY) than the query's.
        let notify = Message::response(id, hickory_proto::op::OpCode::Notify)
            .add_query(q.clone())
            .to_vec()
            .unwrap();
        deliver(table, server, server, &notify);
        assert!(rx.try_recv().is_err(), "still waiting");
        assert_eq!(reg.mismatched(), 3);
        deliver(table, server, server, &answer(id, &q));
        assert!(rx.try_recv().unwrap().is_ok());
    }

    #[tokio::test]
    async fn garbage_under_the_right_id_is_an_unreadable_answer() {
        let pool = Pool::default();
        let server: SocketAddr = "127.0.0.1:5300".parse().unwrap();
        let socket = pool.socket(server).unwrap();
        let (reg, mut rx) = socket.register(question("a.test."));
        let [hi, lo] = reg.id().to_be_bytes();
        deliver(
            &socket.io.table,
            server,
            server,
            &[hi, lo, 0x81, 0x80, 0, 1, 0, 9, 0xff],
        );
        assert!(rx.try_recv().unwrap().is_err());
    }

    /// A datagram the kernel refuses (larger than UDP allows) ends its own query with the error;
    /// the queries queued with it in the same burst still go out. A server the kernel refuses to
    /// talk to at all (broadcast without SO_BROADCAST) is refused when its socket is opened.
    #[tokio::test]
    async fn a_refused_datagram_fails_its_query_and_the_burst_goes_on() {
        let listener = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let server = listener.local_addr().unwrap();
        let pool = Pool::default();
        let socket = pool.socket(server).unwrap();
        let (big_reg, big_rx) = socket.register(question("a.test."));
        let (good_reg, _good_rx) = socket.register(question("b.test."));
        big_reg.send(vec![0; 70_000]);
        good_reg.send(vec![7; 12]);
        match big_rx.await.unwrap() {
            Err(Undelivered::Unsent(e)) => assert_eq!(e.raw_os_error(), Some(90), "{e}"), // EMSGSIZE
            other => panic!("expected a send error, got {other:?}"),
        }
        let mut buf = [0u8; 64];
        let (n, _) = listener.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], &[7; 12]);

        let broadcast: SocketAddr = "255.255.255.255:53".parse().unwrap();
        let e = pool.socket(broadcast).err().expect("refused");
        assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{e}");
    }

    /// A connected socket reports an ICMP "port unreachable" for an earlier datagram at its next
    /// call; a send that meets it sends again instead of failing its burst's first query (the
    /// error names no query and can be forged, as the reader knows).
    #[tokio::test]
    async fn an_icmp_error_for_an_earlier_datagram_fails_no_send() {
        let dead = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let server = dead.local_addr().unwrap();
        drop(dead);
        // A socket as the pool opens one, without its task (which would take the error first).
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        udp.connect(server).await.unwrap();
        let one = [(vec![0u8; 12], 1u16)];
        assert_eq!(send_some(&udp, &one).await.unwrap(), 1);
        // The port-unreachable error has arrived once the socket is ready (with an error).
        udp.ready(Interest::ERROR).await.unwrap();
        assert_eq!(send_some(&udp, &one).await.unwrap(), 1, "sent, not failed");
    }

    #[test]
    fn the_retransmission_timeout_starts_as_unbounds_and_learns_with_a_floor() {
        let pool = Pool::default();
        let server: SocketAddr = "127.0.0.1:5300".parse().unwrap();
        assert_eq!(pool.rto(server), INITIAL_RTO);
        pool.learn(server, Duration::from_micros(200));
        assert_eq!(
            pool.rto(server),
            RETRANSMIT_FLOOR,
            "loopback waits the floor"
        );
        let far: SocketAddr = "192.0.2.1:53".parse().unwrap();
        pool.learn(far, Duration::from_millis(300));
        // First sample: RTO = 3 × RTT.
        assert_eq!(pool.rto(far), Duration::from_millis(900));
        assert_eq!(pool.rto(server), RETRANSMIT_FLOOR, "per server");
    }

    /// A finished query frees its id; a socket whose last query is done closes (its port with
    /// it), and the next query to the server opens another.
    #[tokio::test]
    async fn a_dropped_registration_frees_its_id_and_the_last_closes_the_socket() {
        let pool = Pool::default();
        let server: SocketAddr = "127.0.0.1:5300".parse().unwrap();
        let socket = pool.socket(server).unwrap();
        let (reg, _rx) = socket.register(question("a.test."));
        assert_eq!(socket.io.table.lock().unwrap().len(), 1);
        drop(reg);
        assert!(socket.io.table.lock().unwrap().is_empty());
        let first = socket.serial();
        drop(socket);
        assert_ne!(pool.socket(server).unwrap().serial(), first);
    }

    /// The issue-25 properties: a socket serves one server; it takes at most
    /// `QUERIES_PER_SOCKET` queries (so its id table can never fill: the old shared sockets could
    /// hold all 65,536 ids and then spun for a free one), and none after
    /// `SOCKET_TAKES_QUERIES_FOR`; and it is connected, so the kernel drops other sources.
    #[tokio::test(start_paused = true)]
    async fn a_socket_serves_one_server_for_a_few_queries_and_a_short_time() {
        let pool = Pool::default();
        let a: SocketAddr = "127.0.0.1:5300".parse().unwrap();
        let b: SocketAddr = "127.0.0.2:5300".parse().unwrap();
        let mut held = Vec::new();
        for i in 0..3 * QUERIES_PER_SOCKET {
            for server in [a, b] {
                let s = pool.socket(server).unwrap();
                let (reg, rx) = s.register(question(&format!("q{i}.test.")));
                held.push((server, reg, rx));
            }
        }
        let mut per_socket: HashMap<u64, (SocketAddr, u32)> = HashMap::new();
        for (server, reg, _) in &held {
            let s = reg.socket();
            assert_eq!(s.io.server, *server);
            assert_eq!(s.io.udp.peer_addr().unwrap(), *server, "connected");
            let e = per_socket.entry(s.serial()).or_insert((*server, 0));
            assert_eq!(e.0, *server, "socket {} serves two servers", s.serial());
            e.1 += 1;
        }
        assert_eq!(per_socket.len(), 6, "three sockets per server");
        assert!(per_socket.values().all(|(_, n)| *n == QUERIES_PER_SOCKET));
        let ports: std::collections::HashSet<u16> =
            held.iter().map(|(_, r, _)| r.socket().port()).collect();
        assert_eq!(ports.len(), 6, "a port per socket");

        // A socket that has taken one query takes none after its time, however few it had.
        let s = pool.socket(a).unwrap();
        let (_reg, _rx) = s.register(question("late.test."));
        tokio::time::advance(SOCKET_TAKES_QUERIES_FOR).await;
        assert_ne!(pool.socket(a).unwrap().serial(), s.serial());
    }

    /// Another source's datagram never ends a query, even with the right id and question (the
    /// kernel drops it on the connected socket; `deliver` would too).
    #[tokio::test]
    async fn datagrams_from_other_sources_never_end_a_query() {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let intruder = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let pool = Pool::default();
        let socket = pool.socket(server.local_addr().unwrap()).unwrap();
        let q = question("a.test.");
        let (reg, rx) = socket.register(q.clone());
        reg.send(vec![1; 12]);
        let mut buf = [0u8; 64];
        let (_, client) = server.recv_from(&mut buf).await.unwrap();
        let mut forged = Message::response(reg.id(), hickory_proto::op::OpCode::Query);
        forged.add_query(q.clone());
        forged.metadata.response_code = hickory_proto::op::ResponseCode::NXDomain;
        intruder
            .send_to(&forged.to_vec().unwrap(), client)
            .await
            .unwrap();
        server.send_to(&answer(reg.id(), &q), client).await.unwrap();
        let m = rx.await.unwrap().unwrap();
        assert_eq!(
            m.metadata.response_code,
            hickory_proto::op::ResponseCode::NoError,
            "the server's answer, not the intruder's"
        );
    }
}
