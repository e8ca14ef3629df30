//! The command line's definitions: every subcommand's flags, their
//! variables, defaults and value parsers. Nothing here runs anything:
//! `spec` turns parsed flags into validated cases, and `cmd` holds one
//! module per subcommand. A transport's own flags are declared in its file
//! and reach these structs through the registry (`AllRunFlags`,
//! `AllMatrixFlags`).

use crate::measure::handshake::MAX_PAYLOAD_BYTES;
use crate::record::traffic::{MAX_CHILDREN, MAX_RATE_PER_SEC, MAX_WINDOW};
use crate::record::Complexity;
use crate::record::Pattern;
use crate::record::PinMode;
use crate::record::DEFAULT_PAYLOAD_BYTES;
use crate::report::table::Format;
use crate::transport::{AllMatrixFlags, AllRunFlags, TransportId};
use crate::util::parse::enum_parser;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Longest run accepted, in seconds (one day).
const MAX_SECONDS: f64 = 86_400.0;

#[derive(Parser, Debug)]
#[command(
    name = "ipc-bench",
    version,
    about = "Measure inter-process transports and serialization formats with a verified parent/child ping-pong",
    long_about = "Measure inter-process transports and serialization formats with a verified parent/child ping-pong.\n\nWith no subcommand, `ipc-bench [OPTIONS]` is `ipc-bench matrix [OPTIONS]`: a short run of every compiled transport, codec and complexity, printed as one table.",
    allow_negative_numbers = true,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of `matrix`, for when no subcommand is given.
    #[command(flatten)]
    pub matrix: MatrixArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run one case (transport × codec × complexity) and write its result file.
    #[command(allow_negative_numbers = true)]
    Run(RunArgs),
    /// Run every combination of transports, codecs, complexities, payloads and placements.
    #[command(allow_negative_numbers = true)]
    Matrix(Box<MatrixArgs>),
    /// Show result files as a table, or compare two sets of them.
    #[command(allow_negative_numbers = true)]
    Compare(CompareArgs),
    /// Measure the codecs alone, in one process with no transport: encode and
    /// decode time, wire and zstd-compressed size, for every codec × shape × payload.
    #[command(allow_negative_numbers = true)]
    Codecs(CodecsArgs),
    /// Draw SVG charts of result files (and of a codecs.json).
    Plot(PlotArgs),
    /// Write one self-contained HTML page of a result set: the machine, the
    /// warnings, the ranked table (sortable, filterable), each case's rounds
    /// and the charts.
    Report(ReportArgs),
    /// Pick the transports and codecs that meet a service's constraints at
    /// its rate, from result files: ranked, with the figure that left out
    /// each other case; exit 1 when none meets them.
    Pick(PickArgs),
    /// Remove shared-memory regions and socket directories left by ipc-bench processes that no longer exist.
    Clean(CleanArgs),
    /// Report what on this machine makes figures noisy, with advice.
    #[command(allow_negative_numbers = true)]
    Doctor(DoctorArgs),
}

#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// Seconds to watch the machine (steal time, busy programs).
    #[arg(long, default_value = "1", value_name = "SECONDS",
          value_parser = seconds_parser("--watch", false))]
    pub watch: f64,
}

