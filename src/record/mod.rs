//! The result model: what one run of a case records, as its result file
//! stores it. Measuring fills it in, reporting reads it; the types a result
//! file stores (intervals, why a case stopped, two modes, back-pressure,
//! message path, wire bytes), and the vocabulary they are written in (shapes,
//! traffic, placement, latency, the machine and its environment), are
//! defined here, so neither side imports the other for them and nothing
//! here depends on how it was measured. Files on disk: [`crate::report::results`].
//!
//! The schema is documented in `docs/result-files.md`; bump
//! [`SCHEMA_VERSION`] on any change that an older reader would misread.

pub mod complexity;
pub mod environment;
pub mod latency;
pub mod machine;
pub mod memory;
pub mod placement;
pub mod traffic;

pub use complexity::{Complexity, ShapeName, WireSpread};
pub use environment::{BusyProcess, Environment};
pub use latency::LatencySummary;
pub use machine::MachineInfo;
pub use memory::{BufferKind, MemoryUse, TransportBuffer};
pub use placement::{PinMode, Placement};
use serde::{Deserialize, Serialize};
pub use traffic::{Pattern, Traffic};

/// Version 4: rounds may be set aside (`set_aside`), and kept rounds are
/// read against their class's pace (`pace`).
pub const SCHEMA_VERSION: u32 = 4;
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
    /// The mechanism's own facts a reader needs beside the figures: its
    /// settings (framing, socket, runtime, spin budget, wait) and the system
    /// limits in force (a datagram's or a queue's size and depth). Empty in
    /// files older than this field.
    #[serde(default)]
    pub transport_facts: serde_json::Map<String, serde_json::Value>,
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
    /// One entry per round, the rounds set aside included.
    #[serde(default)]
    pub samples: Vec<Sample>,
    /// Rounds kept in `samples` but left out of the figures (see
    /// [`Sample::set_aside`]); `rounds` does not count them.
    #[serde(default)]
    pub rounds_set_aside: usize,
    /// The class of transports this case's pace was read from (cases whose
    /// rounds sped up and slowed down together over the run), numbered from
    /// 1, with its members' transport labels; null outside a matrix, for a
    /// fixed rate, or when the run had too few cases to tell.
    #[serde(default)]
    pub pace_class: Option<PaceClass>,
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
    pub stopped: Option<Stop>,
    /// When the rounds fall into two separate groups: each group's median
    /// and rounds, slower first. The median above then describes neither.
    #[serde(default)]
    pub modes: Option<[Mode; 2]>,
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
    /// For a shape whose messages differ in size (a team's own samples):
    /// the smallest, median and largest; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wire_spread: Option<WireSpread>,
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
    /// At a fixed rate, with five kept rounds or more: the 95 % interval of
    /// `latency_from_intended_ns.p50`, the rounds resampled whole (see
    /// `report::latency_interval`). Null otherwise.
    #[serde(default)]
    pub latency_from_intended_p50_ci95: Option<Interval>,
    /// At a fixed rate, with five kept rounds or more: the 95 % intervals of
    /// `latency_from_intended_ns.p99` and `.p999` (see
    /// `report::latency_interval::tail_interval`). Null otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_from_intended_tail_ci95: Option<TailIntervals>,
    /// In a stream: how many sends found the window full and waited for
    /// the consumer, over all rounds. Null otherwise.
    #[serde(default)]
    pub backpressure: Option<Backpressure>,
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
    /// The memory the case held: each process's peak, and the transport's
    /// buffers. Null in older files.
    #[serde(default)]
    pub memory: Option<MemoryUse>,
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
    /// The longest the loop was held up at once in the measured phase
    /// (past a 100 ms interval's end, or past a fixed rate's due time,
    /// before it next read the clock): a stopped process, a debugger or a
    /// host pause shows here. Null in older files.
    #[serde(default)]
    pub longest_hold_secs: Option<f64>,
    /// How fast the machine ran for this round's class of transports while
    /// it ran, against the class's usual pace over the run (1: usual, 0.5:
    /// half speed), read from the other cases' rounds of the same moments;
    /// null when too few of them ran near it, or for a fixed rate.
    #[serde(default)]
    pub pace: Option<f64>,
    /// The same over a wider stretch (2.5 s either side): what a slow spell
    /// is judged by (below 0.8: set aside).
    #[serde(default)]
    pub spell_pace: Option<f64>,
    /// Why this round is left out of the figures, when it is.
    #[serde(default)]
    pub set_aside: Option<SetAside>,
    /// The other programs that used at least a tenth of a core while this
    /// round ran (this run's own processes never), busiest first; null when
    /// not looked at (no `/proc`, older files).
    #[serde(default)]
    pub busy_neighbours: Option<Vec<BusyProcess>>,
}

