//! `ipc-bench run` (and the parent binaries): one case, its result file and
//! its summary.

use super::CliError;
use crate::cli::CaseArgs;
use crate::liveness;
use crate::runner::run_case;
use crate::summary;
use crate::transport::TransportId;

pub fn run(transport: TransportId, args: &CaseArgs) -> Result<(), CliError> {
    let spec = args.to_spec(transport)?;
    liveness::install_signal_handler().map_err(CliError::Failed)?;
    let result = run_case(&spec)?;
    let saved = result
        .write_to_dir(&args.common.results_dir)
        .map_err(CliError::Failed)?;
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
    Ok(())
}
