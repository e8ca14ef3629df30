//! The payload chart: throughput against payload size, log-log, one line
//! per transport and codec.

use super::style::*;
use crate::record::BenchResult;
use crate::report::results::Loaded;
use anyhow::anyhow;
use plotters::prelude::*;
use std::collections::BTreeSet;
use std::path::Path;

/// Payload throughput (MB/s, both directions) against payload size, log–log,
/// a line per transport (its colour) and codec (its marker), with each
/// point's 95 % interval, one panel per placement, and the machine's
/// single-core memcpy bandwidth drawn as the physical limit when the results
/// carry it.
pub fn payload_chart(results: &[Loaded], path: &Path) -> anyhow::Result<()> {
    let rows: Vec<&BenchResult> = verified(results)
        .into_iter()
        .filter(|r| r.payload_bytes > 0)
        .collect();
    let first = *rows
        .first()
        .ok_or_else(|| anyhow!("no verified results with a payload to plot"))?;
    let colours = Colours::new(&rows);
    let codecs = codec_labels(&rows);
    let placements: Vec<String> = rows
        .iter()
        .map(|r| r.placement.mode.name().to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let memcpy = rows
        .iter()
        .filter_map(|r| r.memcpy_mb_per_sec)
        .reduce(f64::max);
    let (x, y) = payload_axes(&rows, memcpy)?;
    let (area, legend_area) = canvas(
        path,
        (1000 + LEGEND_WIDTH, 60 + 560 * placements.len() as u32),
        "Payload throughput against payload size, median and 95 % interval (log–log, higher is better)",
    )?;
    let panels = area.split_evenly((placements.len(), 1));
    for (placement, panel) in placements.iter().zip(&panels) {
        let mut chart = log_log_panel(
            panel,
            format!("pin {placement} — {}", machine_line(first)),
            (&x, "payload bytes per message"),
            (&y, "payload MB/s (both directions)"),
            &|v| crate::util::format::group_thousands(*v),
        )?;
        let lines = lines_in(&rows, |r| r.placement.mode.name() == placement);
        for ((transport, codec), mut points) in lines {
            points.sort_by_key(|r| r.payload_bytes);
            let shape = codecs.iter().position(|c| *c == codec).unwrap_or(0);
            draw_line(&mut chart, &points, colours.of(&transport), shape)?;
        }
        if let Some(limit) = memcpy {
            chart
                .draw_series(LineSeries::new(
                    vec![(x.start, limit), (x.end, limit)],
                    BLACK.stroke_width(1),
                ))
                .map_err(drawing_error)?;
        }
    }
    let next = transport_and_codec_legend(&legend_area, &colours, &rows, &codecs)?;
    if let Some(limit) = memcpy {
        legend(
            &legend_area,
            "limit",
            vec![(
                format!(
                    "single-core memcpy, {} MB/s",
                    crate::util::format::group_thousands(limit)
                ),
                Box::new(|a: &Area, (x, y): (i32, i32)| {
                    a.draw(&PathElement::new(vec![(x - 8, y), (x + 8, y)], BLACK))
                        .map_err(drawing_error)
                }),
            )],
            next,
        )?;
    }
    area.present().map_err(drawing_error)?;
    Ok(())
}

/// The axes: payload sizes, and the throughputs with their intervals and
/// the memcpy limit.
fn payload_axes(
    rows: &[&BenchResult],
    memcpy: Option<f64>,
) -> anyhow::Result<(std::ops::Range<f64>, std::ops::Range<f64>)> {
    let x = log_fit(rows.iter().map(|r| r.payload_bytes as f64))?;
    let y = log_fit(
        rows.iter()
            .flat_map(|r| {
                let ci = r.round_trips_per_sec_ci95;
                [
                    r.payload_mb_per_sec,
                    ci.map_or(r.payload_mb_per_sec, |c| mb(r, c.lo)),
                    ci.map_or(r.payload_mb_per_sec, |c| mb(r, c.hi)),
                ]
            })
            .chain(memcpy),
    )?;
    Ok((x, y))
}

/// Payload MB/s (both directions) of `r` at `rate` round trips per second.
fn mb(r: &BenchResult, rate: f64) -> f64 {
    2.0 * r.payload_bytes as f64 * rate / 1e6
}

/// One transport and codec across payload sizes: the median line, each
/// point's interval and the codec's marker.
fn draw_line(
    chart: &mut LogLog,
    points: &[&BenchResult],
    colour: RGBColor,
    shape: usize,
) -> anyhow::Result<()> {
    chart
        .draw_series(LineSeries::new(
            points
                .iter()
                .map(|r| (r.payload_bytes as f64, r.payload_mb_per_sec)),
            colour.stroke_width(2),
        ))
        .map_err(drawing_error)?;
    chart
        .draw_series(points.iter().filter_map(|r| {
            let ci = r.round_trips_per_sec_ci95?;
            Some(ErrorBar::new_vertical(
                r.payload_bytes as f64,
                mb(r, ci.lo),
                r.payload_mb_per_sec,
                mb(r, ci.hi),
                colour.stroke_width(1),
                6,
            ))
        }))
        .map_err(drawing_error)?;
    for r in points {
        let at = (r.payload_bytes as f64, r.payload_mb_per_sec);
        codec_marker(shape, colour, at, chart)?;
    }
    Ok(())
}
