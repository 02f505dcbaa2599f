//! `entra-admins`: who holds the Global Administrator role (users and service principals), from
//! Microsoft Graph (`directoryRoles(roleTemplateId=…)/members`), against Microsoft's advice:
//! fewer than five, and at least two emergency-access accounts.

use serde::{Deserialize, Serialize};

use super::{ProbeCx, ProbeError, graph_get};
use crate::outcome::{Finding, Judgement};

/// `[check.probe]` of an `entra-admins` check.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntraAdminsSpec {
    /// The application permission the read needs.
    pub permission: String,
    /// The role's template id (Global Administrator: 62e90394-69f5-4237-9190-012177145e10).
    pub role_template_id: String,
    /// Fewer members than this warns (emergency access needs at least two).
    pub min: usize,
    /// More members than this warns.
    pub max: usize,
}

/// One member, as much as a fix needs.
#[derive(Clone, Debug, Serialize)]
pub struct Member {
    /// `user` or `servicePrincipal`.
    pub kind: String,
    /// The sign-in name (users) or display name.
    pub name: String,
}

/// The role's members.
#[derive(Clone, Debug, Serialize)]
pub struct EntraAdminsEvidence {
    /// Members (at most 50 shown).
    pub members: Vec<Member>,
    /// How many in all.
    pub count: usize,
}

/// Reads the role's members (every page).
pub async fn observe(t: &EntraAdminsSpec, cx: &ProbeCx) -> Result<EntraAdminsEvidence, ProbeError> {
    let id = crate::percent::encode(&t.role_template_id);
    let items = graph_get::read(
        cx,
        &format!("/v1.0/directoryRoles(roleTemplateId='{id}')/members?$select=id,displayName,userPrincipalName"),
        &t.permission,
    )
    .await?;
    let session = cx.graph.as_deref();
    let members: Vec<Member> = items
        .iter()
        .map(|m| {
            let kind = m
                .get("@odata.type")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("")
                .trim_start_matches("#microsoft.graph.")
                .to_owned();
            let name: String = m
                .get("userPrincipalName")
                .or_else(|| m.get("displayName"))
                .and_then(serde_json::Value::as_str)
                .unwrap_or("")
                .chars()
                .take(256)
                .collect();
            // People's names follow --redact-users; an app (service principal) is not a person.
            let name = match session {
                Some(s) if kind == "user" => s.person(&name),
                _ => name,
            };
            Member { kind, name }
        })
        .collect();
    Ok(EntraAdminsEvidence {
        count: members.len(),
        members: members.into_iter().take(50).collect(),
    })
}

/// Too few and too many both warn: Microsoft recommends, the tenant still works.
pub fn judge(t: &EntraAdminsSpec, e: &EntraAdminsEvidence) -> Judgement {
    let mut findings = Vec::new();
    if e.count < t.min {
        findings.push(Finding::warn(text!(
            "entra.admins-few",
            count = e.count,
            min = t.min
        )));
    }
    if e.count > t.max {
        findings.push(Finding::warn(text!(
            "entra.admins-many",
            count = e.count,
            max = t.max
        )));
    }
    Judgement::from_findings(
        findings,
        text!("entra.admins-ok", count = e.count),
        vec![text!("entra.admins-expected", min = t.min, max = t.max)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Status;

    #[test]
    fn between_two_and_four() {
        let spec = EntraAdminsSpec {
            permission: "RoleManagement.Read.Directory".into(),
            role_template_id: "62e90394-69f5-4237-9190-012177145e10".into(),
            min: 2,
            max: 4,
        };
        let e = |n: usize| EntraAdminsEvidence {
            members: vec![],
            count: n,
        };
        assert_eq!(judge(&spec, &e(1)).status, Status::Warn);
        assert_eq!(judge(&spec, &e(2)).status, Status::Pass);
        assert_eq!(judge(&spec, &e(4)).status, Status::Pass);
        assert_eq!(judge(&spec, &e(5)).status, Status::Warn);
    }
}
