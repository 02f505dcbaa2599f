//! `tenant-ready graph permissions`: the Microsoft Graph application permissions to grant the
//! app registration, built from the check catalogue (each tenant check names the permission it
//! reads with), so the list cannot drift from what a scan asks for.

use crate::catalog::Catalog;
use crate::cli::{CatalogArgs, ListFormat};
use crate::error::ConfigError;

/// What `--graph` itself reads: the tenant's domains and their records.
pub const DOMAINS: &str = "Domain.Read.All";

/// One permission and what needs it.
#[derive(Debug, serde::Serialize)]
struct Row {
    permission: String,
    /// `true` when some check skips without it.
    required: bool,
    /// `check: what it reads` (the scan's own reads are under `--graph`).
    reads: Vec<String>,
}

fn rows(c: &Catalog) -> Vec<Row> {
    let mut rows = vec![Row {
        permission: DOMAINS.into(),
        required: true,
        reads: vec!["--graph: domains, verification and service records".into()],
    }];
    for check in &c.checks {
        for (perm, what, required) in check.probe.graph_permissions() {
            let line = format!(
                "{}: {what}{}",
                check.id,
                if required { "" } else { " (optional)" }
            );
            match rows.iter_mut().find(|r| r.permission == perm) {
                Some(r) => {
                    r.required |= required;
                    r.reads.push(line);
                }
                None => rows.push(Row {
                    permission: perm.to_owned(),
                    required,
                    reads: vec![line],
                }),
            }
        }
    }
    rows
}

/// The list, as text or JSON.
pub fn list(a: &CatalogArgs) -> Result<String, ConfigError> {
    let c = Catalog::load(&a.checks, !a.no_builtin_checks)?;
    let rows = rows(&c);
    if a.format == ListFormat::Json {
        return Ok(format!(
            "{}\n",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        ));
    }
    let width = rows.iter().map(|r| r.permission.len()).max().unwrap_or(0);
    let mut out = String::from(
        "Microsoft Graph application permissions for `scan --graph` (grant admin consent; all read-only):\n",
    );
    for r in &rows {
        for (i, line) in r.reads.iter().enumerate() {
            let name = if i == 0 { r.permission.as_str() } else { "" };
            // Check ids and permissions come from check files a user may add: shown inert.
            out.push_str(&format!(
                "  {:width$}  {}\n",
                crate::escape::terminal(name),
                crate::escape::terminal(line)
            ));
        }
    }
    out.push_str(
        "A permission the app lacks makes only the checks that need it skip, naming it; without an optional one a check still judges and says what it could not read.\n",
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tenant_check_names_its_permissions_once_each() {
        let c = Catalog::embedded().unwrap();
        let rows = rows(&c);
        let perms: Vec<&str> = rows.iter().map(|r| r.permission.as_str()).collect();
        for p in [
            "Domain.Read.All",
            "Organization.Read.All",
            "RoleManagement.Read.Directory",
            "Policy.Read.All",
            "AuditLog.Read.All",
            "LicenseAssignment.Read.All",
            "User.Read.All",
        ] {
            assert_eq!(
                perms.iter().filter(|x| **x == p).count(),
                1,
                "{p}: {perms:?}"
            );
        }
        let audit = rows
            .iter()
            .find(|r| r.permission == "AuditLog.Read.All")
            .unwrap();
        assert!(!audit.required, "the registration report is optional");
        let org = rows
            .iter()
            .find(|r| r.permission == "Organization.Read.All")
            .unwrap();
        assert!(
            org.reads
                .iter()
                .any(|l| l.starts_with("entra.directory-sync"))
        );
        assert!(
            org.reads
                .iter()
                .any(|l| l.starts_with("intune.mdm-authority"))
        );
    }
}
