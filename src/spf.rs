//! SPF record syntax (RFC 7208 §4.6, §5, §6): recognising an SPF record and parsing its terms.
//! Pure; the DNS walk that counts lookups lives in `probe::dns_spf`.

use std::net::{Ipv4Addr, Ipv6Addr};

/// `+`, `-`, `~`, `?` (RFC 7208 §4.6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Qualifier {
    /// `+` (the default).
    Pass,
    /// `-`.
    Fail,
    /// `~`.
    Softfail,
    /// `?`.
    Neutral,
}

impl Qualifier {
    /// The qualifier character.
    pub fn symbol(self) -> char {
        match self {
            Self::Pass => '+',
            Self::Fail => '-',
            Self::Softfail => '~',
            Self::Neutral => '?',
        }
    }
}

/// A mechanism (RFC 7208 §5). Domain specs are kept as written (they may contain macros).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mechanism {
    /// `all`.
    All,
    /// `include:<domain>`.
    Include(String),
    /// `a[:domain][/cidr]`.
    A(Option<String>),
    /// `mx[:domain][/cidr]`.
    Mx(Option<String>),
    /// `ptr[:domain]`.
    Ptr(Option<String>),
    /// `ip4:<addr>[/len]`.
    Ip4,
    /// `ip6:<addr>[/len]`.
    Ip6,
    /// `exists:<domain>`.
    Exists(String),
}

impl Mechanism {
    /// Whether the mechanism costs a DNS lookup (RFC 7208 §4.6.4).
    pub fn counts(&self) -> bool {
        matches!(
            self,
            Self::Include(_) | Self::A(_) | Self::Mx(_) | Self::Ptr(_) | Self::Exists(_)
        )
    }
}

/// A qualifier and its mechanism.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    /// Qualifier.
    pub qualifier: Qualifier,
    /// Mechanism.
    pub mechanism: Mechanism,
    /// The term as written, for evidence.
    pub text: String,
}

/// A parsed record.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SpfRecord {
    /// Directives in order.
    pub directives: Vec<Directive>,
    /// `redirect=`.
    pub redirect: Option<String>,
}

impl SpfRecord {
    /// The qualifier of the `all` mechanism, if any.
    pub fn all(&self) -> Option<Qualifier> {
        self.directives
            .iter()
            .find(|d| d.mechanism == Mechanism::All)
            .map(|d| d.qualifier)
    }
}

/// Whether a TXT string is an SPF record: `v=spf1` then a space or the end (RFC 7208 §4.5).
pub fn is_spf(txt: &str) -> bool {
    let t = txt.as_bytes();
    t.len() >= 6 && t[..6].eq_ignore_ascii_case(b"v=spf1") && (t.len() == 6 || t[6] == b' ')
}

/// Whether a domain spec contains a macro (`%{…}`), which needs the sender's address to expand.
pub fn has_macro(spec: &str) -> bool {
    spec.contains('%')
}

fn domain_arg<'a>(name: &str, rest: &'a str, required: bool) -> Result<Option<&'a str>, String> {
    // rest is "", ":domain[/cidr]" or "/cidr"
    let (dom, _cidr) = match rest.strip_prefix(':') {
        Some(r) => match r.split_once('/') {
            Some((d, c)) => (Some(d), Some(c)),
            None => (Some(r), None),
        },
        None if rest.is_empty() || rest.starts_with('/') => (None, None),
        None => return Err(format!("unknown mechanism `{name}{rest}`")),
    };
    match dom {
        Some("") => Err(format!("`{name}:` needs a domain")),
        None if required => Err(format!("`{name}` needs a domain (`{name}:example.com`)")),
        d => Ok(d),
    }
}

fn check_ip<T: std::str::FromStr>(term: &str, arg: &str, max_len: u8) -> Result<(), String> {
    let (addr, len) = match arg.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (arg, None),
    };
    if addr.parse::<T>().is_err() {
        return Err(format!("`{term}` is not a valid address"));
    }
    if let Some(l) = len
        && !l.parse::<u8>().is_ok_and(|l| l <= max_len)
    {
        return Err(format!("`{term}` has an invalid prefix length"));
    }
    Ok(())
}

