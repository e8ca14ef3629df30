//! Laying result files side by side: one set as a table, two sets case by
//! case with verdicts, codecs as columns. Reading the files is `result`'s.

use crate::estimate::{
    self, median, median_interval, paired_ratio, shared_ranks, unpaired_ratio, Interval, Ratio,
    Verdict,
};
use crate::message::Complexity;
use crate::result::{BenchResult, Loaded};
use crate::summary::format_ns;
use crate::table::{Entry, Table};
use crate::traffic::Traffic;
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
    pub traffic: Traffic,
}

/// Everything of a case but its transport: what a row and its reference share.
type CaseRest = (String, String, usize, String, Traffic);

/// A row of the codec pivot: shape, transport, payload, placement, traffic.
type PivotRow = (String, String, usize, String, Traffic);

impl CaseKey {
    pub fn of(r: &BenchResult) -> Self {
        CaseKey {
            transport: r.transport.clone(),
            variant: r.variant.clone(),
            complexity: r.complexity.name().to_string(),
            codec: r.codec.clone(),
            payload_bytes: r.payload_bytes,
            placement: r.placement.mode.name().to_string(),
            traffic: r.traffic,
        }
    }

    /// `raw-sync-spin`, `ipcc`: the transport with its variant.
    pub fn transport_label(&self) -> String {
        crate::transport::label_text(&self.transport, self.variant.as_deref())
    }

    /// The case without its transport: what a row and its reference share.
    fn without_transport(&self) -> CaseRest {
        (
            self.complexity.clone(),
            self.codec.clone(),
            self.payload_bytes,
            self.placement.clone(),
            self.traffic,
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
    } else if ratio >= 0.1 || ratio == 0.0 {
        format!("{ratio:.2}×")
    } else {
        // Codec-only times can be hundreds of times apart: two significant
        // figures however small (0.042×, 0.0054×).
        let decimals = (1.0 - ratio.log10().floor()).clamp(2.0, 12.0) as usize;
        format!("{ratio:.decimals$}×")
    }
}

/// A case's columns; `traffic` when the table holds any traffic but the
/// closed loop (tables of ping-pong runs stay as they were).
fn case_entries(key: &CaseKey, traffic: bool) -> Vec<Entry> {
    let mut entries = vec![
        Entry::text(key.transport_label()),
        Entry::text(&key.codec),
        Entry::text(&key.complexity),
        Entry::number(format!("{} B", key.payload_bytes), key.payload_bytes as f64),
        Entry::text(&key.placement),
    ];
    if traffic {
        // Sorted by rate, then by children.
        let t = key.traffic;
        entries.push(Entry::number(
            t.describe(),
            t.offered_rate_per_sec.unwrap_or(0) as f64 * 1e3 + t.children as f64,
        ));
    }
    entries
}

fn case_headers(traffic: bool) -> Vec<String> {
    let mut headers: Vec<String> = ["Transport", "Codec", "Complexity", "Payload", "Placement"]
        .map(String::from)
        .to_vec();
    if traffic {
        headers.push("Traffic".into());
    }
    headers
}

/// Whether any of `results` ran other traffic than the closed loop with one child.
fn any_traffic<'a>(results: impl IntoIterator<Item = &'a BenchResult>) -> bool {
    results.into_iter().any(|r| !r.traffic.is_default())
}

/// Whether any of `results` ran at a fixed rate.
fn any_paced<'a>(results: impl IntoIterator<Item = &'a BenchResult>) -> bool {
    results.into_iter().any(|r| r.traffic.schedule().is_some())
}

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

/// `1.06 M`, `20.3 k`, `812`: three significant digits, enough for figures
/// that move by percents between runs.
pub fn short_rate(rate: f64) -> String {
    let (value, unit) = if rate >= 1e9 {
        (rate / 1e9, " G")
    } else if rate >= 1e6 {
        (rate / 1e6, " M")
    } else if rate >= 1e3 {
        (rate / 1e3, " k")
    } else {
        (rate, "")
    };
    let digits = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.digits$}{unit}")
}

