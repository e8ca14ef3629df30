//! The crate's shape, checked: imports run one way between the layers
//! (`cli` → `report` → `measure` → `transport`, with the result model,
//! `record`, under `report` and `measure`, and `util` under all), no module
//! imports another that imports it back, directly or through a chain, every
//! module says first what it owns, and no file or function grows past what
//! a reader can hold.
//!
//! Imports are read from the source: every `use` and every path through
//! `crate::` or `super::` outside comments, resolved to the deepest module
//! that exists. A module's uses of its own submodules (its `mod` lines and
//! re-exports) are containment, not imports.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The longest a source file may be.
const MAX_FILE_LINES: usize = 700;
/// The longest a function may be.
const MAX_FUNCTION_LINES: usize = 100;

/// What each layer may import besides itself. A layer not listed for
/// another may not reach it.
const MAY_IMPORT: &[(&str, &[&str])] = &[
    ("cli", &["report", "record", "measure", "transport", "util"]),
    ("report", &["record", "measure", "transport", "util"]),
    ("record", &["util"]),
    ("measure", &["record", "transport", "util"]),
    ("transport", &["util"]),
    ("util", &[]),
];

struct Module {
    path: PathBuf,
    source: String,
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every library module by its path (`measure::engine::stream`); the crate
/// root is `""`. Executables are left out: they only call the library.
fn modules() -> BTreeMap<String, Module> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = src_dir();
    let mut files = Vec::new();
    walk(&root, &mut files);
    let mut modules = BTreeMap::new();
    for path in files {
        let relative = path.strip_prefix(&root).unwrap().with_extension("");
        let mut parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if parts[0] == "bin" || parts == ["main"] {
            continue;
        }
        if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
            parts.pop();
        }
        let source = std::fs::read_to_string(&path).unwrap();
        modules.insert(parts.join("::"), Module { path, source });
    }
    modules
}

/// The source without comments and string literals (a path in a doc link
/// or a message is not an import).
fn code_only(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut chars = source.chars().peekable();
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
            // A quote as a character is not a string.
            '\'' if chars.peek() == Some(&'"') => {
                chars.next();
                out.push_str("'\"");
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                    }
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

/// Expands `a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        return vec![tree.split(" as ").next().unwrap().trim().to_string()];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap()];
    let (mut depth, mut start, mut parts) = (0, 0, Vec::new());
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(|p| expand(p).into_iter().map(move |e| format!("{prefix}{e}")))
        .collect()
}

/// Resolves a path written in `module` to the deepest module it names.
fn resolve(module: &str, path: &str, modules: &BTreeMap<String, Module>) -> Option<String> {
    let mut segments: Vec<&str> = path.split("::").map(str::trim).collect();
    let mut base: Vec<&str> = if module.is_empty() {
        Vec::new()
    } else {
        module.split("::").collect()
    };
    match segments.first().copied() {
        Some("crate") => {
            base.clear();
            segments.remove(0);
        }
        Some("super") => {
            while segments.first() == Some(&"super") {
                base.pop();
                segments.remove(0);
            }
        }
        Some("self") => {
            segments.remove(0);
        }
        _ => return None,
    }
    let full: Vec<&str> = base.into_iter().chain(segments).collect();
    (0..=full.len())
        .rev()
        .map(|n| full[..n].join("::"))
        .find(|candidate| modules.contains_key(candidate))
}

/// Each module's imports of other modules (not its own submodules).
fn imports(modules: &BTreeMap<String, Module>) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph = BTreeMap::new();
    for (name, module) in modules {
        let code = code_only(&module.source);
        let mut paths = Vec::new();
        // `use` trees, which may span lines.
        let mut rest = code.as_str();
        while let Some(at) = rest.find("use ") {
            let before = rest[..at].chars().last();
            rest = &rest[at + 4..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let Some(end) = rest.find(';') else { break };
            paths.extend(expand(&rest[..end]));
        }
        // Inline paths: `crate::a::b::f(..)`, `super::x::Y`.
        for anchor in ["crate::", "super::"] {
            let mut from = 0;
            while let Some(at) = code[from..].find(anchor) {
                let start = from + at;
                let before = code[..start].chars().last();
                from = start + anchor.len();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                    continue;
                }
                let end = code[start..]
                    .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                    .map_or(code.len(), |e| start + e);
                paths.push(code[start..end].trim_end_matches(':').to_string());
            }
        }
        let mut targets = BTreeSet::new();
        for path in paths {
            if let Some(target) = resolve(name, &path, modules) {
                // A test module's `super::*` can reach the crate root, which
                // holds nothing but the module list.
                let own_submodule = target.starts_with(&format!("{name}::")) || name.is_empty();
                if target != *name && !own_submodule && !target.is_empty() {
                    targets.insert(target);
                }
            }
        }
        graph.insert(name.clone(), targets);
    }
    graph
}

