//! One answer per question per run: identical questions in flight at once share one exchange
//! (a thousand domains' SPF records all include `spf.protection.outlook.com`), and answers are
//! kept for their TTL, bounded in number.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use hickory_proto::rr::RecordType;

use super::{Reply, StubError};

/// Answers kept (hickory's default cache size). When full, the finished entries nobody asked for
/// a second time are dropped at once: a scan's questions are mostly asked once (each domain's own
/// names), and the ones worth keeping are those many domains share (Microsoft's SPF include),
/// which have been asked again by then. A question in flight is never dropped, so with more
/// than this many in flight the table is pruned again only when it has doubled since (below).
const CAPACITY: usize = 4096;

/// A finished exchange: its result, and until when it may be reused.
#[derive(Clone, Debug)]
pub(crate) struct Outcome {
    pub(crate) result: Result<Arc<Reply>, StubError>,
    pub(crate) reusable_until: Instant,
}

impl Outcome {
    /// An outcome reusable for `ttl` from now (zero: only by questions already waiting for it).
    pub(crate) fn new(result: Result<Arc<Reply>, StubError>, ttl: Duration) -> Self {
        let now = Instant::now();
        Self {
            result,
            // A TTL is at most 2³¹ s ([`super::ttl`]), but no time from the network is added
            // unchecked: a clock that cannot say that far ahead reuses nothing.
            reusable_until: now.checked_add(ttl).unwrap_or(now),
        }
    }
}

type Pending = Shared<BoxFuture<'static, Outcome>>;

/// The table of questions: lower-case name and type → the exchange (in flight or finished) and
/// whether it has been asked again since.
#[derive(Default)]
pub(crate) struct Memo {
    table: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    entries: HashMap<(String, RecordType), (Pending, bool)>,
    /// The size at which the table is pruned next: [`CAPACITY`], or twice what a pruning left
    /// (when more than `CAPACITY` questions are in flight, none of which may go). Each pruning
    /// walks the table once and is followed by at least as many new questions as it kept, so a
    /// question costs O(1) amortised: pruning at every new question once 4,096 were in flight
    /// cost a 100,000-domain scan 64 s of CPU (issue 25).
    prune_at: usize,
    /// Prunings so far (for the test of the amortised cost).
    prunings: usize,
}

impl Memo {
    /// The exchange for this question: one already in flight or still fresh, or a new one from
    /// `start` (given the name).
    ///
    /// The exchange is not a task of its own: whichever asker polls it drives it, and when the one
    /// polling gives up, the others are woken and carry on (a shared future wakes every waiter).
    /// One that nobody waits for any more (its askers all cancelled) is not resumed, since its
    /// deadline may be long gone: the next asker starts the question afresh. (A task per
    /// exchange cost a spawn and one more wake-up per query: ~5 % of a 1,000-domain scan's CPU.)
    pub(crate) fn get_or_start(
        &self,
        key: (String, RecordType),
        start: impl FnOnce(&str) -> BoxFuture<'static, Outcome>,
    ) -> Pending {
        let mut guard = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let table = &mut *guard;
        if let Some((p, again)) = table.entries.get_mut(&key) {
            let fresh = match p.peek() {
                Some(o) => o.reusable_until > Instant::now(),
                None => waited_on(p),
            };
            if fresh {
                *again = true;
                return p.clone();
            }
        }
        if table.entries.len() >= table.prune_at.max(CAPACITY) {
            table.prunings += 1;
            let entries = &mut table.entries;
            entries.retain(|_, (p, again)| waited_on(p) || (*again && p.peek().is_some()));
            if entries.len() >= CAPACITY {
                // Everything left is shared or in flight: start over with what is in flight.
                entries.retain(|_, (p, _)| waited_on(p));
            }
            table.prune_at = entries.len().saturating_mul(2);
        }
        let pending = start(&key.0).shared();
        table.entries.insert(key, (pending.clone(), false));
        pending
    }
}

