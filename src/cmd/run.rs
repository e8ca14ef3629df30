//! `ipc-bench run` (and the parent binaries): one case, its rounds, its
//! result file and its summary.

use super::CliError;
use crate::cli::CaseArgs;
use crate::environment::Probe;
use crate::liveness;
use crate::runner::run_round;
use crate::series::{RunInfo, Series};
use crate::summary;
use crate::transport::TransportId;

pub fn run(transport: TransportId, args: &CaseArgs) -> Result<(), CliError> {
    let spec = args.to_spec(transport)?;
    liveness::install_signal_handler().map_err(CliError::Failed)?;
    let run_info = RunInfo::new(None);
    let probe = Probe::start();
    let mut series = Series::default();
    for round in 1..=spec.settings.rounds {
        series.push(run_round(&spec, round)?);
    }
    let cores = series
        .first()
        .and_then(|r| r.placement.parent_core.zip(r.placement.child_core));
    let result = series
        .result(&run_info, Some(probe.finish(cores)))
        .expect("at least one round ran");
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
