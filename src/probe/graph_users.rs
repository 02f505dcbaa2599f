//! One pass over the tenant's users (Microsoft Graph `GET /users`, 999 a page), summarised as
//! the tenant checks need it: how many are licensed, which licensed users lack a usage location
//! (`entra.licences`), which carry directory-sync provisioning errors (`entra.directory-sync`).
//! Only counts and the first few names are kept, so 100,000 users cost one page of memory; the
//! pass runs once per scan whichever checks ask first (`Session::users`).

use std::sync::Arc;

use serde::Serialize;

use super::{ProbeCx, ProbeError, graph_get};

/// The application permission `GET /users` needs, least privileged
/// (learn.microsoft.com/graph/api/user-list).
pub const PERMISSION: &str = "User.Read.All";

/// The users' fields read: nothing else about a person leaves the tenant.
const PATH: &str = "/v1.0/users?$select=userPrincipalName,usageLocation,assignedLicenses,onPremisesProvisioningErrors&$top=999";

/// Names kept per finding: enough to start fixing, never the directory.
pub const SAMPLE: usize = 20;

/// Some objects with one problem: how many, and the first few (names as the report may show them).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Sample {
    /// How many in all.
    pub count: u64,
    /// The first [`SAMPLE`]: a name, and for provisioning errors what failed.
    pub first: Vec<String>,
}

impl Sample {
    fn add(&mut self, item: impl FnOnce() -> String) {
        self.count += 1;
        if self.first.len() < SAMPLE {
            self.first.push(item());
        }
    }
}

/// What the pass found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct UsersSummary {
    /// Users read.
    pub users: u64,
    /// Users with at least one licence assigned.
    pub licensed: u64,
    /// Licensed users without `usageLocation` (Microsoft cannot assign a licence's services to
    /// a user without one).
    pub no_usage_location: Sample,
    /// Users whose `onPremisesProvisioningErrors` is not empty.
    pub provisioning_errors: Sample,
}

impl UsersSummary {
    /// Adds one page of users (pure, given how names are shown).
    pub fn add_page(&mut self, page: &[serde_json::Value], person: &impl Fn(&str) -> String) {
        for u in page {
            self.users += 1;
            let name = || person(&graph_get::field(u, "userPrincipalName").unwrap_or_default());
            let licensed = u
                .get("assignedLicenses")
                .and_then(serde_json::Value::as_array)
                .is_some_and(|l| !l.is_empty());
            if licensed {
                self.licensed += 1;
                let location = graph_get::field(u, "usageLocation").unwrap_or_default();
                if location.trim().is_empty() {
                    self.no_usage_location.add(name);
                }
            }
            if let Some(errors) = u
                .get("onPremisesProvisioningErrors")
                .and_then(serde_json::Value::as_array)
                .filter(|e| !e.is_empty())
            {
                let first = &errors[0];
                let what = [
                    graph_get::field(first, "category"),
                    graph_get::field(first, "propertyCausingError"),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" on ");
                self.provisioning_errors
                    .add(|| format!("{} ({what})", name()));
            }
        }
    }
}

/// The summary of this scan's users, read on first use and shared.
pub async fn summary(cx: &ProbeCx) -> Result<Arc<UsersSummary>, ProbeError> {
    let Some(session) = cx.graph.as_deref() else {
        return Err(ProbeError::NotApplicable {
            kind: "graph",
            message: text!("skip.no-graph"),
        });
    };
    session
        .users
        .get_or_init(|| async {
            let mut s = UsersSummary::default();
            let person = |n: &str| session.person(n);
            graph_get::each_page(cx, PATH, PERMISSION, |page| s.add_page(page, &person)).await?;
            Ok(Arc::new(s))
        })
        .await
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_and_samples() {
        let mut s = UsersSummary::default();
        let page: Vec<serde_json::Value> = (0..30)
            .map(|i| {
                json!({
                    "userPrincipalName": format!("u{i}@contoso.test"),
                    "usageLocation": if i % 2 == 0 { json!(null) } else { json!("KR") },
                    "assignedLicenses": if i < 25 { json!([{"skuId": "x"}]) } else { json!([]) },
                    "onPremisesProvisioningErrors": if i == 3 { json!([{"category": "PropertyConflict", "propertyCausingError": "ProxyAddresses", "value": "smtp:a@b"}]) } else { json!([]) }
                })
            })
            .collect();
        s.add_page(&page, &|n: &str| n.to_owned());
        s.add_page(&[json!({"unexpected": 1})], &|n: &str| n.to_owned());
        assert_eq!(s.users, 31);
        assert_eq!(s.licensed, 25);
        // Even i below 25: 0, 2, …, 24.
        assert_eq!(s.no_usage_location.count, 13);
        assert_eq!(s.no_usage_location.first[0], "u0@contoso.test");
        assert_eq!(s.provisioning_errors.count, 1);
        assert_eq!(
            s.provisioning_errors.first[0],
            "u3@contoso.test (PropertyConflict on ProxyAddresses)"
        );
    }

    #[test]
    fn samples_stop_at_twenty() {
        let mut s = UsersSummary::default();
        let page: Vec<serde_json::Value> = (0..100)
            .map(|i| json!({"userPrincipalName": format!("u{i}"), "assignedLicenses": [{}]}))
            .collect();
        s.add_page(&page, &|n: &str| n.to_owned());
        assert_eq!(s.no_usage_location.count, 100);
        assert_eq!(s.no_usage_location.first.len(), SAMPLE);
    }
}
