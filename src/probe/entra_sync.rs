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
    /// Users whose `onPremisesProvisioningErrors` is not empty (read when sync is on).
    pub provisioning_errors: Option<super::graph_users::Sample>,
    /// Why the users could not be read (a permission), when they could not.
    pub users_unread: Option<String>,
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
    let sync_enabled = org
        .get("onPremisesSyncEnabled")
        .and_then(serde_json::Value::as_bool);
    // Provisioning errors exist only for synced objects: the users are read when sync is on
    // (the same pass `entra.licences` uses). A permission the app lacks leaves the sync verdict
    // standing and says what was not read.
    let (provisioning_errors, users_unread) = if sync_enabled == Some(true) {
        match super::graph_users::summary(cx).await {
            Ok(s) => (Some(s.provisioning_errors.clone()), None),
            Err(ProbeError::NotApplicable { message, .. }) => {
                (None, Some(message.render(crate::output::Lang::En)))
            }
            Err(e) => return Err(e),
        }
    } else {
        (None, None)
    };
    Ok(EntraSyncEvidence {
        sync_enabled,
        last_sync,
        minutes_since,
        provisioning_errors,
        users_unread,
    })
}

/// Off warns (a cloud-only tenant needs no sync); on but stale warns, then fails.
pub fn judge(t: &EntraSyncSpec, e: &EntraSyncEvidence) -> Judgement {
    let cycle = t.cycle_minutes;
    let sync = match (e.sync_enabled, e.minutes_since) {
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
    let mut findings: Vec<Finding> = sync.into_iter().collect();
    if let Some(p) = &e.provisioning_errors
        && p.count > 0
    {
        findings.push(Finding::warn(text!(
            "entra.sync-provisioning-errors",
            count = p.count,
            names = p.first.join(", ")
        )));
    }
    let mut j = Judgement::from_findings(
        findings,
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
    );
    if let Some(why) = &e.users_unread {
        j.message
            .push(text!("entra.sync-users-unread", why = why.clone()));
    }
    j
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
            provisioning_errors: None,
            users_unread: None,
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
        let mut errors = e(Some(true), Some(10));
        errors.provisioning_errors = Some(crate::probe::graph_users::Sample {
            count: 1,
            first: vec!["a@contoso.test (PropertyConflict on UserPrincipalName)".into()],
        });
        assert_eq!(judge(&spec, &errors).status, Status::Warn);
    }
}
