//! The codecs chart: each codec's encode and decode time and wire size
//! per message shape, from `codecs.json`.

use super::style::*;
use crate::record::Complexity;
use crate::report::codecs::{CodecCase, Figure};
use anyhow::anyhow;
use plotters::prelude::*;
use std::collections::BTreeSet;
use std::path::Path;

/// The codecs alone (`ipc-bench codecs`): one row of panels per shape and
/// payload size, times on the left (encode, decode and, for zero-copy
/// formats, validated access; median and 95 % interval, log scale, lower is
/// better), sizes on the right (encoded, and compressed by zstd).
pub fn codecs_chart(
    report: &crate::report::codecs::CodecsReport,
    path: &Path,
) -> anyhow::Result<()> {
    let rows: Vec<(Complexity, usize)> = report
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
    for (r, (shape, payload)) in rows.iter().enumerate() {
        let cases: Vec<(usize, &CodecCase)> = report
            .cases
            .iter()
            .filter(|c| c.complexity == *shape && c.payload_bytes == *payload)
            .filter_map(|c| Some((codec_names.iter().position(|n| *n == c.codec)?, c)))
            .collect();
        time_panel(&panels[2 * r], (shape, *payload), &cases, &codec_names)?;
        bytes_panel(&panels[2 * r + 1], (shape, *payload), &cases, &codec_names)?;
    }
    let entries = SERIES
        .iter()
        .map(|(name, colour, _)| (name.to_string(), swatch(*colour)))
        .chain(
            SIZES
                .iter()
                .map(|(name, colour, _)| (name.to_string(), swatch(*colour))),
        )
        .collect();
    let next = legend(&legend_area, "bars", entries, 20)?;
    whiskers_legend(&legend_area, next)?;
    area.present().map_err(drawing_error)?;
    Ok(())
}

/// A bar series: its legend text, its colour and what it reads from a case.
type Series<T> = (&'static str, RGBColor, fn(&CodecCase) -> T);
const SERIES: [Series<Option<Figure>>; 3] = [
    ("encode", PALETTE[0], |c| Some(c.encode_ns)),
    ("decode", PALETTE[1], |c| Some(c.decode_ns)),
    ("validated access (zero-copy)", PALETTE[2], |c| c.access_ns),
];
const SIZES: [Series<usize>; 2] = [
    ("encoded bytes", PALETTE[4], |c| c.wire_bytes),
    ("zstd-compressed bytes", PALETTE[5], |c| c.zstd_bytes),
];

/// A shape's and size's times: a group per codec, a bar per figure with
/// its interval.
fn time_panel(
    panel: &Area,
    (shape, payload): (&Complexity, usize),
    cases: &[(usize, &CodecCase)],
    codec_names: &[&str],
) -> anyhow::Result<()> {
    let y = log_fit(cases.iter().flat_map(|(_, c)| {
        SERIES.iter().filter_map(|(_, _, f)| f(c)).flat_map(|f| {
            [
                f.median,
                f.ci95.map_or(f.median, |i| i.lo),
                f.ci95.map_or(f.median, |i| i.hi),
            ]
        })
    }))?;
    let mut chart = grouped_log_panel(
        panel,
        format!("{shape}, {payload} B: time"),
        codec_names,
        y.clone(),
        &|v| crate::util::format::format_ns(*v),
    )?;
    let bar = 0.8 / SERIES.len() as f64;
    for (s, (_, colour, figure)) in SERIES.iter().enumerate() {
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
    Ok(())
}

/// A shape's and size's bytes, encoded and compressed.
fn bytes_panel(
    panel: &Area,
    (shape, payload): (&Complexity, usize),
    cases: &[(usize, &CodecCase)],
    codec_names: &[&str],
) -> anyhow::Result<()> {
    let y = log_fit(
        cases
            .iter()
            .flat_map(|(_, c)| SIZES.iter().map(|(_, _, f)| f(c) as f64)),
    )?;
    let mut chart = grouped_log_panel(
        panel,
        format!("{shape}, {payload} B: bytes"),
        codec_names,
        y.clone(),
        &|v| crate::util::format::short_rate(*v),
    )?;
    let bar = 0.8 / SIZES.len() as f64;
    for (s, (_, colour, size)) in SIZES.iter().enumerate() {
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
    Ok(())
}
