//! The human report in a terminal (issue 30): wrapped to the terminal's width (`COLUMNS`), the
//! subject column sized to its content within a cap, continuation lines under their text, only a
//! URL allowed past the edge; to a pipe or a file, one result per line as before (grep finds it).

use assert_cmd::Command;
use unicode_width::UnicodeWidthStr;

use crate::support::demo_report;

fn render(columns: Option<&str>, lang: &str) -> String {
    let mut cmd = Command::cargo_bin("tenant-ready").unwrap();
    cmd.args(["report", "render", "--checklist", "--lang", lang])
        .arg(demo_report())
        .env_remove("COLUMNS");
    if let Some(c) = columns {
        cmd.env("COLUMNS", c);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn ends_in_url(line: &str) -> bool {
    line.split_whitespace()
        .last()
        .is_some_and(|w| w.starts_with("https://") || w.starts_with("http://"))
}

#[test]
fn the_report_fits_the_terminal_and_stays_one_line_per_result_in_a_pipe() {
    let piped = render(None, "en");
    let widest = piped.lines().map(UnicodeWidthStr::width).max().unwrap();
    assert!(widest > 120, "the demo has long lines to wrap ({widest})");
    for lang in ["en", "ko"] {
        for width in [80, 120] {
            let text = render(Some(&width.to_string()), lang);
            let wide: Vec<&str> = text
                .lines()
                .filter(|l| UnicodeWidthStr::width(*l) > width && !ends_in_url(l))
                .collect();
            assert!(wide.is_empty(), "{lang} at {width}:\n{}", wide.join("\n"));
            // Nothing is lost to the wrapping: the same characters, in the same order (a word
            // longer than a line is cut, so compare without the white space).
            let ink = |t: &str| t.chars().filter(|c| !c.is_whitespace()).collect::<String>();
            if lang == "en" {
                assert!(ink(&text) == ink(&piped), "at {width}: the text changed");
            }
        }
    }
    // Continuation lines of a finding start under it, never at the left edge.
    let text = render(Some("80"), "en");
    assert!(
        text.lines()
            .skip(1)
            .filter(|l| !l.is_empty())
            .all(|l| l.starts_with(' ')
                || l.starts_with(|c: char| c.is_uppercase())
                || l.starts_with("Summary")),
        "{text}"
    );
    // In a pipe, each result is one line: its status, check and subject together.
    assert!(
        piped.lines().any(|l| l.trim_start().starts_with("✘ fail")
            && l.contains("dns.mx")
            && l.contains("fabrikam.test")),
        "{piped}"
    );
}
