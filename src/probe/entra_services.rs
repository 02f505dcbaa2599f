//! `entra-services`: whether the service plans behind the tenant's services (Exchange Online,
//! Teams, Intune) are provisioned, from Microsoft Graph's `subscribedSkus`
//! (`servicePlans[].provisioningStatus`): a plan still `PendingActivation` or `Disabled` in
//! every subscription means the service is not there yet for anyone.

use serde::{Deserialize, Serialize};

use super::{ProbeCx, ProbeError, graph_get};
use crate::outcome::{Finding, Judgement};
use crate::tenant::Service;

/// The plans that deliver one service.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicePlans {
    /// The service, as `[[domain]] services` names it.
    pub service: Service,
    /// `servicePlanName`s that deliver it (`TEAMS1`…); `*` matches any run of characters.
    pub plans: Vec<String>,
}

/// `[check.probe]` of an `entra-services` check.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntraServicesSpec {
    /// The permission `subscribedSkus` needs (`LicenseAssignment.Read.All`).
    pub permission: String,
    /// Per service, its plans.
    pub service: Vec<ServicePlans>,
}

/// The check as planned: the spec and the services the tenant's domains use.
#[derive(Clone, Debug)]
pub struct EntraServicesTask {
    /// From the check file.
    pub spec: EntraServicesSpec,
    /// The services of every `[[domain]]`.
    pub services: Vec<Service>,
}

/// One plan of one subscription.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Plan {
    /// `skuPartNumber` of the subscription.
    pub sku: String,
    /// `servicePlanName`.
    pub plan: String,
    /// `provisioningStatus`: `Success`, `Disabled`, `Error`, `PendingInput`,
    /// `PendingActivation`, `PendingProvisioning`.
    pub status: String,
}

/// One service's plans across the live subscriptions.
#[derive(Clone, Debug, Serialize)]
pub struct ServiceState {
    /// The service.
    pub service: Service,
    /// Its plans found (at most 50).
    pub plans: Vec<Plan>,
}

/// What Graph says.
#[derive(Clone, Debug, Serialize)]
pub struct EntraServicesEvidence {
    /// Per service the tenant uses.
    pub services: Vec<ServiceState>,
}

/// Each service's plans in the subscriptions that are live (`Enabled` or `Warning`) (pure).
pub fn states(t: &EntraServicesTask, skus: &[serde_json::Value]) -> Vec<ServiceState> {
    t.services
        .iter()
        .map(|&service| {
            let wanted: &[String] = t
                .spec
                .service
                .iter()
                .find(|s| s.service == service)
                .map_or(&[], |s| &s.plans);
            let plans = skus
                .iter()
                .filter(|s| matches!(s["capabilityStatus"].as_str(), Some("Enabled" | "Warning")))
                .flat_map(|s| {
                    let sku = graph_get::field(s, "skuPartNumber").unwrap_or_default();
                    s["servicePlans"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(move |p| {
                            let plan = graph_get::field(p, "servicePlanName")?;
                            wanted
                                .iter()
                                .any(|w| crate::pattern::text_matches(w, &plan))
                                .then(|| Plan {
                                    sku: sku.clone(),
                                    plan,
                                    status: graph_get::field(p, "provisioningStatus")
                                        .unwrap_or_default(),
                                })
                        })
                })
                .take(50)
                .collect();
            ServiceState { service, plans }
        })
        .collect()
}

/// Reads the subscriptions.
pub async fn observe(
    t: &EntraServicesTask,
    cx: &ProbeCx,
) -> Result<EntraServicesEvidence, ProbeError> {
    let skus = graph_get::read(
        cx,
        "/v1.0/subscribedSkus?$select=skuPartNumber,capabilityStatus,servicePlans",
        &t.spec.permission,
    )
    .await?;
    Ok(EntraServicesEvidence {
        services: states(t, &skus),
    })
}

fn listed(plans: &[&Plan]) -> String {
    plans
        .iter()
        .map(|p| format!("{} in {}: {}", p.plan, p.sku, p.status))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A service no live subscription includes, or whose plans are nowhere `Success`, fails; one
/// provisioned in one subscription but not yet in another warns (those users lack it).
pub fn judge(_t: &EntraServicesTask, e: &EntraServicesEvidence) -> Judgement {
    let mut findings = Vec::new();
    for s in &e.services {
        let service = s.service.as_str();
        let not_ready: Vec<&Plan> = s.plans.iter().filter(|p| p.status != "Success").collect();
        if s.plans.is_empty() {
            findings.push(Finding::fail(text!(
                "entra.services-missing",
                service = service
            )));
        } else if not_ready.len() == s.plans.len() {
            findings.push(Finding::fail(text!(
                "entra.services-pending",
                service = service,
                plans = listed(&not_ready)
            )));
        } else if !not_ready.is_empty() {
            findings.push(Finding::warn(text!(
                "entra.services-partly",
                service = service,
                plans = listed(&not_ready)
            )));
        }
    }
    let names: Vec<&str> = e.services.iter().map(|s| s.service.as_str()).collect();
    Judgement::from_findings(
        findings,
        text!("entra.services-ok", services = names.join(", ")),
        vec![text!("entra.services-expected")],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Status;
    use serde_json::json;

    fn task() -> EntraServicesTask {
        EntraServicesTask {
            spec: EntraServicesSpec {
                permission: "LicenseAssignment.Read.All".into(),
                service: vec![
                    ServicePlans {
                        service: Service::Teams,
                        plans: vec!["TEAMS1".into()],
                    },
                    ServicePlans {
                        service: Service::Exchange,
                        plans: vec!["EXCHANGE_S_ENTERPRISE".into()],
                    },
                ],
            },
            services: vec![Service::Exchange, Service::Teams],
        }
    }

    fn sku(part: &str, cap: &str, plans: &[(&str, &str)]) -> serde_json::Value {
        let plans: Vec<serde_json::Value> = plans
            .iter()
            .map(|(n, s)| json!({"servicePlanName": n, "provisioningStatus": s}))
            .collect();
        json!({"skuPartNumber": part, "capabilityStatus": cap, "servicePlans": plans})
    }

    fn verdict(skus: &[serde_json::Value]) -> Status {
        let t = task();
        judge(
            &t,
            &EntraServicesEvidence {
                services: states(&t, skus),
            },
        )
        .status
    }

    #[test]
    fn provisioned_pending_missing() {
        let ok = sku(
            "ENTERPRISEPACK",
            "Enabled",
            &[("EXCHANGE_S_ENTERPRISE", "Success"), ("TEAMS1", "Success")],
        );
        assert_eq!(verdict(std::slice::from_ref(&ok)), Status::Pass);
        let pending = sku(
            "ENTERPRISEPACK",
            "Enabled",
            &[
                ("EXCHANGE_S_ENTERPRISE", "Success"),
                ("TEAMS1", "PendingActivation"),
            ],
        );
        assert_eq!(verdict(std::slice::from_ref(&pending)), Status::Fail);
        assert_eq!(verdict(&[ok.clone(), pending]), Status::Warn);
        let no_teams = sku(
            "ENTERPRISEPACK",
            "Enabled",
            &[("EXCHANGE_S_ENTERPRISE", "Success")],
        );
        assert_eq!(verdict(&[no_teams]), Status::Fail);
        // A suspended subscription's plans do not count.
        let mut suspended = ok;
        suspended["capabilityStatus"] = json!("Suspended");
        assert_eq!(verdict(&[suspended]), Status::Fail);
    }
}
