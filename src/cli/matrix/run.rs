//! Running a planned matrix: the planned passes over every case, then extra
//! passes over the cases not yet sure, within the time budget; each round's
//! result file rewritten as it lands, the summary file at most twice a
//! second, and everything once more, whole, at the end.

use super::schedule::{pass_order, schedule};
use super::*;
use crate::measure::environment::Probe;
use crate::measure::liveness;
use crate::measure::runner::{run_round, CaseSettings, RunError};
use crate::record::now_rfc3339;
use crate::report::results::{write_json, Loaded, MATRIX_SUMMARY_FILE};
use crate::report::series::{RunInfo, Series};
use crate::report::stopping::{slow_spells, StoppingRule};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often the summary file is rewritten while rounds land.
const SUMMARY_EVERY: Duration = Duration::from_millis(500);

#[derive(Debug, Serialize)]
struct Summary<'a> {
    started: &'a str,
    updated: String,
    run_id: &'a str,
    seed: u64,
    /// The planned rounds, the most any case may take, and the precision.
    rounds: usize,
    max_rounds: usize,
    precision: Option<f64>,
    /// Where the wall time has gone so far.
    time: &'a TimeSpent,
    cases: &'a [CaseStatus],
}

/// A matrix while it runs: every case's status and rounds so far, and where
/// the time went.
struct MatrixRun<'a> {
    cases: &'a [PlannedCase],
    spec: &'a MatrixSpec,
    dir: &'a Path,
    rule: StoppingRule,
    run_info: RunInfo,
    probe: Probe,
    started: String,
    statuses: Vec<CaseStatus>,
    series: Vec<Series>,
    time: TimeSpent,
    clock: Instant,
    summary_written: Instant,
    interrupted: bool,
}

/// Runs every case of `cases`: the planned rounds in the order of
/// [`schedule`], then, for the cases whose interval is still wider than
/// the precision, more rounds (each pass over them shuffled afresh) until
/// each is within it, reaches the most rounds, or
/// the time budget ends (see [`StoppingRule`]). Results and the summary go
/// into `dir` after every round.
pub fn run(
    cases: &[PlannedCase],
    spec: &MatrixSpec,
    dir: &Path,
    progress: &mut dyn Progress,
) -> anyhow::Result<MatrixOutcome> {
    let mut run = MatrixRun::new(cases, spec, dir);
    run.write_summary(true)?;
    let rule = run.rule;
    let mut planned =
        schedule(cases, rule.min_rounds, spec.seed, spec.reference.as_deref()).into_iter();
    // Extra passes draw from their own seed, so the planned order is the
    // same as a run without a precision.
    let mut rng = fastrand::Rng::with_seed(spec.seed ^ 0x05ee_d0f1_00c5);
    let mut step = 0;
    let mut total = cases.len() * rule.min_rounds;
    // Seconds from the start by which extra rounds must have ended.
    let mut budget: Option<f64> = None;
    let mut pass = 0;
    'passes: loop {
        pass += 1;
        let extra = pass > rule.min_rounds;
        let open = run.open_cases();
        let order = match planned.next() {
            Some(order) => order,
            None if open.is_empty() => break,
            None => pass_order(cases, &open, &mut rng, spec.reference.as_deref()),
        };
        if extra {
            total = step + order.len();
        }
        for &i in &order {
            if liveness::interrupted() {
                run.interrupted = true;
                break 'passes;
            }
            if run.statuses[i].status == Status::Failed {
                continue;
            }
            if extra && run.out_of_budget(step, &mut budget) {
                for &j in &open {
                    run.series[j].stopped(Stop::Budget, rule);
                }
                break 'passes;
            }
            let elapsed = run.clock.elapsed();
            let left = estimate_left(cases, &spec.settings, total, step, elapsed, budget);
            progress.case_started(step, total, &cases[i].name, pass, left);
            step += 1;
            run.round(i, pass, progress)?;
            if run.interrupted {
                break 'passes;
            }
        }
    }
    progress.done();
    run.finish()
}

