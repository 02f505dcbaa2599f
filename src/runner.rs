//! The runner owns everything around a probe: bounded concurrency, the per-check timeout (which
//! starts only once a concurrency slot is taken, so queueing never counts against a check), the
//! whole-run budget, cancellation (Ctrl-C), panic isolation and timing. Results come back in task
//! order whatever order they finish in, so reports are deterministic.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

// tokio's clock, so paused-time tests measure what the runner measures.
use tokio::time::Instant;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::outcome::{CheckResult, Evidence, Judgement, Status};
use std::future::Future;

use crate::output::Lang;
use crate::plan::{Task, Work};
use crate::probe::{self, Planned, ProbeCx, ProbeError};
use crate::text::Text;

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
    /// Stopped mid-flight; the collector knows why (Ctrl-C or budget).
    Stopped,
    Cancelled(&'static str),
}

type Outcome = Result<(Evidence, Judgement), Failure>;

fn error_result(task: &Task, kind: &str, message: Text, duration: Duration) -> CheckResult {
    let english = message.render(Lang::En);
    CheckResult {
        check: task.check.id.clone(),
        subject: task.subject.clone(),
        status: Status::Error,
        severity: task.check.severity,
        evidence: Evidence::of(
            &serde_json::json!({ "error": { "kind": kind, "message": &english } }),
        ),
        message: english,
        message_text: vec![message],
        expected: None,
        expected_text: vec![],
        remediation: Some(task.remediation()),
        remediation_ko: task.remediation_ko(),
        responsibility: task.check.responsibility.clone(),
        docs: task.check.docs.clone(),
        duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
        site: None,
    }
}

/// A result with this machine's secrets (proxy credentials) removed from every text: the one
/// place every finished result passes, so no probe or library message can leak them.
fn redacted(mut r: CheckResult) -> CheckResult {
    let secrets = &*crate::secrets::PROCESS;
    if secrets.is_empty() {
        return r;
    }
    for s in [&mut r.message, &mut r.subject]
        .into_iter()
        .chain(r.expected.as_mut())
    {
        if let std::borrow::Cow::Owned(x) = secrets.text(s) {
            *s = x;
        }
    }
    for t in r.message_text.iter_mut().chain(r.expected_text.iter_mut()) {
        t.map_values(&mut |s| {
            if let std::borrow::Cow::Owned(x) = secrets.text(s) {
                *s = x;
            }
        });
    }
    r.evidence.edit(|v| secrets.json(v));
    r
}

fn finished(task: &Task, r: Result<(Evidence, Judgement), Failure>, d: Duration) -> CheckResult {
    redacted(unredacted(task, r, d))
}

fn unredacted(task: &Task, r: Result<(Evidence, Judgement), Failure>, d: Duration) -> CheckResult {
    match r {
        Ok((evidence, j)) => CheckResult {
            check: task.check.id.clone(),
            subject: task.subject.clone(),
            status: j.status,
            severity: task.check.severity,
            message: j.message(),
            expected: j.expected(),
            message_text: j.message,
            expected_text: j.expected,
            evidence,
            remediation: (j.status != Status::Pass).then(|| task.remediation()),
            remediation_ko: (j.status != Status::Pass)
                .then(|| task.remediation_ko())
                .flatten(),
            responsibility: task.check.responsibility.clone(),
            docs: task.check.docs.clone(),
            duration_ms: u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
            site: None,
        },
        Err(Failure::Probe(ProbeError::NotApplicable { kind, message })) => {
            let mut r = skipped(task, &message);
            r.evidence = Evidence::of(
                &serde_json::json!({ "skip": { "kind": kind, "message": message.render(Lang::En) } }),
            );
            r.duration_ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
            r
        }
        Err(Failure::Probe(e)) => error_result(task, e.kind(), e.text().clone(), d),
        Err(Failure::Timeout(t)) => error_result(
            task,
            "timeout",
            text!(
                "run.timeout",
                timeout = humantime::format_duration(t).to_string()
            ),
            d,
        ),
        Err(Failure::Cancelled(why)) => error_result(task, "cancelled", Text::new(why), d),
        Err(Failure::Stopped) => error_result(task, "cancelled", Text::new(INTERRUPTED), d),
    }
}

fn skipped(task: &Task, reason: &Text) -> CheckResult {
    CheckResult {
        check: task.check.id.clone(),
        subject: task.subject.clone(),
        status: Status::Skip,
        severity: task.check.severity,
        message: reason.render(Lang::En),
        message_text: vec![reason.clone()],
        expected: None,
        expected_text: vec![],
        evidence: Evidence::null(),
        remediation: None,
        remediation_ko: None,
        responsibility: task.check.responsibility.clone(),
        docs: task.check.docs.clone(),
        duration_ms: 0,
        site: None,
    }
}

// Keys of `checks/messages.toml` (the runner's own sentences): text!("run.interrupted"),
// text!("run.over-budget").
const INTERRUPTED: &str = "run.interrupted";
const OVER_BUDGET: &str = "run.over-budget";

