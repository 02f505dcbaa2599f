//! Patterns and templates used by the check definitions.
//!
//! * **Templates** (`autodiscover.{domain}`, `{cloud.mx}`) are expanded per domain from a
//!   [`Vars`] table. A variable may hold several values (`{cloud.mx}` is a list): the template then
//!   expands to one string per value. An unknown variable is a load-time error, never a silent
//!   empty string.
//! * **Name patterns** match DNS names label by label: `*` matches any run of characters inside
//!   one label (`*-v1` matches `n-v1`), `**` matches one or more whole labels. Names compare
//!   case-insensitively and without the trailing dot, as DNS does.
//! * **Text patterns** match record text (TXT values, `MX`/`SRV` presentation): `*` matches any run
//!   of characters, everything else is literal and case-sensitive.

use std::collections::BTreeMap;

/// Variable values for template expansion.
#[derive(Clone, Debug, Default)]
pub struct Vars {
    values: BTreeMap<String, Vec<String>>,
}

/// A template named a variable that does not exist, or one with no value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{problem} `{{{name}}}` in `{template}`")]
pub struct TemplateError {
    /// `unknown variable` or `no value for the variable`.
    pub problem: &'static str,
    /// The variable name.
    pub name: String,
    /// The whole template.
    pub template: String,
}

impl Vars {
    /// Sets a single-valued variable.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.values.insert(name.into(), vec![value.into()]);
    }

    /// Sets a list-valued variable.
    pub fn set_list(&mut self, name: impl Into<String>, values: Vec<String>) {
        self.values.insert(name.into(), values);
    }

    /// Whether the variable exists.
    pub fn contains(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// A variable's values: at least one (an empty list, as a `--checks` clouds.toml can have,
    /// would make a template expand to nothing).
    fn get(&self, name: &str, template: &str) -> Result<&[String], TemplateError> {
        let err = |problem| TemplateError {
            problem,
            name: name.to_owned(),
            template: template.to_owned(),
        };
        match self.values.get(name) {
            None => Err(err("unknown variable")),
            Some(v) if v.is_empty() => Err(err("no value for the variable")),
            Some(v) => Ok(v),
        }
    }

    /// Expands every `{name}` in `template`; list variables multiply the result.
    pub fn expand(&self, template: &str) -> Result<Vec<String>, TemplateError> {
        let Some(start) = template.find('{') else {
            return Ok(vec![template.to_owned()]);
        };
        let Some(len) = template[start..].find('}') else {
            // A lone `{` is literal text (TXT values may contain braces).
            return Ok(vec![template.to_owned()]);
        };
        let name = &template[start + 1..start + len];
        let values = self.get(name, template)?;
        let (head, tail) = (&template[..start], &template[start + len + 1..]);
        let rest = self.expand(tail).map_err(|e| TemplateError {
            template: template.to_owned(),
            ..e
        })?;
        let mut out = Vec::with_capacity(values.len() * rest.len());
        for v in values {
            for r in &rest {
                out.push(format!("{head}{v}{r}"));
            }
        }
        Ok(out)
    }

    /// Expands a template written as prose (remediation, `why`): a list variable becomes its
    /// values joined with " or ", so a sentence is not repeated once per value.
    pub fn expand_text(&self, template: &str) -> Result<String, TemplateError> {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            let Some(len) = rest[start..].find('}') else {
                break; // a lone `{` is literal text
            };
            let name = &rest[start + 1..start + len];
            let values = self.get(name, template)?;
            out.push_str(&rest[..start]);
            out.push_str(&values.join(" or "));
            rest = &rest[start + len + 1..];
        }
        out.push_str(rest);
        // Remediation texts are kept per task until the run ends: no growth slack per copy.
        out.shrink_to_fit();
        Ok(out)
    }

    /// Expands a template that must give exactly one value (record names).
    pub fn expand_one(&self, template: &str) -> Result<String, TemplateError> {
        let mut all = self.expand(template)?;
        // A list variable in a name is a definition error; the first value keeps the check
        // running and catalogue validation reports it.
        Ok(all.swap_remove(0))
    }
}

/// Lower-case, without the trailing dot: the form every name is compared in.
pub fn normalize_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Whether `name` matches the name pattern (see the module docs).
pub fn name_matches(pattern: &str, name: &str) -> bool {
    let pattern = normalize_name(pattern);
    let name = normalize_name(name);
    let p: Vec<&str> = pattern.split('.').collect();
    let n: Vec<&str> = name.split('.').collect();
    labels_match(&p, &n)
}

fn labels_match(p: &[&str], n: &[&str]) -> bool {
    match (p.first(), n.first()) {
        (None, None) => true,
        (Some(&"**"), _) => (1..=n.len()).any(|take| labels_match(&p[1..], &n[take..])),
        (None, Some(_)) | (Some(_), None) => false,
        (Some(pl), Some(nl)) => glob(pl, nl) && labels_match(&p[1..], &n[1..]),
    }
}

/// Whether `text` matches the text pattern (see the module docs).
pub fn text_matches(pattern: &str, text: &str) -> bool {
    glob(pattern, text)
}

