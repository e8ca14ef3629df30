//! Codecs as columns: each transport and shape's throughput per codec,
//! with each codec's ratio to json's.

use super::*;
use crate::record::BenchResult;
use crate::record::Complexity;
use crate::record::Traffic;
use crate::report::results::Loaded;
use crate::report::table::{Entry, Table};
use std::collections::{BTreeMap, BTreeSet};

/// A row of the codec pivot: shape, transport, payload, placement, traffic.
type PivotRow = (String, String, usize, String, Traffic);

/// One set with codecs as columns: each codec's throughput on each
/// transport, payload and placement, and as a multiple of JSON's for the
/// same row, with its interval. Raw strings (no codec) are a column of
/// their own, last: what the text format saves over any codec.
pub fn by_codec(results: &[Loaded]) -> Table {
    let column = |r: &BenchResult| -> String {
        if r.complexity == Complexity::RawString {
            "raw-string".into()
        } else {
            r.codec.clone()
        }
    };
    let present: BTreeSet<String> = results.iter().map(|l| column(&l.result)).collect();
    let columns = codec_columns(&present);
    let has_json = present.contains("json");
    let any_debug = results.iter().any(|l| is_debug(&l.result));
    let mut table = Table::new(pivot_headers(&columns, has_json, any_debug));
    let mut grid: BTreeMap<PivotRow, BTreeMap<String, &BenchResult>> = BTreeMap::new();
    for l in results {
        let k = CaseKey::of(&l.result);
        // Raw strings carry the small ping's content: they sit in its row.
        let shape = match l.result.complexity {
            Complexity::RawString => Complexity::Structured.name().to_string(),
            other => other.name().to_string(),
        };
        grid.entry((
            shape,
            k.transport_label(),
            k.payload_bytes,
            k.placement.clone(),
            k.traffic,
        ))
        .or_default()
        .insert(column(&l.result), &l.result);
    }
    for ((shape, transport, payload, placement, traffic), cells) in grid {
        // A fixed rate is named with the placement, so the pivot keeps its columns.
        let placement = if traffic.is_default() {
            placement
        } else {
            format!("{placement}, {}", traffic.describe())
        };
        let payload = super::payload_entry(&shape, payload);
        let mut row = vec![
            Entry::text(shape),
            Entry::text(transport),
            payload,
            Entry::text(placement),
        ];
        if any_debug {
            row.push(build_entry(cells.values().any(|r| is_debug(r))));
        }
        let json = cells.get("json").copied().filter(|r| r.verified);
        for codec in &columns {
            let cell = cells.get(codec).copied();
            row.push(match cell {
                Some(r) if r.verified => Entry::number(rate_with_spread(r), r.round_trips_per_sec),
                Some(_) => Entry::text("not verified"),
                None => Entry::missing(),
            });
            if has_json && codec != "json" {
                let ratio = cell
                    .filter(|r| r.verified)
                    .zip(json)
                    .and_then(|(r, json)| ratio_between(r, json));
                row.push(match ratio {
                    Some(ratio) => Entry::number(ratio_with_interval(&ratio), ratio.value),
                    None => Entry::missing(),
                });
                // A message's size: the ping's, or a team's own samples' median.
                let bytes = |r: &BenchResult| match (r.wire_spread, r.wire_bytes) {
                    (Some(spread), _) => Some(spread.median),
                    (None, wire) => wire.map(|w| w.ping),
                };
                let size = cell
                    .and_then(bytes)
                    .zip(json.and_then(bytes))
                    .filter(|&(_, json)| json > 0)
                    .map(|(w, json)| w as f64 / json as f64);
                row.push(match size {
                    Some(size) => Entry::number(format!("{size:.2}×"), size),
                    None => Entry::missing(),
                });
            }
        }
        table.push(row);
    }
    table
}

/// The codec columns in their order: json first, the other codecs, raw
/// strings last.
fn codec_columns(present: &BTreeSet<String>) -> Vec<String> {
    let mut columns: Vec<String> = Vec::new();
    columns.extend(present.iter().filter(|c| *c == "json").cloned());
    columns.extend(
        present
            .iter()
            .filter(|c| *c != "json" && *c != "raw-string")
            .cloned(),
    );
    columns.extend(present.iter().filter(|c| *c == "raw-string").cloned());
    columns
}

/// The case's columns, then per codec its round trips and, beside json,
/// its ratios to json's throughput and size.
fn pivot_headers(columns: &[String], has_json: bool, any_debug: bool) -> Vec<String> {
    let mut headers: Vec<String> = ["Shape", "Transport", "Payload", "Placement"]
        .map(String::from)
        .to_vec();
    if any_debug {
        headers.push(BUILD_HEADER.into());
    }
    for codec in columns {
        headers.push(format!("{codec} round trips/s"));
        if has_json && codec != "json" {
            headers.push(format!("{codec} ×json"));
            headers.push(format!("{codec} bytes ×json"));
        }
    }
    headers
}
