//! The progress line on stderr while a scan runs: how many results of how many, the last one
//! finished, and during a measurement (seconds with nothing else finishing) which one runs and
//! about how long it has left.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::i18n::tf;
use crate::output::Lang;
use crate::plan::{Task, Work};

/// The bar, on stderr; hidden when progress is off (not a terminal, `--no-progress`, `-q`).
pub fn bar(enabled: bool, len: usize) -> indicatif::ProgressBar {
    if !enabled {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} {wide_msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    // The spinner and the elapsed time keep moving even when no check finishes.
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// The measurement running now, if any: its check and subject, when it started, how long it is
/// planned to take.
#[derive(Clone, Default)]
pub struct Measuring(Arc<Mutex<Option<(String, Instant, Duration)>>>);

impl Measuring {
    /// A task started: remembered when it is a measurement (a planned duration).
    pub fn start(&self, t: &Task) {
        if let Work::Run(p) = &t.work
            && let Some(d) = p.expected_duration()
        {
            let name = format!(
                "{} {}",
                crate::escape::terminal(&t.check.id),
                crate::escape::terminal(&t.subject)
            );
            *self.0.lock().unwrap_or_else(PoisonError::into_inner) =
                Some((name, Instant::now(), d));
        }
    }

    /// A result came in: measurements run alone, so whatever was measured has finished.
    pub fn stop(&self) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// The line for the measurement running now, if any.
    pub fn message(&self, lang: Lang) -> Option<String> {
        let guard = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let (name, started, planned) = guard.as_ref()?;
        Some(message(
            name,
            planned.saturating_sub(started.elapsed()),
            lang,
        ))
    }

    /// Redraws the bar's message every `every` while a measurement runs (abort the handle when
    /// the scan ends).
    pub fn tick(
        &self,
        bar: indicatif::ProgressBar,
        lang: Lang,
        every: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut clock = tokio::time::interval(every);
            loop {
                clock.tick().await;
                if let Some(m) = me.message(lang) {
                    bar.set_message(m);
                }
            }
        })
    }
}

/// "about 8 s left: measuring quality.latency Teams relay …" (or "finishing" once the planned
/// time is over: a slow network can take longer). The time comes first: a narrow terminal cuts
/// the line's end.
pub fn message(name: &str, left: Duration, lang: Lang) -> String {
    let secs = left.as_secs() + u64::from(left.subsec_millis() > 0);
    if secs == 0 {
        tf("progress.finishing", lang, &[("name", name.to_owned())])
    } else {
        tf(
            "progress.measuring",
            lang,
            &[("name", name.to_owned()), ("seconds", secs.to_string())],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_the_measurement_and_counts_down() {
        assert_eq!(
            message(
                "quality.latency relay",
                Duration::from_millis(7_200),
                Lang::En
            ),
            "about 8 s left: measuring quality.latency relay"
        );
        assert_eq!(
            message("quality.bandwidth x", Duration::ZERO, Lang::En),
            "finishing: measuring quality.bandwidth x"
        );
        assert!(message("q", Duration::from_secs(3), Lang::Ko).contains('3'));
    }

    #[tokio::test(start_paused = true)]
    async fn a_measurement_is_remembered_until_a_result_comes() {
        let catalog = crate::catalog::Catalog::embedded().expect("catalog");
        let check = catalog
            .checks
            .iter()
            .find(|c| c.id == "quality.latency")
            .expect("quality.latency");
        let crate::probe::ProbeSpec::QualityLatency(spec) = &check.probe else {
            panic!("quality.latency is a latency probe")
        };
        let task = Task {
            check: Arc::new(check.clone()),
            subject: "Teams relay".into(),
            vars: None,
            work: Work::Run(crate::probe::Planned::QualityLatency(
                crate::probe::quality_latency::QualityLatencyTask {
                    relay: Some(("relay.test".into(), 3478)),
                    fallback: None,
                    spec: spec.clone(),
                },
            )),
        };
        let planned = Duration::from_millis(spec.interval_ms) * spec.samples
            + Duration::from_millis(spec.reply_timeout_ms);
        let m = Measuring::default();
        assert_eq!(m.message(Lang::En), None);
        m.start(&task);
        tokio::time::advance(Duration::from_secs(2)).await;
        let left = planned.saturating_sub(Duration::from_secs(2));
        let left = left.as_secs() + u64::from(left.subsec_millis() > 0);
        assert_eq!(
            m.message(Lang::En).as_deref(),
            Some(format!("about {left} s left: measuring quality.latency Teams relay").as_str())
        );
        m.stop();
        assert_eq!(m.message(Lang::En), None);
    }
}
