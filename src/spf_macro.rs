//! SPF macro expansion (RFC 7208 §7): turning a `domain-spec` such as `%{ir}.%{v}._spf.%{d2}`
//! into a name for one evaluation. Pure; the evaluation that needs it lives in `probe::spf_eval`.

use std::fmt::Write as _;
use std::net::IpAddr;

/// What the macros of one evaluation expand to.
#[derive(Clone, Debug)]
pub struct MacroCx<'a> {
    /// `s`: the sender (`local-part@domain`; `postmaster@` the domain when it had no local part).
    pub sender: &'a str,
    /// `d`: the domain whose record is being evaluated.
    pub domain: &'a str,
    /// `i` (and `v`): the client's address.
    pub ip: IpAddr,
    /// `h`: the HELO/EHLO name.
    pub helo: &'a str,
    /// `p`: the validated domain name of `ip` (`unknown` when there is none).
    pub validated: &'a str,
}

/// A macro the evaluation cannot expand: a `permerror` for the receiver.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MacroError(pub String);

/// The `i` value: dotted decimal for IPv4, dot-separated nibbles for IPv6 (§7.3).
pub fn ip_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let mut out = String::with_capacity(63);
            for b in v6.octets() {
                for nibble in [b >> 4, b & 0xf] {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    let _ = write!(out, "{nibble:x}");
                }
            }
            out
        }
    }
}

/// Letters whose value may contain characters a URL must escape are escaped when the macro
/// letter is upper case: everything but RFC 3986 "unreserved".
fn url_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The value of one macro letter.
fn letter_value(letter: char, cx: &MacroCx<'_>) -> Result<String, MacroError> {
    let local = || cx.sender.rsplit_once('@').map_or("postmaster", |(l, _)| l);
    Ok(match letter.to_ascii_lowercase() {
        's' => cx.sender.to_owned(),
        'l' => {
            let l = local();
            if l.is_empty() { "postmaster" } else { l }.to_owned()
        }
        'o' => cx
            .sender
            .rsplit_once('@')
            .map_or(cx.sender, |(_, d)| d)
            .to_owned(),
        'd' => cx.domain.to_owned(),
        'i' => ip_text(cx.ip),
        'p' => cx.validated.to_owned(),
        'v' => match cx.ip {
            IpAddr::V4(_) => "in-addr".to_owned(),
            IpAddr::V6(_) => "ip6".to_owned(),
        },
        'h' => cx.helo.to_owned(),
        other => return Err(MacroError(format!("unknown macro letter `{other}`"))),
    })
}

/// Expands a `domain-spec` (or any macro-string outside an explanation). A result longer than 253
/// characters loses labels from the left until it fits (§7.3).
pub fn expand(spec: &str, cx: &MacroCx<'_>) -> Result<String, MacroError> {
    let mut out = String::with_capacity(spec.len());
    let mut rest = spec;
    while let Some(pos) = rest.find('%') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        match after.chars().next() {
            Some('%') => {
                out.push('%');
                rest = &after[1..];
            }
            Some('_') => {
                out.push(' ');
                rest = &after[1..];
            }
            Some('-') => {
                out.push_str("%20");
                rest = &after[1..];
            }
            Some('{') => {
                let close = after
                    .find('}')
                    .ok_or_else(|| MacroError(format!("unterminated macro in `{spec}`")))?;
                out.push_str(&expand_one(&after[1..close], cx)?);
                rest = &after[close + 1..];
            }
            _ => return Err(MacroError(format!("a bare `%` in `{spec}`"))),
        }
    }
    out.push_str(rest);
    Ok(truncate_labels(&out))
}

