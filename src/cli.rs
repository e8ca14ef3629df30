//! Command-line parsing and validation. Every user input is checked here,
//! before anything is spawned, and a bad one ends in exit code 2 with one line
//! naming the flag or variable, the value and what is accepted.

use crate::engine::EngineConfig;
use crate::liveness;
use crate::matrix::{self, MatrixSpec};
use crate::message::Complexity;
use crate::placement::{self, PinMode};
use crate::result::DEFAULT_PAYLOAD_BYTES;
use crate::runner::{run_case, BadSetup, CaseSpec, Interrupted};
use crate::table::Format;
use crate::transport::{IoxPattern, WaitStrategy, DEFAULT_QUEUE_REGION_BYTES};
use crate::{child, compare, plot, summary, transport};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Exit code for bad input, as clap uses.
pub const EXIT_USAGE: u8 = 2;
/// Exit code for a run that failed.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code after Ctrl-C, by shell convention (128 + SIGINT).
pub const EXIT_INTERRUPTED: u8 = 130;

use crate::handshake::MAX_PAYLOAD_BYTES;
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
    Matrix(MatrixArgs),
    /// Show result files as a table, or compare two sets of them.
    #[command(allow_negative_numbers = true)]
    Compare(CompareArgs),
    /// Draw SVG charts of result files.
    Plot(PlotArgs),
    /// Remove shared-memory regions and socket directories left by ipc-bench processes that no longer exist.
    Clean(CleanArgs),
}

#[derive(Args, Debug)]
pub struct CleanArgs {
    /// Only list what would be removed.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args, Debug)]
pub struct MatrixArgs {
    /// Transports, comma-separated [default: all of them].
    #[arg(long, value_delimiter = ',', value_parser = parse_transport)]
    pub transports: Vec<String>,
    /// raw-sync wait strategies to include, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "spin", value_parser = parse_wait)]
    pub waits: Vec<WaitStrategy>,
    /// iceoryx2 messaging patterns to include, comma-separated: publish-subscribe, request-response.
    #[arg(long, value_delimiter = ',', default_value = "publish-subscribe", value_parser = parse_iox_pattern)]
    pub iox_patterns: Vec<IoxPattern>,
    /// Codecs for structured messages, comma-separated [default: every compiled codec].
    #[arg(long, value_delimiter = ',', value_parser = parse_codec)]
    pub codecs: Vec<String>,
    /// Complexities, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "raw-string,structured", value_parser = parse_complexity)]
    pub complexities: Vec<Complexity>,
    /// Payload sizes in bytes, comma-separated.
    #[arg(long = "payload-bytes", value_delimiter = ',', default_value = "32", value_parser = parse_payload)]
    pub payloads: Vec<usize>,
    /// Placements, comma-separated: none, cross, same.
    #[arg(long, value_delimiter = ',', default_value = "none", value_parser = parse_pin)]
    pub pin: Vec<PinMode>,
    /// Measured seconds per case.
    #[arg(long, short, env = "TEST_DURATION_SECONDS", default_value = "2", value_name = "SECONDS",
          value_parser = seconds_parser("TEST_DURATION_SECONDS", false))]
    pub duration: f64,
    /// Warm-up seconds per case.
    #[arg(long, short, env = "WARMUP_SECONDS", default_value = "0.5", value_name = "SECONDS",
          value_parser = seconds_parser("WARMUP_SECONDS", true))]
    pub warmup: f64,
    #[command(flatten)]
    pub common: CommonArgs,
    /// Add a column with each row's throughput relative to this transport
    /// (e.g. raw-sync-spin) for the same codec, complexity, payload and placement.
    #[arg(long, value_name = "TRANSPORT")]
    pub reference: Option<String>,
    /// How to print the final table: table, markdown, csv or json.
    #[arg(long, default_value = "table", value_parser = parse_format)]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// A result file or directory (set A).
    pub a: PathBuf,
    /// A second result file or directory (set B), to compare with A.
    pub b: Option<PathBuf>,
    /// Pivot codecs into columns (one set only).
    #[arg(long, value_parser = ["codec"])]
    pub by: Option<String>,
    /// Output format: table, markdown, csv or json.
    #[arg(long, default_value = "table", value_parser = parse_format)]
    pub format: Format,
    /// Also write the table as Markdown to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub export_markdown: Option<PathBuf>,
    /// Changes within ± this many percent count as "no change".
    #[arg(long, default_value = "5", value_name = "PERCENT", value_parser = parse_threshold)]
    pub threshold: f64,
    /// Add a column relative to this transport (e.g. raw-sync-spin), one set only.
    #[arg(long, value_name = "TRANSPORT")]
    pub reference: Option<String>,
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
pub struct RunArgs {
    /// Transport to measure.
    #[arg(long, short, env = "TRANSPORT", default_value = "ipcc", value_parser = parse_transport)]
    pub transport: String,
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

