//! Running a planned matrix: the rounds the [`Scheduler`] picks, each
//! round's result file rewritten as it lands, the summary file at most
//! twice a second, and everything once more, whole, at the end.

use super::scheduler::{Next, Scheduler};
use super::*;
use crate::measure::environment::Probe;
use crate::measure::liveness;
use crate::measure::neighbours::Neighbours;
use crate::measure::runner::{run_round, CaseSettings, RunError};
use crate::record::now_rfc3339;
use crate::report::results::{write_json, Loaded, MATRIX_SUMMARY_FILE};
use crate::report::series::{RunInfo, Series};
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

/// A matrix while it runs: every case's status, the scheduler with every
/// case's rounds so far, and where the time went.
struct MatrixRun<'a> {
    cases: &'a [PlannedCase],
    spec: &'a MatrixSpec,
    dir: &'a Path,
    scheduler: Scheduler<'a>,
    run_info: RunInfo,
    probe: Probe,
    /// Who else was busy, round by round.
    neighbours: Neighbours,
    started: String,
    statuses: Vec<CaseStatus>,
    time: TimeSpent,
    clock: Instant,
    summary_written: Instant,
    interrupted: bool,
}

/// Runs every case of `cases` in the order the [`Scheduler`] gives: the
/// planned rounds, then, for the cases whose interval is still wider than
/// the precision (or short of kept rounds), more rounds until each is
/// within it, reaches the most rounds, or the time budget ends (see
/// [`crate::report::stopping::StoppingRule`]). Results and the summary go
/// into `dir` after every round.
pub fn run(
    cases: &[PlannedCase],
    spec: &MatrixSpec,
    dir: &Path,
    progress: &mut dyn Progress,
) -> anyhow::Result<MatrixOutcome> {
    let mut run = MatrixRun::new(cases, spec, dir);
    run.write_summary(true)?;
    while let Some(next) = run.scheduler.next(run.clock.elapsed().as_secs_f64()) {
        if liveness::interrupted() {
            run.interrupted = true;
            break;
        }
        let elapsed = run.clock.elapsed();
        let left = estimate_left(cases, next, elapsed);
        progress.case_started(
            next.step,
            next.total,
            &cases[next.case].name,
            next.pass,
            left,
        );
        run.round(next.case, next.pass, progress)?;
        if run.interrupted {
            break;
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
                rounds_set_aside: 0,
                stopped: None,
                result_file: None,
                error: None,
            })
            .collect();
        MatrixRun {
            cases,
            spec,
            dir,
            scheduler: Scheduler::new(cases, spec),
            run_info: RunInfo::new(Some(spec.seed)),
            probe: Probe::start(),
            neighbours: Neighbours::start(),
            started: now_rfc3339(),
            statuses,
            time: TimeSpent::default(),
            clock: Instant::now(),
            summary_written: Instant::now(),
            interrupted: false,
        }
    }

    fn write_summary(&self, synced: bool) -> anyhow::Result<()> {
        let rule = self.scheduler.rule;
        let summary = Summary {
            started: &self.started,
            updated: now_rfc3339(),
            run_id: &self.run_info.run_id,
            seed: self.spec.seed,
            rounds: rule.min_rounds,
            max_rounds: rule.max_rounds,
            precision: rule.precision,
            time: &self.time,
            cases: &self.statuses,
        };
        write_json(&self.dir.join(MATRIX_SUMMARY_FILE), &summary, synced)
    }

    /// One round of case `i`: its result file rewritten, or the failure
    /// recorded; then the summary, when it is due.
    fn round(&mut self, i: usize, pass: usize, progress: &mut dyn Progress) -> anyhow::Result<()> {
        let case = &self.cases[i];
        let began = Instant::now();
        let outcome = run_round(&case.spec, pass);
        // A look at every process, between rounds: what grew since the last
        // look is what else ran while this round did.
        let busy = self.neighbours.round_done();
        match outcome {
            Ok(round) => {
                let round = round.with_neighbours(busy);
                if let Some(phases) = round.result.samples.first().and_then(|s| s.phases) {
                    self.time.rounds.add(&phases);
                }
                self.scheduler
                    .record(i, round, began.elapsed().as_secs_f64());
                let series = &self.scheduler.series[i];
                let writing = Instant::now();
                // The machine's report (a scan of every process) is added
                // once, when the run ends: after every round it cost more
                // than writing the file. Before its first kept round a case
                // has no figures, and no file.
                if let Some(result) = series.result(&self.run_info, None) {
                    let path = result.write_to_dir_unsynced(self.dir)?;
                    self.statuses[i].result_file = Some(path);
                }
                self.time.writing_secs += writing.elapsed().as_secs_f64();
                let status = &mut self.statuses[i];
                status.status = Status::Ok;
                status.rounds_done = series.kept();
                status.rounds_set_aside = series.set_aside();
                progress.case_finished(&case.name, None);
            }
            Err(e) => {
                self.scheduler.failed(i, began.elapsed().as_secs_f64());
                self.failed(i, pass, &e)?;
                progress.case_finished(&case.name, Some(&format!("{e:#}")));
            }
        }
        self.time.wall_secs = self.clock.elapsed().as_secs_f64();
        self.statuses[i].stopped = self.scheduler.series[i].stop();
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
        let series = &mut self.scheduler.series[i];
        self.interrupted = matches!(e, RunError::Interrupted(_));
        if self.interrupted {
            // What earlier rounds measured stays, as its rounds say.
            if status.rounds_done == 0 {
                status.status = Status::Skipped;
            }
        } else {
            status.status = Status::Failed;
            // The rounds before the failure were verified, every round
            // trip, so their file stays (nothing of the failed round is in
            // it), saying why no more came.
            let cores = placement_cores(series);
            if let Some(mut result) = series.result(&self.run_info, Some(self.probe.finish(cores)))
            {
                result.warnings.push(format!(
                    "round {pass} failed ({e:#}); the figures are from the {} rounds before it, and {MATRIX_SUMMARY_FILE} marks the case failed",
                    series.kept()
                ));
                result.write_to_dir(self.dir)?;
            }
        }
        status.error = Some(format!("{e:#}"));
        Ok(())
    }

    /// Every result once more, whole (the pace read from all rounds, with
    /// the machine's report and why its rounds ended), and the summary,
    /// flushed to the disk.
    fn finish(mut self) -> anyhow::Result<MatrixOutcome> {
        let rule = self.scheduler.rule;
        self.scheduler.read_pace();
        for (status, series) in self.statuses.iter_mut().zip(&mut self.scheduler.series) {
            if self.interrupted && status.status == Status::Pending {
                status.status = Status::Skipped;
            }
            // A case the last reading of the pace reopened when nothing
            // more could run.
            if series.stop().is_none() && !series.is_empty() {
                let why = if self.interrupted {
                    Stop::Interrupted
                } else {
                    Stop::Budget
                };
                series.stopped(why, rule);
            }
            if status.status == Status::Ok && series.kept() == 0 {
                status.status = Status::Failed;
                status.error = Some(format!(
                    "every one of its {} rounds was set aside (run in a slow spell of the machine, or paused), and the budget ended before one could be replaced",
                    series.len()
                ));
            }
        }
        let mut results = Vec::new();
        for (status, series) in self.statuses.iter_mut().zip(&self.scheduler.series) {
            status.stopped = series.stop();
            status.rounds_done = series.kept();
            status.rounds_set_aside = series.set_aside();
            let (Status::Ok, Some(path)) = (status.status, &status.result_file) else {
                continue;
            };
            let environment = self.probe.finish(placement_cores(series));
            if let Some(result) = series.result(&self.run_info, Some(environment)) {
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
        })
    }
}

/// The two cores a pinned case used, for the SMT check.
fn placement_cores(series: &Series) -> Option<(usize, usize)> {
    let placement = &series.first()?.placement;
    placement.parent_core.zip(placement.child_core)
}

/// Time left: the steps still to run at the pace so far, or at their
/// configured length before the first one has finished.
fn estimate_left(cases: &[PlannedCase], next: Next, elapsed: Duration) -> Duration {
    let remaining = next.total.saturating_sub(next.step) as u32;
    if next.step > 0 {
        elapsed / next.step as u32 * remaining
    } else {
        CaseSettings::planned_time(cases.iter().map(|c| &c.spec.settings))
    }
}
