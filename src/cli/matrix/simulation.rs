//! The scheduler, the pace model and the stopping rule together, on drawn
//! rounds with known answers: a matrix of cases in two classes, one of
//! which the machine slows to 0.4× for 20 s in every 60 s, both drifting
//! ±10 % over the run and held back by a few per cent from one second to
//! the next, on top of each case's own noise. What must hold: the intervals cover the undisturbed
//! medians, spells are set aside and quiet rounds are not, a spell is never
//! two modes, and a case with two real modes still is.

use super::scheduler::Scheduler;
use super::{plan, MatrixSpec, PlannedCase};
use crate::measure::runner::{CaseSettings, Round};
use crate::record::Complexity;
use crate::record::PinMode;
use crate::record::Traffic;
use crate::record::{BenchResult, SetAside};
use crate::report::pace::NEIGHBOURHOOD_SECS;
use crate::report::series::RunInfo;
use crate::transport::TransportId;
use codecs::CodecId;
use std::time::{Duration, UNIX_EPOCH};

/// A drawn case: its undisturbed median, its class, its noise.
struct Drawn {
    median: f64,
    class: usize,
    spread: f64,
    /// Rounds fall at the median or 7× below it, at random (a placement
    /// that changes from round to round): two real modes.
    bimodal: bool,
}

/// How widely the host's short hold moves a round (log scale, one standard
/// deviation).
const SHORT_HOLD: f64 = 0.04;

/// Seconds a drawn round takes, setup and all, and its measured phase.
const ROUND_SECS: f64 = 0.25;
const MEASURED_SECS: f64 = 0.1;

/// The machine's pace for `class` at `t` seconds into the run: class 0
/// slows to 0.4× from 10 s to 30 s of every minute; both drift by ±10 %
/// over the run's 120 s, class 0 up and class 1 down.
fn machine_pace(class: usize, t: f64) -> f64 {
    let ramp = (t / 120.0).clamp(0.0, 1.0) - 0.5;
    let drift = 1.0 + 0.2 * if class == 0 { ramp } else { -ramp };
    let spell = class == 0 && (10.0..30.0).contains(&t.rem_euclid(60.0));
    drift * if spell { 0.4 } else { 1.0 }
}

fn in_spell(t: f64) -> bool {
    (10.0..30.0).contains(&t.rem_euclid(60.0))
}

