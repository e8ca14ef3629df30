//! The price of the wait: both processes' CPU against the offered rate,
//! for fixed-rate results.

use super::load::{against_offered_rate, offered, RateAxis};
use super::style::*;
use crate::record::BenchResult;
use crate::report::results::Loaded;
use anyhow::anyhow;
use plotters::prelude::*;
use std::path::Path;

/// CPU against offered load, the chart that says what waiting costs: for
/// each fixed-rate result, the CPU time both processes used per second of
/// the run, in percent of one core (median of its rounds), against the
/// offered rate, log–log, a line per transport (colour) and codec (marker),
/// one panel per placement and payload size, each round's lowest to highest
/// as a bar. A spinning wait is flat near a core per spinning process
/// whatever the rate; a sleeping one falls with the rate.
pub fn cpu_load_chart(results: &[Loaded], path: &Path) -> anyhow::Result<()> {
    let rows: Vec<&BenchResult> = verified(results)
        .into_iter()
        .filter(|r| r.traffic.offered_rate_per_sec.is_some() && cpu_percent(r).is_some())
        .collect();
    if rows.is_empty() {
        return Err(anyhow!(
            "no verified fixed-rate results with CPU figures to plot"
        ));
    }
    let y = log_fit(rows.iter().flat_map(|r| {
        let (lo, hi) = round_range(r).unwrap_or((0.0, 0.0));
        [cpu_percent(r).unwrap_or(0.0), lo, hi]
    }))?;
    against_offered_rate(
        &rows,
        path,
        RateAxis {
            title: "CPU of both processes against offered load, in % of one core; bars: each round's lowest to highest (log–log, lower is better)",
            y,
            y_desc: "CPU, % of one core",
            y_format: &|v| match *v {
                v if v >= 10.0 => format!("{v:.0} %"),
                v if v >= 1.0 => format!("{v:.1} %"),
                v => format!("{v:.2} %"),
            },
        },
        &draw_line,
        &|_, _| Ok(()),
    )
}

/// The result's CPU per second, in percent of one core.
fn cpu_percent(r: &BenchResult) -> Option<f64> {
    r.cpu_cores().map(|cores| cores * 100.0)
}

/// The lowest and highest of its rounds' CPU, when it has two or more.
fn round_range(r: &BenchResult) -> Option<(f64, f64)> {
    let rounds: Vec<f64> = r
        .samples
        .iter()
        .filter_map(|s| s.cpu_cores().map(|c| c * 100.0))
        .collect();
    (rounds.len() >= 2).then(|| {
        let lo = rounds.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = rounds.iter().copied().fold(0.0, f64::max);
        (lo, hi)
    })
}

fn draw_line(
    chart: &mut LogLog,
    points: &[&BenchResult],
    colour: RGBColor,
    shape: usize,
) -> anyhow::Result<()> {
    let at = |r: &&BenchResult| Some((offered(r), cpu_percent(r)?));
    chart
        .draw_series(LineSeries::new(
            points.iter().filter_map(at),
            colour.stroke_width(2),
        ))
        .map_err(drawing_error)?;
    chart
        .draw_series(points.iter().filter_map(|r| {
            let (lo, hi) = round_range(r)?;
            Some(ErrorBar::new_vertical(
                offered(r),
                lo,
                cpu_percent(r)?,
                hi,
                colour.stroke_width(1),
                6,
            ))
        }))
        .map_err(drawing_error)?;
    for point in points.iter().filter_map(at) {
        codec_marker(shape, colour, point, chart)?;
    }
    Ok(())
}
