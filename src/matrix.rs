//! Running many cases in one go: every combination of the chosen
//! transports, variants, codecs, complexities, payload sizes and placements.
//!
//! The matrix runs in rounds: every case once per round, in a fresh
//! shuffled order each round, so that a slow phase of the machine falls on
//! every case alike instead of on whichever cases ran during it. With a
//! reference transport, cases are shuffled in groups that share everything
//! but the transport, and the reference runs in the middle of its group, so
//! each ratio to it is taken between two rounds run moments apart.
//!
//! Each case rewrites its result file after each of its rounds, and a summary
//! of every case so far is rewritten too (at most twice a second, at once
//! after a failure, and at the end), so a failure (or Ctrl-C) late in
//! the matrix loses nothing already measured: a case that fails in a later
//! round keeps the file of its earlier, verified rounds, with a warning, and
//! is marked failed in the summary.

use crate::environment::Probe;
#[cfg(doc)]
use crate::estimate::StoppingRule;
use crate::estimate::{slow_spells, SlowSpells, Stop, SPELL_WINDOW_SECS};
use crate::liveness;
use crate::message::Complexity;
use crate::placement::PinMode;
use crate::result::{case_stem, now_rfc3339, write_json, Loaded, RoundPhases, MATRIX_SUMMARY_FILE};
use crate::runner::{run_round, CaseSettings, CaseSpec, RunError};
use crate::series::{RunInfo, Series};
use crate::traffic::Traffic;
use crate::transport::{self, TransportId};
use codecs::CodecId;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What to combine; every list must be non-empty.
#[derive(Debug, Clone)]
pub struct MatrixSpec {
    /// Each transport with the configs (variants) to run it with, in the
    /// opaque form the transport defined.
    pub transports: Vec<(TransportId, Vec<serde_json::Value>)>,
    pub codecs: Vec<CodecId>,
    pub complexities: Vec<Complexity>,
    pub payloads: Vec<usize>,
    pub pins: Vec<PinMode>,
    /// Closed loop, and each offered rate.
    pub traffics: Vec<Traffic>,
    /// What every case shares (rounds, duration, warm-up, ...).
    pub settings: CaseSettings,
    /// Seed of the shuffled order.
    pub seed: u64,
    /// The transport label the cases are compared with, which runs next to them.
    pub reference: Option<String>,
}

/// One case to run, with its transport label and the name its result file
/// will get.
#[derive(Debug, Clone)]
pub struct PlannedCase {
    pub name: String,
    pub label: String,
    pub spec: CaseSpec,
}