    /// Message complexity: raw-string (no codec) or structured (alias: json).
    #[arg(long, env = "RPC_MESSAGE_COMPLEXITY", default_value = "structured", value_parser = parse_complexity)]
    pub complexity: Complexity,

    /// Payload size in bytes carried by every ping and echoed by every pong.
    #[arg(long, env = "PAYLOAD_BYTES", default_value_t = DEFAULT_PAYLOAD_BYTES, value_parser = parse_payload)]
    pub payload_bytes: usize,

    /// Measured time in seconds (fractions allowed).
    #[arg(long, short, env = "TEST_DURATION_SECONDS", default_value = "10", value_name = "SECONDS",
          value_parser = seconds_parser("TEST_DURATION_SECONDS", false))]
    pub duration: f64,

    /// Warm-up time in seconds before measuring (not counted; 0 allowed).
    #[arg(long, short, env = "WARMUP_SECONDS", default_value = "1", value_name = "SECONDS",
          value_parser = seconds_parser("WARMUP_SECONDS", true))]
    pub warmup: f64,

    /// CPU placement: none, cross (parent and child on different cores) or same (one core).
    #[arg(long, env = "PIN", default_value = "none", value_parser = parse_pin)]
    pub pin: PinMode,

    #[command(flatten)]
    pub common: CommonArgs,

    /// Print the result document as JSON on stdout instead of the summary.
    #[arg(long)]
    pub json: bool,

    /// Executable to run as the child [default: this executable; or the transport's
    /// *_CHILD_BIN_PATH variable, such as IPCC_CHILD_BIN_PATH].
    #[arg(long, value_name = "PATH")]
    pub child_bin: Option<PathBuf>,

    /// How raw-sync waits: spin (busy-poll, the seed's choice) or block (mutex and condition variable).
    #[arg(long, env = "WAIT_STRATEGY", default_value = "spin", value_parser = parse_wait)]
    pub wait: WaitStrategy,

    /// Which iceoryx2 messaging pattern carries the messages: publish-subscribe (a ping and a pong
    /// service) or request-response (one service, the parent as client).
    #[arg(long, env = "IOX_PATTERN", default_value = "publish-subscribe", value_parser = parse_iox_pattern)]
    pub iox_pattern: IoxPattern,
}

/// Options with the same meaning and default in `run`, `matrix` and the parent binaries.
#[derive(Args, Debug, Clone)]
pub struct CommonArgs {
    /// Do not time each round trip (throughput only, no percentiles).
    #[arg(long)]
    pub no_latency: bool,

    /// Directory for result files (and a matrix's summary).
    #[arg(long, env = "RESULTS_DIR", default_value = "results/local")]
    pub results_dir: PathBuf,

    /// Bytes of shared memory for shared-mem-queue; each direction gets half.
    #[arg(long, env = "SHARED_MEM_QUEUE_SHARED_REGION_LEN_BYTES", default_value_t = DEFAULT_QUEUE_REGION_BYTES,
          value_name = "BYTES", value_parser = parse_region)]
    pub queue_region_bytes: usize,

    /// Seconds each handshake step may take before the parent gives up.
    #[arg(long, env = "HANDSHAKE_TIMEOUT_SECONDS", default_value = "10", value_name = "SECONDS",
          value_parser = seconds_parser("HANDSHAKE_TIMEOUT_SECONDS", false))]
    pub handshake_timeout: f64,
}

/// A bad input, reported as one line and exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

fn parse_transport(value: &str) -> Result<String, String> {
    match transport::lookup(value) {
        Some(info) => Ok(info.name.to_string()),
        None => match transport::feature_for(value) {
            Some(feature) => Err(format!(
                "not compiled into this executable (TRANSPORT); build with `--features {feature}` (or `--features full`)"
            )),
            None => Err(format!(
                "unknown transport (TRANSPORT); accepted: {}",
                transport::names()
            )),
        },
    }
}

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

fn parse_complexity(value: &str) -> Result<Complexity, String> {
    Complexity::parse(value).ok_or_else(|| {
        format!(
            "unknown complexity (RPC_MESSAGE_COMPLEXITY); accepted: {}",
            Complexity::ACCEPTED
        )
    })
}

fn parse_pin(value: &str) -> Result<PinMode, String> {
    PinMode::parse(value)
        .ok_or_else(|| format!("unknown placement (PIN); accepted: {}", PinMode::ACCEPTED))
}

