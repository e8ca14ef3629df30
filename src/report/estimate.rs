//! How sure a figure is: medians over rounds with their confidence
//! intervals, ratios between two cases with theirs, shared ranks and the
//! verdicts of a comparison.
//!
//! Rounds of a case are few (five to ten) and a noisy machine makes them
//! skewed, so nothing here assumes a normal distribution:
//! - the interval of one median comes from order statistics (the exact
//!   binomial interval: no resampling, no distribution assumed);
//! - the ratio of two cases measured in the same rounds is taken per round
//!   and its median gets the same order-statistics interval (a paired
//!   measurement: the machine's slow phases fall on both sides of a ratio);
//! - the ratio of two unpaired sets (two separate runs) gets a percentile
//!   bootstrap interval of the ratio of medians, with a fixed seed so the
//!   same files always give the same verdict.

pub use crate::measure::stats::median;
pub use crate::record::{Interval, Mode, Stop};

/// The level every interval here aims at.
pub const CONFIDENCE: f64 = 0.95;

/// P(X ≤ k) for X ~ Binomial(n, 1/2).
fn binomial_half_cdf(n: usize, k: usize) -> f64 {
    let mut term = 0.5f64.powi(n as i32); // C(n, 0) / 2^n
    let mut sum = 0.0;
    for i in 0..=k.min(n) {
        sum += term;
        term = term * (n - i) as f64 / (i + 1) as f64;
    }
    sum
}

/// Which order statistics bound the median's interval, and how often such an
/// interval covers the true median: the widest-trimmed `[x(j), x(n+1-j)]`
/// (1-based) whose coverage `1 − 2·P(X ≤ j−1)` is still at least 95 %. Below
/// six rounds no pair reaches 95 %; the full range is used and its lower
/// coverage (94 % for five rounds, 88 % for four) reported.
pub fn median_rank_bounds(n: usize) -> Option<(usize, usize, f64)> {
    if n < 2 {
        return None;
    }
    let coverage = |j: usize| 1.0 - 2.0 * binomial_half_cdf(n, j - 1);
    let mut j = 1;
    while j < n.div_ceil(2) && coverage(j + 1) >= CONFIDENCE {
        j += 1;
    }
    Some((j, n + 1 - j, coverage(j)))
}

/// The median's interval from order statistics (see [`median_rank_bounds`]),
/// with its actual coverage; `None` for fewer than two values.
pub fn median_interval(values: &[f64]) -> Option<(Interval, f64)> {
    let (lo, hi, coverage) = median_rank_bounds(values.len())?;
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some((
        Interval {
            lo: sorted[lo - 1],
            hi: sorted[hi - 1],
        },
        coverage,
    ))
}

/// A ratio with its interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ratio {
    pub value: f64,
    pub interval: Option<Interval>,
    /// Whether it was taken round by round (both cases in the same rounds).
    pub paired: bool,
    /// The number of ratios (paired) or the smaller set's size (unpaired).
    pub samples: usize,
}

/// `numerator / denominator` from ratios taken round by round: the median
/// ratio and its order-statistics interval.
pub fn paired_ratio(pairs: &[(f64, f64)]) -> Option<Ratio> {
    let ratios: Vec<f64> = pairs
        .iter()
        .filter(|(_, d)| *d > 0.0)
        .map(|(n, d)| n / d)
        .collect();
    Some(Ratio {
        value: median(&ratios)?,
        interval: median_interval(&ratios).map(|(i, _)| i),
        paired: true,
        samples: ratios.len(),
    })
}

/// Resamples drawn for a bootstrap interval.
const BOOTSTRAP_RESAMPLES: usize = 4000;

/// `median(numerator) / median(denominator)` of two independent sets, with a
/// percentile bootstrap interval (both sets resampled with replacement;
/// a fixed seed, so a verdict never changes between two readings of the
/// same files). No interval when either set has a single value.
pub fn unpaired_ratio(numerator: &[f64], denominator: &[f64]) -> Option<Ratio> {
    let value = median(numerator)? / median(denominator)?;
    let samples = numerator.len().min(denominator.len());
    if samples < 2 {
        return Some(Ratio {
            value,
            interval: None,
            paired: false,
            samples,
        });
    }
    let mut rng = fastrand::Rng::with_seed(0x1bc_be9c);
    let mut resample = |set: &[f64], buf: &mut Vec<f64>| {
        buf.clear();
        buf.extend((0..set.len()).map(|_| set[rng.usize(..set.len())]));
        median(buf).unwrap_or(f64::NAN)
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut ratios: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| resample(numerator, &mut a) / resample(denominator, &mut b))
        .filter(|r| r.is_finite())
        .collect();
    ratios.sort_by(f64::total_cmp);
    let at = |q: f64| ratios[((ratios.len() - 1) as f64 * q).round() as usize];
    let tail = (1.0 - CONFIDENCE) / 2.0;
    Some(Ratio {
        value,
        interval: (!ratios.is_empty()).then(|| Interval {
            lo: at(tail),
            hi: at(1.0 - tail),
        }),
        paired: false,
        samples,
    })
}

