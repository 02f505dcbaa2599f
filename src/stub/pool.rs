//! The UDP sockets the stub sends from: a few long-lived sockets per address family, bound on
//! first use, each with one task that reads every datagram arriving on it and hands it to the
//! query waiting for it, and one that sends the queries queued on it, a burst per `sendmmsg`.
//!
//! Why a pool and not a socket per query (what hickory's client does): binding, registering with
//! the reactor and closing a socket costs more than the query itself on loopback, and a scan sends
//! tens of thousands. Each socket has its own kernel-chosen (random) port, each query a random
//! 16-bit id, and an answer is accepted only when its source address, id and question all match a
//! query in flight (RFC 5452 §9.1): anything else is dropped and counted against nobody, so a
//! stray or forged datagram cannot end a query early.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use std::io::IoSlice;
use std::os::fd::AsRawFd as _;

use hickory_proto::op::{Message, Query};
use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrStorage, sendmmsg};

use crate::rtt::RttEstimate;
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::{Notify, OnceCell, oneshot};
use tokio::task::AbortHandle;

/// Sockets per address family. Two cores read them; eight spreads the ids over eight ports
/// without costing more than a few file descriptors.
const SOCKETS: usize = 8;

/// Largest datagram read. The stub advertises 1232 bytes (EDNS), but a server may send more; a
/// datagram cut short by the buffer would only parse as garbage.
const RECV_BUF: usize = 65_535;

/// Datagrams handed to the kernel in one `sendmmsg` call at most. The writer yields between calls,
/// so the answers (and, on a shared machine, the server) get a turn: a burst of hundreds at once
/// overflows a server's default receive queue sooner. (Kernel `UdpRcvbufErrors` over four whole
/// bench_dns runs each, dnsperf's own losses included: 21–101 per run with 64 and no yield, 11–58
/// with 16 and the yield.) What is lost anyway is retransmitted.
const BATCH: usize = 16;

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
    /// Datagrams from the right server with the right id but another question.
    mismatched: u32,
}

/// The in-flight table of one socket: server address and id → the query waiting.
type Table = Mutex<HashMap<(SocketAddr, u16), Waiter>>;

pub(crate) struct Socket {
    udp: UdpSocket,
    table: Table,
    /// Queries waiting for the writer: (bytes, server, id).
    outbox: Mutex<Vec<(Vec<u8>, SocketAddr, u16)>>,
    /// Wakes the writer (a stored permit, so no query queued between its checks is missed).
    queued: Notify,
}

/// The pool: sockets for IPv4 and IPv6 servers, bound when first needed (inside the runtime that
/// uses them), and their reader and writer tasks, stopped when the pool is dropped.
#[derive(Default)]
pub(crate) struct Pool {
    v4: OnceCell<Vec<Arc<Socket>>>,
    v6: OnceCell<Vec<Arc<Socket>>>,
    tasks: Mutex<Vec<AbortHandle>>,
    /// Each server's round trips so far, for its retransmission timeout.
    rtt: Mutex<HashMap<SocketAddr, RttEstimate>>,
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

impl Drop for Pool {
    fn drop(&mut self) {
        for r in self
            .tasks
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            r.abort();
        }
    }
}

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

    /// A socket of the server's family, chosen at random.
    pub(crate) async fn socket(&self, server: SocketAddr) -> std::io::Result<Arc<Socket>> {
        let (cell, any) = if server.is_ipv4() {
            (&self.v4, SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)))
        } else {
            (&self.v6, SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)))
        };
        let sockets = cell.get_or_try_init(|| self.bind(any)).await?;
        let pick = usize::from(random_u16()) % sockets.len();
        Ok(Arc::clone(&sockets[pick]))
    }

    async fn bind(&self, any: SocketAddr) -> std::io::Result<Vec<Arc<Socket>>> {
        let mut sockets = Vec::with_capacity(SOCKETS);
        for _ in 0..SOCKETS {
            let udp = UdpSocket::bind(any).await?;
            // A scan's bursts are hundreds of answers at once; the default buffer (~200 KB) would
            // drop some on a busy machine and turn them into timeouts. Best effort: the kernel
            // caps it at net.core.rmem_max.
            let _ = socket2::SockRef::from(&udp).set_recv_buffer_size(1 << 20);
            let socket = Arc::new(Socket {
                udp,
                table: Mutex::default(),
                outbox: Mutex::default(),
                queued: Notify::new(),
            });
            let reader = tokio::spawn(read(Arc::clone(&socket)));
            let writer = tokio::spawn(write(Arc::clone(&socket)));
            self.tasks
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend([reader.abort_handle(), writer.abort_handle()]);
            sockets.push(socket);
        }
        Ok(sockets)
    }
}

