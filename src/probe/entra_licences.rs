//! `entra-licences`: whether the tenant holds enough user licences, from Microsoft Graph's
//! `subscribedSkus` (enabled against consumed units, against `[tenant] users`), whether any
//! subscription has lapsed, and which licensed users lack a usage location (`GET /users`, one
//! shared pass: see [`super::graph_users`]).

use serde::{Deserialize, Serialize};

use super::graph_users::{self, Sample};
use super::{ProbeCx, ProbeError, graph_get};
use crate::outcome::{Finding, Judgement};

/// `[check.probe]` of an `entra-licences` check.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntraLicencesSpec {
    /// The permission `subscribedSkus` needs (`LicenseAssignment.Read.All`).
    pub permission: String,
    /// Service plans that make a SKU a user's licence (a mailbox, Teams, SharePoint): free and
    /// trial SKUs that list thousands of units of something else are not counted as seats.
    pub seat_plans: Vec<String>,
}

/// The check as planned: the spec and the users `[tenant] users` expects.
#[derive(Clone, Debug)]
pub struct EntraLicencesTask {
    /// From the check file.
    pub spec: EntraLicencesSpec,
    /// `[tenant] users`.
    pub users: Option<u32>,
}

/// One subscription.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Sku {
    /// `skuPartNumber` (`ENTERPRISEPACK`…).
    pub part: String,
    /// `capabilityStatus`: `Enabled`, `Warning`, `Suspended`, `Deleted`, `LockedOut`.
    pub status: String,
    /// `prepaidUnits.enabled`.
    pub enabled: u64,
    /// `consumedUnits`.
    pub consumed: u64,
    /// It includes one of `seat_plans`.
    pub seat: bool,
}

/// What Graph says.
#[derive(Clone, Debug, Serialize)]
pub struct EntraLicencesEvidence {
    /// Every subscription (at most 200 shown).
    pub skus: Vec<Sku>,
    /// `[tenant] users`.
    pub users_expected: Option<u32>,
    /// Users read from the tenant, when they could be.
    pub users: Option<u64>,
    /// Licensed users.
    pub licensed: Option<u64>,
    /// Licensed users without a usage location.
    pub no_usage_location: Option<Sample>,
    /// Why the users could not be read, when they could not.
    pub users_unread: Option<String>,
}

/// A SKU as the verdict needs it (pure).
pub fn sku_of(spec: &EntraLicencesSpec, v: &serde_json::Value) -> Sku {
    let plans: Vec<String> = v["servicePlans"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| graph_get::field(p, "servicePlanName"))
                .collect()
        })
        .unwrap_or_default();
    Sku {
        part: graph_get::field(v, "skuPartNumber").unwrap_or_default(),
        status: graph_get::field(v, "capabilityStatus").unwrap_or_default(),
        enabled: v["prepaidUnits"]["enabled"].as_u64().unwrap_or(0),
        consumed: v["consumedUnits"].as_u64().unwrap_or(0),
        seat: plans.iter().any(|p| {
            spec.seat_plans
                .iter()
                .any(|s| crate::pattern::text_matches(s, p))
        }),
    }
}

/// Reads the subscriptions, then the users.
pub async fn observe(
    t: &EntraLicencesTask,
    cx: &ProbeCx,
) -> Result<EntraLicencesEvidence, ProbeError> {
    let skus: Vec<Sku> = graph_get::read(
        cx,
        "/v1.0/subscribedSkus?$select=skuPartNumber,capabilityStatus,prepaidUnits,consumedUnits,servicePlans",
        &t.spec.permission,
    )
    .await?
    .iter()
    .map(|v| sku_of(&t.spec, v))
    .take(200)
    .collect();
    let (users, users_unread) = match graph_users::summary(cx).await {
        Ok(s) => (Some(s), None),
        Err(ProbeError::NotApplicable { message, .. }) => {
            (None, Some(message.render(crate::output::Lang::En)))
        }
        Err(e) => return Err(e),
    };
    Ok(EntraLicencesEvidence {
        skus,
        users_expected: t.users,
        users: users.as_ref().map(|u| u.users),
        licensed: users.as_ref().map(|u| u.licensed),
        no_usage_location: users.map(|u| u.no_usage_location.clone()),
        users_unread,
    })
}

