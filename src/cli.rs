//! Command-line parsing and validation. Every user input is checked here,
//! before anything is spawned, and a bad one ends in exit code 2 with one line
//! naming the flag or variable, the value and what is accepted.

use crate::engine::EngineConfig;
use crate::liveness;
use crate::message::Complexity;
use crate::placement::{self, PinMode};
use crate::result::DEFAULT_PAYLOAD_BYTES;
use crate::runner::{run_case, BadSetup, CaseSpec, Interrupted};
use crate::transport::{WaitStrategy, DEFAULT_QUEUE_REGION_BYTES};
use crate::{child, summary, transport};
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

/// Largest payload accepted; far beyond any sensible IPC message.
const MAX_PAYLOAD_BYTES: usize = 256 * 1024 * 1024;
/// Longest run accepted, in seconds (one day).
const MAX_SECONDS: f64 = 86_400.0;

#[derive(Parser, Debug)]
#[command(
    name = "ipc-bench",
    version,
    about = "Measure inter-process transports and serialization formats with a verified parent/child ping-pong",
    long_about = "Measure inter-process transports and serialization formats with a verified parent/child ping-pong.\n\nWith no subcommand, `ipc-bench [OPTIONS]` is `ipc-bench run [OPTIONS]`.",
    allow_negative_numbers = true,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of `run`, for when no subcommand is given.
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run one case (transport × codec × complexity) and write its result file.
    #[command(allow_negative_numbers = true)]
    Run(RunArgs),
    /// Remove shared-memory regions left by ipc-bench processes that no longer exist.
    Clean(CleanArgs),
}

#[derive(Args, Debug)]
pub struct CleanArgs {
    /// Only list what would be removed.
    #[arg(long)]
    pub dry_run: bool,
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
    /// Serialization codec for structured messages (json is always available).
    #[arg(long, short, env = "CODEC", default_value = "json", value_parser = parse_codec)]
    pub codec: String,

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

    /// Do not time each round trip (throughput only, no percentiles).
    #[arg(long)]
    pub no_latency: bool,

    /// Directory for result files.
    #[arg(long, env = "RESULTS_DIR", default_value = "results/local")]
    pub results_dir: PathBuf,

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
        None => Err(format!(
            "unknown transport (TRANSPORT); accepted: {}",
            transport::names()
        )),
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

/// ByteQueue keeps u32 positions, so each half must stay below 4 GiB.
const MAX_QUEUE_REGION_BYTES: usize = 4 * 1024 * 1024 * 1024 - 16;
const MIN_QUEUE_REGION_BYTES: usize = 64;

fn parse_region(value: &str) -> Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(n) if (MIN_QUEUE_REGION_BYTES..=MAX_QUEUE_REGION_BYTES).contains(&n) => Ok(n),
        _ => Err(format!(
            "accepted: a whole number of bytes from {MIN_QUEUE_REGION_BYTES} to {MAX_QUEUE_REGION_BYTES} (SHARED_MEM_QUEUE_SHARED_REGION_LEN_BYTES)"
        )),
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
        if self.complexity == Complexity::Structured {
            codecs::lookup(&self.codec).map_err(|e| {
                UsageError(format!(
                    "invalid value '{}' for --codec/CODEC: {e}",
                    self.codec
                ))
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
            codec: self.codec.clone(),
            complexity: self.complexity,
            payload_bytes: self.payload_bytes,
            pin: self.pin,
            engine: EngineConfig {
                warmup: Duration::from_secs_f64(self.warmup),
                duration: Duration::from_secs_f64(self.duration),
                record_latency: !self.no_latency,
            },
            child_bin,
            handshake_timeout: Duration::from_secs_f64(self.handshake_timeout),
            wait: self.wait,
            queue_region_bytes: self.queue_region_bytes,
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
            let first = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments");
            eprintln!("{first}");
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
        Some(Command::Clean(args)) => clean(args.dry_run),
        None => run_and_report(&cli.run.transport, &cli.run.case),
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

fn clean(dry_run: bool) -> ExitCode {
    match transport::sweep_stale(dry_run) {
        Ok(stale) if stale.is_empty() => {
            println!("no stale ipc-bench shared-memory regions");
            ExitCode::SUCCESS
        }
        Ok(stale) => {
            let verb = if dry_run { "would remove" } else { "removed" };
            for region in stale {
                println!(
                    "{verb} {} (its process {} no longer exists)",
                    region.name, region.pid
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot sweep stale shared-memory regions: {e}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
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
    let saved = match result.write_to_dir(&args.results_dir) {
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
        print!("{}", summary::render(&result, Some(&saved)));
    }
    ExitCode::SUCCESS
}
