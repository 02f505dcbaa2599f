//! A STUN responder on loopback for the Teams media and latency checks: answers Binding requests
//! with XOR-MAPPED-ADDRESS, or swallows them like a firewall that drops UDP, or impairs them like a
//! WAN link (`tc netem` is not in this kernel, so delay, jitter and loss are applied here).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

/// How the responder degrades its answers, deterministically (tests compare exact figures).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Impairment {
    /// Never answer.
    pub silent: bool,
    /// Added to every answer.
    pub delay: Duration,
    /// Added to every other answer (so consecutive round trips differ by exactly this much).
    pub jitter: Duration,
    /// Drop every Nth request (0: none).
    pub drop_every: u32,
}

/// A running responder.
pub struct StunServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl StunServer {
    /// Binds `addr` and answers (or not, when `silent`).
    pub async fn start(addr: SocketAddr, silent: bool) -> std::io::Result<Self> {
        Self::start_impaired(
            addr,
            Impairment {
                silent,
                ..Impairment::default()
            },
        )
        .await
    }

    /// Binds `addr` and answers through `imp`.
    pub async fn start_impaired(addr: SocketAddr, imp: Impairment) -> std::io::Result<Self> {
        let sock = Arc::new(UdpSocket::bind(addr).await?);
        let addr = sock.local_addr()?;
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            let mut n_seen: u32 = 0;
            loop {
                let Ok((n, peer)) = sock.recv_from(&mut buf).await else {
                    continue;
                };
                n_seen = n_seen.wrapping_add(1);
                if imp.silent || (imp.drop_every > 0 && n_seen.is_multiple_of(imp.drop_every)) {
                    continue;
                }
                let Some(resp) = crate::stun::binding_success(&buf[..n], peer) else {
                    continue;
                };
                let wait = imp.delay
                    + if n_seen.is_multiple_of(2) {
                        imp.jitter
                    } else {
                        Duration::ZERO
                    };
                if wait.is_zero() {
                    let _ = sock.send_to(&resp, peer).await;
                } else {
                    let sock = Arc::clone(&sock);
                    tokio::spawn(async move {
                        tokio::time::sleep(wait).await;
                        let _ = sock.send_to(&resp, peer).await;
                    });
                }
            }
        });
        Ok(Self { addr, task })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for StunServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
