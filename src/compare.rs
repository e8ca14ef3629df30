//! Laying result files side by side: one set as a table, two sets case by
//! case with verdicts, codecs as columns. Reading the files is `result`'s.

use crate::result::{BenchResult, Loaded};
use crate::summary::{format_ns, group_thousands};
use crate::table::{Entry, Table};
use std::collections::{BTreeMap, BTreeSet};

/// What identifies a case across result sets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CaseKey {
    pub transport: String,
    pub variant: Option<String>,
    pub complexity: String,
    pub codec: String,
    pub payload_bytes: usize,
    pub placement: String,
}

impl CaseKey {
    pub fn of(r: &BenchResult) -> Self {
        CaseKey {
            transport: r.transport.clone(),
            variant: r.variant.clone(),
            complexity: r.complexity.name().to_string(),
            codec: r.codec.clone(),
            payload_bytes: r.payload_bytes,
            placement: r.placement.mode.name().to_string(),
        }
    }

    /// `raw-sync-spin`, `ipcc`: the transport with its variant.
    pub fn transport_label(&self) -> String {
        crate::transport::label_text(&self.transport, self.variant.as_deref())
    }

    /// The case without its transport: what a row and its reference share.
    fn without_transport(&self) -> (String, String, usize, String) {
        (
            self.complexity.clone(),
            self.codec.clone(),
            self.payload_bytes,
            self.placement.clone(),
        )
    }
}

/// The transport labels of a set of results, for `--reference`: matched
/// against what the files hold, whatever this build compiled.
pub fn labels_in(results: &[Loaded]) -> BTreeSet<String> {
    results
        .iter()
        .map(|l| CaseKey::of(&l.result).transport_label())
        .collect()
}

fn ratio_text(ratio: f64) -> String {
    if ratio >= 100.0 {
        format!("{ratio:.0}×")
    } else if ratio >= 10.0 {
        format!("{ratio:.1}×")
    } else {
        format!("{ratio:.2}×")
    }
}

fn case_entries(key: &CaseKey) -> Vec<Entry> {
    vec![
        Entry::text(key.transport_label()),
        Entry::text(&key.codec),
        Entry::text(&key.complexity),
        Entry::number(format!("{} B", key.payload_bytes), key.payload_bytes as f64),
        Entry::text(&key.placement),
    ]
}

const CASE_HEADERS: [&str; 5] = ["Transport", "Codec", "Complexity", "Payload", "Placement"];

/// Whether a result came from a debug build, whose figures are several
/// times slower than release and must not pass for real ones.
pub fn is_debug(r: &BenchResult) -> bool {
    r.machine.build_profile == "debug"
}

/// The column that marks debug-build rows, present only when a table has one.
const BUILD_HEADER: &str = "Build";

fn build_entry(debug: bool) -> Entry {
    Entry::text(if debug { "debug ⚠" } else { "release" })
}

/// What `compare A B` warns about when one set is a debug build and the
/// other is not: the difference would be mostly the build.
pub fn build_mismatch(a: &[Loaded], b: &[Loaded]) -> Option<String> {
    let profiles =
        |set: &[Loaded]| -> BTreeSet<bool> { set.iter().map(|l| is_debug(&l.result)).collect() };
    let (pa, pb) = (profiles(a), profiles(b));
    let name = |p: &BTreeSet<bool>| match (p.contains(&true), p.contains(&false)) {
        (true, true) => "a mix of debug and release builds",
        (true, false) => "a debug build",
        _ => "a release build",
    };
    (pa != pb).then(|| {
        format!(
            "comparing {} (A) with {} (B): a debug build is several times slower, so the differences below are mostly the build",
            name(&pa),
            name(&pb)
        )
    })
}

/// Throughput of a verified result; an unverified one has no figure to show.
fn verified_rate(r: &BenchResult) -> Option<f64> {
    r.verified.then_some(r.round_trips_per_sec)
}

