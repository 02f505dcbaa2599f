//! Laying text out in a terminal's columns: words in lines of a given width, by display width
//! (a Hangul syllable takes two columns, a combining mark none). A URL longer than a line is
//! kept whole (cut, it would not open when clicked) and may overflow; any other word longer than
//! a line (a DNS record, a host name) is cut at the width, so nothing else overflows.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// The display width of `s`, in columns.
pub fn cols(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

fn is_url(word: &str) -> bool {
    word.starts_with("https://") || word.starts_with("http://")
}

/// `text` as lines: the first at most `first` columns wide, the others at most `rest`.
/// Whitespace between words becomes one space; an empty text is one empty line.
pub fn wrap(text: &str, first: usize, rest: usize) -> Vec<String> {
    let (first, rest) = (first.max(1), rest.max(1));
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    let limit = |lines: &Vec<String>| if lines.is_empty() { first } else { rest };
    for word in text.split_whitespace() {
        let w = cols(word);
        let gap = usize::from(used > 0);
        if used + gap + w <= limit(&lines) {
            if gap == 1 {
                line.push(' ');
            }
            line.push_str(word);
            used += gap + w;
            continue;
        }
        if used > 0 {
            lines.push(std::mem::take(&mut line));
            used = 0;
        }
        if w <= limit(&lines) || is_url(word) {
            line.push_str(word);
            used = w;
            continue;
        }
        // A word wider than a line: cut it where the line ends.
        for c in word.chars() {
            let cw = c.width().unwrap_or(0);
            if used + cw > limit(&lines) && used > 0 {
                lines.push(std::mem::take(&mut line));
                used = 0;
            }
            line.push(c);
            used += cw;
        }
    }
    lines.push(line);
    lines
}

/// `text` wrapped to `width` with `lead` (already shown) taking the first line's start and
/// continuation lines indented by `indent` columns: the lines to print, the first without its
/// lead.
pub fn hanging(text: &str, lead: usize, indent: usize, width: usize) -> Vec<String> {
    let pad = " ".repeat(indent);
    wrap(
        text,
        width.saturating_sub(lead),
        width.saturating_sub(indent),
    )
    .into_iter()
    .enumerate()
    .map(|(i, l)| if i == 0 { l } else { format!("{pad}{l}") })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_fill_lines_and_long_ones_are_cut_but_urls_stay_whole() {
        assert_eq!(wrap("a bb ccc dddd", 6, 6), ["a bb", "ccc", "dddd"]);
        assert_eq!(wrap("", 5, 5), [""]);
        assert_eq!(wrap("abcdefghij", 4, 4), ["abcd", "efgh", "ij"]);
        assert_eq!(
            wrap("see https://learn.microsoft.com/x/y/z now", 10, 10),
            ["see", "https://learn.microsoft.com/x/y/z", "now"]
        );
        // The first line may be narrower than the rest.
        assert_eq!(wrap("aa bb cc dd", 2, 5), ["aa", "bb cc", "dd"]);
    }

    #[test]
    fn width_is_display_width() {
        // Six Hangul syllables are twelve columns.
        assert_eq!(cols("테넌트준비됨"), 12);
        assert_eq!(wrap("테넌트 준비됨", 8, 8), ["테넌트", "준비됨"]);
        for l in wrap("검사를계획할수없습니다", 5, 5) {
            assert!(cols(&l) <= 5, "{l}");
        }
    }

    #[test]
    fn hanging_indents_continuations() {
        assert_eq!(
            hanging("one two three four", 10, 4, 20),
            ["one two", "    three four"]
        );
    }
}
