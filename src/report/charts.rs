//! The meeting-room pictures of the HTML report: where the tenant stands at a glance (the
//! domain × check matrix, the responsibilities by phase), then the numbers behind the
//! certificates and the network quality.
//!
//! Everything is inline SVG or HTML with CSS classes: no asset, no script needed to see it. Every
//! status is a glyph and a word as well as a colour, so a black-and-white printout reads the same.
//! The pictures are drawn from the report alone (the evidence carries the samples, days and
//! thresholds), so a saved report renders the same pictures as the scan did. Attributes
//! (`data-check`, `data-subject`, `data-status`) let users' scripts and the tests read them.

use std::collections::BTreeMap;

use super::Report;
use super::html::esc;
use crate::i18n::{t, tf};
use crate::outcome::CheckResult;
use crate::output::Lang;

/// The glyph of a status name (`pass`, `manual`…), as the terminal report shows it.
pub fn glyph(status: &str) -> &'static str {
    match status {
        "pass" => "✔",
        "warn" => "▲",
        "fail" => "✘",
        "error" => "?",
        "skip" => "–",
        "manual" => "☐",
        _ => "·",
    }
}

/// How a result changed since an earlier run (`report diff --format html`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Worse than before.
    Regressed,
    /// Better than before.
    Fixed,
    /// Not in the earlier run.
    New,
}

impl Change {
    fn as_str(self) -> &'static str {
        match self {
            Self::Regressed => "regressed",
            Self::Fixed => "fixed",
            Self::New => "new",
        }
    }
    fn mark(self) -> &'static str {
        match self {
            Self::Regressed => "↓",
            Self::Fixed => "↑",
            Self::New => "+",
        }
    }
}

/// The matrix's sections: the domains (DNS and Entra ID checks), the customer's endpoints (TLS),
/// Microsoft 365 from this network (network and quality), and anything else a user's checks add.
fn section(check: &str) -> &'static str {
    match check.split('.').next().unwrap_or("") {
        "dns" | "entra" => "domains",
        "tls" => "endpoints",
        "net" | "quality" => "network",
        _ => "other",
    }
}

/// The subject a row stands for (with the site, in a merged report).
pub(super) fn row_name(r: &CheckResult) -> String {
    match &r.site {
        Some(site) => format!("{} @ {site}", r.subject),
        None => r.subject.clone(),
    }
}

/// Columns (checks) drawn per section at most. The catalogue has at most 15 per section; a
/// saved report naming thousands of checks would otherwise draw rows × checks cells, a page
/// that grows with the square of the file. The results of the checks left out are still in the
/// findings below the matrix; the caption says how many.
pub const MAX_COLUMNS: usize = 64;

/// One section of the matrix: its checks (columns), its subjects (rows) and, per cell, the
/// results there (indices into the report's results; one, unless a hand-made report repeats one).
pub struct Grid<'a> {
    /// `domains`, `endpoints`, `network` or `other`.
    pub section: &'static str,
    /// Check ids, in the order of the report (the first [`MAX_COLUMNS`]).
    pub checks: Vec<&'a str>,
    /// Checks of this section left out of the matrix (beyond [`MAX_COLUMNS`]).
    pub checks_left_out: usize,
    /// Subjects (with the site in a merged report), in the order of the report.
    pub subjects: Vec<String>,
    /// (subject, check) → results.
    pub cells: BTreeMap<(usize, usize), Vec<usize>>,
}