impl Socket {
    /// Registers a query to `server` under a fresh random id; the registration removes itself when
    /// dropped, so a query that times out or is cancelled leaves nothing behind.
    pub(crate) fn register(
        self: &Arc<Self>,
        server: SocketAddr,
        question: Query,
    ) -> (Registration, oneshot::Receiver<Delivery>) {
        let server = canonical(server);
        let (tx, rx) = oneshot::channel();
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let mut waiter = Some(Waiter {
            question,
            tx: Some(tx),
            mismatched: 0,
        });
        loop {
            let id = random_u16();
            if let Entry::Vacant(slot) = table.entry((server, id)) {
                if let Some(w) = waiter.take() {
                    slot.insert(w);
                }
                let registration = Registration {
                    socket: Arc::clone(self),
                    key: (server, id),
                };
                return (registration, rx);
            }
        }
    }
}

/// A query's place in a socket's table.
pub(crate) struct Registration {
    socket: Arc<Socket>,
    key: (SocketAddr, u16),
}

impl Registration {
    /// The id the query must carry.
    pub(crate) fn id(&self) -> u16 {
        self.key.1
    }

    /// Queues the query's datagram (its id already written) for the socket's writer. A failure to
    /// send reaches the query as [`Undelivered::Unsent`].
    pub(crate) fn send(&self, bytes: Vec<u8>) {
        self.socket
            .outbox
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((bytes, self.key.0, self.key.1));
        self.socket.queued.notify_one();
    }

    /// Datagrams from the server with this id that asked another question (forged, or a
    /// confused server), for the timeout's message.
    pub(crate) fn mismatched(&self) -> u32 {
        let table = self
            .socket
            .table
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        table.get(&self.key).map_or(0, |w| w.mismatched)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.socket
            .table
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
    }
}

/// The socket's reader: matches each datagram to its query by source, id, then question.
async fn read(socket: Arc<Socket>) {
    let mut buf = vec![0u8; RECV_BUF];
    loop {
        let (n, from) = match socket.udp.recv_from(&mut buf).await {
            Ok(got) => got,
            // ICMP errors for earlier datagrams surface here on some systems; they belong to no
            // query in particular (the query times out, as the server is unreachable).
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionRefused
                        | std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "DNS socket failed; queries on it end");
                // Dropping the waiters' senders ends their queries with an error at once.
                socket
                    .table
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clear();
                return;
            }
        };
        deliver(&socket.table, canonical(from), &buf[..n]);
    }
}

/// The socket's writer: sends what the queries queued, a burst per system call.
///
/// Why not a `send_to` per query: on loopback the kernel delivers the datagram to the server
/// inside the call and wakes it, and the woken server then often preempts the sender. One
/// `sendmmsg` per burst pays that once per burst, and the server reads the burst in one go too.
async fn write(socket: Arc<Socket>) {
    let mut batch = Vec::new();
    loop {
        socket.queued.notified().await;
        // Let the tasks already runnable queue theirs first: yield_now runs again only after them.
        tokio::task::yield_now().await;
        std::mem::swap(
            &mut batch,
            &mut *socket.outbox.lock().unwrap_or_else(PoisonError::into_inner),
        );
        let mut rest = &batch[..];
        while !rest.is_empty() {
            let chunk = &rest[..rest.len().min(BATCH)];
            match send_some(&socket.udp, chunk).await {
                Ok(n) => {
                    rest = &rest[n.max(1).min(rest.len())..];
                    tokio::task::yield_now().await;
                }
                Err(e) => {
                    // The first datagram failed (the kernel sent none): its query ends with the
                    // error, and the rest go on.
                    let (_, server, id) = &rest[0];
                    fail(&socket.table, (*server, *id), e);
                    rest = &rest[1..];
                }
            }
        }
        batch.clear();
    }
}

