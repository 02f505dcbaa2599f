//! `--report directory-csv=FILE`: every offending directory value, one row each, in the columns
//! an administrator knows from IdFix's export (DistinguishedName, ObjectClass, Attribute, Error,
//! Value, Update), plus the check that found it, so the fixing can start the same day.
//!
//! A spreadsheet is a sink like a terminal: every field is quoted (RFC 4180), a value that a
//! spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, carriage return first) is
//! prefixed with `'` (OWASP's CSV-injection advice), and control characters are written as
//! `\u{…}` so a value cannot break a row or hide text.

use std::fmt::Write as _;

use crate::directory::read::DirectoryRead;

/// The header row.
pub const HEADER: &str = "DistinguishedName,ObjectClass,Attribute,Error,Value,Update,Check\r\n";

/// One field, quoted and neutralised.
pub fn field(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        s.push('\'');
    }
    for c in v.chars() {
        match c {
            '"' => s.push_str("\"\""),
            c if c.is_control() => {
                let _ = write!(s, "\\u{{{:x}}}", u32::from(c));
            }
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// The whole file for a read (header only when nothing offends, or the directory was not read).
pub fn render(read: Option<&DirectoryRead>, checks: &[String]) -> Vec<u8> {
    let mut out = String::from(HEADER);
    if let Some(read) = read {
        for (g, group) in read.groups.iter().enumerate() {
            let check = checks.get(g).map_or("", String::as_str);
            for o in &group.offenders {
                let row = [
                    o.dn.as_str(),
                    o.class.as_str(),
                    o.attribute.as_str(),
                    o.rule.as_str(),
                    o.value.as_str(),
                    o.update.as_str(),
                    check,
                ]
                .map(field)
                .join(",");
                out.push_str(&row);
                out.push_str("\r\n");
            }
        }
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn fields_cannot_run_break_or_hide() {
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("+1"), "\"'+1\"");
        assert_eq!(field("-1"), "\"'-1\"");
        assert_eq!(field("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(field("a\r\nb\u{1b}[2J"), "\"a\\u{d}\\u{a}b\\u{1b}[2J\"");
        assert_eq!(field("ann@contoso.com"), "\"ann@contoso.com\"");
    }
}
