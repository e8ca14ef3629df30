//! `ipc-bench report`: one self-contained HTML page of a result set.

use super::CliError;
use crate::cli::args::ReportArgs;
use crate::cli::spec::UsageError;
use crate::report::codecs::CodecsReport;
use crate::report::results::CODECS_FILE;
use crate::report::table::Table;
use crate::report::{compare, html, plot, results};
use std::path::{Path, PathBuf};

pub fn report(args: &ReportArgs) -> Result<(), CliError> {
    let a = readable_set(&args.input)?;
    let (shown, comparison) = match &args.against {
        None => (a, None),
        Some(other) => {
            let b = readable_set(other)?;
            if a.results.is_empty() || b.results.is_empty() {
                return Err(UsageError(format!(
                    "invalid value '{}' for AGAINST: comparing two sets needs result files in both, \
                     and {} holds only a codecs report",
                    other.display(),
                    if a.results.is_empty() { &a.dir } else { &b.dir }.display()
                ))
                .into());
            }
            let mismatch = compare::build_mismatch(&a.results, &b.results);
            let pair = compare::pair(&a.results, &b.results, args.threshold);
            let note = match mismatch {
                Some(warning) => format!("warning: {warning}\n{}", pair.note),
                None => pair.note,
            };
            (b, Some((pair.table, note)))
        }
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| shown.dir.join("report.html"));
    let comparison = comparison
        .as_ref()
        .map(|(table, note)| (table, note.as_str()));
    write(
        &shown.results,
        shown.codecs.as_ref(),
        args.reference.as_deref(),
        comparison,
        &out,
    )
    .map_err(CliError::Failed)?;
    println!("wrote {}", out.display());
    Ok(())
}

/// A directory's result files and its codecs report (at least one of the
/// two).
struct Set {
    dir: PathBuf,
    results: Vec<results::Loaded>,
    codecs: Option<CodecsReport>,
}

/// The result files and codecs report of `dir`, or a usage error naming
/// it. Nothing is written unless every file reads: a page of half a set
/// would mislead.
fn readable_set(dir: &Path) -> Result<Set, CliError> {
    let bad = |why: String| {
        UsageError(format!(
            "invalid value '{}' for DIR: {why}; accepted: a directory of ipc-bench result files \
             or a codecs report",
            dir.display()
        ))
    };
    if !dir.is_dir() {
        return Err(bad("not a directory".into()).into());
    }
    let codecs_file = dir.join(CODECS_FILE);
    let codecs = match codecs_file.is_file() {
        true => Some(CodecsReport::read(&codecs_file).map_err(|e| bad(format!("{e:#}")))?),
        false => None,
    };
    let results = match codecs.is_some() && !results::holds_results(dir) {
        true => Vec::new(),
        false => results::load(&[dir.to_path_buf()]).map_err(|e| bad(format!("{e:#}")))?,
    };
    if results.is_empty() && codecs.is_none() {
        return Err(bad("it holds no result files".into()).into());
    }
    Ok(Set {
        dir: dir.to_path_buf(),
        results,
        codecs,
    })
}

/// Writes the page of `loaded` and `codecs` (with the charts `plot` draws,
/// and a comparison table with its note when there is one) to `out`.
pub fn write(
    loaded: &[results::Loaded],
    codecs: Option<&CodecsReport>,
    reference: Option<&str>,
    comparison: Option<(&Table, &str)>,
    out: &Path,
) -> anyhow::Result<()> {
    let charts = charts(loaded, codecs)?;
    let codecs_table = codecs.map(|report| crate::report::codecs::table(report, loaded));
    let docs = docs_link(out);
    let contents = html::Contents {
        results: loaded,
        reference,
        comparison,
        codecs: codecs.zip(codecs_table.as_ref()),
        charts: &charts,
        docs: docs.as_deref(),
    };
    write_whole(out, &html::page(&contents))
}

/// The chapter on reading a figure, relative to the page, when the page is
/// written inside a checkout of ipc-bench (as `results/reference/` is):
/// the link then works wherever the checkout is, and a page sent elsewhere
/// names the chapter instead.
fn docs_link(out: &Path) -> Option<String> {
    let dir = std::path::absolute(out).ok()?.parent()?.to_path_buf();
    let mut up = String::new();
    for ancestor in dir.ancestors() {
        let chapter = ancestor.join("docs").join("how-sure.md");
        let ours = std::fs::read_to_string(ancestor.join("Cargo.toml"))
            .is_ok_and(|manifest| manifest.contains("name = \"ipc-bench\""));
        if ours && chapter.is_file() {
            return Some(format!("{up}docs/how-sure.md"));
        }
        up.push_str("../");
    }
    None
}

/// Every chart `plot` draws for the set, as (title, SVG document).
fn charts(
    loaded: &[results::Loaded],
    codecs: Option<&CodecsReport>,
) -> anyhow::Result<Vec<(String, String)>> {
    let dir = tempfile::tempdir()?;
    let mut paths = match loaded.is_empty() {
        true => Vec::new(),
        false => plot::write_all(loaded, dir.path())?,
    };
    if let Some(report) = codecs {
        let path = dir.path().join("codecs.svg");
        plot::codecs_chart(report, &path)?;
        paths.push(path);
    }
    let mut charts = Vec::new();
    for path in paths {
        let title = path
            .file_stem()
            .map_or(String::new(), |s| s.to_string_lossy().replace('-', " "));
        charts.push((title, std::fs::read_to_string(&path)?));
    }
    Ok(charts)
}

/// An existing file at `path` is replaced only when it is a page this tool
/// wrote (its head carries [`html::GENERATOR_MARK`]): a `report.html` of the
/// user's own in a results directory survives.
fn refuse_to_replace_a_foreign_file(path: &Path) -> anyhow::Result<()> {
    use std::io::Read;
    let mut head = Vec::new();
    match std::fs::File::open(path) {
        Ok(file) => file.take(4096).read_to_end(&mut head).map(|_| ())?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
    }
    if String::from_utf8_lossy(&head).contains(html::GENERATOR_MARK) {
        return Ok(());
    }
    anyhow::bail!(
        "{} exists and is not a page ipc-bench wrote; it is left as it is (move it, or write \
         the page elsewhere with --out)",
        path.display()
    )
}

/// Writes `text` to `path` through a temporary file beside it, so that a
/// failure leaves no half-written page (and the page gets the usual
/// permissions, not a temporary file's).
fn write_whole(path: &Path, text: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    let name = path
        .file_name()
        .with_context(|| format!("{} names no file", path.display()))?;
    refuse_to_replace_a_foreign_file(path)?;
    let partial = path.with_file_name(format!(
        ".{}.{}.partial",
        name.to_string_lossy(),
        std::process::id()
    ));
    std::fs::write(&partial, text)
        .with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, path).map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        anyhow::anyhow!("cannot write {}: {e}", path.display())
    })
}
