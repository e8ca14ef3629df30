//! Named baselines: a run's result files kept under
//! `RESULTS_DIR/baselines/NAME/`, for later runs to be compared against
//! (`run --save-baseline NAME`, `compare --baseline NAME`), as criterion
//! keeps its named baselines. Each result file carries the machine and the
//! build it was measured with, so comparing across either warns.

use crate::report::results::Loaded;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The directory of the baselines, inside the results directory.
pub const BASELINES_DIR: &str = "baselines";

pub use crate::report::results::BASELINE_MANIFEST_FILE as MANIFEST_FILE;

/// A baseline's manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    pub saved_at: String,
    pub tool_version: String,
    /// The result files it holds, by name.
    pub files: Vec<String>,
}

/// Whether `name` may name a baseline: 1 to 64 of ASCII letters, digits,
/// `.`, `-` and `_`, not starting with `.` (a directory name on every
/// system, and never a path).
pub fn check_name(name: &str, flag: &str) -> Result<(), String> {
    let valid = (1..=64).contains(&name.len())
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    match valid {
        true => Ok(()),
        false => Err(format!(
            "invalid value '{name}' for {flag}; accepted: 1 to 64 ASCII letters, digits, '.', '-' and '_', not starting with '.'"
        )),
    }
}

/// Where baseline `name` lives.
pub fn dir_of(results_dir: &Path, name: &str) -> PathBuf {
    results_dir.join(BASELINES_DIR).join(name)
}

/// The names of the saved baselines, sorted.
pub fn saved(results_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(results_dir.join(BASELINES_DIR))
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join(MANIFEST_FILE).is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The directory of baseline `name`, or why there is none (naming the
/// saved ones).
pub fn find(results_dir: &Path, name: &str) -> Result<PathBuf, String> {
    check_name(name, "--baseline")?;
    let dir = dir_of(results_dir, name);
    if dir.join(MANIFEST_FILE).is_file() {
        return Ok(dir);
    }
    let saved = saved(results_dir);
    Err(format!(
        "no baseline '{name}' in {} ({}); save one with `--save-baseline {name}` on run or matrix",
        results_dir.join(BASELINES_DIR).display(),
        match saved.is_empty() {
            true => "none saved".to_string(),
            false => format!("saved: {}", saved.join(", ")),
        }
    ))
}

/// Keeps `results` (read from their files) as baseline `name`, replacing a
/// baseline of that name: the new one is written beside it and renamed
/// into place, and of the old one only the files its manifest lists are
/// removed.
pub fn save(results_dir: &Path, name: &str, results: &[Loaded]) -> anyhow::Result<PathBuf> {
    let dir = dir_of(results_dir, name);
    let parent = results_dir.join(BASELINES_DIR);
    std::fs::create_dir_all(&parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    let staging = parent.join(format!(".{name}.saving-{}", std::process::id()));
    std::fs::create_dir(&staging)
        .with_context(|| format!("cannot create {}", staging.display()))?;
    let mut files = Vec::new();
    for loaded in results {
        let file = loaded.result.file_name();
        std::fs::copy(&loaded.path, staging.join(&file))
            .with_context(|| format!("cannot copy {}", loaded.path.display()))?;
        files.push(file);
    }
    files.sort();
    let manifest = Manifest {
        name: name.to_string(),
        saved_at: crate::record::now_rfc3339(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        files,
    };
    let text = serde_json::to_string_pretty(&manifest).context("writing the manifest")?;
    std::fs::write(staging.join(MANIFEST_FILE), text)
        .with_context(|| format!("cannot write {}", staging.display()))?;
    if dir.exists() {
        remove(&dir)?;
    }
    std::fs::rename(&staging, &dir)
        .with_context(|| format!("cannot move {} to {}", staging.display(), dir.display()))?;
    Ok(dir)
}

/// Removes a baseline's own files and then its directory, which must then
/// be empty: anything else in it was not put there by a save.
fn remove(dir: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(dir.join(MANIFEST_FILE))
        .with_context(|| format!("{} is not a baseline of ipc-bench's", dir.display()))?;
    let manifest: Manifest = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a baseline of ipc-bench's", dir.display()))?;
    for file in &manifest.files {
        // Only plain names: a manifest cannot send the removal elsewhere.
        if Path::new(file)
            .file_name()
            .is_some_and(|n| n == file.as_str())
        {
            let _ = std::fs::remove_file(dir.join(file));
        }
    }
    std::fs::remove_file(dir.join(MANIFEST_FILE))?;
    std::fs::remove_dir(dir).with_context(|| {
        format!(
            "{} holds files a save did not put there; move them, then save again",
            dir.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_directory_names() {
        for good in ["main", "v1.2", "pr-17_b"] {
            assert!(check_name(good, "--baseline").is_ok(), "{good}");
        }
        for bad in ["", ".hidden", "a/b", "..", "x y", &"n".repeat(65)] {
            assert!(check_name(bad, "--baseline").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_missing_baseline_names_the_saved_ones() {
        let dir = tempfile::tempdir().unwrap();
        let err = find(dir.path(), "main").unwrap_err();
        assert!(err.contains("none saved"), "{err}");
        let other = dir_of(dir.path(), "old");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(other.join(MANIFEST_FILE), "{}").unwrap();
        let err = find(dir.path(), "main").unwrap_err();
        assert!(err.contains("saved: old"), "{err}");
    }
}