/// A median with its spread: `1.06 M ±4 %`, or `1.06 M (1 round)` when
/// there is no interval to give.
fn rate_with_spread(r: &BenchResult) -> String {
    if let Some([slow, fast]) = &r.modes {
        // No one median describes two groups: both, with their rounds.
        return format!(
            "two modes: {} ({}) | {} ({})",
            short_rate(fast.median),
            fast.rounds,
            short_rate(slow.median),
            slow.rounds
        );
    }
    match &r.round_trips_per_sec_ci95 {
        Some(ci) => format!(
            "{} ±{:.0} %",
            short_rate(r.round_trips_per_sec),
            100.0 * ci.relative_half_width(r.round_trips_per_sec)
        ),
        None => format!("{} (1 round)", short_rate(r.round_trips_per_sec)),
    }
}

/// The rounds a case took, and, when its interval is still wider than the
/// precision it aimed at, why it got no more: `60 max`, `34 budget`.
fn rounds_entry(r: &BenchResult) -> Entry {
    use crate::estimate::Stop;
    let short = match r.stopped {
        _ if r.modes.is_some() => Some("2 modes"),
        Some(Stop::Precise | Stop::Planned) | None => None,
        Some(Stop::MaxRounds) => Some("max"),
        Some(Stop::Budget) => Some("budget"),
        Some(Stop::Failed) => Some("failed"),
        Some(Stop::Interrupted) => Some("interrupted"),
    };
    let wide = match (r.precision, &r.round_trips_per_sec_ci95) {
        (Some(precision), Some(ci)) => ci.relative_half_width(r.round_trips_per_sec) > precision,
        _ => false,
    };
    let text = match short {
        Some(short) if wide || r.modes.is_some() => format!("{} {short}", r.rounds),
        _ => r.rounds.to_string(),
    };
    Entry::number(text, r.rounds as f64)
}

/// CPU per round trip: the median over rounds, with its spread.
fn cpu_entry(r: &BenchResult) -> Entry {
    let per_round: Vec<f64> = r
        .samples
        .iter()
        .filter_map(|s| s.cpu_ns_per_round_trip)
        .collect();
    match r.cpu.ns_per_round_trip {
        Some(cpu) => {
            let spread = median_interval(&per_round).map_or(String::new(), |(ci, _)| {
                format!(" ±{:.0} %", 100.0 * ci.relative_half_width(cpu))
            });
            Entry::number(format!("{}{spread}", format_ns(cpu)), cpu)
        }
        None => Entry::missing(),
    }
}

/// `0.79× (0.41–1.04)`; `unpaired` marks a ratio of two separate runs.
pub(crate) fn ratio_with_interval(ratio: &Ratio) -> String {
    let mut text = ratio_text(ratio.value);
    if let Some(ci) = ratio.interval {
        let bare = |r: f64| ratio_text(r).trim_end_matches('×').to_string();
        text.push_str(&format!(" ({}–{})", bare(ci.lo), bare(ci.hi)));
    }
    if !ratio.paired {
        text.push_str(" unpaired");
    }
    text
}

/// The ratio `numerator / denominator` of two results' throughput: round by
/// round when both come from the same run (a matrix runs them in the same
/// rounds), otherwise of the two medians with a bootstrap interval.
pub fn ratio_between(numerator: &BenchResult, denominator: &BenchResult) -> Option<Ratio> {
    let same_run = numerator.run_id.is_some() && numerator.run_id == denominator.run_id;
    if same_run {
        let pairs: Vec<(f64, f64)> = numerator
            .samples
            .iter()
            .filter_map(|n| {
                let d = denominator.samples.iter().find(|d| d.round == n.round)?;
                Some((n.round_trips_per_sec, d.round_trips_per_sec))
            })
            .collect();
        if pairs.len() >= 2 {
            return paired_ratio(&pairs);
        }
    }
    unpaired_ratio(&numerator.rates(), &denominator.rates())
}

