//! When a case has rounds enough: the stopping rule (planned rounds, then
//! looks at x1.5 until the interval is within the precision, the most rounds
//! or the budget), and rounds that fall into two modes. The machine's slow
//! spells are [`crate::report::pace`]'s.

use crate::record::{Mode, Stop};
use crate::report::estimate::{median, median_interval};

/// How much larger each planned look is than the one before: rounds are
/// looked at after the planned ones, then at ×1.5 each time (10, 15, 22,
/// 33, 50, ...), not after every round. Stopping at the first round whose
/// interval happens to be narrow enough picks intervals that are narrow by
/// chance, and those cover the median less often: on drawn data, looking
/// after every round from 10 covers it 92 % of the time, a ×1.5 schedule
/// 94.7 % or more (the `coverage_under_the_stopping_rule` test).
pub const LOOK_GROWTH: f64 = 1.5;

/// The round counts at which a case's interval is looked at: `first` (the
/// planned rounds), then each [`LOOK_GROWTH`] times the one before, ending
/// at `last`.
pub fn looks(first: usize, last: usize) -> Vec<usize> {
    let first = first.max(1);
    let mut out = vec![first.min(last.max(1))];
    while let Some(&n) = out.last().filter(|&&n| n < last) {
        let next = ((n as f64 * LOOK_GROWTH).round() as usize).max(n + 1);
        out.push(next.min(last));
    }
    out
}

/// The next look after `done` rounds (the first look at or after it), or
/// `None` when `done` has reached `last`.
pub fn next_look(done: usize, first: usize, last: usize) -> Option<usize> {
    looks(first, last).into_iter().find(|&n| n > done)
}

/// Whether a case with these rounds is sure enough to stop: its median's
/// interval within ±`precision` of it.
pub fn within(values: &[f64], precision: f64) -> bool {
    match (median(values), median_interval(values)) {
        (Some(m), Some((ci, _))) => ci.relative_half_width(m) <= precision,
        _ => false,
    }
}

/// Smallest ratio between two groups' nearest rounds that can make them two
/// modes: closer groups are one figure's spread.
const MODES_MIN_GAP: f64 = 1.3;

/// The gap between the groups, against the spread inside the tighter group
/// (its interquartile range, or its range under four rounds)...
const MODES_GAP_TO_TIGHT: f64 = 6.0;

/// ... and against the spread inside the wider one: one mode may itself be
/// noisy (a wake-up path that is sometimes fast and fast by varying amounts).
const MODES_GAP_TO_WIDE: f64 = 2.0;

/// The smaller group's least share of the rounds (and never fewer than
/// two rounds): one stray round is an outlier, not a mode.
const MODES_MIN_SHARE: f64 = 0.15;

/// Whether `values` (positive rates) fall into two separate groups, and if
/// so the two, slower first. On a log scale, the rounds are split where
/// both sides hold at least two rounds and [`MODES_MIN_SHARE`] of them; a
/// split counts when its gap is at least [`MODES_MIN_GAP`] as a ratio,
/// [`MODES_GAP_TO_TIGHT`] times the spread inside the tighter group and
/// [`MODES_GAP_TO_WIDE`] times the spread inside the wider one; of those,
/// the one whose gap is widest against the wider spread. On drawn unimodal
/// data (normal, lognormal, flat, and slow tails) this finds two modes in
/// under 2 % of sets of ten to sixty rounds; with two groups of three or
/// more rounds seven times apart, in all of them (the tests below).
pub fn two_modes(values: &[f64]) -> Option<[Mode; 2]> {
    if values.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
        return None;
    }
    let mut logs: Vec<f64> = values.iter().map(|v| v.ln()).collect();
    logs.sort_by(f64::total_cmp);
    let n = logs.len();
    let least = ((MODES_MIN_SHARE * n as f64).ceil() as usize).max(2);
    if n < 2 * least {
        return None;
    }
    let spread = |group: &[f64]| -> f64 {
        if group.len() < 4 {
            return group[group.len() - 1] - group[0];
        }
        let quartile = |q: f64| {
            let at = q * (group.len() - 1) as f64;
            let (i, frac) = (at.floor() as usize, at.fract());
            let next = group[(i + 1).min(group.len() - 1)];
            group[i] + frac * (next - group[i])
        };
        quartile(0.75) - quartile(0.25)
    };
    let mut best: Option<(f64, usize)> = None;
    for split in least..=n - least {
        let (lower, upper) = logs.split_at(split);
        let gap = upper[0] - lower[lower.len() - 1];
        let (a, b) = (spread(lower), spread(upper));
        let (tight, wide) = (a.min(b), a.max(b).max(1e-12));
        let score = gap / wide;
        if gap >= MODES_MIN_GAP.ln()
            && gap >= MODES_GAP_TO_TIGHT * tight
            && gap >= MODES_GAP_TO_WIDE * wide
            && best.is_none_or(|(s, _)| score > s)
        {
            best = Some((score, split));
        }
    }
    let (_, split) = best?;
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let (lower, upper) = sorted.split_at(split);
    Some([
        Mode {
            median: median(lower)?,
            rounds: lower.len(),
        },
        Mode {
            median: median(upper)?,
            rounds: upper.len(),
        },
    ])
}

