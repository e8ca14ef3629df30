//! The throughput chart: each case's median round trips per second with
//! its interval, one panel per placement and payload size.

use super::style::*;
use crate::record::BenchResult;
use crate::report::compare::CaseKey;
use crate::report::results::Loaded;
use anyhow::anyhow;
use plotters::prelude::*;
use std::path::Path;

/// Round trips per second with their 95 % intervals: one panel per
/// placement and payload size, in each a group per codec and a bar per
/// transport, on a log scale fitted to the data.
pub fn throughput_chart(results: &[Loaded], path: &Path) -> anyhow::Result<()> {
    let rows = verified(results);
    let first = *rows
        .first()
        .ok_or_else(|| anyhow!("no verified results to plot"))?;
    let colours = Colours::new(&rows);
    let transports = colours.present(&rows);
    let codecs = codec_labels(&rows);
    let panels = facets(&rows);
    let group_width = 24 + 16 * transports.len();
    let width = (120 + codecs.len() * group_width) as u32 + LEGEND_WIDTH;
    let panel_height = 340;
    let (area, legend_area) = canvas(
        path,
        (width.max(900), 60 + panel_height * panels.len() as u32),
        "Round trips per second, median and 95 % interval (log scale, higher is better)",
    )?;
    let panel_areas = area.split_evenly((panels.len(), 1));
    for ((placement, payload), panel) in panels.iter().zip(&panel_areas) {
        let sets = Sets {
            rows: &rows,
            codecs: &codecs,
            transports: &transports,
            colours: &colours,
        };
        throughput_panel(panel, &sets, first, placement, *payload)?;
    }
    let entries = transports
        .iter()
        .map(|t| (t.clone(), swatch(colours.of(t))))
        .collect();
    let next = legend(&legend_area, "transport", entries, 20)?;
    whiskers_legend(&legend_area, next)?;
    area.present().map_err(drawing_error)?;
    Ok(())
}

/// What every panel of the chart draws from.
struct Sets<'a, 'r> {
    rows: &'a [&'r BenchResult],
    codecs: &'a [String],
    transports: &'a [String],
    colours: &'a Colours,
}

/// One placement and payload size: a group per codec, a bar per transport
/// with its interval.
fn throughput_panel(
    panel: &Area,
    sets: &Sets,
    first: &BenchResult,
    placement: &str,
    payload: usize,
) -> anyhow::Result<()> {
    let (rows, codecs) = (sets.rows, sets.codecs);
    // Each panel's axis fits its own data: payload sizes differ by orders of magnitude.
    let y = log_fit(
        rows.iter()
            .filter(|r| r.placement.mode.name() == placement && r.payload_bytes == payload)
            .flat_map(|r| {
                let ci = r.round_trips_per_sec_ci95;
                [
                    r.round_trips_per_sec,
                    ci.map_or(r.round_trips_per_sec, |c| c.lo),
                    ci.map_or(r.round_trips_per_sec, |c| c.hi),
                ]
            }),
    )?;
    let mut chart = ChartBuilder::on(panel)
        .caption(
            format!(
                "pin {placement}, {payload} B payload — {}",
                machine_line(first)
            ),
            ("sans-serif", 13),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..codecs.len() as f64, y.clone().log_scale())
        .map_err(drawing_error)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(codecs.len() * 2 + 1)
        .x_label_formatter(&|x| {
            let i = x.floor() as usize;
            // Each group's name once, at its centre.
            if (x - i as f64 - 0.5).abs() < 1e-6 {
                codecs.get(i).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .x_label_style(("sans-serif", 13))
        .y_labels(6)
        .y_desc("round trips / s")
        .y_label_formatter(&|v| crate::util::format::short_rate(*v))
        .draw()
        .map_err(drawing_error)?;
    draw_bars(&mut chart, sets, placement, payload, y.start)
}

/// A bar per transport in each codec's group, with its interval.
fn draw_bars(
    chart: &mut GroupedLog,
    sets: &Sets,
    placement: &str,
    payload: usize,
    y_start: f64,
) -> anyhow::Result<()> {
    let Sets {
        rows,
        codecs,
        transports,
        colours,
    } = *sets;
    let bar = 0.8 / transports.len() as f64;
    for (t, transport) in transports.iter().enumerate() {
        let colour = colours.of(transport);
        let mine: Vec<(f64, &BenchResult)> = rows
            .iter()
            .filter(|r| {
                let k = CaseKey::of(r);
                k.transport_label() == *transport
                    && k.placement == placement
                    && r.payload_bytes == payload
            })
            .filter_map(|r| {
                let g = codecs
                    .iter()
                    .position(|c| *c == codec_label(&CaseKey::of(r)))?;
                Some((g as f64 + 0.1 + t as f64 * bar, *r))
            })
            .collect();
        chart
            .draw_series(mine.iter().map(|(x0, r)| {
                Rectangle::new(
                    [(*x0, y_start), (x0 + bar * 0.85, r.round_trips_per_sec)],
                    colour.filled(),
                )
            }))
            .map_err(drawing_error)?;
        chart
            .draw_series(mine.iter().filter_map(|(x0, r)| {
                let ci = r.round_trips_per_sec_ci95?;
                Some(ErrorBar::new_vertical(
                    x0 + bar * 0.425,
                    ci.lo,
                    r.round_trips_per_sec,
                    ci.hi,
                    BLACK.stroke_width(1),
                    6,
                ))
            }))
            .map_err(drawing_error)?;
    }
    Ok(())
}