/// The matrix's layout, shared by the HTML and Markdown reports. One pass over the results, each
/// check and subject found by hash (a linear search per result took 10 s for 120,000 subjects).
pub fn grids(report: &Report) -> Vec<Grid<'_>> {
    use std::collections::HashMap;
    use std::collections::hash_map::Entry;
    const SECTIONS: [&str; 4] = ["domains", "endpoints", "network", "other"];
    let mut grids: Vec<Grid<'_>> = SECTIONS
        .iter()
        .map(|&section| Grid {
            section,
            checks: Vec::new(),
            checks_left_out: 0,
            subjects: Vec::new(),
            cells: BTreeMap::new(),
        })
        .collect();
    // Per section: check id → column (None: left out), subject → row.
    let mut columns: Vec<HashMap<&str, Option<usize>>> = vec![HashMap::new(); SECTIONS.len()];
    let mut rows: Vec<HashMap<String, usize>> = vec![HashMap::new(); SECTIONS.len()];
    for (i, r) in report.results.iter().enumerate() {
        let k = SECTIONS
            .iter()
            .position(|&s| s == section(&r.check))
            .unwrap_or(SECTIONS.len() - 1);
        let g = &mut grids[k];
        let column = match columns[k].entry(r.check.as_str()) {
            Entry::Occupied(e) => *e.get(),
            Entry::Vacant(e) => {
                let c = if g.checks.len() < MAX_COLUMNS {
                    g.checks.push(&r.check);
                    Some(g.checks.len() - 1)
                } else {
                    g.checks_left_out += 1;
                    None
                };
                *e.insert(c)
            }
        };
        let Some(c) = column else { continue };
        let s = match rows[k].entry(row_name(r)) {
            Entry::Occupied(e) => *e.get(),
            Entry::Vacant(e) => {
                g.subjects.push(e.key().clone());
                *e.insert(g.subjects.len() - 1)
            }
        };
        g.cells.entry((s, c)).or_default().push(i);
    }
    grids.retain(|g| !g.checks.is_empty());
    grids
}

/// The caption's note on checks left out of a section, if any.
pub fn left_out_note(g: &Grid<'_>, lang: Lang) -> Option<String> {
    (g.checks_left_out > 0).then(|| {
        tf(
            "chart.matrix-left-out",
            lang,
            &[
                ("count", g.checks_left_out.to_string()),
                ("max", MAX_COLUMNS.to_string()),
            ],
        )
    })
}

/// A check id without its family prefix (`dns.mx` → `mx`): narrow columns; the title has it all.
pub fn short_check(id: &str) -> &str {
    id.split_once('.').map_or(id, |(_, rest)| rest)
}