/// Parses a record (which [`is_spf`] accepted). Errors are RFC 7208 `permerror` reasons.
pub fn parse(txt: &str) -> Result<SpfRecord, String> {
    let mut rec = SpfRecord::default();
    let mut exp_seen = false;
    for term in txt.split(' ').skip(1).filter(|t| !t.is_empty()) {
        let lower = term.to_ascii_lowercase();
        // Modifier: name "=" value, where name starts with a letter (RFC 7208 §4.6.1).
        if let Some((name, value)) = lower.split_once('=')
            && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            match name {
                "redirect" if rec.redirect.is_some() => {
                    return Err("more than one redirect= modifier".into());
                }
                "redirect" if value.is_empty() => return Err("redirect= needs a domain".into()),
                "redirect" => rec.redirect = Some(value.to_owned()),
                "exp" if exp_seen => return Err("more than one exp= modifier".into()),
                "exp" => exp_seen = true,
                _ => {} // unknown modifiers are ignored (§6)
            }
            continue;
        }
        let (qualifier, body) = match lower.chars().next() {
            Some('+') => (Qualifier::Pass, &lower[1..]),
            Some('-') => (Qualifier::Fail, &lower[1..]),
            Some('~') => (Qualifier::Softfail, &lower[1..]),
            Some('?') => (Qualifier::Neutral, &lower[1..]),
            _ => (Qualifier::Pass, lower.as_str()),
        };
        let name_end = body.find([':', '/']).unwrap_or(body.len());
        let (name, rest) = body.split_at(name_end);
        let mechanism = match name {
            "all" if rest.is_empty() => Mechanism::All,
            "include" => {
                Mechanism::Include(domain_arg(name, rest, true)?.unwrap_or_default().to_owned())
            }
            "exists" => {
                Mechanism::Exists(domain_arg(name, rest, true)?.unwrap_or_default().to_owned())
            }
            "a" => Mechanism::A(domain_arg(name, rest, false)?.map(str::to_owned)),
            "mx" => Mechanism::Mx(domain_arg(name, rest, false)?.map(str::to_owned)),
            "ptr" => Mechanism::Ptr(domain_arg(name, rest, false)?.map(str::to_owned)),
            "ip4" => {
                let arg = rest
                    .strip_prefix(':')
                    .ok_or_else(|| format!("`{term}` needs an address"))?;
                check_ip::<Ipv4Addr>(term, arg, 32)?;
                Mechanism::Ip4
            }
            "ip6" => {
                let arg = rest
                    .strip_prefix(':')
                    .ok_or_else(|| format!("`{term}` needs an address"))?;
                check_ip::<Ipv6Addr>(term, arg, 128)?;
                Mechanism::Ip6
            }
            _ => return Err(format!("unknown mechanism `{term}`")),
        };
        rec.directives.push(Directive {
            qualifier,
            mechanism,
            text: term.to_owned(),
        });
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_spf_records() {
        assert!(is_spf("v=spf1 -all"));
        assert!(is_spf("V=SPF1"));
        assert!(!is_spf("v=spf10 -all"));
        assert!(!is_spf("v=DMARC1; p=none"));
        assert!(!is_spf("MS=ms12345678"));
    }

    #[test]
    fn parses_terms() {
        let r = parse("v=spf1 include:spf.protection.outlook.com ip4:192.0.2.0/24 ip6:2001:db8::/32 a mx:mail.contoso.com/24 ~all redirect=_spf.contoso.com exp=explain.contoso.com foo=bar").unwrap();
        assert_eq!(r.directives.len(), 6);
        assert_eq!(
            r.directives[0].mechanism,
            Mechanism::Include("spf.protection.outlook.com".into())
        );
        assert_eq!(
            r.directives[4].mechanism,
            Mechanism::Mx(Some("mail.contoso.com".into()))
        );
        assert_eq!(r.all(), Some(Qualifier::Softfail));
        assert_eq!(r.redirect.as_deref(), Some("_spf.contoso.com"));
        assert_eq!(parse("v=spf1 +all").unwrap().all(), Some(Qualifier::Pass));
        assert_eq!(parse("v=spf1 all").unwrap().all(), Some(Qualifier::Pass));
    }

    #[test]
    fn permerrors() {
        for bad in [
            "v=spf1 include:",
            "v=spf1 include",
            "v=spf1 exists",
            "v=spf1 ip4:300.1.1.1",
            "v=spf1 ip4:192.0.2.0/33",
            "v=spf1 ip6:nothex::",
            "v=spf1 foo:bar",
            "v=spf1 allx",
            "v=spf1 redirect=a.com redirect=b.com",
            "v=spf1 exp=a.com exp=b.com",
        ] {
            assert!(parse(bad).is_err(), "{bad} should be a permerror");
        }
    }
}