/// The one-set table, fastest first, with each row's throughput as a
/// fraction of the fastest and, given a reference transport (`raw-sync-spin`,
/// `ipcc`, ...), of that transport's figure for the same case.
pub fn single(results: &[Loaded], reference: Option<&str>) -> Table {
    let mut headers: Vec<String> = CASE_HEADERS.iter().map(|s| s.to_string()).collect();
    let any_debug = results.iter().any(|l| is_debug(&l.result));
    if any_debug {
        headers.push(BUILD_HEADER.into());
    }
    headers.extend(
        [
            "Round trips/s",
            "ns/round trip",
            "Payload MB/s",
            "p50",
            "p99",
            "CPU/round trip",
            "vs fastest",
        ]
        .map(String::from),
    );
    if let Some(reference) = reference {
        headers.push(format!("vs {reference}"));
    }
    let mut table = Table::new(headers);
    let mut rows: Vec<&BenchResult> = results.iter().map(|l| &l.result).collect();
    rows.sort_by(|a, b| {
        verified_rate(b)
            .unwrap_or(-1.0)
            .total_cmp(&verified_rate(a).unwrap_or(-1.0))
            .then_with(|| CaseKey::of(a).cmp(&CaseKey::of(b)))
    });
    let fastest = rows
        .iter()
        .filter_map(|r| verified_rate(r))
        .fold(0.0, f64::max);
    // The reference's figure for each case, by everything but the transport.
    let reference_rates: BTreeMap<(String, String, usize, String), f64> = match reference {
        Some(label) => rows
            .iter()
            .map(|r| CaseKey::of(r))
            .zip(rows.iter())
            .filter(|(key, _)| key.transport_label() == label)
            .filter_map(|(key, r)| Some((key.without_transport(), verified_rate(r)?)))
            .collect(),
        None => BTreeMap::new(),
    };
    for r in &rows {
        let key = CaseKey::of(r);
        let mut row = case_entries(&key);
        if any_debug {
            row.push(build_entry(is_debug(r)));
        }
        match verified_rate(r) {
            Some(rate) => {
                row.push(Entry::number(group_thousands(rate), rate));
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
                row.push(match r.cpu.ns_per_round_trip {
                    Some(cpu) => Entry::number(format_ns(cpu), cpu),
                    None => Entry::missing(),
                });
                row.push(Entry::number(ratio_text(rate / fastest), rate / fastest));
                if reference.is_some() {
                    let target = reference_rates.get(&key.without_transport()).copied();
                    row.push(match target {
                        Some(t) => Entry::number(ratio_text(rate / t), rate / t),
                        None => Entry::missing(),
                    });
                }
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
    table
}

/// How a change between two runs reads, given the noise threshold.
pub fn verdict(ratio: f64, threshold: f64) -> &'static str {
    if ratio > 1.0 + threshold {
        "faster"
    } else if ratio < 1.0 - threshold {
        "slower"
    } else {
        "no change"
    }
}

/// Two sets matched case by case: B's throughput against A's.
pub fn pair(a: &[Loaded], b: &[Loaded], threshold: f64) -> Table {
    let mut headers: Vec<String> = CASE_HEADERS.iter().map(|s| s.to_string()).collect();
    let any_debug = a.iter().chain(b).any(|l| is_debug(&l.result));
    if any_debug {
        headers.push(format!("{BUILD_HEADER} A/B"));
    }
    headers.extend(["A round trips/s", "B round trips/s", "B/A", "Verdict"].map(String::from));
    let mut table = Table::new(headers);
    let index = |set: &[Loaded]| -> BTreeMap<CaseKey, BenchResult> {
        set.iter()
            .map(|l| (CaseKey::of(&l.result), l.result.clone()))
            .collect()
    };
    let (a, b) = (index(a), index(b));
    let keys: BTreeSet<&CaseKey> = a.keys().chain(b.keys()).collect();
    let rate_entry = |r: Option<&BenchResult>| match r.map(verified_rate) {
        Some(Some(rate)) => Entry::number(group_thousands(rate), rate),
        Some(None) => Entry::text("not verified"),
        None => Entry::missing(),
    };
    for key in keys {
        let (ra, rb) = (a.get(key), b.get(key));
        let mut row = case_entries(key);
        if any_debug {
            let build = |r: Option<&BenchResult>| match r {
                Some(r) if is_debug(r) => "debug ⚠",
                Some(_) => "release",
                None => "—",
            };
            row.push(Entry::text(format!("{}/{}", build(ra), build(rb))));
        }
        row.push(rate_entry(ra));
        row.push(rate_entry(rb));
        match (ra.and_then(verified_rate), rb.and_then(verified_rate)) {
            (Some(x), Some(y)) => {
                row.push(Entry::number(ratio_text(y / x), y / x));
                row.push(Entry::text(verdict(y / x, threshold)));
            }
            (None, Some(_)) if ra.is_none() => {
                row.extend([Entry::missing(), Entry::text("only in B")])
            }
            (Some(_), None) if rb.is_none() => {
                row.extend([Entry::missing(), Entry::text("only in A")])
            }
            _ => row.extend([Entry::missing(), Entry::text("not comparable")]),
        }
        table.push(row);
    }
    table
}

/// One set with codecs as columns: how codecs compare on each transport.
pub fn by_codec(results: &[Loaded]) -> Table {
    let codecs: BTreeSet<String> = results.iter().map(|l| l.result.codec.clone()).collect();
    let mut headers: Vec<String> = ["Transport", "Complexity", "Payload", "Placement"]
        .map(String::from)
        .to_vec();
    let any_debug = results.iter().any(|l| is_debug(&l.result));
    if any_debug {
        headers.push(BUILD_HEADER.into());
    }
    headers.extend(codecs.iter().map(|c| format!("{c} round trips/s")));
    let mut table = Table::new(headers);
    let mut grid: BTreeMap<(String, String, usize, String), BTreeMap<String, &BenchResult>> =
        BTreeMap::new();
    for l in results {
        let k = CaseKey::of(&l.result);
        grid.entry((
            k.transport_label(),
            k.complexity.clone(),
            k.payload_bytes,
            k.placement.clone(),
        ))
        .or_default()
        .insert(k.codec.clone(), &l.result);
    }
    for ((transport, complexity, payload, placement), cells) in grid {
        let mut row = vec![
            Entry::text(transport),
            Entry::text(complexity),
            Entry::number(format!("{payload} B"), payload as f64),
            Entry::text(placement),
        ];
        if any_debug {
            row.push(build_entry(cells.values().any(|r| is_debug(r))));
        }
        for codec in &codecs {
            row.push(match cells.get(codec).map(|r| verified_rate(r)) {
                Some(Some(rate)) => Entry::number(group_thousands(rate), rate),
                Some(None) => Entry::text("not verified"),
                None => Entry::missing(),
            });
        }
        table.push(row);
    }
    table
}