/// Expands the matrix into cases, in a stable order. A raw-string case uses
/// no codec, so it appears once per transport variant, not once per codec.
pub fn plan(spec: &MatrixSpec) -> Result<Vec<PlannedCase>, transport::TransportError> {
    let mut cases = Vec::new();
    for (transport, configs) in &spec.transports {
        for config in configs {
            let label = transport::label(*transport, config)?;
            for &complexity in &spec.complexities {
                // Raw strings use no codec ("none" in names); json stands in.
                let codecs: Vec<(&str, CodecId)> = match complexity {
                    Complexity::RawString => vec![("none", CodecId::Json)],
                    _ => spec.codecs.iter().map(|&c| (c.name(), c)).collect(),
                };
                for (codec_name, codec) in codecs {
                    for &payload_bytes in &spec.payloads {
                        for &pin in &spec.pins {
                            for &traffic in &spec.traffics {
                                let name = case_stem(
                                    transport.name(),
                                    label.variant,
                                    codec_name,
                                    complexity,
                                    payload_bytes,
                                    pin,
                                    &traffic,
                                );
                                let spec = CaseSpec {
                                    transport: *transport,
                                    transport_config: label.config.clone(),
                                    codec,
                                    codec_reason: "one of the matrix's codecs".into(),
                                    complexity,
                                    payload_bytes,
                                    pin,
                                    traffic,
                                    settings: spec.settings.clone(),
                                };
                                cases.push(PlannedCase {
                                    name,
                                    label: label.label.clone(),
                                    spec,
                                });
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(cases)
}

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pending,
    Ok,
    Failed,
    /// Not run, after an interrupt.
    Skipped,
}

/// The state of one case, as written to the summary file.
#[derive(Debug, Clone, Serialize)]
pub struct CaseStatus {
    pub case: String,
    pub status: Status,
    /// Rounds measured so far.
    pub rounds_done: usize,
    /// Why it got no more rounds, once it has stopped.
    pub stopped: Option<Stop>,
    pub result_file: Option<PathBuf>,
    pub error: Option<String>,
}

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

/// What a matrix run produced.
pub struct MatrixOutcome {
    pub results: Vec<Loaded>,
    pub statuses: Vec<CaseStatus>,
    pub interrupted: bool,
    /// The machine over the whole matrix.
    pub environment: crate::environment::Environment,
    /// Where the wall time went.
    pub time: TimeSpent,
    /// When the machine ran slow for every case at once.
    pub spells: SlowSpells,
}

/// What a result not within its precision says when the machine was unstable.
pub fn spells_warning(spells: &SlowSpells) -> String {
    format!(
        "an unstable machine: in {} of {} stretches of {} s, a quarter or more of all rounds ran 15 % or more below their own medians together, which widens every interval",
        spells.slow_windows, spells.windows, SPELL_WINDOW_SECS
    )
}

impl MatrixOutcome {
    pub fn failures(&self) -> impl Iterator<Item = &CaseStatus> {
        self.statuses.iter().filter(|s| s.status == Status::Failed)
    }
}

/// Shows progress between cases only: a ticking bar would take CPU from the
/// processes being measured on a small machine.
pub trait Progress {
    fn case_started(&mut self, step: usize, total: usize, name: &str, round: usize, left: Duration);
    fn case_finished(&mut self, name: &str, error: Option<&str>);
    fn done(&mut self);
}

/// The order of every round: indices into `cases`, shuffled afresh each
/// round from `seed`. With a `reference` label, cases that share everything
/// but the transport stay together, the reference in the middle of them.
pub fn schedule(
    cases: &[PlannedCase],
    rounds: usize,
    seed: u64,
    reference: Option<&str>,
) -> Vec<Vec<usize>> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let all: Vec<usize> = (0..cases.len()).collect();
    (0..rounds)
        .map(|_| pass_order(cases, &all, &mut rng, reference))
        .collect()
}

/// One pass over `members` (indices into `cases`) in a fresh shuffled
/// order; with a `reference`, each group of cases that share everything but
/// the transport stays together, its reference (always included, so every
/// ratio has its pair) in the middle.
fn pass_order(
    cases: &[PlannedCase],
    members: &[usize],
    rng: &mut fastrand::Rng,
    reference: Option<&str>,
) -> Vec<usize> {
    let mut groups: Vec<Vec<usize>> = match reference {
        None => members.iter().map(|&i| vec![i]).collect(),
        Some(label) => {
            let mut by_key: Vec<(CaseGroupKey, Vec<usize>)> = Vec::new();
            for (i, case) in cases.iter().enumerate() {
                let key = group_key(&case.spec);
                let wanted = members.contains(&i) || case.label == label;
                match by_key.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, group)) if wanted => group.push(i),
                    Some(_) => {}
                    None => by_key.push((key, if wanted { vec![i] } else { vec![] })),
                }
            }
            by_key
                .into_iter()
                .map(|(_, group)| group)
                // A group whose only member is its reference has nothing to compare.
                .filter(|group| group.iter().any(|i| members.contains(i)))
                .collect()
        }
    };
    rng.shuffle(&mut groups);
    groups
        .into_iter()
        .flat_map(|group| {
            let (refs, mut others): (Vec<usize>, Vec<usize>) = group
                .into_iter()
                .partition(|&i| Some(cases[i].label.as_str()) == reference);
            rng.shuffle(&mut others);
            let middle = others.len() / 2;
            others.splice(middle..middle, refs);
            others
        })
        .collect()
}

/// Everything of a case but its transport: what a row and its reference share.
type CaseGroupKey = (Complexity, Option<CodecId>, usize, PinMode, Traffic);

fn group_key(spec: &CaseSpec) -> CaseGroupKey {
    let codec = spec.complexity.uses_codec().then_some(spec.codec);
    (
        spec.complexity,
        codec,
        spec.payload_bytes,
        spec.pin,
        spec.traffic,
    )
}

/// Where a matrix's wall time went.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct TimeSpent {
    /// From the first round to the last.
    pub wall_secs: f64,
    /// Every round's phases, added up.
    pub rounds: RoundPhases,
    /// Writing result files and the summary.
    pub writing_secs: f64,
}

impl TimeSpent {
    /// The share of the wall time spent in measured phases.
    pub fn measuring_share(&self) -> f64 {
        if self.wall_secs > 0.0 {
            self.rounds.measure_secs / self.wall_secs
        } else {
            0.0
        }
    }

    /// One line: the wall time and where it went.
    pub fn describe(&self) -> String {
        let share = |secs: f64| 100.0 * secs / self.wall_secs.max(1e-9);
        let r = &self.rounds;
        format!(
            "{:.0} s in all: measuring {:.0} %, warm-up {:.0} %, set-up {:.0} %, teardown {:.0} %, timing the codecs {:.0} %, writing files {:.0} %",
            self.wall_secs,
            share(r.measure_secs),
            share(r.warmup_secs),
            share(r.setup_secs),
            share(r.teardown_secs),
            share(r.codec_secs),
            share(self.writing_secs),
        )
    }
}

/// How often `matrix-summary.json` is rewritten while a matrix runs.
const SUMMARY_EVERY: Duration = Duration::from_millis(500);

/// Without --max-time, the whole run may take this many times what its
/// planned rounds took: extra rounds at most as long again...
pub const DEFAULT_BUDGET_FACTOR: f64 = 2.0;
/// ... and at least this many seconds more: a small run's planned rounds
/// fit in one slow spell of the machine, and the extra rounds need time to
/// outlast it.
pub const MIN_EXTRA_SECS: f64 = 30.0;

/// The whole run's budget in seconds from its start: `max_time`, or by
/// default from what the planned rounds took.
pub fn budget_secs(max_time: Option<Duration>, planned_secs: f64) -> f64 {
    max_time.map_or(
        (DEFAULT_BUDGET_FACTOR * planned_secs).max(planned_secs + MIN_EXTRA_SECS),
        |max| max.as_secs_f64(),
    )
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
    let rule = spec.settings.stopping_rule();
    let run_info = RunInfo::new(Some(spec.seed));
    let probe = Probe::start();
    let started = now_rfc3339();
    let summary_path = dir.join(MATRIX_SUMMARY_FILE);
    let mut statuses: Vec<CaseStatus> = cases
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
    let mut time = TimeSpent::default();
    let write_summary = |statuses: &[CaseStatus], time: &TimeSpent, synced: bool| {
        let summary = Summary {
            started: &started,
            updated: now_rfc3339(),
            run_id: &run_info.run_id,
            seed: spec.seed,
            rounds: rule.min_rounds,
            max_rounds: rule.max_rounds,
            precision: rule.precision,
            time,
            cases: statuses,
        };
        write_json(&summary_path, &summary, synced)
    };
    write_summary(&statuses, &time, true)?;

    let mut summary_written = Instant::now();
    let mut series: Vec<Series> = vec![Series::default(); cases.len()];
    let mut interrupted = false;
    let clock = Instant::now();
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
        let open: Vec<usize> = (0..cases.len())
            .filter(|&i| statuses[i].status == Status::Ok && series[i].stop().is_none())
            .collect();
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
                interrupted = true;
                break 'passes;
            }
            if statuses[i].status == Status::Failed {
                continue;
            }
            if extra {
                // The budget: a round starts only if one like it still fits.
                let mean = time.rounds.total_secs() / step.max(1) as f64;
                let budget = *budget.get_or_insert_with(|| {
                    budget_secs(spec.settings.max_time, clock.elapsed().as_secs_f64())
                });
                if clock.elapsed().as_secs_f64() + mean > budget {
                    for &j in &open {
                        series[j].stopped(Stop::Budget, rule);
                    }
                    break 'passes;
                }
            }
            let case = &cases[i];
            let left = estimate_left(cases, &spec.settings, total, step, clock.elapsed(), budget);
            progress.case_started(step, total, &case.name, pass, left);
            step += 1;
            let status = &mut statuses[i];
            match run_round(&case.spec, pass) {
                Ok(round) => {
                    if let Some(phases) = round.result.samples.first().and_then(|s| s.phases) {
                        time.rounds.add(&phases);
                    }
                    series[i].push(round);
                    let n = series[i].len();
                    series[i].look(rule);
                    let writing = Instant::now();
                    // The machine's report (a scan of every process) is
                    // added once, when the run ends: after every round it
                    // cost more than writing the file.
                    let result = series[i]
                        .result(&run_info, None)
                        .expect("a series with a round has a result");
                    let path = result.write_to_dir_unsynced(dir)?;
                    time.writing_secs += writing.elapsed().as_secs_f64();
                    status.status = Status::Ok;
                    status.rounds_done = n;
                    status.result_file = Some(path);
                    progress.case_finished(&case.name, None);
                }
                Err(e) => {
                    interrupted = matches!(e, RunError::Interrupted(_));
                    if interrupted {
                        // What earlier rounds measured stays, as its rounds say.
                        if status.rounds_done == 0 {
                            status.status = Status::Skipped;
                        }
                    } else {
                        status.status = Status::Failed;
                        series[i].stopped(Stop::Failed, rule);
                        // The rounds before the failure were verified, every
                        // round trip, so their file stays (nothing of the
                        // failed round is in it), saying why no more came.
                        let cores = placement_cores(&series[i]);
                        if let Some(mut result) =
                            series[i].result(&run_info, Some(probe.finish(cores)))
                        {
                            result.warnings.push(format!(
                                "round {pass} failed ({e:#}); the figures are from the {} rounds before it, and {MATRIX_SUMMARY_FILE} marks the case failed",
                                series[i].len()
                            ));
                            result.write_to_dir(dir)?;
                        }
                    }
                    status.error = Some(format!("{e:#}"));
                    progress.case_finished(&case.name, Some(&format!("{e:#}")));
                }
            }
            time.wall_secs = clock.elapsed().as_secs_f64();
            statuses[i].stopped = series[i].stop();
            // Every case's status, at most twice a second (and at once after
            // a failure): rounds of 0.1 s would otherwise spend a tenth of
            // their time rewriting it. The run's end writes it once more.
            let failed = statuses[i].status == Status::Failed;
            if failed || summary_written.elapsed() >= SUMMARY_EVERY {
                let writing = Instant::now();
                write_summary(&statuses, &time, false)?;
                summary_written = Instant::now();
                time.writing_secs += writing.elapsed().as_secs_f64();
            }
            if interrupted {
                break 'passes;
            }
        }
    }
    if interrupted {
        for (i, status) in statuses.iter_mut().enumerate() {
            if status.status == Status::Pending {
                status.status = Status::Skipped;
            }
            if series[i].stop().is_none() && !series[i].is_empty() {
                series[i].stopped(Stop::Interrupted, rule);
            }
        }
    }
    progress.done();
    let spells = slow_spells(&series.iter().map(Series::timed_rates).collect::<Vec<_>>());
    // Every result once more, with why its rounds ended.
    let mut results = Vec::new();
    for (i, status) in statuses.iter_mut().enumerate() {
        status.stopped = series[i].stop();
        if let (Status::Ok, Some(path)) = (status.status, &status.result_file) {
            let cores = placement_cores(&series[i]);
            if let Some(mut result) = series[i].result(&run_info, Some(probe.finish(cores))) {
                let short = result.warnings.iter().any(|w| w.starts_with("not within"));
                if short && spells.unstable() {
                    result.warnings.push(spells_warning(&spells));
                }
                result.write_to_dir(dir)?;
                results.push(Loaded {
                    path: path.clone(),
                    result,
                });
            }
        }
    }
    time.wall_secs = clock.elapsed().as_secs_f64();
    write_summary(&statuses, &time, true)?;
    Ok(MatrixOutcome {
        results,
        statuses,
        interrupted,
        environment: probe.finish(None),
        time,
        spells,
    })
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

