//! The runner owns everything around a probe: bounded concurrency, the per-check timeout (which
//! starts only once a concurrency slot is taken, so queueing never counts against a check), the
//! whole-run budget, cancellation (Ctrl-C), panic isolation and timing. Results come back in task
//! order whatever order they finish in, so reports are deterministic.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

// tokio's clock, so paused-time tests measure what the runner measures.
use tokio::time::Instant;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::outcome::{CheckResult, Judgement, Status};
use std::future::Future;

use crate::plan::{Task, Work};
use crate::probe::{self, Planned, ProbeCx, ProbeError};

/// Runner settings.
#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    /// Checks in flight.
    pub concurrency: NonZeroUsize,
    /// Per-check timeout unless the check sets its own.
    pub timeout: Duration,
    /// Whole-run budget.
    pub budget: Option<Duration>,
}

/// Why a task did not produce a judgement.
enum Failure {
    Probe(ProbeError),
    Timeout(Duration),
    Cancelled(&'static str),
}

fn error_result(task: &Task, kind: &str, message: String, duration: Duration) -> CheckResult {
    CheckResult {
        check: task.check.id.clone(),
        subject: task.subject.clone(),
        status: Status::Error,
        severity: task.check.severity,
        evidence: serde_json::json!({ "error": { "kind": kind, "message": &message } }),
        message,
        expected: None,
        remediation: Some(task.remediation.clone()),
        responsibility: task.check.responsibility.clone(),
        docs: task.check.docs.clone(),
        duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
    }
}

fn finished(
    task: &Task,
    r: Result<(serde_json::Value, Judgement), Failure>,
    d: Duration,
) -> CheckResult {
    match r {
        Ok((evidence, j)) => CheckResult {
            check: task.check.id.clone(),
            subject: task.subject.clone(),
            status: j.status,
            severity: task.check.severity,
            message: j.message,
            expected: j.expected,
            evidence,
            remediation: (j.status != Status::Pass).then(|| task.remediation.clone()),
            responsibility: task.check.responsibility.clone(),
            docs: task.check.docs.clone(),
            duration_ms: u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
        },
        Err(Failure::Probe(e)) => error_result(task, e.kind(), e.to_string(), d),
        Err(Failure::Timeout(t)) => error_result(
            task,
            "timeout",
            format!(
                "no result within the {} timeout; the server may be slow or unreachable (raise --timeout to wait longer)",
                humantime::format_duration(t)
            ),
            d,
        ),
        Err(Failure::Cancelled(why)) => error_result(task, "cancelled", why.to_owned(), d),
    }
}

fn skipped(task: &Task, reason: &str) -> CheckResult {
    CheckResult {
        check: task.check.id.clone(),
        subject: task.subject.clone(),
        status: Status::Skip,
        severity: task.check.severity,
        message: reason.to_owned(),
        expected: None,
        evidence: serde_json::Value::Null,
        remediation: None,
        responsibility: task.check.responsibility.clone(),
        docs: task.check.docs.clone(),
        duration_ms: 0,
    }
}

const INTERRUPTED: &str = "not determined: the scan was interrupted before this check finished";
const OVER_BUDGET: &str = "not determined: the run's --budget ran out before this check finished";

/// Runs every task; `on_result` is called as each one finishes (progress). `cancel` stops the run
/// early (Ctrl-C): unfinished checks become `error` results, and the report is still complete.
pub async fn run(
    tasks: Vec<Task>,
    cx: ProbeCx,
    opts: RunOptions,
    cancel: CancellationToken,
    on_result: impl FnMut(&CheckResult),
) -> Vec<CheckResult> {
    let exec = move |p: Planned| {
        let cx = cx.clone();
        async move { probe::run(&p, &cx).await }
    };
    run_with(tasks, opts, cancel, exec, on_result).await
}

/// [`run`] with the probe execution injected: tests drive the runner's timing, concurrency and
/// panic handling with fake probes.
pub async fn run_with<E, F>(
    tasks: Vec<Task>,
    opts: RunOptions,
    cancel: CancellationToken,
    exec: E,
    mut on_result: impl FnMut(&CheckResult),
) -> Vec<CheckResult>
where
    E: Fn(Planned) -> F + Clone + Send + 'static,
    F: Future<Output = Result<(serde_json::Value, Judgement), ProbeError>> + Send + 'static,
{
    let tasks: Vec<Arc<Task>> = tasks.into_iter().map(Arc::new).collect();
    let mut results: Vec<Option<CheckResult>> = vec![None; tasks.len()];
    let sem = Arc::new(Semaphore::new(opts.concurrency.get()));
    let budget_cancel = CancellationToken::new();
    let mut set = JoinSet::new();
    let mut ids = std::collections::HashMap::new();
    for (i, task) in tasks.iter().enumerate() {
        let probe = match &task.work {
            Work::Skip(reason) => {
                let r = skipped(task, reason);
                on_result(&r);
                results[i] = Some(r);
                continue;
            }
            Work::Run(p) => p.clone(),
        };
        let (task, sem, exec, cancel, budget) = (
            Arc::clone(task),
            Arc::clone(&sem),
            exec.clone(),
            cancel.clone(),
            budget_cancel.clone(),
        );
        let timeout = task.check.timeout.unwrap_or(opts.timeout);
        let handle = set.spawn(async move {
            let stop = async {
                tokio::select! {
                    () = cancel.cancelled() => INTERRUPTED,
                    () = budget.cancelled() => OVER_BUDGET,
                }
            };
            tokio::pin!(stop);
            let permit = tokio::select! {
                p = sem.acquire_owned() => p,
                why = &mut stop => return (i, finished(&task, Err(Failure::Cancelled(why)), Duration::ZERO)),
            };
            let _permit = permit;
            // The clock starts once the slot is ours.
            let start = Instant::now();
            let r = tokio::select! {
                r = tokio::time::timeout(timeout, exec(probe)) => match r {
                    Ok(Ok(v)) => Ok(v),
                    Ok(Err(e)) => Err(Failure::Probe(e)),
                    Err(_) => Err(Failure::Timeout(timeout)),
                },
                why = &mut stop => Err(Failure::Cancelled(why)),
            };
            (i, finished(&task, r, start.elapsed()))
        });
        ids.insert(handle.id(), i);
    }
    let deadline = opts.budget.map(|b| Instant::now() + b);
    loop {
        let next = async {
            match deadline {
                Some(d) => tokio::time::timeout_at(d, set.join_next_with_id())
                    .await
                    .ok(),
                None => Some(set.join_next_with_id().await),
            }
        };
        match next.await {
            // Budget exhausted: tell the rest to stop, then keep collecting their error results.
            None => {
                budget_cancel.cancel();
                while let Some(joined) = set.join_next_with_id().await {
                    collect(joined, &tasks, &ids, &mut results, &mut on_result);
                }
                break;
            }
            Some(None) => break,
            Some(Some(joined)) => collect(joined, &tasks, &ids, &mut results, &mut on_result),
        }
    }
    results
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.unwrap_or_else(|| {
                error_result(
                    &tasks[i],
                    "internal",
                    "no result was recorded".into(),
                    Duration::ZERO,
                )
            })
        })
        .collect()
}

fn collect(
    joined: Result<(tokio::task::Id, (usize, CheckResult)), tokio::task::JoinError>,
    tasks: &[Arc<Task>],
    ids: &std::collections::HashMap<tokio::task::Id, usize>,
    results: &mut [Option<CheckResult>],
    on_result: &mut impl FnMut(&CheckResult),
) {
    let (i, r) = match joined {
        Ok((_, (i, r))) => (i, r),
        Err(e) => {
            let Some(&i) = ids.get(&e.id()) else { return };
            let what = if e.is_panic() {
                let payload = e.into_panic();
                let text = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                (
                    "panic",
                    format!("internal error in the probe (please report it): {text}"),
                )
            } else {
                ("cancelled", INTERRUPTED.to_owned())
            };
            (i, error_result(&tasks[i], what.0, what.1, Duration::ZERO))
        }
    };
    on_result(&r);
    results[i] = Some(r);
}
