//! The directory rules (`[[check.probe.rule]]` of the `directory-objects` checks): what IdFix and
//! Microsoft's "Prepare for directory synchronization" say an attribute value must be, as data,
//! and the pure test of one value against one rule. Duplicates are found by the reader
//! ([`super::read`]), which sees every object; everything else is decided here, value by value.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::level::Level;

/// The object classes the directory checks read (IdFix's scope: users, contacts, groups).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectClass {
    /// `user` (and `inetOrgPerson`), not computers.
    User,
    /// `contact`.
    Contact,
    /// `group`.
    Group,
}

impl ObjectClass {
    /// The name used in files, evidence and the CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Contact => "contact",
            Self::Group => "group",
        }
    }
}

/// What a rule tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Test {
    /// None of `chars` (and, with `whitespace`, no white space or control character).
    Characters,
    /// At most `max` characters.
    MaxLength,
    /// At most `max` characters before the `@`.
    LocalMaxLength,
    /// At most `max` characters after the `@`.
    DomainMaxLength,
    /// An RFC 5322 dot-atom address with a routable-looking domain (IdFix's "rfc2822" rule).
    SmtpFormat,
    /// No other object has the value (case-insensitively).
    Duplicate,
    /// Does not begin with a period.
    LeadingPeriod,
    /// The domain part is not a non-routable suffix (`suffixes`, or a single label), unless it is
    /// one of the tenant's domains.
    RoutableSuffix,
    /// The domain part is one of the tenant's domains (or a subdomain of one).
    TenantDomain,
}

/// Which values of the attribute a rule looks at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Values {
    /// Every value, whole.
    #[default]
    All,
    /// Only `smtp:` values (any case), tested without the prefix.
    Smtp,
    /// Only values that are not `smtp:` (X500, SIP, X400…), whole.
    NotSmtp,
}

/// When a rule applies to an object.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum When {
    /// Always.
    #[default]
    Always,
    /// Only when the object has no `userPrincipalName` (IdFix's sAMAccountName rules: without a
    /// UPN, sync builds one from it).
    NoUpn,
}

/// One rule, as the check file writes it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Stable id (`upn-characters`): evidence, counts and the CSV's `rule` column use it.
    pub id: String,
    /// The LDAP attribute.
    pub attribute: String,
    /// What is tested.
    pub test: Test,
    /// For the customer: what breaking it means (`invalid characters`).
    pub title: String,
    /// `title` in Korean.
    pub title_ko: String,
    /// Invalid characters (`characters`).
    #[serde(default)]
    pub chars: Option<String>,
    /// White space and control characters are invalid too (`characters`).
    #[serde(default)]
    pub whitespace: bool,
    /// The bound of a length test.
    #[serde(default)]
    pub max: Option<usize>,
    /// Non-routable suffixes (`routable-suffix`): `local`, `lan`, … (the last labels).
    #[serde(default)]
    pub suffixes: Vec<String>,
    /// Which values.
    #[serde(default)]
    pub values: Values,
    /// Object classes the rule covers (empty: all three).
    #[serde(default)]
    pub classes: Vec<ObjectClass>,
    /// When it applies.
    #[serde(default)]
    pub when: When,
    /// How strongly Microsoft asks for it (`required`: a fail; below: a warning quoting `why`).
    #[serde(default)]
    pub level: Level,
    /// Why, below `required`.
    #[serde(default)]
    pub why: Option<String>,
    /// `why` in Korean.
    #[serde(default)]
    pub why_ko: Option<String>,
    /// Where Microsoft says so.
    pub source: String,
}

/// A rule's definition problem, for the catalogue's validation.
pub fn validate(rule: &RuleSpec) -> Result<(), String> {
    let need_max = matches!(
        rule.test,
        Test::MaxLength | Test::LocalMaxLength | Test::DomainMaxLength
    );
    if need_max && rule.max.is_none() {
        return Err(format!("rule `{}`: a length test needs `max`", rule.id));
    }
    if rule.test == Test::Characters && rule.chars.is_none() && !rule.whitespace {
        return Err(format!(
            "rule `{}`: a characters test needs `chars` or `whitespace = true`",
            rule.id
        ));
    }
    if rule.test == Test::RoutableSuffix && rule.suffixes.is_empty() {
        return Err(format!(
            "rule `{}`: a routable-suffix test needs `suffixes`",
            rule.id
        ));
    }
    if rule.level != Level::Required && rule.why.as_deref().is_none_or(str::is_empty) {
        return Err(format!(
            "rule `{}`: `why` is required below level = \"required\"",
            rule.id
        ));
    }
    if !rule.source.starts_with("https://") {
        return Err(format!(
            "rule `{}`: `source` must be an https:// URL",
            rule.id
        ));
    }
    if rule.id.is_empty()
        || !rule
            .id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(format!(
            "rule `{}`: ids are lower-case letters, digits and '-'",
            rule.id
        ));
    }
    Ok(())
}

