//! The pace chart: how fast the machine ran for each class of transports
//! over the run, against its usual pace, with the slow spells shaded.

use super::style::*;
use crate::record::{BenchResult, PaceClass};
use crate::report::pace::SPELL_PACE;
use crate::report::results::Loaded;
use crate::report::spells::spells;
use anyhow::anyhow;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// Whether a set has a pace to draw: some round was read against its
/// class's pace.
pub fn has_pace(results: &[Loaded]) -> bool {
    results
        .iter()
        .any(|l| l.result.pace_class.is_some() && l.result.samples.iter().any(|s| s.pace.is_some()))
}

/// The machine's pace against time, one line per class (every round's
/// pace as spells are judged by it: read from the other cases' rounds
/// within 2.5 s), the spells shaded in the class's colour, and the line
/// under which a round is set aside.
pub fn pace_chart(results: &[Loaded], path: &Path) -> anyhow::Result<()> {
    let rows: Vec<&BenchResult> = verified(results)
        .into_iter()
        .filter(|r| r.pace_class.is_some())
        .collect();
    let first = *rows
        .first()
        .ok_or_else(|| anyhow!("no result was read against a pace"))?;
    let lines = class_lines(&rows);
    let start = lines
        .values()
        .flat_map(|(_, points)| points.iter().map(|p| p.0))
        .fold(f64::INFINITY, f64::min);
    let end = lines
        .values()
        .flat_map(|(_, points)| points.iter().map(|p| p.0))
        .fold(f64::NEG_INFINITY, f64::max);
    if !start.is_finite() {
        return Err(anyhow!("no round has a pace"));
    }
    let top = lines
        .values()
        .flat_map(|(_, points)| points.iter().map(|p| p.1))
        .fold(1.3f64, f64::max)
        * 1.05;
    let (area, legend_area) = canvas(
        path,
        (1000 + LEGEND_WIDTH, 480),
        "The machine's pace by class of transports (1 = its usual pace over the run; shaded: slow spells, their rounds set aside)",
    )?;
    let mut chart = ChartBuilder::on(&area)
        .caption(machine_line(first), ("sans-serif", 14))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..(end - start).max(1.0) * 1.02, 0.0..top)
        .map_err(drawing_error)?;
    chart
        .configure_mesh()
        .x_desc("seconds into the run")
        .y_desc("pace")
        .draw()
        .map_err(drawing_error)?;
    let colour = |number: usize| PALETTE[(number + 2) % PALETTE.len()];
    for spell in spells(rows.iter().copied()) {
        let shade = colour(spell.class.number).mix(0.18);
        chart
            .draw_series([Rectangle::new(
                [(spell.from - start, 0.0), (spell.to - start, top)],
                shade.filled(),
            )])
            .map_err(drawing_error)?;
    }
    chart
        .draw_series(DashedLineSeries::new(
            [(0.0, SPELL_PACE), ((end - start) * 1.02, SPELL_PACE)],
            6,
            4,
            BLACK.stroke_width(1),
        ))
        .map_err(drawing_error)?;
    let mut entries: Vec<(String, Marker)> = Vec::new();
    for (number, (class, points)) in lines {
        let c = colour(number);
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|(t, p)| (t - start, *p)),
                c.stroke_width(1),
            ))
            .map_err(drawing_error)?;
        chart
            .draw_series(
                points
                    .iter()
                    .map(|(t, p)| Circle::new((t - start, *p), 2, c.filled())),
            )
            .map_err(drawing_error)?;
        entries.push((format!("class {number}"), swatch(c)));
        entries.extend(members(&class));
    }
    let next = legend(&legend_area, "Classes", entries, 10)?;
    legend(
        &legend_area,
        "Set aside",
        vec![(
            format!("below {SPELL_PACE} (dashed)"),
            Box::new(|a: &Area, (x, y): (i32, i32)| {
                a.draw(&PathElement::new(vec![(x - 10, y), (x + 10, y)], BLACK))
                    .map_err(drawing_error)
            }),
        )],
        next,
    )?;
    area.present().map_err(drawing_error)?;
    Ok(())
}

/// Each class's rounds: the middle of each round's measured phase and its
/// pace, in time order.
fn class_lines(rows: &[&BenchResult]) -> BTreeMap<usize, (PaceClass, Vec<(f64, f64)>)> {
    let mut lines: BTreeMap<usize, (PaceClass, Vec<(f64, f64)>)> = BTreeMap::new();
    for r in rows {
        let Some(class) = r.pace_class.clone() else {
            continue;
        };
        let line = &mut lines.entry(class.number).or_insert((class, Vec::new())).1;
        for s in &r.samples {
            if let (Some(at), Some(pace)) = (s.started_secs(), s.spell_pace.or(s.pace)) {
                line.push((at + s.duration_secs / 2.0, pace));
            }
        }
    }
    for (_, points) in lines.values_mut() {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    lines
}

/// A class's transports as legend lines under its swatch, six at most.
fn members(class: &PaceClass) -> Vec<(String, Marker)> {
    let blank = || -> Marker { Box::new(|_: &Area, _| Ok(())) };
    let mut out: Vec<(String, Marker)> = class
        .transports
        .iter()
        .take(6)
        .map(|m| (format!("  {m}"), blank()))
        .collect();
    if class.transports.len() > 6 {
        out.push((
            format!("  and {} more", class.transports.len() - 6),
            blank(),
        ));
    }
    out
}
