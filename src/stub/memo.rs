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

/// Answers kept at most (hickory's default cache size). When full, the finished entries nobody
/// asked for a second time are dropped at once: a scan's questions are mostly asked once (each
/// domain's own names), and the ones worth keeping are those many domains share (Microsoft's SPF
/// include), which have been asked again by then. Amortised, and never drops a question in flight.
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
    table: Mutex<HashMap<(String, RecordType), (Pending, bool)>>,
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
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((p, again)) = table.get_mut(&key) {
            let fresh = match p.peek() {
                Some(o) => o.reusable_until > Instant::now(),
                None => waited_on(p),
            };
            if fresh {
                *again = true;
                return p.clone();
            }
        }
        if table.len() >= CAPACITY {
            table.retain(|_, (p, again)| waited_on(p) || (*again && p.peek().is_some()));
            if table.len() >= CAPACITY {
                // Everything left is shared or in flight: start over with what is in flight.
                table.retain(|_, (p, _)| waited_on(p));
            }
        }
        let pending = start(&key.0).shared();
        table.insert(key, (pending.clone(), false));
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