/// The domain × check matrix: one table per section, one row per subject, one column per check,
/// each result a cell (glyph, word, colour) linking to its finding (`#r<index>`).
pub fn matrix(
    report: &Report,
    lang: Lang,
    change: &dyn Fn(usize, &CheckResult) -> Option<Change>,
) -> String {
    let mut h = format!(
        "<section id=\"matrix\"><h2>{}</h2>\n",
        t("chart.matrix", lang)
    );
    for g in grids(report) {
        let note = left_out_note(&g, lang)
            .map(|n| format!(" <small>{}</small>", esc(&n)))
            .unwrap_or_default();
        h.push_str(&format!(
            "<table class=\"matrix\" data-section=\"{}\"><caption>{}{note}</caption><thead><tr><th></th>",
            g.section,
            t(&format!("section.{}", g.section), lang)
        ));
        for c in &g.checks {
            h.push_str(&format!(
                "<th title=\"{}\"><code>{}</code></th>",
                esc(c),
                esc(short_check(c))
            ));
        }
        h.push_str("</tr></thead><tbody>\n");
        for (s, subject) in g.subjects.iter().enumerate() {
            h.push_str(&format!("<tr><th scope=\"row\">{}</th>", esc(subject)));
            for c in 0..g.checks.len() {
                h.push_str("<td>");
                for &i in g.cells.get(&(s, c)).map_or(&[][..], Vec::as_slice) {
                    let r = &report.results[i];
                    let st = r.status.as_str();
                    let (attr, mark) = match change(i, r) {
                        Some(ch) => (
                            format!(" data-change=\"{}\"", ch.as_str()),
                            format!(
                                "<span class=\"mark\" title=\"{}\">{}</span>",
                                t(&format!("change.{}", ch.as_str()), lang),
                                ch.mark()
                            ),
                        ),
                        None => (String::new(), String::new()),
                    };
                    h.push_str(&format!(
                        "<a class=\"cell c-{st}\" href=\"#r{i}\" data-check=\"{}\" data-subject=\"{}\" data-status=\"{st}\"{attr} title=\"{}\">{mark}<span class=\"g\">{}</span> {}</a>",
                        esc(&r.check),
                        esc(subject),
                        esc(&r.message_in(lang)),
                        glyph(st),
                        t(&format!("status.{st}"), lang)
                    ));
                }
                h.push_str("</td>");
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</tbody></table>\n");
    }
    h.push_str("</section>\n");
    h
}

/// The five phases as a grid of the seed's responsibilities: automated ones coloured by status,
/// manual ones as open boxes, with counts per phase.
pub fn phases(report: &Report, lang: Lang) -> String {
    let mut h = format!(
        "<section id=\"phases\"><h2>{}</h2><div class=\"phases\">\n",
        t("chart.phases", lang)
    );
    for phase in ["general", "initiate", "assess", "remediate", "enable"] {
        let rows: Vec<_> = report
            .responsibilities
            .iter()
            .filter(|r| r.phase == phase)
            .collect();
        let manual = rows.iter().filter(|r| !r.automated).count();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for r in rows.iter().filter(|r| r.automated) {
            *counts.entry(r.status.as_str()).or_default() += 1;
        }
        let tally: Vec<String> = ["fail", "error", "warn", "pass", "skip"]
            .iter()
            .filter_map(|s| {
                counts
                    .get(s)
                    .map(|n| format!("{} {n} {}", glyph(s), t(&format!("status.{s}"), lang)))
            })
            .collect();
        h.push_str(&format!(
            "<div class=\"phase\" data-phase=\"{phase}\"><h3>{}</h3><p class=\"meta\">{}</p><div class=\"tiles\">",
            esc(t(&format!("phase.{phase}"), lang)),
            esc(&tf(
                "chart.phase-counts",
                lang,
                &[
                    ("automated", (rows.len() - manual).to_string()),
                    ("manual", manual.to_string()),
                    (
                        "tally",
                        if tally.is_empty() {
                            String::new()
                        } else {
                            format!(" · {}", tally.join(" · "))
                        }
                    ),
                ]
            ))
        ));
        for r in rows {
            let st = r.status.as_str();
            let number = r.seed_ref.rsplit('-').next().unwrap_or(&r.seed_ref);
            h.push_str(&format!(
                "<span class=\"tile t-{st}\" data-responsibility=\"{}\" data-status=\"{st}\" title=\"{} ({})\">{} {}</span>",
                esc(&r.id),
                esc(&r.title_in(lang)),
                esc(&r.seed_ref),
                glyph(st),
                esc(number)
            ));
        }
        h.push_str("</div></div>\n");
    }
    h.push_str("</div></section>\n");
    h
}

/// A day count as a coordinate (charts deal in hundreds, never near `f64`'s precision).
fn float(n: i64) -> f64 {
    f64::from(i32::try_from(n).unwrap_or(if n < 0 { i32::MIN } else { i32::MAX }))
}

/// A count or position as a coordinate.
fn count(n: usize) -> f64 {
    f64::from(u32::try_from(n).unwrap_or(u32::MAX))
}

/// One certificate bar: the endpoint, its days left and its thresholds.
struct CertBar<'a> {
    index: usize,
    result: &'a CheckResult,
    days: Option<i64>,
    warn: i64,
    fail: i64,
}

fn cert_bars(report: &Report) -> Vec<CertBar<'_>> {
    report
        .results
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r.check.as_str(), "tls.certificate" | "tls.smtp-starttls"))
        .filter_map(|(index, r)| {
            let th = r.evidence.get("thresholds")?;
            Some(CertBar {
                index,
                result: r,
                days: r
                    .evidence
                    .get("certificates")
                    .and_then(|c| c.get(0))
                    .and_then(|c| c.get("days_remaining"))
                    .and_then(serde_json::Value::as_i64),
                warn: th.get("warn_days")?.as_i64()?,
                fail: th.get("fail_days")?.as_i64()?,
            })
        })
        .collect()
}

const W: f64 = 760.0;

