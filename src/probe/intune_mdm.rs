//! `intune-mdm`: the tenant's mobile device management authority, from Microsoft Graph's
//! `organization.mobileDeviceManagementAuthority`, when Intune is one of the tenant's services.

use serde::{Deserialize, Serialize};

use super::{ProbeCx, ProbeError, graph_get};
use crate::outcome::{Finding, Judgement};

/// `[check.probe]` of an `intune-mdm` check.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntuneMdmSpec {
    /// The application permission the read needs.
    pub permission: String,
    /// The authority Intune needs (`intune`).
    pub expected: String,
}

/// What Graph says.
#[derive(Clone, Debug, Serialize)]
pub struct IntuneMdmEvidence {
    /// `mobileDeviceManagementAuthority` (`unknown`, `intune`, `sccm`, `office365`).
    pub authority: Option<String>,
}

/// Reads the organization object.
pub async fn observe(t: &IntuneMdmSpec, cx: &ProbeCx) -> Result<IntuneMdmEvidence, ProbeError> {
    let items = graph_get::read(
        cx,
        "/v1.0/organization?$select=mobileDeviceManagementAuthority",
        &t.permission,
    )
    .await?;
    Ok(IntuneMdmEvidence {
        authority: items
            .first()
            .and_then(|o| o.get("mobileDeviceManagementAuthority"))
            .and_then(serde_json::Value::as_str)
            .map(|s| s.chars().take(64).collect()),
    })
}

/// Anything but the expected authority fails: devices cannot enroll in Intune.
pub fn judge(t: &IntuneMdmSpec, e: &IntuneMdmEvidence) -> Judgement {
    let got = e.authority.clone().unwrap_or_else(|| "unknown".into());
    let finding = (!got.eq_ignore_ascii_case(&t.expected)).then(|| {
        Finding::fail(text!(
            "intune.mdm-authority-wrong",
            authority = got.clone(),
            expected = t.expected.clone()
        ))
    });
    Judgement::from_findings(
        finding.into_iter().collect(),
        text!("intune.mdm-authority-ok", authority = got.clone()),
        vec![text!(
            "intune.mdm-authority-expected",
            expected = t.expected.clone()
        )],
    )
}
