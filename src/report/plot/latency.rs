//! The latency chart: p50, p99 and p99.9 per case, with the spread of the
//! rounds behind each percentile.

use super::style::*;
use crate::record::BenchResult;
use crate::report::compare::CaseKey;
use crate::report::results::Loaded;
use anyhow::anyhow;
use plotters::prelude::*;
use std::path::Path;

/// Picks one percentile out of a latency summary.
pub(super) type Percentile = fn(&crate::record::LatencySummary) -> u64;

/// Latency percentiles p50, p99 and p99.9 of every case (from all rounds),
/// fastest first, on a log scale; behind p50 and p99 a band from the
/// lowest to the highest round's value. Markers take the transport's colour.
pub fn latency_chart(results: &[Loaded], path: &Path) -> anyhow::Result<()> {
    let mut rows = labelled_rows(results);
    let first = rows
        .first()
        .map(|(r, _)| *r)
        .ok_or_else(|| anyhow!("no verified results with latency to plot"))?;
    let all: Vec<&BenchResult> = rows.iter().map(|(r, _)| *r).collect();
    let colours = Colours::new(&all);
    // Slowest first, so the fastest case ends up on the top row.
    rows.sort_by_key(|(r, _)| std::cmp::Reverse(r.latency_ns.as_ref().map_or(0, |l| l.p50)));
    let x = log_fit(rows.iter().flat_map(|(r, _)| {
        let l = r.latency_ns.as_ref().expect("filtered above");
        let rounds = r
            .samples
            .iter()
            .flat_map(|s| [s.latency_p50_ns, s.latency_p99_ns])
            .flatten()
            .map(|v| v as f64);
        [l.p50 as f64, l.p999 as f64]
            .into_iter()
            .chain(rounds)
            .collect::<Vec<_>>()
    }))?;
    let labels: Vec<String> = rows.iter().map(|(_, l)| l.clone()).collect();
    let height = (140 + rows.len() * 22).max(400) as u32;
    let (area, legend_area) = canvas(
        path,
        (1100 + LEGEND_WIDTH, height),
        "Round-trip latency percentiles per case, all rounds (log scale, lower is better)",
    )?;
    let mut chart = ChartBuilder::on(&area)
        .caption(machine_line(first), ("sans-serif", 13))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(330)
        .build_cartesian_2d(x.log_scale(), -0.5f64..rows.len() as f64 - 0.5)
        .map_err(drawing_error)?;
    chart
        .configure_mesh()
        .y_labels(rows.len())
        .y_label_formatter(&|y| {
            let i = y.round();
            if (y - i).abs() < 1e-6 && i >= 0.0 {
                labels.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .x_desc("nanoseconds per round trip")
        .x_label_formatter(&|v| crate::util::format::format_ns(*v))
        .draw()
        .map_err(drawing_error)?;
    // The rounds' spread first, so the markers lie on top.
    type RoundValue = fn(&crate::record::Sample) -> Option<u64>;
    let spreads: [RoundValue; 2] = [|s| s.latency_p50_ns, |s| s.latency_p99_ns];
    for pick in spreads {
        chart
            .draw_series(rows.iter().enumerate().filter_map(|(i, (r, _))| {
                let values: Vec<u64> = r.samples.iter().filter_map(pick).collect();
                let (lo, hi) = (*values.iter().min()?, *values.iter().max()?);
                let colour = colours.of(&CaseKey::of(r).transport_label());
                Some(Rectangle::new(
                    [(lo as f64, i as f64 - 0.28), (hi as f64, i as f64 + 0.28)],
                    colour.mix(0.25).filled(),
                ))
            }))
            .map_err(drawing_error)?;
    }
    let percentiles: [(&str, Percentile); 3] = [
        ("p50", |l| l.p50),
        ("p99", |l| l.p99),
        ("p99.9", |l| l.p999),
    ];
    for (p, (_, pick)) in percentiles.iter().enumerate() {
        for (i, (r, _)) in rows.iter().enumerate() {
            let l = r.latency_ns.as_ref().expect("filtered above");
            let colour = colours.of(&CaseKey::of(r).transport_label());
            let at = (pick(l) as f64, i as f64);
            match p {
                0 => chart.draw_series([Circle::new(at, 5, colour.filled())]),
                1 => chart.draw_series([TriangleMarker::new(at, 6, colour.filled())]),
                _ => chart.draw_series([Cross::new(at, 5, colour.stroke_width(2))]),
            }
            .map_err(drawing_error)?;
        }
    }
    latency_legend(&legend_area, &colours, &all)?;
    area.present().map_err(drawing_error)?;
    Ok(())
}

/// Every verified result with latency, labelled by its case.
fn labelled_rows(results: &[Loaded]) -> Vec<(&BenchResult, String)> {
    verified(results)
        .into_iter()
        .filter(|r| r.latency_ns.is_some())
        .map(|r| {
            let k = CaseKey::of(r);
            let label = format!(
                "{} {} {} {} B",
                k.transport_label(),
                codec_label(&k),
                k.placement,
                k.payload_bytes
            );
            (r, label)
        })
        .collect()
}

/// The percentiles' markers and the transports' colours.
fn latency_legend(
    legend_area: &Area,
    colours: &Colours,
    all: &[&BenchResult],
) -> anyhow::Result<()> {
    let shapes: Vec<(String, Marker)> = vec![
        (
            "p50".into(),
            Box::new(|a: &Area, p: (i32, i32)| {
                a.draw(&Circle::new(p, 5, BLACK.filled()))
                    .map_err(drawing_error)
            }),
        ),
        (
            "p99".into(),
            Box::new(|a: &Area, p: (i32, i32)| {
                a.draw(&TriangleMarker::new(p, 6, BLACK.filled()))
                    .map_err(drawing_error)
            }),
        ),
        (
            "p99.9".into(),
            Box::new(|a: &Area, p: (i32, i32)| {
                a.draw(&Cross::new(p, 5, BLACK.stroke_width(2)))
                    .map_err(drawing_error)
            }),
        ),
        (
            "band: rounds' lowest to highest".into(),
            Box::new(|a: &Area, (x, y): (i32, i32)| {
                a.draw(&Rectangle::new(
                    [(x - 8, y - 5), (x + 8, y + 5)],
                    BLACK.mix(0.25).filled(),
                ))
                .map_err(drawing_error)
            }),
        ),
    ];
    let next = legend(legend_area, "percentile", shapes, 20)?;
    let entries = colours
        .present(all)
        .into_iter()
        .map(|t| {
            let colour = colours.of(&t);
            (t, swatch(colour))
        })
        .collect();
    legend(legend_area, "transport", entries, next)?;
    Ok(())
}