/// One `sendmmsg` of `chunk` once the socket is writable: how many datagrams the kernel took.
async fn send_some(
    udp: &UdpSocket,
    chunk: &[(Vec<u8>, SocketAddr, u16)],
) -> std::io::Result<usize> {
    let slices: Vec<[IoSlice<'_>; 1]> = chunk.iter().map(|(b, ..)| [IoSlice::new(b)]).collect();
    let addrs: Vec<Option<SockaddrStorage>> = chunk
        .iter()
        .map(|(_, to, _)| Some(SockaddrStorage::from(*to)))
        .collect();
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
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// Ends the query waiting under `key` with a send error.
fn fail(table: &Table, key: (SocketAddr, u16), e: std::io::Error) {
    let mut table = table.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(tx) = table.get_mut(&key).and_then(|w| w.tx.take()) {
        let _ = tx.send(Err(Undelivered::Unsent(e)));
    }
}

/// Hands one datagram to the query it answers, if any.
fn deliver(table: &Table, from: SocketAddr, datagram: &[u8]) {
    // Source and id first, before any parsing: these are the first screens against forgery, and
    // a datagram that fails them must not be able to end a query (RFC 5452 §9.1).
    let Some(id) = datagram.first_chunk::<2>().map(|b| u16::from_be_bytes(*b)) else {
        return;
    };
    let mut table = table.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(waiter) = table.get_mut(&(from, id)).filter(|w| w.tx.is_some()) else {
        return;
    };
    let delivery = match super::accept(&waiter.question, datagram) {
        super::Acceptance::Answer(m) => Ok(*m),
        super::Acceptance::OtherQuestion => {
            // Forged or confused: keep waiting for the real answer.
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
        let socket = pool.socket(server).await.unwrap();
        let q = question("a.test.");
        let (reg, mut rx) = socket.register(server, q.clone());
        let id = reg.id();
        let other: SocketAddr = "127.0.0.2:5300".parse().unwrap();
        deliver(&socket.table, other, &answer(id, &q)); // wrong source
        deliver(&socket.table, server, &answer(id.wrapping_add(1), &q)); // wrong id
        deliver(&socket.table, server, &answer(id, &question("b.test."))); // wrong question
        deliver(&socket.table, server, &[0x12]); // too short to hold an id
        assert!(rx.try_recv().is_err(), "still waiting");
        assert_eq!(reg.mismatched(), 1);
        deliver(&socket.table, server, &answer(id, &q));
        assert!(rx.try_recv().unwrap().is_ok());
    }

    #[tokio::test]
    async fn garbage_under_the_right_id_is_an_unreadable_answer() {
        let pool = Pool::default();
        let server: SocketAddr = "127.0.0.1:5300".parse().unwrap();
        let socket = pool.socket(server).await.unwrap();
        let (reg, mut rx) = socket.register(server, question("a.test."));
        let [hi, lo] = reg.id().to_be_bytes();
        deliver(
            &socket.table,
            server,
            &[hi, lo, 0x81, 0x80, 0, 1, 0, 9, 0xff],
        );
        assert!(rx.try_recv().unwrap().is_err());
    }

    /// A datagram the kernel refuses ends its own query with the error; the queries queued with
    /// it in the same burst still go out. (Broadcast without SO_BROADCAST is refused before
    /// anything leaves the machine.)
    #[tokio::test]
    async fn a_refused_datagram_fails_its_query_and_the_burst_goes_on() {
        let listener = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let good = listener.local_addr().unwrap();
        let bad: SocketAddr = "255.255.255.255:53".parse().unwrap();
        let pool = Pool::default();
        let socket = pool.socket(good).await.unwrap();
        let (bad_reg, bad_rx) = socket.register(bad, question("a.test."));
        let (good_reg, _good_rx) = socket.register(good, question("b.test."));
        bad_reg.send(vec![0; 12]);
        good_reg.send(vec![7; 12]);
        match bad_rx.await.unwrap() {
            Err(Undelivered::Unsent(e)) => {
                assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{e}");
            }
            other => panic!("expected a send error, got {other:?}"),
        }
        let mut buf = [0u8; 64];
        let (n, _) = listener.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], &[7; 12]);
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

    #[tokio::test]
    async fn a_dropped_registration_frees_its_id() {
        let pool = Pool::default();
        let server: SocketAddr = "127.0.0.1:5300".parse().unwrap();
        let socket = pool.socket(server).await.unwrap();
        let (reg, _rx) = socket.register(server, question("a.test."));
        assert_eq!(socket.table.lock().unwrap().len(), 1);
        drop(reg);
        assert!(socket.table.lock().unwrap().is_empty());
    }
}