#[derive(Args, Debug)]
pub struct CleanArgs {
    /// Only list what would be removed.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args, Debug)]
pub struct MatrixArgs {
    /// Transports, comma-separated [default: all but futex, udp, unix-datagram and posix-mq].
    #[arg(long, value_delimiter = ',', value_parser = parse_transport)]
    pub transports: Vec<TransportId>,
    /// Which variants of each transport to include (raw-sync's --waits,
    /// iceoryx2's --iox-patterns, ...): declared by the transports.
    #[command(flatten)]
    pub transport_flags: AllMatrixFlags,
    /// Codecs for structured messages, comma-separated [default: every compiled codec, but cbor when msgpack is, and bincode when postcard is].
    #[arg(long, value_delimiter = ',', value_parser = parse_codec)]
    pub codecs: Vec<String>,
    /// Complexities, comma-separated [default: raw-string,structured; in a
    /// program with message types of its own, or with --messages, those].
    #[arg(long, value_delimiter = ',',
          value_parser = complexity_parser("RPC_MESSAGE_COMPLEXITY"))]
    pub complexities: Vec<Complexity>,
    /// A file of your own messages, one JSON value per line, measured as a
    /// shape named after the file (json, msgpack and cbor carry them).
    #[arg(long, value_name = "FILE")]
    pub messages: Option<PathBuf>,
    /// Payload sizes in bytes, comma-separated.
    #[arg(long = "payload-bytes", value_delimiter = ',', default_value = "32", value_parser = parse_payload)]
    pub payloads: Vec<usize>,
    /// Placements, comma-separated: none, cross, same.
    #[arg(long, value_delimiter = ',', default_value = "none",
          value_parser = enum_parser::<PinMode>("placement", "PIN"))]
    pub pin: Vec<PinMode>,
    /// Traffic patterns, comma-separated: ping-pong (closed loop), rate
    /// (fixed offered load, once per --rates entry), stream (one-way, once
    /// per --windows entry).
    #[arg(long, value_delimiter = ',', default_value = "ping-pong",
          value_parser = enum_parser::<Pattern>("pattern", "--patterns"))]
    pub patterns: Vec<Pattern>,
    /// Offered loads for the rate pattern, requests per second, comma-separated
    /// (10000, 10k, 1M) [default: 1k,10k,100k].
    #[arg(long, value_delimiter = ',', value_parser = rate_parser("--rates"))]
    pub rates: Vec<u64>,
    /// Windows for the stream pattern, messages unacknowledged at once,
    /// comma-separated [default: 1,16,256].
    #[arg(long, value_delimiter = ',', value_parser = window_parser("--windows"))]
    pub windows: Vec<u32>,
    /// Children per ping, comma-separated: each ping goes to every child and
    /// a round trip ends when all have answered (1: the ordinary run).
    #[arg(long, value_delimiter = ',', default_value = "1", value_parser = children_parser("--children"))]
    pub children: Vec<u32>,
    /// Measured seconds per case in each round: many short rounds make a
    /// tighter interval than a few long ones in the same time.
    #[arg(long, short, env = "TEST_DURATION_SECONDS", default_value = "0.1", value_name = "SECONDS",
          value_parser = seconds_parser("TEST_DURATION_SECONDS", false))]
    pub duration: f64,
    /// Warm-up seconds per case in each round: the longest, unless
    /// --fixed-warmup (a ping-pong's warm-up ends once its pace has settled).
    #[arg(long, short, env = "WARMUP_SECONDS", default_value = "0.1", value_name = "SECONDS",
          value_parser = seconds_parser("WARMUP_SECONDS", true))]
    pub warmup: f64,
    /// Planned rounds: every case runs once per round, in a fresh shuffled
    /// order each round, and its figures are the median over rounds with a
    /// 95 % interval (6 or more rounds reach 95 %); cases not yet within
    /// --precision then get more.
    #[arg(long, env = "ROUNDS", default_value_t = crate::report::stopping::DEFAULT_ROUNDS, value_parser = parse_rounds)]
    pub rounds: usize,
    /// Seed of the shuffled order [default: a random one, recorded in every
    /// result file, so that --seed replays an order].
    #[arg(long, value_parser = parse_seed)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub common: CommonArgs,
    /// Add a column with each row's throughput relative to this transport
    /// (e.g. spin) for the same codec, complexity, payload and placement. The
    /// reference case runs next to the cases it is compared with in every
    /// round, and the column shows the median of the per-round ratios.
    #[arg(long, value_name = "TRANSPORT")]
    pub reference: Option<String>,
    /// How to print the final table: table, markdown, csv or json.
    #[arg(long, default_value = "table", value_parser = enum_parser::<Format>("format", "--format"))]
    pub format: Format,
    /// Also write report.html, one self-contained page of the results, into
    /// the results directory at the end (the bare `ipc-bench`, with no
    /// command, always does).
    #[arg(long)]
    pub report: bool,
}

