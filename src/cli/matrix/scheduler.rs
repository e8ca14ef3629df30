//! Which round runs next, and when a matrix is done: the planned passes
//! over every case, then extra passes over the cases not yet sure (or short
//! of kept rounds, after rounds were set aside) within the time budget; the
//! machine's pace re-read from every case's rounds whenever a case is due
//! for a look, so that the look sees its rounds as the model sees them.
//!
//! It runs nothing itself: [`super::run`] feeds it real rounds, and the
//! simulation in its tests feeds it drawn ones on a drawn clock.

use super::schedule::{pass_order, schedule};
use super::{budget_secs, MatrixSpec, PlannedCase};
use crate::measure::runner::Round;
use crate::report::estimate::Stop;
use crate::report::series::Series;
use crate::report::spells;
use crate::report::stopping::StoppingRule;
use std::collections::VecDeque;

/// The next round to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Next {
    pub case: usize,
    /// Which pass over the cases it belongs to (1-based): the round's number.
    pub pass: usize,
    /// Rounds run before it, and the rounds the run expects in all so far.
    pub step: usize,
    pub total: usize,
}

/// The state of a matrix's rounds.
pub struct Scheduler<'a> {
    cases: &'a [PlannedCase],
    spec: &'a MatrixSpec,
    pub rule: StoppingRule,
    pub series: Vec<Series>,
    failed: Vec<bool>,
    planned: std::vec::IntoIter<Vec<usize>>,
    rng: fastrand::Rng,
    /// The rest of the current pass.
    queue: VecDeque<usize>,
    pass: usize,
    step: usize,
    total: usize,
    /// Seconds from the start by which extra rounds must have ended, set at
    /// the first extra round.
    budget: Option<f64>,
    /// Wall seconds the rounds so far took, for the pace of the run.
    round_secs: f64,
    flat_out: Vec<bool>,
    labels: Vec<String>,
}

impl<'a> Scheduler<'a> {
    pub fn new(cases: &'a [PlannedCase], spec: &'a MatrixSpec) -> Self {
        let rule = StoppingRule::of(&spec.settings);
        Scheduler {
            cases,
            spec,
            rule,
            series: vec![Series::default(); cases.len()],
            failed: vec![false; cases.len()],
            planned: schedule(cases, rule.min_rounds, spec.seed, spec.reference.as_deref())
                .into_iter(),
            // Extra passes draw from their own seed, so the planned order is
            // the same as a run without a precision.
            rng: fastrand::Rng::with_seed(spec.seed ^ 0x05ee_d0f1_00c5),
            queue: VecDeque::new(),
            pass: 0,
            step: 0,
            total: cases.len() * rule.min_rounds,
            budget: None,
            round_secs: 0.0,
            flat_out: cases
                .iter()
                .map(|c| c.spec.traffic.offered_rate_per_sec.is_none())
                .collect(),
            labels: cases.iter().map(|c| c.label.clone()).collect(),
        }
    }

    /// The cases still measured and not yet stopped.
    pub fn open_cases(&self) -> Vec<usize> {
        (0..self.cases.len())
            .filter(|&i| !self.failed[i] && self.series[i].stop().is_none())
            .collect()
    }

    /// The next round to run, `elapsed` seconds into the run; `None` when
    /// the matrix is done (every case sure, or at its most rounds, or the
    /// budget spent: then the open cases are marked so).
    pub fn next(&mut self, elapsed: f64) -> Option<Next> {
        loop {
            while let Some(case) = self.queue.pop_front() {
                if self.failed[case] {
                    continue;
                }
                let extra = self.pass > self.rule.min_rounds;
                if extra && self.out_of_budget(elapsed) {
                    for j in self.open_cases() {
                        self.series[j].stopped(Stop::Budget, self.rule);
                    }
                    self.queue.clear();
                    return None;
                }
                let next = Next {
                    case,
                    pass: self.pass,
                    step: self.step,
                    total: self.total,
                };
                self.step += 1;
                return Some(next);
            }
            let mut open = self.open_cases();
            if open.is_empty() && self.planned.len() == 0 {
                // Every case has stopped: the pace read from all their
                // rounds may set aside rounds a case stopped on, or move
                // its interval; such a case goes on.
                self.read_pace();
                open = self.open_cases();
            }
            let order = match self.planned.next() {
                Some(order) => order,
                None if open.is_empty() => return None,
                None => pass_order(
                    self.cases,
                    &open,
                    &mut self.rng,
                    self.spec.reference.as_deref(),
                ),
            };
            self.pass += 1;
            if self.pass > self.rule.min_rounds {
                self.total = self.step + order.len();
            }
            self.queue = order.into();
        }
    }

    /// Whether an extra round would overrun the budget: a round starts only
    /// if one like it still fits.
    fn out_of_budget(&mut self, elapsed: f64) -> bool {
        let mean = self.round_secs / self.step.max(1) as f64;
        let max_time = self.spec.settings.max_time;
        let budget = *self
            .budget
            .get_or_insert_with(|| budget_secs(max_time, elapsed));
        elapsed + mean > budget
    }

    /// Records a round of `case` that took `secs` of wall time: the pace
    /// re-read when the case is due for a look, then the look.
    pub fn record(&mut self, case: usize, round: Round, secs: f64) {
        self.round_secs += secs;
        self.series[case].push(round);
        if self.series[case].due_for_look(self.rule) {
            self.read_pace();
        }
        self.series[case].look(self.rule);
    }

    /// Counts a failed round's time; the case gets no more rounds.
    pub fn failed(&mut self, case: usize, secs: f64) {
        self.round_secs += secs;
        self.failed[case] = true;
        self.series[case].stopped(Stop::Failed, self.rule);
    }

    /// Reads the machine's pace from every case's rounds so far and marks
    /// them (see [`spells::apply`]).
    pub fn read_pace(&mut self) {
        spells::apply(&mut self.series, &self.flat_out, &self.labels, self.rule);
    }
}
