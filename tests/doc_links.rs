//! Every relative link in `README.md` and `docs/` resolves: the file (or
//! folder) it names exists, and a `#fragment` names a heading of that file.
//! Web links are left to the reader; links inside code are not links.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The documents: the README and every Markdown file under `docs/`.
fn documents() -> Vec<PathBuf> {
    let mut docs = vec![root().join("README.md")];
    let mut chapters: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("a docs/ folder")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    chapters.sort();
    docs.extend(chapters);
    docs
}

/// The text outside fenced code blocks and inline code spans.
fn prose(text: &str) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            out.push('\n');
            continue;
        }
        if fenced {
            out.push('\n');
            continue;
        }
        // Drop `code spans` (backticks pair up within a line).
        let mut in_code = false;
        for c in line.chars() {
            if c == '`' {
                in_code = !in_code;
            } else if !in_code {
                out.push(c);
            }
        }
        out.push('\n');
    }
    out
}

/// Link targets: `[text](target)`, `![alt](target)` and `[label]: target`.
fn targets(text: &str) -> Vec<String> {
    let prose = prose(text);
    let mut found = Vec::new();
    let mut rest = prose.as_str();
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        if let Some(end) = rest.find(')') {
            found.push(rest[..end].trim().to_string());
        }
    }
    for line in prose.lines() {
        let line = line.trim_start();
        if let (true, Some(colon)) = (line.starts_with('['), line.find("]: ")) {
            found.push(line[colon + 3..].trim().to_string());
        }
    }
    found
}

/// A heading's fragment as GitHub makes it: lower case, punctuation
/// dropped, spaces as hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> BTreeSet<String> {
    let mut fenced = false;
    let mut found = BTreeSet::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            found.insert(anchor(
                line.trim_start_matches('#').replace('`', "").as_str(),
            ));
        }
    }
    found
}

/// What is wrong with `target` as written in `doc`, if anything.
fn broken(doc: &Path, target: &str) -> Option<String> {
    if target.contains("://") || target.starts_with("mailto:") {
        return None;
    }
    let (path, fragment) = match target.split_once('#') {
        Some((path, fragment)) => (path, Some(fragment)),
        None => (target, None),
    };
    let file = if path.is_empty() {
        doc.to_path_buf()
    } else {
        doc.parent().unwrap().join(path)
    };
    if !file.exists() {
        return Some(format!("{target}: {} does not exist", file.display()));
    }
    let fragment = fragment?;
    let text = std::fs::read_to_string(&file).ok()?;
    (!anchors(&text).contains(fragment))
        .then(|| format!("{target}: no heading #{fragment} in {}", file.display()))
}

#[test]
fn every_relative_link_resolves() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        for target in targets(&text) {
            checked += 1;
            if let Some(problem) = broken(&doc, &target) {
                problems.push(format!("{}: {problem}", doc.display()));
            }
        }
    }
    assert!(
        checked > 20,
        "found only {checked} links: is the parser reading them?"
    );
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_checker_finds_a_broken_link_and_a_missing_heading() {
    let doc = root().join("README.md");
    assert!(broken(&doc, "docs/no-such-chapter.md").is_some());
    assert!(broken(&doc, "docs/how-sure.md#no-such-heading").is_some());
    assert!(broken(&doc, "docs/how-sure.md").is_none());
    assert!(broken(&doc, "https://example.com/x").is_none());
    assert_eq!(anchor("Choosing a format"), "choosing-a-format");
    assert_eq!(anchor("`just` recipes"), "just-recipes");
    assert_eq!(
        targets("see [a](b.md) `[c](d.md)` ![e](f.svg)\n[g]: h.md\n```\n[i](j.md)\n```"),
        ["b.md", "f.svg", "h.md"]
    );
}

#[test]
fn the_readme_is_a_front_door() {
    let text = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines = text.lines().count();
    assert!(
        lines <= 300,
        "README.md has {lines} lines; move chapters to docs/"
    );
}