impl<'a> MatrixRun<'a> {
    fn new(cases: &'a [PlannedCase], spec: &'a MatrixSpec, dir: &'a Path) -> Self {
        let statuses = cases
            .iter()
            .map(|c| CaseStatus {
                case: c.name.clone(),
                status: Status::Pending,
                rounds_done: 0,
                stopped: None,
                result_file: None,
                error: None,
            })
            .collect();
        MatrixRun {
            cases,
            spec,
            dir,
            rule: StoppingRule::of(&spec.settings),
            run_info: RunInfo::new(Some(spec.seed)),
            probe: Probe::start(),
            started: now_rfc3339(),
            statuses,
            series: vec![Series::default(); cases.len()],
            time: TimeSpent::default(),
            clock: Instant::now(),
            summary_written: Instant::now(),
            interrupted: false,
        }
    }

    fn write_summary(&self, synced: bool) -> anyhow::Result<()> {
        let summary = Summary {
            started: &self.started,
            updated: now_rfc3339(),
            run_id: &self.run_info.run_id,
            seed: self.spec.seed,
            rounds: self.rule.min_rounds,
            max_rounds: self.rule.max_rounds,
            precision: self.rule.precision,
            time: &self.time,
            cases: &self.statuses,
        };
        write_json(&self.dir.join(MATRIX_SUMMARY_FILE), &summary, synced)
    }

    /// The cases still measured and not yet stopped.
    fn open_cases(&self) -> Vec<usize> {
        (0..self.cases.len())
            .filter(|&i| self.statuses[i].status == Status::Ok && self.series[i].stop().is_none())
            .collect()
    }

    /// Whether an extra round would overrun the budget: a round starts only
    /// if one like it still fits. The budget is set at the first extra round.
    fn out_of_budget(&self, step: usize, budget: &mut Option<f64>) -> bool {
        let mean = self.time.rounds.total_secs() / step.max(1) as f64;
        let elapsed = self.clock.elapsed().as_secs_f64();
        let budget =
            *budget.get_or_insert_with(|| budget_secs(self.spec.settings.max_time, elapsed));
        elapsed + mean > budget
    }

    /// One round of case `i`: its result file rewritten, or the failure
    /// recorded; then the summary, when it is due.
    fn round(&mut self, i: usize, pass: usize, progress: &mut dyn Progress) -> anyhow::Result<()> {
        let case = &self.cases[i];
        match run_round(&case.spec, pass) {
            Ok(round) => {
                if let Some(phases) = round.result.samples.first().and_then(|s| s.phases) {
                    self.time.rounds.add(&phases);
                }
                let series = &mut self.series[i];
                series.push(round);
                series.look(self.rule);
                let writing = Instant::now();
                // The machine's report (a scan of every process) is added
                // once, when the run ends: after every round it cost more
                // than writing the file.
                let result = series
                    .result(&self.run_info, None)
                    .expect("a series with a round has a result");
                let path = result.write_to_dir_unsynced(self.dir)?;
                self.time.writing_secs += writing.elapsed().as_secs_f64();
                let status = &mut self.statuses[i];
                status.status = Status::Ok;
                status.rounds_done = series.len();
                status.result_file = Some(path);
                progress.case_finished(&case.name, None);
            }
            Err(e) => {
                self.failed(i, pass, &e)?;
                progress.case_finished(&case.name, Some(&format!("{e:#}")));
            }
        }
        self.time.wall_secs = self.clock.elapsed().as_secs_f64();
        self.statuses[i].stopped = self.series[i].stop();
        // Every case's status, at most twice a second (and at once after a
        // failure): rounds of 0.1 s would otherwise spend a tenth of their
        // time rewriting it. The run's end writes it once more.
        let failed = self.statuses[i].status == Status::Failed;
        if failed || self.summary_written.elapsed() >= SUMMARY_EVERY {
            let writing = Instant::now();
            self.write_summary(false)?;
            self.summary_written = Instant::now();
            self.time.writing_secs += writing.elapsed().as_secs_f64();
        }
        Ok(())
    }

