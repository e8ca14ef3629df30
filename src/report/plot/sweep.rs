//! The fan-out and stream charts: throughput against the number of
//! children or the window, one line per transport.

use super::style::*;
use crate::record::BenchResult;
use crate::report::results::Loaded;
use anyhow::anyhow;
use plotters::prelude::*;
use std::path::Path;

/// What a sweep chart puts along x, and how it names things.
pub(super) struct Sweep {
    /// The position along x of a result (children; log2 of a window).
    x: fn(&BenchResult) -> f64,
    /// The label at a whole-number position of x.
    label: fn(f64) -> String,
    title: &'static str,
    x_desc: &'static str,
    y_desc: &'static str,
    empty: &'static str,
}

/// Round trips per second against the number of children each ping goes to
/// (a round trip ends when the last has answered), with 95 % intervals, a
/// line per transport (colour) and codec (marker), one panel per placement
/// and payload size, log y.
pub fn fanout_chart(results: &[Loaded], path: &Path) -> anyhow::Result<()> {
    let rows: Vec<&BenchResult> = verified(results)
        .into_iter()
        .filter(|r| r.traffic.is_ping_pong())
        .collect();
    sweep_chart(
        &rows,
        path,
        &Sweep {
            x: |r| r.traffic.children as f64,
            label: |v| format!("{v:.0}"),
            title: "Round trips per second against children per ping, median and 95 % interval (higher is better)",
            x_desc: "children each ping goes to",
            y_desc: "round trips / s (all children answered)",
            empty: "no verified fan-out results to plot",
        },
    )
}

/// Stream messages per second against the window (messages in flight, on a
/// log2 axis), with 95 % intervals, a line per transport and codec, one
/// panel per placement and payload size, log y.
pub fn stream_chart(results: &[Loaded], path: &Path) -> anyhow::Result<()> {
    let rows: Vec<&BenchResult> = verified(results)
        .into_iter()
        .filter(|r| r.traffic.is_stream())
        .collect();
    sweep_chart(
        &rows,
        path,
        &Sweep {
            x: |r| f64::from(r.traffic.window.max(1)).log2(),
            label: |v| format!("{:.0}", v.exp2()),
            title: "Stream: messages per second against the window, median and 95 % interval (higher is better)",
            x_desc: "window: messages in flight unacknowledged (log scale)",
            y_desc: "messages / s, one way",
            empty: "no verified stream results to plot",
        },
    )
}

pub(super) fn sweep_chart(rows: &[&BenchResult], path: &Path, sweep: &Sweep) -> anyhow::Result<()> {
    let first = *rows.first().ok_or_else(|| anyhow!(sweep.empty))?;
    let colours = Colours::new(rows);
    let x_of = sweep.x;
    let codecs = codec_labels(rows);
    let panels_of = facets(rows);
    let lowest = rows.iter().map(|r| x_of(r)).fold(f64::INFINITY, f64::min);
    let most = rows.iter().map(|r| x_of(r)).fold(lowest, f64::max);
    let x = lowest - 0.5..most + 0.5;
    let y = log_fit(rows.iter().flat_map(|r| {
        let ci = r.round_trips_per_sec_ci95;
        [
            r.round_trips_per_sec,
            ci.map_or(r.round_trips_per_sec, |c| c.lo),
            ci.map_or(r.round_trips_per_sec, |c| c.hi),
        ]
    }))?;
    let (area, legend_area) = canvas(
        path,
        (1000 + LEGEND_WIDTH, 60 + 520 * panels_of.len() as u32),
        sweep.title,
    )?;
    let panels = area.split_evenly((panels_of.len(), 1));
    let label = sweep.label;
    for ((placement, payload), panel) in panels_of.iter().zip(&panels) {
        let mut chart = ChartBuilder::on(panel)
            .caption(
                format!("pin {placement}, {payload} B — {}", machine_line(first)),
                ("sans-serif", 13),
            )
            .margin(16)
            .x_label_area_size(50)
            .y_label_area_size(90)
            .build_cartesian_2d(x.clone(), y.clone().log_scale())
            .map_err(drawing_error)?;
        chart
            .configure_mesh()
            .x_desc(sweep.x_desc)
            .y_desc(sweep.y_desc)
            .x_labels((most - lowest) as usize + 2)
            .x_label_formatter(&|v| label(*v))
            .y_label_formatter(&|v| crate::util::format::group_thousands(*v))
            .draw()
            .map_err(drawing_error)?;
        let lines = lines_in(rows, |r| {
            r.placement.mode.name() == placement && r.payload_bytes == *payload
        });
        for ((transport, codec), mut points) in lines {
            points.sort_by(|a, b| x_of(a).total_cmp(&x_of(b)));
            let colour = colours.of(&transport);
            let shape = codecs.iter().position(|c| *c == codec).unwrap_or(0);
            chart
                .draw_series(LineSeries::new(
                    points.iter().map(|r| (x_of(r), r.round_trips_per_sec)),
                    colour.stroke_width(2),
                ))
                .map_err(drawing_error)?;
            chart
                .draw_series(points.iter().filter_map(|r| {
                    let ci = r.round_trips_per_sec_ci95?;
                    Some(ErrorBar::new_vertical(
                        x_of(r),
                        ci.lo,
                        r.round_trips_per_sec,
                        ci.hi,
                        colour.stroke_width(1),
                        6,
                    ))
                }))
                .map_err(drawing_error)?;
            for r in &points {
                codec_marker(shape, colour, (x_of(r), r.round_trips_per_sec), &mut chart)?;
            }
        }
    }
    transport_and_codec_legend(&legend_area, &colours, rows, &codecs)?;
    area.present().map_err(drawing_error)?;
    Ok(())
}
