//! SPF record syntax (RFC 7208 §4.6, §5, §6): recognising an SPF record and parsing its terms.
//! Pure; the DNS walk that counts lookups lives in `probe::dns_spf`.

use crate::text::Text;
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

/// A mechanism (RFC 7208 §5). Domain specs are kept as written (they may contain macros, whose
/// letters' case matters: an upper-case letter asks for URL escaping).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mechanism {
    /// `all`.
    All,
    /// `include:<domain>`.
    Include(String),
    /// `a[:domain][/cidr]`.
    A(Option<String>, DualCidr),
    /// `mx[:domain][/cidr]`.
    Mx(Option<String>, DualCidr),
    /// `ptr[:domain]`.
    Ptr(Option<String>),
    /// `ip4:<addr>[/len]`: the network and its prefix length.
    Ip4(Ipv4Addr, u8),
    /// `ip6:<addr>[/len]`.
    Ip6(Ipv6Addr, u8),
    /// `exists:<domain>`.
    Exists(String),
}

/// The prefix lengths of an `a` or `mx` mechanism (`/24//64`): 32 and 128 when not given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DualCidr {
    /// IPv4 prefix length.
    pub v4: u8,
    /// IPv6 prefix length.
    pub v6: u8,
}

impl Default for DualCidr {
    fn default() -> Self {
        Self { v4: 32, v6: 128 }
    }
}

