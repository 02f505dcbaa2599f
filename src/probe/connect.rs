//! Reaching a customer endpoint over TCP: resolve the host through the scan's resolver (so
//! `--nameserver` and the lab apply), then connect to each address in turn.
//!
//! What the target says definitively (the name does not exist, every address refuses) is
//! evidence, [`Reach::Unreachable`], judged as `fail`. Silence (a timeout, often a firewall that
//! drops) and our own resolver failing are [`ProbeError`]s: we could not find out.

use std::net::{IpAddr, SocketAddr};

use tokio::net::TcpStream;

use super::dns::{Answer, Question, Rtype};
use super::{ProbeCx, ProbeError};
use crate::endpoint::Endpoint;
use crate::text::Text;

/// The outcome of trying to reach an endpoint.
#[derive(Debug)]
pub enum Reach {
    /// A connected stream and the address it went to.
    Connected(TcpStream, SocketAddr),
    /// The endpoint definitively cannot be reached; the sentence says why.
    Unreachable(Text),
}

/// The addresses of `ep`: the IP itself, or A then AAAA records.
pub async fn addresses(
    cx: &ProbeCx,
    ep: &Endpoint,
) -> Result<Result<Vec<IpAddr>, Text>, ProbeError> {
    if let Some(ip) = ep.ip() {
        return Ok(Ok(vec![ip]));
    }
    let mut ips = Vec::new();
    for rtype in [Rtype::A, Rtype::AAAA] {
        let l = cx.resolver.query(&Question::new(&ep.host, rtype)).await?;
        match l.answer {
            Answer::Nxdomain => {
                return Ok(Err(text!("connect.nxdomain", host = &ep.host)));
            }
            Answer::Nodata => {}
            Answer::Noerror { records, .. } => {
                ips.extend(records.iter().filter_map(|r| r.parse::<IpAddr>().ok()));
            }
        }
        if !ips.is_empty() {
            break;
        }
    }
    if ips.is_empty() {
        return Ok(Err(text!("connect.no-address", host = &ep.host)));
    }
    Ok(Ok(ips))
}

/// The HTTP(S) client for one host, as every probe that talks HTTP builds it: public roots plus
/// `--ca-file`, each request bounded by `cx.step`, no redirects (a caller that follows some does
/// so itself, checking each), this machine's proxy settings, and `ips` (found through the scan's
/// resolver) as the host's addresses (none given: the client resolves the name itself).
pub fn https_client(
    cx: &ProbeCx,
    ep: &Endpoint,
    ips: &[IpAddr],
) -> Result<reqwest::Client, ProbeError> {
    let mut builder = reqwest::Client::builder()
        .tls_backend_preconfigured(cx.tls.verifying_config())
        .connect_timeout(cx.step)
        .timeout(cx.step)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("tenant-ready/", env!("CARGO_PKG_VERSION")));
    if ep.ip().is_none() && !ips.is_empty() {
        let addrs: Vec<SocketAddr> = ips.iter().map(|ip| SocketAddr::new(*ip, ep.port)).collect();
        builder = builder.resolve_to_addrs(&ep.host, &addrs);
    }
    builder.build().map_err(|e| ProbeError::Net {
        kind: "internal",
        message: text!("value", value = e.to_string()),
    })
}

/// Resolves and connects, each connection attempt bounded by `cx.step`.
pub async fn connect(cx: &ProbeCx, ep: &Endpoint) -> Result<Reach, ProbeError> {
    let ips = match addresses(cx, ep).await? {
        Ok(ips) => ips,
        Err(why) => return Ok(Reach::Unreachable(why)),
    };
    let mut refused = Vec::new();
    let mut silent = Vec::new();
    let mut other = Vec::new();
    for ip in ips {
        let addr = SocketAddr::new(ip, ep.port);
        match tokio::time::timeout(cx.step, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => {
                let _ = s.set_nodelay(true);
                return Ok(Reach::Connected(s, addr));
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => refused.push(addr),
            Ok(Err(e)) => other.push(format!("{addr}: {e}")),
            Err(_) => silent.push(addr),
        }
    }
    let list = |v: &[SocketAddr]| {
        v.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !silent.is_empty() {
        return Err(ProbeError::Net {
            kind: "timeout",
            message: text!(
                "connect.timeout",
                addrs = list(&silent),
                timeout = humantime::format_duration(cx.step).to_string()
            ),
        });
    }
    if !other.is_empty() {
        return Err(ProbeError::Net {
            kind: "unreachable",
            message: text!(
                "connect.failed",
                endpoint = ep.to_string(),
                error = other.join("; ")
            ),
        });
    }
    Ok(Reach::Unreachable(text!(
        "connect.refused",
        addrs = list(&refused),
        port = ep.port
    )))
}