/// In flight, with someone besides the table still waiting on it (worth joining and keeping).
fn waited_on(p: &Pending) -> bool {
    p.peek().is_none() && p.strong_count().is_some_and(|n| n > 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn answered(memo: &Memo, name: &str, started: &AtomicUsize) {
        let pending = memo.get_or_start((name.to_owned(), RecordType::TXT), |_| {
            started.fetch_add(1, Ordering::Relaxed);
            let reply = Reply {
                response_code: hickory_proto::op::ResponseCode::NoError,
                authoritative: true,
                records: vec![],
                retransmitted: 0,
                ttl: Duration::from_secs(3600),
            };
            futures::future::ready(Outcome::new(Ok(Arc::new(reply)), Duration::from_secs(3600)))
                .boxed()
        });
        // Finished at once: the entry now holds its answer.
        assert!(futures::executor::block_on(pending).result.is_ok());
    }

    #[test]
    fn when_full_the_answers_asked_again_are_kept() {
        let memo = Memo::default();
        let started = AtomicUsize::new(0);
        answered(&memo, "shared.test.", &started);
        answered(&memo, "shared.test.", &started); // asked again: reused, and marked
        assert_eq!(started.load(Ordering::Relaxed), 1);
        for i in 0..CAPACITY {
            answered(&memo, &format!("d{i}.test."), &started);
        }
        // The table filled and was pruned of the one-off answers; the shared one is still there.
        answered(&memo, "shared.test.", &started);
        assert_eq!(started.load(Ordering::Relaxed), 1 + CAPACITY);
        answered(&memo, "d0.test.", &started);
        assert_eq!(
            started.load(Ordering::Relaxed),
            2 + CAPACITY,
            "a one-off was dropped"
        );
    }

    /// With more questions in flight than the table holds (none of which may be dropped), a new
    /// question does not walk the table: prunings happen when it has doubled, a handful for
    /// 20,000 questions (each one pruned the table once at 4,096 in flight).
    #[test]
    fn many_questions_in_flight_cost_amortised_constant_time() {
        let memo = Memo::default();
        let mut in_flight = Vec::new();
        for i in 0..5 * CAPACITY {
            let p = memo.get_or_start((format!("q{i}.test."), RecordType::TXT), |_| {
                futures::future::pending().boxed()
            });
            in_flight.push(p);
        }
        let table = memo.table.lock().unwrap();
        assert_eq!(
            table.entries.len(),
            5 * CAPACITY,
            "nothing in flight dropped"
        );
        // Pruned at 4,096 and 8,192 and 16,384 entries.
        assert_eq!(table.prunings, 3);
    }

    fn ok_outcome() -> Outcome {
        let reply = Reply {
            response_code: hickory_proto::op::ResponseCode::NoError,
            authoritative: true,
            records: vec![],
            retransmitted: 0,
            ttl: Duration::from_secs(60),
        };
        Outcome::new(Ok(Arc::new(reply)), Duration::from_secs(60))
    }

    /// No task drives an exchange: when the asker polling it gives up, another asker still
    /// waiting carries it to the end; once nobody waits, the next asker starts afresh.
    #[tokio::test]
    async fn a_cancelled_asker_strands_nobody_and_an_abandoned_exchange_is_restarted() {
        let memo = Memo::default();
        let started = AtomicUsize::new(0);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let key = ("q.test.".to_owned(), RecordType::TXT);
        let first = memo.get_or_start(key.clone(), |_| {
            started.fetch_add(1, Ordering::Relaxed);
            async move {
                let _ = rx.await;
                ok_outcome()
            }
            .boxed()
        });
        let second = memo.get_or_start(key.clone(), |_| unreachable!("joined, not started"));
        // The first asker polls (and so drives) the exchange, then gives up.
        let mut first = Box::pin(first);
        assert!(futures::poll!(&mut first).is_pending());
        drop(first);
        let waiting = tokio::spawn(second);
        tokio::task::yield_now().await;
        let _ = tx.send(());
        assert!(
            waiting.await.unwrap().result.is_ok(),
            "the second asker finished it"
        );
        assert_eq!(started.load(Ordering::Relaxed), 1);

        // An exchange whose every asker gave up is not joined (its deadline may be long gone).
        let key = ("r.test.".to_owned(), RecordType::TXT);
        let abandoned = memo.get_or_start(key.clone(), |_| futures::future::pending().boxed());
        drop(abandoned);
        let fresh = memo.get_or_start(key, |_| {
            started.fetch_add(1, Ordering::Relaxed);
            futures::future::ready(ok_outcome()).boxed()
        });
        assert_eq!(started.load(Ordering::Relaxed), 2, "started afresh");
        assert!(fresh.await.result.is_ok());
    }
}