#[derive(Args, Debug)]
pub struct CodecsArgs {
    /// Codecs, comma-separated [default: every compiled codec].
    #[arg(long, value_delimiter = ',', value_parser = parse_codec)]
    pub codecs: Vec<String>,
    /// Message shapes, comma-separated (raw-string has no codec and is
    /// refused) [default: structured,log,numeric,nested, and the program's
    /// own shapes and --messages' if any].
    #[arg(long, value_delimiter = ',',
          value_parser = complexity_parser("--complexities"))]
    pub complexities: Vec<Complexity>,
    /// A file of your own messages, one JSON value per line (see `matrix --messages`).
    #[arg(long, value_name = "FILE")]
    pub messages: Option<PathBuf>,
    /// Payload sizes in bytes, comma-separated (how each shape grows with it: see docs/codecs.md).
    #[arg(long = "payload-bytes", value_delimiter = ',', default_value = "32,1024,65536", value_parser = parse_payload)]
    pub payloads: Vec<usize>,
    /// Rounds: every case is measured once per round, in a fresh shuffled
    /// order; figures are medians over rounds with a 95 % interval.
    #[arg(long, env = "ROUNDS", default_value = "6", value_parser = parse_rounds)]
    pub rounds: usize,
    /// Seconds spent on each figure (encode, decode, access) of each case in each round.
    #[arg(long, default_value = "0.02", value_name = "SECONDS",
          value_parser = seconds_parser("--budget", false))]
    pub budget: f64,
    /// Seed of the shuffled order [default: a random one, recorded in the report].
    #[arg(long, value_parser = parse_seed)]
    pub seed: Option<u64>,
    /// Directory for codecs.json.
    #[arg(long, env = "RESULTS_DIR", default_value = "results/local")]
    pub results_dir: PathBuf,
    /// How to print the table: table, markdown, csv or json.
    #[arg(long, default_value = "table", value_parser = enum_parser::<Format>("format", "--format"))]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct PickArgs {
    /// A directory of result files, or one file [default: --results-dir].
    pub dir: Option<PathBuf>,
    /// Where results are when no directory is given.
    #[arg(long, env = "RESULTS_DIR", default_value = "results/local")]
    pub results_dir: PathBuf,
    /// The rate the service runs at: max (flat out, the closed loop), or
    /// requests per second (100, 10k), as the results were measured with
    /// --pattern rate.
    #[arg(long, value_name = "RATE", value_parser = pick_rate)]
    pub rate: PickRate,
    /// The highest p99 latency allowed, with its unit (100us, 1.5ms): at a
    /// fixed rate from each request's due time.
    #[arg(long, value_name = "TIME", value_parser = crate::util::parse::latency_ns)]
    pub p99: Option<f64>,
    /// The most CPU both processes may burn, in percent of one core (1,
    /// 0.5, 150).
    #[arg(long, value_name = "PERCENT", value_parser = |v: &str| crate::util::parse::percent_up_to(v, 100.0 * MAX_CORES))]
    pub cpu: Option<f64>,
    /// The most memory the transport may hold at one end (its buffers and
    /// shared memory): 64KiB, 1MiB, 4MB.
    #[arg(long, value_name = "SIZE", value_parser = crate::util::parse::size_bytes)]
    pub memory: Option<u64>,
    /// The highest share of a round trip the codec may take, in percent.
    #[arg(long, value_name = "PERCENT", value_parser = |v: &str| crate::util::parse::percent_up_to(v, 100.0))]
    pub codec_share: Option<f64>,
}

/// More cores than any machine this runs on: a `--cpu` above them is a typo.
const MAX_CORES: f64 = 1024.0;

/// `--rate` of `pick`: flat out, or requests per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PickRate(pub Option<u64>);

