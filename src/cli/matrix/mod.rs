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

mod run;
mod schedule;
pub mod scheduler;
#[cfg(test)]
mod simulation;

pub use run::run;
pub use schedule::schedule;

use crate::measure::own;
use crate::measure::runner::{CaseSettings, CaseSpec};
use crate::record::PinMode;
use crate::record::Traffic;
use crate::record::{case_stem, RoundPhases};
use crate::record::{Complexity, ShapeName};
use crate::report::estimate::Stop;
use crate::report::results::Loaded;
#[cfg(doc)]
use crate::report::stopping::StoppingRule;
use crate::transport::{self, TransportId};
use codecs::CodecId;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

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

/// The cases of a matrix, and the combinations left out because their
/// transport refuses them (a stream on the async engine, a binary codec on
/// stdio's lines), each as its case name and why.
#[derive(Debug, Default)]
pub struct Plan {
    pub cases: Vec<PlannedCase>,
    pub refused: Vec<(String, String)>,
    /// Codecs left out of an own shape because they cannot carry it, one
    /// line per shape and reason.
    pub codecs_left_out: Vec<String>,
}

/// Expands the matrix into cases, in a stable order. A raw-string case uses
/// no codec, so it appears once per transport variant, not once per codec.
pub fn plan(spec: &MatrixSpec) -> Result<Plan, transport::TransportError> {
    let mut plan = Plan::default();
    for (transport, configs) in &spec.transports {
        for config in configs {
            let label = transport::label(*transport, config)?;
            for &complexity in &spec.complexities {
                // Raw strings use no codec ("none" in names); json stands in.
                let codecs: Vec<(&str, CodecId)> = match complexity {
                    Complexity::RawString => vec![("none", CodecId::Json)],
                    Complexity::Own(name) => own_codecs(name, &spec.codecs),
                    _ => spec.codecs.iter().map(|&c| (c.name(), c)).collect(),
                };
                for (codec_name, codec) in codecs {
                    for &payload_bytes in &spec.payloads {
                        for &pin in &spec.pins {
                            for &traffic in &spec.traffics {
                                let name = case_stem(
                                    transport.name(),
                                    label.variant.as_deref(),
                                    codec_name,
                                    complexity,
                                    payload_bytes,
                                    pin,
                                    &traffic,
                                );
                                let refusal = transport::refusal(
                                    *transport,
                                    &label.config,
                                    codec_name,
                                    traffic.kind(),
                                );
                                if let Some(why) = refusal {
                                    plan.refused.push((name, why));
                                    continue;
                                }
                                let spec = CaseSpec {
                                    transport: *transport,
                                    transport_config: label.config.clone(),
                                    codec,
                                    codec_reason: "one of the matrix's codecs".into(),
                                    complexity,
                                    payload_bytes,
                                    pin,
                                    traffic,
                                    settings: spec.settings.for_traffic(&traffic),
                                };
                                plan.cases.push(PlannedCase {
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
    for &complexity in &spec.complexities {
        if let Complexity::Own(name) = complexity {
            plan.codecs_left_out
                .extend(own_codecs_left_out(name, &spec.codecs));
        }
    }
    Ok(plan)
}

/// The matrix's codecs that carry own shape `name`.
fn own_codecs(name: ShapeName, codecs: &[CodecId]) -> Vec<(&'static str, CodecId)> {
    let Some(shape) = own::find(name) else {
        return Vec::new();
    };
    codecs
        .iter()
        .filter(|c| shape.codec(c.name()).is_ok())
        .map(|&c| (c.name(), c))
        .collect()
}

/// The matrix's codecs that cannot carry own shape `name`: one line per
/// reason, naming them.
fn own_codecs_left_out(name: ShapeName, codecs: &[CodecId]) -> Vec<String> {
    let mut by_reason: Vec<(String, Vec<&str>)> = Vec::new();
    let Some(shape) = own::find(name) else {
        return vec![format!(
            "shape '{}' is unknown to this program",
            name.as_str()
        )];
    };
    for codec in codecs {
        if let Err(why) = shape.codec(codec.name()) {
            match by_reason.iter_mut().find(|(w, _)| *w == why) {
                Some((_, names)) => names.push(codec.name()),
                None => by_reason.push((why, vec![codec.name()])),
            }
        }
    }
    by_reason
        .into_iter()
        .map(|(why, names)| {
            format!(
                "shape '{}' without {}: {why}",
                name.as_str(),
                names.join(", ")
            )
        })
        .collect()
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
    /// Rounds measured and kept so far.
    pub rounds_done: usize,
    /// Rounds measured but set aside (a slow spell, a pause), each replaced
    /// while the budget allowed.
    pub rounds_set_aside: usize,
    /// Why it got no more rounds, once it has stopped.
    pub stopped: Option<Stop>,
    pub result_file: Option<PathBuf>,
    pub error: Option<String>,
}

/// What a matrix run produced.
pub struct MatrixOutcome {
    pub results: Vec<Loaded>,
    pub statuses: Vec<CaseStatus>,
    pub interrupted: bool,
    /// The machine over the whole matrix.
    pub environment: crate::record::Environment,
    /// Where the wall time went.
    pub time: TimeSpent,
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

/// Settings for the tests of planning and scheduling: rounds of
/// `duration`, no warm-up.
#[cfg(test)]
pub(crate) fn settings_of(
    rounds: usize,
    max_rounds: usize,
    precision: Option<f64>,
    duration: Duration,
) -> CaseSettings {
    CaseSettings {
        rounds,
        max_rounds,
        precision,
        max_time: None,
        engine: crate::measure::engine::EngineConfig {
            warmup: Duration::ZERO,
            duration,
            record_latency: true,
            settle: false,
        },
        child_bin: None,
        handshake_timeout: Duration::from_secs(1),
        stall_timeout: Duration::from_secs(3),
        announce_phases: false,
    }
}

#[cfg(test)]
mod tests {
    use super::schedule::group_key;
    use super::*;

    fn cases() -> Vec<PlannedCase> {
        let transports = [TransportId::Spin, TransportId::Pipe, TransportId::Tcp]
            .into_iter()
            .map(|id| (id, vec![serde_json::Value::Null]))
            .collect();
        plan(&spec_of(transports)).unwrap().cases
    }

    #[cfg(unix)]
    #[test]
    fn combinations_a_transport_refuses_are_left_out_and_named() {
        let lines = serde_json::json!({ "framing": "lines" });
        let mut spec = spec_of(vec![(TransportId::Stdio, vec![lines])]);
        spec.traffics = vec![Traffic::default(), Traffic::stream(4)];
        let plan = plan(&spec).unwrap();
        // Lines carry the ping-pong; a stream's binary acknowledgements not.
        assert_eq!(plan.cases.len(), 4, "{:?}", plan.cases);
        assert!(plan.cases.iter().all(|c| !c.spec.traffic.is_stream()));
        assert_eq!(plan.refused.len(), 4);
        assert!(plan
            .refused
            .iter()
            .all(|(name, why)| name.contains("stream") && why.contains("--pattern")));
    }

    fn spec_of(transports: Vec<(TransportId, Vec<serde_json::Value>)>) -> MatrixSpec {
        MatrixSpec {
            transports,
            codecs: vec![CodecId::Json],
            complexities: vec![Complexity::RawString, Complexity::Structured],
            payloads: vec![32, 1024],
            pins: vec![PinMode::None],
            traffics: vec![Traffic::default(), Traffic::rate(500)],
            settings: settings_of(4, 4, None, Duration::from_millis(1)),
            seed: 1,
            reference: None,
        }
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
