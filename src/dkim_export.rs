//! The DKIM CNAME targets Microsoft 365 expects, as Exchange Online PowerShell exports them:
//!
//! ```text
//! Get-DkimSigningConfig | Select-Object Domain,Selector1CNAME,Selector2CNAME | ConvertTo-Json > dkim.json
//! ```
//!
//! These are the only authority for the targets (learn.microsoft.com/defender-office-365/email-authentication-dkim-configure: the token can carry a
//! suffix, and the new `*.dkim.mail.microsoft` form has a partition letter Microsoft assigns), so
//! `dns.dkim` checks them exactly when they are given, through `[tenant] dkim_file` or
//! `tenant-ready import dkim`.
//!
//! What PowerShell writes, and so what is accepted: UTF-16LE with a BOM (Windows PowerShell 5.1's
//! `>` and `Out-File`) or UTF-8 (PowerShell 7); a JSON array, or a single object when the tenant
//! has one domain (`ConvertTo-Json` unwraps one-element arrays); the full objects when
//! `Select-Object` was left out (other properties are ignored); property names in any case; an
//! empty or null selector for domains without DKIM keys (reported, not an error).

use std::path::Path;

use serde_json::Value;

use crate::domain::{DomainName, record_target};

/// One domain's expected DKIM targets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DkimEntry {
    /// The domain.
    pub domain: DomainName,
    /// `Selector1CNAME`, normalised; `None` when the export has none (no DKIM keys yet).
    pub selector1: Option<String>,
    /// `Selector2CNAME`, normalised.
    pub selector2: Option<String>,
}

/// Checks one configured or exported DKIM target: a record target name, and not the record's
/// own name (a common slip: `selector1._domainkey.contoso.com` is where the CNAME lives, not
/// where it points). Returns the normalised value or a sentence naming what is wrong.
pub fn check_target(selector: u8, value: &str) -> Result<String, String> {
    let t = record_target(value).map_err(|e| e.to_string())?;
    if t.starts_with(&format!("selector{selector}._domainkey.")) {
        return Err(format!(
            "`{t}` is the name of the CNAME record, not its target; give Selector{selector}CNAME from Get-DkimSigningConfig (e.g. selector{selector}-contoso-com._domainkey.contoso.onmicrosoft.com)"
        ));
    }
    Ok(t)
}

fn field<'a>(obj: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// Parses an export; `source` names it in errors ("dkim.json: entry 3: …").
pub fn parse(text: &str, source: &str) -> Result<Vec<DkimEntry>, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        format!(
            "{source}: not JSON (line {}, column {}: {e}); export it with Get-DkimSigningConfig | Select-Object Domain,Selector1CNAME,Selector2CNAME | ConvertTo-Json",
            e.line(),
            e.column()
        )
    })?;
    let items = match value {
        Value::Array(items) => items,
        obj @ Value::Object(_) => vec![obj],
        _ => {
            return Err(format!(
                "{source}: expected the JSON array (or object) ConvertTo-Json writes"
            ));
        }
    };
    if items.is_empty() {
        return Err(format!("{source}: the export lists no domain"));
    }
    let mut out: Vec<DkimEntry> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        // The messages quote the file's own text, which may carry terminal control characters.
        let at = |msg: String| {
            format!(
                "{source}: entry {}: {}",
                i + 1,
                crate::escape::terminal(&msg)
            )
        };
        let Value::Object(obj) = item else {
            return Err(at("not an object".into()));
        };
        let domain = match field(obj, "Domain").or_else(|| field(obj, "Name")) {
            Some(Value::String(d)) => DomainName::parse(d).map_err(|e| at(e.to_string()))?,
            _ => return Err(at("no Domain property".into())),
        };
        let mut found = [None, None];
        for (n, slot) in (1u8..).zip(found.iter_mut()) {
            *slot = match field(obj, &format!("Selector{n}CNAME")) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if s.trim().is_empty() => None,
                Some(Value::String(s)) => {
                    Some(check_target(n, s).map_err(|e| at(format!("Selector{n}CNAME: {e}")))?)
                }
                Some(_) => return Err(at(format!("Selector{n}CNAME is not a string"))),
            };
        }
        if out.iter().any(|e| e.domain == domain) {
            return Err(at(format!("{domain} is listed twice")));
        }
        let [selector1, selector2] = found;
        out.push(DkimEntry {
            domain,
            selector1,
            selector2,
        });
    }
    Ok(out)
}

/// Reads and parses an export file in any encoding PowerShell writes.
pub fn read(path: &Path) -> Result<Vec<DkimEntry>, String> {
    let text = crate::text_file::read(path)?;
    parse(&text, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_powershell_writes() {
        // Two domains (an array), the initial domain without custom keys, mixed-case names.
        let text = r#"[
    {
        "Domain":  "contoso.com",
        "Selector1CNAME":  "selector1-contoso-com01c._domainkey.contoso.n-v1.dkim.mail.microsoft",
        "Selector2CNAME":  "selector2-contoso-com01c._domainkey.contoso.n-v1.dkim.mail.microsoft"
    },
    {
        "Domain":  "contoso.onmicrosoft.com",
        "selector1cname":  "",
        "Selector2CNAME":  null
    }
]"#;
        let e = parse(text, "dkim.json").unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].domain.as_str(), "contoso.com");
        assert_eq!(
            e[0].selector1.as_deref(),
            Some("selector1-contoso-com01c._domainkey.contoso.n-v1.dkim.mail.microsoft")
        );
        assert_eq!(
            (e[1].selector1.as_ref(), e[1].selector2.as_ref()),
            (None, None)
        );
        // One domain: ConvertTo-Json writes a bare object; full objects carry more properties.
        let one = r#"{"Domain":"Fabrikam.COM","Selector1CNAME":"selector1-fabrikam-com._domainkey.contoso.onmicrosoft.com","Selector2CNAME":"selector2-fabrikam-com._domainkey.contoso.onmicrosoft.com","Enabled":true,"Identity":{"Name":"fabrikam.com"}}"#;
        let e = parse(one, "dkim.json").unwrap();
        assert_eq!(e[0].domain.as_str(), "fabrikam.com");
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            ("", "not JSON (line 1"),
            ("42", "expected the JSON array"),
            ("[]", "lists no domain"),
            ("[1]", "entry 1: not an object"),
            (r#"[{"Selector1CNAME":"x.y"}]"#, "entry 1: no Domain"),
            (
                r#"[{"Domain":"contoso.com","Selector1CNAME":"selector1._domainkey.contoso.com"}]"#,
                "is the name of the CNAME record, not its target",
            ),
            (
                r#"[{"Domain":"contoso.com","Selector2CNAME":5}]"#,
                "Selector2CNAME is not a string",
            ),
            (
                r#"[{"Domain":"contoso.com"},{"Domain":"CONTOSO.com"}]"#,
                "entry 2: contoso.com is listed twice",
            ),
            (r#"[{"Domain":"con toso.com"}]"#, "entry 1: `con toso.com`"),
            (
                r#"[{"Domain":"a\u001b[2J.com"}]"#,
                r"entry 1: `a\x1b[2j.com`",
            ),
        ];
        for (text, want) in cases {
            let err = parse(text, "dkim.json").unwrap_err();
            assert!(err.starts_with("dkim.json: "), "{err}");
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
