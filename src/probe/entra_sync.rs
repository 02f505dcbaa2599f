//! `entra-sync`: whether directory synchronization is on for the tenant and ran recently, from
//! Microsoft Graph's `organization` (`onPremisesSyncEnabled`, `onPremisesLastSyncDateTime`),
//! against Microsoft Entra Connect's documented 30-minute cycle.

use serde::{Deserialize, Serialize};

use super::{ProbeCx, ProbeError, graph_get};
use crate::outcome::{Finding, Judgement};

/// `[check.probe]` of an `entra-sync` check.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntraSyncSpec {
    /// The application permission the read needs (named when Graph denies it).
    pub permission: String,
    /// Microsoft's sync cycle, minutes (for the messages).
    pub cycle_minutes: u64,
    /// A last sync older than this warns.
    pub warn_after_minutes: u64,
    /// A last sync older than this fails.
    pub fail_after_minutes: u64,
}

/// What Graph says.
#[derive(Clone, Debug, Serialize)]
pub struct EntraSyncEvidence {
    /// `onPremisesSyncEnabled` (`null`: never enabled).
    pub sync_enabled: Option<bool>,
    /// `onPremisesLastSyncDateTime`.
    pub last_sync: Option<String>,
    /// Minutes from the last sync to the scan.
    pub minutes_since: Option<u64>,
}

/// Reads the tenant's organization object.
pub async fn observe(t: &EntraSyncSpec, cx: &ProbeCx) -> Result<EntraSyncEvidence, ProbeError> {
    let items = graph_get::read(
        cx,
        "/v1.0/organization?$select=onPremisesSyncEnabled,onPremisesLastSyncDateTime",
        &t.permission,
    )
    .await?;
    let org = items.first().cloned().unwrap_or_default();
    let last_sync = org
        .get("onPremisesLastSyncDateTime")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    let minutes_since = last_sync
        .as_deref()
        .and_then(|s| {
            humantime::parse_rfc3339(s)
                .or_else(|_| humantime::parse_rfc3339_weak(s))
                .ok()
        })
        .and_then(|at| std::time::SystemTime::now().duration_since(at).ok())
        .map(|d| d.as_secs() / 60);
    Ok(EntraSyncEvidence {
        sync_enabled: org
            .get("onPremisesSyncEnabled")
            .and_then(serde_json::Value::as_bool),
        last_sync,
        minutes_since,
    })
}

/// Off warns (a cloud-only tenant needs no sync); on but stale warns, then fails.
pub fn judge(t: &EntraSyncSpec, e: &EntraSyncEvidence) -> Judgement {
    let cycle = t.cycle_minutes;
    let finding = match (e.sync_enabled, e.minutes_since) {
        (Some(true), Some(m)) if m > t.fail_after_minutes => Some(Finding::fail(text!(
            "entra.sync-stale",
            minutes = m,
            cycle = cycle
        ))),
        (Some(true), Some(m)) if m > t.warn_after_minutes => Some(Finding::warn(text!(
            "entra.sync-stale",
            minutes = m,
            cycle = cycle
        ))),
        (Some(true), Some(_)) => None,
        (Some(true), None) => Some(Finding::fail(text!("entra.sync-never"))),
        (_, _) => Some(Finding::warn(text!("entra.sync-off"))),
    };
    Judgement::from_findings(
        finding.into_iter().collect(),
        text!(
            "entra.sync-ok",
            minutes = e.minutes_since.unwrap_or(0),
            cycle = cycle
        ),
        vec![text!(
            "entra.sync-expected",
            cycle = cycle,
            warn = t.warn_after_minutes
        )],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Status;

    #[test]
    fn fresh_stale_never_and_off() {
        let spec = EntraSyncSpec {
            permission: "Organization.Read.All".into(),
            cycle_minutes: 30,
            warn_after_minutes: 180,
            fail_after_minutes: 1440,
        };
        let e = |on: Option<bool>, m: Option<u64>| EntraSyncEvidence {
            sync_enabled: on,
            last_sync: None,
            minutes_since: m,
        };
        assert_eq!(judge(&spec, &e(Some(true), Some(29))).status, Status::Pass);
        assert_eq!(judge(&spec, &e(Some(true), Some(181))).status, Status::Warn);
        assert_eq!(
            judge(&spec, &e(Some(true), Some(1441))).status,
            Status::Fail
        );
        assert_eq!(judge(&spec, &e(Some(true), None)).status, Status::Fail);
        assert_eq!(judge(&spec, &e(None, None)).status, Status::Warn);
        assert_eq!(judge(&spec, &e(Some(false), Some(5))).status, Status::Warn);
    }
}
