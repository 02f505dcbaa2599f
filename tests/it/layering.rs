//! The crate's layering (`src/lib.rs`): the import graph between the top-level modules of `src/`
//! has no cycles. A module is `src/x.rs` or `src/x/`; an edge `a → b` is any `crate::b` path in
//! `a`'s code (comments, strings and unit tests aside). Parent/child edges inside one module tree
//! (`super::`) are the module's own business and not counted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Code without comments, string literals and the unit-test module.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                // Skip to the closing quote (escapes included); `'"'` char literals are rare
                // enough in this crate that a stray one only hides a line, never invents an edge.
                let mut escaped = false;
                for c in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        break;
                    }
                }
                out.push_str("\"\"");
            }
            _ => out.push(c),
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `module → {module it uses → a file where it does}`.
fn graph(src: &Path) -> BTreeMap<String, BTreeMap<String, PathBuf>> {
    let mut mods: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for e in std::fs::read_dir(src).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        if p.is_dir() {
            let mut files = Vec::new();
            rust_files(&p, &mut files);
            mods.insert(name, files);
        } else if name != "lib" && name != "main" {
            mods.insert(name, vec![p]);
        }
    }
    let names: BTreeSet<String> = mods.keys().cloned().collect();
    let mut edges = BTreeMap::new();
    for (m, files) in &mods {
        let mut to: BTreeMap<String, PathBuf> = BTreeMap::new();
        for f in files {
            let code = code_of(&std::fs::read_to_string(f).unwrap());
            let mut uses: Vec<&str> = code
                .split("crate::")
                .skip(1)
                .map(|rest| {
                    rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .next()
                        .unwrap_or("")
                })
                .collect();
            // `use crate::{a, b::c}` names several modules at once.
            for group in code.split("crate::{").skip(1) {
                let group = group.split('}').next().unwrap_or("");
                uses.extend(group.split(',').filter_map(|item| {
                    item.trim()
                        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .next()
                }));
            }
            for u in uses {
                if u != m && names.contains(u) {
                    to.entry(u.to_owned()).or_insert_with(|| f.clone());
                }
            }
        }
        edges.insert(m.clone(), to);
    }
    edges
}

/// A cycle through `start`, if there is one (depth-first search for a path back to it).
fn cycle_from(
    start: &str,
    edges: &BTreeMap<String, BTreeMap<String, PathBuf>>,
) -> Option<Vec<String>> {
    fn walk(
        at: &str,
        start: &str,
        edges: &BTreeMap<String, BTreeMap<String, PathBuf>>,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in edges[at].keys() {
            if next == start {
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(next, start, edges, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_owned()];
    walk(start, start, edges, &mut path, &mut BTreeSet::new()).then_some(path)
}

#[test]
fn the_module_graph_of_src_has_no_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = graph(&src);
    assert!(edges.len() > 30, "{} modules", edges.len());
    // The analysis sees the layering it is meant to guard.
    assert!(edges["report"].contains_key("outcome") && edges["app"].contains_key("report"));
    assert!(edges["probe"].contains_key("tls"));
    for m in edges.keys() {
        if let Some(cycle) = cycle_from(m, &edges) {
            let steps: Vec<String> = cycle
                .iter()
                .zip(cycle.iter().cycle().skip(1))
                .map(|(a, b)| format!("{a} → {b} ({})", edges[a][b].display()))
                .collect();
            panic!("import cycle: {}", steps.join(", "));
        }
    }
}

#[test]
fn the_analysis_finds_a_cycle_when_there_is_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lib.rs"), "pub mod a; pub mod b;").unwrap();
    std::fs::write(dir.path().join("a.rs"), "use crate::b::X; // crate::c\n").unwrap();
    std::fs::create_dir(dir.path().join("b")).unwrap();
    std::fs::write(
        dir.path().join("b/mod.rs"),
        "pub struct X; const S: &str = \"crate::a\";\n",
    )
    .unwrap();
    let edges = graph(dir.path());
    assert_eq!(
        cycle_from("a", &edges),
        None,
        "comments and strings are not imports"
    );
    std::fs::write(dir.path().join("b/inner.rs"), "use crate::{a::Y};\n").unwrap();
    let edges = graph(dir.path());
    assert_eq!(
        cycle_from("a", &edges),
        Some(vec!["a".to_owned(), "b".to_owned()])
    );
}
