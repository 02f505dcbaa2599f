//! The runner's contract with fake probes and paused time: bounded concurrency, the timeout
//! starting after the slot is taken, per-check timeouts, the budget, cancellation, panic
//! isolation and deterministic order.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tenant_ready::catalog::Catalog;
use tenant_ready::outcome::{Judgement, Status};
use tenant_ready::plan::{Task, Work};
use tenant_ready::probe::dns_dmarc::DnsDmarcTask;
use tenant_ready::probe::{Planned, ProbeError};
use tenant_ready::runner::{Hooks, RunOptions, run_with, run_with_hooks};
use tokio_util::sync::CancellationToken;

use crate::support::error_kind;

/// A task whose fake probe sleeps `ms` (or panics when `ms` is 0).
fn task(ms: u64) -> Task {
    let catalog = Catalog::embedded().unwrap();
    Task {
        check: Arc::new(catalog.checks[0].clone()),
        subject: format!("sleep-{ms}"),
        vars: None,
        work: Work::Run(Planned::DnsDmarc(DnsDmarcTask {
            name: ms.to_string(),
            weak_policies: vec![],
            requirement: tenant_ready::level::Requirement::default(),
        })),
    }
}

fn opts(concurrency: usize, timeout_ms: u64, budget_ms: Option<u64>) -> RunOptions {
    RunOptions {
        concurrency: NonZeroUsize::new(concurrency).unwrap(),
        timeout: Duration::from_millis(timeout_ms),
        budget: budget_ms.map(Duration::from_millis),
    }
}

/// The fake probe: sleeps, tracking how many run at once.
type FakeFuture = std::pin::Pin<
    Box<
        dyn Future<Output = Result<(tenant_ready::outcome::Evidence, Judgement), ProbeError>>
            + Send,
    >,
>;

fn fake(
    active: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
) -> impl Fn(Planned) -> FakeFuture + Clone + Send + 'static {
    move |p: Planned| {
        let (active, peak) = (Arc::clone(&active), Arc::clone(&peak));
        Box::pin(async move {
            let Planned::DnsDmarc(t) = p else {
                unreachable!()
            };
            let ms: u64 = t.name.parse().unwrap();
            assert!(ms != 0, "probe bug");
            let now = active.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            active.fetch_sub(1, Ordering::SeqCst);
            Ok((
                serde_json::json!({"slept_ms": ms}).into(),
                Judgement::new(
                    Status::Pass,
                    tenant_ready::text!("value", value = "ok"),
                    vec![],
                ),
            ))
        })
    }
}

fn counters() -> (Arc<AtomicUsize>, Arc<AtomicUsize>) {
    (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)))
}