/// Rounds every case gets before its interval is first looked at.
pub const DEFAULT_ROUNDS: usize = 10;

/// Rounds no case goes beyond, however wide its interval.
pub const DEFAULT_MAX_ROUNDS: usize = 60;

/// The interval a case aims at: ±5 % of its median, the threshold
/// `compare` uses for its verdicts, so two settled figures more than that
/// apart can be told apart.
pub const DEFAULT_PRECISION: f64 = 0.05;

/// When a case stops getting rounds: the sequential rule every run uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoppingRule {
    /// Rounds every case gets: the first look.
    pub min_rounds: usize,
    /// Rounds no case goes beyond.
    pub max_rounds: usize,
    /// The interval's half-width, as a share of the median, at which a case
    /// is sure enough; `None`: the planned rounds and no more.
    pub precision: Option<f64>,
}

impl StoppingRule {
    /// The rule a case's settings ask for.
    pub fn of(settings: &crate::measure::runner::CaseSettings) -> Self {
        StoppingRule {
            min_rounds: settings.rounds,
            max_rounds: settings.max_rounds.max(settings.rounds),
            precision: settings.precision,
        }
    }

    /// The round counts at which a case is looked at.
    pub fn looks(&self) -> Vec<usize> {
        match self.precision {
            Some(_) => looks(self.min_rounds, self.max_rounds.max(self.min_rounds)),
            None => vec![self.min_rounds],
        }
    }

    /// At a look, with these rounds' rates: why to stop, or `None` to go on
    /// to the next look. Called between looks it still answers, but only the
    /// looks keep the interval's coverage (see [`LOOK_GROWTH`]). Two modes
    /// stop nothing: a slow spell of the machine that catches several rounds
    /// in a row looks like a second mode until more rounds outvote it, so a
    /// case in two modes goes on to its most rounds or the budget, and its
    /// result names both.
    pub fn decide(&self, rates: &[f64]) -> Option<Stop> {
        self.decide_by(rates.len(), |precision| within(rates, precision))
    }

    /// The same for any figure: `n` kept rounds, and `within` saying whether
    /// the figure's interval is within a precision (a fixed rate's p50 from
    /// the due time, see [`crate::report::latency_interval::median_within`]).
    pub fn decide_by(&self, n: usize, within: impl FnOnce(f64) -> bool) -> Option<Stop> {
        let Some(precision) = self.precision else {
            return (n >= self.min_rounds).then_some(Stop::Planned);
        };
        if n < self.min_rounds {
            return None;
        }
        if within(precision) {
            return Some(Stop::Precise);
        }
        (n >= self.max_rounds).then_some(Stop::MaxRounds)
    }

    /// Runs the rule on `draw`n rounds as a run would (more rounds only up
    /// to each look), returning the rounds it kept and why it stopped.
    pub fn simulate(&self, draw: impl FnMut() -> f64) -> (Vec<f64>, Stop) {
        self.simulate_by(draw, within)
    }

