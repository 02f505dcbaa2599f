//! `tenant-ready import dkim FILE`: the exact DKIM targets from a `Get-DkimSigningConfig` export
//! ([`crate::dkim_export`]) written into tenant.toml as `dkim_selector1` / `dkim_selector2` of the
//! matching `[[domain]]` entries. The file is edited in place with `toml_edit`, so the user's
//! comments, order and formatting stay as they were; it is written atomically, and only after the
//! result parses as a valid tenant.toml. Domains of the export that tenant.toml does not list are
//! named, not added (an export lists every accepted domain, the initial one included, and which of
//! them to scan is the user's choice).
//!
//! `[tenant] dkim_file` is the alternative for pipelines that re-export on every run: the scan
//! then reads the export itself.

use std::fmt::Write as _;

use crate::cli::ImportDkimArgs;
use crate::dkim_export::DkimEntry;
use crate::domain::DomainName;
use crate::error::ConfigError;

/// What an import did (or would do, with `--dry-run`).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Imported {
    /// (domain, field, old value, new value) for every value set or changed.
    pub changed: Vec<(String, &'static str, Option<String>, String)>,
    /// Domains already holding the export's values.
    pub unchanged: Vec<String>,
    /// Domains of the export without a `[[domain]]` entry.
    pub not_in_config: Vec<String>,
    /// Domains of the export without DKIM keys (empty selectors).
    pub no_keys: Vec<String>,
}

impl Imported {
    /// A summary for people, one line per domain.
    pub fn summary(&self, config: &std::path::Path, dry_run: bool) -> String {
        let mut out = String::new();
        for (domain, field, old, new) in &self.changed {
            let _ = writeln!(
                out,
                "{domain}: {field} = {new}{}",
                old.as_ref()
                    .map(|o| format!(" (was {o})"))
                    .unwrap_or_default()
            );
        }
        for d in &self.unchanged {
            let _ = writeln!(out, "{d}: already up to date");
        }
        for d in &self.no_keys {
            let _ = writeln!(
                out,
                "{d}: the export has no DKIM selectors for it (create DKIM keys in the Defender portal first)"
            );
        }
        if !self.not_in_config.is_empty() {
            let _ = writeln!(
                out,
                "not in {} (add a [[domain]] entry to scan them): {}",
                config.display(),
                self.not_in_config.join(", ")
            );
        }
        let _ = writeln!(
            out,
            "{} value{} {}{}",
            self.changed.len(),
            if self.changed.len() == 1 { "" } else { "s" },
            if dry_run {
                "would change in "
            } else {
                "set in "
            },
            config.display()
        );
        out
    }
}

/// Applies the export to tenant.toml's text; returns the new text and what changed. Pure.
pub fn apply(
    text: &str,
    entries: &[DkimEntry],
    config: &std::path::Path,
) -> Result<(String, Imported), ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        path: config.to_owned(),
        message,
    };
    // The strict parser first: a file the scan would refuse is refused here too, with its position.
    toml::from_str::<crate::tenant::TenantFile>(text)
        .map_err(|e| ConfigError::from_toml(config, text, &e))?;
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| invalid(e.message().to_owned()))?;
    let mut result = Imported::default();
    let mut matched: Vec<&DomainName> = Vec::new();
    if let Some(tables) = doc
        .get_mut("domain")
        .and_then(toml_edit::Item::as_array_of_tables_mut)
    {
        for (i, table) in tables.iter_mut().enumerate() {
            let name = table
                .get("name")
                .and_then(toml_edit::Item::as_str)
                .ok_or_else(|| invalid(format!("domain[{i}].name: missing")))?;
            let name =
                DomainName::parse(name).map_err(|e| invalid(format!("domain[{i}].name: {e}")))?;
            let Some(entry) = entries.iter().find(|e| e.domain == name) else {
                continue;
            };
            matched.push(&entry.domain);
            if entry.selector1.is_none() && entry.selector2.is_none() {
                result.no_keys.push(name.to_string());
                continue;
            }
            let before = result.changed.len();
            for (field, value) in [
                ("dkim_selector1", &entry.selector1),
                ("dkim_selector2", &entry.selector2),
            ] {
                let Some(new) = value else { continue };
                let old = table
                    .get(field)
                    .and_then(toml_edit::Item::as_str)
                    .map(str::to_owned);
                if old.as_deref() != Some(new.as_str()) {
                    table.insert(field, toml_edit::value(new.as_str()));
                    result
                        .changed
                        .push((name.to_string(), field, old, new.clone()));
                }
            }
            if result.changed.len() == before {
                result.unchanged.push(name.to_string());
            }
        }
    }
    result.not_in_config = entries
        .iter()
        .filter(|e| !matched.contains(&&e.domain))
        .map(|e| e.domain.to_string())
        .collect();
    if matched.is_empty() {
        return Err(invalid(format!(
            "none of the export's domains ({}) has a [[domain]] entry: is it the right tenant's export?",
            result.not_in_config.join(", ")
        )));
    }
    let new_text = doc.to_string();
    // What is written must still be a tenant.toml the scan accepts.
    toml::from_str::<crate::tenant::TenantFile>(&new_text)
        .map_err(|e| ConfigError::from_toml(config, &new_text, &e))?;
    Ok((new_text, result))
}