/// What a value is judged against beyond the rule: the tenant's domains (lower case).
#[derive(Clone, Debug, Default)]
pub struct Tenant {
    /// tenant.toml's domains (and Graph's verified ones with `--graph`).
    pub domains: Vec<String>,
}

impl Tenant {
    /// Whether `domain` is one of the tenant's domains or a subdomain of one (Microsoft 365
    /// verifies a subdomain of a verified domain without a new TXT record).
    pub fn has(&self, domain: &str) -> bool {
        let d = domain.to_ascii_lowercase();
        self.domains
            .iter()
            .any(|t| d == *t || d.strip_suffix(t.as_str()).is_some_and(|p| p.ends_with('.')))
    }
}

/// The value a rule tests: the address of an `smtp:` value, or the whole value; `None` when the
/// rule does not look at this value.
pub fn tested_part(rule: &RuleSpec, value: &str) -> Option<String> {
    let smtp = value
        .get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case("smtp:"));
    match rule.values {
        Values::All => Some(value.to_owned()),
        Values::Smtp if smtp => Some(value[5..].to_owned()),
        Values::NotSmtp if !smtp => Some(value.to_owned()),
        Values::Smtp | Values::NotSmtp => None,
    }
}

fn domain_part(v: &str) -> Option<&str> {
    v.rsplit_once('@').map(|(_, d)| d)
}

fn local_part(v: &str) -> &str {
    v.rsplit_once('@').map_or(v, |(l, _)| l)
}

/// RFC 5322 `dot-atom` local part and a host name with a final alphabetic label, as IdFix's
/// `rfc2822` expression (which also takes `xn--` top-level labels, unlike IdFix's `[a-z]{2,17}`:
/// internationalized top-level domains are real).
pub fn smtp_address_ok(v: &str) -> bool {
    let Some((local, domain)) = v.rsplit_once('@') else {
        return false;
    };
    let atom_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
    let local_ok = !local.is_empty()
        && local
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(atom_char));
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let tld_ok = labels.last().is_some_and(|t| {
        (t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic()))
            || (t.starts_with("xn--") && t.len() > 4)
    });
    local_ok && labels.len() >= 2 && labels.iter().all(label_ok) && tld_ok
}

/// Whether `value` breaks `rule` (not for [`Test::Duplicate`], which needs every object).
pub fn breaks(rule: &RuleSpec, value: &str, tenant: &Tenant) -> bool {
    let len = |s: &str| s.chars().count();
    match rule.test {
        Test::Characters => value.chars().any(|c| {
            (rule.whitespace && (c.is_whitespace() || c.is_control()))
                || rule.chars.as_deref().is_some_and(|set| set.contains(c))
        }),
        Test::MaxLength => len(value) > rule.max.unwrap_or(usize::MAX),
        Test::LocalMaxLength => len(local_part(value)) > rule.max.unwrap_or(usize::MAX),
        Test::DomainMaxLength => {
            domain_part(value).is_some_and(|d| len(d) > rule.max.unwrap_or(usize::MAX))
        }
        Test::SmtpFormat => !smtp_address_ok(value),
        Test::Duplicate => false,
        Test::LeadingPeriod => value.starts_with('.'),
        Test::RoutableSuffix => domain_part(value).is_some_and(|d| {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            if tenant.has(&d) {
                return false;
            }
            let last = d.rsplit('.').next().unwrap_or("");
            !d.contains('.')
                || rule
                    .suffixes
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(last) || d.ends_with(&format!(".{s}")))
        }),
        Test::TenantDomain => domain_part(value)
            .is_some_and(|d| !tenant.domains.is_empty() && !tenant.has(d.trim_end_matches('.'))),
    }
}

/// The value IdFix's UPDATE column would suggest (empty: none; the administrator decides).
pub fn suggest(rule: &RuleSpec, value: &str, tenant: &Tenant) -> String {
    match rule.test {
        Test::Characters => value
            .chars()
            .filter(|&c| {
                !((rule.whitespace && (c.is_whitespace() || c.is_control()))
                    || rule.chars.as_deref().is_some_and(|set| set.contains(c)))
            })
            .collect(),
        Test::MaxLength => value.chars().take(rule.max.unwrap_or(0)).collect(),
        Test::LocalMaxLength => match value.rsplit_once('@') {
            Some((l, d)) => format!(
                "{}@{d}",
                l.chars().take(rule.max.unwrap_or(0)).collect::<String>()
            ),
            None => String::new(),
        },
        Test::LeadingPeriod => value.trim_start_matches('.').to_owned(),
        Test::RoutableSuffix | Test::TenantDomain => match tenant.domains.first() {
            Some(d) => format!("{}@{d}", local_part(value)),
            None => String::new(),
        },
        Test::DomainMaxLength | Test::SmtpFormat | Test::Duplicate => String::new(),
    }
}