impl Sample {
    /// The CPU time both processes used per second of this round, in cores.
    pub fn cpu_cores(&self) -> Option<f64> {
        Some(self.cpu_ns_per_round_trip? * self.round_trips_per_sec / 1e9)
    }

    /// When its measured phase began, in seconds since the Unix epoch.
    pub fn started_secs(&self) -> Option<f64> {
        let at = humantime::parse_rfc3339(&self.started).ok()?;
        Some(at.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs_f64())
    }

    /// The round's throughput at its class's usual pace (the measured rate
    /// divided by the pace at its time), or `None` when it is set aside:
    /// what the median, the interval and every comparison are made of.
    pub fn kept_rate(&self) -> Option<f64> {
        match self.set_aside {
            Some(_) => None,
            None => Some(self.round_trips_per_sec / self.pace.unwrap_or(1.0)),
        }
    }
}

/// Why a round is kept in its result file but left out of its figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SetAside {
    /// It ran in a slow spell: its class of transports ran well below its
    /// usual pace while it ran.
    Spell,
    /// The loop was held up at once for a good part of the round (a
    /// stopped process, a debugger, a host pause).
    Paused,
}

impl SetAside {
    pub fn name(self) -> &'static str {
        match self {
            SetAside::Spell => "slow spell",
            SetAside::Paused => "paused",
        }
    }
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
    /// The bytes a message carries for "payload MB/s": the payload figure,
    /// or for a team's own samples (which have none) their median size.
    pub fn message_bytes(&self) -> usize {
        self.wire_spread
            .map_or(self.payload_bytes, |spread| spread.median)
    }

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

    /// Whether the case aims its precision at its p50 from the due time
    /// rather than its throughput: a fixed rate's throughput is the rate it
    /// offered, so its latency is the figure in question.
    pub fn aims_at_latency(&self) -> bool {
        self.traffic.offered_rate_per_sec.is_some() && self.latency_from_intended_ns.is_some()
    }

    /// The interval of the figure the case aims at (see
    /// [`Self::aims_at_latency`]), as the larger side's share of the figure;
    /// `None` without an interval.
    pub fn aimed_spread(&self) -> Option<f64> {
        if self.aims_at_latency() {
            // The p50's interval is symmetric on a log scale around it.
            return self
                .latency_from_intended_p50_ci95
                .map(|ci| ci.relative_half_width((ci.lo * ci.hi).sqrt()));
        }
        self.round_trips_per_sec_ci95
            .map(|ci| ci.relative_half_width(self.round_trips_per_sec))
    }

    /// Each kept round's throughput at its class's usual pace (see
    /// [`Sample::kept_rate`]): what the figures are made of.
    pub fn rates(&self) -> Vec<f64> {
        self.samples.iter().filter_map(Sample::kept_rate).collect()
    }

    /// The CPU time both processes used per second of the run, in cores
    /// (0.5: half of one): the median of its kept rounds', each its CPU per
    /// round trip times its rate. At a fixed rate, the price of the wait.
    pub fn cpu_cores(&self) -> Option<f64> {
        let mut rounds: Vec<f64> = self
            .samples
            .iter()
            .filter(|s| s.set_aside.is_none())
            .filter_map(Sample::cpu_cores)
            .collect();
        rounds.sort_by(f64::total_cmp);
        let n = rounds.len();
        match n {
            0 => None,
            _ if n % 2 == 1 => Some(rounds[n / 2]),
            _ => Some((rounds[n / 2 - 1] + rounds[n / 2]) / 2.0),
        }
    }

    /// At a fixed rate, the 95 % interval of the p99 from the due time (five
    /// kept rounds or more; files written before it had one have none).
    pub fn due_p99_interval(&self) -> Option<TailInterval> {
        self.latency_from_intended_tail_ci95.map(|t| t.p99)
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
    pin: PinMode,
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
    if pin != PinMode::None {
        name.push_str(&format!("-pin-{}", pin.name()));
    }
    name.push_str(&traffic.stem_suffix());
    name
}

/// The current time as RFC 3339 UTC, to the millisecond.
pub fn now_rfc3339_millis() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

/// The current time as RFC 3339 UTC, to the second.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// A confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub lo: f64,
    pub hi: f64,
}

