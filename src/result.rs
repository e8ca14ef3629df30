//! Result files: one JSON document per run, written atomically, and read
//! back (a file or a directory of them) for compare and plot.
//!
//! The schema is documented in the README; bump [`SCHEMA_VERSION`] on any
//! change that an older reader would misread.

pub use crate::engine::{MessagePath, WireBytes};
use crate::environment::Environment;
use crate::estimate::Interval;
use crate::machine::MachineInfo;
use crate::message::Complexity;
use crate::placement::Placement;
use crate::stats::LatencySummary;
use crate::traffic::Traffic;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const SCHEMA_VERSION: u32 = 3;
/// The oldest schema this version still reads (version 1: one round, no
/// samples, no interval).
pub const OLDEST_SCHEMA_VERSION: u32 = 1;
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
    /// The traffic: `pattern` (`ping-pong`, the closed loop, in files older
    /// than this field; `rate`; or `stream`), `offered_rate_per_sec` (for
    /// `rate`), `children` and `window` (for `stream`; 1 otherwise). In a
    /// stream every "round trip" figure below counts messages, one way.
    #[serde(flatten)]
    pub traffic: Traffic,
    /// Wall time of the measured phase.
    pub duration_secs: f64,
    pub requested_duration_secs: f64,
    pub warmup_secs: f64,
    /// Over all rounds.
    pub warmup_round_trips: u64,
    /// Measured round trips over all rounds.
    pub round_trips: u64,
    /// How many rounds the figures below summarize: each a fresh child, its
    /// own warm-up and its own measured phase.
    #[serde(default)]
    pub rounds: usize,
    /// One entry per round.
    #[serde(default)]
    pub samples: Vec<Sample>,
    /// The median over rounds. At a fixed rate: the rate achieved, at most
    /// the offered one.
    pub round_trips_per_sec: f64,
    /// A 95 % confidence interval of that median (order statistics of the
    /// rounds); null for a single round.
    #[serde(default)]
    pub round_trips_per_sec_ci95: Option<Interval>,
    /// How often an interval built like `round_trips_per_sec_ci95` covers the
    /// true median: 95 % or more from six rounds, less below.
    #[serde(default)]
    pub ci_coverage: Option<f64>,
    /// The interval's aim, as a share of the median (0.05: ±5 %), when
    /// the run added rounds until its cases were that sure; null otherwise.
    #[serde(default)]
    pub precision: Option<f64>,
    /// Why the case got no more rounds: `precise` (within the precision),
    /// `max-rounds`, `budget` (the run's time budget ended),
    /// `planned` (no precision asked), `failed`, `interrupted`; null in
    /// older files.
    #[serde(default)]
    pub stopped: Option<crate::estimate::Stop>,
    /// When the rounds fall into two separate groups: each group's median
    /// and rounds, slower first. The median above then describes neither.
    #[serde(default)]
    pub modes: Option<[crate::estimate::Mode; 2]>,
    /// Nanoseconds per round trip at the median throughput.
    pub ns_per_round_trip: f64,
    /// Payload moved per second, both directions counted: 2 × payload ×
    /// round trips/s (a stream's: payload × messages/s).
    #[serde(default)]
    pub payload_mb_per_sec: f64,
    /// Single-core memcpy bandwidth measured by the same run, for payloads
    /// large enough that copying is the limit (64 KiB and up).
    #[serde(default)]
    pub memcpy_mb_per_sec: Option<f64>,
    /// The encoded size of a ping and of a pong (the text's length for raw
    /// strings); null in files older than schema 3.
    #[serde(default)]
    pub wire_bytes: Option<WireBytes>,
    /// Whether the codec encoded into the transport's slot and the receiver
    /// decoded in place, or each went through a copy; null in older files.
    #[serde(default)]
    pub message_path: Option<MessagePath>,
    /// One round trip's message work (two encodes, two decodes, the checks)
    /// timed in one process with no transport right after each round: the
    /// median over rounds.
    #[serde(default)]
    pub codec_ns_per_round_trip: Option<f64>,
    /// `codec_ns_per_round_trip / ns_per_round_trip`: how much of a round
    /// trip the format accounts for (the rest is the transport).
    #[serde(default)]
    pub codec_share: Option<f64>,
    /// Whether every round trip was timed; when false `latency_ns` is null.
    pub latency_recorded: bool,
    /// Percentiles of every measured round trip of every round, each timed
    /// from when its request left. In a stream: each message's one-way
    /// latency, from the parent's stamp to the child's check, on the clock
    /// both share (Linux, macOS; null elsewhere).
    pub latency_ns: Option<LatencySummary>,
    /// At a fixed rate: the same round trips timed from when each request
    /// was due, which counts the time a request waited behind a late reply
    /// (corrected for coordinated omission): the latency a caller sees.
    /// Null for ping-pong.
    #[serde(default)]
    pub latency_from_intended_ns: Option<LatencySummary>,
    /// In a stream: how many sends found the window full and waited for
    /// the consumer, over all rounds. Null otherwise.
    #[serde(default)]
    pub backpressure: Option<crate::engine::Backpressure>,
    pub cpu: CpuUsage,
    /// True only when every pong of the run checked out and the child
    /// confirmed the same number of round trips.
    pub verified: bool,
    pub placement: Placement,
    pub machine: MachineInfo,
    /// Identifies the run (a `run` or a whole matrix) the samples come from:
    /// two results with the same id were measured in the same rounds, so
    /// their ratio can be taken round by round.
    #[serde(default)]
    pub run_id: Option<String>,
    /// The seed of the matrix's shuffled order (`--seed` replays it).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Plain sentences on what makes the figures less sure than they look.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// What affects the figures, read at the start and end of the run.
    #[serde(default)]
    pub environment: Option<Environment>,
}