/// Whether `ip` lies in `net/len` (false across address families).
pub fn in_network(ip: std::net::IpAddr, net: std::net::IpAddr, len: u8) -> bool {
    match (ip, net) {
        (std::net::IpAddr::V4(a), std::net::IpAddr::V4(n)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(len.min(32)))
                .unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (std::net::IpAddr::V6(a), std::net::IpAddr::V6(n)) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(len.min(128)))
                .unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

impl Mechanism {
    /// Whether the mechanism costs a DNS lookup (RFC 7208 §4.6.4).
    pub fn counts(&self) -> bool {
        matches!(
            self,
            Self::Include(_) | Self::A(..) | Self::Mx(..) | Self::Ptr(_) | Self::Exists(_)
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

/// A `domain-spec` (RFC 7208 §7.1): a macro-string whose end is `"." toplabel ["."]` or a macro.
/// Checked as written, before any query: a receiver returns permerror for a malformed one.
pub fn check_domain_spec(spec: &str) -> Result<(), Text> {
    if spec.is_empty() {
        return Err(text!("spf-syntax.empty"));
    }
    let ends_with_macro = check_macro_string(spec, false)?;
    if ends_with_macro {
        return Ok(());
    }
    // domain-end = "." toplabel [ "." ]
    let body = spec.strip_suffix('.').unwrap_or(spec);
    let Some((rest, top)) = body.rsplit_once('.') else {
        return Err(text!("spf-syntax.no-dot"));
    };
    if rest.is_empty() {
        return Err(text!("spf-syntax.only-toplabel"));
    }
    if !toplabel_ok(top) {
        return Err(text!("spf-syntax.bad-toplabel", label = top));
    }
    Ok(())
}

/// `toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )`.
fn toplabel_ok(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && (b.iter().any(u8::is_ascii_alphabetic) || b.contains(&b'-'))
}

/// Checks a `macro-string` (§7.1); returns whether it ends with a macro expansion. `exp_text`
/// allows the letters only explanation text may use (`c`, `r`, `t`).
pub fn check_macro_string(text: &str, exp_text: bool) -> Result<bool, Text> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut ends_with_macro = false;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte == b'%' {
            match bytes.get(i + 1) {
                Some(b'%' | b'_' | b'-') => {
                    i += 2;
                    ends_with_macro = true;
                    continue;
                }
                Some(b'{') => {
                    let close = text[i..].find('}').ok_or_else(|| {
                        text!("spf-syntax.unterminated-macro", macro_text = &text[i..])
                    })?;
                    let inner = &text[i + 2..i + close];
                    let mut chars = inner.chars();
                    let letter = chars.next().map(|l| l.to_ascii_lowercase());
                    match letter {
                        Some('s' | 'l' | 'o' | 'd' | 'i' | 'p' | 'h' | 'v') => {}
                        Some('c' | 'r' | 't') if exp_text => {}
                        Some(l @ ('c' | 'r' | 't')) => {
                            return Err(text!(
                                "spf-syntax.exp-only-letter",
                                letter = l.to_string()
                            ));
                        }
                        _ => {
                            return Err(text!(
                                "spf-syntax.unknown-macro",
                                macro_text = format!("%{{{inner}}}")
                            ));
                        }
                    }
                    let rest = chars.as_str();
                    let digits =
                        rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                    let rest = &rest[digits..];
                    let rest = rest.strip_prefix(['r', 'R']).unwrap_or(rest);
                    if !rest.chars().all(|d| ".-+,/_=".contains(d)) {
                        return Err(text!(
                            "spf-syntax.invalid-macro",
                            macro_text = format!("%{{{inner}}}")
                        ));
                    }
                    i += close + 1;
                    ends_with_macro = true;
                    continue;
                }
                _ => {
                    return Err(text!(
                        "spf-syntax.bare-percent",
                        at = text.get(i..text.len().min(i + 4)).unwrap_or("%")
                    ));
                }
            }
        }
        // macro-literal: visible characters except `%`.
        if !(0x21..=0x7e).contains(&byte) {
            return Err(text!(
                "spf-syntax.bad-character",
                character = format!("{:?}", char::from(byte))
            ));
        }
        ends_with_macro = false;
        i += 1;
    }
    Ok(ends_with_macro)
}

/// A CIDR length: `"0"` or digits without a leading zero, at most `max`.
fn cidr_len(s: &str, max: u8) -> bool {
    !s.is_empty()
        && s.bytes().all(|c| c.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'))
        && s.parse::<u8>().is_ok_and(|n| n <= max)
}

/// Splits a trailing `dual-cidr-length` (`/24`, `//64`, `/24//64`) off an `a`/`mx` argument.
/// CIDRs are taken from the end: a domain-spec may itself contain `/` (`foo:bar/baz.example.com`).
fn split_dual_cidr(arg: &str) -> (&str, &str) {
    let digits_at_end = |s: &str| s.len() - s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let mut cut = arg.len();
    // "//" ip6
    let n = digits_at_end(&arg[..cut]);
    if n > 0 && arg[..cut - n].ends_with("//") {
        cut -= n + 2;
    } else if n > 0 && arg[..cut - n].ends_with('/') {
        // "/" ip4 only
        return (&arg[..cut - n - 1], &arg[cut - n - 1..]);
    }
    let n = digits_at_end(&arg[..cut]);
    if n > 0 && arg[..cut - n].ends_with('/') && !arg[..cut - n].ends_with("//") {
        cut -= n + 1;
    }
    (&arg[..cut], &arg[cut..])
}

fn check_dual_cidr(term: &str, cidr: &str) -> Result<DualCidr, Text> {
    let mut out = DualCidr::default();
    if cidr.is_empty() {
        return Ok(out);
    }
    let (v4, v6) = match cidr.split_once("//") {
        Some((a, b)) => (a, Some(b)),
        None => (cidr, None),
    };
    let v4_ok = v4.is_empty() || v4.strip_prefix('/').is_some_and(|l| cidr_len(l, 32));
    let v6_ok = v6.is_none_or(|l| cidr_len(l, 128));
    if !(v4_ok && v6_ok) {
        return Err(text!("spf-syntax.bad-prefix", term = term));
    }
    if let Some(l) = v4.strip_prefix('/').and_then(|l| l.parse().ok()) {
        out.v4 = l;
    }
    if let Some(l) = v6.and_then(|l| l.parse().ok()) {
        out.v6 = l;
    }
    Ok(out)
}

/// `mechanism[:domain-spec][cidr]` with the domain-spec required, optional or forbidden-with-cidr.
fn domain_arg(
    term: &str,
    name: &str,
    rest: &str,
    required: bool,
    cidr_allowed: bool,
) -> Result<(Option<String>, DualCidr), Text> {
    let (arg, cidr) = if cidr_allowed {
        split_dual_cidr(rest)
    } else {
        (rest, "")
    };
    let cidr = check_dual_cidr(term, cidr)?;
    let dom = match arg.strip_prefix(':') {
        Some(d) => Some(d),
        None if arg.is_empty() => None,
        None => return Err(text!("spf-syntax.unknown-mechanism", term = term)),
    };
    match dom {
        None if required => Err(text!("spf-syntax.needs-domain", name = name)),
        None => Ok((None, cidr)),
        Some(d) => {
            check_domain_spec(d)
                .map_err(|e| text!("spf-syntax.domain-of", term = term, problem = e))?;
            Ok((Some(d.to_owned()), cidr))
        }
    }
}

fn check_ip<T: std::str::FromStr>(term: &str, arg: &str, max_len: u8) -> Result<(T, u8), Text> {
    let (addr, len) = match arg.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (arg, None),
    };
    let Ok(addr) = addr.parse::<T>() else {
        return Err(text!("spf-syntax.bad-address", term = term));
    };
    match len {
        Some(l) if !cidr_len(l, max_len) => Err(text!("spf-syntax.bad-prefix", term = term)),
        Some(l) => Ok((addr, l.parse().unwrap_or(max_len))),
        None => Ok((addr, max_len)),
    }
}

/// Parses a record (which [`is_spf`] accepted) with the RFC 7208 §12 grammar. Errors are the
/// `permerror` reasons a receiver would have, for a person.
pub fn parse(txt: &str) -> Result<SpfRecord, Text> {
    if !txt.is_ascii() {
        return Err(text!("spf-syntax.non-ascii"));
    }
    let mut rec = SpfRecord::default();
    let mut exp_seen = false;
    // Terms are separated by spaces only (a tab or a CR is part of a term, and invalid there).
    for term in txt.split(' ').skip(1).filter(|t| !t.is_empty()) {
        // Modifier: name "=" macro-string, name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ).
        if let Some((name, value)) = term.split_once('=')
            && !name.contains([':', '/'])
        {
            let name_ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            if !name_ok {
                return Err(text!("spf-syntax.bad-modifier", term = term, name = name));
            }
            match name.to_ascii_lowercase().as_str() {
                "redirect" if rec.redirect.is_some() => {
                    return Err(text!("spf-syntax.two-redirects"));
                }
                "redirect" if value.is_empty() => {
                    return Err(text!("spf-syntax.redirect-needs-domain"));
                }
                "redirect" => {
                    check_domain_spec(value)
                        .map_err(|e| text!("spf-syntax.domain-of", term = term, problem = e))?;
                    rec.redirect = Some(value.to_owned());
                }
                "exp" if exp_seen => return Err(text!("spf-syntax.two-exps")),
                "exp" if value.is_empty() => return Err(text!("spf-syntax.exp-needs-domain")),
                "exp" => {
                    check_domain_spec(value)
                        .map_err(|e| text!("spf-syntax.domain-of", term = term, problem = e))?;
                    exp_seen = true;
                }
                // Unknown modifiers are ignored (§6), but must be syntactically valid.
                _ => {
                    check_macro_string(value, false)
                        .map_err(|e| text!("spf-syntax.value-of", term = term, problem = e))?;
                }
            }
            continue;
        }
        // The qualifier and the name compare case-insensitively; the rest (a domain-spec with
        // macros) is kept as written.
        let (qualifier, body) = match term.chars().next() {
            Some('+') => (Qualifier::Pass, &term[1..]),
            Some('-') => (Qualifier::Fail, &term[1..]),
            Some('~') => (Qualifier::Softfail, &term[1..]),
            Some('?') => (Qualifier::Neutral, &term[1..]),
            _ => (Qualifier::Pass, term),
        };
        let name_end = body.find([':', '/']).unwrap_or(body.len());
        let (name, rest) = body.split_at(name_end);
        let name = name.to_ascii_lowercase();
        let mechanism = match name.as_str() {
            "all" if rest.is_empty() => Mechanism::All,
            "include" => Mechanism::Include(
                domain_arg(term, &name, rest, true, false)?
                    .0
                    .unwrap_or_default(),
            ),
            "exists" => Mechanism::Exists(
                domain_arg(term, &name, rest, true, false)?
                    .0
                    .unwrap_or_default(),
            ),
            "a" => {
                let (d, c) = domain_arg(term, &name, rest, false, true)?;
                Mechanism::A(d, c)
            }
            "mx" => {
                let (d, c) = domain_arg(term, &name, rest, false, true)?;
                Mechanism::Mx(d, c)
            }
            "ptr" => Mechanism::Ptr(domain_arg(term, &name, rest, false, false)?.0),
            "ip4" => {
                let arg = rest
                    .strip_prefix(':')
                    .ok_or_else(|| text!("spf-syntax.needs-address", term = term))?;
                let (a, l) = check_ip::<Ipv4Addr>(term, arg, 32)?;
                Mechanism::Ip4(a, l)
            }
            "ip6" => {
                let arg = rest
                    .strip_prefix(':')
                    .ok_or_else(|| text!("spf-syntax.needs-address", term = term))?;
                let (a, l) = check_ip::<Ipv6Addr>(term, arg, 128)?;
                Mechanism::Ip6(a, l)
            }
            _ => return Err(text!("spf-syntax.unknown-mechanism", term = term)),
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
    fn networks() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert!(in_network(ip("40.93.255.255"), ip("40.92.0.0"), 15));
        assert!(!in_network(ip("40.94.0.0"), ip("40.92.0.0"), 15));
        assert!(in_network(ip("1.2.3.4"), ip("0.0.0.0"), 0));
        assert!(in_network(
            ip("2a01:111:f400::1"),
            ip("2a01:111:f400::"),
            48
        ));
        assert!(!in_network(
            ip("2a01:111:f401::1"),
            ip("2a01:111:f400::"),
            48
        ));
        assert!(!in_network(ip("::ffff:1.2.3.4"), ip("1.2.3.4"), 32));
        assert!(in_network(ip("::1"), ip("::"), 0));
    }

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
            Mechanism::Mx(
                Some("mail.contoso.com".into()),
                DualCidr { v4: 24, v6: 128 }
            )
        );
        assert_eq!(
            r.directives[1].mechanism,
            Mechanism::Ip4(Ipv4Addr::new(192, 0, 2, 0), 24)
        );
        assert_eq!(
            r.directives[2].mechanism,
            Mechanism::Ip6("2001:db8::".parse().unwrap(), 32)
        );
        let a = parse("v=spf1 a/24//64 ip4:192.0.2.1").unwrap();
        assert_eq!(
            a.directives[0].mechanism,
            Mechanism::A(None, DualCidr { v4: 24, v6: 64 })
        );
        assert_eq!(
            a.directives[1].mechanism,
            Mechanism::Ip4(Ipv4Addr::new(192, 0, 2, 1), 32)
        );
        // Macro letters keep their case (upper case asks for URL escaping).
        let m = parse("v=spf1 EXISTS:%{I}.x.example.com").unwrap();
        assert_eq!(
            m.directives[0].mechanism,
            Mechanism::Exists("%{I}.x.example.com".into())
        );
        assert_eq!(r.all(), Some(Qualifier::Softfail));
        assert_eq!(r.redirect.as_deref(), Some("_spf.contoso.com"));
        assert_eq!(parse("v=spf1 +all").unwrap().all(), Some(Qualifier::Pass));
        assert_eq!(parse("v=spf1 all").unwrap().all(), Some(Qualifier::Pass));
    }

    #[test]
    fn valid_records_of_the_suite() {
        for ok in [
            "v=spf1 a:foo:bar/baz.example.com",
            "v=spf1 a/24//64 mx//0 a:e.example.com/0",
            "v=spf1 a:macro%%percent%_%_space%-url-space.example.com -all",
            "v=spf1 -all exp=%{ir}.example.com",
            "v=spf1 redirect=%{d}.d.spf.example.com.",
            "v=spf1 exists:%{i}.%{l2r-}.user.%{d2}",
            "v=spf1 exists:%{l2r+-}.user.%{d2}",
            "v=spf1 a:%{H} -all",
            "v=spf1 -all exp=msg8.%{D2}",
            "v=spf1 default=pass",
            "v=spf1 -all exp=foobar.%{o}.%{o}.example.com",
            "v=spf1 ip6:::1/128 ip4:0.0.0.0/0",
        ] {
            assert!(parse(ok).is_ok(), "{ok}: {:?}", parse(ok));
        }
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
            // RFC 7208 §12 grammar, as the community suite exercises it.
            "v=spf1 a:foo-bar -all",
            "v=spf1 a:example.com:8080",
            "v=spf1 a:111.222.33.44",
            "v=spf1 a:abc.123",
            "v=spf1 a:example.-com",
            "v=spf1 a:museum",
            "v=spf1 a:museum.",
            "v=spf1 a/24/64 -all",
            "v=spf1 a:e.example.com/33",
            "v=spf1 mx//129",
            "v=spf1 ip4:1.2.3.4/032 -all",
            "v=spf1 include:e.example.com/24",
            "v=spf1 exists:e.example.com/24",
            "v=spf1 ptr:e.example.com/24",
            "v=spf1 redirect=-all ?all",
            "v=spf1 exp= -all",
            "v=spf1 exp=-all",
            "v=spf1 -all foo=%abc",
            "v=spf1 -all exp=%{r}.example.com",
            "v=spf1 -exists:%(ir).sbl.example.com ?all",
            "v=spf1 exists:foo%.sbl.example.com ?all",
            "v=spf1 a:%{a}.example.com -all",
            "v=spf1 a:ctrl.example.com\rptr -all",
            "v=spf1 a:\u{ef}\u{bb}\u{bf}garbage.example.net -all",
            "v=spf1 1up=foo",
            "v=spf1 =all",
        ] {
            assert!(parse(bad).is_err(), "{bad} should be a permerror");
        }
    }

    /// The reasons read as they always did in English, and in Korean too (a Korean report quotes
    /// them inside its SPF sentence).
    #[test]
    fn reasons_in_both_languages() {
        use crate::output::Lang;
        let why = |r: &str| parse(r).map(|_| ()).unwrap_err();
        let e = why("v=spf1 include -all");
        assert_eq!(
            e.render(Lang::En),
            "`include` needs a domain (`include:example.com`)"
        );
        assert!(e.render(Lang::Ko).contains("도메인이 필요합니다"));
        // Braces in a template that are not placeholders stay as written.
        let e = why("v=spf1 a:%x.example.com -all");
        assert_eq!(
            e.render(Lang::En),
            "the domain of `a:%x.example.com` has a `%` not followed by `{`, `%`, `_` or `-` (`%x.e`)"
        );
        assert!(
            e.render(Lang::Ko)
                .starts_with("`a:%x.example.com`의 도메인 문제: `{`, `%`")
        );
    }
}
