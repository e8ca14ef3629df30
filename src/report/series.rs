//! The rounds of one case, and the result they make together: medians over
//! rounds with their intervals, latency from all rounds, and warnings on
//! whatever makes the figures less sure than they look.

use crate::measure::runner::Round;
use crate::measure::stats::LatencyRecorder;
use crate::record::{BenchResult, Environment, PaceClass, Sample, SetAside};
use crate::report::estimate::{median, median_interval, Stop};
use crate::report::latency_interval;
use crate::report::stopping::{two_modes, StoppingRule};
use crate::report::warnings::warnings;

/// Which run the rounds belong to.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// Shared by every result of one `run` or `matrix`: rounds of two
    /// results with the same id can be paired.
    pub run_id: String,
    pub seed: Option<u64>,
}

impl RunInfo {
    /// A fresh id: the start time and this process.
    pub fn new(seed: Option<u64>) -> Self {
        RunInfo {
            run_id: format!(
                "{}-{}",
                crate::record::now_rfc3339_millis(),
                std::process::id()
            ),
            seed,
        }
    }
}

/// A round's pace, the pace its spell is judged by, and whether it ran in
/// a spell.
pub type RoundPace = (Option<f64>, Option<f64>, bool);

/// The rounds of one case so far.
#[derive(Clone, Default)]
pub struct Series {
    rounds: Vec<BenchResult>,
    /// Each round's latency histograms (from the send, from the due time)
    /// as buckets, to merge the kept rounds' again when a round is set
    /// aside or taken back after it landed.
    round_latency: Vec<[Vec<[u64; 2]>; 2]>,
    /// Why no more rounds came, once that is known, and the rule it followed.
    stop: Option<(Stop, StoppingRule)>,
    /// The round count of the next look (0: the rule's first).
    next_look: usize,
    latency: Option<LatencyRecorder>,
    latency_from_intended: Option<LatencyRecorder>,
    /// The class its pace was read from, once the model has run.
    pace_class: Option<PaceClass>,
}

/// Adds `round`'s histogram, if any, to `all`.
fn merge_into(all: &mut Option<LatencyRecorder>, round: Option<&LatencyRecorder>) {
    if let Some(latency) = round {
        match all {
            Some(all) => all.merge(latency),
            None => *all = Some(latency.clone()),
        }
    }
}

impl Series {
    /// Adds a round; one that was paused is set aside at once.
    pub fn push(&mut self, mut round: Round) {
        let planned = round.result.requested_duration_secs;
        for sample in &mut round.result.samples {
            if crate::report::pace::paused(sample, planned) {
                sample.set_aside = Some(SetAside::Paused);
            }
        }
        let kept = round.result.samples.iter().all(|s| s.set_aside.is_none());
        if kept {
            merge_into(&mut self.latency, round.latency.as_ref());
            merge_into(
                &mut self.latency_from_intended,
                round.latency_from_intended.as_ref(),
            );
        }
        let buckets = |l: Option<&LatencyRecorder>| l.map(|l| l.buckets()).unwrap_or_default();
        self.round_latency.push([
            buckets(round.latency.as_ref()),
            buckets(round.latency_from_intended.as_ref()),
        ]);
        self.rounds.push(round.result);
    }

    /// The last round's sample, if any.
    pub fn last_sample(&self) -> Option<&Sample> {
        self.rounds.last()?.samples.first()
    }

    /// Every round, for the pace model: the middle of its measured phase
    /// (seconds since the Unix epoch) and its measured throughput. Paused
    /// rounds are left out (`None`): their figure is the pause's.
    pub fn timed_rounds(&self) -> Vec<Option<(f64, f64)>> {
        self.rounds
            .iter()
            .flat_map(|r| r.samples.iter())
            .map(|s| {
                if s.set_aside == Some(SetAside::Paused) {
                    return None;
                }
                Some((
                    s.started_secs()? + s.duration_secs / 2.0,
                    s.round_trips_per_sec,
                ))
            })
            .collect()
    }