/// Days left per endpoint as horizontal bars, the warn and fail thresholds drawn, an expired
/// certificate to the left of zero.
#[allow(
    clippy::many_single_char_names,
    reason = "chart geometry reads best in its own terms: x, y, h"
)]
pub fn certificates(report: &Report, lang: Lang) -> String {
    let bars = cert_bars(report);
    if bars.is_empty() {
        return String::new();
    }
    let (label_w, row_h, top) = (250.0, 24.0, 22.0);
    let days: Vec<i64> = bars.iter().filter_map(|b| b.days).collect();
    let warn = bars.iter().map(|b| b.warn).max().unwrap_or(30);
    let lo = float(days.iter().copied().min().unwrap_or(0).min(0));
    let hi = (float(days.iter().copied().max().unwrap_or(0).max(warn)) * 1.1).max(lo + 1.0);
    let plot = W - label_w - 70.0;
    let x = |d: f64| label_w + (d - lo) / (hi - lo) * plot;
    let height = top + row_h * count(bars.len()) + 8.0;
    let mut s = format!(
        "<figure id=\"certificates\"><figcaption>{}</figcaption><svg class=\"chart\" role=\"img\" viewBox=\"0 0 {W} {height}\" width=\"{W}\" height=\"{height}\" xmlns=\"http://www.w3.org/2000/svg\">",
        t("chart.certificates", lang)
    );
    // Thresholds (from the first bar: one scan has one policy) and zero.
    let (w0, f0) = (float(bars[0].warn), float(bars[0].fail));
    for (d, class, label) in [
        (0.0, "zero", "0".to_owned()),
        (
            f0,
            "limit fail",
            format!("{} {}", t("chart.fail-at", lang), f0),
        ),
        (
            w0,
            "limit warn",
            format!("{} {}", t("chart.warn-at", lang), w0),
        ),
    ] {
        s.push_str(&format!(
            "<line class=\"{class}\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{}\" y2=\"{}\"/><text class=\"axis\" x=\"{x:.1}\" y=\"12\" text-anchor=\"middle\">{}</text>",
            top - 4.0,
            height - 4.0,
            esc(&label),
            x = x(d)
        ));
    }
    for (n, b) in bars.iter().enumerate() {
        let y = top + row_h * count(n);
        let st = b.result.status.as_str();
        s.push_str(&format!(
            "<text class=\"label\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            label_w - 8.0,
            y + 15.0,
            esc(&b.result.subject)
        ));
        match b.days {
            Some(d) => {
                let (a, z) = (x(0.0), x(float(d)));
                s.push_str(&format!(
                    "<a href=\"#r{}\"><rect class=\"bar b-{st}\" data-subject=\"{}\" data-days=\"{d}\" data-status=\"{st}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{}\"/></a><text class=\"value\" x=\"{:.1}\" y=\"{:.1}\">{} {d} {}</text>",
                    b.index,
                    esc(&b.result.subject),
                    a.min(z),
                    y + 4.0,
                    (z - a).abs().max(1.0),
                    row_h - 8.0,
                    a.max(z) + 4.0,
                    y + 15.0,
                    glyph(st),
                    t("chart.days", lang)
                ));
            }
            None => s.push_str(&format!(
                "<text class=\"value\" x=\"{:.1}\" y=\"{:.1}\">{} {}</text>",
                x(0.0) + 4.0,
                y + 15.0,
                glyph(st),
                t("chart.no-certificate", lang)
            )),
        }
    }
    s.push_str("</svg></figure>\n");
    s
}

fn num(v: Option<&serde_json::Value>) -> Option<f64> {
    v.and_then(serde_json::Value::as_f64).map(bounded)
}

/// A measurement from a saved report, as drawn: every quantity charted (milliseconds, Mbit/s,
/// shares) is at least 0, and 10⁹ is beyond any real one. Bounded, `{:.1}` prints at most a
/// dozen characters; a hand-made `1e300` printed 300 digits per attribute.
fn bounded(v: f64) -> f64 {
    v.clamp(0.0, 1e9)
}

/// Samples drawn one by one in a latency chart at most (the plot is ~600 px wide); more are
/// drawn as this many bins (a million samples once made a 373 MB page).
const MAX_POINTS: usize = 300;

