//! `entra-mfa`: whether the tenant requires multifactor authentication of every user and of its
//! administrators, from Microsoft Graph: security defaults
//! (`policies/identitySecurityDefaultsEnforcementPolicy`), or enabled Conditional Access policies
//! (`identity/conditionalAccess/policies`) that require MFA or an authentication strength; and,
//! when the permission and licence allow, which administrators have not registered a method
//! (`reports/authenticationMethods/userRegistrationDetails`).

use serde::{Deserialize, Serialize};

use super::{ProbeCx, ProbeError, graph_get};
use crate::outcome::{Finding, Judgement};

/// `[check.probe]` of an `entra-mfa` check.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntraMfaSpec {
    /// The permission the policies need (`Policy.Read.All`).
    pub permission: String,
    /// The permission the registration report needs (`AuditLog.Read.All`).
    pub registration_permission: String,
    /// Role template ids a policy must include to count as covering the administrators.
    pub admin_roles: Vec<String>,
    /// Applications a policy must include to count (`All`, `Office365`).
    pub applications: Vec<String>,
}

/// A Conditional Access policy that requires MFA, as much as the verdict needs.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct MfaPolicy {
    /// `displayName`.
    pub name: String,
    /// `enabled`, `disabled` or `enabledForReportingButNotEnforced`.
    pub state: String,
    /// It includes all users.
    pub all_users: bool,
    /// It includes every role of `admin_roles`.
    pub admins: bool,
    /// It includes one of `applications`.
    pub all_apps: bool,
}

/// Administrators' MFA registration, from the registration report.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Registration {
    /// Users the report marks as administrators.
    pub admins: u64,
    /// Those without a registered MFA method.
    pub not_registered: super::graph_users::Sample,
}

/// What Graph says.
#[derive(Clone, Debug, Serialize)]
pub struct EntraMfaEvidence {
    /// Security defaults are on (they require MFA registration and use by everyone).
    pub security_defaults: bool,
    /// Conditional Access policies that require MFA (any state); not read when security
    /// defaults are on (the two exclude each other).
    pub policies: Vec<MfaPolicy>,
    /// Administrators' registration, when the report could be read.
    pub registration: Option<Registration>,
    /// Why the report could not be read (a permission or a licence), when it could not.
    pub registration_unread: Option<String>,
}

/// Whether a policy's grant requires MFA whatever else happens: an authentication strength, or
/// the `mfa` control alone or with `AND` (with `OR`, a compliant device would do instead).
/// A policy limited to risky sign-ins asks only sometimes and does not count.
pub fn requires_mfa(p: &serde_json::Value) -> bool {
    let grant = &p["grantControls"];
    let strength = !grant["authenticationStrength"].is_null();
    let controls: Vec<&str> = grant["builtInControls"]
        .as_array()
        .map(|a| a.iter().filter_map(serde_json::Value::as_str).collect())
        .unwrap_or_default();
    let mfa = controls.contains(&"mfa")
        && (controls.len() == 1 || grant["operator"].as_str() == Some("AND"));
    let conditions = &p["conditions"];
    let risk_only = ["signInRiskLevels", "userRiskLevels"].iter().any(|k| {
        conditions[*k]
            .as_array()
            .is_some_and(|levels| !levels.is_empty())
    });
    (strength || mfa) && !risk_only
}

/// A policy as the verdict needs it (`None` when it does not require MFA).
pub fn policy_of(t: &EntraMfaSpec, p: &serde_json::Value) -> Option<MfaPolicy> {
    if !requires_mfa(p) {
        return None;
    }
    let list = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(serde_json::Value::as_str)
                    .map(str::to_ascii_lowercase)
                    .collect()
            })
            .unwrap_or_default()
    };
    let users = &p["conditions"]["users"];
    let include_users = list(&users["includeUsers"]);
    let include_roles = list(&users["includeRoles"]);
    let apps = list(&p["conditions"]["applications"]["includeApplications"]);
    Some(MfaPolicy {
        name: graph_get::field(p, "displayName").unwrap_or_default(),
        state: graph_get::field(p, "state").unwrap_or_default(),
        all_users: include_users.iter().any(|u| u == "all"),
        admins: t
            .admin_roles
            .iter()
            .all(|r| include_roles.contains(&r.to_ascii_lowercase())),
        all_apps: t
            .applications
            .iter()
            .any(|a| apps.contains(&a.to_ascii_lowercase())),
    })
}