/// A progress bar on the terminal (indicatif), or nothing when stdout is
/// not a terminal.
pub struct Bar {
    bar: indicatif::ProgressBar,
}

impl Bar {
    pub fn new(total: usize) -> Self {
        use std::io::IsTerminal;
        let bar = if std::io::stdout().is_terminal() {
            let bar = indicatif::ProgressBar::new(total as u64);
            // No colours in the template, so NO_COLOR needs nothing more.
            let style = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> ");
            bar.set_style(style);
            bar
        } else {
            indicatif::ProgressBar::hidden()
        };
        Bar { bar }
    }
}

impl Bar {
    /// Moves the bar to `step` with `message`.
    pub fn show(&mut self, step: usize, message: &str) {
        self.bar.set_position(step as u64);
        self.bar.set_message(message.to_string());
    }

    pub fn clear(&mut self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for Bar {
    fn case_started(
        &mut self,
        step: usize,
        total: usize,
        name: &str,
        round: usize,
        left: Duration,
    ) {
        self.bar.set_length(total as u64);
        self.bar.set_position(step as u64);
        self.bar.set_message(format!(
            "round {round}: {name} (about {} left)",
            humantime::format_duration(Duration::from_secs(left.as_secs()))
        ));
    }

    fn case_finished(&mut self, name: &str, error: Option<&str>) {
        if let Some(error) = error {
            self.bar.println(format!("failed: {name}: {error}"));
        }
    }

    fn done(&mut self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineConfig;

    fn cases() -> Vec<PlannedCase> {
        let transports = [TransportId::Spin, TransportId::Pipe, TransportId::Tcp]
            .into_iter()
            .map(|id| (id, vec![serde_json::Value::Null]))
            .collect();
        let spec = MatrixSpec {
            transports,
            codecs: vec![CodecId::Json],
            complexities: vec![Complexity::RawString, Complexity::Structured],
            payloads: vec![32, 1024],
            pins: vec![PinMode::None],
            traffics: vec![Traffic::default(), Traffic::rate(500)],
            settings: CaseSettings {
                rounds: 4,
                max_rounds: 4,
                precision: None,
                max_time: None,
                engine: EngineConfig {
                    warmup: Duration::ZERO,
                    duration: Duration::from_millis(1),
                    record_latency: true,
                    settle: false,
                },
                child_bin: None,
                handshake_timeout: Duration::from_secs(1),
                stall_timeout: Duration::from_secs(3),
                announce_phases: false,
            },
            seed: 1,
            reference: None,
        };
        plan(&spec).unwrap()
    }

    #[test]
    fn every_round_is_a_fresh_shuffle_that_a_seed_replays() {
        let cases = cases();
        // 3 transports × (raw string + json) × 2 payloads × (ping-pong + one rate).
        assert_eq!(cases.len(), 24);
        let names: std::collections::BTreeSet<_> = cases.iter().map(|c| &c.name).collect();
        assert_eq!(names.len(), 24, "every case has a file of its own");
        assert_eq!(
            cases
                .iter()
                .filter(|c| c.name.ends_with("-rate-500"))
                .count(),
            12
        );
        let order = schedule(&cases, 4, 7, None);
        assert_eq!(order.len(), 4);
        for round in &order {
            let mut sorted = round.clone();
            sorted.sort();
            assert_eq!(
                sorted,
                (0..24).collect::<Vec<_>>(),
                "each case once per round"
            );
        }
        assert!(order.windows(2).any(|w| w[0] != w[1]), "{order:?}");
        assert_eq!(
            order,
            schedule(&cases, 4, 7, None),
            "a seed replays its order"
        );
        assert_ne!(order, schedule(&cases, 4, 8, None));
    }

    #[test]
    fn a_reference_runs_in_the_middle_of_the_cases_it_is_compared_with() {
        let cases = cases();
        for round in schedule(&cases, 5, 3, Some("spin")) {
            // Groups of three (spin, pipe, tcp) sharing everything else, spin between the two.
            for group in round.chunks(3) {
                let keys: Vec<_> = group.iter().map(|&i| group_key(&cases[i].spec)).collect();
                assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
                assert_eq!(cases[group[1]].label, "spin", "{group:?}");
            }
        }
    }
}
