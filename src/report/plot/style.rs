//! What every chart shares: the colours (one per transport, the same in
//! every chart), the canvas, legends beside the data, log axes fitted to
//! it, markers, panels, and the machine line under each title.

use crate::record::BenchResult;
use crate::report::compare::CaseKey;
use crate::report::results::Loaded;
use anyhow::anyhow;
use plotters::coord::combinators::LogCoord;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Twenty colours told apart at a glance (Tableau's ten, then darker and
/// stronger ones), enough for every transport label a full build registers
/// to keep its own colour in every chart.
pub(super) const PALETTE: [RGBColor; 20] = [
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
    RGBColor(128, 0, 0),
    RGBColor(110, 110, 0),
    RGBColor(84, 39, 143),
    RGBColor(102, 204, 0),
    RGBColor(230, 171, 2),
    RGBColor(40, 40, 40),
    RGBColor(153, 0, 153),
    RGBColor(0, 153, 255),
];

/// Width of the legend strip to the right of every chart.
pub(super) const LEGEND_WIDTH: u32 = 230;

/// The colour of a transport label in every chart: by its place in the
/// registry (optional transports come last, so a build without them keeps
/// the others' colours), then labels only the files know, in name order.
pub(super) struct Colours {
    order: Vec<String>,
}

impl Colours {
    pub(super) fn new(rows: &[&BenchResult]) -> Self {
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

    pub(super) fn of(&self, label: &str) -> RGBColor {
        let i = self.order.iter().position(|l| l == label).unwrap_or(0);
        PALETTE[i % PALETTE.len()]
    }

    /// The labels among `rows`, in colour order.
    pub(super) fn present(&self, rows: &[&BenchResult]) -> Vec<String> {
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
pub(super) fn machine_line(r: &BenchResult) -> String {
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

pub(super) fn verified(results: &[Loaded]) -> Vec<&BenchResult> {
    results
        .iter()
        .map(|l| &l.result)
        .filter(|r| r.verified)
        .collect()
}

/// Codecs, with raw strings (which use none) as their own entry, and the
/// shape after the codec for the shapes beyond the small ping.
pub(super) fn codec_label(key: &CaseKey) -> String {
    match key.complexity.as_str() {
        "raw-string" => "raw-string".into(),
        "structured" => key.codec.clone(),
        shape => format!("{} {shape}", key.codec),
    }
}

/// The codec labels among `rows`, sorted: their order gives each its marker.
pub(super) fn codec_labels(rows: &[&BenchResult]) -> Vec<String> {
    rows.iter()
        .map(|r| codec_label(&CaseKey::of(r)))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The rows `keep` selects, one line per transport and codec.
pub(super) fn lines_in<'r>(
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
pub(super) fn log_fit(values: impl Iterator<Item = f64>) -> anyhow::Result<std::ops::Range<f64>> {
    let (lo, hi) = values
        .filter(|v| *v > 0.0 && v.is_finite())
        .fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if hi <= 0.0 {
        return Err(anyhow!("no positive figures to plot"));
    }
    Ok(lo / 1.4..hi * 1.4)
}

pub(super) fn drawing_error<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing the chart: {e:?}")
}

pub(super) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// A white canvas of `size` with `title` across the top, split into the
/// chart area and the legend strip on its right.
pub(super) fn canvas<'a>(
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
pub(super) type Marker = Box<dyn Fn(&Area, (i32, i32)) -> anyhow::Result<()>>;

/// Draws the legend strip: a heading, then one line per entry.
pub(super) fn legend(
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

pub(super) fn swatch(colour: RGBColor) -> Marker {
    Box::new(move |area, (x, y)| {
        area.draw(&Rectangle::new(
            [(x - 6, y - 6), (x + 6, y + 6)],
            colour.filled(),
        ))
        .map_err(drawing_error)
    })
}

/// The facets of a set: one panel per placement and payload size it holds.
pub(super) fn facets(rows: &[&BenchResult]) -> Vec<(String, usize)> {
    rows.iter()
        .map(|r| (r.placement.mode.name().to_string(), r.payload_bytes))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// A chart of groups along x and a log scale up.
pub(super) type GroupedLog<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, LogCoord<f64>>,
>;

pub(super) type LogLog<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<LogCoord<f64>, LogCoord<f64>>>;

/// A log–log chart on `panel` with its caption, both axes described and
/// grouped in thousands on x, `y_format` on y, the mesh drawn.
pub(super) fn log_log_panel<'a, 'b>(
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
        .x_label_formatter(&|v| crate::util::format::group_thousands(*v))
        .y_label_formatter(y_format)
        .draw()
        .map_err(drawing_error)?;
    Ok(chart)
}

/// The marker of codec number `shape` at `at`: circle, triangle, square,
/// cross, then hollow circles.
pub(super) fn codec_marker<X, Y>(
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
pub(super) fn transport_and_codec_legend(
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

pub(super) fn legend_marker(shape: usize, area: &Area, at: (i32, i32)) -> anyhow::Result<()> {
    match shape {
        0 => area.draw(&Circle::new(at, 5, BLACK.filled())),
        1 => area.draw(&TriangleMarker::new(at, 6, BLACK.filled())),
        2 => area.draw(&Cross::new(at, 5, BLACK.stroke_width(2))),
        3 => area.draw(&Circle::new(at, 5, BLACK.stroke_width(2))),
        _ => area.draw(&TriangleMarker::new(at, 6, BLACK.stroke_width(2))),
    }
    .map_err(drawing_error)
}

/// A panel of grouped bars on a log axis `y`: one group per name of
/// `groups` along x, each named once under its centre, and its mesh drawn.
pub(super) fn grouped_log_panel<'a, 'b>(
    area: &'a Area<'b>,
    caption: String,
    groups: &[&str],
    y: std::ops::Range<f64>,
    y_format: &dyn Fn(&f64) -> String,
) -> anyhow::Result<GroupedLog<'a, 'b>> {
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

/// The legend entry for the error bars: a 95 % interval of the median.
pub(super) fn whiskers_legend(legend_area: &Area, next: i32) -> anyhow::Result<i32> {
    legend(
        legend_area,
        "whiskers",
        vec![(
            "95 % interval of the median".to_string(),
            Box::new(|area: &Area, (x, y): (i32, i32)| {
                area.draw(&PathElement::new(vec![(x, y - 7), (x, y + 7)], BLACK))
                    .map_err(drawing_error)
            }),
        )],
        next,
    )
}
