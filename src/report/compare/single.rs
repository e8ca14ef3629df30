//! One set as a table: cases ranked by throughput (ties where intervals
//! overlap), with latency, CPU, wire size, rounds and, against a reference
//! transport, each case's ratio.

use super::*;
use crate::record::BenchResult;
use crate::report::estimate::shared_ranks;
use crate::report::results::Loaded;
use crate::report::table::{Entry, Table};
use crate::util::format::format_ns;
use std::collections::BTreeMap;

/// The one-set table, fastest first. Rows whose intervals overlap share a
/// rank (`=2`): the table claims no order its data do not support. Given a
/// reference transport (`spin`, `ipcc`, ...), a column gives each row's
/// throughput as a multiple of that transport's for the same case, with its
/// interval.
pub fn single(results: &[Loaded], reference: Option<&str>) -> Table {
    ranked(results, reference).0
}

/// [`single`]'s table with the result behind each of its rows, in order.
pub fn ranked<'a>(results: &'a [Loaded], reference: Option<&str>) -> (Table, Vec<&'a BenchResult>) {
    let columns = Columns::of(results);
    let mut table = Table::new(columns.headers(reference));
    let mut rows: Vec<&BenchResult> = results.iter().map(|l| &l.result).collect();
    rows.sort_by(|a, b| {
        verified_rate(b)
            .unwrap_or(-1.0)
            .total_cmp(&verified_rate(a).unwrap_or(-1.0))
            .then_with(|| CaseKey::of(a).cmp(&CaseKey::of(b)))
    });
    let verified: Vec<&BenchResult> = rows.iter().copied().filter(|r| r.verified).collect();
    let ranks = shared_ranks(
        &verified
            .iter()
            .map(|r| r.round_trips_per_sec_ci95)
            .collect::<Vec<_>>(),
    );
    // The reference's result for each case, by everything but the transport.
    let references: BTreeMap<CaseRest, &BenchResult> = match reference {
        Some(label) => verified
            .iter()
            .map(|r| (CaseKey::of(r), *r))
            .filter(|(key, _)| key.transport_label() == label)
            .map(|(key, r)| (key.without_transport(), r))
            .collect(),
        None => BTreeMap::new(),
    };
    for (i, r) in rows.iter().enumerate() {
        let key = CaseKey::of(r);
        let mut row = match ranks.get(i).filter(|_| r.verified) {
            Some(&(rank, shared)) => vec![Entry::number(
                if shared {
                    format!("={rank}")
                } else {
                    rank.to_string()
                },
                rank as f64,
            )],
            None => vec![Entry::missing()],
        };
        row.extend(case_entries(&key, columns.traffic));
        if columns.debug {
            row.push(build_entry(is_debug(r)));
        }
        match verified_rate(r) {
            Some(rate) => {
                row.extend(figure_entries(r, rate, columns.paced));
                if columns.memory {
                    row.extend(memory_entries(r));
                }
                if reference.is_some() {
                    row.push(reference_entry(r, &key, reference, &references));
                }
                row.push(warnings_entry(r));
            }
            None => {
                // Never shown as a figure: the run did not check out.
                row.push(Entry::text("not verified"));
                let blanks = table.headers.len() - row.len();
                row.extend((0..blanks).map(|_| Entry::missing()));
            }
        }
        table.push(row);
    }
    (table, rows)
}

/// Which of the optional columns a set's table has.
struct Columns {
    /// Fixed-rate results: a p99 from the due time.
    paced: bool,
    /// Results whose traffic is not the default: a traffic column.
    traffic: bool,
    /// Debug builds among them: a build column.
    debug: bool,
    /// Streams among them: one-way units.
    streams: bool,
    /// Results that say what memory they held (older files do not).
    memory: bool,
}

impl Columns {
    fn of(results: &[Loaded]) -> Self {
        Columns {
            paced: any_paced(results.iter().map(|l| &l.result)),
            traffic: any_traffic(results.iter().map(|l| &l.result)),
            debug: results.iter().any(|l| is_debug(&l.result)),
            // A stream's rows count messages one way, and time them one way.
            streams: results.iter().any(|l| l.result.traffic.is_stream()),
            memory: results.iter().any(|l| l.result.memory.is_some()),
        }
    }

    fn headers(&self, reference: Option<&str>) -> Vec<String> {
        let (paced, traffic, streams) = (self.paced, self.traffic, self.streams);
        let any_debug = self.debug;
        let mut headers: Vec<String> = vec!["Rank".into()];
        headers.extend(case_headers(traffic));
        if any_debug {
            headers.push(BUILD_HEADER.into());
        }
        let units: [&str; 5] = match streams {
            true => [
                "Round trips/s (stream: messages/s)",
                "ns each",
                "Payload MB/s",
                "p50 (stream: one way)",
                "p99",
            ],
            false => [
                "Round trips/s",
                "ns/round trip",
                "Payload MB/s",
                "p50",
                "p99",
            ],
        };
        headers.extend(units.map(String::from));
        if paced {
            // At a fixed rate, the latency a caller sees (from the due time),
            // all rounds together: the p50 with its interval, the p99 with
            // the lowest and highest round's.
            headers.push("p50 from due".into());
            headers.push("p99 from due".into());
            // And what the wait costs at that rate.
            headers.push("CPU of a core".into());
        }
        let cpu = if streams {
            "CPU each"
        } else {
            "CPU/round trip"
        };
        headers.extend([cpu, "Wire B", "Codec share", "Rounds"].map(String::from));
        if self.memory {
            headers.extend(MEMORY_HEADERS.map(String::from));
        }
        if let Some(reference) = reference {
            headers.push(format!("vs {reference}"));
        }
        headers.push("Warnings".into());
        headers
    }
}