    /// The same for rounds of any kind, `within` judging a figure of them.
    pub fn simulate_by<R>(
        &self,
        mut draw: impl FnMut() -> R,
        within: impl Fn(&[R], f64) -> bool,
    ) -> (Vec<R>, Stop) {
        let mut rounds = Vec::new();
        for look in self.looks() {
            while rounds.len() < look {
                rounds.push(draw());
            }
            if let Some(stop) = self.decide_by(rounds.len(), |p| within(&rounds, p)) {
                return (rounds, stop);
            }
        }
        (rounds, Stop::MaxRounds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A few shapes of round-to-round noise, each with its true median:
    /// symmetric, skewed towards slow rounds (a busy host), flat.
    /// A named noise, its true median, and a draw of one round from it.
    type Noise = (&'static str, f64, Box<dyn Fn(&mut fastrand::Rng) -> f64>);

    fn noises(spread: f64) -> Vec<Noise> {
        // Standard normal from two uniforms (Box–Muller).
        fn normal(rng: &mut fastrand::Rng) -> f64 {
            let (u, v) = (1.0 - rng.f64(), rng.f64());
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        }
        vec![
            (
                "normal",
                100.0,
                Box::new(move |r| 100.0 * (1.0 + spread * normal(r))),
            ),
            (
                "lognormal",
                100.0,
                Box::new(move |r| 100.0 * (spread * normal(r)).exp()),
            ),
            (
                // Each round delayed by an exponential extra: rate 100 / (1 + spread × E).
                "slow tail",
                100.0 / (1.0 + spread * std::f64::consts::LN_2),
                Box::new(move |r| 100.0 / (1.0 - spread * (1.0 - r.f64()).ln())),
            ),
            (
                "uniform",
                100.0,
                Box::new(move |r| 100.0 * (1.0 + spread * 1.7 * (2.0 * r.f64() - 1.0))),
            ),
        ]
    }

    #[test]
    fn coverage_under_the_stopping_rule() {
        // The defaults: the planned rounds, the most rounds and the precision
        // a run starts with, stopping only at the looks.
        let rule = StoppingRule {
            min_rounds: DEFAULT_ROUNDS,
            max_rounds: DEFAULT_MAX_ROUNDS,
            precision: Some(DEFAULT_PRECISION),
        };
        let mut rng = fastrand::Rng::with_seed(23);
        let mut worst = (1.0, "", 0.0);
        let mut stops_seen = std::collections::BTreeSet::new();
        // Spreads from ones settled at the first look to ones that never settle.
        for spread in [0.02, 0.05, 0.08, 0.12, 0.3] {
            for (name, true_median, draw) in noises(spread) {
                let trials = 1500;
                let mut covered = 0;
                for _ in 0..trials {
                    let (rates, stop) = rule.simulate(|| draw(&mut rng));
                    stops_seen.insert(format!("{stop:?}"));
                    let (ci, _) = median_interval(&rates).unwrap();
                    covered += usize::from(ci.lo <= true_median && true_median <= ci.hi);
                }
                let coverage = covered as f64 / trials as f64;
                if coverage < worst.0 {
                    worst = (coverage, name, spread);
                }
            }
        }
        assert!(
            worst.0 >= 0.93,
            "the interval covered the true median only {:.1} % of the time ({} noise, spread {})",
            100.0 * worst.0,
            worst.1,
            worst.2
        );
        // The spreads exercised every way of stopping that noise can reach.
        for stop in ["Precise", "MaxRounds"] {
            assert!(stops_seen.contains(stop), "{stops_seen:?}");
        }
    }

    #[test]
    fn looking_after_every_round_would_not_keep_the_coverage() {
        // The reason for the schedule: the same precision, looked at after
        // every round, picks intervals narrow by chance.
        let mut rng = fastrand::Rng::with_seed(5);
        let (name, true_median, draw) = noises(0.08).swap_remove(3);
        let rule = StoppingRule {
            min_rounds: 10,
            max_rounds: 60,
            precision: Some(0.05),
        };
        let trials = 3000;
        let mut covered = 0;
        for _ in 0..trials {
            let mut rates: Vec<f64> = (0..10).map(|_| draw(&mut rng)).collect();
            while rates.len() < 60 && !within(&rates, 0.05) {
                rates.push(draw(&mut rng));
            }
            let (ci, _) = median_interval(&rates).unwrap();
            covered += usize::from(ci.lo <= true_median && true_median <= ci.hi);
        }
        let every_round = covered as f64 / trials as f64;
        assert!(every_round < 0.935, "{name}: {every_round}");
        let mut covered = 0;
        for _ in 0..trials {
            let (rates, _) = rule.simulate(|| draw(&mut rng));
            let (ci, _) = median_interval(&rates).unwrap();
            covered += usize::from(ci.lo <= true_median && true_median <= ci.hi);
        }
        assert!(covered as f64 / trials as f64 > every_round);
    }

    #[test]
    fn looks_grow_by_half_up_to_the_last() {
        assert_eq!(looks(10, 60), vec![10, 15, 23, 35, 53, 60]);
        assert_eq!(looks(6, 6), vec![6]);
        assert_eq!(looks(2, 4), vec![2, 3, 4]);
        assert_eq!(next_look(10, 10, 60), Some(15));
        assert_eq!(next_look(12, 10, 60), Some(15));
        assert_eq!(next_look(60, 10, 60), None);
        let planned = StoppingRule {
            min_rounds: 6,
            max_rounds: 60,
            precision: None,
        };
        assert_eq!(planned.looks(), vec![6]);
        assert_eq!(planned.decide(&[1.0; 6]), Some(Stop::Planned));
        assert_eq!(planned.decide(&[1.0; 5]), None);
        // Two modes stop nothing: the case goes on to its most rounds.
        let rule = StoppingRule {
            min_rounds: 6,
            max_rounds: 7,
            precision: Some(0.05),
        };
        let split = [100.0, 101.0, 99.0, 100.5, 20.0, 20.5, 19.8];
        assert!(two_modes(&split[..6]).is_some());
        assert_eq!(rule.decide(&split[..6]), None);
        assert_eq!(rule.decide(&split), Some(Stop::MaxRounds));
        assert_eq!(
            rule.decide(&[100.0, 101.0, 99.0, 100.5, 100.2, 99.8]),
            Some(Stop::Precise)
        );
    }

    #[test]
    fn two_groups_of_rounds_are_two_modes() {
        let mut rng = fastrand::Rng::with_seed(11);
        let mut found = 0;
        let trials = 500;
        for _ in 0..trials {
            let n = rng.usize(10..=40);
            // A slow group of three or more rounds and at least 15 % of
            // them, seven times slower.
            let least = ((0.15 * n as f64).ceil() as usize).max(3);
            let slow = rng.usize(least..=n / 2);
            let rates: Vec<f64> = (0..n)
                .map(|i| {
                    let noise = 1.0 + 0.06 * (rng.f64() - 0.5);
                    if i < slow {
                        14_000.0 * noise
                    } else {
                        97_000.0 * noise
                    }
                })
                .collect();
            if let Some([low, high]) = two_modes(&rates) {
                assert_eq!(low.rounds, slow);
                assert_eq!(high.rounds, n - slow);
                assert!((low.median / 14_000.0 - 1.0).abs() < 0.05, "{low:?}");
                assert!((high.median / 97_000.0 - 1.0).abs() < 0.05, "{high:?}");
                found += 1;
            }
        }
        assert_eq!(found, trials, "every drawn bimodal set is found");
        // The raw-sync block figures of the reference fan-out sweep.
        let [low, high] =
            two_modes(&[97_100.0, 14_100.0, 104_900.0, 95_300.0, 13_900.0, 99_000.0]).unwrap();
        assert_eq!((low.rounds, high.rounds), (2, 4));
        // raw-sync block across cores today: a tight slow mode and a fast one
        // that is itself spread over a factor of three.
        let [low, high] = two_modes(&[
            17.8, 22.3, 22.5, 22.9, 25.2, 25.3, 25.6, 198.1, 243.7, 455.0,
        ])
        .unwrap();
        assert_eq!((low.rounds, high.rounds), (7, 3));
        assert_eq!(high.median, 243.7);
    }

    #[test]
    fn one_group_of_rounds_is_one_mode() {
        let mut rng = fastrand::Rng::with_seed(12);
        for spread in [0.03, 0.15, 0.3] {
            for (name, _, draw) in noises(spread) {
                let trials = 1000;
                let found = (0..trials)
                    .filter(|_| {
                        let n = rng.usize(10..=60);
                        let rates: Vec<f64> = (0..n).map(|_| draw(&mut rng).max(1.0)).collect();
                        two_modes(&rates).is_some()
                    })
                    .count();
                assert!(
                    found * 50 <= trials,
                    "{name} noise, spread {spread}: two modes in {found} of {trials} unimodal sets"
                );
            }
        }
        // One stray round is an outlier, not a mode; equal rounds are one.
        assert_eq!(two_modes(&[100.0, 101.0, 99.0, 100.5, 99.5, 20.0]), None);
        assert_eq!(two_modes(&[5.0; 12]), None);
        assert_eq!(two_modes(&[1.0, 2.0, 3.0]), None);
    }
}