/// One `%{…}`: letter, optional digits, optional `r`, delimiters.
fn expand_one(inner: &str, cx: &MacroCx<'_>) -> Result<String, MacroError> {
    let mut chars = inner.chars();
    let letter = chars
        .next()
        .ok_or_else(|| MacroError("empty macro `%{}`".into()))?;
    let value = letter_value(letter, cx)?;
    let rest = chars.as_str();
    let digits_len = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let keep: Option<usize> = if digits_len > 0 {
        let n: usize = rest[..digits_len]
            .parse()
            .map_err(|_| MacroError(format!("bad digit count in `%{{{inner}}}`")))?;
        if n == 0 {
            return Err(MacroError(format!(
                "`%{{{inner}}}` keeps zero parts (the count must be nonzero)"
            )));
        }
        Some(n)
    } else {
        None
    };
    let rest = &rest[digits_len..];
    let (reverse, delims) = match rest.strip_prefix(['r', 'R']) {
        Some(d) => (true, d),
        None => (false, rest),
    };
    if !delims.chars().all(|c| ".-+,/_=".contains(c)) {
        return Err(MacroError(format!("bad delimiter in `%{{{inner}}}`")));
    }
    let delims = if delims.is_empty() { "." } else { delims };
    let mut parts: Vec<&str> = value.split(|c| delims.contains(c)).collect();
    if reverse {
        parts.reverse();
    }
    if let Some(n) = keep
        && n < parts.len()
    {
        parts.drain(..parts.len() - n);
    }
    let joined = parts.join(".");
    Ok(if letter.is_ascii_uppercase() {
        url_escape(&joined)
    } else {
        joined
    })
}

/// Drops labels from the left until the name is at most 253 characters.
fn truncate_labels(name: &str) -> String {
    let mut n = name;
    while n.trim_end_matches('.').len() > 253 {
        match n.split_once('.') {
            Some((_, rest)) => n = rest,
            None => break,
        }
    }
    n.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7208 §7.4's examples: sender strong-bad@email.example.com, IP 192.0.2.3 (and
    /// 2001:db8::cb01 for the IPv6 ones).
    #[test]
    fn the_rfc_examples() {
        let cx = MacroCx {
            sender: "strong-bad@email.example.com",
            domain: "email.example.com",
            ip: "192.0.2.3".parse().unwrap(),
            helo: "mx.example.org",
            validated: "mx.example.org",
        };
        for (spec, want) in [
            ("%{s}", "strong-bad@email.example.com"),
            ("%{o}", "email.example.com"),
            ("%{d}", "email.example.com"),
            ("%{d4}", "email.example.com"),
            ("%{d3}", "email.example.com"),
            ("%{d2}", "example.com"),
            ("%{d1}", "com"),
            ("%{dr}", "com.example.email"),
            ("%{d2r}", "example.email"),
            ("%{l}", "strong-bad"),
            ("%{l-}", "strong.bad"),
            ("%{lr}", "strong-bad"),
            ("%{lr-}", "bad.strong"),
            ("%{l1r-}", "strong"),
            (
                "%{ir}.%{v}._spf.%{d2}",
                "3.2.0.192.in-addr._spf.example.com",
            ),
            ("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"),
            (
                "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
                "bad.strong.lp.3.2.0.192.in-addr._spf.example.com",
            ),
            (
                "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
                "3.2.0.192.in-addr.strong.lp._spf.example.com",
            ),
            (
                "%{d2}.trusted-domains.example.net",
                "example.com.trusted-domains.example.net",
            ),
            ("%%%_%-", "% %20"),
        ] {
            assert_eq!(expand(spec, &cx).unwrap(), want, "{spec}");
        }
        let v6 = MacroCx {
            ip: "2001:db8::cb01".parse().unwrap(),
            ..cx
        };
        assert_eq!(
            expand("%{ir}.%{v}._spf.%{d2}", &v6).unwrap(),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
        );
        // Upper case escapes; zero parts and unknown letters are errors.
        assert_eq!(
            expand("%{S}", &cx).unwrap(),
            "strong-bad%40email.example.com"
        );
        assert!(expand("%{d0}", &cx).is_err());
        assert!(expand("%{x}", &cx).is_err());
        assert!(expand("%{d", &cx).is_err());
        // Too long: labels drop from the left.
        let long = format!("{}.example.com", "a.".repeat(200));
        assert!(expand(&long, &cx).unwrap().len() <= 253);
    }
}