/// Runs every task; `on_result` is called as each one finishes (progress). `cancel` stops the run
/// early (Ctrl-C): unfinished checks become `error` results, and the report is still complete.
pub async fn run(
    tasks: Vec<Task>,
    cx: ProbeCx,
    opts: RunOptions,
    cancel: CancellationToken,
    on_result: impl FnMut(&CheckResult),
) -> Vec<CheckResult> {
    run_keeping(tasks, cx, opts, cancel, true, self::on_result(on_result)).await
}

/// [`run`], keeping the results only when `keep`: a scan whose only outputs stream (NDJSON) hands
/// each result to `on_result` and forgets it, so memory does not grow with the domains; the
/// returned list is then empty. The tasks are taken from the plan as slots free up, so a lazy
/// plan ([`crate::plan::Plan`]) builds each domain's tasks only when their turn comes.
pub async fn run_keeping(
    tasks: impl IntoIterator<Item = Task>,
    cx: ProbeCx,
    opts: RunOptions,
    cancel: CancellationToken,
    keep: bool,
    hooks: Hooks<impl FnMut(&Task), impl FnMut(&CheckResult)>,
) -> Vec<CheckResult> {
    let exec = move |p: Planned| {
        let cx = cx.clone();
        async move { probe::run(&p, &cx).await }
    };
    run_inner(tasks, opts, cancel, exec, keep, hooks).await
}

/// What the caller hears of a run as it goes (the progress line, the NDJSON stream): each
/// task as it starts, each result as it finishes.
pub struct Hooks<S, R> {
    /// A task taken a slot and started (its probe is running).
    pub on_start: S,
    /// A result, finished or skipped.
    pub on_result: R,
}

/// [`Hooks`] with only results heard.
pub fn on_result<R: FnMut(&CheckResult)>(on_result: R) -> Hooks<impl FnMut(&Task), R> {
    Hooks {
        on_start: |_: &Task| {},
        on_result,
    }
}

/// [`run`] with the probe execution injected: tests drive the runner's timing, concurrency and
/// panic handling with fake probes.
pub async fn run_with<E, F>(
    tasks: impl IntoIterator<Item = Task>,
    opts: RunOptions,
    cancel: CancellationToken,
    exec: E,
    on_result: impl FnMut(&CheckResult),
) -> Vec<CheckResult>
where
    E: Fn(Planned) -> F + Clone + Send + 'static,
    F: Future<Output = Result<(Evidence, Judgement), ProbeError>> + Send + 'static,
{
    run_inner(tasks, opts, cancel, exec, true, self::on_result(on_result)).await
}

/// [`run_with`] with both [`Hooks`].
pub async fn run_with_hooks<E, F>(
    tasks: impl IntoIterator<Item = Task>,
    opts: RunOptions,
    cancel: CancellationToken,
    exec: E,
    hooks: Hooks<impl FnMut(&Task), impl FnMut(&CheckResult)>,
) -> Vec<CheckResult>
where
    E: Fn(Planned) -> F + Clone + Send + 'static,
    F: Future<Output = Result<(Evidence, Judgement), ProbeError>> + Send + 'static,
{
    run_inner(tasks, opts, cancel, exec, true, hooks).await
}

/// Where results go as they finish: kept in plan order, or only handed on.
struct Collected {
    results: Vec<Option<CheckResult>>,
    /// Tasks taken from the plan so far (the next task's index).
    taken: usize,
    keep: bool,
}

impl Collected {
    /// The index of the next task taken from the plan.
    fn open(&mut self) -> usize {
        if self.keep {
            self.results.push(None);
        }
        self.taken += 1;
        self.taken - 1
    }

    fn put(&mut self, i: usize, r: CheckResult) {
        if let Some(slot) = self.results.get_mut(i) {
            *slot = Some(r);
        }
    }
}

/// The tasks in flight: their index in the plan by the runtime's task id, and the task by index.
#[derive(Default)]
struct Running {
    ids: std::collections::HashMap<tokio::task::Id, usize>,
    tasks: std::collections::HashMap<usize, Arc<Task>>,
}