fn pick_rate(value: &str) -> Result<PickRate, String> {
    crate::util::parse::rate_or_max(value).map(PickRate)
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// A result file or directory (set A), or a codecs.json (from `ipc-bench
    /// codecs`); with --baseline, the set compared with the baseline
    /// [default: --results-dir].
    pub a: Option<PathBuf>,
    /// A second result file or directory (set B), to compare with A; after
    /// a codecs.json, results whose round trips per codec are shown beside it.
    pub b: Option<PathBuf>,
    /// Compare against the baseline saved under this name (`run` or `matrix`
    /// with --save-baseline): it is set A, and the results given (or those
    /// of --results-dir) set B.
    #[arg(long, value_name = "NAME")]
    pub baseline: Option<String>,
    /// Where the baselines are kept (in its `baselines` directory), and the
    /// set compared with one when none is given.
    #[arg(long, env = "RESULTS_DIR", default_value = "results/local")]
    pub results_dir: PathBuf,
    /// Exit 1 when a case's verdict is one of these, comma-separated:
    /// slower (B slower than A beyond --threshold), changed (slower or
    /// faster), inconclusive (the interval reaches both sides of it).
    #[arg(long, value_delimiter = ',', value_name = "VERDICTS",
          value_parser = enum_parser::<FailOn>("verdict", "--fail-on"))]
    pub fail_on: Vec<FailOn>,
    /// Pivot codecs into columns (one set only).
    #[arg(long, value_parser = ["codec"])]
    pub by: Option<String>,
    /// Output format: table, markdown, csv or json; or the set (B, when
    /// there are two) for a dashboard: bmf (Bencher), github-action-benchmark
    /// (round trips/s, customBiggerIsBetter) or github-action-benchmark-latency
    /// (p50, p99 and CPU per round trip, customSmallerIsBetter).
    #[arg(long, default_value = "table", value_parser = enum_parser::<CompareFormat>("format", "--format"))]
    pub format: CompareFormat,
    /// Also write the table as Markdown to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub export_markdown: Option<PathBuf>,
    /// A change is claimed only when the whole 95 % interval of B/A lies
    /// beyond ± this many percent, and "no change" only when it lies within.
    #[arg(long, default_value = "5", value_name = "PERCENT", value_parser = parse_threshold)]
    pub threshold: f64,
    /// Add a column relative to this transport (e.g. raw-sync-spin), one set only.
    #[arg(long, value_name = "TRANSPORT")]
    pub reference: Option<String>,
}

/// Which verdicts of `compare A B` end it with exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// B slower than A beyond the threshold.
    Slower,
    /// Slower or faster beyond the threshold.
    Changed,
    /// The interval reaches both within and beyond the threshold (or a set
    /// has a single round).
    Inconclusive,
}

/// How `compare` writes its answer: a table, or a set in a dashboard's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompareFormat {
    Table,
    #[value(alias = "md")]
    Markdown,
    Csv,
    Json,
    /// Bencher Metric Format.
    Bmf,
    /// github-action-benchmark, customBiggerIsBetter: round trips/s.
    GithubActionBenchmark,
    /// github-action-benchmark, customSmallerIsBetter: latency and CPU.
    GithubActionBenchmarkLatency,
}

impl CompareFormat {
    /// The table format, or `None` for a dashboard's export.
    pub fn table(self) -> Option<Format> {
        match self {
            CompareFormat::Table => Some(Format::Table),
            CompareFormat::Markdown => Some(Format::Markdown),
            CompareFormat::Csv => Some(Format::Csv),
            CompareFormat::Json => Some(Format::Json),
            _ => None,
        }
    }
}

#[derive(Args, Debug)]
pub struct PlotArgs {
    /// Result files or directories.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Directory for the SVG files [default: the first input directory].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A directory of result files (set A).
    pub input: PathBuf,
    /// A second directory (set B): the page shows B, and B against A with
    /// verdicts, as `compare A B` does.
    pub against: Option<PathBuf>,
    /// With two sets: a change is claimed only when the whole 95 % interval of
    /// B/A lies beyond ± this many percent.
    #[arg(long, default_value = "5", value_name = "PERCENT", value_parser = parse_threshold)]
    pub threshold: f64,
    /// The HTML file to write [default: report.html in the last input directory].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Add a column with each row's throughput relative to this transport.
    #[arg(long, value_name = "TRANSPORT")]
    pub reference: Option<String>,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Transport to measure.
    #[arg(long, short, env = "TRANSPORT", default_value = "ipcc", value_parser = parse_transport)]
    pub transport: TransportId,
    #[command(flatten)]
    pub case: CaseArgs,
}