fn parse_wait(value: &str) -> Result<WaitStrategy, String> {
    WaitStrategy::parse(value).ok_or_else(|| {
        format!(
            "unknown wait strategy (WAIT_STRATEGY); accepted: {}",
            WaitStrategy::ACCEPTED
        )
    })
}

fn parse_iox_pattern(value: &str) -> Result<IoxPattern, String> {
    IoxPattern::parse(value).ok_or_else(|| {
        format!(
            "unknown iceoryx2 pattern (IOX_PATTERN); accepted: {}",
            IoxPattern::ACCEPTED
        )
    })
}

use crate::transport::shared_mem_queue::{
    MAX_REGION_BYTES as MAX_QUEUE_REGION_BYTES, MIN_REGION_BYTES as MIN_QUEUE_REGION_BYTES,
};

fn parse_region(value: &str) -> Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(n) if (MIN_QUEUE_REGION_BYTES..=MAX_QUEUE_REGION_BYTES).contains(&n) => Ok(n),
        _ => Err(format!(
            "accepted: a whole number of bytes from {MIN_QUEUE_REGION_BYTES} to {MAX_QUEUE_REGION_BYTES} (SHARED_MEM_QUEUE_SHARED_REGION_LEN_BYTES)"
        )),
    }
}

fn parse_format(value: &str) -> Result<Format, String> {
    Format::parse(value).ok_or_else(|| format!("unknown format; accepted: {}", Format::ACCEPTED))
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

impl CaseArgs {
    /// Checks what the parsers cannot see alone and builds the case.
    pub fn to_spec(&self, transport: &str) -> Result<CaseSpec, UsageError> {
        let (codec, codec_reason) = match &self.codec {
            Some(codec) => (codec.clone(), "chosen with --codec or CODEC".to_string()),
            None => {
                let default = codecs::default_codec();
                (
                    default.name.to_string(),
                    format!("{}; --codec or CODEC to choose", default.reason),
                )
            }
        };
        if self.complexity == Complexity::Structured {
            codecs::lookup(&codec).map_err(|e| {
                UsageError(format!("invalid value '{codec}' for --codec/CODEC: {e}"))
            })?;
        }
        placement::plan(self.pin).map_err(|e| {
            UsageError(format!(
                "invalid value '{}' for --pin/PIN: {e}",
                self.pin.name()
            ))
        })?;
        let info =
            transport::lookup(transport).expect("transport names are validated by the parser");
        let child_bin = match &self.child_bin {
            Some(path) => Some(check_executable("--child-bin", path)?),
            None => match std::env::var_os(info.child_bin_env) {
                Some(path) if !path.is_empty() => {
                    Some(check_executable(info.child_bin_env, Path::new(&path))?)
                }
                _ => None,
            },
        };
        Ok(CaseSpec {
            transport: transport.to_string(),
            codec,
            codec_reason,
            complexity: self.complexity,
            payload_bytes: self.payload_bytes,
            pin: self.pin,
            engine: EngineConfig {
                warmup: Duration::from_secs_f64(self.warmup),
                duration: Duration::from_secs_f64(self.duration),
                record_latency: !self.common.no_latency,
            },
            child_bin,
            handshake_timeout: Duration::from_secs_f64(self.common.handshake_timeout),
            announce_phases: true,
            wait: self.wait,
            iox_pattern: self.iox_pattern,
            queue_region_bytes: self.common.queue_region_bytes,
        })
    }
}

fn check_executable(name: &str, path: &Path) -> Result<PathBuf, UsageError> {
    let bad = |why: &str| {
        UsageError(format!(
            "invalid value '{}' for {name}: {why}; accepted: the path of an executable ipc-bench child (such as target/release/ipcc-child)",
            path.display()
        ))
    };
    let meta = std::fs::metadata(path).map_err(|_| bad("no such file"))?;
    if meta.is_dir() {
        return Err(bad("it is a directory"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o111 == 0 {
            return Err(bad("it is not executable"));
        }
    }
    Ok(path.to_path_buf())
}

/// Prints a clap error as one line (or help/version as clap would) and gives the exit code.
fn clap_exit(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match error.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = error.print();
            ExitCode::from(if error.use_stderr() { EXIT_USAGE } else { 0 })
        }
        _ => {
            let text = error.to_string();
            // The first paragraph (say, "required arguments were not provided:"
            // and the list of them), folded into one line.
            let first: Vec<&str> = text
                .lines()
                .map(str::trim)
                .skip_while(|l| l.is_empty())
                .take_while(|l| !l.is_empty())
                .collect();
            let first = if first.is_empty() {
                "error: invalid arguments".to_string()
            } else {
                first.join(" ")
            };
            // clap lists accepted values on a line of their own; keep them on ours.
            match text
                .lines()
                .map(str::trim)
                .find(|l| l.starts_with("[possible values:"))
            {
                Some(accepted) => eprintln!("{first} {accepted}"),
                None => eprintln!("{first}"),
            }
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn usage_exit(error: UsageError) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(EXIT_USAGE)
}

/// `main` of the `ipc-bench` executable.
pub fn main() -> ExitCode {
    if child::is_child_role() {
        return child::main();
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(e),
    };
    match cli.command {
        Some(Command::Run(args)) => run_and_report(&args.transport, &args.case),
        Some(Command::Matrix(args)) => matrix(&args),
        Some(Command::Compare(args)) => compare(&args),
        Some(Command::Plot(args)) => plot(&args),
        Some(Command::Clean(args)) => clean(args.dry_run),
        None => matrix(&cli.matrix),
    }
}

/// `main` of a per-transport parent binary such as `ipcc-parent`.
pub fn transport_parent_main(transport: &'static str) -> ExitCode {
    if child::is_child_role() {
        return child::main();
    }
    #[derive(Parser, Debug)]
    #[command(version, allow_negative_numbers = true)]
    struct TransportParent {
        #[command(flatten)]
        case: CaseArgs,
    }
    let command = TransportParent::command()
        .name(format!("{transport}-parent"))
        .about(format!(
            "Parent side of the {transport} ping-pong benchmark (same options as `ipc-bench run`)"
        ));
    let parsed = command
        .try_get_matches()
        .and_then(|m| TransportParent::from_arg_matches(&m));
    match parsed {
        Ok(args) => run_and_report(transport, &args.case),
        Err(e) => clap_exit(e),
    }
}

/// `main` of a per-transport child binary such as `ipcc-child`.
pub fn transport_child_main() -> ExitCode {
    child::main()
}

/// The transport labels (`raw-sync-spin`, `ipcc`, ...) users can name as a reference.
fn transport_labels() -> Vec<String> {
    transport::labels().into_iter().map(|l| l.label).collect()
}

fn check_reference(reference: &Option<String>) -> Result<(), UsageError> {
    match reference {
        Some(r) if !transport_labels().contains(r) => Err(UsageError(format!(
            "invalid value '{r}' for --reference; accepted: {}",
            transport_labels().join(", ")
        ))),
        _ => Ok(()),
    }
}

impl MatrixArgs {
    fn to_spec(&self) -> Result<MatrixSpec, UsageError> {
        check_reference(&self.reference)?;
        let codecs = if self.codecs.is_empty() {
            codecs::compiled_names()
                .into_iter()
                .map(String::from)
                .collect()
        } else {
            for codec in &self.codecs {
                codecs::lookup(codec).map_err(|e| {
                    UsageError(format!("invalid value '{codec}' for --codecs: {e}"))
                })?;
            }
            self.codecs.clone()
        };
        for &pin in &self.pin {
            placement::plan(pin).map_err(|e| {
                UsageError(format!("invalid value '{}' for --pin: {e}", pin.name()))
            })?;
        }
        let transports = if self.transports.is_empty() {
            transport::TRANSPORTS
                .iter()
                .map(|t| t.name.to_string())
                .collect()
        } else {
            self.transports.clone()
        };
        Ok(MatrixSpec {
            transports,
            waits: self.waits.clone(),
            iox_patterns: self.iox_patterns.clone(),
            codecs,
            complexities: self.complexities.clone(),
            payloads: self.payloads.clone(),
            pins: self.pin.clone(),
            template: CaseSpec {
                transport: String::new(),
                codec: String::new(),
                codec_reason: "one of the matrix's codecs".into(),
                complexity: Complexity::Structured,
                payload_bytes: DEFAULT_PAYLOAD_BYTES,
                pin: PinMode::None,
                engine: EngineConfig {
                    warmup: Duration::from_secs_f64(self.warmup),
                    duration: Duration::from_secs_f64(self.duration),
                    record_latency: !self.common.no_latency,
                },
                child_bin: None,
                handshake_timeout: Duration::from_secs_f64(self.common.handshake_timeout),
                announce_phases: false,
                wait: WaitStrategy::Spin,
                iox_pattern: IoxPattern::PublishSubscribe,
                queue_region_bytes: self.common.queue_region_bytes,
            },
        })
    }
}

fn matrix(args: &MatrixArgs) -> ExitCode {
    let spec = match args.to_spec() {
        Ok(spec) => spec,
        Err(e) => return usage_exit(e),
    };
    if let Err(e) = liveness::install_signal_handler() {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_FAILURE);
    }
    let debug = crate::machine::build_profile() == "debug";
    if debug {
        eprintln!("warning: {}", summary::DEBUG_BUILD_WARNING);
    }
    let cases = matrix::plan(&spec);
    let mut bar = matrix::Bar::new(cases.len());
    let outcome = match matrix::run(&cases, &args.common.results_dir, &mut bar) {
        Ok(outcome) => outcome,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    if !outcome.results.is_empty() {
        print!(
            "{}",
            compare::single(&outcome.results, args.reference.as_deref()).render(args.format)
        );
    }
    let failures: Vec<_> = outcome.failures().collect();
    for failure in &failures {
        eprintln!(
            "failed: {}: {}",
            failure.case,
            failure.error.as_deref().unwrap_or("unknown error")
        );
    }
    eprintln!(
        "{} of {} cases measured; results and {} in {}",
        outcome.results.len(),
        cases.len(),
        compare::MATRIX_SUMMARY_FILE,
        args.common.results_dir.display()
    );
    if debug {
        eprintln!("warning: {}", summary::DEBUG_BUILD_WARNING);
    }
    if outcome.interrupted {
        eprintln!("error: {Interrupted}");
        ExitCode::from(EXIT_INTERRUPTED)
    } else if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILURE)
    }
}

fn compare(args: &CompareArgs) -> ExitCode {
    if let Err(e) = check_reference(&args.reference) {
        return usage_exit(e);
    }
    let load = |path: &PathBuf| compare::load(std::slice::from_ref(path));
    let table = match (load(&args.a), args.b.as_ref().map(load)) {
        (Err(e), _) | (_, Some(Err(e))) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(EXIT_FAILURE);
        }
        (Ok(a), None) if args.by.is_some() => compare::by_codec(&a),
        (Ok(a), None) => compare::single(&a, args.reference.as_deref()),
        (Ok(a), Some(Ok(b))) => {
            if let Some(warning) = compare::build_mismatch(&a, &b) {
                eprintln!("warning: {warning}");
            }
            compare::pair(&a, &b, args.threshold)
        }
    };
    print!("{}", table.render(args.format));
    if let Some(path) = &args.export_markdown {
        let markdown = table.render(Format::Markdown);
        if path.as_os_str() == "-" {
            print!("{markdown}");
        } else if let Err(e) = std::fs::write(path, markdown) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::from(EXIT_FAILURE);
        }
    }
    ExitCode::SUCCESS
}

