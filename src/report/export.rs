//! A results set in the formats CI dashboards read: Bencher's metric format
//! (BMF) and github-action-benchmark's custom formats. Each case is one
//! benchmark named by its result file's stem (`spin-json-structured`), the
//! same in every run, so a dashboard's history lines up; each figure has the
//! bounds of its 95 % interval.

use crate::record::{BenchResult, Sample};
use crate::report::estimate::{median, median_interval};
use crate::report::results::Loaded;
use serde_json::{json, Map, Value};

/// One per-round figure, read from a round.
type RoundFigure = fn(&Sample) -> Option<f64>;

/// One figure of a case with its interval's bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    /// The measure's name in BMF (a Bencher measure slug).
    pub slug: &'static str,
    /// Its unit, for github-action-benchmark.
    pub unit: &'static str,
    pub value: f64,
    pub lower: f64,
    pub upper: f64,
    pub bigger_is_better: bool,
}

/// The name a case goes by on a dashboard: its result file's stem.
pub fn benchmark_name(result: &BenchResult) -> String {
    result.file_name().trim_end_matches(".json").to_string()
}

/// The median of one per-round figure over the kept rounds (those not set
/// aside), with its interval; `None` when no round has the figure.
fn per_round(
    result: &BenchResult,
    figure: impl Fn(&Sample) -> Option<f64>,
) -> Option<(f64, f64, f64)> {
    let values: Vec<f64> = result
        .samples
        .iter()
        .filter(|s| s.set_aside.is_none())
        .filter_map(figure)
        .filter(|v| v.is_finite())
        .collect();
    let value = median(&values)?;
    let (lower, upper) = median_interval(&values).map_or((value, value), |(ci, _)| (ci.lo, ci.hi));
    Some((value, lower, upper))
}

/// A verified case's figures: round trips per second (the case's median at
/// the machine's usual pace and its interval), p50 and p99 latency and CPU
/// per round trip (medians over its rounds, with their intervals). An
/// unverified case has none: it has no figure to track.
pub fn measures(result: &BenchResult) -> Vec<Measure> {
    if !result.verified {
        return Vec::new();
    }
    let value = result.round_trips_per_sec;
    let (lower, upper) = result
        .round_trips_per_sec_ci95
        .map_or((value, value), |ci| (ci.lo.min(value), ci.hi.max(value)));
    let mut out = vec![Measure {
        slug: "round-trips-per-second",
        unit: "round trips/s",
        value,
        lower,
        upper,
        bigger_is_better: true,
    }];
    let rounds: [(&'static str, &'static str, RoundFigure); 3] = [
        ("latency-p50-ns", "ns", |s| {
            s.latency_p50_ns.map(|v| v as f64)
        }),
        ("latency-p99-ns", "ns", |s| {
            s.latency_p99_ns.map(|v| v as f64)
        }),
        ("cpu-ns-per-round-trip", "ns", |s| s.cpu_ns_per_round_trip),
    ];
    for (slug, unit, figure) in rounds {
        if let Some((value, lower, upper)) = per_round(result, figure) {
            out.push(Measure {
                slug,
                unit,
                value,
                lower,
                upper,
                bigger_is_better: false,
            });
        }
    }
    out
}

/// Bencher Metric Format: `{benchmark: {measure: {value, lower_value,
/// upper_value}}}`.
pub fn bmf(results: &[Loaded]) -> Value {
    let mut benchmarks = Map::new();
    for loaded in results {
        let mut figures = Map::new();
        for m in measures(&loaded.result) {
            figures.insert(
                m.slug.to_string(),
                json!({"value": m.value, "lower_value": m.lower, "upper_value": m.upper}),
            );
        }
        if !figures.is_empty() {
            benchmarks.insert(benchmark_name(&loaded.result), Value::Object(figures));
        }
    }
    Value::Object(benchmarks)
}

/// github-action-benchmark's custom format: an array of `{name, unit,
/// value, range, extra}`, the figures where bigger is better (round trips
/// per second: `customBiggerIsBetter`) or those where smaller is (latency
/// and CPU: `customSmallerIsBetter`), one file per tool as the action reads
/// them. `range` is the interval as `lower–upper`.
pub fn github_action_benchmark(results: &[Loaded], bigger_is_better: bool) -> Value {
    let mut entries = Vec::new();
    for loaded in results {
        let name = benchmark_name(&loaded.result);
        for m in measures(&loaded.result) {
            if m.bigger_is_better != bigger_is_better {
                continue;
            }
            let entry_name = match m.bigger_is_better {
                true => name.clone(),
                false => format!("{name} {}", m.slug),
            };
            entries.push(json!({
                "name": entry_name,
                "unit": m.unit,
                "value": m.value,
                "range": format!("{}–{}", trim(m.lower), trim(m.upper)),
                "extra": format!("95 % interval of the median over {} rounds", loaded.result.rounds),
            }));
        }
    }
    Value::Array(entries)
}

/// A figure without a float's noise digits.
fn trim(value: f64) -> String {
    if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.3}")
    }
}
