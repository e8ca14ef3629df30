//! SVG charts of result sets (plotters, SVG backend only: no system
//! libraries; text is left to the viewer's fonts).
//!
//! Every transport has one colour, the same in every chart (its place in the
//! registry), legends stand beside the data instead of on it, axes are fitted
//! to the data, intervals are drawn (error bars on throughput, the spread of
//! the rounds behind each percentile), and a set with several placements or
//! payload sizes is drawn as one panel per combination.

use crate::compare::CaseKey;
use crate::result::BenchResult;
use crate::result::Loaded;
use anyhow::{anyhow, Context};
use plotters::coord::combinators::LogCoord;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Twelve colours told apart at a glance (Tableau's ten, then two darker).
const PALETTE: [RGBColor; 12] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(0, 0, 128),
    RGBColor(0, 100, 80),
];

/// Width of the legend strip to the right of every chart.
const LEGEND_WIDTH: u32 = 230;

/// The colour of a transport label in every chart: by its place in the
/// registry (optional transports come last, so a build without them keeps
/// the others' colours), then labels only the files know, in name order.
struct Colours {
    order: Vec<String>,
}

impl Colours {
    fn new(rows: &[&BenchResult]) -> Self {
        let mut order: Vec<String> = crate::transport::labels()
            .into_iter()
            .map(|l| l.label)
            .collect();
        let unknown: BTreeSet<String> = rows
            .iter()
            .map(|r| CaseKey::of(r).transport_label())
            .filter(|l| !order.contains(l))
            .collect();
        order.extend(unknown);
        Colours { order }
    }

    fn of(&self, label: &str) -> RGBColor {
        let i = self.order.iter().position(|l| l == label).unwrap_or(0);
        PALETTE[i % PALETTE.len()]
    }

    /// The labels among `rows`, in colour order.
    fn present(&self, rows: &[&BenchResult]) -> Vec<String> {
        let present: BTreeSet<String> = rows
            .iter()
            .map(|r| CaseKey::of(r).transport_label())
            .collect();
        self.order
            .iter()
            .filter(|l| present.contains(*l))
            .cloned()
            .collect()
    }
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

/// Codecs, with raw strings (which use none) as their own entry, and the
/// shape after the codec for the shapes beyond the small ping.
fn codec_label(key: &CaseKey) -> String {
    match key.complexity.as_str() {
        "raw-string" => "raw-string".into(),
        "structured" => key.codec.clone(),
        shape => format!("{} {shape}", key.codec),
    }
}

/// The codec labels among `rows`, sorted: their order gives each its marker.
fn codec_labels(rows: &[&BenchResult]) -> Vec<String> {
    rows.iter()
        .map(|r| codec_label(&CaseKey::of(r)))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The rows `keep` selects, one line per transport and codec.
fn lines_in<'r>(
    rows: &[&'r BenchResult],
    keep: impl Fn(&BenchResult) -> bool,
) -> BTreeMap<(String, String), Vec<&'r BenchResult>> {
    let mut lines: BTreeMap<(String, String), Vec<&BenchResult>> = BTreeMap::new();
    for r in rows.iter().copied().filter(|r| keep(r)) {
        let k = CaseKey::of(r);
        lines
            .entry((k.transport_label(), codec_label(&k)))
            .or_default()
            .push(r);
    }
    lines
}

/// A log axis fitted to the data: a little room below the lowest and above
/// the highest value, no more.
fn log_fit(values: impl Iterator<Item = f64>) -> anyhow::Result<std::ops::Range<f64>> {
    let (lo, hi) = values
        .filter(|v| *v > 0.0 && v.is_finite())
        .fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if hi <= 0.0 {
        return Err(anyhow!("no positive figures to plot"));
    }
    Ok(lo / 1.4..hi * 1.4)
}

fn drawing_error<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing the chart: {e:?}")
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// A white canvas of `size` with `title` across the top, split into the
/// chart area and the legend strip on its right.
fn canvas<'a>(
    path: &'a Path,
    size: (u32, u32),
    title: &str,
) -> anyhow::Result<(Area<'a>, Area<'a>)> {
    let root = SVGBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE).map_err(drawing_error)?;
    let body = root
        .titled(title, ("sans-serif", 20))
        .map_err(drawing_error)?;
    let (chart, legend) = body.split_horizontally(size.0.saturating_sub(LEGEND_WIDTH));
    Ok((chart, legend))
}