/// The latency samples of each `quality.latency` result (one mark per sample, a lost one as a
/// cross at the top) with the median, p90 and target lines.
#[allow(
    clippy::many_single_char_names,
    reason = "chart geometry reads best in its own terms: x, y, h"
)]
fn latency(index: usize, r: &CheckResult, lang: Lang) -> Option<String> {
    let e = &r.evidence;
    let samples: Vec<Option<f64>> = e
        .get("samples_ms")?
        .as_array()?
        .iter()
        .map(|v| num(Some(v)))
        .collect();
    if samples.is_empty() {
        return None;
    }
    let median = num(e.get("rtt_median_ms"));
    let p90 = num(e.get("rtt_p90_ms"));
    let target = num(e.get("targets").and_then(|t| t.get("rtt_ms")));
    let (h, left, top, bottom) = (220.0, 50.0, 16.0, 24.0);
    let max = samples
        .iter()
        .flatten()
        .copied()
        .chain(target)
        .fold(1.0_f64, f64::max)
        * 1.1;
    let plot_w = W - left - 110.0;
    let y = |v: f64| top + (1.0 - v / max) * (h - top - bottom);
    let x = |i: usize| left + (count(i) + 0.5) * plot_w / count(samples.len());
    let mut s = format!(
        "<figure class=\"latency\"><figcaption>{} — {}</figcaption><svg class=\"chart\" role=\"img\" data-result=\"{index}\" viewBox=\"0 0 {W} {h}\" width=\"{W}\" height=\"{h}\" xmlns=\"http://www.w3.org/2000/svg\">",
        t("chart.latency", lang),
        esc(&r.subject)
    );
    s.push_str(&format!(
        "<line class=\"axisline\" x1=\"{left}\" x2=\"{left}\" y1=\"{top}\" y2=\"{}\"/><line class=\"axisline\" x1=\"{left}\" x2=\"{}\" y1=\"{b}\" y2=\"{b}\"/><text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{:.0} ms</text><text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>",
        h - bottom,
        left + plot_w,
        left - 4.0,
        top + 4.0,
        max,
        left - 4.0,
        h - bottom,
        b = h - bottom
    ));
    let binned = samples.len() > MAX_POINTS;
    if binned {
        // More samples than the plot has room for: each mark is a bin of consecutive samples,
        // drawn as its range (so a spike stays visible) and its median.
        let xb = |b: usize| left + (count(b) + 0.5) * plot_w / count(MAX_POINTS);
        for b in 0..MAX_POINTS {
            let bin =
                &samples[b * samples.len() / MAX_POINTS..(b + 1) * samples.len() / MAX_POINTS];
            let mut values: Vec<f64> = bin.iter().flatten().copied().collect();
            values.sort_by(f64::total_cmp);
            if let (Some(lo), Some(hi)) = (values.first(), values.last()) {
                let mid = values[values.len() / 2];
                s.push_str(&format!(
                    "<line class=\"range\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/><circle class=\"sample\" data-ms=\"{mid:.1}\" data-n=\"{}\" cx=\"{x:.1}\" cy=\"{:.1}\" r=\"2\"/>",
                    y(*hi),
                    y(*lo),
                    bin.len(),
                    y(mid),
                    x = xb(b),
                ));
            }
            if values.len() < bin.len() {
                s.push_str(&format!(
                    "<text class=\"sample lost\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">×</text>",
                    xb(b),
                    top + 6.0
                ));
            }
        }
    } else {
        for (i, v) in samples.iter().enumerate() {
            match v {
                Some(v) => s.push_str(&format!(
                    "<circle class=\"sample\" data-ms=\"{v:.1}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\"/>",
                    x(i),
                    y(*v)
                )),
                None => s.push_str(&format!(
                    "<text class=\"sample lost\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">×</text>",
                    x(i),
                    top + 6.0
                )),
            }
        }
    }
    // Reference lines, their labels kept apart when the values are close (median and p90 often).
    let mut refs: Vec<(f64, &str, &str)> = [
        (median, "median", "chart.median"),
        (p90, "p90", "chart.p90"),
        (target, "target", "chart.target"),
    ]
    .into_iter()
    .filter_map(|(v, class, key)| v.map(|v| (v, class, key)))
    .collect();
    refs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut last_label: f64 = f64::MIN;
    for (v, class, key) in refs {
        let at = y(v);
        let label = (at + 4.0).max(last_label + 13.0);
        last_label = label;
        s.push_str(&format!(
            "<line class=\"ref {class}\" x1=\"{left}\" x2=\"{:.1}\" y1=\"{at:.1}\" y2=\"{at:.1}\"/><text class=\"axis\" x=\"{:.1}\" y=\"{label:.1}\">{} {v:.1} ms</text>",
            left + plot_w,
            left + plot_w + 6.0,
            t(key, lang)
        ));
    }
    let mut caption = tf(
        "chart.samples",
        lang,
        &[
            ("n", samples.len().to_string()),
            (
                "lost",
                samples.iter().filter(|v| v.is_none()).count().to_string(),
            ),
        ],
    );
    if binned {
        caption.push_str(&tf(
            "chart.binned",
            lang,
            &[
                ("bins", MAX_POINTS.to_string()),
                ("per", samples.len().div_ceil(MAX_POINTS).to_string()),
            ],
        ));
    }
    s.push_str(&format!(
        "<text class=\"axis\" x=\"{left}\" y=\"{}\">{}</text></svg></figure>\n",
        h - 6.0,
        esc(&caption)
    ));
    Some(s)
}

