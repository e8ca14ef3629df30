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
//! of every case so far is rewritten too, so a failure (or Ctrl-C) late in
//! the matrix loses nothing already measured: a case that fails in a later
//! round keeps the file of its earlier, verified rounds, with a warning, and
//! is marked failed in the summary.

use crate::environment::Probe;
use crate::liveness;
use crate::message::Complexity;
use crate::placement::PinMode;
use crate::result::{case_stem, now_rfc3339, write_json_atomically, Loaded, MATRIX_SUMMARY_FILE};
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
    pub result_file: Option<PathBuf>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
struct Summary<'a> {
    started: &'a str,
    updated: String,
    run_id: &'a str,
    seed: u64,
    rounds: usize,
    cases: &'a [CaseStatus],
}

/// What a matrix run produced.
pub struct MatrixOutcome {
    pub results: Vec<Loaded>,
    pub statuses: Vec<CaseStatus>,
    pub interrupted: bool,
    /// The machine over the whole matrix.
    pub environment: crate::environment::Environment,
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
    let groups: Vec<Vec<usize>> = match reference {
        None => (0..cases.len()).map(|i| vec![i]).collect(),
        Some(_) => {
            let mut by_key: Vec<(CaseGroupKey, Vec<usize>)> = Vec::new();
            for (i, case) in cases.iter().enumerate() {
                let key = group_key(&case.spec);
                match by_key.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, members)) => members.push(i),
                    None => by_key.push((key, vec![i])),
                }
            }
            by_key.into_iter().map(|(_, members)| members).collect()
        }
    };
    (0..rounds)
        .map(|_| {
            let mut order = groups.clone();
            rng.shuffle(&mut order);
            order
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

/// Runs every case of `cases` for `rounds` rounds in the order of
/// [`schedule`], writing results and the summary into `dir`.
pub fn run(
    cases: &[PlannedCase],
    spec: &MatrixSpec,
    dir: &Path,
    progress: &mut dyn Progress,
) -> anyhow::Result<MatrixOutcome> {
    let rounds = spec.settings.rounds;
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
            result_file: None,
            error: None,
        })
        .collect();
    let write_summary = |statuses: &[CaseStatus]| {
        let summary = Summary {
            started: &started,
            updated: now_rfc3339(),
            run_id: &run_info.run_id,
            seed: spec.seed,
            rounds,
            cases: statuses,
        };
        write_json_atomically(&summary_path, &summary)
    };
    write_summary(&statuses)?;

    let mut series: Vec<Series> = vec![Series::default(); cases.len()];
    let mut interrupted = false;
    let clock = Instant::now();
    let order = schedule(cases, rounds, spec.seed, spec.reference.as_deref());
    let total = cases.len() * rounds;
    let mut step = 0;
    'rounds: for (r, round_order) in order.iter().enumerate() {
        for &i in round_order {
            if liveness::interrupted() {
                interrupted = true;
                break 'rounds;
            }
            if statuses[i].status == Status::Failed {
                continue;
            }
            let case = &cases[i];
            let left = estimate_left(cases, rounds, step, clock.elapsed());
            progress.case_started(step, total, &case.name, r + 1, left);
            step += 1;
            let status = &mut statuses[i];
            match run_round(&case.spec, r + 1) {
                Ok(round) => {
                    series[i].push(round);
                    let cores = placement_cores(&series[i]);
                    let result = series[i]
                        .result(&run_info, Some(probe.finish(cores)))
                        .expect("a series with a round has a result");
                    let path = result.write_to_dir(dir)?;
                    status.status = Status::Ok;
                    status.rounds_done = series[i].len();
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
                        // The rounds before the failure were verified, every
                        // round trip, so their file stays (nothing of the
                        // failed round is in it), saying why no more came.
                        let cores = placement_cores(&series[i]);
                        if let Some(mut result) =
                            series[i].result(&run_info, Some(probe.finish(cores)))
                        {
                            result.warnings.push(format!(
                                "round {} failed ({e:#}); the figures are from the {} rounds before it, and {MATRIX_SUMMARY_FILE} marks the case failed",
                                r + 1,
                                series[i].len()
                            ));
                            result.write_to_dir(dir)?;
                        }
                    }
                    status.error = Some(format!("{e:#}"));
                    progress.case_finished(&case.name, Some(&format!("{e:#}")));
                }
            }
            write_summary(&statuses)?;
            if interrupted {
                break 'rounds;
            }
        }
    }
    if interrupted {
        for status in statuses.iter_mut().filter(|s| s.status == Status::Pending) {
            status.status = Status::Skipped;
        }
        write_summary(&statuses)?;
    }
    progress.done();
    let mut results = Vec::new();
    for (i, status) in statuses.iter().enumerate() {
        if let (Status::Ok, Some(path)) = (status.status, &status.result_file) {
            let cores = placement_cores(&series[i]);
            if let Some(result) = series[i].result(&run_info, Some(probe.finish(cores))) {
                results.push(Loaded {
                    path: path.clone(),
                    result,
                });
            }
        }
    }
    Ok(MatrixOutcome {
        results,
        statuses,
        interrupted,
        environment: probe.finish(None),
    })
}

/// The two cores a pinned case used, for the SMT check.
fn placement_cores(series: &Series) -> Option<(usize, usize)> {
    let placement = &series.first()?.placement;
    placement.parent_core.zip(placement.child_core)
}

/// Time left: the steps still to run at the pace so far, or at their
/// configured length before the first one has finished.
fn estimate_left(cases: &[PlannedCase], rounds: usize, done: usize, elapsed: Duration) -> Duration {
    let total = cases.len() * rounds;
    let remaining = total.saturating_sub(done) as u32;
    if done > 0 {
        return elapsed / done as u32 * remaining;
    }
    let per_round: Duration = cases
        .iter()
        .map(|c| {
            c.spec.settings.engine.warmup
                + c.spec.settings.engine.duration
                + Duration::from_millis(100)
        })
        .sum();
    per_round * rounds as u32
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
        _total: usize,
        name: &str,
        round: usize,
        left: Duration,
    ) {
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
                engine: EngineConfig {
                    warmup: Duration::ZERO,
                    duration: Duration::from_millis(1),
                    record_latency: true,
                },
                child_bin: None,
                handshake_timeout: Duration::from_secs(1),
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