/// The options shared by `ipc-bench run` and the per-transport parent binaries.
#[derive(Args, Debug, Clone)]
pub struct CaseArgs {
    /// Serialization codec for structured messages (json is always available)
    /// [default: the build's only optional codec when it has exactly one, as
    /// with `--features postcard`; json otherwise].
    #[arg(long, short, env = "CODEC", value_parser = parse_codec)]
    pub codec: Option<String>,

    /// Message complexity: raw-string (no codec), structured (alias: json),
    /// log, numeric, nested, or a shape of your own [default: structured; in
    /// a program with message types of its own, or with --messages, the
    /// first of those].
    #[arg(long, env = "RPC_MESSAGE_COMPLEXITY",
          value_parser = complexity_parser("RPC_MESSAGE_COMPLEXITY"))]
    pub complexity: Option<Complexity>,

    /// A file of your own messages, one JSON value per line, measured as a
    /// shape named after the file (json, msgpack and cbor carry them).
    #[arg(long, value_name = "FILE")]
    pub messages: Option<PathBuf>,

    /// Payload size in bytes carried by every ping and echoed by every pong.
    #[arg(long, env = "PAYLOAD_BYTES", default_value_t = DEFAULT_PAYLOAD_BYTES, value_parser = parse_payload)]
    pub payload_bytes: usize,

    /// Measured time of each round in seconds (fractions allowed).
    #[arg(long, short, env = "TEST_DURATION_SECONDS", default_value = "1.5", value_name = "SECONDS",
          value_parser = seconds_parser("TEST_DURATION_SECONDS", false))]
    pub duration: f64,

    /// Warm-up time of each round in seconds before measuring (not counted; 0 allowed).
    #[arg(long, short, env = "WARMUP_SECONDS", default_value = "0.3", value_name = "SECONDS",
          value_parser = seconds_parser("WARMUP_SECONDS", true))]
    pub warmup: f64,

    /// Rounds, each with a fresh child and its own warm-up; the figures are
    /// the median over rounds with a 95 % interval (6 or more rounds reach 95 %).
    #[arg(long, env = "ROUNDS", default_value = "6", value_parser = parse_rounds)]
    pub rounds: usize,

    /// CPU placement: none, cross (parent and child on different cores) or same (one core).
    #[arg(long, env = "PIN", default_value = "none",
          value_parser = enum_parser::<PinMode>("placement", "PIN"))]
    pub pin: PinMode,

    /// Traffic: ping-pong (closed loop: the next ping leaves when the pong
    /// arrives), rate (pings leave on a fixed schedule of --rate per second,
    /// latency also timed from each one's due time) or stream (one-way, as
    /// fast as the transport takes them, up to --window unacknowledged).
    #[arg(long, env = "PATTERN", default_value = "ping-pong",
          value_parser = enum_parser::<Pattern>("pattern", "PATTERN"))]
    pub pattern: Pattern,

    /// Offered load of the rate pattern, requests per second (10000, 10k, 1M)
    /// [default: 10k].
    #[arg(long, env = "RATE", value_parser = rate_parser("RATE"))]
    pub rate: Option<u64>,

    /// Messages the stream pattern may have unacknowledged at once; the
    /// child acknowledges every window/2 [default: 64].
    #[arg(long, env = "WINDOW", value_parser = window_parser("WINDOW"))]
    pub window: Option<u32>,

    /// Children, each with a transport of its own, that every ping goes to;
    /// a round trip ends when the last has answered (a fan-out).
    #[arg(long, env = "CHILDREN", default_value = "1", value_parser = children_parser("CHILDREN"))]
    pub children: u32,

    #[command(flatten)]
    pub common: CommonArgs,

    /// Every transport's own settings (raw-sync's --wait, iceoryx2's
    /// --iox-pattern, ...); each transport reads its own.
    #[command(flatten)]
    pub transport_flags: AllRunFlags,

    /// Print the result document as JSON on stdout instead of the summary.
    #[arg(long)]
    pub json: bool,

    /// Executable to run as the child [default: this executable; or the transport's
    /// *_CHILD_BIN_PATH variable, such as IPCC_CHILD_BIN_PATH].
    #[arg(long, value_name = "PATH")]
    pub child_bin: Option<PathBuf>,
}

