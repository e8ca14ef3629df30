//! The codecs report (`codecs.json`): each codec × shape × size case's
//! figures over rounds, and its table beside the transports' results.

use crate::measure::codec_cost::{CodecCaseSpec, CodecSample, Sizes};
use crate::record::Complexity;
use crate::record::Interval;
use crate::record::MachineInfo;
use crate::report::estimate::{median, median_interval};
use crate::report::table::{Entry, Table};
use serde::{Deserialize, Serialize};

/// Version of [`CodecsReport`]'s layout.
pub const CODECS_SCHEMA_VERSION: u32 = 1;

/// A median over rounds with its 95 % interval (null under six rounds'
/// worth of coverage is still given; see `ci_coverage` of the report).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub median: f64,
    pub ci95: Option<Interval>,
}

impl Figure {
    fn of(values: &[f64]) -> Option<Figure> {
        Some(Figure {
            median: median(values)?,
            ci95: median_interval(values).map(|(i, _)| i),
        })
    }
}

/// One case's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodecCase {
    pub codec: String,
    pub complexity: Complexity,
    pub payload_bytes: usize,
    /// The encoded message's size.
    pub wire_bytes: usize,
    /// The encoded message compressed by zstd at [`ZSTD_LEVEL`](crate::measure::codec_cost::ZSTD_LEVEL).
    pub zstd_bytes: usize,
    /// Nanoseconds to encode one message into a reused buffer.
    pub encode_ns: Figure,
    /// Nanoseconds to decode one message into owned values (and drop them).
    pub decode_ns: Figure,
    /// Nanoseconds for validated access to the encoded message without
    /// decoding it: zero-copy formats only (rkyv).
    pub access_ns: Option<Figure>,
    pub samples: Vec<CodecSample>,
}

/// The whole of `codecs.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodecsReport {
    pub schema_version: u32,
    pub tool_version: String,
    pub timestamp: String,
    pub rounds: usize,
    /// Time spent on each figure of each case in each round.
    pub budget_secs: f64,
    /// How often the intervals cover the true median (95 % or more from six rounds).
    pub ci_coverage: Option<f64>,
    pub seed: u64,
    pub machine: MachineInfo,
    pub cases: Vec<CodecCase>,
}

impl CodecsReport {
    pub fn read(path: &std::path::Path) -> anyhow::Result<Self> {
        use anyhow::Context;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let report: CodecsReport = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a codecs report", path.display()))?;
        if report.schema_version != CODECS_SCHEMA_VERSION {
            anyhow::bail!(
                "{} has codecs schema version {}, this ipc-bench reads {CODECS_SCHEMA_VERSION}",
                path.display(),
                report.schema_version
            );
        }
        Ok(report)
    }
}

/// Builds a case's figures from its sizes and samples.
pub fn summarize(case: CodecCaseSpec, sizes: Sizes, samples: Vec<CodecSample>) -> CodecCase {
    let pick =
        |f: fn(&CodecSample) -> Option<f64>| -> Vec<f64> { samples.iter().filter_map(f).collect() };
    CodecCase {
        codec: case.codec.name().to_string(),
        complexity: case.complexity,
        payload_bytes: case.payload_bytes,
        wire_bytes: sizes.wire_bytes,
        zstd_bytes: sizes.zstd_bytes,
        encode_ns: Figure::of(&pick(|s| Some(s.encode_ns))).expect("at least one round"),
        decode_ns: Figure::of(&pick(|s| Some(s.decode_ns))).expect("at least one round"),
        access_ns: Figure::of(&pick(|s| s.access_ns)),
        samples,
    }
}

/// `412 ns ±3 %`: a median time with the half-width of its interval.
fn time_text(f: &Figure) -> String {
    let text = crate::util::format::format_ns(f.median);
    match f.ci95 {
        Some(ci) => format!("{text} {}", ci.plus_minus(f.median)),
        None => text,
    }
}

/// A case's figure divided by JSON's for the same shape and payload,
/// round by round (the two ran in the same rounds).
fn ratio_to_json(
    case: &CodecCase,
    json: &CodecCase,
    figure: fn(&CodecSample) -> f64,
) -> Option<crate::report::estimate::Ratio> {
    let pairs: Vec<(f64, f64)> = case
        .samples
        .iter()
        .filter_map(|s| {
            let j = json.samples.iter().find(|j| j.round == s.round)?;
            Some((figure(s), figure(j)))
        })
        .collect();
    crate::report::estimate::paired_ratio(&pairs)
}

