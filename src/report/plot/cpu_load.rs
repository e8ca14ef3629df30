//! The price of the wait: both processes' CPU against the offered rate,
//! for fixed-rate results.

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
    let first = *rows
        .first()
        .ok_or_else(|| anyhow!("no verified fixed-rate results with CPU figures to plot"))?;
    let colours = Colours::new(&rows);
    let codecs = codec_labels(&rows);
    let panels_of = facets(&rows);
    let x = log_fit(rows.iter().map(|r| offered(r)))?;
    let y = log_fit(rows.iter().flat_map(|r| {
        let (lo, hi) = round_range(r).unwrap_or((0.0, 0.0));
        [cpu_percent(r).unwrap_or(0.0), lo, hi]
    }))?;
    let (area, legend_area) = canvas(
        path,
        (1000 + LEGEND_WIDTH, 60 + 520 * panels_of.len() as u32),
        "CPU of both processes against offered load, in % of one core; bars: each round's lowest to highest (log–log, lower is better)",
    )?;
    let panels = area.split_evenly((panels_of.len(), 1));
    for ((placement, payload), panel) in panels_of.iter().zip(&panels) {
        let mut chart = log_log_panel(
            panel,
            format!("pin {placement}, {payload} B — {}", machine_line(first)),
            (&x, "offered requests per second"),
            (&y, "CPU, % of one core"),
            &|v| match *v {
                v if v >= 10.0 => format!("{v:.0} %"),
                v if v >= 1.0 => format!("{v:.1} %"),
                v => format!("{v:.2} %"),
            },
        )?;
        let lines = lines_in(&rows, |r| {
            r.placement.mode.name() == placement && r.payload_bytes == *payload
        });
        for ((transport, codec), mut points) in lines {
            points.sort_by_key(|r| r.traffic.offered_rate_per_sec);
            let shape = codecs.iter().position(|c| *c == codec).unwrap_or(0);
            draw_line(&mut chart, &points, colours.of(&transport), shape)?;
        }
    }
    transport_and_codec_legend(&legend_area, &colours, &rows, &codecs)?;
    area.present().map_err(drawing_error)?;
    Ok(())
}

/// The offered rate of a fixed-rate result.
fn offered(r: &BenchResult) -> f64 {
    r.traffic.offered_rate_per_sec.unwrap_or(1) as f64
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