/// Measured vs needed bandwidth per direction, as paired bars, with the model's inputs.
#[allow(
    clippy::many_single_char_names,
    reason = "chart geometry reads best in its own terms: x, y, h"
)]
fn bandwidth(index: usize, r: &CheckResult, lang: Lang) -> Option<String> {
    let e = &r.evidence;
    let down = num(e.get("download").and_then(|d| d.get("mbps")));
    let up = num(e.get("upload").and_then(|d| d.get("mbps")));
    let need_down = num(e.get("needed_down_mbps"));
    let need_up = num(e.get("needed_up_mbps"));
    if [down, up, need_down, need_up].iter().all(Option::is_none) {
        return None; // nothing measured (an error result): the finding says why
    }
    let max = [down, up, need_down, need_up]
        .into_iter()
        .flatten()
        .fold(1.0_f64, f64::max)
        * 1.15;
    let (label_w, h) = (150.0, 150.0);
    let plot = W - label_w - 150.0;
    let st = r.status.as_str();
    let mut s = format!(
        "<figure class=\"bandwidth\"><figcaption>{} — {}</figcaption><svg class=\"chart\" role=\"img\" data-result=\"{index}\" viewBox=\"0 0 {W} {h}\" width=\"{W}\" height=\"{h}\" xmlns=\"http://www.w3.org/2000/svg\">",
        t("chart.bandwidth", lang),
        esc(&r.subject)
    );
    for (n, (dir, measured, needed)) in [
        ("chart.download", down, need_down),
        ("chart.upload", up, need_up),
    ]
    .into_iter()
    .enumerate()
    {
        let y0 = 10.0 + count(n) * 68.0;
        s.push_str(&format!(
            "<text class=\"label\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            label_w - 8.0,
            y0 + 26.0,
            t(dir, lang)
        ));
        for (k, (v, class, key)) in [
            (measured, "measured", "chart.measured"),
            (needed, "needed", "chart.needed"),
        ]
        .into_iter()
        .enumerate()
        {
            let y = y0 + count(k) * 24.0;
            match v {
                Some(v) => s.push_str(&format!(
                    "<rect class=\"bw {class} b-{st}\" data-direction=\"{}\" data-mbps=\"{v:.1}\" x=\"{label_w}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"18\"/><text class=\"value\" x=\"{:.1}\" y=\"{:.1}\">{} {v:.1} Mbit/s</text>",
                    &dir["chart.".len()..],
                    (v / max * plot).max(1.0),
                    label_w + v / max * plot + 4.0,
                    y + 13.0,
                    t(key, lang)
                )),
                None => s.push_str(&format!(
                    "<text class=\"value\" x=\"{label_w}\" y=\"{:.1}\">{} —</text>",
                    y + 13.0,
                    t(key, lang)
                )),
            }
        }
    }
    s.push_str("</svg>");
    let model = e.get("model");
    let share = |k: &str| {
        num(model.and_then(|m| m.get(k))).map_or("-".into(), |v| format!("{:.0}", v * 100.0))
    };
    s.push_str(&format!(
        "<p class=\"meta\"><a href=\"#r{index}\">{} {}</a> · {}</p></figure>\n",
        glyph(st),
        t(&format!("status.{st}"), lang),
        esc(&tf(
            "chart.model",
            lang,
            &[
                (
                    "users",
                    e.get("users")
                        .and_then(serde_json::Value::as_u64)
                        .map_or("-".into(), |u| u.to_string())
                ),
                ("audio", share("audio_share")),
                ("video", share("video_share")),
                ("screen", share("screen_share")),
                (
                    "connections",
                    e.get("connections")
                        .and_then(serde_json::Value::as_u64)
                        .map_or("-".into(), |u| u.to_string())
                ),
            ]
        ))
    ));
    Some(s)
}