/// Reads security defaults, then the policies, then the registration report.
pub async fn observe(t: &EntraMfaSpec, cx: &ProbeCx) -> Result<EntraMfaEvidence, ProbeError> {
    let defaults = graph_get::read(
        cx,
        "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy",
        &t.permission,
    )
    .await?;
    let security_defaults = defaults
        .first()
        .and_then(|d| d.get("isEnabled"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    let policies = if security_defaults {
        vec![]
    } else {
        graph_get::read(
            cx,
            "/v1.0/identity/conditionalAccess/policies",
            &t.permission,
        )
        .await?
        .iter()
        .filter_map(|p| policy_of(t, p))
        .collect()
    };
    let mut reg = Registration::default();
    let session = cx.graph.as_deref();
    let read = graph_get::each_page(
        cx,
        "/v1.0/reports/authenticationMethods/userRegistrationDetails?$filter=isAdmin%20eq%20true&$select=userPrincipalName,isAdmin,isMfaRegistered",
        &t.registration_permission,
        |page| {
            for u in page {
                if u["isAdmin"].as_bool() != Some(true) {
                    continue;
                }
                reg.admins += 1;
                if u["isMfaRegistered"].as_bool() != Some(true) {
                    let name = graph_get::field(u, "userPrincipalName").unwrap_or_default();
                    let shown = session.map_or(name.clone(), |s| s.person(&name));
                    reg.not_registered.count += 1;
                    if reg.not_registered.first.len() < super::graph_users::SAMPLE {
                        reg.not_registered.first.push(shown);
                    }
                }
            }
        },
    )
    .await;
    let (registration, registration_unread) = match read {
        Ok(()) => (Some(reg), None),
        // A report the app may not read, or the tenant's licence does not include, leaves the
        // policy verdict standing: it is said, not failed.
        Err(ProbeError::NotApplicable { message, .. }) => {
            (None, Some(message.render(crate::output::Lang::En)))
        }
        Err(e) => return Err(e),
    };
    Ok(EntraMfaEvidence {
        security_defaults,
        policies,
        registration,
        registration_unread,
    })
}

/// No MFA for administrators fails; for administrators only warns; administrators without a
/// registered method warn.
pub fn judge(_t: &EntraMfaSpec, e: &EntraMfaEvidence) -> Judgement {
    let enforced = |p: &&MfaPolicy| p.state == "enabled" && p.all_apps;
    let all = e.security_defaults || e.policies.iter().filter(enforced).any(|p| p.all_users);
    let admins = all || e.policies.iter().filter(enforced).any(|p| p.admins);
    let report_only: Vec<String> = e
        .policies
        .iter()
        .filter(|p| p.state == "enabledForReportingButNotEnforced")
        .map(|p| p.name.clone())
        .collect();
    let mut findings = Vec::new();
    if !admins {
        findings.push(Finding::fail(text!("entra.mfa-admins")));
    } else if !all {
        findings.push(Finding::warn(text!("entra.mfa-users")));
    }
    // Named, because "we have a policy for that" is the usual answer: the fix is its state.
    if !all && !report_only.is_empty() {
        findings.push(Finding::warn(text!(
            "entra.mfa-report-only",
            count = report_only.len(),
            names = report_only
                .iter()
                .take(super::graph_users::SAMPLE)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if let Some(r) = &e.registration
        && r.not_registered.count > 0
    {
        findings.push(Finding::warn(text!(
            "entra.mfa-unregistered",
            count = r.not_registered.count,
            admins = r.admins,
            names = r.not_registered.first.join(", ")
        )));
    }
    let ok = if e.security_defaults {
        text!("entra.mfa-defaults")
    } else {
        text!("entra.mfa-policies")
    };
    let mut j = Judgement::from_findings(findings, ok, vec![text!("entra.mfa-expected")]);
    if let Some(why) = &e.registration_unread {
        j.message
            .push(text!("entra.mfa-registration-unread", why = why.clone()));
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Status;
    use serde_json::json;

    fn spec() -> EntraMfaSpec {
        EntraMfaSpec {
            permission: "Policy.Read.All".into(),
            registration_permission: "AuditLog.Read.All".into(),
            admin_roles: vec!["62e90394-69f5-4237-9190-012177145e10".into()],
            applications: vec!["All".into(), "Office365".into()],
        }
    }

    fn policy(users: &[&str], roles: &[&str], grant: &serde_json::Value) -> serde_json::Value {
        json!({
            "displayName": "p", "state": "enabled",
            "conditions": {"users": {"includeUsers": users, "includeRoles": roles},
                           "applications": {"includeApplications": ["All"]}},
            "grantControls": grant
        })
    }

    #[test]
    fn what_counts_as_requiring_mfa() {
        let mfa = json!({"operator": "OR", "builtInControls": ["mfa"]});
        assert!(requires_mfa(&policy(&["All"], &[], &mfa)));
        let or_device = json!({"operator": "OR", "builtInControls": ["mfa", "compliantDevice"]});
        assert!(!requires_mfa(&policy(&["All"], &[], &or_device)));
        let and_device = json!({"operator": "AND", "builtInControls": ["mfa", "compliantDevice"]});
        assert!(requires_mfa(&policy(&["All"], &[], &and_device)));
        let strength = json!({"operator": "OR", "builtInControls": [], "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000002"}});
        assert!(requires_mfa(&policy(&["All"], &[], &strength)));
        let block = json!({"operator": "OR", "builtInControls": ["block"]});
        assert!(!requires_mfa(&policy(&["All"], &[], &block)));
        let mut risky = policy(&["All"], &[], &mfa);
        risky["conditions"]["signInRiskLevels"] = json!(["high"]);
        assert!(!requires_mfa(&risky));
        assert!(!requires_mfa(&json!({"grantControls": null})));
    }

    #[test]
    fn verdicts() {
        let t = spec();
        let mfa = json!({"operator": "OR", "builtInControls": ["mfa"]});
        let admins = policy_of(
            &t,
            &policy(&[], &["62E90394-69F5-4237-9190-012177145E10"], &mfa),
        )
        .unwrap();
        let everyone = policy_of(&t, &policy(&["All"], &[], &mfa)).unwrap();
        assert!(admins.admins && !admins.all_users);
        let e = |defaults: bool, policies: Vec<MfaPolicy>| EntraMfaEvidence {
            security_defaults: defaults,
            policies,
            registration: None,
            registration_unread: Some("not read".into()),
        };
        assert_eq!(judge(&t, &e(true, vec![])).status, Status::Pass);
        assert_eq!(judge(&t, &e(false, vec![])).status, Status::Fail);
        assert_eq!(
            judge(&t, &e(false, vec![admins.clone()])).status,
            Status::Warn
        );
        assert_eq!(
            judge(&t, &e(false, vec![admins, everyone.clone()])).status,
            Status::Pass
        );
        let report_only = MfaPolicy {
            state: "enabledForReportingButNotEnforced".into(),
            ..everyone
        };
        assert_eq!(judge(&t, &e(false, vec![report_only])).status, Status::Fail);
        // The note about the unread report follows the verdict.
        assert_eq!(judge(&t, &e(true, vec![])).message.len(), 2);
    }
}