/// Options with the same meaning and default in `run`, `matrix` and the parent binaries.
#[derive(Args, Debug, Clone)]
pub struct CommonArgs {
    /// Do not time each round trip (throughput only, no percentiles).
    #[arg(long)]
    pub no_latency: bool,

    /// Warm up for the whole --warmup every round. Without it, a ping-pong's
    /// warm-up ends as soon as two consecutive 10 ms windows' throughputs
    /// are within 5 % of each other, --warmup being its longest (the rate
    /// and stream patterns always warm up for all of it).
    #[arg(long, env = "FIXED_WARMUP")]
    pub fixed_warmup: bool,

    /// Directory for result files (and a matrix's summary).
    #[arg(long, env = "RESULTS_DIR", default_value = "results/local")]
    pub results_dir: PathBuf,
    /// Also keep this run's result files as a baseline of this name (under
    /// the results directory's `baselines`), for `compare --baseline NAME`.
    #[arg(long, value_name = "NAME")]
    pub save_baseline: Option<String>,

    /// Seconds each handshake step may take before the parent gives up.
    #[arg(long, env = "HANDSHAKE_TIMEOUT_SECONDS", default_value = "10", value_name = "SECONDS",
          value_parser = seconds_parser("HANDSHAKE_TIMEOUT_SECONDS", false))]
    pub handshake_timeout: f64,

    /// After the planned rounds, a case whose median's 95 % interval (a fixed
    /// rate's: its p50 from the due time's) is wider than ± this many percent
    /// gets more rounds, until it is within it, it reaches --max-rounds, or
    /// --max-time ends. 0: the planned rounds only.
    #[arg(long, env = "PRECISION", default_value = "5", value_name = "PERCENT",
          value_parser = precision_parser)]
    pub precision: f64,

    /// The most rounds a case may take while its interval is too wide.
    #[arg(long, env = "MAX_ROUNDS", default_value_t = crate::report::stopping::DEFAULT_MAX_ROUNDS,
          value_parser = max_rounds_parser)]
    pub max_rounds: usize,

    /// Seconds the whole run may take with its extra rounds (the planned
    /// rounds always run) [default: twice what the planned rounds took, and
    /// at least 30 s more than they took].
    #[arg(long, env = "MAX_TIME_SECONDS", value_name = "SECONDS",
          value_parser = seconds_parser("MAX_TIME_SECONDS", false))]
    pub max_time: Option<f64>,

    /// Seconds a running round may go without a reply, an acknowledgement
    /// or a stream send before the child is stopped and the round fails as
    /// stalled (plus one request's interval at a fixed rate, and time for
    /// very large messages).
    #[arg(long, env = "STALL_TIMEOUT_SECONDS", default_value = "3", value_name = "SECONDS",
          value_parser = seconds_parser("STALL_TIMEOUT_SECONDS", false))]
    pub stall_timeout: f64,
}

fn parse_transport(value: &str) -> Result<TransportId, String> {
    TransportId::parse(value).map_err(|_| match crate::transport::feature_for(value) {
        Some(feature) => format!(
            "not compiled into this executable (TRANSPORT); build with `--features {feature}` (or `--features full`)"
        ),
        None => format!(
            "unknown transport (TRANSPORT); accepted: {}",
            crate::transport::names()
        ),
    })
}

/// A codec name ipc-bench knows; whether this build has it is checked with
/// the rest of the case (`spec`), where the message can name the feature.
fn parse_codec(value: &str) -> Result<String, String> {
    let known: Vec<_> = codecs::CODECS.iter().map(|c| c.name).collect();
    if known.contains(&value) {
        Ok(value.to_string())
    } else {
        Err(format!(
            "unknown codec (CODEC); accepted: {}",
            known.join(", ")
        ))
    }
}

/// Most rounds accepted: far beyond any useful count, low enough that a
/// typo cannot start a week-long run.
const MAX_ROUNDS: usize = 1000;

fn parse_rounds(value: &str) -> Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_ROUNDS).contains(&n) => Ok(n),
        _ => Err(format!(
            "accepted: a whole number of rounds from 1 to {MAX_ROUNDS} (ROUNDS)"
        )),
    }
}