/// One legend entry: a marker drawn at a point, and its text.
type Marker = Box<dyn Fn(&Area, (i32, i32)) -> anyhow::Result<()>>;

/// Draws the legend strip: a heading, then one line per entry.
fn legend(
    area: &Area,
    heading: &str,
    entries: Vec<(String, Marker)>,
    top: i32,
) -> anyhow::Result<i32> {
    let mut y = top;
    area.draw(&Text::new(
        heading.to_string(),
        (10, y),
        ("sans-serif", 14).into_font().style(FontStyle::Bold),
    ))
    .map_err(drawing_error)?;
    y += 22;
    for (text, marker) in entries {
        marker(area, (18, y + 7))?;
        area.draw(&Text::new(text, (34, y), ("sans-serif", 13)))
            .map_err(drawing_error)?;
        y += 20;
    }
    Ok(y + 10)
}

fn swatch(colour: RGBColor) -> Marker {
    Box::new(move |area, (x, y)| {
        area.draw(&Rectangle::new(
            [(x - 6, y - 6), (x + 6, y + 6)],
            colour.filled(),
        ))
        .map_err(drawing_error)
    })
}

/// The facets of a set: one panel per placement and payload size it holds.
fn facets(rows: &[&BenchResult]) -> Vec<(String, usize)> {
    rows.iter()
        .map(|r| (r.placement.mode.name().to_string(), r.payload_bytes))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

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
        // Each panel's axis fits its own data: payload sizes differ by orders of magnitude.
        let y = log_fit(
            rows.iter()
                .filter(|r| r.placement.mode.name() == placement && r.payload_bytes == *payload)
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
            .y_label_formatter(&|v| crate::compare::short_rate(*v))
            .draw()
            .map_err(drawing_error)?;
        let bar = 0.8 / transports.len() as f64;
        for (t, transport) in transports.iter().enumerate() {
            let colour = colours.of(transport);
            let mine: Vec<(f64, &BenchResult)> = rows
                .iter()
                .filter(|r| {
                    let k = CaseKey::of(r);
                    k.transport_label() == *transport
                        && k.placement == *placement
                        && r.payload_bytes == *payload
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
                        [(*x0, y.start), (x0 + bar * 0.85, r.round_trips_per_sec)],
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
    }
    let entries = transports
        .iter()
        .map(|t| (t.clone(), swatch(colours.of(t))))
        .collect();
    let next = legend(&legend_area, "transport", entries, 20)?;
    legend(
        &legend_area,
        "whiskers",
        vec![(
            "95 % interval of the median".to_string(),
            Box::new(|area: &Area, (x, y): (i32, i32)| {
                area.draw(&PathElement::new(vec![(x, y - 7), (x, y + 7)], BLACK))
                    .map_err(drawing_error)
            }),
        )],
        next,
    )?;
    area.present().map_err(drawing_error)?;
    Ok(())
}

/// Picks one percentile out of a latency summary.
type Percentile = fn(&crate::stats::LatencySummary) -> u64;

/// Latency percentiles p50, p99 and p99.9 of every case (from all rounds),
/// fastest first, on a log scale; behind p50 and p99 a band from the
/// lowest to the highest round's value. Markers take the transport's colour.
pub fn latency_chart(results: &[Loaded], path: &Path) -> anyhow::Result<()> {
    let mut rows: Vec<(&BenchResult, String)> = verified(results)
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
        .collect();
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
        .x_label_formatter(&|v| crate::summary::format_ns(*v))
        .draw()
        .map_err(drawing_error)?;
    // The rounds' spread first, so the markers lie on top.
    type RoundValue = fn(&crate::result::Sample) -> Option<u64>;
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
    let next = legend(&legend_area, "percentile", shapes, 20)?;
    let entries = colours
        .present(&all)
        .into_iter()
        .map(|t| {
            let colour = colours.of(&t);
            (t, swatch(colour))
        })
        .collect();
    legend(&legend_area, "transport", entries, next)?;
    area.present().map_err(drawing_error)?;
    Ok(())
}

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
    let mb = |r: &BenchResult, rate: f64| 2.0 * r.payload_bytes as f64 * rate / 1e6;
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
            &|v| crate::summary::group_thousands(*v),
        )?;
        let lines = lines_in(&rows, |r| r.placement.mode.name() == placement);
        for ((transport, codec), mut points) in lines {
            points.sort_by_key(|r| r.payload_bytes);
            let colour = colours.of(&transport);
            let shape = codecs.iter().position(|c| *c == codec).unwrap_or(0);
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
            for r in &points {
                let at = (r.payload_bytes as f64, r.payload_mb_per_sec);
                codec_marker(shape, colour, at, &mut chart)?;
            }
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
                    crate::summary::group_thousands(limit)
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

type LogLog<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<LogCoord<f64>, LogCoord<f64>>>;

/// A log–log chart on `panel` with its caption, both axes described and
/// grouped in thousands on x, `y_format` on y, the mesh drawn.
fn log_log_panel<'a, 'b>(
    panel: &'a Area<'b>,
    caption: String,
    (x, x_desc): (&std::ops::Range<f64>, &str),
    (y, y_desc): (&std::ops::Range<f64>, &str),
    y_format: &dyn Fn(&f64) -> String,
) -> anyhow::Result<LogLog<'a, 'b>> {
    let mut chart = ChartBuilder::on(panel)
        .caption(caption, ("sans-serif", 13))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(90)
        .build_cartesian_2d(x.clone().log_scale(), y.clone().log_scale())
        .map_err(drawing_error)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|v| crate::summary::group_thousands(*v))
        .y_label_formatter(y_format)
        .draw()
        .map_err(drawing_error)?;
    Ok(chart)
}

/// The marker of codec number `shape` at `at`: circle, triangle, square,
/// cross, then hollow circles.
fn codec_marker<X, Y>(
    shape: usize,
    colour: RGBColor,
    at: (f64, f64),
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<X, Y>>,
) -> anyhow::Result<()>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    match shape {
        0 => chart.draw_series([Circle::new(at, 5, colour.filled())]),
        1 => chart.draw_series([TriangleMarker::new(at, 6, colour.filled())]),
        2 => chart.draw_series([Cross::new(at, 5, colour.stroke_width(2))]),
        3 => chart.draw_series([Circle::new(at, 5, colour.stroke_width(2))]),
        _ => chart.draw_series([TriangleMarker::new(at, 6, colour.stroke_width(2))]),
    }
    .map(|_| ())
    .map_err(drawing_error)
}

/// The legend of a chart with a line per transport and codec: a swatch per
/// transport among `rows`, then a marker per codec. Returns where the next
/// legend section starts.
fn transport_and_codec_legend(
    area: &Area,
    colours: &Colours,
    rows: &[&BenchResult],
    codecs: &[String],
) -> anyhow::Result<i32> {
    let entries = colours
        .present(rows)
        .into_iter()
        .map(|t| {
            let marker = swatch(colours.of(&t));
            (t, marker)
        })
        .collect();
    let next = legend(area, "transport", entries, 20)?;
    let shapes: Vec<(String, Marker)> = codecs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let marker: Marker = Box::new(move |a: &Area, p: (i32, i32)| legend_marker(i, a, p));
            (c.clone(), marker)
        })
        .collect();
    legend(area, "codec", shapes, next)
}