/// Standard normal from two uniforms (Box–Muller).
fn normal(rng: &mut fastrand::Rng) -> f64 {
    let (u, v) = (1.0 - rng.f64(), rng.f64());
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// The defaults every matrix starts with.
fn settings() -> CaseSettings {
    use crate::report::stopping::{DEFAULT_MAX_ROUNDS, DEFAULT_PRECISION, DEFAULT_ROUNDS};
    super::settings_of(
        DEFAULT_ROUNDS,
        DEFAULT_MAX_ROUNDS,
        Some(DEFAULT_PRECISION),
        Duration::from_secs_f64(MEASURED_SECS),
    )
}

/// `n` planned cases, told apart by name only: the scheduler needs no more.
fn planned(n: usize) -> (Vec<PlannedCase>, MatrixSpec) {
    let spec = MatrixSpec {
        transports: vec![(TransportId::Spin, vec![serde_json::Value::Null])],
        codecs: vec![CodecId::Json],
        complexities: vec![Complexity::Structured],
        payloads: vec![32],
        pins: vec![PinMode::None],
        traffics: vec![Traffic::default()],
        settings: settings(),
        seed: 17,
        reference: None,
    };
    let template = plan(&spec).expect("spin plans").cases.remove(0);
    let cases = (0..n)
        .map(|i| PlannedCase {
            name: format!("case-{i}"),
            label: format!("transport-{i}"),
            ..template.clone()
        })
        .collect();
    (cases, spec)
}

/// A round of `rate` measured from `t` seconds into the run.
fn round(template: &BenchResult, rate: f64, t: f64, pass: usize) -> Round {
    let mut result = template.clone();
    let mut sample = result.samples[0].clone();
    let at = UNIX_EPOCH + Duration::from_secs_f64(1.8e9 + t);
    sample.round = pass;
    sample.started = humantime::format_rfc3339_millis(at).to_string();
    sample.duration_secs = MEASURED_SECS;
    sample.round_trips_per_sec = rate;
    sample.longest_hold_secs = Some(0.001);
    result.requested_duration_secs = MEASURED_SECS;
    result.samples = vec![sample];
    Round {
        result,
        latency: None,
        latency_from_intended: None,
    }
}

/// One drawn matrix run to its end: each case's result and the seconds
/// into the run each of its rounds' middle fell, and each class's usual
/// pace over the run (the median drift of its rounds outside spells: a run
/// can only know its figures at its own usual pace, so the undisturbed
/// median is the case's median at that pace).
fn run(drawn: &[Drawn], rng: &mut fastrand::Rng) -> (Vec<(BenchResult, Vec<f64>)>, [f64; 2]) {
    let template: BenchResult =
        serde_json::from_str(include_str!("../../../tests/data/v2-result.json")).unwrap();
    let (cases, spec) = planned(drawn.len());
    let mut scheduler = Scheduler::new(&cases, &spec);
    let mut t = 0.0;
    let mut times = vec![Vec::new(); drawn.len()];
    // The host's hold that moves within a second or two: each class's own
    // AR(1) process in time, correlated 0.7 from one round to the next (as
    // measured here on some runs).
    let mut hold = [0.0f64; 2];
    let rho: f64 = 0.7;
    while let Some(next) = scheduler.next(t) {
        for h in &mut hold {
            *h = rho * *h + (1.0 - rho * rho).sqrt() * SHORT_HOLD * normal(rng);
        }
        let case = &drawn[next.case];
        let middle = t + MEASURED_SECS / 2.0;
        let mode = if case.bimodal && rng.bool() {
            1.0 / 7.0
        } else {
            1.0
        };
        let noise = (case.spread * normal(rng) + hold[case.class]).exp();
        let rate = case.median * mode * noise * machine_pace(case.class, middle);
        scheduler.record(next.case, round(&template, rate, t, next.pass), ROUND_SECS);
        times[next.case].push(middle);
        t += ROUND_SECS;
    }
    scheduler.read_pace();
    let usual = [0, 1].map(|class| {
        let quiet: Vec<f64> = drawn
            .iter()
            .zip(&times)
            .filter(|(d, _)| d.class == class)
            .flat_map(|(_, t)| t.iter().filter(|t| class == 1 || !in_spell(**t)))
            .map(|&t| machine_pace(class, t))
            .collect();
        crate::report::estimate::median(&quiet).unwrap_or(1.0)
    });
    let info = RunInfo::new(Some(1));
    let results = scheduler
        .series
        .iter()
        .zip(times)
        .map(|(s, t)| (s.result(&info, None).expect("kept rounds"), t))
        .collect();
    (results, usual)
}

/// 24 cases, half in each class, medians from 20 k to 2 M, spreads from 2 %
/// to 8 %; with `bimodal`, the last is in two modes.
fn draw_matrix(rng: &mut fastrand::Rng, bimodal: bool) -> Vec<Drawn> {
    (0..24)
        .map(|i| Drawn {
            median: 2e4 * 100f64.powf(rng.f64()),
            class: i % 2,
            spread: [0.02, 0.04, 0.06, 0.08][i % 4],
            bimodal: bimodal && i == 23,
        })
        .collect()
}

#[test]
fn spells_and_drift_are_read_as_the_machines_not_the_cases() {
    let mut rng = fastrand::Rng::with_seed(31);
    let (mut intervals, mut covered, mut false_modes) = (0, 0, 0);
    let (mut spell_rounds, mut spell_aside, mut quiet_rounds, mut quiet_aside) = (0, 0, 0, 0);
    let (mut bimodal, mut bimodal_found) = (0, 0);
    let draws: usize = std::env::var("SIM_DRAWS")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(40);
    for draw in 0..draws {
        let drawn = draw_matrix(&mut rng, draw % 2 == 1);
        let (results, usual) = run(&drawn, &mut rng);
        for (case, (result, times)) in drawn.iter().zip(results) {
            let truth = case.median * usual[case.class];
            if case.bimodal {
                bimodal += 1;
                bimodal_found += usize::from(result.modes.is_some());
                continue;
            }
            let ci = result.round_trips_per_sec_ci95.unwrap();
            if std::env::var("SIM_DEBUG").is_ok() {
                eprintln!("draw {draw} class {} spread {} rel {:.3} [{:.3}, {:.3}] rounds {} aside {} classes {:?}", case.class, case.spread, result.round_trips_per_sec / truth, ci.lo / truth, ci.hi / truth, result.rounds, result.rounds_set_aside, result.pace_class.as_ref().map(|c| c.number));
            }
            intervals += 1;
            covered += usize::from(ci.lo <= truth && truth <= ci.hi);
            false_modes += usize::from(result.modes.is_some());
            for (sample, t) in result.samples.iter().zip(times) {
                let aside = sample.set_aside == Some(SetAside::Spell);
                // Rounds well inside a spell, and well away from every one.
                let edge = NEIGHBOURHOOD_SECS;
                let deep = in_spell(t - edge) && in_spell(t + edge) && in_spell(t);
                let clear = !in_spell(t - edge) && !in_spell(t + edge) && !in_spell(t);
                if case.class == 0 && deep {
                    spell_rounds += 1;
                    spell_aside += usize::from(aside);
                } else if case.class == 1 || clear {
                    quiet_rounds += 1;
                    quiet_aside += usize::from(aside);
                }
            }
        }
    }
    let coverage = covered as f64 / intervals as f64;
    if std::env::var("SIM_DEBUG").is_ok() {
        eprintln!("coverage {coverage:.3} of {intervals}; false modes {false_modes}; spell {spell_aside}/{spell_rounds}; quiet {quiet_aside}/{quiet_rounds}; bimodal {bimodal_found}/{bimodal}");
    }
    assert!(coverage >= 0.93, "coverage {coverage:.3} of {intervals}");
    assert!(
        false_modes * 50 <= intervals,
        "{false_modes} of {intervals} one-mode cases reported as two modes"
    );
    assert!(
        spell_aside * 100 >= 95 * spell_rounds,
        "{spell_aside} of {spell_rounds} rounds deep in a spell set aside"
    );
    assert!(
        quiet_aside * 100 <= quiet_rounds,
        "{quiet_aside} of {quiet_rounds} quiet rounds set aside"
    );
    assert!(
        bimodal_found * 10 >= bimodal * 9,
        "two real modes found in {bimodal_found} of {bimodal} cases"
    );
}