/// Ranks for rows sorted fastest first, so that no table claims an order
/// its data do not support: a row's rank is one more than the number of rows
/// that are faster beyond doubt (their whole interval lies above its
/// interval), and never less than the rank of the row above it. Rows with the
/// same rank share it. A row without an interval is beaten by no one and
/// beats no one. Returns each row's rank and whether it is shared.
pub fn shared_ranks(intervals: &[Option<Interval>]) -> Vec<(usize, bool)> {
    let mut ranks: Vec<usize> = Vec::with_capacity(intervals.len());
    for (i, interval) in intervals.iter().enumerate() {
        let beaten_by = match interval {
            Some(mine) => intervals
                .iter()
                .flatten()
                .filter(|other| other.lo > mine.hi)
                .count(),
            None => 0,
        };
        let floor = if i == 0 { 1 } else { ranks[i - 1] };
        ranks.push((beaten_by + 1).max(floor));
    }
    ranks
        .iter()
        .enumerate()
        .map(|(i, &rank)| {
            let shared = (i > 0 && ranks[i - 1] == rank) || ranks.get(i + 1) == Some(&rank);
            (rank, shared)
        })
        .collect()
}

/// What a comparison of B with A concludes for one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The whole interval of B/A lies above 1 + threshold.
    Faster,
    /// The whole interval lies below 1 / (1 + threshold).
    Slower,
    /// The whole interval lies within ±threshold.
    NoChange,
    /// The interval reaches both into "no change" and beyond it: the data
    /// cannot tell.
    Inconclusive,
    /// A set has one round: no interval, only the two figures.
    SingleSample,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Faster => "faster",
            Verdict::Slower => "slower",
            Verdict::NoChange => "no change",
            Verdict::Inconclusive => "inconclusive",
            Verdict::SingleSample => "single sample",
        }
    }
}

