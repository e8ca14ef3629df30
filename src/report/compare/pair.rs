//! Two sets case by case: each case's ratio B/A with its interval, the
//! shift every case shares taken out, and a verdict that claims a change
//! only when the whole interval lies beyond the threshold.

use super::*;
use crate::record::BenchResult;
use crate::report::estimate::{self, median, median_interval, Interval, Ratio, Verdict};
use crate::report::results::Loaded;
use crate::report::table::{Entry, Table};
use std::collections::{BTreeMap, BTreeSet};

/// The verdict cell: the verdict, and for the unsure ones the figures that
/// make it so.
fn verdict_text(ratio: &Ratio, threshold: f64) -> String {
    let verdict = estimate::verdict(ratio, threshold);
    match (verdict, ratio.interval) {
        (Verdict::Inconclusive, Some(ci)) => format!(
            "inconclusive: {}–{} reaches both within and beyond ±{:.0} %",
            ratio_text(ci.lo),
            ratio_text(ci.hi),
            threshold * 100.0
        ),
        (Verdict::SingleSample, _) => format!(
            "single sample: {} (no interval; run more rounds)",
            ratio_text(ratio.value)
        ),
        _ => verdict.name().to_string(),
    }
}

/// How far a noisy machine's own speed moves between two runs minutes apart
/// (a virtual machine whose host is busy: up to 2×). A whole set that moved
/// further than this did not move for the machine alone.
pub const MACHINE_DRIFT: f64 = 2.0;

/// Cases two sets must share before their common shift is taken out of
/// the verdicts.
pub const MIN_CASES_FOR_SHIFT: usize = 6;

/// What every case of two sets shares: the median of the per-case ratios
/// B/A, with the order-statistics interval of that median over the cases.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SharedShift {
    pub ratio: f64,
    pub interval: Interval,
    pub cases: usize,
}

/// One case's verdict, for a caller that acts on it (`--fail-on`).
#[derive(Debug, Clone)]
pub struct CaseVerdict {
    /// The case's result file stem (`spin-json-structured`).
    pub name: String,
    pub verdict: Verdict,
    /// The ratio B/A the verdict was drawn from (against the shared shift
    /// when there is one), as the table shows it.
    pub ratio: String,
}

/// Two sets compared case by case.
pub struct Comparison {
    pub table: Table,
    /// Every case both sets hold, with its verdict.
    pub verdicts: Vec<CaseVerdict>,
    /// Set when the sets share enough cases: the shift every case has in
    /// common, which the verdicts are relative to.
    pub shift: Option<SharedShift>,
    /// What a reader must know to read the verdicts.
    pub note: String,
}

/// The median of per-case ratios with its order-statistics interval.
fn shared_shift(values: &[f64]) -> Option<SharedShift> {
    let (interval, _) = median_interval(values)?;
    Some(SharedShift {
        ratio: median(values)?,
        interval,
        cases: values.len(),
    })
}

/// The ratio of one case relative to the shift the other cases share: its
/// interval widened by the shift's, so the shift's own uncertainty counts
/// against a claim.
fn relative_to(ratio: &Ratio, shift: &SharedShift) -> Ratio {
    Ratio {
        value: ratio.value / shift.ratio,
        interval: ratio.interval.map(|ci| Interval {
            lo: ci.lo / shift.interval.hi,
            hi: ci.hi / shift.interval.lo,
        }),
        ..*ratio
    }
}

