//! One question to one server: a datagram from the pool, and TCP when the answer comes back
//! truncated (RFC 7766 §5), all inside one deadline.

use std::net::SocketAddr;
use std::sync::Arc;

use hickory_proto::op::{Edns, Message, Query};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::StubError;
use super::pool::{Pool, Undelivered};

/// The EDNS payload size advertised: the DNS Flag Day 2020 value, which fits any path's MTU
/// without fragmentation (what hickory sends too); larger answers come truncated, then over TCP.
const PAYLOAD: u16 = 1232;

/// A query message's bytes with a zero id (the id is written into the first two bytes per send).
pub(crate) fn encode(question: &Query, recursion_desired: bool) -> Result<Vec<u8>, StubError> {
    let mut m = Message::query();
    m.metadata.id = 0;
    m.metadata.recursion_desired = recursion_desired;
    m.add_query(question.clone());
    let mut edns = Edns::new();
    edns.set_max_payload(PAYLOAD).set_version(0);
    m.set_edns(edns);
    m.to_vec()
        .map_err(|e| StubError::Malformed(format!("cannot encode the question: {e}")))
}

/// Asks `server` (sending the datagram again when it seems lost): the answer and how many times
/// the query was sent again; `Timeout` when no acceptable answer arrives by `deadline`.
pub(crate) async fn exchange(
    pool: &Pool,
    server: SocketAddr,
    question: &Query,
    wire: &[u8],
    deadline: Instant,
) -> Result<(Message, u32), StubError> {
    let socket = pool.socket(server).map_err(|e| StubError::io(&e))?;
    let (registration, mut rx) = socket.register(question.clone());
    drop(socket);
    let mut bytes = wire.to_vec();
    bytes[..2].copy_from_slice(&registration.id().to_be_bytes());
    let (port, serial) = (registration.socket().port(), registration.socket().serial());
    tracing::trace!(target: "tenant_ready::stub::sent", %server, port, socket = serial, name = %question.name(), rtype = %question.query_type(), "udp");
    let sent = Instant::now();
    registration.send(bytes.clone());
    // UDP may lose the query or its answer (a busy server's full receive queue drops datagrams):
    // the same datagram goes again after the retransmission timeout, doubling each time (RFC
    // 6298 §5.5), until the deadline. Same id and question, so an answer to any copy is the answer.
    let mut rto = pool.rto(server);
    let mut retransmitted = 0;
    let delivery = loop {
        let wake = (Instant::now() + rto).min(deadline);
        match tokio::time::timeout_at(wake, &mut rx).await {
            Ok(delivery) => break delivery,
            Err(_) if wake < deadline => {
                tracing::trace!(target: "tenant_ready::stub::sent", %server, port, socket = serial, name = %question.name(), rtype = %question.query_type(), "udp-retransmit");
                registration.send(bytes.clone());
                retransmitted += 1;
                rto = rto.saturating_mul(2);
            }
            Err(_) => {
                return Err(StubError::Timeout {
                    mismatched: registration.mismatched(),
                });
            }
        }
    };
    let answer = match delivery {
        Ok(Ok(m)) => m,
        Ok(Err(Undelivered::Unreadable(why))) => return Err(StubError::Malformed(why)),
        Ok(Err(Undelivered::Unsent(e))) => return Err(StubError::io(&e)),
        Err(_) => {
            return Err(StubError::io(&std::io::Error::other(
                "the DNS socket closed",
            )));
        }
    };
    // Karn's rule: an answer after a retransmission could be to either copy, so it teaches nothing.
    if retransmitted == 0 {
        pool.learn(server, sent.elapsed());
    }
    drop(registration);
    if !answer.metadata.truncation {
        return Ok((answer, retransmitted));
    }
    tracing::trace!(target: "tenant_ready::stub::sent", %server, name = %question.name(), rtype = %question.query_type(), "tcp");
    match tokio::time::timeout_at(deadline, over_tcp(server, question, &mut bytes)).await {
        Ok(Ok(m)) => Ok((m, retransmitted)),
        Ok(Err(e)) => Err(StubError::Truncated(Arc::from(e.as_str()))),
        Err(_) => Err(StubError::Timeout { mismatched: 0 }),
    }
}

/// The same question over a fresh TCP connection (two-byte length prefix, RFC 1035 §4.2.2). The
/// answer must carry the id and question sent, as over UDP.
async fn over_tcp(
    server: SocketAddr,
    question: &Query,
    bytes: &mut [u8],
) -> Result<Message, String> {
    let id = super::pool::random_u16();
    bytes[..2].copy_from_slice(&id.to_be_bytes());
    let len = u16::try_from(bytes.len()).map_err(|_| "question too long".to_owned())?;
    let mut stream = TcpStream::connect(server)
        .await
        .map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    let mut framed = Vec::with_capacity(bytes.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(bytes);
    stream.write_all(&framed).await.map_err(|e| e.to_string())?;
    let mut len = [0u8; 2];
    stream
        .read_exact(&mut len)
        .await
        .map_err(|e| format!("the TCP answer ended early: {e}"))?;
    let mut answer = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream
        .read_exact(&mut answer)
        .await
        .map_err(|e| format!("the TCP answer ended early: {e}"))?;
    // The same screen as a datagram's (the question), plus the id this connection sent.
    match super::accept(question, &answer) {
        super::Acceptance::Answer(m) if m.metadata.id == id => Ok(*m),
        super::Acceptance::Unreadable(e) => Err(format!("unreadable TCP answer: {e}")),
        super::Acceptance::Answer(_)
        | super::Acceptance::OtherQuestion
        | super::Acceptance::NotAnAnswer => {
            Err("the TCP answer does not match the question".to_owned())
        }
    }
}