async fn run_inner<E, F>(
    tasks: impl IntoIterator<Item = Task>,
    opts: RunOptions,
    cancel: CancellationToken,
    exec: E,
    keep: bool,
    hooks: Hooks<impl FnMut(&Task), impl FnMut(&CheckResult)>,
) -> Vec<CheckResult>
where
    E: Fn(Planned) -> F + Clone + Send + 'static,
    F: Future<Output = Result<(Evidence, Judgement), ProbeError>> + Send + 'static,
{
    let Hooks {
        mut on_start,
        mut on_result,
    } = hooks;
    let mut plan = tasks.into_iter().fuse();
    let mut results = Collected {
        // Sized once: grown by doubling, the list of a large scan's results was copied at its
        // largest, briefly holding it twice.
        results: Vec::with_capacity(if keep { plan.size_hint().0 } else { 0 }),
        taken: 0,
        keep,
    };
    // A task is spawned only when a slot is free, so at most `concurrency` probe futures exist at
    // once: memory stays flat however many domains are scanned, and a check's timeout (which
    // starts at spawn) never includes time spent queueing.
    let mut set = JoinSet::new();
    let mut running = Running::default();
    let stop_all = CancellationToken::new();
    let deadline = opts.budget.map(|b| Instant::now() + b);
    let mut stopped: Option<&'static str> = None;
    // Measurements that concurrency would skew (network quality) run last, alone: set aside as
    // the plan reaches them, started one at a time once everything else has finished; results
    // keep the plan's order either way.
    let exclusive = |t: &Task| t.check.probe.exclusive() && matches!(t.work, Work::Run(_));
    let mut deferred: std::collections::VecDeque<(usize, Arc<Task>)> =
        std::collections::VecDeque::new();
    let mut exhausted = false;
    loop {
        while stopped.is_none() && set.len() < opts.concurrency.get() {
            let (i, task) = if exhausted {
                match deferred.pop_front() {
                    Some(next) if set.is_empty() => next,
                    Some(next) => {
                        deferred.push_front(next);
                        break;
                    }
                    None => break,
                }
            } else {
                let Some(task) = plan.next() else {
                    exhausted = true;
                    continue;
                };
                let (i, task) = (results.open(), Arc::new(task));
                if exclusive(&task) {
                    deferred.push_back((i, task));
                    continue;
                }
                (i, task)
            };
            let probe = match &task.work {
                Work::Skip(reason) => {
                    let r = skipped(&task, reason);
                    on_result(&r);
                    results.put(i, r);
                    continue;
                }
                Work::Error(why) => {
                    let r = redacted(error_result(&task, "plan", why.clone(), Duration::ZERO));
                    on_result(&r);
                    results.put(i, r);
                    continue;
                }
                Work::Run(p) => p.clone(),
            };
            on_start(&task);
            let (exec, stop) = (exec.clone(), stop_all.clone());
            let timeout = task.check.timeout.unwrap_or(opts.timeout);
            let handle = set.spawn(async move {
                let start = Instant::now();
                let r = tokio::select! {
                    r = tokio::time::timeout(timeout, exec(probe)) => match r {
                        Ok(Ok(v)) => Ok(v),
                        Ok(Err(e)) => Err(Failure::Probe(e)),
                        Err(_) => Err(Failure::Timeout(timeout)),
                    },
                    () = stop.cancelled() => Err(Failure::Stopped),
                };
                (i, r, start.elapsed())
            });
            running.ids.insert(handle.id(), i);
            running.tasks.insert(i, task);
        }
        if set.is_empty() {
            break;
        }
        let budget_over = async {
            match deadline {
                Some(d) if stopped.is_none() => tokio::time::sleep_until(d).await,
                _ => std::future::pending().await,
            }
        };
        tokio::select! {
            Some(joined) = set.join_next_with_id() => {
                collect(joined, &mut running, &mut results, stopped, &mut on_result);
            }
            () = cancel.cancelled(), if stopped.is_none() => {
                stopped = Some(INTERRUPTED);
                stop_all.cancel();
            }
            () = budget_over => {
                stopped = Some(OVER_BUDGET);
                stop_all.cancel();
            }
        }
    }
    // Checks never started because the run stopped still get their row (handed on like any
    // other, so a stream has it too): the measurements set aside, then the rest of the plan.
    let why = stopped.unwrap_or(INTERRUPTED);
    let mut cancelled = |i: usize, task: &Task, results: &mut Collected| {
        let r = finished(task, Err(Failure::Cancelled(why)), Duration::ZERO);
        on_result(&r);
        results.put(i, r);
    };
    for (i, task) in deferred {
        cancelled(i, &task, &mut results);
    }
    for task in plan {
        let i = results.open();
        cancelled(i, &task, &mut results);
    }
    results.results.into_iter().flatten().collect()
}

fn collect(
    joined: Result<(tokio::task::Id, (usize, Outcome, Duration)), tokio::task::JoinError>,
    running: &mut Running,
    results: &mut Collected,
    stopped: Option<&'static str>,
    on_result: &mut impl FnMut(&CheckResult),
) {
    let id = match &joined {
        Ok((id, _)) => *id,
        Err(e) => e.id(),
    };
    let Some((index, task)) = running
        .ids
        .remove(&id)
        .and_then(|i| Some((i, running.tasks.remove(&i)?)))
    else {
        return;
    };
    let (i, r) = match joined {
        Ok((_, (i, Err(Failure::Stopped), d))) => {
            let why = stopped.unwrap_or(INTERRUPTED);
            (i, finished(&task, Err(Failure::Cancelled(why)), d))
        }
        Ok((_, (i, outcome, d))) => (i, finished(&task, outcome, d)),
        Err(e) => {
            let what = if e.is_panic() {
                let payload = e.into_panic();
                let text = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                ("panic", text!("run.panic", error = text))
            } else {
                ("cancelled", Text::new(INTERRUPTED))
            };
            (
                index,
                redacted(error_result(&task, what.0, what.1, Duration::ZERO)),
            )
        }
    };
    on_result(&r);
    results.put(i, r);
}
