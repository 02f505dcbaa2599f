//! How many exchanges a client may have in flight at once: a window that opens with the path's
//! round trip, so that a server far away is asked as many questions per second as a near one.
//!
//! Little's law: exchanges in flight = rate × round trip. A fixed limit is therefore a rate that
//! falls with distance: the first version's 64 per authoritative server kept a loopback knotd
//! busy without overflowing its receive queue, but held 1,000 domains' NS comparisons on one
//! server 20 ms away to a few thousand questions a second (4.9 s in `bench_dns --lab --delay-ms
//! 20`). A fixed 1,024 was fast far away and, on loopback, overflowed the server (95–203 queries
//! lost per `bench_dns` run and each sent again after at least 250 ms, instead of 0–20).
//!
//! So the window is sized from the server's *base* round trip, the smallest seen (BBR's RTprop,
//! TCP Vegas's BaseRTT), not the smoothed one: a busy moment's queueing, in the server or in this
//! process, must not open the window further, since queueing is what a too-wide window causes.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

/// The rate a window aims at per server: 64 exchanges per 5 ms of base round trip, the first
/// version's limit over a LAN's round trip. It opens the window only for servers farther than
/// that (20 ms: 256 in flight; 100 ms: 1,280, within the ceiling).
const RATE_PER_SECOND: f64 = 64.0 / 0.005;

/// A semaphore whose number of permits follows [`Window::fit`].
#[derive(Debug)]
pub(crate) struct Window {
    permits: Semaphore,
    /// Permits the window holds now (available or taken).
    size: Mutex<usize>,
    /// The smallest window, and the first.
    floor: usize,
    /// The largest window.
    ceiling: usize,
}

impl Window {
    /// A window of `floor` that may open to `ceiling` (both at least 1, and at most what a
    /// semaphore holds: `Semaphore::new` panics beyond it).
    pub(crate) fn new(floor: usize, ceiling: usize) -> Self {
        let floor = floor.clamp(1, Semaphore::MAX_PERMITS);
        let ceiling = ceiling.clamp(floor, Semaphore::MAX_PERMITS);
        Self {
            permits: Semaphore::new(floor),
            size: Mutex::new(floor),
            floor,
            ceiling,
        }
    }

    /// Waits for a place in the window; `None` once it is closed.
    pub(crate) async fn enter(&self) -> Option<SemaphorePermit<'_>> {
        self.permits.acquire().await.ok()
    }

    /// The window for a server whose base round trip is `base_rtt`, within the floor and ceiling.
    pub(crate) fn target(&self, base_rtt: Duration) -> usize {
        let wanted = (RATE_PER_SECOND * base_rtt.as_secs_f64()).ceil();
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "`as` saturates a float too large for usize; the product is never negative or NaN"
        )]
        let wanted = wanted as usize;
        wanted.clamp(self.floor, self.ceiling)
    }

    /// Whether the window can move at all (a fixed limit has floor = ceiling).
    pub(crate) fn opens(&self) -> bool {
        self.floor < self.ceiling
    }

    /// Opens or closes the window to fit `base_rtt`. Closing takes back only free permits (the
    /// exchanges in flight finish); the rest is taken back at a later fit.
    pub(crate) fn fit(&self, base_rtt: Duration) {
        let target = self.target(base_rtt);
        // Under the lock, so that two fits at once cannot both add the same difference.
        let mut size = self.size.lock().unwrap_or_else(PoisonError::into_inner);
        if target > *size {
            self.permits.add_permits(target - *size);
            *size = target;
        } else if target < *size {
            *size -= self.permits.forget_permits(*size - target);
        }
    }

    /// Permits the window holds now.
    #[cfg(test)]
    pub(crate) fn size(&self) -> usize {
        *self.size.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    /// A limit beyond what a semaphore holds is clamped, not a panic (issue 25).
    #[test]
    fn an_absurd_limit_is_clamped() {
        let w = Window::new(usize::MAX, usize::MAX);
        assert_eq!(w.ceiling, Semaphore::MAX_PERMITS);
        assert!(!w.opens());
    }

    use super::*;

    #[test]
    fn a_near_server_keeps_the_floor_and_a_far_one_opens_the_window() {
        let w = Window::new(64, 1024);
        assert_eq!(w.target(Duration::from_micros(100)), 64, "loopback");
        assert_eq!(w.target(Duration::from_millis(5)), 64, "LAN");
        assert_eq!(w.target(Duration::from_millis(20)), 256);
        assert_eq!(w.target(Duration::from_millis(100)), 1024, "the ceiling");
        assert_eq!(w.target(Duration::MAX), 1024);
    }

    #[tokio::test]
    async fn the_window_opens_and_closes_without_taking_back_permits_in_use() {
        let w = Window::new(64, 1024);
        assert_eq!(w.size(), 64);
        w.fit(Duration::from_millis(20));
        assert_eq!(w.size(), 256);
        let mut held = Vec::new();
        for _ in 0..200 {
            held.push(w.enter().await.unwrap());
        }
        // Back to a near server: only the 56 free permits can go now.
        w.fit(Duration::from_micros(100));
        assert_eq!(w.size(), 200);
        assert!(
            w.permits.try_acquire().is_err(),
            "no place while 200 are in flight"
        );
        drop(held);
        w.fit(Duration::from_micros(100));
        assert_eq!(w.size(), 64);
        assert_eq!(w.permits.available_permits(), 64);
    }

    #[test]
    fn a_fixed_window_never_moves() {
        let w = Window::new(256, 256);
        assert!(!w.opens());
        w.fit(Duration::from_millis(100));
        assert_eq!(w.size(), 256);
        w.fit(Duration::ZERO);
        assert_eq!(w.size(), 256);
    }
}