/// Two sets matched case by case: B's throughput against A's, with the
/// interval of the ratio, and a verdict that claims a change only when the
/// whole interval lies beyond the threshold.
///
/// Two runs made minutes apart on a virtual machine or a laptop differ as a
/// whole, by 10 to 30 % and more, because the machine's own speed moved in
/// between. A shift that every case shares cannot be told apart from a code
/// change that affects every case, so when the sets share at least
/// [`MIN_CASES_FOR_SHIFT`] cases it is measured and reported on its own, and
/// each case's verdict is about how it moved against the shift of the
/// others.
pub fn pair(a: &[Loaded], b: &[Loaded], threshold: f64) -> Comparison {
    let index = |set: &[Loaded]| -> BTreeMap<CaseKey, BenchResult> {
        set.iter()
            .map(|l| (CaseKey::of(&l.result), l.result.clone()))
            .collect()
    };
    let (a, b) = (index(a), index(b));
    let keys: BTreeSet<&CaseKey> = a.keys().chain(b.keys()).collect();
    let ratios: BTreeMap<&CaseKey, Ratio> = keys
        .iter()
        .filter_map(|key| {
            let x = a.get(*key).filter(|r| r.verified)?;
            let y = b.get(*key).filter(|r| r.verified)?;
            Some((*key, ratio_between(y, x)?))
        })
        .collect();
    let values: Vec<f64> = ratios.values().map(|r| r.value).collect();
    let shift = (values.len() >= MIN_CASES_FOR_SHIFT)
        .then(|| shared_shift(&values))
        .flatten();
    // Each case is judged against the shift of the *other* cases, so that
    // its own change does not move (or widen) what it is measured against.
    let shift_without = |key: &CaseKey| -> Option<SharedShift> {
        shift?;
        let others: Vec<f64> = ratios
            .iter()
            .filter(|(k, _)| **k != key)
            .map(|(_, r)| r.value)
            .collect();
        shared_shift(&others)
    };

    let traffic = any_traffic(a.values().chain(b.values()));
    let any_debug = a.values().chain(b.values()).any(is_debug);
    let mut table = Table::new(pair_headers(traffic, any_debug, shift.is_some()));
    let mut verdicts = Vec::new();
    let rate_entry = |r: Option<&BenchResult>| match r {
        Some(r) if r.verified => Entry::number(rate_with_spread(r), r.round_trips_per_sec),
        Some(_) => Entry::text("not verified"),
        None => Entry::missing(),
    };
    for key in keys {
        let (ra, rb) = (a.get(key), b.get(key));
        let mut row = case_entries(key, traffic);
        if any_debug {
            let build = |r: Option<&BenchResult>| match r {
                Some(r) if is_debug(r) => "debug ⚠",
                Some(_) => "release",
                None => "—",
            };
            row.push(Entry::text(format!("{}/{}", build(ra), build(rb))));
        }
        row.push(rate_entry(ra));
        row.push(rate_entry(rb));
        let blanks = if shift.is_some() { 2 } else { 1 };
        match ratios.get(key) {
            Some(ratio) => {
                row.push(Entry::number(ratio_with_interval(ratio), ratio.value));
                let judged = match shift_without(key) {
                    Some(shift) => {
                        let relative = relative_to(ratio, &shift);
                        row.push(Entry::number(
                            ratio_with_interval(&relative),
                            relative.value,
                        ));
                        relative
                    }
                    None => *ratio,
                };
                row.push(Entry::text(verdict_text(&judged, threshold)));
                if let Some(result) = rb.or(ra) {
                    verdicts.push(CaseVerdict {
                        name: crate::report::export::benchmark_name(result),
                        verdict: estimate::verdict(&judged, threshold),
                        ratio: ratio_with_interval(&judged),
                    });
                }
            }
            None => {
                row.extend((0..blanks).map(|_| Entry::missing()));
                row.push(Entry::text(match (ra, rb) {
                    (None, Some(_)) => "only in B",
                    (Some(_), None) => "only in A",
                    _ => "not comparable",
                }));
            }
        }
        table.push(row);
    }
    let note = shift_note(shift.as_ref());
    Comparison {
        table,
        verdicts,
        shift,
        note,
    }
}

/// What a reader must know to read the verdicts: the shift every case
/// shares, and whether it exceeds what the machine alone moves.
fn shift_note(shift: Option<&SharedShift>) -> String {
    match shift {
        Some(shift) if shift.interval.lo > MACHINE_DRIFT || shift.interval.hi < 1.0 / MACHINE_DRIFT => format!(
            "All {} cases together: B/A = {} ({}–{}), {} as a whole by more than a machine's own speed moves between runs (up to {MACHINE_DRIFT}× on a busy virtual machine): not the machine alone. The verdicts are for each case against this shift.",
            shift.cases,
            ratio_text(shift.ratio),
            ratio_text(shift.interval.lo).trim_end_matches('×'),
            ratio_text(shift.interval.hi).trim_end_matches('×'),
            if shift.ratio > 1.0 { "faster" } else { "slower" },
        ),
        Some(shift) => format!(
            "All {} cases together: B/A = {} ({}–{}). A shift every case shares is what a change of the machine's own speed between the two runs produces, as readily as a change of code that touches every case; the verdicts are for each case against it (run both sides in one matrix to measure them side by side).",
            shift.cases,
            ratio_text(shift.ratio),
            ratio_text(shift.interval.lo).trim_end_matches('×'),
            ratio_text(shift.interval.hi).trim_end_matches('×'),
        ),
        None => format!(
            "Fewer than {MIN_CASES_FOR_SHIFT} cases in common: the verdicts compare the two runs as measured, and a machine whose speed moved between them (see `ipc-bench doctor`) moves every figure; compare runs made back to back, or run both sides in one matrix."
        ),
    }
}

/// The columns of a two-set table.
fn pair_headers(traffic: bool, any_debug: bool, shifted: bool) -> Vec<String> {
    let mut headers = case_headers(traffic);
    if any_debug {
        headers.push(format!("{BUILD_HEADER} A/B"));
    }
    headers.extend(["A round trips/s", "B round trips/s", "B/A"].map(String::from));
    if shifted {
        headers.push("B/A against the shift".into());
    }
    headers.push("Verdict".into());
    headers
}
