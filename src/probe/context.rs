//! What the probes share for one run ([`ProbeCx`]), built from a scan's settings or from
//! `init --from-graph`'s flags: the resolver, the authoritative-server pool, the trust stores,
//! the step bound and the socket budget.

use std::path::PathBuf;

use super::ProbeCx;
use super::dns::{Authoritative, AuthoritativeOpts, Resolver, ResolverOpts, max_in_flight};
use super::{DEFAULT_QUERY_TIMEOUT, step_timeout};
use crate::error::ConfigError;

/// What a [`ProbeCx`] is built from (a scan's settings, or `init --from-graph`'s flags).
#[derive(Clone, Debug)]
pub struct NetOpts {
    /// `--nameserver` (empty: the system's resolvers).
    pub nameservers: Vec<std::net::SocketAddr>,
    /// `--ca-file`.
    pub ca_file: Option<PathBuf>,
    /// Per-check timeout.
    pub timeout: std::time::Duration,
    /// Checks at once.
    pub concurrency: usize,
    /// `--authoritative-port`.
    pub authoritative_port: u16,
    /// A name that must exist, asked before the scan believes a "does not exist" (see
    /// [`super::dns::Resolver::blind`]); `None` believes every answer.
    pub canary: Option<super::dns::Question>,
}

/// The probes' shared resources for these options.
pub fn probe_cx_from(o: &NetOpts) -> Result<ProbeCx, ConfigError> {
    let tls = crate::tls::TlsCx::new(o.ca_file.as_deref())
        .map_err(|e| ConfigError::Usage(e.to_string()))?;
    let resolver = Resolver::new(&ResolverOpts {
        nameservers: o.nameservers.clone(),
        timeout: o.timeout.min(DEFAULT_QUERY_TIMEOUT),
        cache: true,
        // The stub's limit, or hickory's with the system resolver.
        max_in_flight: max_in_flight(o.concurrency),
        canary: o.canary.clone(),
    })
    .map_err(|e| ConfigError::Usage(format!("{e} (use --nameserver to choose a resolver)")))?;
    Ok(ProbeCx {
        resolver,
        authoritative: Authoritative::new(AuthoritativeOpts {
            port: o.authoritative_port,
            timeout: authoritative_timeout(o.timeout),
            max_in_flight: max_in_flight(o.concurrency),
        }),
        tls,
        step: step_timeout(o.timeout),
        sockets: crate::probe::sockets_in_flight(o.concurrency),
        destinations: std::sync::Arc::default(),
        discovery: std::sync::Arc::default(),
        spf_networks: std::sync::Arc::default(),
        spf_includes: std::sync::Arc::default(),
        graph: None,
    })
}

/// Per-query timeout for direct authoritative queries: the NS-consistency check makes up to three
/// rounds of queries (zone, addresses, servers) and hickory may try UDP then TCP, so a quarter of
/// the check's timeout lets a dead server be *reported* before the check itself times out.
pub fn authoritative_timeout(check_timeout: std::time::Duration) -> std::time::Duration {
    (check_timeout / 4).min(DEFAULT_QUERY_TIMEOUT)
}
