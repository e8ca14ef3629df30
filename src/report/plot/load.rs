//! The load chart: latency from the due time against the offered rate,
//! for fixed-rate results.

use super::style::*;
use crate::record::BenchResult;
use crate::report::results::Loaded;
use anyhow::anyhow;
use plotters::prelude::*;
use std::path::Path;

/// Latency against offered load, the chart a service team reads: for each
/// fixed-rate result, its p99 from the due time (solid: what a caller sees)
/// and from the actual send (dashed: what a closed-loop tool would report)
/// against the offered rate, log–log, a line pair per transport (colour) and
/// codec (marker), one panel per placement and payload size. A point where
/// the transport fell behind its schedule is ringed.
pub fn load_chart(results: &[Loaded], path: &Path) -> anyhow::Result<()> {
    let rows: Vec<&BenchResult> = verified(results)
        .into_iter()
        .filter(|r| {
            r.traffic.offered_rate_per_sec.is_some() && r.latency_from_intended_ns.is_some()
        })
        .collect();
    if rows.is_empty() {
        return Err(anyhow!("no verified fixed-rate results to plot"));
    }
    let y = log_fit(rows.iter().flat_map(|r| {
        let (lo, hi) = r
            .due_p99_interval()
            .map_or((from_due(r), from_due(r)), |i| {
                (i.lo, i.hi.unwrap_or(from_due(r)))
            });
        let p50 = due_p50(r).map_or([from_due(r); 3], |(p50, i)| {
            i.map_or([p50; 3], |i| [p50, i.lo, i.hi])
        });
        [from_due(r), from_send(r), lo, hi, p50[0], p50[1], p50[2]]
    }))?;
    against_offered_rate(
        &rows,
        path,
        RateAxis {
            title: "p99 and p50 latency against offered load (log–log, lower is better); bars and bands: 95 % interval",
            y,
            y_desc: "latency",
            y_format: &|v| crate::util::format::format_ns(*v),
        },
        &draw_line,
        &timing_legend,
    )
}

/// The y axis of a chart against the offered rate.
pub(super) struct RateAxis<'a> {
    pub title: &'a str,
    pub y: std::ops::Range<f64>,
    pub y_desc: &'a str,
    pub y_format: &'a dyn Fn(&f64) -> String,
}

/// How one transport and codec's line is drawn across the offered rates.
pub(super) type DrawLine =
    dyn Fn(&mut LogLog, &[&BenchResult], RGBColor, usize) -> anyhow::Result<()>;

/// A chart of `rows` (fixed-rate results, at least one) against their
/// offered rate, log–log: one panel per placement and payload size, a line
/// per transport (colour) and codec (marker) drawn by `draw`, the legend of
/// both, then `more_legend` below it.
pub(super) fn against_offered_rate(
    rows: &[&BenchResult],
    path: &Path,
    axis: RateAxis,
    draw: &DrawLine,
    more_legend: &dyn Fn(&Area, i32) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let first = *rows.first().ok_or_else(|| anyhow!("nothing to plot"))?;
    let colours = Colours::new(rows);
    let codecs = codec_labels(rows);
    let panels_of = facets(rows);
    let x = log_fit(rows.iter().map(|r| offered(r)))?;
    let (area, legend_area) = canvas(
        path,
        (1000 + LEGEND_WIDTH, 60 + 520 * panels_of.len() as u32),
        axis.title,
    )?;
    let panels = area.split_evenly((panels_of.len(), 1));
    for ((placement, payload), panel) in panels_of.iter().zip(&panels) {
        let mut chart = log_log_panel(
            panel,
            format!("pin {placement}, {payload} B — {}", machine_line(first)),
            (&x, "offered requests per second"),
            (&axis.y, axis.y_desc),
            axis.y_format,
        )?;
        let lines = lines_in(rows, |r| {
            r.placement.mode.name() == placement && r.payload_bytes == *payload
        });
        for ((transport, codec), mut points) in lines {
            points.sort_by_key(|r| r.traffic.offered_rate_per_sec);
            let shape = codecs.iter().position(|c| *c == codec).unwrap_or(0);
            draw(&mut chart, &points, colours.of(&transport), shape)?;
        }
    }
    let next = transport_and_codec_legend(&legend_area, &colours, rows, &codecs)?;
    more_legend(&legend_area, next)?;
    area.present().map_err(drawing_error)?;
    Ok(())
}

/// What the lines and rings mean: p99 from the due time, from the send,
/// and a case that fell behind its offered rate.
fn timing_legend(legend_area: &Area, next: i32) -> anyhow::Result<()> {
    let line = |dashed: bool| -> Marker {
        Box::new(move |a: &Area, (x, y): (i32, i32)| {
            let segments: Vec<[(i32, i32); 2]> = if dashed {
                vec![[(x - 10, y), (x - 4, y)], [(x + 1, y), (x + 7, y)]]
            } else {
                vec![[(x - 10, y), (x + 10, y)]]
            };
            for segment in segments {
                a.draw(&PathElement::new(
                    segment.to_vec(),
                    BLACK.stroke_width(if dashed { 1 } else { 2 }),
                ))
                .map_err(drawing_error)?;
            }
            Ok(())
        })
    };
    legend(
        legend_area,
        "p99 timed from",
        vec![
            ("the due time (caller's view)".to_string(), line(false)),
            ("the actual send".to_string(), line(true)),
            (
                "p50 from due, 95 % band".to_string(),
                Box::new(|a: &Area, (x, y): (i32, i32)| {
                    a.draw(&Rectangle::new(
                        [(x - 10, y - 4), (x + 10, y + 4)],
                        BLACK.mix(0.18).filled(),
                    ))
                    .map_err(drawing_error)?;
                    a.draw(&PathElement::new(
                        vec![(x - 10, y), (x + 10, y)],
                        BLACK.stroke_width(1),
                    ))
                    .map_err(drawing_error)
                }),
            ),
            (
                "bar: p99 interval (top: open)".to_string(),
                Box::new(|a: &Area, (x, y): (i32, i32)| {
                    for segment in [
                        [(x, y - 7), (x, y + 7)],
                        [(x - 3, y - 7), (x + 3, y - 7)],
                        [(x - 3, y + 7), (x + 3, y + 7)],
                    ] {
                        a.draw(&PathElement::new(segment.to_vec(), BLACK.stroke_width(1)))
                            .map_err(drawing_error)?;
                    }
                    Ok(())
                }),
            ),
            (
                "ringed: fell behind".to_string(),
                Box::new(|a: &Area, at: (i32, i32)| {
                    a.draw(&Circle::new(at, 7, BLACK.stroke_width(1)))
                        .map_err(drawing_error)
                }),
            ),
        ],
        next,
    )?;
    Ok(())
}

