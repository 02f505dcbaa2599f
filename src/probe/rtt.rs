//! Round-trip times learnt from the replies to TCP connection attempts, and how long a silent
//! port is worth waiting for once they are known (RFC 6298's estimator, as nmap's timing uses it).
//!
//! Every SYN-ACK (open) and RST (closed) from a destination is a round-trip sample. With samples,
//! a port that stays silent is called `filtered` after [`port_wait`]: a multiple of the
//! retransmission timeout (`SRTT + 4·RTTVAR`), never less than a floor, never more than the
//! configured timeout. With no reply at all from the destination there is nothing to learn from:
//! the full timeout applies (a host that answers nothing may be slow, not filtered).

use std::time::Duration;

/// A silent port is never called filtered sooner than this, whatever the round trips say: a
/// loopback or LAN RTT of a fraction of a millisecond must not turn a busy server's slow SYN-ACK
/// into `filtered`. (nmap's `-T4` floor is 100 ms; ours is more cautious.)
pub const FLOOR: Duration = Duration::from_millis(250);

/// How many retransmission timeouts a silent port gets: a reply later than this would be a
/// round trip several deviations beyond anything the destination has shown.
pub const MULTIPLE: u32 = 3;

pub use crate::rtt::RttEstimate;

/// How long a silent port is waited for, given what its destination's replies showed: [`MULTIPLE`]
/// × the RTO, at least [`FLOOR`], at most `ceiling` (the configured timeout); the ceiling itself
/// without samples.
pub fn port_wait(e: &RttEstimate, ceiling: Duration) -> Duration {
    e.bounded(MULTIPLE, FLOOR, ceiling)
}

/// What the attempts to one destination share, scan-wide (every endpoint set that tests the
/// address): the round trips its replies showed, and a wake-up for the attempts still waiting when
/// a new one comes in.
#[derive(Debug, Default)]
pub struct Destination {
    estimate: std::sync::Mutex<RttEstimate>,
    replied: tokio::sync::Notify,
}

impl Destination {
    /// Resolves when a reply teaches something new (create it before reading [`Self::wait`], so
    /// a reply in between is not missed).
    pub fn replied(&self) -> tokio::sync::futures::Notified<'_> {
        self.replied.notified()
    }

    /// How long a silent port of this destination is waited for now.
    pub fn wait(&self, ceiling: Duration) -> Duration {
        self.estimate
            .lock()
            .map_or(ceiling, |e| port_wait(&e, ceiling))
    }

    /// A reply came back after `rtt`: learn it and wake the attempts still waiting.
    pub fn learn(&self, rtt: Duration) {
        if let Ok(mut e) = self.estimate.lock() {
            e.add(rtt);
        }
        self.replied.notify_waiters();
    }
}

/// The destinations of one scan, by address: each learns from every reply it sends, whichever
/// check's attempt it answered.
#[derive(Debug, Default)]
pub struct Destinations {
    by_ip:
        std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, std::sync::Arc<Destination>>>,
}

impl Destinations {
    /// The shared state of `ip` (created on first use).
    pub fn get(&self, ip: std::net::IpAddr) -> std::sync::Arc<Destination> {
        match self.by_ip.lock() {
            Ok(mut m) => std::sync::Arc::clone(m.entry(ip).or_default()),
            // A poisoned map (a panic elsewhere) only costs the sharing: learn alone.
            Err(_) => std::sync::Arc::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn no_reply_keeps_the_full_timeout() {
        assert_eq!(port_wait(&RttEstimate::default(), MS(2000)), MS(2000));
    }

    #[test]
    fn rfc_6298_arithmetic() {
        let mut e = RttEstimate::default();
        e.add(MS(100));
        // First sample: SRTT = R, RTTVAR = R/2, RTO = R + 4·R/2 = 3R.
        assert_eq!(e.rto(), Some(MS(300)));
        e.add(MS(100));
        // RTTVAR = 3/4·50 + 1/4·0 = 37.5 ms; SRTT stays 100 ms; RTO = 250 ms.
        let rto = e.rto().unwrap().as_secs_f64() * 1000.0;
        assert!((rto - 250.0).abs() < 1e-6, "{rto}");
        assert_eq!(e.samples, 2);
    }

    #[test]
    fn the_wait_is_floored_and_capped() {
        let mut lan = RttEstimate::default();
        for _ in 0..10 {
            lan.add(Duration::from_micros(300));
        }
        assert_eq!(
            port_wait(&lan, MS(2000)),
            FLOOR,
            "a fast LAN still waits the floor"
        );
        let mut far = RttEstimate::default();
        far.add(MS(200));
        // 3 × (200 + 4·100) ms = 1.8 s, under a 2 s ceiling…
        assert_eq!(port_wait(&far, MS(2000)), MS(1800));
        // …and capped by a shorter one.
        assert_eq!(port_wait(&far, MS(1000)), MS(1000));
        // A jittery path widens the wait.
        let mut jitter = RttEstimate::default();
        for r in [20, 180, 30, 160, 25] {
            jitter.add(MS(r));
        }
        assert!(
            port_wait(&jitter, MS(5000)) > MS(500),
            "{:?}",
            port_wait(&jitter, MS(5000))
        );
    }
}
