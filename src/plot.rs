//! SVG charts of result sets (plotters, SVG backend only: no system
//! libraries; text is left to the viewer's fonts).

use crate::compare::CaseKey;
use crate::result::BenchResult;
use crate::result::Loaded;
use anyhow::{anyhow, Context};
use plotters::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// "AMD EPYC, 2 logical cores, Linux 6.1 (virtual machine)".
fn machine_line(r: &BenchResult) -> String {
    let m = &r.machine;
    let vm = match m.virtualized {
        Some(true) => " (virtual machine)",
        _ => "",
    };
    format!(
        "{}, {} logical cores, {}{vm}",
        m.cpu_model, m.logical_cores, m.kernel
    )
}

fn verified(results: &[Loaded]) -> Vec<&BenchResult> {
    results
        .iter()
        .map(|l| &l.result)
        .filter(|r| r.verified)
        .collect()
}

/// What the series of the throughput chart are: codecs, with raw strings
/// (which use none) as their own series.
fn series_label(key: &CaseKey) -> String {
    if key.complexity == "raw-string" {
        "raw-string".into()
    } else {
        key.codec.clone()
    }
}

/// The group a result falls in on the x axis: the transport, and the
/// placement and payload when the set holds more than one of them.
fn group_label(key: &CaseKey, placements: usize, payloads: usize) -> String {
    let mut label = key.transport_label();
    if placements > 1 {
        label.push_str(&format!(" {}", key.placement));
    }
    if payloads > 1 {
        label.push_str(&format!(" {} B", key.payload_bytes));
    }
    label
}

fn log_range(values: impl Iterator<Item = f64>) -> anyhow::Result<std::ops::Range<f64>> {
    let (lo, hi) = values
        .filter(|v| *v > 0.0)
        .fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if hi <= 0.0 {
        return Err(anyhow!("no positive figures to plot"));
    }
    // Whole decades around the data, so log ticks land on round numbers.
    Ok(10f64.powf(lo.log10().floor())..10f64.powf(hi.log10().ceil()))
}

fn drawing_error<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing the chart: {e:?}")
}

/// A white SVG canvas of `size` with `title` across the top.
fn titled_canvas<'a>(
    path: &'a Path,
    size: (u32, u32),
    title: &str,
) -> anyhow::Result<DrawingArea<SVGBackend<'a>, plotters::coord::Shift>> {
    let root = SVGBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE).map_err(drawing_error)?;
    root.titled(title, ("sans-serif", 20))
        .map_err(drawing_error)
}

