//! A STUN responder on loopback for the Teams media check: answers Binding requests with
//! XOR-MAPPED-ADDRESS (or, `silent`, swallows them like a firewall that drops UDP).

use std::net::SocketAddr;

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

/// A running responder.
pub struct StunServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl StunServer {
    /// Binds `addr` and answers (or not, when `silent`).
    pub async fn start(addr: SocketAddr, silent: bool) -> std::io::Result<Self> {
        let sock = UdpSocket::bind(addr).await?;
        let addr = sock.local_addr()?;
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            loop {
                let Ok((n, peer)) = sock.recv_from(&mut buf).await else {
                    continue;
                };
                if silent {
                    continue;
                }
                if let Some(resp) = crate::stun::binding_success(&buf[..n], peer) {
                    let _ = sock.send_to(&resp, peer).await;
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