/// Fewer seats than users fails, as does a suspended subscription still assigned; a
/// subscription in its grace period, more assigned than bought, and licensed users without a
/// usage location warn.
pub fn judge(t: &EntraLicencesTask, e: &EntraLicencesEvidence) -> Judgement {
    let live = |s: &&Sku| s.seat && matches!(s.status.as_str(), "Enabled" | "Warning");
    let seats: u64 = e.skus.iter().filter(live).map(|s| s.enabled).sum();
    let used: u64 = e.skus.iter().filter(live).map(|s| s.consumed).sum();
    let mut findings = Vec::new();
    if !e.skus.iter().any(|s| live(&s)) {
        findings.push(Finding::fail(text!("entra.licences-none")));
    } else if let Some(users) = t.users
        && seats < u64::from(users)
    {
        findings.push(Finding::fail(text!(
            "entra.licences-short",
            seats = seats,
            users = users
        )));
    }
    for s in &e.skus {
        match s.status.as_str() {
            "Warning" => findings.push(Finding::warn(text!(
                "entra.licences-grace",
                sku = s.part.clone()
            ))),
            "Suspended" | "LockedOut" if s.consumed > 0 => findings.push(Finding::fail(text!(
                "entra.licences-suspended",
                sku = s.part.clone(),
                status = s.status.clone(),
                consumed = s.consumed
            ))),
            _ => {}
        }
        if s.consumed > s.enabled && s.status != "Suspended" && s.status != "LockedOut" {
            findings.push(Finding::warn(text!(
                "entra.licences-over",
                sku = s.part.clone(),
                consumed = s.consumed,
                enabled = s.enabled
            )));
        }
    }
    if let Some(n) = &e.no_usage_location
        && n.count > 0
    {
        findings.push(Finding::warn(text!(
            "entra.licences-location",
            count = n.count,
            names = n.first.join(", ")
        )));
    }
    let mut j = Judgement::from_findings(
        findings,
        text!("entra.licences-ok", seats = seats, used = used),
        vec![match t.users {
            Some(users) => text!("entra.licences-expected-users", users = users),
            None => text!("entra.licences-expected"),
        }],
    );
    if let Some(why) = &e.users_unread {
        j.message
            .push(text!("entra.licences-users-unread", why = why.clone()));
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Status;
    use serde_json::json;

    fn task(users: Option<u32>) -> EntraLicencesTask {
        EntraLicencesTask {
            spec: EntraLicencesSpec {
                permission: "LicenseAssignment.Read.All".into(),
                seat_plans: vec!["EXCHANGE_S_ENTERPRISE".into(), "TEAMS1".into()],
            },
            users,
        }
    }

    fn evidence(skus: Vec<Sku>) -> EntraLicencesEvidence {
        EntraLicencesEvidence {
            skus,
            users_expected: None,
            users: Some(10),
            licensed: Some(10),
            no_usage_location: Some(Sample::default()),
            users_unread: None,
        }
    }

    fn sku(status: &str, enabled: u64, consumed: u64, seat: bool) -> Sku {
        Sku {
            part: "ENTERPRISEPACK".into(),
            status: status.into(),
            enabled,
            consumed,
            seat,
        }
    }

    #[test]
    fn free_skus_are_not_seats() {
        let t = task(Some(100));
        let free = sku_of(
            &t.spec,
            &json!({"skuPartNumber": "FLOW_FREE", "capabilityStatus": "Enabled", "prepaidUnits": {"enabled": 10000}, "consumedUnits": 3, "servicePlans": [{"servicePlanName": "FLOW_P2_VIRAL"}]}),
        );
        assert!(!free.seat);
        let e3 = sku_of(
            &t.spec,
            &json!({"skuPartNumber": "ENTERPRISEPACK", "capabilityStatus": "Enabled", "prepaidUnits": {"enabled": 100}, "consumedUnits": 90, "servicePlans": [{"servicePlanName": "TEAMS1", "provisioningStatus": "Success"}]}),
        );
        assert!(e3.seat);
        assert_eq!(
            judge(&t, &evidence(vec![free.clone()])).status,
            Status::Fail
        );
        assert_eq!(judge(&t, &evidence(vec![free, e3])).status, Status::Pass);
    }

    #[test]
    fn verdicts() {
        assert_eq!(
            judge(
                &task(Some(200)),
                &evidence(vec![sku("Enabled", 100, 90, true)])
            )
            .status,
            Status::Fail
        );
        assert_eq!(
            judge(&task(None), &evidence(vec![sku("Warning", 100, 90, true)])).status,
            Status::Warn
        );
        assert_eq!(
            judge(&task(None), &evidence(vec![sku("Enabled", 100, 120, true)])).status,
            Status::Warn
        );
        assert_eq!(
            judge(
                &task(None),
                &evidence(vec![
                    sku("Enabled", 100, 90, true),
                    sku("Suspended", 10, 5, true)
                ])
            )
            .status,
            Status::Fail
        );
        let mut e = evidence(vec![sku("Enabled", 100, 90, true)]);
        e.no_usage_location = Some(Sample {
            count: 2,
            first: vec!["a".into(), "b".into()],
        });
        assert_eq!(judge(&task(Some(100)), &e).status, Status::Warn);
    }
}