/// A verified row's figures: throughput with its spread, time per round
/// trip, payload bandwidth, latency, CPU, wire size, codec share, rounds.
fn figure_entries(r: &BenchResult, rate: f64, paced: bool) -> Vec<Entry> {
    let mut row = Vec::new();
    row.push(Entry::number(rate_with_spread(r), rate));
    row.push(Entry::number(
        format!("{:.0}", r.ns_per_round_trip),
        r.ns_per_round_trip,
    ));
    row.push(Entry::number(
        format!("{:.1}", r.payload_mb_per_sec),
        r.payload_mb_per_sec,
    ));
    match &r.latency_ns {
        Some(l) => {
            row.push(Entry::number(format_ns(l.p50 as f64), l.p50 as f64));
            row.push(Entry::number(format_ns(l.p99 as f64), l.p99 as f64));
        }
        None => row.extend([Entry::missing(), Entry::missing()]),
    }
    if paced {
        row.push(match &r.latency_from_intended_ns {
            Some(l) => {
                let p50 = l.p50 as f64;
                let text = match r.latency_from_intended_p50_ci95 {
                    Some(i) => format!("{} {}", format_ns(p50), i.plus_minus(p50)),
                    None => format_ns(p50),
                };
                Entry::number(text, p50)
            }
            None => Entry::missing(),
        });
        row.push(match &r.latency_from_intended_ns {
            // With its interval: a tail this far out moves a lot.
            Some(l) => Entry::number(
                match r.due_p99_interval() {
                    Some(i) => format!("{} ({})", format_ns(l.p99 as f64), tail_range(&i)),
                    None => format_ns(l.p99 as f64),
                },
                l.p99 as f64,
            ),
            None => Entry::missing(),
        });
        row.push(match r.cpu_cores() {
            Some(cores) => Entry::number(format!("{:.1} %", cores * 100.0), cores),
            None => Entry::missing(),
        });
    }
    row.push(cpu_entry(r));
    row.push(wire_entry(r));
    row.push(match r.codec_share {
        Some(share) => Entry::number(format!("{:.0} %", share * 100.0), share),
        None => Entry::missing(),
    });
    row.push(rounds_entry(r));
    row
}

/// The memory columns: each process's peak resident memory, and what the
/// transport's buffers and shared memory held at the child's end.
const MEMORY_HEADERS: [&str; 2] = ["Peak RSS parent / child", "Transport holds"];

/// A row's memory: peaks sorted by the child's (the parent's includes the
/// tool itself), buffers by their total.
fn memory_entries(r: &BenchResult) -> [Entry; 2] {
    let Some(memory) = &r.memory else {
        return [Entry::missing(), Entry::missing()];
    };
    let or_dash = |b: Option<u64>| b.map_or("–".to_string(), crate::util::format::bytes);
    let peaks = match (memory.parent_peak_bytes, memory.child_peak_bytes) {
        (None, None) => Entry::missing(),
        (parent, child) => Entry::number(
            format!("{} / {}", or_dash(parent), or_dash(child)),
            child.or(parent).unwrap_or(0) as f64,
        ),
    };
    let held = match memory.transport_bytes() {
        Some(bytes) => Entry::number(crate::util::format::bytes(bytes), bytes as f64),
        None => Entry::missing(),
    };
    [peaks, held]
}

/// A row's throughput as a multiple of the reference transport's, for the
/// same case.
fn reference_entry(
    r: &BenchResult,
    key: &CaseKey,
    reference: Option<&str>,
    references: &BTreeMap<CaseRest, &BenchResult>,
) -> Entry {
    if reference == Some(key.transport_label().as_str()) {
        Entry::text("reference")
    } else {
        let ratio = references
            .get(&key.without_transport())
            .and_then(|reference| ratio_between(r, reference));
        match ratio {
            Some(ratio) => Entry::number(ratio_with_interval(&ratio), ratio.value),
            None => Entry::missing(),
        }
    }
}

/// How many warnings a row carries (the debug build's has its own column).
fn warnings_entry(r: &BenchResult) -> Entry {
    let warnings = r
        .warnings
        .iter()
        .filter(|w| !w.starts_with("debug build"))
        .count();
    Entry::number(
        if warnings == 0 {
            String::new()
        } else {
            format!("{warnings} ⚠")
        },
        warnings as f64,
    )
}

/// The bytes of a ping, and of a pong when it differs (raw strings and the
/// `structured` pong carry other ids; a stream has none); sorted by the ping's.
/// A team's own shape: its samples' smallest, median and largest.
fn wire_entry(r: &BenchResult) -> Entry {
    // A team's own samples differ in size: smallest / median / largest.
    if let Some(spread) = r.wire_spread {
        return Entry::number(
            format!("{} / {} / {}", spread.min, spread.median, spread.max),
            spread.median as f64,
        );
    }
    match r.wire_bytes {
        Some(w) if w.ping == w.pong || r.traffic.is_stream() => {
            Entry::number(w.ping.to_string(), w.ping as f64)
        }
        Some(w) => Entry::number(format!("{} / {}", w.ping, w.pong), w.ping as f64),
        None => Entry::missing(),
    }
}

/// `35–52 µs`, or `≥35 µs` when nothing measured bounds the tail from above.
pub fn tail_range(i: &crate::record::TailInterval) -> String {
    match i.hi {
        Some(hi) => format!("{}–{}", format_ns(i.lo), format_ns(hi)),
        None => format!("≥{}", format_ns(i.lo)),
    }
}
