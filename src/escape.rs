//! Escaping for output sinks. Text read from outside (DNS answers, certificates, SMTP banners,
//! endpoint lists, tenant.toml, saved reports) may carry terminal control sequences; before it
//! reaches a terminal, Markdown or JUnit sink it goes through [`terminal`], the one function that
//! shows every C0/C1 control character, DEL, bidirectional override and XML non-character visibly
//! (`\x1b`, `\u{fffe}`) instead of letting it act. Tabs and newlines are shown too: a value is one
//! line of a report. [`markdown`] adds what a Markdown renderer would otherwise interpret (links,
//! images, HTML, table pipes, code spans). JSON needs neither: serde escapes controls itself, and
//! the raw value stays there for machines.

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

/// [`terminal`] for a message of several lines (an error naming a place in a file): newlines
/// stay, everything else is shown as [`terminal`] shows it.
pub fn terminal_lines(s: &str) -> String {
    s.split('\n').map(terminal).collect::<Vec<_>>().join("\n")
}

/// C0, DEL, C1, the Unicode bidirectional overrides and isolates (which can make a terminal
/// show text in another order than it is), and U+FFFE/U+FFFF (not allowed in XML: a JUnit file
/// carrying them is rejected by CI servers).
fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FFFE}' | '\u{FFFF}'
        )
}

/// `s` for a Markdown table cell or line: controls shown as [`terminal`] does, HTML escaped
/// (`<`, `>`, `&`, `"`), and every character that could start a link, an image, emphasis, a code
/// span or a new cell backslash-escaped, so text from a DNS record or a saved report is shown as
/// written and never becomes a link or markup.
pub fn markdown(s: &str) -> String {
    let visible = terminal(s);
    let mut out = String::with_capacity(visible.len() + 8);
    for c in visible.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '!' | '|' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
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
        assert_eq!(terminal("a\u{fffe}\u{ffff}"), "a\\u{fffe}\\u{ffff}");
    }

    #[test]
    fn markdown_shows_links_and_html_as_text() {
        assert_eq!(
            markdown("[READY](https://evil/) ![x](https://evil/p.png) <img src=x> a|b `c`"),
            "\\[READY\\]\\(https://evil/\\) \\!\\[x\\]\\(https://evil/p.png\\) &lt;img src=x&gt; a\\|b \\`c\\`"
        );
        // The visible escape's backslash is itself escaped, so Markdown shows `\x1b`.
        assert_eq!(markdown("x\u{1b}[2J\n"), "x\\\\x1b\\[2J\\\\x0a");
        assert_eq!(
            markdown("spf.protection.outlook.com"),
            "spf.protection.outlook.com"
        );
    }
}
