//! `ipc-bench run` (and the parent binaries): one case, its rounds, its
//! result file and its summary.

use super::CliError;
use crate::cli::args::CaseArgs;
use crate::cli::spec::UsageError;
use crate::measure::environment::Probe;
use crate::measure::liveness;
use crate::measure::neighbours::Neighbours;
use crate::measure::runner::run_round;
use crate::report::baseline;
use crate::report::estimate::Stop;
use crate::report::results::Loaded;
use crate::report::series::{RunInfo, Series};
use crate::report::summary;
use crate::transport::TransportId;

pub fn run(transport: TransportId, args: &CaseArgs) -> Result<(), CliError> {
    let spec = args.to_spec(transport)?;
    if let Some(name) = &args.common.save_baseline {
        baseline::check_name(name, "--save-baseline").map_err(UsageError)?;
    }
    liveness::install_signal_handler().map_err(CliError::Failed)?;
    let run_info = RunInfo::new(None);
    let probe = Probe::start();
    let mut neighbours = Neighbours::start();
    let mut series = Series::default();
    let rule = crate::report::stopping::StoppingRule::of(&spec.settings);
    let clock = std::time::Instant::now();
    let mut budget = None;
    for round in 1.. {
        if round > rule.min_rounds {
            // Extra rounds only while one more still fits the budget.
            let elapsed = clock.elapsed().as_secs_f64();
            let budget = *budget.get_or_insert_with(|| {
                crate::cli::matrix::budget_secs(spec.settings.max_time, elapsed)
            });
            if elapsed + elapsed / (round - 1) as f64 > budget {
                series.stopped(Stop::Budget, rule);
                break;
            }
        }
        series.push(run_round(&spec, round)?.with_neighbours(neighbours.round_done()));
        if let Some(hold) = paused_hold(&series) {
            if rule.min_rounds == 1 {
                return Err(CliError::Failed(anyhow::anyhow!(
                    "round {round} was held up for {hold:.1} s at once (a stopped process, a debugger or a host pause): its figure would be the pause's, so no result was written; run again, or ask for --rounds 2 or more to have such a round set aside and replaced"
                )));
            }
            eprintln!(
                "note: round {round} was held up for {hold:.1} s at once (a stopped process, a debugger or a host pause): set aside, and another round takes its place"
            );
        }
        series.look(rule);
        if series.stop().is_some() {
            break;
        }
    }
    if series.kept() == 0 {
        return Err(CliError::Failed(anyhow::anyhow!(
            "every one of the {} rounds was set aside (held up at once for a good part of its time), and the budget ended before one could be replaced",
            series.len()
        )));
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
    if let Some(name) = &args.common.save_baseline {
        let loaded = [Loaded {
            path: saved.clone(),
            result: result.clone(),
        }];
        let dir =
            baseline::save(&args.common.results_dir, name, &loaded).map_err(CliError::Failed)?;
        eprintln!("ipc-bench: kept as baseline '{name}' in {}", dir.display());
    }
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

/// How long the last round was held up at once, when that set it aside.
fn paused_hold(series: &Series) -> Option<f64> {
    let sample = series.last_sample()?;
    (sample.set_aside == Some(crate::record::SetAside::Paused))
        .then_some(sample.longest_hold_secs)
        .flatten()
}
