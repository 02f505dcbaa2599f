//! The documentation's relative links (issue 30): every link in README.md and docs/*.md that is
//! not a URL points at a file of the repository, and a `#fragment` at a heading of its target,
//! so a chapter moved or a heading renamed cannot leave a dead link.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The documents checked: the README and every chapter.
fn documents() -> Vec<PathBuf> {
    let mut docs = vec![root().join("README.md")];
    let mut chapters: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    chapters.sort();
    docs.extend(chapters);
    docs
}

/// The text outside fenced code blocks (a link-like string in a code sample is not a link).
fn prose(text: &str) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// GitHub's anchor of a heading: lower case, punctuation dropped (letters, digits, `-` and `_`
/// kept), spaces to hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(path: &Path) -> HashSet<String> {
    let text = std::fs::read_to_string(path).unwrap();
    prose(&text)
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|l| slug(l.trim_start_matches('#').replace('`', "").as_str()))
        .collect()
}

/// `[text](target)` targets in prose, with inline code spans removed first.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in prose(text).lines() {
        // Drop `code spans`: `[a](b)` inside one is not a link.
        let mut plain = String::new();
        let mut in_code = false;
        for c in line.chars() {
            if c == '`' {
                in_code = !in_code;
            } else if !in_code {
                plain.push(c);
            }
        }
        let mut rest = plain.as_str();
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(end) = after.find(')') else { break };
            out.push(after[..end].trim().to_owned());
            rest = &after[end..];
        }
    }
    out
}

#[test]
fn every_relative_link_in_the_readme_and_docs_resolves() {
    let mut dead = Vec::new();
    let mut checked = 0;
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        let dir = doc.parent().unwrap();
        for link in links(&text) {
            if link.starts_with("http://")
                || link.starts_with("https://")
                || link.starts_with("mailto:")
            {
                continue;
            }
            checked += 1;
            let (file, fragment) = match link.split_once('#') {
                Some((f, a)) => (f, Some(a)),
                None => (link.as_str(), None),
            };
            let target = if file.is_empty() {
                doc.clone()
            } else {
                dir.join(file)
            };
            let name = doc.strip_prefix(root()).unwrap().display().to_string();
            if !target.exists() {
                dead.push(format!("{name}: {link} (no such file)"));
                continue;
            }
            if let Some(a) = fragment
                && target.extension().is_some_and(|e| e == "md")
                && !anchors(&target).contains(a)
            {
                dead.push(format!("{name}: {link} (no such heading)"));
            }
        }
    }
    assert!(
        checked > 20,
        "only {checked} links found: is the parser right?"
    );
    assert!(dead.is_empty(), "dead links:\n{}", dead.join("\n"));
}

#[test]
fn the_readme_is_a_front_door() {
    let text = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() <= 200, "README has {} lines", lines.len());
    // The two commands on the first screen (40 lines).
    let first = lines[..lines.len().min(40)].join("\n");
    assert!(
        first.contains("cargo run --release --example lab"),
        "{first}"
    );
    assert!(first.contains("cargo test"), "{first}");
}

#[test]
fn the_slug_is_githubs() {
    assert_eq!(
        slug("The on-premises directory (before sync)"),
        "the-on-premises-directory-before-sync"
    );
    assert_eq!(slug("Scale (bench_scale)"), "scale-bench_scale");
    assert_eq!(slug("tenant.toml"), "tenanttoml");
}

/// The README's check list names every check of the catalogue (one line per check, so a new
/// check cannot be missing from the front door), and no check that does not exist.
#[test]
fn the_readme_lists_every_check() {
    let text = std::fs::read_to_string(root().join("README.md")).unwrap();
    let catalog = tenant_ready::catalog::Catalog::embedded().unwrap();
    let ids: HashSet<&str> = catalog.checks.iter().map(|c| c.id.as_str()).collect();
    for id in &ids {
        assert!(text.contains(&format!("`{id}`")), "README lacks `{id}`");
    }
    let section = &text[text.find("## Checks").unwrap()..text.find("## Documentation").unwrap()];
    for line in section.lines().filter(|l| l.starts_with("- `")) {
        let named = line
            .split(':')
            .next()
            .unwrap()
            .split(',')
            .map(|s| s.trim().trim_start_matches("- ").trim_matches('`'));
        for id in named {
            assert!(
                ids.contains(id),
                "README names `{id}`, which is not a check"
            );
        }
    }
}