    /// Sets each round's pace, the pace its spell is judged by, and whether
    /// it ran in a slow spell (one entry per round, in order); a paused
    /// round stays set aside. When a round is set aside or taken back, the
    /// kept rounds' latency is merged again, and a case that had stopped
    /// with too few kept rounds goes on.
    pub fn set_paces(&mut self, paces: &[RoundPace], rule: StoppingRule) {
        let mut flipped = false;
        for (round, &(pace, spell_pace, spell)) in self.rounds.iter_mut().zip(paces) {
            for sample in &mut round.samples {
                sample.pace = pace;
                sample.spell_pace = spell_pace;
                if sample.set_aside == Some(SetAside::Paused) {
                    continue;
                }
                let aside = spell.then_some(SetAside::Spell);
                flipped |= sample.set_aside != aside;
                sample.set_aside = aside;
            }
        }
        if flipped {
            self.merge_kept_latency();
        }
        self.reopen_if_short(rule);
    }

    /// A case that stopped sure of its figure goes on when the pace read
    /// since has set aside rounds it counted, or moved its interval beyond
    /// the precision: the figure it stopped on is no longer the one it has.
    fn reopen_if_short(&mut self, rule: StoppingRule) {
        let kept = self.kept();
        let reopen = match self.stop {
            Some((Stop::Precise | Stop::Planned, _)) if kept < rule.min_rounds => true,
            Some((Stop::Precise, _)) => rule.precision.is_some_and(|p| !self.within(p)),
            _ => false,
        };
        if !reopen {
            return;
        }
        if kept >= rule.max_rounds {
            self.stop = Some((Stop::MaxRounds, rule));
            return;
        }
        self.stop = None;
        self.next_look = match kept < rule.min_rounds {
            true => 0,
            false => crate::report::stopping::next_look(kept, rule.min_rounds, rule.max_rounds)
                .unwrap_or(rule.max_rounds),
        };
    }

    /// Whether the figure the case aims at is within ±`precision`: a fixed
    /// rate's p50 from the due time (its throughput is the rate offered,
    /// see [`BenchResult::aims_at_latency`]), any other case's throughput.
    fn within(&self, precision: f64) -> bool {
        let due: Vec<&[[u64; 2]]> = self.kept_latency().map(|[_, due]| due.as_slice()).collect();
        let fixed_rate = self
            .first()
            .is_some_and(|r| r.traffic.offered_rate_per_sec.is_some());
        match fixed_rate && due.iter().any(|d| !d.is_empty()) {
            true => latency_interval::median_within(&due, precision),
            false => crate::report::stopping::within(&self.rates(), precision),
        }
    }