fn layer(module: &str) -> &str {
    module.split("::").next().unwrap_or("")
}

#[test]
fn imports_run_one_way_between_the_layers() {
    let modules = modules();
    let graph = imports(&modules);
    let mut wrong = Vec::new();
    for (from, targets) in &graph {
        if from.is_empty() {
            continue;
        }
        let allowed = MAY_IMPORT
            .iter()
            .find(|(l, _)| *l == layer(from))
            .unwrap_or_else(|| panic!("{from}: in no layer; add its folder to MAY_IMPORT"))
            .1;
        for to in targets {
            let same = layer(to) == layer(from);
            let ok = allowed
                .iter()
                .any(|a| to == a || to.starts_with(&format!("{a}::")));
            if !same && !ok {
                wrong.push(format!("{from} imports {to}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_module_imports_itself_through_a_chain() {
    let graph = imports(&modules());
    // A depth-first search that reports the first cycle it closes.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let at = stack.iter().position(|m| m == next).unwrap();
                    let mut cycle = stack[at..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(cycle) = visit(next, graph, state, stack) {
                        return Some(cycle);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if !state.contains_key(node) {
            if let Some(cycle) = visit(node, &graph, &mut state, &mut Vec::new()) {
                panic!("an import circle: {}", cycle.join(" → "));
            }
        }
    }
}

#[test]
fn the_checker_sees_a_circle_and_an_import_against_the_grain() {
    // The checks above would pass on a graph they cannot read: make sure
    // they read this one. The engine imports the result model; reporting
    // imports measuring; both seen, and a made-up edge back closes a cycle.
    let graph = imports(&modules());
    assert!(
        graph["measure::engine"].contains("record"),
        "{:?}",
        graph["measure::engine"]
    );
    assert!(graph["report::series"].contains("measure::runner"));
    assert!(graph["measure::engine::stream"].contains("measure::engine::counters"));
    assert_eq!(
        expand("crate::a::{b, c::{d, e as f}}"),
        ["crate::a::b", "crate::a::c::d", "crate::a::c::e"]
    );
    assert_eq!(
        code_only("let s = \"crate::x\"; // crate::y\nz"),
        "let s = \"\"; \nz"
    );
}

#[test]
fn every_module_says_first_what_it_owns() {
    let missing: Vec<String> = modules()
        .values()
        .filter(|m| !m.source.trim_start().starts_with("//!"))
        .map(|m| m.path.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "modules without a leading //! line: {missing:?}"
    );
}

/// Functions (with their line counts) longer than the limit, found by
/// matching braces from each `fn` line.
fn long_functions(source: &str, limit: usize) -> Vec<(String, usize)> {
    let code = code_only(source);
    let lines: Vec<&str> = code.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let Some(rest) = ["fn ", "pub fn ", "pub(crate) fn ", "pub(super) fn "]
            .iter()
            .find_map(|p| trimmed.strip_prefix(p))
        else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let (mut depth, mut opened) = (0i32, false);
        for (j, later) in lines[i..].iter().enumerate() {
            for c in later.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            if !opened && later.trim_end().ends_with(';') {
                break;
            }
            if opened && depth == 0 {
                if j + 1 > limit {
                    found.push((name.clone(), j + 1));
                }
                break;
            }
        }
    }
    found
}

#[test]
fn no_file_or_function_grows_past_a_reading() {
    let mut long = Vec::new();
    for module in modules().values() {
        let lines = module.source.lines().count();
        if lines > MAX_FILE_LINES {
            long.push(format!(
                "{}: {lines} lines (at most {MAX_FILE_LINES})",
                module.path.display()
            ));
        }
        for (name, n) in long_functions(&module.source, MAX_FUNCTION_LINES) {
            long.push(format!(
                "{}: fn {name} is {n} lines (at most {MAX_FUNCTION_LINES})",
                module.path.display()
            ));
        }
    }
    assert!(long.is_empty(), "split these:\n{}", long.join("\n"));
    // The counter counts: a function of 101 lines is found.
    let body = "    x();\n".repeat(MAX_FUNCTION_LINES - 1);
    let long_one = format!("fn f() {{\n{body}}}\n");
    assert_eq!(
        long_functions(&long_one, MAX_FUNCTION_LINES),
        [("f".to_string(), MAX_FUNCTION_LINES + 1)]
    );
}