/// The one-set table, fastest first. Rows whose intervals overlap share a
/// rank (`=2`): the table claims no order its data do not support. Given a
/// reference transport (`spin`, `ipcc`, ...), a column gives each row's
/// throughput as a multiple of that transport's for the same case, with its
/// interval.
pub fn single(results: &[Loaded], reference: Option<&str>) -> Table {
    let mut headers: Vec<String> = vec!["Rank".into()];
    let paced = any_paced(results.iter().map(|l| &l.result));
    let traffic = any_traffic(results.iter().map(|l| &l.result));
    headers.extend(case_headers(traffic));
    let any_debug = results.iter().any(|l| is_debug(&l.result));
    if any_debug {
        headers.push(BUILD_HEADER.into());
    }
    // A stream's rows count messages one way, and time them one way.
    let streams = results.iter().any(|l| l.result.traffic.is_stream());
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
        // all rounds together, with the lowest and highest round's.
        headers.push("p99 from due".into());
    }
    let cpu = if streams {
        "CPU each"
    } else {
        "CPU/round trip"
    };
    headers.extend([cpu, "Wire B", "Codec share", "Rounds"].map(String::from));
    if let Some(reference) = reference {
        headers.push(format!("vs {reference}"));
    }
    headers.push("Warnings".into());
    let mut table = Table::new(headers);
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
        row.extend(case_entries(&key, traffic));
        if any_debug {
            row.push(build_entry(is_debug(r)));
        }
        match verified_rate(r) {
            Some(rate) => {
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
                        // With the rounds' own range: a tail this far out moves a lot.
                        Some(l) => Entry::number(
                            match r.due_p99_round_range() {
                                Some((lo, hi)) => format!(
                                    "{} ({}–{})",
                                    format_ns(l.p99 as f64),
                                    format_ns(lo as f64),
                                    format_ns(hi as f64)
                                ),
                                None => format_ns(l.p99 as f64),
                            },
                            l.p99 as f64,
                        ),
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
                if reference == Some(key.transport_label().as_str()) {
                    row.push(Entry::text("reference"));
                } else if reference.is_some() {
                    let ratio = references
                        .get(&key.without_transport())
                        .and_then(|reference| ratio_between(r, reference));
                    row.push(match ratio {
                        Some(ratio) => Entry::number(ratio_with_interval(&ratio), ratio.value),
                        None => Entry::missing(),
                    });
                }
                let warnings = r
                    .warnings
                    .iter()
                    .filter(|w| !w.starts_with("debug build"))
                    .count();
                row.push(Entry::number(
                    if warnings == 0 {
                        String::new()
                    } else {
                        format!("{warnings} ⚠")
                    },
                    warnings as f64,
                ));
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

/// The bytes of a ping, and of a pong when it differs (raw strings and the
/// `structured` pong carry other ids; a stream has none); sorted by the ping's.
fn wire_entry(r: &BenchResult) -> Entry {
    match r.wire_bytes {
        Some(w) if w.ping == w.pong || r.traffic.is_stream() => {
            Entry::number(w.ping.to_string(), w.ping as f64)
        }
        Some(w) => Entry::number(format!("{} / {}", w.ping, w.pong), w.ping as f64),
        None => Entry::missing(),
    }
}

/// The verdict cell: the verdict, and for the unsure ones the figures that
/// make it so.
fn verdict_text(ratio: &Ratio, threshold: f64) -> String {
    let verdict = estimate::verdict(ratio, threshold);
    match (verdict, ratio.interval) {
        (Verdict::Inconclusive, Some(ci)) => format!(
            "inconclusive: {}–{} reaches both within and beyond ±{:.0} %",
            ratio_text(ci.lo),
            ratio_text(ci.hi),
            threshold * 100.0
        ),
        (Verdict::SingleSample, _) => format!(
            "single sample: {} (no interval; run more rounds)",
            ratio_text(ratio.value)
        ),
        _ => verdict.name().to_string(),
    }
}

/// How far a noisy machine's own speed moves between two runs minutes apart
/// (a virtual machine whose host is busy: up to 2×). A whole set that moved
/// further than this did not move for the machine alone.
pub const MACHINE_DRIFT: f64 = 2.0;

/// Cases two sets must share before their common shift is taken out of
/// the verdicts.
pub const MIN_CASES_FOR_SHIFT: usize = 6;

/// What every case of two sets shares: the median of the per-case ratios
/// B/A, with the order-statistics interval of that median over the cases.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SharedShift {
    pub ratio: f64,
    pub interval: Interval,
    pub cases: usize,
}

/// Two sets compared case by case.
pub struct Comparison {
    pub table: Table,
    /// Set when the sets share enough cases: the shift every case has in
    /// common, which the verdicts are relative to.
    pub shift: Option<SharedShift>,
    /// What a reader must know to read the verdicts.
    pub note: String,
}

/// The median of per-case ratios with its order-statistics interval.
fn shared_shift(values: &[f64]) -> Option<SharedShift> {
    let (interval, _) = median_interval(values)?;
    Some(SharedShift {
        ratio: median(values)?,
        interval,
        cases: values.len(),
    })
}

/// The ratio of one case relative to the shift the other cases share: its
/// interval widened by the shift's, so the shift's own uncertainty counts
/// against a claim.
fn relative_to(ratio: &Ratio, shift: &SharedShift) -> Ratio {
    Ratio {
        value: ratio.value / shift.ratio,
        interval: ratio.interval.map(|ci| Interval {
            lo: ci.lo / shift.interval.hi,
            hi: ci.hi / shift.interval.lo,
        }),
        ..*ratio
    }
}

/// Two sets matched case by case: B's throughput against A's, with the
/// interval of the ratio, and a verdict that claims a change only when the
/// whole interval lies beyond the threshold.
///
/// Two runs made minutes apart on a virtual machine or a laptop differ as a
/// whole, by 10 to 30 % and more, because the machine's own speed moved in
/// between. A shift that every case shares cannot be told apart from a code
/// change that affects every case, so when the sets share at least
/// [`MIN_CASES_FOR_SHIFT`] cases it is measured and reported on its own, and
/// each case's verdict is about how it moved against the shift of the
/// others.
pub fn pair(a: &[Loaded], b: &[Loaded], threshold: f64) -> Comparison {
    let index = |set: &[Loaded]| -> BTreeMap<CaseKey, BenchResult> {
        set.iter()
            .map(|l| (CaseKey::of(&l.result), l.result.clone()))
            .collect()
    };
    let (a, b) = (index(a), index(b));
    let keys: BTreeSet<&CaseKey> = a.keys().chain(b.keys()).collect();
    let ratios: BTreeMap<&CaseKey, Ratio> = keys
        .iter()
        .filter_map(|key| {
            let x = a.get(*key).filter(|r| r.verified)?;
            let y = b.get(*key).filter(|r| r.verified)?;
            Some((*key, ratio_between(y, x)?))
        })
        .collect();
    let values: Vec<f64> = ratios.values().map(|r| r.value).collect();
    let shift = (values.len() >= MIN_CASES_FOR_SHIFT)
        .then(|| shared_shift(&values))
        .flatten();
    // Each case is judged against the shift of the *other* cases, so that
    // its own change does not move (or widen) what it is measured against.
    let shift_without = |key: &CaseKey| -> Option<SharedShift> {
        shift?;
        let others: Vec<f64> = ratios
            .iter()
            .filter(|(k, _)| **k != key)
            .map(|(_, r)| r.value)
            .collect();
        shared_shift(&others)
    };

    let traffic = any_traffic(a.values().chain(b.values()));
    let mut headers = case_headers(traffic);
    let any_debug = a.values().chain(b.values()).any(is_debug);
    if any_debug {
        headers.push(format!("{BUILD_HEADER} A/B"));
    }
    headers.extend(["A round trips/s", "B round trips/s", "B/A"].map(String::from));
    if shift.is_some() {
        headers.push("B/A against the shift".into());
    }
    headers.push("Verdict".into());
    let mut table = Table::new(headers);
    let rate_entry = |r: Option<&BenchResult>| match r {
        Some(r) if r.verified => Entry::number(rate_with_spread(r), r.round_trips_per_sec),
        Some(_) => Entry::text("not verified"),
        None => Entry::missing(),
    };
    for key in keys {
        let (ra, rb) = (a.get(key), b.get(key));
        let mut row = case_entries(key, traffic);
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
        let blanks = if shift.is_some() { 2 } else { 1 };
        match ratios.get(key) {
            Some(ratio) => {
                row.push(Entry::number(ratio_with_interval(ratio), ratio.value));
                let judged = match shift_without(key) {
                    Some(shift) => {
                        let relative = relative_to(ratio, &shift);
                        row.push(Entry::number(
                            ratio_with_interval(&relative),
                            relative.value,
                        ));
                        relative
                    }
                    None => *ratio,
                };
                row.push(Entry::text(verdict_text(&judged, threshold)));
            }
            None => {
                row.extend((0..blanks).map(|_| Entry::missing()));
                row.push(Entry::text(match (ra, rb) {
                    (None, Some(_)) => "only in B",
                    (Some(_), None) => "only in A",
                    _ => "not comparable",
                }));
            }
        }
        table.push(row);
    }
    let note = match &shift {
        Some(shift) if shift.interval.lo > MACHINE_DRIFT || shift.interval.hi < 1.0 / MACHINE_DRIFT => format!(
            "All {} cases together: B/A = {} ({}–{}), {} as a whole by more than a machine's own speed moves between runs (up to {MACHINE_DRIFT}× on a busy virtual machine): not the machine alone. The verdicts are for each case against this shift.",
            shift.cases,
            ratio_text(shift.ratio),
            ratio_text(shift.interval.lo).trim_end_matches('×'),
            ratio_text(shift.interval.hi).trim_end_matches('×'),
            if shift.ratio > 1.0 { "faster" } else { "slower" },
        ),
        Some(shift) => format!(
            "All {} cases together: B/A = {} ({}–{}). A shift every case shares is what a change of the machine's own speed between the two runs produces, as readily as a change of code that touches every case; the verdicts are for each case against it (run both sides in one matrix to measure them side by side).",
            shift.cases,
            ratio_text(shift.ratio),
            ratio_text(shift.interval.lo).trim_end_matches('×'),
            ratio_text(shift.interval.hi).trim_end_matches('×'),
        ),
        None => format!(
            "Fewer than {MIN_CASES_FOR_SHIFT} cases in common: the verdicts compare the two runs as measured, and a machine whose speed moved between them (see `ipc-bench doctor`) moves every figure; compare runs made back to back, or run both sides in one matrix."
        ),
    };
    Comparison { table, shift, note }
}

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
    let mut columns: Vec<String> = Vec::new();
    columns.extend(present.iter().filter(|c| *c == "json").cloned());
    columns.extend(
        present
            .iter()
            .filter(|c| *c != "json" && *c != "raw-string")
            .cloned(),
    );
    columns.extend(present.iter().filter(|c| *c == "raw-string").cloned());
    let has_json = present.contains("json");
    let mut headers: Vec<String> = ["Shape", "Transport", "Payload", "Placement"]
        .map(String::from)
        .to_vec();
    let any_debug = results.iter().any(|l| is_debug(&l.result));
    if any_debug {
        headers.push(BUILD_HEADER.into());
    }
    for codec in &columns {
        headers.push(format!("{codec} round trips/s"));
        if has_json && codec != "json" {
            headers.push(format!("{codec} ×json"));
            headers.push(format!("{codec} bytes ×json"));
        }
    }
    let mut table = Table::new(headers);
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
        let mut row = vec![
            Entry::text(shape),
            Entry::text(transport),
            Entry::number(format!("{payload} B"), payload as f64),
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
                let size = cell
                    .and_then(|r| r.wire_bytes)
                    .zip(json.and_then(|r| r.wire_bytes))
                    .filter(|(_, json)| json.ping > 0)
                    .map(|(w, json)| w.ping as f64 / json.ping as f64);
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

#[cfg(test)]
mod tests {
    use super::ratio_text;

    #[test]
    fn ratios_keep_two_significant_figures_however_small() {
        assert_eq!(ratio_text(123.4), "123×");
        assert_eq!(ratio_text(15.64), "15.6×");
        assert_eq!(ratio_text(1.0), "1.00×");
        assert_eq!(ratio_text(0.31), "0.31×");
        assert_eq!(ratio_text(0.0421), "0.042×");
        assert_eq!(ratio_text(0.00543), "0.0054×");
        assert_eq!(ratio_text(0.0), "0.00×");
    }
}