/// Round trips per second, one group of bars per transport, one bar per
/// codec, on a log scale.
pub fn throughput_chart(results: &[Loaded], path: &Path) -> anyhow::Result<()> {
    let rows = verified(results);
    let first = *rows
        .first()
        .ok_or_else(|| anyhow!("no verified results to plot"))?;
    let keys: Vec<CaseKey> = rows.iter().map(|r| CaseKey::of(r)).collect();
    let placements = keys
        .iter()
        .map(|k| &k.placement)
        .collect::<BTreeSet<_>>()
        .len();
    let payloads = keys
        .iter()
        .map(|k| k.payload_bytes)
        .collect::<BTreeSet<_>>()
        .len();
    let series: Vec<String> = keys
        .iter()
        .map(series_label)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut groups: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for (key, r) in keys.iter().zip(&rows) {
        groups
            .entry(group_label(key, placements, payloads))
            .or_default()
            .insert(series_label(key), r.round_trips_per_sec);
    }
    let names: Vec<&String> = groups.keys().collect();
    let y = log_range(rows.iter().map(|r| r.round_trips_per_sec))?;

    let width = (160 + names.len() * (30 + 18 * series.len())).max(800) as u32;
    let root = titled_canvas(
        path,
        (width, 580),
        "Round trips per second by transport and codec (log scale, higher is better)",
    )?;
    let mut chart = ChartBuilder::on(&root)
        .caption(machine_line(first), ("sans-serif", 14))
        .margin(16)
        .x_label_area_size(60)
        .y_label_area_size(90)
        .build_cartesian_2d(0f64..names.len() as f64, y.clone().log_scale())
        .map_err(drawing_error)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(names.len() * 2 + 1)
        .x_label_formatter(&|x| {
            let i = x.floor() as usize;
            // Label each group once, at its centre.
            if (x - i as f64 - 0.5).abs() < 1e-6 {
                names.get(i).map(|s| s.to_string()).unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_desc("round trips / s")
        .x_desc("transport")
        .y_label_formatter(&|v| crate::summary::group_thousands(*v))
        .draw()
        .map_err(drawing_error)?;
    let bar_width = 0.8 / series.len() as f64;
    for (s, name) in series.iter().enumerate() {
        let bars: Vec<Rectangle<(f64, f64)>> = names
            .iter()
            .enumerate()
            .filter_map(|(g, group)| {
                let value = *groups[*group].get(name)?;
                let x0 = g as f64 + 0.1 + s as f64 * bar_width;
                Some(Rectangle::new(
                    [(x0, y.start), (x0 + bar_width * 0.9, value)],
                    color(s).filled(),
                ))
            })
            .collect();
        chart
            .draw_series(bars)
            .map_err(drawing_error)?
            .label(name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color(s).filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(drawing_error)?;
    root.present().map_err(drawing_error)?;
    Ok(())
}

/// Picks one percentile out of a latency summary.
type Percentile = fn(&crate::stats::LatencySummary) -> u64;

/// Latency percentiles p50, p99 and p99.9 of every case, fastest first, on a
/// log scale.
pub fn latency_chart(results: &[Loaded], path: &Path) -> anyhow::Result<()> {
    let mut rows: Vec<(&BenchResult, String)> = verified(results)
        .into_iter()
        .filter(|r| r.latency_ns.is_some())
        .map(|r| {
            let k = CaseKey::of(r);
            let label = format!(
                "{} {} {} {} B",
                k.transport_label(),
                series_label(&k),
                k.placement,
                k.payload_bytes
            );
            (r, label)
        })
        .collect();
    let first = rows
        .first()
        .map(|(r, _)| *r)
        .ok_or_else(|| anyhow!("no verified results with latency to plot"))?;
    rows.sort_by_key(|(r, _)| r.latency_ns.as_ref().map_or(0, |l| l.p50));
    let percentiles: [(&str, Percentile); 3] = [
        ("p50", |l| l.p50),
        ("p99", |l| l.p99),
        ("p99.9", |l| l.p999),
    ];
    let x = log_range(rows.iter().flat_map(|(r, _)| {
        let l = r.latency_ns.as_ref().expect("filtered above");
        [l.p50 as f64, l.p999 as f64]
    }))?;
    let labels: Vec<String> = rows.iter().map(|(_, l)| l.clone()).collect();
    let height = (140 + rows.len() * 22).max(400) as u32;
    let root = titled_canvas(
        path,
        (1000, height),
        "Round-trip latency percentiles per case (log scale, lower is better)",
    )?;
    let mut chart = ChartBuilder::on(&root)
        .caption(machine_line(first), ("sans-serif", 14))
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
        .x_label_formatter(&|v| crate::summary::format_ns(*v))
        .draw()
        .map_err(drawing_error)?;
    for (p, (name, pick)) in percentiles.iter().enumerate() {
        let points: Vec<Circle<(f64, f64), i32>> = rows
            .iter()
            .enumerate()
            .map(|(i, (r, _))| {
                let l = r.latency_ns.as_ref().expect("filtered above");
                Circle::new((pick(l) as f64, i as f64), 4, color(p).filled())
            })
            .collect();
        chart
            .draw_series(points)
            .map_err(drawing_error)?
            .label(*name)
            .legend(move |(x, y)| Circle::new((x + 6, y), 4, color(p).filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(drawing_error)?;
    root.present().map_err(drawing_error)?;
    Ok(())
}

/// Payload throughput (MB/s, both directions) against payload size, log–log,
/// a line per transport and codec, with the machine's single-core memcpy
/// bandwidth drawn as the physical limit when the results carry it.
pub fn payload_chart(results: &[Loaded], path: &Path) -> anyhow::Result<()> {
    let rows: Vec<&BenchResult> = verified(results)
        .into_iter()
        .filter(|r| r.payload_bytes > 0)
        .collect();
    let first = *rows
        .first()
        .ok_or_else(|| anyhow!("no verified results with a payload to plot"))?;
    // One colour per transport, one marker per codec (filled, hollow, ...),
    // so a dozen lines stay tellable apart.
    let mut lines: BTreeMap<(String, String, String), Vec<(f64, f64)>> = BTreeMap::new();
    for r in &rows {
        let k = CaseKey::of(r);
        lines
            .entry((k.transport_label(), series_label(&k), k.placement.clone()))
            .or_default()
            .push((r.payload_bytes as f64, r.payload_mb_per_sec));
    }
    let transports: Vec<String> = lines
        .keys()
        .map(|k| k.0.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let codecs: Vec<String> = lines
        .keys()
        .map(|k| k.1.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let memcpy = rows
        .iter()
        .filter_map(|r| r.memcpy_mb_per_sec)
        .reduce(f64::max);
    let x = log_range(rows.iter().map(|r| r.payload_bytes as f64))?;
    let y = log_range(rows.iter().map(|r| r.payload_mb_per_sec).chain(memcpy))?;
    let root = titled_canvas(
        path,
        (1000, 640),
        "Payload throughput against payload size (log–log, higher is better)",
    )?;
    let mut chart = ChartBuilder::on(&root)
        .caption(machine_line(first), ("sans-serif", 14))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(90)
        .build_cartesian_2d(x.clone().log_scale(), y.log_scale())
        .map_err(drawing_error)?;
    chart
        .configure_mesh()
        .x_desc("payload bytes per message")
        .y_desc("payload MB/s (both directions)")
        .x_label_formatter(&|v| crate::summary::group_thousands(*v))
        .y_label_formatter(&|v| crate::summary::group_thousands(*v))
        .draw()
        .map_err(drawing_error)?;
    for ((transport, codec, placement), mut points) in lines {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let style = color(transports.iter().position(|t| *t == transport).unwrap_or(0));
        let filled = codecs.iter().position(|c| *c == codec).unwrap_or(0) % 2 == 0;
        let marker = move |p: (f64, f64)| {
            Circle::new(
                p,
                4,
                if filled {
                    style.filled()
                } else {
                    style.stroke_width(2)
                },
            )
        };
        chart
            .draw_series(LineSeries::new(points.clone(), style.stroke_width(2)))
            .map_err(drawing_error)?
            .label(format!("{transport} {codec} {placement}"))
            .legend(move |(x, y)| {
                Circle::new(
                    (x + 6, y),
                    4,
                    if filled {
                        style.filled()
                    } else {
                        style.stroke_width(2)
                    },
                )
            });
        chart
            .draw_series(points.into_iter().map(marker))
            .map_err(drawing_error)?;
    }
    if let Some(limit) = memcpy {
        chart
            .draw_series(LineSeries::new(
                vec![(x.start, limit), (x.end, limit)],
                BLACK.stroke_width(1),
            ))
            .map_err(drawing_error)?
            .label(format!(
                "single-core memcpy, {} MB/s",
                crate::summary::group_thousands(limit)
            ))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], BLACK.stroke_width(1)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(drawing_error)?;
    root.present().map_err(drawing_error)?;
    Ok(())
}

/// Writes every chart into `dir` (the payload chart only when the results
/// hold more than one payload size); returns the files written.
pub fn write_all(results: &[Loaded], dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    let throughput = dir.join("throughput.svg");
    throughput_chart(results, &throughput)
        .with_context(|| format!("writing {}", throughput.display()))?;
    written.push(throughput);
    let latency = dir.join("latency.svg");
    latency_chart(results, &latency).with_context(|| format!("writing {}", latency.display()))?;
    written.push(latency);
    let sizes: BTreeSet<usize> = results
        .iter()
        .map(|l| l.result.payload_bytes)
        .filter(|&p| p > 0)
        .collect();
    if sizes.len() > 1 {
        let payload = dir.join("payload.svg");
        payload_chart(results, &payload)
            .with_context(|| format!("writing {}", payload.display()))?;
        written.push(payload);
    }
    Ok(written)
}