fn precision_parser(value: &str) -> Result<f64, String> {
    match value.trim().parse::<f64>() {
        Ok(p) if p.is_finite() && (0.0..100.0).contains(&p) => Ok(p / 100.0),
        _ => Err(
            "accepted: a percentage from 0 (the planned rounds only) to less than 100, like 5 or 2.5 (PRECISION)"
                .into(),
        ),
    }
}

fn max_rounds_parser(value: &str) -> Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_ROUNDS).contains(&n) => Ok(n),
        _ => Err(format!(
            "accepted: a whole number of rounds from 1 to {MAX_ROUNDS} (MAX_ROUNDS)"
        )),
    }
}

fn parse_seed(value: &str) -> Result<u64, String> {
    value
        .trim()
        .parse::<u64>()
        .map_err(|_| "accepted: a whole number from 0 to 18446744073709551615".to_string())
}

fn parse_threshold(value: &str) -> Result<f64, String> {
    match value.trim().parse::<f64>() {
        Ok(p) if p.is_finite() && (0.0..100.0).contains(&p) => Ok(p / 100.0),
        _ => Err("accepted: a percentage from 0 to less than 100, like 5 or 2.5".into()),
    }
}

fn parse_payload(value: &str) -> Result<usize, String> {
    let accepted =
        format!("accepted: a whole number of bytes from 0 to {MAX_PAYLOAD_BYTES} (PAYLOAD_BYTES)");
    match value.trim().parse::<usize>() {
        Ok(n) if n <= MAX_PAYLOAD_BYTES => Ok(n),
        _ => Err(accepted),
    }
}

/// Requests per second: a whole number, or one with a `k` (thousands) or
/// `M` (millions) after it.
fn rate_parser(
    source: &'static str,
) -> impl Fn(&str) -> Result<u64, String> + Clone + Send + Sync + 'static {
    move |value: &str| {
        match crate::util::parse::per_second(value) {
            Some(n) if (1..=MAX_RATE_PER_SEC).contains(&n) => Ok(n),
            _ => Err(format!(
                "accepted: requests per second from 1 to {MAX_RATE_PER_SEC}, a whole number with an optional k or M, like 5000, 10k or 1M ({source})"
            )),
        }
    }
}

fn children_parser(
    source: &'static str,
) -> impl Fn(&str) -> Result<u32, String> + Clone + Send + Sync + 'static {
    move |value: &str| match value.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_CHILDREN).contains(&n) => Ok(n),
        _ => Err(format!(
            "accepted: a whole number of children from 1 to {MAX_CHILDREN} ({source})"
        )),
    }
}

fn window_parser(
    source: &'static str,
) -> impl Fn(&str) -> Result<u32, String> + Clone + Send + Sync + 'static {
    move |value: &str| match value.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_WINDOW).contains(&n) => Ok(n),
        _ => Err(format!(
            "accepted: a whole number of messages in flight from 1 to {MAX_WINDOW} ({source})"
        )),
    }
}

fn seconds_parser(
    env: &'static str,
    allow_zero: bool,
) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync + 'static {
    move |value: &str| {
        let lowest = if allow_zero {
            "from 0"
        } else {
            "greater than 0"
        };
        let accepted = format!("accepted: seconds {lowest} up to {MAX_SECONDS}, fractions allowed, like 10 or 0.5 ({env})");
        match value.trim().parse::<f64>() {
            Ok(s) if s.is_finite() && s <= MAX_SECONDS && (s > 0.0 || (allow_zero && s == 0.0)) => {
                Ok(s)
            }
            _ => Err(accepted),
        }
    }
}

/// A parser for a shape's name: a built-in one (`json` is `structured`), or
/// a team's own registered by this program; refused with what is accepted.
fn complexity_parser(
    source: &'static str,
) -> impl Fn(&str) -> Result<Complexity, String> + Clone + Send + Sync + 'static {
    move |value: &str| {
        crate::measure::own::parse_complexity(value)
            .map_err(|accepted| format!("unknown complexity ({source}); accepted: {accepted}"))
    }
}
