//! `ipc-bench matrix` (and `ipc-bench` alone): every combination, one table.

use super::CliError;
use crate::cli::args::MatrixArgs;
use crate::cli::matrix::{MatrixOutcome, MatrixSpec, PlannedCase};
use crate::cli::spec::UsageError;
use crate::measure::environment::Probe;
use crate::measure::runner::CaseSettings;
use crate::report::results::MATRIX_SUMMARY_FILE;
use crate::{cli::matrix, measure::liveness, measure::machine, report::compare, report::summary};
use std::time::Duration;

/// The matrix's cases, or why none can run: no codec carries its own
/// shapes, or its transports refuse every combination.
fn planned(spec: &MatrixSpec) -> Result<matrix::Plan, CliError> {
    let plan = matrix::plan(spec).map_err(|e| CliError::Failed(e.into()))?;
    if plan.cases.is_empty() && !plan.codecs_left_out.is_empty() {
        return Err(UsageError(format!(
            "no codec of this matrix carries its shapes: {}",
            plan.codecs_left_out.join("; ")
        ))
        .into());
    }
    if plan.cases.is_empty() && !plan.refused.is_empty() {
        return Err(UsageError(format!(
            "every case of this matrix is refused by its transport: {}",
            plan.refused[0].1
        ))
        .into());
    }
    Ok(plan)
}

pub fn matrix(args: &MatrixArgs) -> Result<(), CliError> {
    let spec = args.to_spec()?;
    if let Some(name) = &args.common.save_baseline {
        crate::report::baseline::check_name(name, "--save-baseline").map_err(UsageError)?;
    }
    let matrix::Plan {
        cases,
        refused,
        codecs_left_out,
    } = planned(&spec)?;
    if let Some(reference) = &args.reference {
        // The cases about to run are the result files the column reads.
        if !cases.iter().any(|c| &c.label == reference) {
            let mut labels: Vec<&str> = cases.iter().map(|c| c.label.as_str()).collect();
            labels.dedup();
            return Err(UsageError(format!(
                "invalid value '{reference}' for --reference; accepted: a transport of this matrix ({})",
                labels.join(", ")
            ))
            .into());
        }
    }
    liveness::install_signal_handler().map_err(CliError::Failed)?;
    let debug = machine::build_profile() == "debug";
    if debug {
        eprintln!("warning: {}", summary::DEBUG_BUILD_WARNING);
    }
    // What the machine looks like now, before any case runs.
    let before = Probe::start();
    std::thread::sleep(std::time::Duration::from_millis(250));
    for warning in before.finish(None).warnings() {
        eprintln!("warning: {warning}");
    }
    eprintln!("{}", plan_line(&spec, &cases));
    for line in &codecs_left_out {
        eprintln!("ipc-bench: {line}");
    }
    if let Some((_, why)) = refused.first() {
        eprintln!(
            "ipc-bench: {} combinations left out, refused by their transport (first: {}: {why})",
            refused.len(),
            refused[0].0
        );
    }
    let mut bar = matrix::Bar::new(cases.len() * spec.settings.rounds);
    let outcome =
        matrix::run(&cases, &spec, &args.common.results_dir, &mut bar).map_err(CliError::Failed)?;
    if !outcome.results.is_empty() {
        print!(
            "{}",
            compare::single(&outcome.results, args.reference.as_deref()).render(args.format)
        );
    }
    after_the_table(&outcome);
    if args.report && !outcome.results.is_empty() {
        let page = args.common.results_dir.join("report.html");
        let written = super::report::write(
            &outcome.results,
            None,
            args.reference.as_deref(),
            None,
            &page,
        );
        match written {
            Ok(()) => eprintln!("report: {}", page.display()),
            Err(e) => eprintln!("warning: no report: {e:#}"),
        }
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
        MATRIX_SUMMARY_FILE,
        args.common.results_dir.display()
    );
    if debug {
        eprintln!("warning: {}", summary::DEBUG_BUILD_WARNING);
    }
    if let (Some(name), false) = (&args.common.save_baseline, outcome.interrupted) {
        let dir = crate::report::baseline::save(&args.common.results_dir, name, &outcome.results)
            .map_err(CliError::Failed)?;
        eprintln!("ipc-bench: kept as baseline '{name}' in {}", dir.display());
    }
    if outcome.interrupted {
        Err(liveness::Interrupted.into())
    } else if failures.is_empty() {
        Ok(())
    } else {
        // Each failed case was listed above.
        Err(CliError::Reported)
    }
}

/// What is about to run: cases, rounds, the seed, and the extra rounds the
/// precision may add.
fn plan_line(spec: &MatrixSpec, cases: &[PlannedCase]) -> String {
    let extra = match spec.settings.precision {
        Some(p) => format!(
            ", then more for those not yet within ±{} % (up to {} rounds, {})",
            crate::util::format::percent(p),
            spec.settings.max_rounds,
            match spec.settings.max_time {
                Some(t) => format!("{} s in all", t.as_secs_f64()),
                None => "twice the planned rounds' time in all, and at least 30 s more".to_string(),
            }
        ),
        None => String::new(),
    };
    let planned = CaseSettings::planned_time(cases.iter().map(|c| &c.spec.settings));
    // Say why a sweep down to low rates takes long: its rounds are sized by
    // requests, not by --duration.
    let stretched = cases
        .iter()
        .filter(|c| c.spec.settings.engine.duration > spec.settings.engine.duration)
        .count();
    let stretched = match stretched {
        0 => String::new(),
        n => format!(
            "; {n} at low fixed rates measure {} requests a round, longer than --duration",
            crate::measure::runner::MIN_DUE_REQUESTS
        ),
    };
    format!(
        "ipc-bench: {} cases × {} rounds in a shuffled order (--seed {} replays it){extra}; the planned rounds take about {}{stretched}",
        cases.len(),
        spec.settings.rounds,
        spec.seed,
        humantime::format_duration(Duration::from_secs(planned.as_secs().max(1)))
    )
}

/// The machine's warnings, how sure the figures are, where the time went,
/// and how many results carry warnings.
fn after_the_table(outcome: &MatrixOutcome) {
    for warning in outcome.environment.warnings() {
        eprintln!("warning: {warning}");
    }
    if let Some(line) = summary::precision_line(&outcome.results) {
        eprintln!("{line}");
    }
    let results: Vec<&crate::record::BenchResult> =
        outcome.results.iter().map(|l| &l.result).collect();
    for line in crate::report::spells::describe(&results) {
        eprintln!("{line}");
    }
    eprintln!("time: {}", outcome.time.describe());
    let unsure = outcome
        .results
        .iter()
        .filter(|l| {
            l.result
                .warnings
                .iter()
                .any(|w| !w.starts_with("debug build"))
        })
        .count();
    if unsure > 0 {
        eprintln!(
            "note: {unsure} of {} results carry warnings (unstable rounds, too few rounds, a busy machine); see `warnings` in their files",
            outcome.results.len()
        );
    }
}