    /// The rounds none of whose samples is set aside.
    fn kept_rounds(&self) -> impl Iterator<Item = &BenchResult> + '_ {
        self.rounds
            .iter()
            .filter(|r| r.samples.iter().all(|s| s.set_aside.is_none()))
    }

    /// Both processes' CPU time over the kept rounds, and its median per
    /// round trip.
    fn kept_cpu(&self, kept_samples: &[&Sample]) -> crate::record::CpuUsage {
        let sum = |f: fn(&BenchResult) -> Option<f64>| -> Option<f64> {
            self.kept_rounds().map(f).sum::<Option<f64>>()
        };
        let cpu: Vec<f64> = kept_samples
            .iter()
            .filter_map(|s| s.cpu_ns_per_round_trip)
            .collect();
        crate::record::CpuUsage {
            parent_secs: sum(|r| r.cpu.parent_secs),
            child_secs: sum(|r| r.cpu.child_secs),
            round_trips: self.kept_rounds().map(|r| r.cpu.round_trips).sum(),
            ns_per_round_trip: median(&cpu),
        }
    }

    /// The class its pace was read from.
    pub fn set_pace_class(&mut self, class: Option<PaceClass>) {
        self.pace_class = class;
    }

    /// The kept rounds' latency histograms (from the send, from the due
    /// time), as `kept_rounds` picks them.
    fn kept_latency(&self) -> impl Iterator<Item = &[Vec<[u64; 2]>; 2]> + '_ {
        let rounds = self.rounds.iter().zip(&self.round_latency);
        rounds
            .filter(|(round, _)| round.samples.iter().all(|s| s.set_aside.is_none()))
            .map(|(_, latency)| latency)
    }

    /// Merges the kept rounds' latency histograms afresh.
    fn merge_kept_latency(&mut self) {
        let (mut sent_all, mut due_all) = (None, None);
        for [sent, due] in self.kept_latency() {
            let from =
                |b: &Vec<[u64; 2]>| (!b.is_empty()).then(|| LatencyRecorder::from_buckets(b));
            merge_into(&mut sent_all, from(sent).as_ref());
            merge_into(&mut due_all, from(due).as_ref());
        }
        (self.latency, self.latency_from_intended) = (sent_all, due_all);
    }

    /// Rounds kept for the figures.
    pub fn kept(&self) -> usize {
        self.rates().len()
    }

    /// Rounds set aside.
    pub fn set_aside(&self) -> usize {
        self.len() - self.kept()
    }

    /// Records why the case got no more rounds, under `rule`.
    pub fn stopped(&mut self, stop: Stop, rule: StoppingRule) {
        self.stop = Some((stop, rule));
    }

    /// After a round: at a look of `rule` (see [`StoppingRule`]), decides
    /// whether the case stops; between looks, does nothing.
    pub fn look(&mut self, rule: StoppingRule) {
        if self.stop.is_some() {
            return;
        }
        let n = self.kept();
        // Rounds set aside are replaced, but not without end: a case whose
        // class stays in a spell stops at twice its most rounds.
        if self.len() >= 2 * rule.max_rounds.max(rule.min_rounds) {
            self.stop = Some((Stop::MaxRounds, rule));
            return;
        }
        if !self.due_for_look(rule) {
            return;
        }
        match rule.decide_by(n, |precision| self.within(precision)) {
            Some(stop) => self.stop = Some((stop, rule)),
            None => {
                self.next_look =
                    crate::report::stopping::next_look(n, rule.min_rounds, rule.max_rounds)
                        .unwrap_or(rule.max_rounds)
            }
        }
    }

    /// Whether the kept rounds have reached the next look of `rule`.
    pub fn due_for_look(&self, rule: StoppingRule) -> bool {
        let due = match self.next_look {
            0 => rule.min_rounds,
            n => n,
        };
        self.stop.is_none() && self.kept() >= due
    }

    /// Why the case got no more rounds, once known.
    pub fn stop(&self) -> Option<Stop> {
        self.stop.map(|(stop, _)| stop)
    }

    /// Every kept round's throughput so far, at its class's usual pace.
    pub fn rates(&self) -> Vec<f64> {
        self.rounds
            .iter()
            .flat_map(|r| r.samples.iter().filter_map(Sample::kept_rate))
            .collect()
    }

    /// The first round's result: what every round of the case shares.
    pub fn first(&self) -> Option<&BenchResult> {
        self.rounds.first()
    }

    pub fn len(&self) -> usize {
        self.rounds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rounds.is_empty()
    }

    /// The result of every round so far, its figures from the kept rounds
    /// (the rounds set aside stay in its samples, marked); `None` before the
    /// first kept round.
    pub fn result(&self, run: &RunInfo, environment: Option<Environment>) -> Option<BenchResult> {
        let first = self.rounds.first()?;
        let mut result = first.clone();
        let samples: Vec<_> = self
            .rounds
            .iter()
            .flat_map(|r| r.samples.iter().cloned())
            .collect();
        let rates: Vec<f64> = samples.iter().filter_map(Sample::kept_rate).collect();
        let rate = median(&rates)?;
        let interval = median_interval(&rates);
        // The other figures come from the same rounds as the median.
        let kept_samples: Vec<&Sample> = samples.iter().filter(|s| s.set_aside.is_none()).collect();
        result.rounds = rates.len();
        result.rounds_set_aside = samples.len() - rates.len();
        result.pace_class = self.pace_class.clone();
        result.modes = two_modes(&rates);
        if let Some((stop, rule)) = self.stop {
            result.stopped = Some(stop);
            result.precision = rule.precision;
        }
        result.round_trips_per_sec = rate;
        result.round_trips_per_sec_ci95 = interval.map(|(i, _)| i);
        result.ci_coverage = interval.map(|(_, c)| c);
        result.ns_per_round_trip = 1e9 / rate;
        let directions = if result.traffic.is_stream() { 1.0 } else { 2.0 };
        result.payload_mb_per_sec = directions * result.message_bytes() as f64 * rate / 1e6;
        result.duration_secs = self.kept_rounds().map(|r| r.duration_secs).sum();
        result.round_trips = self.kept_rounds().map(|r| r.round_trips).sum();
        result.warmup_round_trips = self.kept_rounds().map(|r| r.warmup_round_trips).sum();
        result.latency_ns = self.latency.as_ref().and_then(|l| l.summary());
        result.latency_from_intended_ns = self
            .latency_from_intended
            .as_ref()
            .and_then(|l| l.summary());
        let due: Vec<&[[u64; 2]]> = self.kept_latency().map(|[_, due]| due.as_slice()).collect();
        result.latency_from_intended_p50_ci95 = latency_interval::median_interval(&due);
        result.latency_from_intended_tail_ci95 = latency_interval::tail_intervals(&due);
        result.cpu = self.kept_cpu(&kept_samples);
        let codec: Vec<f64> = kept_samples
            .iter()
            .filter_map(|s| s.codec_ns_per_round_trip)
            .collect();
        result.codec_ns_per_round_trip = median(&codec);
        // A stream's message is half a round trip's message work: no share.
        result.codec_share = result
            .codec_ns_per_round_trip
            .filter(|_| !result.traffic.is_stream())
            .map(|ns| ns / result.ns_per_round_trip);
        result.backpressure = self
            .kept_rounds()
            .filter_map(|r| r.backpressure)
            .reduce(|a, b| crate::record::Backpressure {
                sends: a.sends + b.sends,
                waits: a.waits + b.waits,
                wait_secs: a.wait_secs + b.wait_secs,
            });
        result.memcpy_mb_per_sec = median(
            &self
                .rounds
                .iter()
                .filter_map(|r| r.memcpy_mb_per_sec)
                .collect::<Vec<_>>(),
        );
        // The highest peaks of every round, set aside or not: memory does
        // not slow with the machine.
        result.memory = self
            .rounds
            .iter()
            .filter_map(|r| r.memory.clone())
            .reduce(crate::record::MemoryUse::merge);
        // Every round was verified, those set aside too.
        result.verified = self.rounds.iter().all(|r| r.verified);
        result.timestamp = self
            .rounds
            .last()
            .map_or(first.timestamp.clone(), |r| r.timestamp.clone());
        result.run_id = Some(run.run_id.clone());
        result.seed = run.seed;
        result.samples = samples;
        let environment = environment.map(|e| {
            e.with_rounds(
                result
                    .samples
                    .iter()
                    .map(|s| (s.round, s.busy_neighbours.as_deref())),
            )
        });
        result.warnings = warnings(&result, environment.as_ref());
        result.environment = environment;
        Some(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Sample;

    fn round(rate: f64, n: usize, intervals: Vec<f64>) -> Round {
        let json = include_str!("../../tests/data/v2-result.json");
        let mut result: BenchResult = serde_json::from_str(json).unwrap();
        result.rounds = 1;
        result.round_trips_per_sec = rate;
        result.round_trips = rate as u64;
        result.duration_secs = 1.0;
        result.samples = vec![Sample {
            round: n,
            started: "2026-11-28T10:00:00.000Z".into(),
            duration_secs: 1.0,
            round_trips: rate as u64,
            round_trips_per_sec: rate,
            ns_per_round_trip: 1e9 / rate,
            latency_p50_ns: None,
            latency_p99_ns: None,
            latency_from_intended_p99_ns: None,
            cpu_ns_per_round_trip: Some(1e9 / rate * 2.0),
            intervals_per_sec: intervals,
            codec_ns_per_round_trip: Some(1e9 / rate * 0.25),
            phases: None,
            longest_hold_secs: None,
            pace: None,
            spell_pace: None,
            set_aside: None,
            busy_neighbours: None,
        }];
        let mut latency = LatencyRecorder::default();
        latency.record(std::time::Duration::from_nanos((1e9 / rate) as u64));
        Round {
            result,
            latency: Some(latency),
            latency_from_intended: None,
        }
    }

    #[test]
    fn rounds_make_a_median_with_its_interval_and_merged_latency() {
        let mut series = Series::default();
        let run = RunInfo {
            run_id: "r".into(),
            seed: Some(7),
        };
        assert!(series.result(&run, None).is_none());
        for (i, rate) in [100.0, 300.0, 200.0, 120.0, 180.0, 150.0, 160.0]
            .iter()
            .enumerate()
        {
            series.push(round(*rate, i + 1, vec![]));
        }
        let r = series.result(&run, None).unwrap();
        assert_eq!(r.rounds, 7);
        assert_eq!(r.samples.len(), 7);
        assert_eq!(r.round_trips_per_sec, 160.0);
        // Seven rounds: the range covers 1 - 2/128 of the time.
        let ci = r.round_trips_per_sec_ci95.unwrap();
        assert_eq!((ci.lo, ci.hi), (100.0, 300.0));
        assert_eq!(r.round_trips, 1210);
        assert_eq!(r.run_id.as_deref(), Some("r"));
        assert_eq!(r.seed, Some(7));
        let latency = r.latency_ns.unwrap();
        assert!(
            latency.min <= 3_340_000 && latency.max >= 9_990_000,
            "{latency:?}"
        );
        assert!(
            r.warnings
                .iter()
                .any(|w| w.starts_with("unstable: rounds spread ±")),
            "{:?}",
            r.warnings
        );
    }

    #[test]
    fn a_fixed_rate_that_fell_behind_says_so_and_keeps_both_latencies() {
        let run = RunInfo {
            run_id: "r".into(),
            seed: None,
        };
        let paced = |rate: f64, n: usize, late_ns: u64| {
            // At 10 requests per 100 ms or 20: the schedule, not the machine.
            let mut r = round(rate, n, vec![10.0, 20.0, 10.0]);
            r.result.traffic = crate::record::Traffic::rate(1000);
            let mut from_intended = LatencyRecorder::default();
            from_intended.record(std::time::Duration::from_nanos(late_ns));
            r.latency_from_intended = Some(from_intended);
            r
        };
        let mut kept_up = Series::default();
        for n in 1..=3 {
            kept_up.push(paced(1000.0, n, 2_000));
        }
        let ok = kept_up.result(&run, None).unwrap();
        assert!(
            !ok.warnings
                .iter()
                .any(|w| w.starts_with("could not sustain")
                    || w.starts_with("throughput changed")
                    || w.contains("covers the median")),
            "{:?}",
            ok.warnings
        );
        // Its figure is the p50 from the due time: too few rounds for its interval.
        assert!(
            ok.warnings.iter().any(|w| w.starts_with(
                "3 rounds: too few for the p50 from the due time to have an interval"
            )),
            "{:?}",
            ok.warnings
        );
        let mut behind = Series::default();
        behind.push(paced(1000.0, 1, 2_000));
        behind.push(paced(700.0, 2, 5_000_000));
        behind.push(paced(650.0, 3, 9_000_000));
        let r = behind.result(&run, None).unwrap();
        assert!(
            r.warnings.iter().any(|w| w
                == "could not sustain the offered 1,000/s: achieved 700/s (median), behind schedule in 2 of 3 rounds; latency from the due time includes the growing backlog"),
            "{:?}",
            r.warnings
        );
        // Every round's due-time histogram is in the merged one.
        let from_intended = r.latency_from_intended_ns.unwrap();
        assert!(from_intended.min <= 2_010 && from_intended.max >= 8_990_000);
    }

    #[test]
    fn few_rounds_and_unsteady_rounds_are_named() {
        let run = RunInfo {
            run_id: "r".into(),
            seed: None,
        };
        let mut series = Series::default();
        series.push(round(100.0, 1, vec![100.0, 100.0, 100.0]));
        let one = series.result(&run, None).unwrap();
        assert!(one.round_trips_per_sec_ci95.is_none());
        assert!(
            one.warnings.iter().any(|w| w.starts_with("one round")),
            "{:?}",
            one.warnings
        );
        series.push(round(101.0, 2, vec![100.0, 210.0, 100.0]));
        series.push(round(99.0, 3, vec![100.0, 100.0, 100.0]));
        let three = series.result(&run, None).unwrap();
        assert!(
            three.warnings.iter().any(|w| w.starts_with(
                "3 rounds: the interval is their whole range and covers the median only 75 %"
            )),
            "{:?}",
            three.warnings
        );
        assert!(
            three
                .warnings
                .iter()
                .any(|w| w
                    == "throughput changed 2.1× inside round 2 (fastest against slowest 100 ms)"),
            "{:?}",
            three.warnings
        );
        assert!(!three.warnings.iter().any(|w| w.starts_with("unstable")));
    }
}
