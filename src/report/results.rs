//! Result files on disk: writing one atomically, reading one (upgrading
//! older schemas), and loading a set of them from files and directories.

use crate::record::{BenchResult, Sample, OLDEST_SCHEMA_VERSION, SCHEMA_VERSION};
use anyhow::Context;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file `ipc-bench codecs` writes into a results directory; not a result.
pub const CODECS_FILE: &str = "codecs.json";

impl BenchResult {
    /// Writes the result into `dir` under [`file_name`](Self::file_name),
    /// atomically: readers see the old file or the new one, never half of one.
    pub fn write_to_dir(&self, dir: &Path) -> anyhow::Result<PathBuf> {
        let path = dir.join(self.file_name());
        write_json_atomically(&path, self)?;
        Ok(path)
    }

    /// [`write_to_dir`](Self::write_to_dir) for a file rewritten after
    /// every round: replaced atomically, but not flushed to the disk (the
    /// run's last write of it is), since a flush can take longer than a
    /// round.
    pub fn write_to_dir_unsynced(&self, dir: &Path) -> anyhow::Result<PathBuf> {
        let path = dir.join(self.file_name());
        write_json(&path, self, false)?;
        Ok(path)
    }

    /// Reads a result file, naming it in every error.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read result file {}", path.display()))?;
        let value: serde_json::Value = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a valid result file (truncated or corrupt JSON)",
                path.display()
            )
        })?;
        let version = value.get("schema_version").and_then(|v| v.as_u64());
        match version {
            Some(v) if (OLDEST_SCHEMA_VERSION as u64..=SCHEMA_VERSION as u64).contains(&v) => {}
            Some(v) if v > SCHEMA_VERSION as u64 => anyhow::bail!(
                "{} has schema version {v}, newer than this ipc-bench understands ({SCHEMA_VERSION}); upgrade ipc-bench",
                path.display()
            ),
            other => anyhow::bail!(
                "{} has schema version {}, expected {OLDEST_SCHEMA_VERSION} to {SCHEMA_VERSION}",
                path.display(),
                other.map_or("none".to_string(), |v| v.to_string())
            ),
        }
        let mut result: BenchResult = serde_json::from_value(value)
            .with_context(|| format!("{} is not a valid result file", path.display()))?;
        if version == Some(1) {
            result.upgrade_from_v1();
        }
        Ok(result)
    }

    /// A version-1 result is one round: its figures become that round's
    /// sample, and it says it has no interval.
    fn upgrade_from_v1(&mut self) {
        self.rounds = 1;
        self.samples = vec![Sample {
            round: 1,
            started: self.timestamp.clone(),
            duration_secs: self.duration_secs,
            round_trips: self.round_trips,
            round_trips_per_sec: self.round_trips_per_sec,
            ns_per_round_trip: self.ns_per_round_trip,
            latency_p50_ns: self.latency_ns.as_ref().map(|l| l.p50),
            latency_p99_ns: self.latency_ns.as_ref().map(|l| l.p99),
            latency_from_intended_p99_ns: None,
            cpu_ns_per_round_trip: self.cpu.ns_per_round_trip,
            intervals_per_sec: Vec::new(),
            codec_ns_per_round_trip: None,
            phases: None,
            longest_hold_secs: None,
            pace: None,
            spell_pace: None,
            set_aside: None,
            busy_neighbours: None,
        }];
        self.warnings
            .push("a version-1 result: one round, so no interval".to_string());
    }
}

/// Writes `value` as pretty JSON to `path` through a temporary file in the
/// same directory and a rename, creating the directory if needed.
pub fn write_json_atomically<T: Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    write_json(path, value, true)
}

/// [`write_json_atomically`], flushed to the disk before the rename only when `synced`.
pub fn write_json<T: Serialize>(path: &Path, value: &T, synced: bool) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the results directory {}", dir.display()))?;
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    // Temporary files are private; results are meant to be read and shared.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    serde_json::to_writer_pretty(&mut file, value)?;
    file.write_all(b"\n")?;
    if synced {
        file.as_file().sync_all()?;
    }
    file.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The file a matrix rewrites after every case; not a result.
pub const MATRIX_SUMMARY_FILE: &str = "matrix-summary.json";

/// One result and where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: PathBuf,
    pub result: BenchResult,
}

/// What a baseline's directory records of itself beside its result files
/// (see `report::baseline`).
pub const BASELINE_MANIFEST_FILE: &str = "baseline.json";

/// Whether a file in a results directory is a result: any `*.json` but
/// the matrix summary and the codecs report.
fn is_result_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "json")
        && path.file_name().is_some_and(|n| {
            n != MATRIX_SUMMARY_FILE && n != CODECS_FILE && n != BASELINE_MANIFEST_FILE
        })
}

/// Whether `dir` holds any result file.
pub fn holds_results(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .filter_map(|e| e.ok())
            .any(|e| is_result_file(&e.path()))
    })
}

/// Reads result files: each path a file, or a directory whose `*.json` files
/// (not the matrix summary) are all results. Any unreadable, truncated,
/// corrupt or newer-schema file is an error naming it.
pub fn load(paths: &[PathBuf]) -> anyhow::Result<Vec<Loaded>> {
    let mut files = Vec::new();
    for path in paths {
        let meta =
            std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        if meta.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("cannot list {}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| is_result_file(p))
                .collect();
            found.sort();
            if found.is_empty() {
                anyhow::bail!("{} holds no result files (*.json)", path.display());
            }
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    files
        .into_iter()
        .map(|path| BenchResult::read(&path).map(|result| Loaded { path, result }))
        .collect()
}
