//! Round-trip-time estimation (RFC 6298 §2), shared by what waits on the network with learnt
//! patience: TCP port verdicts ([`crate::probe::rtt`]) and the DNS stub's retransmissions
//! ([`crate::stub`]).

use std::time::Duration;

/// RFC 6298 §2: smoothed RTT and its variation, from the samples seen so far.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RttEstimate {
    /// Smoothed RTT, seconds (`None` before the first sample).
    srtt: Option<f64>,
    /// RTT variation, seconds.
    rttvar: f64,
    /// The smallest sample, seconds: the path's own delay, without the queues a busy moment
    /// adds (BBR's RTprop, TCP Vegas's BaseRTT).
    min: Option<f64>,
    /// Samples taken.
    pub samples: u32,
}

impl RttEstimate {
    /// Adds one round-trip sample (RFC 6298 §2.2 and §2.3, α = 1/8, β = 1/4).
    pub fn add(&mut self, rtt: Duration) {
        let r = rtt.as_secs_f64();
        self.min = Some(self.min.map_or(r, |m| m.min(r)));
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2.0;
            }
            Some(srtt) => {
                self.rttvar = 0.75 * self.rttvar + 0.25 * (srtt - r).abs();
                self.srtt = Some(0.875 * srtt + 0.125 * r);
            }
        }
        self.samples = self.samples.saturating_add(1);
    }

    /// The retransmission timeout the samples give (`SRTT + 4·RTTVAR`), if there are any.
    pub fn rto(&self) -> Option<Duration> {
        let srtt = self.srtt?;
        Duration::try_from_secs_f64(srtt + 4.0 * self.rttvar).ok()
    }

    /// The smallest round trip seen, if any.
    pub fn min(&self) -> Option<Duration> {
        Duration::try_from_secs_f64(self.min?).ok()
    }

    /// `multiple` × the RTO, at least `floor`, at most `ceiling`; the ceiling itself without
    /// samples (there is nothing to go on).
    pub fn bounded(&self, multiple: u32, floor: Duration, ceiling: Duration) -> Duration {
        match self.rto() {
            Some(rto) => rto.saturating_mul(multiple).max(floor).min(ceiling),
            None => ceiling,
        }
    }
}