/// Runs `import dkim`: returns the summary for stderr.
pub fn import_dkim(a: &ImportDkimArgs) -> Result<String, ConfigError> {
    let entries = crate::dkim_export::read(&a.file).map_err(ConfigError::Usage)?;
    if !a.config.is_file() {
        return Err(ConfigError::Usage(format!(
            "{} does not exist: give --config PATH, or write one with `tenant-ready init`",
            a.config.display()
        )));
    }
    let text = crate::text_file::read(&a.config).map_err(ConfigError::Usage)?;
    let (new_text, result) = apply(&text, &entries, &a.config)?;
    if !a.dry_run && !result.changed.is_empty() {
        crate::report::write_atomic(&a.config, new_text.as_bytes()).map_err(|source| {
            ConfigError::Read {
                path: a.config.clone(),
                source,
            }
        })?;
    }
    Ok(result.summary(&a.config, a.dry_run))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(domain: &str, s1: Option<&str>, s2: Option<&str>) -> DkimEntry {
        DkimEntry {
            domain: DomainName::parse(domain).unwrap(),
            selector1: s1.map(str::to_owned),
            selector2: s2.map(str::to_owned),
        }
    }

    #[test]
    fn sets_values_and_keeps_comments() {
        let text = "# my tenant\n[tenant]\nname = \"Contoso\" # display\n\n[[domain]]\n# the main one\nname = \"Contoso.com\"\ndkim_selector1 = \"old._domainkey.x.onmicrosoft.com\"\n\n[[domain]]\nname = \"fabrikam.com\"\n";
        let entries = vec![
            entry(
                "contoso.com",
                Some("selector1-contoso-com01c._domainkey.contoso.n-v1.dkim.mail.microsoft"),
                Some("selector2-contoso-com01c._domainkey.contoso.n-v1.dkim.mail.microsoft"),
            ),
            entry("contoso.onmicrosoft.com", None, None),
            entry(
                "tailspin.com",
                Some("selector1-tailspin-com._domainkey.contoso.onmicrosoft.com"),
                None,
            ),
        ];
        let (new, r) = apply(text, &entries, std::path::Path::new("tenant.toml")).unwrap();
        assert!(
            new.starts_with("# my tenant\n[tenant]\nname = \"Contoso\" # display\n"),
            "{new}"
        );
        assert!(new.contains("# the main one\n"), "{new}");
        assert!(new.contains(
            "dkim_selector1 = \"selector1-contoso-com01c._domainkey.contoso.n-v1.dkim.mail.microsoft\""
        ));
        assert_eq!(r.changed.len(), 2);
        assert_eq!(
            r.changed[0].2.as_deref(),
            Some("old._domainkey.x.onmicrosoft.com")
        );
        assert_eq!(r.not_in_config, ["contoso.onmicrosoft.com", "tailspin.com"]);
        // Applying again changes nothing.
        let (again, r2) = apply(&new, &entries, std::path::Path::new("tenant.toml")).unwrap();
        assert_eq!(again, new);
        assert_eq!(r2.unchanged, ["contoso.com"]);
        assert!(
            r2.summary(std::path::Path::new("tenant.toml"), false)
                .contains("0 values set")
        );
    }

    #[test]
    fn refuses_what_the_scan_would_refuse() {
        let entries = vec![entry("contoso.com", Some("a.b"), None)];
        let p = std::path::Path::new("tenant.toml");
        let e = apply(
            "[[domain]]\nname = \"contoso.com\"\nbogus = 1\n",
            &entries,
            p,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("tenant.toml:3:1: unknown field `bogus`"),
            "{e}"
        );
        let e = apply("[[domain]]\nname = \"other.com\"\n", &entries, p).unwrap_err();
        assert!(
            e.to_string().contains("is it the right tenant's export?"),
            "{e}"
        );
    }
}
