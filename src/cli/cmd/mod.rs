//! The executables' entry points and one module per subcommand, each with
//! its handler and output. Every failure is a [`CliError`], whose
//! [`exit_code`](CliError::exit_code) is the process's.

mod clean;
mod codecs;
mod compare;
mod doctor;
mod matrix;
mod pick;
mod plot;
mod report;
mod run;

use crate::cli::args::{CaseArgs, Cli, Command};
use crate::cli::spec::UsageError;
use crate::measure::child;
use crate::measure::liveness::Interrupted;
use crate::measure::runner::RunError;
use crate::transport::TransportId;
use clap::{CommandFactory, FromArgMatches, Parser};
use std::process::ExitCode;

/// Exit code for bad input, as clap uses.
pub const EXIT_USAGE: u8 = 2;
/// Exit code for a run that failed.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code after Ctrl-C, by shell convention (128 + SIGINT).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Why a command failed, and so how the process exits.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad input: one line naming it, exit 2.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// Ctrl-C or SIGTERM: exit 130 (the message already says that the
    /// child was stopped and nothing written).
    #[error(transparent)]
    Interrupted(#[from] Interrupted),
    /// Anything else: exit 1.
    #[error("{0:#}")]
    Failed(anyhow::Error),
    /// A failure the command has already told the user about in its own
    /// words (a matrix lists its failed cases): exit 1, nothing more said.
    #[error("")]
    Reported,
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => EXIT_USAGE,
            CliError::Interrupted(_) => EXIT_INTERRUPTED,
            CliError::Failed(_) | CliError::Reported => EXIT_FAILURE,
        }
    }
}

impl From<RunError> for CliError {
    /// A case that cannot run as configured is bad input.
    fn from(error: RunError) -> Self {
        match error {
            RunError::BadSetup(why) => CliError::Usage(UsageError(why)),
            RunError::Interrupted(i) => CliError::Interrupted(i),
            RunError::Failed(e) => CliError::Failed(e),
        }
    }
}

fn exit(outcome: Result<(), CliError>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !matches!(e, CliError::Reported) {
                eprintln!("error: {e}");
            }
            ExitCode::from(e.exit_code())
        }
    }
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

/// `main` of the `ipc-bench` executable.
/// Reads `--messages FILE` before the arguments are parsed, so that its
/// shape's name is one `--complexity` and `--complexities` accept.
fn load_messages_arg() -> Result<(), CliError> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let mut path = None;
    let mut at = 0;
    while at < args.len() {
        let arg = args[at].to_string_lossy();
        if arg == "--" {
            break;
        }
        if arg == "--messages" {
            path = args.get(at + 1).cloned();
            at += 1;
        } else if let Some(value) = arg.strip_prefix("--messages=") {
            path = Some(value.into());
        }
        at += 1;
    }
    match path {
        Some(path) => crate::measure::own::file::load(std::path::Path::new(&path))
            .map(drop)
            .map_err(|e| UsageError(e.to_string()).into()),
        None => Ok(()),
    }
}

pub fn main() -> ExitCode {
    if child::is_child_role() {
        return child::main();
    }
    if let Err(e) = load_messages_arg() {
        return exit(Err(e));
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(e),
    };
    exit(match cli.command {
        Some(Command::Run(args)) => run::run(args.transport, &args.case),
        Some(Command::Matrix(args)) => matrix::matrix(&args),
        Some(Command::Compare(args)) => compare::compare(&args),
        Some(Command::Codecs(args)) => codecs::codecs(&args),
        Some(Command::Plot(args)) => plot::plot(&args),
        Some(Command::Report(args)) => report::report(&args),
        Some(Command::Pick(args)) => pick::pick(&args),
        Some(Command::Clean(args)) => clean::clean(args.dry_run),
        Some(Command::Doctor(args)) => doctor::doctor(&args),
        // The bare command is the main job: the default matrix, its table,
        // and its page to look at.
        None => {
            let mut args = cli.matrix;
            args.report = true;
            matrix::matrix(&args)
        }
    })
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
    let id = match TransportId::parse(transport) {
        Ok(id) => id,
        Err(e) => return exit(Err(UsageError(e).into())),
    };
    if let Err(e) = load_messages_arg() {
        return exit(Err(e));
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
        Ok(args) => exit(run::run(id, &args.case)),
        Err(e) => clap_exit(e),
    }
}

/// `main` of a per-transport child binary such as `ipcc-child`.
pub fn transport_child_main() -> ExitCode {
    child::main()
}
