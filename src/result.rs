//! Result files: one JSON document per run, written atomically, and read
//! back (a file or a directory of them) for compare and plot.
//!
//! The schema is documented in the README; bump [`SCHEMA_VERSION`] on any
//! change that an older reader would misread.

use crate::machine::MachineInfo;
use crate::message::Complexity;
use crate::placement::Placement;
use crate::stats::LatencySummary;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const SCHEMA_VERSION: u32 = 1;
/// The payload size users get unless they ask otherwise.
pub const DEFAULT_PAYLOAD_BYTES: usize = 32;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchResult {
    pub schema_version: u32,
    pub tool_version: String,
    /// When the run finished, RFC 3339 UTC.
    pub timestamp: String,
    pub transport: String,
    /// The transport's variant, where it has several (raw-sync: `spin` or `block`).
    #[serde(default)]
    pub variant: Option<String>,
    /// `none` for raw-string messages, which use no codec.
    pub codec: String,
    pub complexity: Complexity,
    pub payload_bytes: usize,
    /// Wall time of the measured phase.
    pub duration_secs: f64,
    pub requested_duration_secs: f64,
    pub warmup_secs: f64,
    pub warmup_round_trips: u64,
    pub round_trips: u64,
    pub round_trips_per_sec: f64,
    pub ns_per_round_trip: f64,
    /// Payload moved per second, both directions counted: 2 × payload × round trips/s.
    #[serde(default)]
    pub payload_mb_per_sec: f64,
    /// Single-core memcpy bandwidth measured by the same run, for payloads
    /// large enough that copying is the limit (64 KiB and up).
    #[serde(default)]
    pub memcpy_mb_per_sec: Option<f64>,
    /// Whether every round trip was timed; when false `latency_ns` is null.
    pub latency_recorded: bool,
    pub latency_ns: Option<LatencySummary>,
    pub cpu: CpuUsage,
    /// True only when every pong of the run checked out and the child
    /// confirmed the same number of round trips.
    pub verified: bool,
    pub placement: Placement,
    pub machine: MachineInfo,
}

/// CPU time of both processes over warm-up and measured phase together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuUsage {
    pub parent_secs: Option<f64>,
    pub child_secs: Option<f64>,
    /// Round trips the CPU figures cover (warm-up plus measured).
    pub round_trips: u64,
    /// (parent + child) CPU time per round trip.
    pub ns_per_round_trip: Option<f64>,
}

impl BenchResult {
    /// The default file name: `<transport>[-<variant>]-<codec>-<complexity>`, plus the
    /// payload size and placement when they are not the defaults.
    pub fn file_name(&self) -> String {
        let stem = case_stem(
            &self.transport,
            self.variant.as_deref(),
            &self.codec,
            self.complexity,
            self.payload_bytes,
            self.placement.mode,
        );
        format!("{stem}.json")
    }

    /// Writes the result into `dir` under [`file_name`](Self::file_name),
    /// atomically: readers see the old file or the new one, never half of one.
    pub fn write_to_dir(&self, dir: &Path) -> anyhow::Result<PathBuf> {
        let path = dir.join(self.file_name());
        write_json_atomically(&path, self)?;
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
        match value.get("schema_version").and_then(|v| v.as_u64()) {
            Some(v) if v == SCHEMA_VERSION as u64 => {}
            Some(v) if v > SCHEMA_VERSION as u64 => anyhow::bail!(
                "{} has schema version {v}, newer than this ipc-bench understands ({SCHEMA_VERSION}); upgrade ipc-bench",
                path.display()
            ),
            other => anyhow::bail!(
                "{} has schema version {}, expected {SCHEMA_VERSION}",
                path.display(),
                other.map_or("none".to_string(), |v| v.to_string())
            ),
        }
        serde_json::from_value(value)
            .with_context(|| format!("{} is not a valid result file", path.display()))
    }
}

/// `<transport>[-<variant>]-<codec>-<complexity>`, plus the payload size and
/// placement when they are not the defaults: how result files and matrix
/// cases are named.
pub fn case_stem(
    transport: &str,
    variant: Option<&str>,
    codec: &str,
    complexity: Complexity,
    payload_bytes: usize,
    pin: crate::placement::PinMode,
) -> String {
    let mut name = transport.to_string();
    if let Some(variant) = variant {
        name.push('-');
        name.push_str(variant);
    }
    name.push_str(&format!("-{codec}-{}", complexity.name()));
    if payload_bytes != DEFAULT_PAYLOAD_BYTES {
        name.push_str(&format!("-{payload_bytes}B"));
    }
    if pin != crate::placement::PinMode::None {
        name.push_str(&format!("-pin-{}", pin.name()));
    }
    name
}

/// Writes `value` as pretty JSON to `path` through a temporary file in the
/// same directory and a rename, creating the directory if needed.
pub fn write_json_atomically<T: Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
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
    file.as_file().sync_all()?;
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
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .filter(|p| p.file_name().is_some_and(|n| n != MATRIX_SUMMARY_FILE))
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

/// The current time as RFC 3339 UTC, to the second.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}