/// What one round measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// The round's number in its run (1-based): in a matrix, which pass over
    /// all cases it belongs to.
    pub round: usize,
    /// When its measured phase began, RFC 3339 UTC with milliseconds.
    pub started: String,
    pub duration_secs: f64,
    pub round_trips: u64,
    pub round_trips_per_sec: f64,
    pub ns_per_round_trip: f64,
    pub latency_p50_ns: Option<u64>,
    pub latency_p99_ns: Option<u64>,
    /// At a fixed rate: p99 latency from the due times.
    #[serde(default)]
    pub latency_from_intended_p99_ns: Option<u64>,
    /// (parent + child) CPU time per round trip, warm-up included.
    pub cpu_ns_per_round_trip: Option<f64>,
    /// Round trips per second in each 100 ms of the measured phase.
    #[serde(default)]
    pub intervals_per_sec: Vec<f64>,
    /// One round trip's message work without a transport, timed after the round.
    #[serde(default)]
    pub codec_ns_per_round_trip: Option<f64>,
    /// Where the round's wall time went; null in older files.
    #[serde(default)]
    pub phases: Option<RoundPhases>,
}

/// Where one round's wall time went, in seconds: only `measure_secs` is
/// measured; the rest is what it costs to measure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RoundPhases {
    /// Spawning the child, the handshake, the transport's set-up and
    /// connection (and, for large payloads, the memcpy reference).
    pub setup_secs: f64,
    /// The warm-up, until the measured phase began.
    pub warmup_secs: f64,
    /// The measured phase.
    pub measure_secs: f64,
    /// Stopping the child, its report and its exit.
    pub teardown_secs: f64,
    /// Timing the message work alone, for the codec's share.
    pub codec_secs: f64,
}

impl RoundPhases {
    pub fn total_secs(&self) -> f64 {
        self.setup_secs
            + self.warmup_secs
            + self.measure_secs
            + self.teardown_secs
            + self.codec_secs
    }

    pub fn add(&mut self, other: &RoundPhases) {
        self.setup_secs += other.setup_secs;
        self.warmup_secs += other.warmup_secs;
        self.measure_secs += other.measure_secs;
        self.teardown_secs += other.teardown_secs;
        self.codec_secs += other.codec_secs;
    }
}

/// CPU time of both processes over warm-up and measured phase together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuUsage {
    pub parent_secs: Option<f64>,
    pub child_secs: Option<f64>,
    /// Round trips the CPU figures cover (warm-up plus measured).
    pub round_trips: u64,
    /// (parent + child) CPU time per round trip: the median over rounds.
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
            &self.traffic,
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
        }];
        self.warnings
            .push("a version-1 result: one round, so no interval".to_string());
    }

    /// Each round's throughput.
    pub fn rates(&self) -> Vec<f64> {
        self.samples.iter().map(|s| s.round_trips_per_sec).collect()
    }

    /// At a fixed rate, the lowest and highest of the rounds' own p99 from
    /// the due times: how far apart the rounds put that tail (a VM pause is
    /// a rare event one round catches and the next does not). `None` for
    /// fewer than two rounds with the figure.
    pub fn due_p99_round_range(&self) -> Option<(u64, u64)> {
        let p99s: Vec<u64> = self
            .samples
            .iter()
            .filter_map(|s| s.latency_from_intended_p99_ns)
            .collect();
        (p99s.len() >= 2).then(|| {
            let lo = p99s.iter().copied().min().unwrap_or(0);
            let hi = p99s.iter().copied().max().unwrap_or(0);
            (lo, hi)
        })
    }
}

/// `<transport>[-<variant>]-<codec>-<complexity>`, plus the payload size,
/// placement and traffic when they are not the defaults: how result files
/// and matrix cases are named.
pub fn case_stem(
    transport: &str,
    variant: Option<&str>,
    codec: &str,
    complexity: Complexity,
    payload_bytes: usize,
    pin: crate::placement::PinMode,
    traffic: &Traffic,
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
    name.push_str(&traffic.stem_suffix());
    name
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
                .filter(|p| {
                    p.file_name().is_some_and(|n| {
                        n != MATRIX_SUMMARY_FILE && n != crate::codec_cost::CODECS_FILE
                    })
                })
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

/// The current time as RFC 3339 UTC, to the millisecond.
pub fn now_rfc3339_millis() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

/// The current time as RFC 3339 UTC, to the second.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}
