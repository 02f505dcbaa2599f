//! Escaping for output sinks. Text read from outside (DNS answers, certificates, endpoint lists,
//! saved reports) may carry terminal control sequences; before it reaches a terminal it goes
//! through [`terminal`], which shows every C0/C1 control character and DEL visibly (`\x1b`)
//! instead of letting it act. Tabs and newlines are shown too: a value is one line of a report.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `s` with every control character written as a visible `\xNN` / `\u{NNNN}` escape.
pub fn terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_control(c) {
            let n = u32::from(c);
            if n <= 0xFF {
                let _ = write!(out, "\\x{n:02x}");
            } else {
                let _ = write!(out, "\\u{{{n:04x}}}");
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// C0, DEL, C1, and the Unicode bidirectional overrides and isolates (which can make a terminal
/// show text in another order than it is).
fn is_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_shown_not_acted_on() {
        assert!(matches!(terminal("outlook.office.com"), Cow::Borrowed(_)));
        assert_eq!(
            terminal("v=spf1 \u{1b}[2J\u{7}\u{9b}x\u{7f}\u{202e}"),
            "v=spf1 \\x1b[2J\\x07\\x9bx\\x7f\\u{202e}"
        );
        assert_eq!(terminal("a\tb\nc"), "a\\x09b\\x0ac");
        assert_eq!(terminal("정상 값"), "정상 값");
    }
}
