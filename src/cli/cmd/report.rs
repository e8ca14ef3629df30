//! `ipc-bench report`: one self-contained HTML page of a result set.

use super::CliError;
use crate::cli::args::ReportArgs;
use crate::cli::spec::UsageError;
use crate::report::{html, plot, results};
use std::path::Path;

pub fn report(args: &ReportArgs) -> Result<(), CliError> {
    let bad = |why: String| {
        UsageError(format!(
            "invalid value '{}' for DIR: {why}; accepted: a directory of ipc-bench result files",
            args.input.display()
        ))
    };
    if !args.input.is_dir() {
        return Err(bad("not a directory".into()).into());
    }
    // Nothing is written unless every file reads: a page of half a set
    // would mislead.
    let loaded =
        results::load(std::slice::from_ref(&args.input)).map_err(|e| bad(format!("{e:#}")))?;
    if loaded.is_empty() {
        return Err(bad("it holds no result files".into()).into());
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.input.join("report.html"));
    write(&loaded, args.reference.as_deref(), &out).map_err(CliError::Failed)?;
    println!("wrote {}", out.display());
    Ok(())
}

/// Writes the page of `loaded` (with the charts `plot` draws) to `out`.
pub fn write(
    loaded: &[results::Loaded],
    reference: Option<&str>,
    out: &Path,
) -> anyhow::Result<()> {
    let charts = charts(loaded)?;
    write_whole(out, &html::page(loaded, reference, &charts))
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