    /// Records a failed (or interrupted) round of case `i`.
    fn failed(&mut self, i: usize, pass: usize, e: &RunError) -> anyhow::Result<()> {
        let status = &mut self.statuses[i];
        let series = &mut self.series[i];
        self.interrupted = matches!(e, RunError::Interrupted(_));
        if self.interrupted {
            // What earlier rounds measured stays, as its rounds say.
            if status.rounds_done == 0 {
                status.status = Status::Skipped;
            }
        } else {
            status.status = Status::Failed;
            series.stopped(Stop::Failed, self.rule);
            // The rounds before the failure were verified, every round
            // trip, so their file stays (nothing of the failed round is in
            // it), saying why no more came.
            let cores = placement_cores(series);
            if let Some(mut result) = series.result(&self.run_info, Some(self.probe.finish(cores)))
            {
                result.warnings.push(format!(
                    "round {pass} failed ({e:#}); the figures are from the {} rounds before it, and {MATRIX_SUMMARY_FILE} marks the case failed",
                    series.len()
                ));
                result.write_to_dir(self.dir)?;
            }
        }
        status.error = Some(format!("{e:#}"));
        Ok(())
    }

    /// Every result once more, whole (with the machine's report and why its
    /// rounds ended), and the summary, flushed to the disk.
    fn finish(mut self) -> anyhow::Result<MatrixOutcome> {
        if self.interrupted {
            for (status, series) in self.statuses.iter_mut().zip(&mut self.series) {
                if status.status == Status::Pending {
                    status.status = Status::Skipped;
                }
                if series.stop().is_none() && !series.is_empty() {
                    series.stopped(Stop::Interrupted, self.rule);
                }
            }
        }
        let timed: Vec<_> = self.series.iter().map(Series::timed_rates).collect();
        let spells = slow_spells(&timed);
        let mut results = Vec::new();
        for (status, series) in self.statuses.iter_mut().zip(&self.series) {
            status.stopped = series.stop();
            let (Status::Ok, Some(path)) = (status.status, &status.result_file) else {
                continue;
            };
            let environment = self.probe.finish(placement_cores(series));
            if let Some(mut result) = series.result(&self.run_info, Some(environment)) {
                let short = result.warnings.iter().any(|w| w.starts_with("not within"));
                if short && spells.unstable() {
                    result.warnings.push(spells_warning(&spells));
                }
                result.write_to_dir(self.dir)?;
                results.push(Loaded {
                    path: PathBuf::from(path),
                    result,
                });
            }
        }
        self.time.wall_secs = self.clock.elapsed().as_secs_f64();
        self.write_summary(true)?;
        Ok(MatrixOutcome {
            results,
            statuses: self.statuses,
            interrupted: self.interrupted,
            environment: self.probe.finish(None),
            time: self.time,
            spells,
        })
    }
}

/// The two cores a pinned case used, for the SMT check.
fn placement_cores(series: &Series) -> Option<(usize, usize)> {
    let placement = &series.first()?.placement;
    placement.parent_core.zip(placement.child_core)
}

/// Time left: the steps still to run at the pace so far, or at their
/// configured length before the first one has finished; never more than
/// the time budget leaves.
fn estimate_left(
    cases: &[PlannedCase],
    settings: &CaseSettings,
    total: usize,
    done: usize,
    elapsed: Duration,
    budget: Option<f64>,
) -> Duration {
    let remaining = total.saturating_sub(done) as u32;
    let left = if done > 0 {
        elapsed / done as u32 * remaining
    } else {
        let per_round: Duration = cases
            .iter()
            .map(|c| {
                c.spec.settings.engine.warmup
                    + c.spec.settings.engine.duration
                    + Duration::from_millis(100)
            })
            .sum();
        per_round * settings.rounds as u32
    };
    match budget {
        Some(budget) => left.min(Duration::from_secs_f64(budget).saturating_sub(elapsed)),
        None => left,
    }
}