/// The offered rate of a fixed-rate result.
pub(super) fn offered(r: &BenchResult) -> f64 {
    r.traffic.offered_rate_per_sec.unwrap_or(1) as f64
}

/// p99 latency from each request's due time.
fn from_due(r: &BenchResult) -> f64 {
    r.latency_from_intended_ns
        .as_ref()
        .map_or(0.0, |l| l.p99 as f64)
}

/// The p50 from the due time, with its interval when the rounds gave one.
fn due_p50(r: &BenchResult) -> Option<(f64, Option<crate::record::Interval>)> {
    let p50 = r.latency_from_intended_ns.as_ref()?.p50 as f64;
    Some((p50, r.latency_from_intended_p50_ci95))
}

/// A shaded band between each point's interval, along a line's points in
/// the order given (ascending rate): a polygon for every run of points that
/// have one; points without an interval break it.
pub(super) fn band(
    chart: &mut LogLog,
    points: &[(f64, Option<crate::record::Interval>)],
    colour: RGBColor,
) -> anyhow::Result<()> {
    for run in points.split(|(_, i)| i.is_none()) {
        let edge: Vec<(f64, crate::record::Interval)> =
            run.iter().filter_map(|(x, i)| Some((*x, (*i)?))).collect();
        if edge.is_empty() {
            continue;
        }
        let mut outline: Vec<(f64, f64)> = edge.iter().map(|(x, i)| (*x, i.lo)).collect();
        outline.extend(edge.iter().rev().map(|(x, i)| (*x, i.hi)));
        if edge.len() == 1 {
            // One point: a short bar wide enough to see.
            let (x, i) = edge[0];
            outline = vec![
                (x / 1.08, i.lo),
                (x * 1.08, i.lo),
                (x * 1.08, i.hi),
                (x / 1.08, i.hi),
            ];
        }
        chart
            .draw_series([Polygon::new(outline, colour.mix(0.18).filled())])
            .map_err(drawing_error)?;
    }
    Ok(())
}

/// p99 latency from each request's actual send.
fn from_send(r: &BenchResult) -> f64 {
    r.latency_ns.as_ref().map_or(0.0, |l| l.p99 as f64)
}

/// Whether the case achieved less than the rate it was offered.
fn fell_behind(r: &BenchResult) -> bool {
    r.round_trips_per_sec < crate::record::traffic::SUSTAINED_SHARE * offered(r)
}

/// One transport and codec across the offered rates: p99 from the due time
/// (solid, with the rounds' spread and the codec's marker, ringed where it
/// fell behind) and from the send (dashed).
fn draw_line(
    chart: &mut LogLog,
    points: &[&BenchResult],
    colour: RGBColor,
    shape: usize,
) -> anyhow::Result<()> {
    let p50s: Vec<(f64, (f64, Option<crate::record::Interval>))> = points
        .iter()
        .filter_map(|r| Some((offered(r), due_p50(r)?)))
        .collect();
    let intervals: Vec<_> = p50s.iter().map(|(x, (_, i))| (*x, *i)).collect();
    band(chart, &intervals, colour)?;
    chart
        .draw_series(LineSeries::new(
            p50s.iter().map(|(x, (p50, _))| (*x, *p50)),
            colour.stroke_width(1),
        ))
        .map_err(drawing_error)?;
    chart
        .draw_series(LineSeries::new(
            points.iter().map(|r| (offered(r), from_due(r))),
            colour.stroke_width(2),
        ))
        .map_err(drawing_error)?;
    chart
        .draw_series(DashedLineSeries::new(
            points.iter().map(|r| (offered(r), from_send(r))),
            6,
            4,
            colour.stroke_width(1),
        ))
        .map_err(drawing_error)?;
    // Behind each point, its p99's interval; one the requests cannot bound
    // from above reaches the top of the chart.
    let top = chart.as_coord_spec().get_y_range().end;
    chart
        .draw_series(points.iter().filter_map(|r| {
            let i = r.due_p99_interval()?;
            Some(ErrorBar::new_vertical(
                offered(r),
                i.lo,
                from_due(r),
                i.hi.unwrap_or(top),
                colour.stroke_width(1),
                6,
            ))
        }))
        .map_err(drawing_error)?;
    for r in points {
        codec_marker(shape, colour, (offered(r), from_due(r)), chart)?;
        if fell_behind(r) {
            chart
                .draw_series([Circle::new(
                    (offered(r), from_due(r)),
                    10,
                    BLACK.stroke_width(1),
                )])
                .map_err(drawing_error)?;
        }
    }
    Ok(())
}