impl Interval {
    pub fn overlaps(&self, other: &Interval) -> bool {
        self.lo <= other.hi && other.lo <= self.hi
    }

    /// `±3 %`: the larger side of the interval around `centre`, as tables
    /// print it after a figure.
    pub fn plus_minus(&self, centre: f64) -> String {
        format!("±{:.0} %", 100.0 * self.relative_half_width(centre))
    }

    /// The larger distance from `centre` to an end, as a fraction of it: the
    /// `±4 %` printed next to a median.
    pub fn relative_half_width(&self, centre: f64) -> f64 {
        if centre == 0.0 {
            return 0.0;
        }
        ((centre - self.lo).max(self.hi - centre) / centre).abs()
    }
}

/// The 95 % interval of a tail percentile. Its upper end is missing when
/// the requests measured cannot bound the tail from above (too few of them
/// lie beyond it): the tail may then be anywhere above `lo`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TailInterval {
    pub lo: f64,
    pub hi: Option<f64>,
}

impl TailInterval {
    /// The interval with a missing upper end taken as unbounded: what
    /// ranks compare.
    pub fn bounded_or_open(&self) -> Interval {
        Interval {
            lo: self.lo,
            hi: self.hi.unwrap_or(f64::INFINITY),
        }
    }
}

/// The intervals of a fixed rate's p99 and p99.9 from the due time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TailIntervals {
    pub p99: TailInterval,
    pub p999: TailInterval,
}

/// A class of transports whose rounds moved together over a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaceClass {
    /// 1, 2, ...: the same number in every result of the run.
    pub number: usize,
    /// The transport labels of its cases, sorted, each once.
    pub transports: Vec<String>,
}

/// One of two groups a case's rounds fell into.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Mode {
    /// The median of this group's rounds.
    pub median: f64,
    /// How many rounds fell into it.
    pub rounds: usize,
}

/// Why a case got no more rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stop {
    /// Its interval came within the precision.
    Precise,
    /// It reached the most rounds a case may take.
    MaxRounds,
    /// The run's time budget ended first.
    Budget,
    /// No precision was asked for: the planned rounds.
    Planned,
    /// A round failed; the figures are from the rounds before it.
    Failed,
    /// Interrupted (Ctrl-C, SIGTERM).
    Interrupted,
}

impl Stop {
    /// Words for a table or a summary: why the case stopped where it did.
    pub fn reason(self) -> &'static str {
        match self {
            Stop::Precise => "precision reached",
            Stop::MaxRounds => "most rounds reached",
            Stop::Budget => "time budget reached",
            Stop::Planned => "planned rounds",
            Stop::Failed => "a round failed",
            Stop::Interrupted => "interrupted",
        }
    }
}

/// How often a stream's sender found its window full and had to wait for
/// the consumer (in the measured phase).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Backpressure {
    /// Messages sent.
    pub sends: u64,
    /// Of those, how many found the window full: their sender read
    /// acknowledgements before it could send (at least one in every
    /// `window - ack_interval` once the window has filled).
    pub waits: u64,
    /// Time spent reading those acknowledgements: the consumer's share
    /// of the pace. Near zero when the acknowledgement was already there.
    #[serde(default)]
    pub wait_secs: f64,
}

impl Backpressure {
    /// The share of `elapsed_secs` the sender spent waiting, 0 to 1.
    pub fn waiting_share(&self, elapsed_secs: f64) -> f64 {
        if elapsed_secs > 0.0 {
            (self.wait_secs / elapsed_secs).min(1.0)
        } else {
            0.0
        }
    }
}

/// How a run's messages met the transport: whether the codec encoded
/// straight into the transport's slot, and whether the receiver decoded
/// them where they lay. Both processes take the same path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MessagePath {
    /// `in-slot`: encoded into the slot the transport lent; `copied`:
    /// encoded into a buffer, then copied into the transport.
    pub send: PathKind,
    /// `in-slot`: decoded from the shared memory it arrived in; `copied`:
    /// decoded from a copy (a socket's read, a queue's pop).
    pub receive: PathKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PathKind {
    InSlot,
    Copied,
}

impl PathKind {
    pub fn from_in_slot(in_slot: bool) -> Self {
        if in_slot {
            PathKind::InSlot
        } else {
            PathKind::Copied
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            PathKind::InSlot => "in-slot",
            PathKind::Copied => "copied",
        }
    }
}

/// How many bytes a round trip put on the wire, each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WireBytes {
    pub ping: usize,
    pub pong: usize,
}