#[tokio::test(start_paused = true)]
async fn concurrency_is_bounded_and_the_timeout_starts_with_the_slot() {
    let (a, p) = counters();
    let start = tokio::time::Instant::now();
    // Each probe takes 800 ms with a 1 s timeout; with one slot the last starts after 3.2 s of
    // queueing and must still pass.
    let tasks: Vec<Task> = (0..5).map(|_| task(800)).collect();
    let results = run_with(
        tasks,
        opts(1, 1000, None),
        CancellationToken::new(),
        fake(a, Arc::clone(&p)),
        |_| {},
    )
    .await;
    assert!(
        results.iter().all(|r| r.status == Status::Pass),
        "{results:?}"
    );
    assert_eq!(p.load(Ordering::SeqCst), 1);
    assert_eq!(start.elapsed(), Duration::from_secs(4));
    assert!(
        results.iter().all(|r| r.duration_ms == 800),
        "duration excludes queueing"
    );

    let (a, p) = counters();
    let tasks: Vec<Task> = (0..10).map(|_| task(100)).collect();
    run_with(
        tasks,
        opts(3, 1000, None),
        CancellationToken::new(),
        fake(a, Arc::clone(&p)),
        |_| {},
    )
    .await;
    assert_eq!(p.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn a_slow_check_times_out_as_an_error_and_the_others_finish() {
    let (a, p) = counters();
    let results = run_with(
        vec![task(5000), task(10)],
        opts(4, 1000, None),
        CancellationToken::new(),
        fake(a, p),
        |_| {},
    )
    .await;
    assert_eq!(results[0].status, Status::Error);
    assert_eq!(error_kind(&results[0]), "timeout");
    assert!(
        results[0].message.contains("1s timeout"),
        "{}",
        results[0].message
    );
    assert_eq!(results[1].status, Status::Pass);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_probe_is_an_error_result_and_the_run_goes_on() {
    let (a, p) = counters();
    let results = run_with(
        vec![task(10), task(0), task(20)],
        opts(4, 1000, None),
        CancellationToken::new(),
        fake(a, p),
        |_| {},
    )
    .await;
    assert_eq!(results[1].status, Status::Error);
    assert_eq!(error_kind(&results[1]), "panic");
    assert!(results[1].message.contains("probe bug"));
    assert_eq!(
        (results[0].status, results[2].status),
        (Status::Pass, Status::Pass)
    );
}

#[tokio::test(start_paused = true)]
async fn the_budget_ends_the_run_and_keeps_every_row() {
    let (a, p) = counters();
    let start = tokio::time::Instant::now();
    let tasks = vec![task(10), task(60_000), task(60_000), task(60_000)];
    let results = run_with(
        tasks,
        opts(2, 120_000, Some(1000)),
        CancellationToken::new(),
        fake(a, p),
        |_| {},
    )
    .await;
    assert!(
        start.elapsed() <= Duration::from_millis(1001),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(results.len(), 4);
    assert_eq!(results[0].status, Status::Pass);
    for r in &results[1..] {
        assert_eq!(r.status, Status::Error);
        assert_eq!(error_kind(r), "cancelled");
        assert!(r.message.contains("--budget"), "{}", r.message);
    }
}

#[tokio::test(start_paused = true)]
async fn cancellation_reports_unfinished_checks_as_interrupted() {
    let (a, p) = counters();
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        c2.cancel();
    });
    let results = run_with(
        vec![task(10), task(5000)],
        opts(2, 10_000, None),
        cancel,
        fake(a, p),
        |_| {},
    )
    .await;
    assert_eq!(results[0].status, Status::Pass);
    assert_eq!(error_kind(&results[1]), "cancelled");
    assert!(results[1].message.contains("interrupted"));
}

#[tokio::test(start_paused = true)]
async fn results_come_back_in_task_order_whatever_order_they_finish() {
    let (a, p) = counters();
    let mut finished = Vec::new();
    let tasks = vec![task(300), task(200), task(100)];
    let results = run_with(
        tasks,
        opts(3, 1000, None),
        CancellationToken::new(),
        fake(a, p),
        |r| finished.push(r.subject.clone()),
    )
    .await;
    assert_eq!(finished, ["sleep-100", "sleep-200", "sleep-300"]);
    let order: Vec<&str> = results.iter().map(|r| r.subject.as_str()).collect();
    assert_eq!(order, ["sleep-300", "sleep-200", "sleep-100"]);
}

/// Measurements (quality.*) run after every other check and one at a time, whatever their place
/// in the plan; the report keeps the plan's order.
#[tokio::test(start_paused = true)]
async fn measurements_run_last_and_alone() {
    let catalog = Catalog::embedded().unwrap();
    let quality = catalog
        .checks
        .iter()
        .find(|c| c.id == "quality.latency")
        .unwrap()
        .clone();
    let measure = |ms: u64| {
        let mut t = task(ms);
        t.check = Arc::new(quality.clone());
        t
    };
    let tasks = vec![measure(30), task(100), task(100), measure(40), task(100)];
    let (active, peak) = counters();
    let started = tokio::time::Instant::now();
    let ends = Arc::new(std::sync::Mutex::new(Vec::new()));
    let exec = {
        let (fake, ends) = (
            fake(Arc::clone(&active), Arc::clone(&peak)),
            Arc::clone(&ends),
        );
        move |p: Planned| {
            let (f, ends) = (fake(p.clone()), Arc::clone(&ends));
            Box::pin(async move {
                let r = f.await;
                let Planned::DnsDmarc(t) = p else {
                    unreachable!()
                };
                ends.lock()
                    .unwrap()
                    .push((t.name.clone(), started.elapsed()));
                r
            }) as FakeFuture
        }
    };
    let results = run_with(
        tasks,
        opts(8, 10_000, None),
        CancellationToken::new(),
        exec,
        |_| {},
    )
    .await;
    let ends = ends.lock().unwrap().clone();
    let order: Vec<&str> = ends.iter().map(|(n, _)| n.as_str()).collect();
    // The three 100 ms checks run together and end at 100 ms; then 30 ms alone; then 40 ms alone.
    assert_eq!(order, ["100", "100", "100", "30", "40"], "{ends:?}");
    assert_eq!(ends[3].1, Duration::from_millis(130));
    assert_eq!(ends[4].1, Duration::from_millis(170));
    let subjects: Vec<&str> = results.iter().map(|r| r.subject.as_str()).collect();
    assert_eq!(
        subjects,
        [
            "sleep-30",
            "sleep-100",
            "sleep-100",
            "sleep-40",
            "sleep-100"
        ]
    );
}

/// The runner takes tasks from the plan only as slots free up (a lazy plan builds a domain's
/// tasks when their turn comes): at no point are more tasks taken than finished plus the slots.
#[tokio::test(start_paused = true)]
async fn tasks_are_taken_from_the_plan_only_as_slots_free_up() {
    let (taken, finished, most) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let plan = {
        let (taken, finished, most) =
            (Arc::clone(&taken), Arc::clone(&finished), Arc::clone(&most));
        (0..500).map(move |i| {
            let now = taken.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now - finished.load(Ordering::SeqCst), Ordering::SeqCst);
            task(10 + i % 7)
        })
    };
    let (a, p) = counters();
    let done = Arc::clone(&finished);
    let results = run_with(
        plan,
        opts(4, 1000, None),
        CancellationToken::new(),
        fake(a, p),
        move |_| {
            done.fetch_add(1, Ordering::SeqCst);
        },
    )
    .await;
    assert_eq!(results.len(), 500);
    assert_eq!(taken.load(Ordering::SeqCst), 500);
    assert_eq!(
        most.load(Ordering::SeqCst),
        4,
        "in flight at most the 4 slots"
    );
    // Results keep the plan's order.
    let subjects: Vec<String> = results.iter().map(|r| r.subject.clone()).collect();
    let expected: Vec<String> = (0..500).map(|i| format!("sleep-{}", 10 + i % 7)).collect();
    assert_eq!(subjects, expected);
}

/// Stopped early, the rest of a lazy plan still gets its rows, in order, each handed on.
#[tokio::test(start_paused = true)]
async fn a_stopped_run_still_gives_the_untaken_tasks_their_rows() {
    let (a, p) = counters();
    let handed = Arc::new(AtomicUsize::new(0));
    let h = Arc::clone(&handed);
    let results = run_with(
        (0..50).map(|_| task(1000)),
        opts(2, 10_000, Some(1500)),
        CancellationToken::new(),
        fake(a, p),
        move |_| {
            h.fetch_add(1, Ordering::SeqCst);
        },
    )
    .await;
    assert_eq!(results.len(), 50);
    assert_eq!(handed.load(Ordering::SeqCst), 50);
    assert_eq!(
        results.iter().filter(|r| r.status == Status::Pass).count(),
        2
    );
    assert!(
        results[2..].iter().all(|r| error_kind(r) == "cancelled"),
        "{results:?}"
    );
}

/// Each task is announced when it starts (the progress line names a running measurement), before
/// its result; skipped rows are never started.
#[tokio::test(start_paused = true)]
async fn each_started_task_is_announced_before_its_result() {
    let events = std::sync::Mutex::new(Vec::new());
    let mut tasks: Vec<Task> = (0..6).map(|i| task(10 + i)).collect();
    tasks[2].work = Work::Skip(tenant_ready::text!("value", value = "n/a"));
    let (a, p) = counters();
    let results = run_with_hooks(
        tasks,
        opts(2, 1000, None),
        CancellationToken::new(),
        fake(a, p),
        Hooks {
            on_start: |t: &Task| events.lock().unwrap().push(format!("start {}", t.subject)),
            on_result: |r: &tenant_ready::outcome::CheckResult| {
                events.lock().unwrap().push(format!("done {}", r.subject));
            },
        },
    )
    .await;
    assert_eq!(results.len(), 6);
    let events = events.into_inner().unwrap();
    let starts = events.iter().filter(|e| e.starts_with("start")).count();
    assert_eq!(starts, 5, "{events:?}");
    for r in results.iter().filter(|r| r.status == Status::Pass) {
        let s = events
            .iter()
            .position(|e| *e == format!("start {}", r.subject));
        let d = events
            .iter()
            .position(|e| *e == format!("done {}", r.subject));
        assert!(s.unwrap() < d.unwrap(), "{events:?}");
    }
}