/// `*` = any run of characters; iterative with backtracking to the last star, so a hostile pattern
/// or a 4 KB TXT record cannot blow up.
fn glob(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Reads a host glob a user writes in tenant.toml (`[[domain]] mx_gateway`) into a name pattern:
/// a leading `*.` stands for any host under the domain (`*.iphmx.com` matches
/// `mx1.hc1234-56.iphmx.com`, as a user reading it expects); elsewhere `*` matches within one
/// label. At least two literal labels must follow the wildcards, so a typo such as `*.com` cannot
/// declare half the internet a mail gateway.
pub fn host_glob(glob: &str) -> Result<String, String> {
    let g = normalize_name(glob.trim());
    if g.is_empty() {
        return Err("empty pattern".into());
    }
    let labels: Vec<&str> = g.split('.').collect();
    for l in &labels {
        if l.is_empty() {
            return Err(format!("`{glob}`: empty label"));
        }
        if l.len() > 63
            || !l
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'*' || b == b'_')
        {
            return Err(format!(
                "`{glob}`: `{l}` is not a host name label (letters, digits, `-`, `*`)"
            ));
        }
    }
    let literal_tail = labels.iter().rev().take_while(|l| !l.contains('*')).count();
    if literal_tail < 2 {
        return Err(format!(
            "`{glob}` matches too much: name the gateway's domain, e.g. *.mimecast.com"
        ));
    }
    Ok(match g.strip_prefix("*.") {
        Some(rest) => format!("**.{rest}"),
        None => g,
    })
}

/// Whether a check-id glob (`dns.*`, `*mx*`) matches an id.
pub fn id_matches(pattern: &str, id: &str) -> bool {
    glob(pattern, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_patterns() {
        let cases = [
            (
                "*.mail.protection.outlook.com",
                "contoso-com.mail.protection.outlook.com.",
                true,
            ),
            (
                "*.mail.protection.outlook.com",
                "mail.protection.outlook.com",
                false,
            ),
            (
                "*.mail.protection.outlook.com",
                "a.b.mail.protection.outlook.com",
                false,
            ),
            ("**.mx.microsoft", "contoso-com.j-v1.mx.microsoft", true),
            ("**.mx.microsoft", "mx.microsoft", false),
            (
                "AUTODISCOVER.outlook.com",
                "autodiscover.OUTLOOK.com.",
                true,
            ),
            (
                "x.*-v1.dkim.mail.microsoft",
                "x.n-v1.dkim.mail.microsoft",
                true,
            ),
            (
                "x.*-v1.dkim.mail.microsoft",
                "x.n-v2.dkim.mail.microsoft",
                false,
            ),
            ("x.*.onmicrosoft.com", "x.contoso.onmicrosoft.com", true),
            ("x.*.onmicrosoft.com", "x.onmicrosoft.com", false),
        ];
        for (p, n, want) in cases {
            assert_eq!(name_matches(p, n), want, "{p} vs {n}");
        }
    }

    #[test]
    fn host_globs_from_tenant_toml() {
        let g = host_glob("*.iphmx.com").unwrap();
        assert!(name_matches(&g, "mx1.hc1234-56.iphmx.com"));
        assert!(name_matches(&g, "esa1.iphmx.com"));
        assert!(!name_matches(&g, "iphmx.com"));
        assert!(!name_matches(&g, "iphmx.com.evil.example"));
        let g = host_glob("US-SMTP-inbound-*.mimecast.com.").unwrap();
        assert!(name_matches(&g, "us-smtp-inbound-1.mimecast.com"));
        assert!(!name_matches(&g, "eu-smtp-inbound-1.mimecast.com"));
        for bad in [
            "",
            "*",
            "*.com",
            "**",
            "a..b.com",
            "mail gateway.com",
            "*.*",
        ] {
            assert!(host_glob(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn text_patterns() {
        assert!(text_matches("MS=ms*", "MS=ms12345678"));
        assert!(!text_matches("MS=ms*", "ms=ms12345678"));
        assert!(text_matches("* ms*.msv1.invalid", "32767 ms1.msv1.invalid"));
        assert!(text_matches(
            "100 1 443 sipdir.online.lync.com",
            "100 1 443 sipdir.online.lync.com"
        ));
        assert!(!text_matches("100 1 443 x", "100 1 5061 x"));
        assert!(id_matches("dns.*", "dns.mx"));
        assert!(!id_matches("dns.*", "tls.certificate"));
        // Pathological input stays linear-ish and terminates.
        let long = "a".repeat(4096);
        assert!(!text_matches("*a*a*a*a*a*b", &long));
    }

    #[test]
    fn templates_expand_lists_and_reject_unknown_variables() {
        let mut v = Vars::default();
        v.set("domain", "contoso.com");
        v.set_list("cloud.mx", vec!["a".into(), "b".into()]);
        assert_eq!(v.expand("x.{domain}").unwrap(), ["x.contoso.com"]);
        assert_eq!(
            v.expand("{cloud.mx}.{domain}").unwrap(),
            ["a.contoso.com", "b.contoso.com"]
        );
        assert_eq!(
            v.expand_text("point {domain} at {cloud.mx} {").unwrap(),
            "point contoso.com at a or b {"
        );
        assert_eq!(v.expand_text("{nope}").unwrap_err().name, "nope");
        let e = v.expand("{nope}.x").unwrap_err();
        assert_eq!(e.name, "nope");
        assert_eq!(v.expand("v=spf1 {").unwrap(), ["v=spf1 {"]);
        // An empty list (a hand-written clouds.toml) is an error, not a panic or no names.
        v.set_list("cloud.empty", vec![]);
        for e in [
            v.expand_one("{cloud.empty}.x").unwrap_err(),
            v.expand_text("{cloud.empty}").unwrap_err(),
        ] {
            assert_eq!(e.problem, "no value for the variable");
        }
    }
}