/// The key two values share when they are duplicates: lower case (AD compares these attributes
/// case-insensitively; `SMTP:` and `smtp:` are one address).
pub fn duplicate_key(value: &str) -> String {
    value.to_lowercase()
}

/// A rule with what the reader needs to apply it.
#[derive(Clone, Debug)]
pub struct Rule {
    /// The definition.
    pub spec: Arc<RuleSpec>,
}

impl Rule {
    /// Whether the rule covers an object of `class` (with or without a UPN).
    pub fn covers(&self, class: ObjectClass, has_upn: bool) -> bool {
        (self.spec.classes.is_empty() || self.spec.classes.contains(&class))
            && match self.spec.when {
                When::Always => true,
                When::NoUpn => !has_upn,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(test: Test) -> RuleSpec {
        RuleSpec {
            id: "r".into(),
            attribute: "userPrincipalName".into(),
            test,
            title: "t".into(),
            title_ko: "t".into(),
            chars: None,
            whitespace: false,
            max: None,
            suffixes: vec!["local".into(), "lan".into()],
            values: Values::All,
            classes: vec![],
            when: When::Always,
            level: Level::Required,
            why: None,
            why_ko: None,
            source: "https://example.invalid".into(),
        }
    }

    #[test]
    fn characters_lengths_and_periods() {
        let tenant = Tenant::default();
        let mut r = rule(Test::Characters);
        r.chars = Some("%&\"".into());
        r.whitespace = true;
        assert!(breaks(&r, "a b@x.com", &tenant));
        assert!(breaks(&r, "a\u{7}b@x.com", &tenant));
        assert!(breaks(&r, "a%b@x.com", &tenant));
        assert!(!breaks(&r, "ab@x.com", &tenant));
        assert_eq!(suggest(&r, "a %b@x.com", &tenant), "ab@x.com");
        let mut r = rule(Test::LocalMaxLength);
        r.max = Some(64);
        assert!(!breaks(&r, &format!("{}@x.com", "a".repeat(64)), &tenant));
        assert!(breaks(&r, &format!("{}@x.com", "a".repeat(65)), &tenant));
        let mut r = rule(Test::DomainMaxLength);
        r.max = Some(48);
        assert!(breaks(&r, &format!("a@{}.com", "b".repeat(45)), &tenant));
        assert!(!breaks(&r, &format!("a@{}.com", "b".repeat(44)), &tenant));
        let r = rule(Test::LeadingPeriod);
        assert!(breaks(&r, ".ann", &tenant) && !breaks(&r, "an.n", &tenant));
        assert_eq!(suggest(&r, "..ann", &tenant), "ann");
    }

    #[test]
    fn addresses_and_suffixes() {
        for ok in [
            "ann@contoso.com",
            "a.b+c@mail.contoso.co.uk",
            "x@d.xn--p1ai",
        ] {
            assert!(smtp_address_ok(ok), "{ok}");
        }
        for bad in [
            "ann",
            "ann@",
            "@contoso.com",
            "a..b@contoso.com",
            "ann@contoso",
            "ann@-x.com",
            "ann@x.c0m",
            "a(b)@x.com",
        ] {
            assert!(!smtp_address_ok(bad), "{bad}");
        }
        let tenant = Tenant {
            domains: vec!["contoso.com".into(), "corp.local".into()],
        };
        let r = rule(Test::RoutableSuffix);
        assert!(breaks(&r, "ann@contoso.local", &tenant));
        assert!(breaks(&r, "ann@contoso", &tenant));
        assert!(!breaks(&r, "ann@contoso.com", &tenant));
        // The tenant said this is its domain: its DNS checks judge it, not this rule.
        assert!(!breaks(&r, "ann@corp.local", &tenant));
        assert_eq!(suggest(&r, "ann@x.local", &tenant), "ann@contoso.com");
        let r = rule(Test::TenantDomain);
        assert!(!breaks(&r, "ann@sales.contoso.com", &tenant));
        assert!(breaks(&r, "ann@fabrikam.com", &tenant));
        assert!(!breaks(&r, "ann@fabrikam.com", &Tenant::default()));
    }

    #[test]
    fn smtp_values_are_tested_without_their_prefix() {
        let mut r = rule(Test::SmtpFormat);
        r.values = Values::Smtp;
        assert_eq!(tested_part(&r, "SMTP:a@b.com").as_deref(), Some("a@b.com"));
        assert_eq!(tested_part(&r, "X500:/o=x"), None);
        r.values = Values::NotSmtp;
        assert_eq!(tested_part(&r, "smtp:a@b.com"), None);
        assert_eq!(
            duplicate_key("SMTP:Ann@X.com"),
            duplicate_key("smtp:ann@x.com")
        );
    }
}