/// The verdict on a throughput ratio B/A (above 1: B is faster). A change is
/// claimed only when the whole interval lies beyond the threshold, "no
/// change" only when it lies within it.
pub fn verdict(ratio: &Ratio, threshold: f64) -> Verdict {
    let Some(interval) = ratio.interval else {
        return Verdict::SingleSample;
    };
    let (up, down) = (1.0 + threshold, 1.0 / (1.0 + threshold));
    if interval.lo > up {
        Verdict::Faster
    } else if interval.hi < down {
        Verdict::Slower
    } else if interval.lo >= down && interval.hi <= up {
        Verdict::NoChange
    } else {
        Verdict::Inconclusive
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(lo: f64, hi: f64) -> Interval {
        Interval { lo, hi }
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn order_statistics_follow_the_binomial() {
        assert_eq!(median_rank_bounds(1), None);
        // Five rounds: only the range, which covers 1 - 2/32 = 93.75 %.
        let (lo, hi, c) = median_rank_bounds(5).unwrap();
        assert_eq!((lo, hi), (1, 5));
        assert!((c - 0.9375).abs() < 1e-12);
        // Six: the range covers 1 - 2/64 = 96.9 %.
        let (lo, hi, c) = median_rank_bounds(6).unwrap();
        assert_eq!((lo, hi), (1, 6));
        assert!((c - 0.96875).abs() < 1e-12);
        // Nine: x(2)..x(8) covers 1 - 2 * 10/512 = 96.1 %; x(3)..x(7) would not.
        let (lo, hi, c) = median_rank_bounds(9).unwrap();
        assert_eq!((lo, hi), (2, 8));
        assert!((c - (1.0 - 20.0 / 512.0)).abs() < 1e-12);
        // Known table value: n = 20 gives x(6)..x(15) (coverage 95.9 %).
        assert_eq!(median_rank_bounds(20).map(|b| (b.0, b.1)), Some((6, 15)));
        for n in 6..60 {
            assert!(median_rank_bounds(n).unwrap().2 >= CONFIDENCE, "n = {n}");
        }
    }

    #[test]
    fn a_median_interval_is_made_of_the_samples() {
        let (i, _) = median_interval(&[9.0, 1.0, 5.0, 7.0, 3.0, 8.0, 2.0, 6.0, 4.0]).unwrap();
        assert_eq!(i, iv(2.0, 8.0));
        assert!(median_interval(&[1.0]).is_none());
    }

    #[test]
    fn paired_ratios_are_taken_round_by_round() {
        // The machine halves its speed in the last rounds; the ratio stays 2.
        let pairs = [
            (2.0, 1.0),
            (4.0, 2.0),
            (1.0, 0.5),
            (2.2, 1.1),
            (0.8, 0.4),
            (3.0, 1.5),
        ];
        let r = paired_ratio(&pairs).unwrap();
        assert_eq!(r.value, 2.0);
        assert_eq!(r.interval, Some(iv(2.0, 2.0)));
        assert!(r.paired);
        // Unpaired, the same figures cannot tell the two apart that well.
        let (num, den): (Vec<f64>, Vec<f64>) = pairs.iter().copied().unzip();
        let u = unpaired_ratio(&num, &den).unwrap();
        let i = u.interval.unwrap();
        assert!(i.lo < 2.0 && i.hi > 2.0 && i.hi - i.lo > 1.0, "{u:?}");
    }

    #[test]
    fn bootstrap_intervals_are_reproducible_and_contain_the_ratio() {
        let a = [100.0, 104.0, 97.0, 101.0, 99.0, 103.0, 98.0];
        let b = [150.0, 149.0, 155.0, 152.0, 147.0, 151.0, 153.0];
        let r1 = unpaired_ratio(&b, &a).unwrap();
        let r2 = unpaired_ratio(&b, &a).unwrap();
        assert_eq!(r1, r2);
        let i = r1.interval.unwrap();
        assert!(i.lo <= r1.value && r1.value <= i.hi, "{r1:?}");
        assert!(i.lo > 1.4 && i.hi < 1.6, "{r1:?}");
        assert_eq!(unpaired_ratio(&[1.0], &a).unwrap().interval, None);
    }

    #[test]
    fn overlapping_intervals_share_a_rank() {
        let ranks = shared_ranks(&[
            Some(iv(90.0, 110.0)),
            Some(iv(85.0, 95.0)),
            Some(iv(60.0, 80.0)),
            Some(iv(10.0, 20.0)),
            Some(iv(15.0, 25.0)),
            Some(iv(5.0, 9.0)),
        ]);
        assert_eq!(
            ranks,
            vec![
                (1, true),
                (1, true),
                (3, false),
                (4, true),
                (4, true),
                (6, false)
            ]
        );
        // No interval, no order claimed.
        assert_eq!(shared_ranks(&[None, None]), vec![(1, true), (1, true)]);
        assert_eq!(shared_ranks(&[]), vec![]);
        // One very unsure row does not tie rows it plainly sits between:
        // [28, 30] is beaten by the two rows above 30 and beats [14, 15].
        let ranks = shared_ranks(&[
            Some(iv(60.0, 70.0)),
            Some(iv(55.0, 65.0)),
            Some(iv(10.0, 150.0)),
            Some(iv(28.0, 30.0)),
            Some(iv(14.0, 15.0)),
        ]);
        assert_eq!(
            ranks,
            vec![(1, true), (1, true), (1, true), (3, false), (4, false)]
        );
    }

    #[test]
    fn verdicts_at_their_edges() {
        let r = |lo: f64, hi: f64| Ratio {
            value: (lo + hi) / 2.0,
            interval: Some(iv(lo, hi)),
            paired: false,
            samples: 5,
        };
        let t = 0.05;
        assert_eq!(verdict(&r(1.06, 1.3), t), Verdict::Faster);
        assert_eq!(verdict(&r(1.05, 1.3), t), Verdict::Inconclusive);
        assert_eq!(verdict(&r(0.5, 0.95), t), Verdict::Slower);
        assert_eq!(verdict(&r(0.5, 1.0 / 1.05), t), Verdict::Inconclusive);
        assert_eq!(verdict(&r(1.0 / 1.05, 1.05), t), Verdict::NoChange);
        assert_eq!(verdict(&r(0.97, 1.02), t), Verdict::NoChange);
        assert_eq!(verdict(&r(0.9, 1.2), t), Verdict::Inconclusive);
        assert_eq!(verdict(&r(1.01, 1.08), t), Verdict::Inconclusive);
        let single = Ratio {
            value: 2.0,
            interval: None,
            paired: false,
            samples: 1,
        };
        assert_eq!(verdict(&single, t), Verdict::SingleSample);
    }

    #[test]
    fn half_widths_are_relative_to_the_median() {
        assert!((iv(96.0, 104.0).relative_half_width(100.0) - 0.04).abs() < 1e-12);
        assert!((iv(90.0, 101.0).relative_half_width(100.0) - 0.10).abs() < 1e-12);
    }
}
