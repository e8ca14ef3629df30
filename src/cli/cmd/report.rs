//! `ipc-bench report`: one self-contained HTML page of a result set.

use super::CliError;
use crate::cli::args::ReportArgs;
use crate::cli::spec::UsageError;
use crate::report::codecs::CodecsReport;
use crate::report::results::CODECS_FILE;
use crate::report::table::Table;
use crate::report::{compare, html, plot, results};
use std::path::Path;

pub fn report(args: &ReportArgs) -> Result<(), CliError> {
    let a = readable_set(&args.input)?;
    let (shown, comparison, dir) = match &args.against {
        None => (a, None, &args.input),
        Some(other) => {
            let b = readable_set(other)?;
            let mismatch = compare::build_mismatch(&a, &b);
            let pair = compare::pair(&a, &b, args.threshold);
            let note = match mismatch {
                Some(warning) => format!("warning: {warning}\n{}", pair.note),
                None => pair.note,
            };
            (b, Some((pair.table, note)), other)
        }
    };
    let out = args.out.clone().unwrap_or_else(|| dir.join("report.html"));
    let comparison = comparison
        .as_ref()
        .map(|(table, note)| (table, note.as_str()));
    write(&shown, args.reference.as_deref(), comparison, &out).map_err(CliError::Failed)?;
    println!("wrote {}", out.display());
    Ok(())
}

/// The result files of `dir`, or a usage error naming it. Nothing is
/// written unless every file reads: a page of half a set would mislead.
fn readable_set(dir: &Path) -> Result<Vec<results::Loaded>, CliError> {
    let bad = |why: String| {
        UsageError(format!(
            "invalid value '{}' for DIR: {why}; accepted: a directory of ipc-bench result files",
            dir.display()
        ))
    };
    if !dir.is_dir() {
        return Err(bad("not a directory".into()).into());
    }
    let loaded = results::load(&[dir.to_path_buf()]).map_err(|e| bad(format!("{e:#}")))?;
    if loaded.is_empty() {
        return Err(bad("it holds no result files".into()).into());
    }
    Ok(loaded)
}

/// Writes the page of `loaded` (with the charts `plot` draws, and a
/// comparison table with its note when there is one) to `out`.
pub fn write(
    loaded: &[results::Loaded],
    reference: Option<&str>,
    comparison: Option<(&Table, &str)>,
    out: &Path,
) -> anyhow::Result<()> {
    let charts = charts(loaded)?;
    // A codecs.json beside the results (`ipc-bench codecs` into the same
    // directory) joins the page.
    let codecs_file = loaded
        .first()
        .and_then(|l| l.path.parent())
        .map(|dir| dir.join(CODECS_FILE))
        .filter(|file| file.is_file());
    let codecs = match codecs_file {
        Some(file) => Some(crate::report::codecs::table(
            &CodecsReport::read(&file)?,
            loaded,
        )),
        None => None,
    };
    let contents = html::Contents {
        results: loaded,
        reference,
        comparison,
        codecs: codecs.as_ref(),
        charts: &charts,
    };
    write_whole(out, &html::page(&contents))
}

/// Every chart `plot` draws for the set, as (title, SVG document).
fn charts(loaded: &[results::Loaded]) -> anyhow::Result<Vec<(String, String)>> {
    let dir = tempfile::tempdir()?;
    let mut charts = Vec::new();
    for path in plot::write_all(loaded, dir.path())? {
        let title = path
            .file_stem()
            .map_or(String::new(), |s| s.to_string_lossy().replace('-', " "));
        charts.push((title, std::fs::read_to_string(&path)?));
    }
    Ok(charts)
}

/// Writes `text` to `path` through a temporary file beside it, so that a
/// failure leaves no half-written page (and the page gets the usual
/// permissions, not a temporary file's).
fn write_whole(path: &Path, text: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    let name = path
        .file_name()
        .with_context(|| format!("{} names no file", path.display()))?;
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