fn plot(args: &PlotArgs) -> ExitCode {
    let results = match compare::load(&args.inputs) {
        Ok(results) => results,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let out = args.out.clone().unwrap_or_else(|| {
        let first = &args.inputs[0];
        if first.is_dir() {
            first.clone()
        } else {
            first
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
        }
    });
    match plot::write_all(&results, &out) {
        Ok(files) => {
            for file in files {
                println!("wrote {}", file.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

fn clean(dry_run: bool) -> ExitCode {
    let report = match transport::sweep_stale(dry_run) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: cannot sweep stale resources: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    if report.removed.is_empty() {
        println!("nothing stale: no shared-memory region, socket directory or transport resource of a dead process");
    }
    let verb = if dry_run { "would remove" } else { "removed" };
    for resource in &report.removed {
        println!(
            "{verb} {} {} (its process {} no longer exists)",
            resource.kind,
            resource.path.display(),
            resource.pid
        );
    }
    for left in &report.left_alone {
        println!("left alone {}: {}", left.path.display(), left.why);
    }
    ExitCode::SUCCESS
}

fn run_and_report(transport: &str, args: &CaseArgs) -> ExitCode {
    let spec = match args.to_spec(transport) {
        Ok(spec) => spec,
        Err(e) => return usage_exit(e),
    };
    if let Err(e) = liveness::install_signal_handler() {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_FAILURE);
    }
    let result = match run_case(&spec) {
        Ok(result) => result,
        Err(e) if e.is::<BadSetup>() => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
        Err(e) if e.is::<Interrupted>() || liveness::interrupted() => {
            eprintln!("error: {}", Interrupted);
            return ExitCode::from(EXIT_INTERRUPTED);
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let saved = match result.write_to_dir(&args.common.results_dir) {
        Ok(path) => path,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&result).expect("results serialize")
        );
    } else {
        print!(
            "{}",
            summary::render(&result, Some(&saved), Some(&spec.codec_reason))
        );
    }
    ExitCode::SUCCESS
}