/// The network quality section: a latency chart per `quality.latency` result, paired bandwidth
/// bars per `quality.bandwidth` result.
pub fn quality(report: &Report, lang: Lang) -> String {
    let mut parts = String::new();
    for (i, r) in report.results.iter().enumerate() {
        let part = match r.check.as_str() {
            "quality.latency" => latency(i, r, lang),
            "quality.bandwidth" => bandwidth(i, r, lang),
            _ => None,
        };
        parts.push_str(&part.unwrap_or_default());
    }
    if parts.is_empty() {
        return parts;
    }
    format!(
        "<section id=\"quality\"><h2>{}</h2>\n{parts}</section>\n",
        t("chart.quality", lang)
    )
}

/// The pictures' styles: colours for screens, glyphs and words (and dashes) for paper.
pub const STYLE: &str = r"
.matrix{width:auto;font-size:.85rem}.matrix caption{text-align:left;font-weight:600;padding:.4rem 0}
.matrix th{font-weight:500}.matrix td{padding:.15rem .3rem}.matrix th[scope=row]{white-space:nowrap}
.cell{display:inline-block;padding:.05rem .35rem;border-radius:.25rem;text-decoration:none;white-space:nowrap;border:1px solid transparent}
.c-pass{background:#dafbe1;color:#116329}.c-warn{background:#fff8c5;color:#7d4e00}.c-fail{background:#ffebe9;color:#a40e26;font-weight:700}
.c-error{background:#fbefff;color:#6639ba}.c-skip{background:#f6f8fa;color:#57606a}
.cell[data-change]{border:2px solid #1b1f24}.mark{font-weight:700;margin-right:.2rem}
.phases{display:grid;grid-template-columns:repeat(5,1fr);gap:.6rem}.phase{border:1px solid #d0d7de;border-radius:.4rem;padding:.4rem}
.phase h3{margin:.1rem 0;font-size:1rem}.tiles{display:flex;flex-wrap:wrap;gap:.25rem}
.tile{font-size:.8rem;padding:.05rem .3rem;border-radius:.2rem;border:1px solid #d0d7de}
.t-pass{background:#dafbe1}.t-warn{background:#fff8c5}.t-fail{background:#ffebe9;font-weight:700}.t-error{background:#fbefff}.t-skip{background:#f6f8fa}
.t-manual{background:#fff;border-style:dashed;color:#57606a}
figure{margin:1rem 0}figcaption{font-weight:600;margin-bottom:.3rem}.chart{max-width:100%;height:auto;font:12px system-ui,sans-serif}
.chart .label,.chart .value,.chart .axis{fill:#1b1f24}.chart .axis{fill:#57606a}
.bar,.bw{stroke:#1b1f24;stroke-width:.5}.b-pass{fill:#4ac26b}.b-warn{fill:#d4a72c}.b-fail{fill:#e5534b}.b-error{fill:#a371f7}.b-skip{fill:#afb8c1}
.bw.needed{fill:#fff;stroke-dasharray:4 2}
.zero{stroke:#1b1f24}.limit{stroke-dasharray:5 3}.limit.fail{stroke:#cf222e}.limit.warn{stroke:#9a6700}
.axisline{stroke:#8c959f}.sample{fill:#0969da}.range{stroke:#0969da;stroke-opacity:.5}.sample.lost{fill:#cf222e;font-weight:700}
.ref{stroke-width:1.2}.ref.median{stroke:#0969da}.ref.p90{stroke:#0969da;stroke-dasharray:4 3}.ref.target{stroke:#cf222e;stroke-dasharray:8 3}
@media print{.phases{grid-template-columns:repeat(3,1fr)}.cell,.tile{background:#fff !important;color:#000 !important;border-color:#000}}
";