fn legend_marker(shape: usize, area: &Area, at: (i32, i32)) -> anyhow::Result<()> {
    match shape {
        0 => area.draw(&Circle::new(at, 5, BLACK.filled())),
        1 => area.draw(&TriangleMarker::new(at, 6, BLACK.filled())),
        2 => area.draw(&Cross::new(at, 5, BLACK.stroke_width(2))),
        3 => area.draw(&Circle::new(at, 5, BLACK.stroke_width(2))),
        _ => area.draw(&TriangleMarker::new(at, 6, BLACK.stroke_width(2))),
    }
    .map_err(drawing_error)
}

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
    let first = *rows
        .first()
        .ok_or_else(|| anyhow!("no verified fixed-rate results to plot"))?;
    let colours = Colours::new(&rows);
    let offered = |r: &BenchResult| r.traffic.offered_rate_per_sec.unwrap_or(1) as f64;
    let from_due = |r: &BenchResult| {
        r.latency_from_intended_ns
            .as_ref()
            .map_or(0.0, |l| l.p99 as f64)
    };
    let from_send = |r: &BenchResult| r.latency_ns.as_ref().map_or(0.0, |l| l.p99 as f64);
    let fell_behind = |r: &BenchResult| r.round_trips_per_sec < 0.99 * offered(r);
    let codecs = codec_labels(&rows);
    let panels_of = facets(&rows);
    let x = log_fit(rows.iter().map(|r| offered(r)))?;
    let y = log_fit(rows.iter().flat_map(|r| {
        let (lo, hi) = r
            .due_p99_round_range()
            .map_or((from_due(r), from_due(r)), |(lo, hi)| {
                (lo as f64, hi as f64)
            });
        [from_due(r), from_send(r), lo, hi]
    }))?;
    let (area, legend_area) = canvas(
        path,
        (1000 + LEGEND_WIDTH, 60 + 520 * panels_of.len() as u32),
        "p99 latency against offered load, one request in flight; bars: each round's lowest to highest (log–log, lower is better)",
    )?;
    let panels = area.split_evenly((panels_of.len(), 1));
    for ((placement, payload), panel) in panels_of.iter().zip(&panels) {
        let mut chart = log_log_panel(
            panel,
            format!("pin {placement}, {payload} B — {}", machine_line(first)),
            (&x, "offered requests per second"),
            (&y, "p99 latency"),
            &|v| crate::summary::format_ns(*v),
        )?;
        let lines = lines_in(&rows, |r| {
            r.placement.mode.name() == placement && r.payload_bytes == *payload
        });
        for ((transport, codec), mut points) in lines {
            points.sort_by_key(|r| r.traffic.offered_rate_per_sec);
            let colour = colours.of(&transport);
            let shape = codecs.iter().position(|c| *c == codec).unwrap_or(0);
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
            // Behind each point, how far apart the rounds' own p99s lay.
            chart
                .draw_series(points.iter().filter_map(|r| {
                    let (lo, hi) = r.due_p99_round_range()?;
                    Some(ErrorBar::new_vertical(
                        offered(r),
                        lo as f64,
                        from_due(r),
                        hi as f64,
                        colour.stroke_width(1),
                        6,
                    ))
                }))
                .map_err(drawing_error)?;
            for r in &points {
                codec_marker(shape, colour, (offered(r), from_due(r)), &mut chart)?;
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
        }
    }
    let next = transport_and_codec_legend(&legend_area, &colours, &rows, &codecs)?;
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
        &legend_area,
        "p99 timed from",
        vec![
            ("the due time (caller's view)".to_string(), line(false)),
            ("the actual send".to_string(), line(true)),
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
    area.present().map_err(drawing_error)?;
    Ok(())
}

/// What a sweep chart puts along x, and how it names things.
struct Sweep {
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

fn sweep_chart(rows: &[&BenchResult], path: &Path, sweep: &Sweep) -> anyhow::Result<()> {
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
            .y_label_formatter(&|v| crate::summary::group_thousands(*v))
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

/// Writes every chart into `dir` (the payload chart only when the results
/// hold more than one payload size, the load chart only for fixed-rate
/// results and the stream chart only for streams, which the other charts
/// leave out); returns the files written.
pub fn write_all(results: &[Loaded], dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    // A fixed rate's round trips/s is the load it was offered, not a
    // capacity: those results go to the load chart only; fan-outs (and the
    // one-child runs beside them) to the fan-out chart; the rest, the
    // closed loop with one child, to the charts below.
    let of = |keep: &dyn Fn(&crate::traffic::Traffic) -> bool| -> Vec<Loaded> {
        results
            .iter()
            .filter(|l| keep(&l.result.traffic))
            .cloned()
            .collect()
    };
    let paced = of(&|t| t.schedule().is_some() && t.children == 1);
    if !paced.is_empty() {
        let load = dir.join("load.svg");
        load_chart(&paced, &load).with_context(|| format!("writing {}", load.display()))?;
        written.push(load);
    }
    let streams = of(&|t| t.is_stream());
    if !streams.is_empty() {
        let stream = dir.join("stream.svg");
        stream_chart(&streams, &stream).with_context(|| format!("writing {}", stream.display()))?;
        written.push(stream);
    }
    if results.iter().any(|l| l.result.traffic.children > 1) {
        let fanned = of(&|t| t.is_ping_pong());
        let fanout = dir.join("fanout.svg");
        fanout_chart(&fanned, &fanout).with_context(|| format!("writing {}", fanout.display()))?;
        written.push(fanout);
    }
    let closed = of(&|t| t.is_default());
    if closed.is_empty() {
        return Ok(written);
    }
    let results = &closed[..];
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
    let has_json = results.iter().any(|l| l.result.codec == "json");
    let has_other = results
        .iter()
        .any(|l| l.result.codec != "json" && l.result.complexity.uses_codec());
    if has_json && has_other {
        let versus = dir.join("versus-json.svg");
        versus_json_chart(results, &versus)
            .with_context(|| format!("writing {}", versus.display()))?;
        written.push(versus);
    }
    if sizes.len() > 1 {
        let payload = dir.join("payload.svg");
        payload_chart(results, &payload)
            .with_context(|| format!("writing {}", payload.display()))?;
        written.push(payload);
    }
    Ok(written)
}

/// A panel of grouped bars on a log axis `y`: one group per name of
/// `groups` along x, each named once under its centre, and its mesh drawn.
fn grouped_log_panel<'a, 'b>(
    area: &'a Area<'b>,
    caption: String,
    groups: &[&str],
    y: std::ops::Range<f64>,
    y_format: &dyn Fn(&f64) -> String,
) -> anyhow::Result<
    ChartContext<
        'a,
        SVGBackend<'b>,
        Cartesian2d<
            plotters::coord::types::RangedCoordf64,
            plotters::coord::combinators::LogCoord<f64>,
        >,
    >,
> {
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 13))
        .margin(10)
        .x_label_area_size(28)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..groups.len() as f64, y.log_scale())
        .map_err(drawing_error)?;
    let label_x = |x: &f64| -> String {
        let i = x.floor() as usize;
        if (x - i as f64 - 0.5).abs() < 1e-6 {
            groups.get(i).map_or(String::new(), |s| s.to_string())
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(groups.len() * 2 + 1)
        .x_label_formatter(&label_x)
        .y_labels(5)
        .y_label_formatter(y_format)
        .draw()
        .map_err(drawing_error)?;
    Ok(chart)
}

/// The codecs alone (`ipc-bench codecs`): one row of panels per shape and
/// payload size, times on the left (encode, decode and, for zero-copy
/// formats, validated access; median and 95 % interval, log scale, lower is
/// better), sizes on the right (encoded, and compressed by zstd).
pub fn codecs_chart(report: &crate::codec_cost::CodecsReport, path: &Path) -> anyhow::Result<()> {
    use crate::codec_cost::{CodecCase, Figure};
    let rows: Vec<(crate::message::Complexity, usize)> = report
        .cases
        .iter()
        .map(|c| (c.complexity, c.payload_bytes))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if rows.is_empty() {
        return Err(anyhow!("the codecs report holds no cases"));
    }
    let codec_names: Vec<&str> = codecs::CODECS
        .iter()
        .map(|c| c.name)
        .filter(|n| report.cases.iter().any(|c| c.codec == *n))
        .collect();
    let group_width = 70;
    let panel_width = (110 + codec_names.len() * group_width) as u32;
    let panel_height = 260;
    let (area, legend_area) = canvas(
        path,
        (
            2 * panel_width + LEGEND_WIDTH,
            60 + panel_height * rows.len() as u32,
        ),
        "The codecs alone: time per message and bytes per message (log scales, lower is better)",
    )?;
    let panels = area.split_evenly((rows.len(), 2));
    /// A bar series: its legend text, its colour and what it reads from a case.
    type Series<T> = (&'static str, RGBColor, fn(&CodecCase) -> T);
    let series: [Series<Option<Figure>>; 3] = [
        ("encode", PALETTE[0], |c| Some(c.encode_ns)),
        ("decode", PALETTE[1], |c| Some(c.decode_ns)),
        ("validated access (zero-copy)", PALETTE[2], |c| c.access_ns),
    ];
    let sizes: [Series<usize>; 2] = [
        ("encoded bytes", PALETTE[4], |c| c.wire_bytes),
        ("zstd-compressed bytes", PALETTE[5], |c| c.zstd_bytes),
    ];
    for (r, (shape, payload)) in rows.iter().enumerate() {
        let cases: Vec<(usize, &CodecCase)> = report
            .cases
            .iter()
            .filter(|c| c.complexity == *shape && c.payload_bytes == *payload)
            .filter_map(|c| Some((codec_names.iter().position(|n| *n == c.codec)?, c)))
            .collect();
        // Times.
        let y = log_fit(cases.iter().flat_map(|(_, c)| {
            series.iter().filter_map(|(_, _, f)| f(c)).flat_map(|f| {
                [
                    f.median,
                    f.ci95.map_or(f.median, |i| i.lo),
                    f.ci95.map_or(f.median, |i| i.hi),
                ]
            })
        }))?;
        let mut chart = grouped_log_panel(
            &panels[2 * r],
            format!("{shape}, {payload} B: time"),
            &codec_names,
            y.clone(),
            &|v| crate::summary::format_ns(*v),
        )?;
        let bar = 0.8 / series.len() as f64;
        for (s, (_, colour, figure)) in series.iter().enumerate() {
            let bars: Vec<(f64, Figure)> = cases
                .iter()
                .filter_map(|(g, c)| Some((*g as f64 + 0.1 + s as f64 * bar, figure(c)?)))
                .collect();
            chart
                .draw_series(bars.iter().map(|(x0, f)| {
                    Rectangle::new(
                        [(*x0, y.start), (x0 + bar * 0.85, f.median)],
                        colour.filled(),
                    )
                }))
                .map_err(drawing_error)?;
            chart
                .draw_series(bars.iter().filter_map(|(x0, f)| {
                    let ci = f.ci95?;
                    Some(ErrorBar::new_vertical(
                        x0 + bar * 0.425,
                        ci.lo,
                        f.median,
                        ci.hi,
                        BLACK.stroke_width(1),
                        5,
                    ))
                }))
                .map_err(drawing_error)?;
        }
        // Sizes.
        let y = log_fit(
            cases
                .iter()
                .flat_map(|(_, c)| sizes.iter().map(|(_, _, f)| f(c) as f64)),
        )?;
        let mut chart = grouped_log_panel(
            &panels[2 * r + 1],
            format!("{shape}, {payload} B: bytes"),
            &codec_names,
            y.clone(),
            &|v| crate::compare::short_rate(*v),
        )?;
        let bar = 0.8 / sizes.len() as f64;
        for (s, (_, colour, size)) in sizes.iter().enumerate() {
            chart
                .draw_series(cases.iter().map(|(g, c)| {
                    let x0 = *g as f64 + 0.1 + s as f64 * bar;
                    Rectangle::new(
                        [(x0, y.start), (x0 + bar * 0.85, size(c) as f64)],
                        colour.filled(),
                    )
                }))
                .map_err(drawing_error)?;
        }
    }
    let entries = series
        .iter()
        .map(|(name, colour, _)| (name.to_string(), swatch(*colour)))
        .chain(
            sizes
                .iter()
                .map(|(name, colour, _)| (name.to_string(), swatch(*colour))),
        )
        .collect();
    let next = legend(&legend_area, "bars", entries, 20)?;
    legend(
        &legend_area,
        "whiskers",
        vec![(
            "95 % interval of the median".to_string(),
            Box::new(|area: &Area, (x, y): (i32, i32)| {
                area.draw(&PathElement::new(vec![(x, y - 7), (x, y + 7)], BLACK))
                    .map_err(drawing_error)
            }),
        )],
        next,
    )?;
    area.present().map_err(drawing_error)?;
    Ok(())
}

/// Round trips per second of every codec as a multiple of JSON's for the
/// same transport, shape, payload and placement (paired by round when both
/// ran in one matrix): one panel per shape, payload and placement, a group
/// per transport, a bar per codec, a line at 1×. Above the line a codec
/// buys throughput over JSON on that transport; near it the transport
/// decides.
pub fn versus_json_chart(results: &[Loaded], path: &Path) -> anyhow::Result<()> {
    let rows = verified(results);
    type PanelKey = (String, usize, String);
    let mut panels: BTreeMap<PanelKey, Vec<(String, String, crate::estimate::Ratio)>> =
        BTreeMap::new();
    for r in &rows {
        if r.codec == "json" || !r.complexity.uses_codec() {
            continue;
        }
        let key = CaseKey::of(r);
        let Some(json) = rows.iter().find(|j| {
            let k = CaseKey::of(j);
            j.codec == "json"
                && k.complexity == key.complexity
                && k.transport_label() == key.transport_label()
                && k.payload_bytes == key.payload_bytes
                && k.placement == key.placement
        }) else {
            continue;
        };
        let Some(ratio) = crate::compare::ratio_between(r, json) else {
            continue;
        };
        panels
            .entry((
                key.complexity.clone(),
                key.payload_bytes,
                key.placement.clone(),
            ))
            .or_default()
            .push((key.transport_label(), r.codec.clone(), ratio));
    }
    if panels.is_empty() {
        return Err(anyhow!(
            "no codec other than json has a json result to compare with"
        ));
    }
    let first = *rows.first().expect("rows behind the panels");
    let colours = Colours::new(&rows);
    let transports: Vec<String> = colours
        .present(&rows)
        .into_iter()
        .filter(|t| panels.values().flatten().any(|(l, _, _)| l == t))
        .collect();
    let codec_names: Vec<&str> = codecs::CODECS
        .iter()
        .map(|c| c.name)
        .filter(|n| panels.values().flatten().any(|(_, c, _)| c == n))
        .collect();
    // Wide enough for a transport label under each group.
    let group_width = (24 + 14 * codec_names.len()).max(125);
    let width = ((120 + transports.len() * group_width) as u32 + LEGEND_WIDTH).max(800);
    let panel_height = 300;
    let (area, legend_area) = canvas(
        path,
        (width, 60 + panel_height * panels.len() as u32),
        "Round trips per second as a multiple of JSON's on the same transport (log scale, median and 95 % interval)",
    )?;
    let areas = area.split_evenly((panels.len(), 1));
    for (((shape, payload, placement), bars), panel) in panels.iter().zip(&areas) {
        let y = log_fit(bars.iter().flat_map(|(_, _, r)| {
            let ci = r.interval;
            [
                1.0,
                r.value,
                ci.map_or(r.value, |c| c.lo),
                ci.map_or(r.value, |c| c.hi),
            ]
        }))?;
        let mut chart = ChartBuilder::on(panel)
            .caption(
                format!(
                    "{shape}, {payload} B, pin {placement} — {}",
                    machine_line(first)
                ),
                ("sans-serif", 13),
            )
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..transports.len() as f64, y.clone().log_scale())
            .map_err(drawing_error)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(transports.len() * 2 + 1)
            .x_label_formatter(&|x| {
                let i = x.floor() as usize;
                if (x - i as f64 - 0.5).abs() < 1e-6 {
                    transports.get(i).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_labels(6)
            .y_desc("× json")
            .y_label_formatter(&|v| format!("{v:.2}×"))
            .draw()
            .map_err(drawing_error)?;
        let bar = 0.8 / codec_names.len() as f64;
        let placed: Vec<(f64, RGBColor, &crate::estimate::Ratio)> = bars
            .iter()
            .filter_map(|(transport, codec, ratio)| {
                let g = transports.iter().position(|t| t == transport)?;
                let c = codec_names.iter().position(|n| n == codec)?;
                Some((
                    g as f64 + 0.1 + c as f64 * bar,
                    PALETTE[c % PALETTE.len()],
                    ratio,
                ))
            })
            .collect();
        // Bars grow from 1×, up for faster than JSON, down for slower.
        chart
            .draw_series(placed.iter().map(|(x0, colour, r)| {
                Rectangle::new([(*x0, 1.0), (x0 + bar * 0.85, r.value)], colour.filled())
            }))
            .map_err(drawing_error)?;
        chart
            .draw_series(placed.iter().filter_map(|(x0, _, r)| {
                let ci = r.interval?;
                Some(ErrorBar::new_vertical(
                    x0 + bar * 0.425,
                    ci.lo,
                    r.value,
                    ci.hi,
                    BLACK.stroke_width(1),
                    5,
                ))
            }))
            .map_err(drawing_error)?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, 1.0), (transports.len() as f64, 1.0)],
                BLACK.stroke_width(1),
            )))
            .map_err(drawing_error)?;
    }
    let entries = codec_names
        .iter()
        .enumerate()
        .map(|(i, name)| (name.to_string(), swatch(PALETTE[i % PALETTE.len()])))
        .collect();
    legend(&legend_area, "codec", entries, 20)?;
    area.present().map_err(drawing_error)?;
    Ok(())
}
