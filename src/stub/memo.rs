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

/// Answers kept at most (hickory's default cache size). When full, every finished entry is
/// dropped at once: simple, amortised, and it never drops a question still in flight.
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
        Self {
            result,
            reusable_until: Instant::now() + ttl,
        }
    }
}

type Pending = Shared<BoxFuture<'static, Outcome>>;

/// The table of questions: lower-case name and type → the exchange (in flight or finished).
#[derive(Default)]
pub(crate) struct Memo {
    table: Mutex<HashMap<(String, RecordType), Pending>>,
}

impl Memo {
    /// The exchange for this question: one already in flight or still fresh, or a new one from
    /// `start`. `start` runs the exchange as its own task, so it finishes (within its deadline)
    /// and serves everyone waiting even when the question's first asker gives up.
    pub(crate) fn get_or_start(
        &self,
        key: (String, RecordType),
        start: impl FnOnce() -> BoxFuture<'static, Outcome>,
    ) -> Pending {
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(p) = table.get(&key) {
            match p.peek() {
                None => return p.clone(),
                Some(o) if o.reusable_until > Instant::now() => return p.clone(),
                Some(_) => {}
            }
        }
        if table.len() >= CAPACITY {
            table.retain(|_, p| p.peek().is_none());
        }
        let pending = start().shared();
        table.insert(key, pending.clone());
        pending
    }
}
