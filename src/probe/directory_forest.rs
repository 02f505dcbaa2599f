//! `directory-forest`: Microsoft Entra Connect's prerequisites of the forest itself, read from
//! the DC: the forest functional level (the RootDSE's `forestFunctionality`, the forest's
//! `msDS-Behavior-Version`) and whether the Active Directory Recycle Bin is enabled.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{ProbeCx, ProbeError};
use crate::directory::{DirectorySettings, ForestFacts};
use crate::level::Level;
use crate::outcome::{Finding, Judgement};

/// `[check.probe]` of a `directory-forest` check.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryForestSpec {
    /// The lowest forest functional level Entra Connect supports.
    pub min_forest_level: u32,
    /// Functional levels by number, as Windows Server names them.
    pub level_names: BTreeMap<String, String>,
    /// How strongly Microsoft asks for the Recycle Bin.
    #[serde(default)]
    pub recycle_bin_level: Level,
    /// Why, below `required`.
    pub recycle_bin_why: Option<String>,
    /// `recycle_bin_why` in Korean.
    pub recycle_bin_why_ko: Option<String>,
}

/// Planned for the scan's directory.
#[derive(Clone, Debug)]
pub struct DirectoryForestTask {
    /// The DC.
    pub settings: DirectorySettings,
    /// The check's values.
    pub spec: DirectoryForestSpec,
}

/// Reads the RootDSE and the Partitions container.
pub async fn observe(t: &DirectoryForestTask, cx: &ProbeCx) -> Result<ForestFacts, ProbeError> {
    crate::directory::forest(
        &t.settings,
        &cx.tls,
        super::directory_objects::op_timeout(cx.step),
    )
    .await
    .map_err(ProbeError::from)
}

fn level_name(spec: &DirectoryForestSpec, level: u32) -> String {
    spec.level_names
        .get(&level.to_string())
        .cloned()
        .unwrap_or_else(|| format!("level {level}"))
}

/// Below the supported level fails; the Recycle Bin off is judged by its level.
pub fn judge(t: &DirectoryForestTask, e: &ForestFacts) -> Judgement {
    let spec = &t.spec;
    let mut findings = Vec::new();
    match e.forest_level {
        Some(l) if l < spec.min_forest_level => findings.push(Finding::fail(text!(
            "directory.forest-level-low",
            level = level_name(spec, l),
            min = level_name(spec, spec.min_forest_level)
        ))),
        Some(_) => {}
        None => findings.push(Finding::warn(text!("directory.forest-level-unknown"))),
    }
    match e.recycle_bin {
        Some(true) => {}
        Some(false) => findings.push(
            spec.recycle_bin_level.missing(
                text!("directory.recycle-bin-off"),
                spec.recycle_bin_why
                    .as_deref()
                    .map(|w| (w, spec.recycle_bin_why_ko.as_deref())),
            ),
        ),
        None => findings.push(Finding::warn(text!("directory.recycle-bin-unknown"))),
    }
    Judgement::from_findings(
        findings,
        text!(
            "directory.forest-pass",
            level = e
                .forest_level
                .map_or_else(String::new, |l| level_name(spec, l))
        ),
        vec![text!(
            "directory.forest-expected",
            min = level_name(spec, spec.min_forest_level)
        )],
    )
}
