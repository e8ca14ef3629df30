//! The price of the wait: both processes' CPU against the offered rate,
//! for fixed-rate results.

use super::load::{against_offered_rate, band, offered, RateAxis};
use super::style::*;
use crate::record::BenchResult;
use crate::record::Interval;
use crate::report::results::Loaded;
use anyhow::anyhow;
use plotters::prelude::*;
use std::path::Path;

/// CPU against offered load, the chart that says what waiting costs: for
/// each fixed-rate result, the CPU time both processes used per second of
/// the run, in percent of one core (median of its rounds), against the
/// offered rate, log–log, a line per transport (colour) and codec (marker),
/// one panel per placement and payload size, the 95 % interval of the
/// median round as a band. A spinning wait is flat near a core per spinning process
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
        let at = cpu_percent(r).unwrap_or(0.0);
        cpu_interval(r).map_or([at; 3], |i| [at, i.lo, i.hi])
    }))?;
    against_offered_rate(
        &rows,
        path,
        RateAxis {
            title: "CPU of both processes against offered load, in % of one core; band: the 95 % interval of the median round (log–log, lower is better)",
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

/// The 95 % interval of the median of its rounds' CPU (order statistics:
/// the rounds' range up to eight rounds), when it has two rounds or more.
fn cpu_interval(r: &BenchResult) -> Option<Interval> {
    let rounds: Vec<f64> = r
        .samples
        .iter()
        .filter(|s| s.set_aside.is_none())
        .filter_map(|s| s.cpu_cores().map(|c| c * 100.0))
        .collect();
    crate::report::estimate::median_interval(&rounds).map(|(i, _)| i)
}

fn draw_line(
    chart: &mut LogLog,
    points: &[&BenchResult],
    colour: RGBColor,
    shape: usize,
) -> anyhow::Result<()> {
    let at = |r: &&BenchResult| Some((offered(r), cpu_percent(r)?));
    let intervals: Vec<_> = points
        .iter()
        .map(|r| (offered(r), cpu_interval(r)))
        .collect();
    band(chart, &intervals, colour)?;
    chart
        .draw_series(LineSeries::new(
            points.iter().filter_map(at),
            colour.stroke_width(2),
        ))
        .map_err(drawing_error)?;
    for point in points.iter().filter_map(at) {
        codec_marker(shape, colour, point, chart)?;
    }
    Ok(())
}
