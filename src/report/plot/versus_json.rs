//! The versus-json chart: each codec's throughput as a ratio to json's
//! over the same transport, with its interval.

use super::style::*;
use crate::record::BenchResult;
use crate::report::compare::CaseKey;
use crate::report::estimate::Ratio;
use crate::report::results::Loaded;
use anyhow::anyhow;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// Round trips per second of every codec as a multiple of JSON's for the
/// same transport, shape, payload and placement (paired by round when both
/// ran in one matrix): one panel per shape, payload and placement, a group
/// per transport, a bar per codec, a line at 1×. Above the line a codec
/// buys throughput over JSON on that transport; near it the transport
/// decides.
pub fn versus_json_chart(results: &[Loaded], path: &Path) -> anyhow::Result<()> {
    let rows = verified(results);
    let panels = ratios_to_json(&rows);
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
        let caption = format!(
            "{shape}, {payload} B, pin {placement} — {}",
            machine_line(first)
        );
        ratio_panel(panel, caption, bars, &transports, &codec_names)?;
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

/// A panel per shape, payload and placement: each bar a transport's and
/// codec's throughput ratio to json's.
type Panels = BTreeMap<(String, usize, String), Vec<(String, String, Ratio)>>;

/// Every codec's ratio to json over the same transport, shape, payload and
/// placement, by panel.
fn ratios_to_json(rows: &[&BenchResult]) -> Panels {
    let mut panels: Panels = BTreeMap::new();
    for r in rows {
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
        let Some(ratio) = crate::report::compare::ratio_between(r, json) else {
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
    panels
}

/// One shape, payload and placement: a group per transport, a bar per codec
/// growing from 1× (up: faster than json), with its interval.
fn ratio_panel(
    panel: &Area,
    caption: String,
    bars: &[(String, String, Ratio)],
    transports: &[String],
    codec_names: &[&str],
) -> anyhow::Result<()> {
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
        .caption(caption, ("sans-serif", 13))
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
    let placed: Vec<(f64, RGBColor, &Ratio)> = bars
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
    Ok(())
}