/// The report as a table: one row per shape × payload × codec, with
/// times and sizes as multiples of JSON's. Given transport results
/// (`compare codecs.json RESULTS`), a column per transport adds each
/// codec's round trips per second as a multiple of JSON's there, and
/// only the shapes and sizes those results have are shown: the codec
/// alone beside what it does to a round trip.
pub fn table(report: &CodecsReport, results: &[crate::report::results::Loaded]) -> Table {
    let transports: Vec<String> = results
        .iter()
        .map(|l| crate::report::compare::CaseKey::of(&l.result).transport_label())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut table = Table::new(codec_headers(&transports));
    // One result per transport, codec, shape and payload (the first
    // placement found; closed-loop runs with one child only: a fixed
    // rate's round trips/s is the load it was offered).
    let result_for = |transport: &str, codec: &str, c: &CodecCase| {
        results.iter().map(|l| &l.result).find(|r| {
            r.verified
                && r.traffic.is_default()
                && crate::report::compare::CaseKey::of(r).transport_label() == transport
                && r.codec == codec
                && r.complexity == c.complexity
                && r.payload_bytes == c.payload_bytes
        })
    };
    let order = |c: &CodecCase| {
        (
            c.complexity,
            c.payload_bytes,
            codecs::CODECS.iter().position(|i| i.name == c.codec),
        )
    };
    let mut cases: Vec<&CodecCase> = report
        .cases
        .iter()
        .filter(|c| {
            results.is_empty()
                || results.iter().any(|l| {
                    l.result.complexity == c.complexity && l.result.payload_bytes == c.payload_bytes
                })
        })
        .collect();
    cases.sort_by_key(|c| order(c));
    for case in cases {
        let json = report.cases.iter().find(|j| {
            j.codec == "json"
                && j.complexity == case.complexity
                && j.payload_bytes == case.payload_bytes
        });
        let mut row = case_entries(case);
        for figure in [
            (|s: &CodecSample| s.encode_ns) as fn(&CodecSample) -> f64,
            |s: &CodecSample| s.decode_ns,
        ] {
            row.push(match json.and_then(|j| ratio_to_json(case, j, figure)) {
                Some(r) => Entry::number(crate::report::compare::ratio_with_interval(&r), r.value),
                None => Entry::missing(),
            });
        }
        row.push(match json.filter(|j| j.wire_bytes > 0) {
            Some(j) => {
                let ratio = case.wire_bytes as f64 / j.wire_bytes as f64;
                Entry::number(format!("{ratio:.2}×"), ratio)
            }
            None => Entry::missing(),
        });
        for transport in &transports {
            let ratio = result_for(transport, &case.codec, case)
                .zip(result_for(transport, "json", case))
                .and_then(|(r, json)| crate::report::compare::ratio_between(r, json));
            row.push(match ratio {
                Some(r) => Entry::number(crate::report::compare::ratio_with_interval(&r), r.value),
                None => Entry::missing(),
            });
        }
        table.push(row);
    }
    table
}

/// The codecs table's columns: the case, its figures, its ratios to json,
/// and one column per transport with results.
fn codec_headers(transports: &[String]) -> Vec<String> {
    let mut headers: Vec<String> = [
        "Shape",
        "Payload",
        "Codec",
        "Encode",
        "Decode",
        "Access",
        "Wire B",
        "zstd B",
        "Encode time ×json",
        "Decode time ×json",
        "Wire ×json",
    ]
    .map(String::from)
    .to_vec();
    headers.extend(transports.iter().map(|t| format!("{t} round trips ×json")));
    headers
}

/// A codec case's own cells: shape, payload, codec, times and sizes.
fn case_entries(case: &CodecCase) -> Vec<Entry> {
    vec![
        Entry::text(case.complexity.name()),
        crate::report::compare::payload_entry(case.complexity.name(), case.payload_bytes),
        Entry::text(case.codec.clone()),
        Entry::number(time_text(&case.encode_ns), case.encode_ns.median),
        Entry::number(time_text(&case.decode_ns), case.decode_ns.median),
        match &case.access_ns {
            Some(f) => Entry::number(time_text(f), f.median),
            None => Entry::missing(),
        },
        Entry::number(case.wire_bytes.to_string(), case.wire_bytes as f64),
        Entry::number(case.zstd_bytes.to_string(), case.zstd_bytes as f64),
    ]
}
